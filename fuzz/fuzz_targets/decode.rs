//! Feeds arbitrary bytes through the framer, Smarty decryption and parser
//! ([`dsmrd::decoder::Decoder`], split into chunks by the first input byte, once with CRC
//! checking and a Smarty key, once without either) and through [`dsmrd::parse::parse`]
//! directly, and every telegram on to its JSON and to the reading the sinks get
//! ([`dsmrd::readings::to_reading`]). Nothing may panic; counters must agree with what was
//! reported.
//!
//! Run with `cargo fuzz run decode -s none` from the repository root (see README.md).

#![no_main]

use dsmrd::decoder::{Decoded, Decoder, DecoderOptions};
use dsmrd::frame::CrcStatus;
use dsmrd::json::{JsonContext, telegram_json};
use dsmrd::parse::parse;
use dsmrd::readings::{ReadingContext, to_reading};
use dsmrd::smarty::Keys;
use dsmrd::spec::{Version, VersionChoice};
use dsmrd::time::{DEFAULT_TIMEZONE, zone};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, input)) = data.split_first() else { return };
    let chunk = usize::from(first % 64) + 1;
    let cx = JsonContext { tz: zone(DEFAULT_TIMEZONE).expect("bundled zone") };
    let rcx = ReadingContext::new("fuzz", cx.tz.clone());
    let received = jiff::Timestamp::UNIX_EPOCH;
    let key = Keys::from_hex("D491470F47126332B07D1923B3504188", None).expect("test key");
    let variants = [
        DecoderOptions { keys: Some(key), ..DecoderOptions::default() },
        DecoderOptions { check_crc: false, max_telegram_bytes: 256, ..DecoderOptions::default() },
    ];
    for opts in variants {
        let mut decoder = Decoder::new(opts);
        let (mut telegrams, mut errors) = (0u64, 0u64);
        let mut on = |d: Decoded<'_>| match d {
            Decoded::Telegram(t) => {
                telegrams += 1;
                let _ = telegram_json(&t, &cx);
                let _ = to_reading(&t, &rcx, received);
            }
            Decoded::Error { .. } => errors += 1,
        };
        for part in input.chunks(chunk) {
            decoder.feed(part, &mut on);
        }
        decoder.finish(&mut on);
        let stats = decoder.stats();
        assert_eq!(stats.telegrams, telegrams);
        assert_eq!(stats.crc_failures + stats.other_errors, errors);
    }

    // The parser alone, as if the framer had cut this frame, for every table.
    let frame = [b"/".as_slice(), input].concat();
    let version = Version::ALL[usize::from(first) % Version::ALL.len()];
    for choice in [VersionChoice::Auto, VersionChoice::Fixed(version)] {
        if let Ok(t) = parse(&frame, CrcStatus::Absent, choice) {
            let _ = telegram_json(&t, &cx);
            let _ = to_reading(&t, &rcx, received);
        }
    }
});
