//! Decrypts Luxembourg Smarty (and Austrian T210-D) frames: a DLMS general-glo-ciphering
//! APDU around an ordinary telegram, AES-128-GCM with IV = system title ‖ frame counter and
//! AAD = security byte ‖ authentication key, 12-byte tag verified before anything is used.

use std::fmt;

use aes_gcm::aead::AeadInPlace;
use aes_gcm::aead::consts::U12;
use aes_gcm::aead::generic_array::GenericArray;
use aes_gcm::aes::Aes128;
use aes_gcm::aes::cipher::BlockEncrypt;
use aes_gcm::{AesGcm, KeyInit};

/// The fixed authentication key every Smarty meter uses (SLU §3.2.5).
pub const SMARTY_AUTH_KEY: [u8; 16] =
    [0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF];

type SmartyGcm = AesGcm<Aes128, U12, U12>;

/// The keys for a meter. `Debug` never shows them.
#[derive(Clone)]
pub struct Keys {
    cipher: SmartyGcm,
    /// The same key as a block cipher, to tell after a failed tag whether this key at least
    /// decrypts the frame (then the authentication key is what is wrong).
    block: Aes128,
    auth_key: [u8; 16],
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Keys(<redacted>)")
    }
}

/// A key string that is not 32 hex digits. Never carries the key itself, only where it
/// goes wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} must be 32 hexadecimal digits (16 bytes){}", match .not_hex_at {
    Some(at) => format!("; character {at} is not a hexadecimal digit"),
    None => format!("; got {} digits", .len),
})]
pub struct BadKey {
    pub what: &'static str,
    /// How many digits were given (blanks, `:` and `-` between them not counted).
    pub len: usize,
    /// The 1-based position of the first character that is no hex digit, if any.
    pub not_hex_at: Option<usize>,
}

impl Keys {
    /// Keys from hex text: the meter's decryption key (from the DSO) and, optionally, an
    /// authentication key other than the Smarty default.
    pub fn from_hex(key: &str, auth_key: Option<&str>) -> Result<Keys, BadKey> {
        let key = parse_key(key, "decryption key")?;
        let auth_key = match auth_key {
            Some(a) => parse_key(a, "authentication key")?,
            None => SMARTY_AUTH_KEY,
        };
        let key = GenericArray::from_slice(&key);
        Ok(Keys { cipher: SmartyGcm::new(key), block: Aes128::new(key), auth_key })
    }
}

/// A key as DSOs and users write it: 32 hex digits, in either case, perhaps in groups
/// separated by blanks, `:` or `-` (`D4 91 47 ...`), perhaps after `0x`.
fn parse_key(text: &str, what: &'static str) -> Result<[u8; 16], BadKey> {
    let t = text.trim();
    let t = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")).unwrap_or(t);
    let mut digits = Vec::with_capacity(32);
    for (at, c) in t.chars().enumerate() {
        match c.to_digit(16) {
            Some(d) => digits.push(d as u8),
            None if matches!(c, ' ' | ':' | '-') => {}
            None => return Err(BadKey { what, len: digits.len(), not_hex_at: Some(at + 1) }),
        }
    }
    if digits.len() != 32 {
        return Err(BadKey { what, len: digits.len(), not_hex_at: None });
    }
    let mut out = [0u8; 16];
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = pair[0] << 4 | pair[1];
    }
    Ok(out)
}

/// Why an encrypted frame was not turned into a telegram.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecryptError {
    #[error("encrypted frame received but no decryption key is configured (set decryption_key, or --key)")]
    NoKey,
    #[error("encrypted frame is malformed: {0}")]
    Malformed(&'static str),
    #[error("encrypted frame uses security control 0x{0:02X}; only 0x30 (authenticated and encrypted) is supported")]
    UnsupportedSecurity(u8),
    #[error("encrypted frame from system title {system_title} failed authentication (GCM tag mismatch): {}", match (*.keys_proven, *.key_decrypts) {
        (true, _) => "earlier frames from this meter authenticated with the same keys, so this one was changed or cut short on the line (a ser2net port in telnet mode or with XON/XOFF alters binary frames)",
        (false, true) => "the decryption key is right (the frame decrypts to a telegram), so either the authentication key is wrong for this meter (give its own: --auth-key, authentication_key) or the frame was changed on the line after its start",
        (false, false) => "the decryption key (or authentication key) is wrong for this meter, or, if other frames decrypt, this one was cut short or changed on the line",
    })]
    TagMismatch {
        system_title: String,
        /// Whether an earlier frame from the same meter authenticated with these keys (set
        /// by the decoder): then the keys are right and the frame was damaged.
        keys_proven: bool,
        /// Whether the decryption key turns the frame's first bytes into the start of a
        /// telegram (`/` and three letters or digits): then only the tag's other input,
        /// the authentication key, can be wrong. Nothing decrypted is used.
        key_decrypts: bool,
    },
}

/// What a decrypted frame carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decrypted {
    pub system_title: [u8; 8],
    pub frame_counter: u32,
    /// The telegram text inside (`/...!CRC\r\n`).
    pub plaintext: Vec<u8>,
}

/// Decrypt and authenticate one complete `0xDB` frame.
pub fn decrypt(frame: &[u8], keys: Option<&Keys>) -> Result<Decrypted, DecryptError> {
    if frame.len() < 2 || frame[0] != 0xDB || frame[1] != 8 {
        return Err(DecryptError::Malformed("it does not start with 0xDB 0x08"));
    }
    let title: [u8; 8] =
        frame.get(2..10).and_then(|s| s.try_into().ok()).ok_or(DecryptError::Malformed("too short"))?;
    let (len, header) = match frame.get(10) {
        Some(&b) if b < 0x80 => (usize::from(b), 11),
        Some(0x81) => (usize::from(*frame.get(11).ok_or(DecryptError::Malformed("too short"))?), 12),
        Some(0x82) => {
            let hi = *frame.get(11).ok_or(DecryptError::Malformed("too short"))?;
            let lo = *frame.get(12).ok_or(DecryptError::Malformed("too short"))?;
            (usize::from(hi) << 8 | usize::from(lo), 13)
        }
        _ => return Err(DecryptError::Malformed("unsupported length encoding")),
    };
    let apdu = frame.get(header..header + len).ok_or(DecryptError::Malformed("shorter than its length field"))?;
    if apdu.len() < 1 + 4 + 12 {
        return Err(DecryptError::Malformed("too short for a frame counter and a tag"));
    }
    let security = apdu[0];
    if security != 0x30 {
        return Err(DecryptError::UnsupportedSecurity(security));
    }
    let keys = keys.ok_or(DecryptError::NoKey)?;
    let counter = [apdu[1], apdu[2], apdu[3], apdu[4]];
    let (ciphertext, tag) = apdu[5..].split_at(apdu.len() - 5 - 12);
    let mut iv = [0u8; 12];
    iv[..8].copy_from_slice(&title);
    iv[8..].copy_from_slice(&counter);
    let mut aad = [0u8; 17];
    aad[0] = security;
    aad[1..].copy_from_slice(&keys.auth_key);

    // The specified AAD first; then none at all, which some encoders use. Either way the
    // tag proves the sender holds the decryption key.
    for aad in [&aad[..], &[][..]] {
        let mut buf = ciphertext.to_vec();
        let ok = keys
            .cipher
            .decrypt_in_place_detached(GenericArray::from_slice(&iv), aad, &mut buf, GenericArray::from_slice(tag))
            .is_ok();
        if ok {
            return Ok(Decrypted { system_title: title, frame_counter: u32::from_be_bytes(counter), plaintext: buf });
        }
    }
    Err(DecryptError::TagMismatch {
        system_title: printable_title(&title),
        keys_proven: false,
        key_decrypts: starts_a_telegram(keys, &iv, ciphertext),
    })
}

/// Whether `ciphertext` decrypts, in GCM's counter mode, to text that starts like a
/// telegram (`/XXX`): the first keystream block is the IV with the block counter at 2.
fn starts_a_telegram(keys: &Keys, iv: &[u8; 12], ciphertext: &[u8]) -> bool {
    let mut block = GenericArray::from([0u8; 16]);
    block[..12].copy_from_slice(iv);
    block[15] = 2;
    keys.block.encrypt_block(&mut block);
    let Some(start) = ciphertext.get(..4) else { return false };
    let plain: Vec<u8> = start.iter().zip(block.iter()).map(|(c, k)| c ^ k).collect();
    plain[0] == b'/' && plain[1..].iter().all(u8::is_ascii_alphanumeric)
}

/// A system title for messages: as text when it is all letters and digits (`SYSTEMID`),
/// else its manufacturer letters and the rest in hex (`SAG677001BD54`).
pub fn printable_title(title: &[u8; 8]) -> String {
    if title.iter().all(u8::is_ascii_alphanumeric) {
        return title.iter().map(|&b| char::from(b)).collect();
    }
    let flag: String = title[..3].iter().map(|&b| if b.is_ascii_alphanumeric() { b as char } else { '?' }).collect();
    let rest: String = title[3..].iter().map(|b| format!("{b:02X}")).collect();
    format!("{flag}{rest}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_titles_read_as_text_where_they_are() {
        assert_eq!(printable_title(b"SYSTEMID"), "SYSTEMID");
        assert_eq!(printable_title(&[b'S', b'A', b'G', 0x67, 0x70, 0x01, 0xBD, 0x54]), "SAG677001BD54");
    }

    #[test]
    fn key_errors_do_not_leak_the_key() {
        let err = Keys::from_hex("00112233445566778899AABBCCDDEEF", None).unwrap_err();
        assert!(!err.to_string().contains("0011"));
        assert_eq!(err.to_string(), "decryption key must be 32 hexadecimal digits (16 bytes); got 31 digits");
        let err = Keys::from_hex("0011223344556677889XAABBCCDDEEFF", None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "decryption key must be 32 hexadecimal digits (16 bytes); character 20 is not a hexadecimal digit"
        );
        assert!(Keys::from_hex("00112233445566778899AABBCCDDEEFF", None).is_ok());
        // As keys are published: in groups, in either case, after 0x; the same key.
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/recordings/spec-example-LU-Smarty-encrypted-with-aad_smarty_athombv.bin"
        );
        let frame = std::fs::read(path).unwrap();
        let auth = Some("FF:EE:DD:CC:BB:AA:99:88:77:66:55:44:33:22:11:00");
        for key in ["01 23 45 67 89 AB CD EF 01 23 45 67 89 ab cd ef", "0x0123456789abcdef-0123456789abcdef"] {
            let keys = Keys::from_hex(key, auth).unwrap();
            assert!(decrypt(&frame, Some(&keys)).is_ok(), "{key}");
        }
        assert_eq!(
            format!("{:?}", Keys::from_hex("00112233445566778899AABBCCDDEEFF", None).unwrap()),
            "Keys(<redacted>)"
        );
    }

    #[test]
    fn malformed_frames_are_errors_not_panics() {
        assert!(matches!(decrypt(&[0xDB], None), Err(DecryptError::Malformed(_))));
        let mut f = vec![0xDB, 0x08];
        f.extend_from_slice(b"SYSTEMID");
        f.extend_from_slice(&[0x82, 0x00, 0x20]);
        assert!(matches!(decrypt(&f, None), Err(DecryptError::Malformed(_))));
        f.extend(std::iter::repeat_n(0u8, 0x20));
        f[13] = 0x30;
        assert_eq!(decrypt(&f, None), Err(DecryptError::NoKey));
        // Another tag or title length.
        for (at, byte) in [(0, 0xDC), (1, 9)] {
            let mut other = f.clone();
            other[at] = byte;
            assert_eq!(decrypt(&other, None), Err(DecryptError::Malformed("it does not start with 0xDB 0x08")));
        }
        // The shortest frame: security byte, frame counter and tag, nothing to decrypt (a
        // short-form length); one byte less is too short.
        let frame = |len: u8| {
            let mut f = vec![0xDB, 0x08];
            f.extend_from_slice(b"SYSTEMID");
            f.extend_from_slice(&[len, 0x30]);
            f.extend(std::iter::repeat_n(0u8, usize::from(len) - 1));
            f
        };
        assert_eq!(decrypt(&frame(17), None), Err(DecryptError::NoKey));
        assert_eq!(decrypt(&frame(16), None), Err(DecryptError::Malformed("too short for a frame counter and a tag")));
        assert_eq!(decrypt(&frame(2), None), Err(DecryptError::Malformed("too short for a frame counter and a tag")));
    }
}
