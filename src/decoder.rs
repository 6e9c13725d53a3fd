//! Bytes in, telegrams out: the framer, Smarty decryption and the parser chained, with the
//! counters every front end (the `parse` command, the daemon) reports.

use crate::frame::{CrcStatus, DEFAULT_MAX_TELEGRAM, Event, Frame, Framer, Reject, SMARTY_START};
use crate::parse::{ParseError, parse};
use crate::smarty::{DecryptError, Keys, decrypt};
use crate::spec::VersionChoice;
use crate::telegram::Telegram;

/// How to decode a stream.
#[derive(Debug, Clone)]
pub struct DecoderOptions {
    pub version: VersionChoice,
    /// Reject telegrams whose CRC does not match (the default). Off is for diagnosis.
    pub check_crc: bool,
    pub keys: Option<Keys>,
    pub max_telegram_bytes: usize,
}

impl Default for DecoderOptions {
    fn default() -> Self {
        DecoderOptions {
            version: VersionChoice::Auto,
            check_crc: true,
            keys: None,
            max_telegram_bytes: DEFAULT_MAX_TELEGRAM,
        }
    }
}

/// Why bytes did not become a telegram.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("{0}")]
    Frame(Reject),
    #[error("{0}")]
    Decrypt(DecryptError),
    #[error("{0}")]
    Parse(ParseError),
}

impl DecodeError {
    /// A short stable code for counters and summaries.
    pub fn code(&self) -> &'static str {
        match self {
            DecodeError::Frame(r) => r.code(),
            DecodeError::Decrypt(DecryptError::TagMismatch { .. }) => "decrypt_auth_failed",
            DecodeError::Decrypt(DecryptError::NoKey) => "decrypt_no_key",
            DecodeError::Decrypt(_) => "decrypt_malformed",
            DecodeError::Parse(_) => "parse",
        }
    }

    /// Whether this is a CRC failure (counted apart: the usual sign of a bad cable).
    pub fn is_crc(&self) -> bool {
        matches!(
            self,
            DecodeError::Frame(
                Reject::CrcMismatch { .. }
                    | Reject::CrcMissing
                    | Reject::CrcMissingDeclared
                    | Reject::CrcMalformed { .. }
            )
        )
    }
}

/// One outcome of decoding.
#[derive(Debug)]
pub enum Decoded<'a> {
    Telegram(Telegram<'a>),
    /// Bytes that did not become a telegram; `offset` is the stream position (bytes from
    /// the start) at which that was found out (for a telegram cut short by the next, where
    /// the next begins).
    Error {
        error: DecodeError,
        offset: u64,
    },
}

/// Running totals.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DecodeStats {
    /// Telegrams delivered (each may still carry line errors).
    pub telegrams: u64,
    pub crc_failures: u64,
    /// Delivered telegrams whose CRC does not match: passed on with CRC checking off, or
    /// inside a decrypted frame whose tag has proven its bytes.
    pub crc_mismatches_passed: u64,
    /// Every other rejection: truncation, overflow, decryption, unreadable frames.
    pub other_errors: u64,
    /// Data lines that could not be read inside delivered telegrams.
    pub line_errors: u64,
    /// Bytes skipped between telegrams.
    pub skipped_bytes: u64,
    /// Skipped bytes with the high bit set (see [`DecodeStats::line_settings_hint`]).
    pub skipped_high_bytes: u64,
    /// Skipped NUL bytes (see [`DecodeStats::line_settings_hint`]).
    pub skipped_nul_bytes: u64,
}

impl DecodeStats {
    /// A hint for a stream that held no telegram and whose bytes are mostly not text: the
    /// serial line is read with settings the meter does not use. Many bytes with the high
    /// bit set are most often a DSMR 2.2/3.0 meter's 9600 baud 7E1 read as 8N1 (the parity
    /// bit lands in the high bit); many NULs a reader faster than the meter (9600 baud read
    /// at 115200) or parity errors read as NUL. Much text without a telegram is no P1
    /// output at all.
    /// `set` says how the settings are chosen where the bytes were read, so that the hint
    /// names the keys or flags the user has there.
    pub fn line_settings_hint(&self, set: SettingsSetBy) -> Option<String> {
        // How the user sets DSMR 2.2/3.0's settings, and what gives the later meters' ones.
        let (old, new) = match set {
            SettingsSetBy::Config => ("data_bits = 7, parity = \"even\", or dsmr_version = \"2.2\"", ""),
            SettingsSetBy::RecordFlag => ("`--seven-e-one`", " (the default)"),
            SettingsSetBy::ParseFlag => {
                ("`--dsmr-version 2.2` reads the port so", " (`--dsmr-version auto`, the default)")
            }
        };
        // Written only when said: this runs for every chunk read until a telegram comes.
        let settings = || {
            format!(
                "the serial line settings do not match the meter's. DSMR 2.2/3.0 meters send 9600 baud 7E1 \
                 ({old}); later meters 115200 baud 8N1{new}"
            )
        };
        let (all, high, nul) = (self.skipped_bytes, self.skipped_high_bytes, self.skipped_nul_bytes);
        if self.telegrams > 0 || all < 256 {
            return None;
        }
        if high * 4 >= all {
            Some(format!(
                "{high} of the {all} bytes received have the high bit set and no telegram was found: {}",
                settings()
            ))
        } else if nul * 4 >= all {
            Some(format!(
                "{nul} of the {all} bytes received are NUL (a wrong baud rate, parity errors, or a line with no \
                 meter on it) and no telegram was found: {}",
                settings()
            ))
        } else if all >= 64 * 1024 {
            // Text, but none of it telegrams: not a meter's P1 output at all.
            Some(format!(
                "{all} bytes received and no telegram found in them: this is not a meter's P1 output (check the \
                 port or device, or what the bridge in between sends)"
            ))
        } else {
            None
        }
    }
}

/// Where the line settings of a stream's serial port are chosen: what a hint about wrong
/// settings tells the user to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingsSetBy {
    /// A source's configuration (`data_bits`, `parity`, `dsmr_version`); also the advice
    /// for a capture, made by whatever read the port.
    Config,
    /// `dsmrd parse`'s `--dsmr-version`, for a port it reads itself.
    ParseFlag,
    /// `dsmrd record`'s `--seven-e-one`.
    RecordFlag,
}

/// The decoding pipeline for one byte stream.
#[derive(Debug)]
pub struct Decoder {
    framer: Framer,
    inner: Framer,
    opts: DecoderOptions,
    plain: Vec<u8>,
    stats: DecodeStats,
    /// Bytes fed so far.
    offset: u64,
    /// The offset of the last error reported: errors are placed where the cut is (see
    /// [`Reject::Truncated`]), never before one already reported.
    reported: u64,
    /// The system title of the last encrypted frame that authenticated: a later frame from
    /// it that fails was damaged, as the keys are proven.
    proven: Option<[u8; 8]>,
    /// Bytes read again after a failed frame only because its last bytes began a frame
    /// start (chance, 1 in 256 for a lone 0xDB): if no frame comes of them, that is not
    /// reported.
    speculative: bool,
}

impl Decoder {
    pub fn new(opts: DecoderOptions) -> Decoder {
        Decoder {
            framer: Framer::new(opts.max_telegram_bytes).with_crc_check(opts.check_crc),
            // Inside an encrypted frame the GCM tag has already proven every byte, so a
            // CRC that disagrees (seen in published Smarty frames) is shown, not rejected.
            inner: Framer::new(opts.max_telegram_bytes).with_crc_check(false),
            opts,
            plain: Vec::new(),
            stats: DecodeStats::default(),
            offset: 0,
            reported: 0,
            proven: None,
            speculative: false,
        }
    }

    pub fn stats(&self) -> DecodeStats {
        let framer = self.framer.stats();
        DecodeStats {
            skipped_bytes: framer.skipped_bytes,
            skipped_high_bytes: framer.skipped_high_bytes,
            skipped_nul_bytes: framer.skipped_nul_bytes,
            ..self.stats
        }
    }

    /// Whether a partial telegram is buffered (used by sources to tell a mid-telegram
    /// disconnect from a clean one).
    pub fn in_telegram(&self) -> bool {
        self.framer.in_frame()
    }

    /// See [`crate::frame::Framer::only_line_end_missing`].
    pub fn only_line_end_missing(&self) -> bool {
        self.framer.only_line_end_missing()
    }

    /// Drop any partial telegram without reporting it (after a reconnect, the rest of it
    /// will never come).
    pub fn reset(&mut self) {
        // The partial telegram lives in the framers; the counters, the offsets and the keys
        // proven stay.
        let Decoder { framer, inner, speculative, .. } = Decoder::new(self.opts.clone());
        (self.framer, self.inner, self.speculative) = (framer, inner, speculative);
    }

    /// Feed a chunk of the stream; `on` sees every telegram and every error, in order.
    pub fn feed(&mut self, input: &[u8], mut on: impl FnMut(Decoded<'_>)) {
        self.feed_counted(input, true, &mut on);
    }

    /// [`Decoder::feed`]; `count` is false for bytes fed again, which the offset has
    /// already counted.
    fn feed_counted(&mut self, mut input: &[u8], count: bool, on: &mut impl FnMut(Decoded<'_>)) {
        while !input.is_empty() {
            let Decoder { framer, inner, opts, plain, stats, offset, reported, proven, speculative } = self;
            let (n, event) = framer.feed(input);
            input = &input[n..];
            if count {
                *offset += n as u64;
            }
            let Some(event) = event else { continue };
            let quiet = is_quiet(&event, opts, std::mem::take(speculative));
            let mut cx = Cx { opts, stats, offset: *offset, reported, proven, on: &mut *on };
            let failed = !quiet && handle(event, inner, plain, &mut cx);
            let again = if !framer.rescan().is_empty() {
                // A 0xDB that began no encrypted frame, or an encrypted frame cut short by
                // the start of the next: the framer gives back the bytes to read again.
                framer.rescan().to_vec()
            } else if failed {
                // An encrypted frame that failed authentication may be one that lost a few
                // bytes, so that its length field ran into the next frame from the same
                // meter: the first bytes of that frame's start at its end are read again, so
                // the next frame is not lost with it.
                let again = partial_start_at_end(framer.last_frame()).map(<[u8]>::to_vec).unwrap_or_default();
                *speculative = !again.is_empty();
                again
            } else {
                continue;
            };
            if !again.is_empty() {
                self.feed_counted(&again, false, on);
            }
        }
    }

    /// The stream ended: complete or report what is buffered.
    pub fn finish(&mut self, mut on: impl FnMut(Decoded<'_>)) {
        loop {
            // Without a key, an encrypted frame the end cut short began at a stray 0xDB
            // whose header looked sane: what it took in after that byte is read again, as
            // a telegram may be in it.
            let again = match self.framer.pending_encrypted() {
                Some(frame) if self.opts.keys.is_none() => frame.get(1..).unwrap_or_default().to_vec(),
                _ => Vec::new(),
            };
            let Decoder { framer, inner, opts, plain, stats, offset, reported, proven, speculative } = self;
            if let Some(event) = framer.finish() {
                if !is_quiet(&event, opts, std::mem::take(speculative)) {
                    let mut cx = Cx { opts, stats, offset: *offset, reported, proven, on: &mut on };
                    handle(event, inner, plain, &mut cx);
                }
            }
            if again.is_empty() {
                return;
            }
            self.feed_counted(&again, false, &mut on);
        }
    }
}

/// What the event handlers share.
struct Cx<'o, F> {
    opts: &'o DecoderOptions,
    stats: &'o mut DecodeStats,
    offset: u64,
    reported: &'o mut u64,
    proven: &'o mut Option<[u8; 8]>,
    on: &'o mut F,
}

impl<F: FnMut(Decoded<'_>)> Cx<'_, F> {
    fn error(&mut self, error: DecodeError) {
        if error.is_crc() {
            self.stats.crc_failures += 1;
        } else {
            self.stats.other_errors += 1;
        }
        let offset = self.offset.max(*self.reported);
        *self.reported = offset;
        (self.on)(Decoded::Error { error, offset });
    }

    fn deliver(&mut self, bytes: &[u8], crc: CrcStatus, encrypted: bool) {
        match parse(bytes, crc, self.opts.version) {
            // A telegram in a format that always carries a CRC, without one, and whose `!` is
            // glued to a line or follows a broken last line, was cut short by a changed byte
            // (even the first of a stream, before the framer knows that the stream has CRCs).
            // The tag vouches for decrypted ones.
            Ok(t)
                if self.opts.check_crc
                    && !encrypted
                    && crc == CrcStatus::Absent
                    && (!bytes.ends_with(b"\n!") || t.last_line_broken())
                    && t.declares_crc() =>
            {
                self.error(DecodeError::Frame(Reject::CrcMissingDeclared));
            }
            Ok(mut t) => {
                t.encrypted = encrypted;
                self.stats.telegrams += 1;
                self.stats.line_errors += t.errors.len() as u64;
                self.stats.crc_mismatches_passed += u64::from(matches!(t.crc, CrcStatus::Mismatch { .. }));
                (self.on)(Decoded::Telegram(t));
            }
            Err(e) => self.error(DecodeError::Parse(e)),
        }
    }
}

/// Whether `event` is a 0xDB that began no encrypted frame (a bad header, or one cut short
/// or oversized by what followed) where none is expected: without a key, or read again
/// only by chance ([`Decoder::speculative`]). Such a byte is noise, counted with the
/// skipped bytes where the framer skipped it, and not reported.
fn is_quiet(event: &Event<'_>, opts: &DecoderOptions, speculative: bool) -> bool {
    let not_a_frame = matches!(
        event,
        Event::Rejected(
            Reject::BadSmartyHeader { .. }
                | Reject::Truncated { encrypted: true, .. }
                | Reject::Overflow { encrypted: true, .. }
        )
    );
    not_a_frame && (speculative || opts.keys.is_none())
}

/// The last bytes of an encrypted frame when they are the first of a frame start from the
/// same meter (its tag, title length and system title): a frame that lost fewer than ten
/// bytes ends in the start of the next, whose rest follows in the stream. (A whole start
/// inside a frame is found by the framer, which cuts the frame there.)
fn partial_start_at_end(frame: &[u8]) -> Option<&[u8]> {
    let start = frame.get(..SMARTY_START)?;
    (1..start.len()).rev().find(|&k| frame.ends_with(&start[..k])).map(|k| &frame[frame.len() - k..])
}

/// Handle one framer event; true when it was an encrypted frame that failed authentication.
fn handle<F: FnMut(Decoded<'_>)>(
    event: Event<'_>,
    inner: &mut Framer,
    plain: &mut Vec<u8>,
    cx: &mut Cx<'_, F>,
) -> bool {
    match event {
        Event::Frame(Frame::Plain { bytes, crc }) => cx.deliver(bytes, crc, false),
        Event::Frame(Frame::Smarty(bytes)) => match decrypt(bytes, cx.opts.keys.as_ref()) {
            Ok(d) => {
                *cx.proven = Some(d.system_title);
                *plain = d.plaintext;
                let mut rest: &[u8] = plain;
                let mut seen = false;
                while !rest.is_empty() {
                    let (n, ev) = inner.feed(rest);
                    rest = &rest[n..];
                    if let Some(ev) = ev {
                        seen = true;
                        inner_event(ev, cx);
                    }
                }
                if let Some(ev) = inner.finish() {
                    seen = true;
                    inner_event(ev, cx);
                }
                if !seen {
                    cx.error(DecodeError::Decrypt(DecryptError::Malformed(
                        "it decrypts and authenticates, but holds no telegram (`/` ... `!`)",
                    )));
                }
            }
            Err(mut e) => {
                let failed = matches!(e, DecryptError::TagMismatch { .. });
                if let DecryptError::TagMismatch { keys_proven, .. } = &mut e {
                    *keys_proven = cx.proven.is_some_and(|t| bytes.get(2..10) == Some(&t[..]));
                }
                cx.error(DecodeError::Decrypt(e));
                return failed;
            }
        },
        Event::Rejected(r) => {
            // A telegram cut short within a line is known to be so only after the next one's
            // `/ISK5`: the error is placed where the cut is.
            // So is a 0xDB found to begin no encrypted frame only after the bytes that follow.
            if let Reject::Truncated { next: back, .. } | Reject::BadSmartyHeader { read: back } = r {
                cx.offset = cx.offset.saturating_sub(back as u64);
            }
            cx.error(DecodeError::Frame(r));
        }
    }
    false
}

fn inner_event<F: FnMut(Decoded<'_>)>(ev: Event<'_>, cx: &mut Cx<'_, F>) {
    match ev {
        Event::Frame(Frame::Plain { bytes, crc }) => cx.deliver(bytes, crc, true),
        Event::Frame(Frame::Smarty(_)) => {
            cx.error(DecodeError::Decrypt(DecryptError::Malformed("nested encrypted frame")))
        }
        Event::Rejected(r) => cx.error(DecodeError::Frame(r)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMARTY: &[u8] = include_bytes!("../recordings/Sagemcom-Smarty-Lux5-encrypted_smarty-LU_openhab.bin");
    const SMARTY_KEY: &str = "D491470F47126332B07D1923B3504188";

    /// The codes of the errors one stream gives, decoded with these options.
    fn codes(stream: &[u8], opts: DecoderOptions) -> Vec<&'static str> {
        let mut decoder = Decoder::new(opts);
        let mut out = Vec::new();
        let mut on = |d: Decoded<'_>| {
            if let Decoded::Error { error, .. } = d {
                out.push(error.code());
            }
        };
        decoder.feed(stream, &mut on);
        decoder.finish(&mut on);
        out
    }

    #[test]
    fn each_error_has_its_own_code() {
        let with_key = |key: &str| DecoderOptions { keys: Keys::from_hex(key, None).ok(), ..DecoderOptions::default() };
        assert_eq!(codes(SMARTY, DecoderOptions::default()), ["decrypt_no_key"]);
        assert_eq!(codes(SMARTY, with_key("00112233445566778899AABBCCDDEEFF")), ["decrypt_auth_failed"]);
        assert_eq!(codes(SMARTY, with_key(SMARTY_KEY)), Vec::<&str>::new());
        // The framer lets through no frame too short for its tag: those codes by hand.
        for e in [DecryptError::Malformed("too short"), DecryptError::UnsupportedSecurity(0x20)] {
            assert_eq!(DecodeError::Decrypt(e).code(), "decrypt_malformed");
        }
        assert_eq!(codes(b"/ISK5\\2M550T\r\n\r\n!", DecoderOptions::default()), ["parse"]);
        assert_eq!(
            codes(b"/ISK5\\2M550T\r\n\r\n1-0:1.8.1(1)\r\n!0000\r\n", DecoderOptions::default()),
            ["crc_mismatch"]
        );
    }

    fn hint(all: u64, high: u64, nul: u64, telegrams: u64) -> Option<String> {
        let stats = DecodeStats {
            telegrams,
            skipped_bytes: all,
            skipped_high_bytes: high,
            skipped_nul_bytes: nul,
            ..DecodeStats::default()
        };
        stats.line_settings_hint(SettingsSetBy::Config)
    }

    /// The hint comes only after 256 bytes without a telegram, for a quarter of the bytes
    /// with the high bit set or NUL, or for 64 KiB of text that holds no telegram.
    #[test]
    fn the_line_settings_hint_keeps_to_its_bounds() {
        let high = hint(256, 64, 0, 0).expect("a quarter with the high bit");
        assert!(high.starts_with("64 of the 256 bytes received have the high bit set"), "{high}");
        assert!(high.contains("data_bits = 7, parity = \"even\""), "{high}");
        assert_eq!(hint(255, 255, 0, 0), None);
        assert_eq!(hint(256, 256, 0, 1), None);
        assert_eq!(hint(256, 63, 0, 0), None);
        let nul = hint(256, 0, 64, 0).expect("a quarter NUL");
        assert!(nul.starts_with("64 of the 256 bytes received are NUL"), "{nul}");
        assert_eq!(hint(256, 0, 63, 0), None);
        let text = hint(64 * 1024, 0, 0, 0).expect("64 KiB of text");
        assert!(text.starts_with("65536 bytes received and no telegram found in them"), "{text}");
        assert_eq!(hint(64 * 1024 - 1, 0, 0, 0), None);
        assert_eq!(hint(1 << 20, 0, 0, 1), None);
    }

    /// What a source asks when its stream stops: is a telegram half read, and does it lack
    /// only its line end?
    #[test]
    fn a_telegram_half_read_is_told_apart_from_one_that_lacks_its_line_end() {
        let telegram = b"/ISK5\\2M550T\r\n\r\n1-0:1.8.1(1)\r\n!";
        let crc = format!("{:04X}", crate::frame::crc16(telegram));
        let mut decoder = Decoder::new(DecoderOptions::default());
        let mut read = 0;
        let mut state = |d: &mut Decoder, bytes: &[u8]| {
            d.feed(bytes, |t| read += usize::from(matches!(t, Decoded::Telegram(_))));
            (d.in_telegram(), d.only_line_end_missing())
        };
        assert_eq!(state(&mut decoder, b"noise"), (false, false));
        assert_eq!(state(&mut decoder, &telegram[..10]), (true, false));
        assert_eq!(state(&mut decoder, &telegram[10..]), (true, false));
        assert_eq!(state(&mut decoder, &crc.as_bytes()[..3]), (true, false));
        assert_eq!(state(&mut decoder, &crc.as_bytes()[3..]), (true, true));
        assert_eq!(state(&mut decoder, b"\r"), (true, true));
        assert_eq!(state(&mut decoder, b"\n"), (false, false));
        assert_eq!(read, 1);
    }

    /// After a reconnect the half telegram buffered is dropped unreported; the counters stay.
    #[test]
    fn a_reset_drops_the_partial_telegram_only() {
        let telegram = b"/ISK5\\2M550T\r\n\r\n1-0:1.8.1(1)\r\n!";
        let whole = [&telegram[..], format!("{:04X}\r\n", crate::frame::crc16(telegram)).as_bytes()].concat();
        let mut decoder = Decoder::new(DecoderOptions::default());
        let mut seen = Vec::new();
        decoder.feed(&whole, |d| seen.push(matches!(d, Decoded::Telegram(_))));
        decoder.feed(&whole[..20], |d| seen.push(matches!(d, Decoded::Telegram(_))));
        assert!(decoder.in_telegram());
        decoder.reset();
        assert!(!decoder.in_telegram());
        decoder.feed(&whole, |d| seen.push(matches!(d, Decoded::Telegram(_))));
        decoder.finish(|d| seen.push(matches!(d, Decoded::Telegram(_))));
        assert_eq!(seen, [true, true], "two telegrams, no error");
        assert_eq!(decoder.stats().telegrams, 2);
    }

    /// A frame that fails authentication makes the bytes after it no less a stream that
    /// should hold frames: a bad frame header there is reported, as anywhere with a key.
    #[test]
    fn a_bad_frame_header_after_a_failed_frame_is_reported() {
        let opts = DecoderOptions {
            keys: Keys::from_hex("00112233445566778899AABBCCDDEEFF", None).ok(),
            ..DecoderOptions::default()
        };
        let stream = [SMARTY, &[0xDB, 0x05, b'x', b'y']].concat();
        let alone = codes(&[0xDB, 0x05, b'x', b'y'], opts.clone());
        assert_eq!(alone.len(), 1, "{alone:?}");
        assert_eq!(codes(&stream, opts), ["decrypt_auth_failed", alone[0]]);
    }
}
