//! Feeds arbitrary text to the configuration reader ([`dsmrd::config::parse`]), with an
//! environment that knows one variable: whatever the file holds, the reader returns a
//! configuration or located errors, never panics, and never shows a secret: the variable's
//! value (a Smarty key), a quoted `decryption_key` / `authentication_key` value, or the
//! password of a `user:password@` address.
//!
//! Run with `cargo fuzz run config -s none` from the repository root (see README.md).

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

const KEY: &str = "00112233445566778899AABBCCDDEEFF";

/// The secrets `text` holds that are long enough to tell and found once in it (a value
/// written twice may be shown for its other place, which is no secret key): the quoted
/// values of the key settings, and the password in a quoted `address` value.
fn secrets(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    for key in ["decryption_key", "authentication_key", "address"] {
        for (at, _) in text.match_indices(key) {
            let rest = text[at + key.len()..].trim_start_matches([' ', '\t']);
            let Some(value) = rest.strip_prefix('=').map(|v| v.trim_start_matches([' ', '\t'])) else { continue };
            let Some(quote) = value.chars().next().filter(|c| matches!(c, '"' | '\'')) else { continue };
            let value = &value[1..];
            let value = &value[..value.find([quote, '\n']).unwrap_or(value.len())];
            match (key, value.rsplit_once('@')) {
                ("address", Some((user_and_password, _))) => {
                    let user_and_password = user_and_password.rsplit('/').next().unwrap_or_default();
                    if let Some((_, password)) = user_and_password.split_once(':') {
                        found.push(password);
                    }
                }
                ("address", None) => {}
                _ => found.push(value),
            }
        }
    }
    found.retain(|s| s.len() >= 6 && s.chars().all(|c| c.is_ascii_alphanumeric()) && text.matches(*s).count() == 1);
    found
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let env = |name: &str| (name == "KEY").then(|| KEY.to_string());
    if let Err(errors) = dsmrd::config::parse(text, Path::new("fuzz.toml"), &env) {
        assert!(!errors.0.is_empty(), "an error result holds at least one error");
        for e in &errors.0 {
            assert!(e.line <= text.lines().count() + 1, "{e}");
        }
        let shown = errors.to_string();
        // Compared with the text as errors show it (control characters escaped: `\x00`
        // before `112233…` reads as the key's first digits).
        let written = dsmrd::table::visible(text).to_ascii_uppercase();
        if !written.contains(&KEY[..8]) {
            assert!(!shown.to_ascii_uppercase().contains(&KEY[..8]), "the variable's value shown: {shown}");
        }
        for secret in secrets(text) {
            assert!(!shown.contains(secret), "secret `{secret}` shown: {shown}");
        }
    }
});
