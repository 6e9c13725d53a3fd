//! Feeds arbitrary text to the configuration reader ([`dsmrd::config::parse`]), with an
//! environment that knows one variable: whatever the file holds, the reader returns a
//! configuration or located errors, and never panics.
//!
//! Run with `cargo fuzz run config -s none` from the repository root (see README.md).

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let env = |name: &str| (name == "KEY").then(|| "00112233445566778899AABBCCDDEEFF".to_string());
    if let Err(errors) = dsmrd::config::parse(text, Path::new("fuzz.toml"), &env) {
        assert!(!errors.0.is_empty(), "an error result holds at least one error");
        for e in &errors.0 {
            assert!(e.line <= text.lines().count() + 1, "{e}");
        }
    }
});
