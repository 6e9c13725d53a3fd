//! Properties of the decoder that must hold for every input, not just the recordings:
//! chunking does not matter, garbage between telegrams is skipped, a changed byte in a
//! CRC'd telegram is caught, and no input makes it panic.
//!
//! Case counts are kept small so the file runs in a few seconds in debug builds; set
//! `PROPTEST_CASES` to search harder.

use std::path::Path;

use dsmrd::decoder::{DecodeStats, Decoded, Decoder, DecoderOptions};
use dsmrd::frame::{CrcStatus, Event, Frame, Framer};
use dsmrd::json::{JsonContext, telegram_json};
use dsmrd::obis::Obis;
use dsmrd::parse::ParseError;
use dsmrd::smarty::Keys;
use dsmrd::spec::{Version, VersionChoice};
use dsmrd::table::telegram_table;
use dsmrd::time::{DEFAULT_TIMEZONE, zone};
use proptest::prelude::*;

/// The key published with the encrypted Smarty recording (a test key, not a secret).
const SMARTY_KEY: &str = "D491470F47126332B07D1923B3504188";

fn recording(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("recordings").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `cases` unless `PROPTEST_CASES` asks for another number.
fn config(cases: u32) -> ProptestConfig {
    // Garbage drawn byte by byte without frame starts: many rejects over many cases.
    let mut config = ProptestConfig { max_local_rejects: 10_000_000, ..ProptestConfig::default() };
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = cases;
    }
    config
}

fn smarty_options() -> DecoderOptions {
    DecoderOptions { keys: Some(Keys::from_hex(SMARTY_KEY, None).expect("test key")), ..DecoderOptions::default() }
}

/// What decoding a stream produced: each telegram as its JSON text, each error as its code
/// and stream offset, in order; and the final counters.
#[derive(Debug, Clone, PartialEq)]
struct Outcome {
    items: Vec<Item>,
    stats: DecodeStats,
}

#[derive(Debug, Clone, PartialEq)]
enum Item {
    Telegram { json: String, crc: CrcStatus },
    Error { code: &'static str, offset: u64 },
}

/// Decode `input` fed in chunks of the given sizes (cycled; the whole input at once when
/// `chunks` is empty).
fn decode(input: &[u8], chunks: &[usize], opts: DecoderOptions) -> Outcome {
    let cx = JsonContext { tz: zone(DEFAULT_TIMEZONE).expect("zone") };
    let mut decoder = Decoder::new(opts);
    let mut items = Vec::new();
    let mut on = |d: Decoded<'_>| match d {
        Decoded::Telegram(t) => {
            // The other output form must not panic either.
            let _ = telegram_table(&t, 1, &cx);
            items.push(Item::Telegram { json: telegram_json(&t, &cx).to_string(), crc: t.crc });
        }
        Decoded::Error { error, offset } => items.push(Item::Error { code: error.code(), offset }),
    };
    let mut rest = input;
    for size in chunks.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (chunk, tail) = rest.split_at((*size).clamp(1, rest.len()));
        decoder.feed(chunk, &mut on);
        rest = tail;
    }
    decoder.feed(rest, &mut on);
    decoder.finish(&mut on);
    Outcome { items, stats: decoder.stats() }
}

fn telegrams(outcome: &Outcome) -> Vec<&str> {
    outcome
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Telegram { json, .. } => Some(json.as_str()),
            Item::Error { .. } => None,
        })
        .collect()
}

/// A stream of real telegrams: DSMR 2.2 without CRC first (a stream that has shown a CRC
/// rejects telegrams without one), then DSMR 5, Belgian, an encrypted Smarty frame, and
/// the start of a long recording that begins and ends in the middle of a telegram.
fn real_stream() -> Vec<u8> {
    let mut s = recording("Iskra-MT382-1003-issue54a_dsmr2.2_dsmrtools.txt");
    s.extend(recording("Iskra-AM550-M550E-1012_dsmr5.0_dsmr5rs.txt"));
    s.extend(recording("Fluvius-FLU5-anon-3phase_e-MUCS-P1-1.7.x-BE_openhab.txt"));
    s.extend(recording("Sagemcom-Smarty-Lux5-encrypted_smarty-LU_openhab.bin"));
    s.extend(recording("Kaifa-KFM5-crcinvalid_dsmr4.2_smeterd.txt"));
    s.extend(&recording("Iskra-AM550-M550T-1012-recording_dsmr5.0_dsmrtools.txt")[..6000]);
    s
}

/// The complete frames of `stream`, each as it must be sent to be framed alone: a plain
/// telegram with its line end, a Smarty frame as is.
fn frames_of(stream: &[u8]) -> Vec<Vec<u8>> {
    let mut framer = Framer::default().with_crc_check(false);
    let mut out = Vec::new();
    let mut rest = stream;
    while !rest.is_empty() {
        let (n, event) = framer.feed(rest);
        rest = &rest[n..];
        match event {
            Some(Event::Frame(Frame::Plain { bytes, .. })) => out.push([bytes, b"\r\n"].concat()),
            Some(Event::Frame(Frame::Smarty(bytes))) => out.push(bytes.to_vec()),
            _ => {}
        }
    }
    out
}

fn chunk_sizes() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(prop_oneof![1usize..4, 1usize..100, 100usize..3000], 1..40)
}

#[test]
fn the_real_stream_holds_what_the_properties_need() {
    let whole = decode(&real_stream(), &[], smarty_options());
    assert_eq!(whole.stats.telegrams, 11);
    assert_eq!(whole.stats.crc_failures, 1, "the Kaifa recording has a bad CRC");
    assert!(telegrams(&whole).iter().any(|t| t.contains("\"encrypted\":true")));
}

proptest! {
    #![proptest_config(config(48))]

    /// (a) Any split of a stream into chunks yields exactly what feeding it whole yields:
    /// the same telegrams, the same errors at the same offsets, the same counters.
    #[test]
    fn chunking_does_not_matter(chunks in chunk_sizes()) {
        let stream = real_stream();
        let whole = decode(&stream, &[], smarty_options());
        let split = decode(&stream, &chunks, smarty_options());
        prop_assert_eq!(split, whole);
    }

    /// (b) Garbage between complete telegrams is skipped and changes nothing else, as long
    /// as it holds neither `/` nor 0xDB (the only bytes that start a frame; `!`, CR, LF,
    /// NUL and the rest are fine). The skipped-byte counter grows by exactly its length.
    #[test]
    fn garbage_without_frame_starts_changes_nothing(
        gaps in prop::collection::vec(
            prop::collection::vec(any::<u8>().prop_filter("no frame start", |b| *b != b'/' && *b != 0xDB), 0..60),
            10,
        ),
        chunks in chunk_sizes(),
    ) {
        let frames = frames_of(&real_stream());
        let clean = decode(&frames.concat(), &[], smarty_options());
        let mut stream = Vec::new();
        for (i, frame) in frames.iter().enumerate() {
            stream.extend(&gaps[i % gaps.len()]);
            stream.extend(frame);
        }
        stream.extend(&gaps[frames.len() % gaps.len()]);
        let garbage = stream.len() - frames.iter().map(Vec::len).sum::<usize>();
        let high = gaps.iter().cycle().take(frames.len() + 1).flatten().filter(|&&b| b >= 0x80).count();
        let nul = gaps.iter().cycle().take(frames.len() + 1).flatten().filter(|&&b| b == 0).count();

        let dirty = decode(&stream, &chunks, smarty_options());
        prop_assert_eq!(telegrams(&dirty), telegrams(&clean));
        let codes = |o: &Outcome| -> Vec<&'static str> {
            o.items.iter().filter_map(|i| match i { Item::Error { code, .. } => Some(*code), _ => None }).collect()
        };
        prop_assert_eq!(codes(&dirty), codes(&clean));
        let expected = DecodeStats {
            skipped_bytes: clean.stats.skipped_bytes + garbage as u64,
            skipped_high_bytes: clean.stats.skipped_high_bytes + high as u64,
            skipped_nul_bytes: clean.stats.skipped_nul_bytes + nul as u64,
            ..clean.stats
        };
        prop_assert_eq!(dirty.stats, expected);
    }

    /// (b) Garbage with `/` in it starts a bogus telegram, but the real telegram after it is
    /// still delivered unchanged: a Smarty frame by its tag, a plain one by its meter
    /// identification (`/ISK5`) even when the bogus header line runs into it. Nothing with
    /// a valid CRC is delivered that is not one of the real telegrams.
    #[test]
    fn garbage_with_slashes_costs_at_most_the_next_telegram(
        gaps in prop::collection::vec(
            prop::collection::vec(
                prop_oneof![
                    3 => any::<u8>().prop_filter("no Smarty tag", |b| *b != 0xDB),
                    1 => Just(b'/'),
                    1 => Just(b'\n'),
                    1 => Just(b'!'),
                ],
                0..30,
            ),
            10,
        ),
    ) {
        let frames = frames_of(&real_stream());
        let mut stream = Vec::new();
        for (i, frame) in frames.iter().enumerate() {
            stream.extend(&gaps[i % gaps.len()]);
            stream.extend(frame);
        }
        let alone: Vec<Outcome> = frames.iter().map(|f| decode(f, &[], smarty_options())).collect();
        let dirty = decode(&stream, &[], smarty_options());
        let delivered = telegrams(&dirty);

        // Every real telegram is delivered, in order.
        let mut next = delivered.iter();
        for (i, one) in alone.iter().enumerate() {
            for expected in telegrams(one) {
                prop_assert!(next.any(|t| *t == expected), "telegram {} lost", i);
            }
        }
        // Nothing with a valid CRC was made up.
        let real: Vec<&str> = alone.iter().flat_map(telegrams).collect();
        for item in &dirty.items {
            if let Item::Telegram { json, crc: CrcStatus::Valid(_) } = item {
                prop_assert!(real.contains(&json.as_str()), "made-up telegram {}", json);
            }
        }
    }

    /// (c) One changed byte anywhere from `/` to the last CRC digit of a CRC'd telegram is
    /// caught: the telegram is rejected, never delivered with other content (a CRC digit
    /// changed to the same digit in the other case is no change). The telegrams around it
    /// are delivered as usual.
    #[test]
    fn a_changed_byte_in_a_crc_telegram_is_caught(
        which in 0usize..4,
        pos in any::<prop::sample::Index>(),
        mask in 1u8..=255,
        chunks in chunk_sizes(),
    ) {
        let name = [
            "Iskra-AM550-M550E-1012_dsmr5.0_dsmr5rs.txt",
            "Fluvius-FLU5-anon-3phase_e-MUCS-P1-1.7.x-BE_openhab.txt",
            "Kaifa-KFM5-dsmr42_dsmr4.2_dsmrtools.txt",
            "Sagemcom-T210-D-AT-EST5-253740976_dsmr5.0-AT_openhab.txt",
        ][which];
        let good = frames_of(&recording(name)).remove(0);
        let crc_end = good.len() - 2; // the frame ends with its CRC digits, then CR LF
        let mut bad = good.clone();
        bad[pos.index(crc_end)] ^= mask;

        let original = decode(&good, &[], DecoderOptions::default());
        prop_assert_eq!(original.stats.telegrams, 1);
        let valid = matches!(original.items[0], Item::Telegram { crc: CrcStatus::Valid(_), .. });
        prop_assert!(valid, "{} has a valid CRC", name);
        let expected = telegrams(&original)[0];

        let stream = [good.as_slice(), &bad, &good].concat();
        let outcome = decode(&stream, &chunks, DecoderOptions::default());
        let delivered = telegrams(&outcome);
        for t in &delivered {
            prop_assert_eq!(*t, expected);
        }
        prop_assert!(delivered.len() >= 2, "the good telegrams around it are delivered: {:?}", outcome.items);
    }

    /// (d) Arbitrary bytes, fed in arbitrary chunks, with any options, never panic, give
    /// what they give fed whole, and the counters agree with what was reported.
    #[test]
    fn arbitrary_input_never_panics(
        input in fragments(),
        chunks in chunk_sizes(),
        check_crc in any::<bool>(),
        with_key in any::<bool>(),
        version in prop::option::of(prop::sample::select(Version::ALL.to_vec())),
        max in prop_oneof![Just(dsmrd::frame::DEFAULT_MAX_TELEGRAM), 0usize..400],
    ) {
        let opts = DecoderOptions {
            version: version.map_or(VersionChoice::Auto, VersionChoice::Fixed),
            check_crc,
            max_telegram_bytes: max,
            ..if with_key { smarty_options() } else { DecoderOptions::default() }
        };
        let outcome = decode(&input, &chunks, opts.clone());
        // However it is split: the same telegrams, errors, offsets and counters.
        prop_assert_eq!(&outcome, &decode(&input, &[], opts));
        let s = outcome.stats;
        let errors = outcome.items.iter().filter(|i| matches!(i, Item::Error { .. })).count() as u64;
        prop_assert_eq!(telegrams(&outcome).len() as u64, s.telegrams);
        prop_assert_eq!(errors, s.crc_failures + s.other_errors);
        prop_assert!(s.skipped_bytes <= input.len() as u64);
        let offsets: Vec<u64> = outcome.items.iter().filter_map(|i| match i {
            Item::Error { offset, .. } => Some(*offset),
            _ => None,
        }).collect();
        prop_assert!(offsets.windows(2).all(|w| w[0] <= w[1]), "offsets go forward: {:?}", offsets);
        prop_assert!(offsets.iter().all(|&o| o <= input.len() as u64));
    }

    /// (d) The parser alone, on any frame-like bytes and any version, never panics.
    #[test]
    fn the_parser_never_panics(body in fragments(), version in prop::option::of(prop::sample::select(Version::ALL.to_vec()))) {
        let frame = [b"/".as_slice(), &body].concat();
        let choice = version.map_or(VersionChoice::Auto, VersionChoice::Fixed);
        let cx = JsonContext { tz: zone(DEFAULT_TIMEZONE).expect("zone") };
        for crc in [CrcStatus::Absent, CrcStatus::Valid(0)] {
            match dsmrd::parse::parse(&frame, crc, choice) {
                Ok(t) => {
                    let _ = telegram_json(&t, &cx);
                    // Every object carries the id its text spells.
                    prop_assert!(t.objects.iter().all(|o| Obis::parse(o.obis) == Some(o.id)));
                }
                // Refused only when no data line was read: with a header that is no text,
                // or without (noise that holds a `/` and a `!`).
                Err(ParseError::BadHeader) => {
                    let header = frame.split(|&b| b == b'\n').next().unwrap_or_default();
                    prop_assert!(std::str::from_utf8(header).is_err());
                }
                Err(ParseError::NoData { .. }) => {
                    let end = frame.iter().rposition(|&b| b == b'!').unwrap_or(frame.len());
                    // Lines are trimmed of the padding meters send (blanks, CR, NUL), blank
                    // lines are skipped, and a line that starts with `(` continues the one
                    // before it (DSMR 2.2 gas). A line that is no text is no data line.
                    let pad: &[char] = &['\0', ' ', '\t', '\r'];
                    let lines: Vec<(String, bool)> = frame[..end]
                        .split(|&b| b == b'\n')
                        .skip(1)
                        .map(|l| (String::from_utf8_lossy(l).trim_matches(pad).to_string(), std::str::from_utf8(l).is_ok()))
                        .filter(|(l, _)| !l.is_empty())
                        .collect();
                    let continued = |i: usize| lines.get(i + 1).is_some_and(|(next, _)| next.starts_with('('));
                    let data_line = (0..lines.len())
                        .find(|&i| lines[i].1 && is_data_line(&lines[i].0) && !continued(i))
                        .map(|i| &lines[i].0);
                    prop_assert!(data_line.is_none(), "refused, but `{:?}` is a data line", data_line);
                }
                Err(e) => prop_assert!(false, "unexpected {e:?}"),
            }
        }
    }
}

/// Whether `line` is a code and one or more closed groups with no parenthesis inside,
/// `1-0:1.8.1(000576.239*kWh)`: a line any reader takes as data (its value may still be
/// reported as not fitting its row).
fn is_data_line(line: &str) -> bool {
    let Some((_, _, mut rest)) = Obis::split_line(line) else { return false };
    if rest.is_empty() {
        return false;
    }
    while let Some(group) = rest.strip_prefix('(') {
        let Some(close) = group.find(')') else { return false };
        if group[..close].contains('(') {
            return false;
        }
        rest = &group[close + 1..];
    }
    rest.is_empty()
}

/// Bytes built from pieces of telegrams and random bytes, so that random input reaches the
/// parser, the CRC check and the Smarty decryption, not only the hunt for `/`.
fn fragments() -> impl Strategy<Value = Vec<u8>> {
    let token = prop::sample::select(vec![
        b"/".as_slice(),
        b"/ISK5\\2M550E-1012\r\n\r\n",
        b"/FLU5\\253769484_A\r\n\r\n",
        b"/Lux5\\x\r\n\r\n",
        b"!",
        b"!67B1\r\n",
        b"\r\n",
        b"\n",
        b"(",
        b")",
        b"((",
        b"))",
        b"*",
        b"*kWh",
        b"1-3:0.2.8(50)\r\n",
        b"1-0:1.8.1(000576.239*kWh)\r\n",
        b"1-0:1.8.1(",
        b"0-1:24.1.0(003)\r\n",
        b"0-1:24.2.1(190320181003W)(00304.089*m3)\r\n",
        b"0-1:24.3.0(",
        b"0-0:96.1.1(4530303433303037303532383730333138)\r\n",
        b"1-0:99.97.0(2)(0-0:96.7.19)(190201235231W)(0000003231*s)",
        b"0-0:98.1.0(3)(1-0:1.6.0)(1-0:1.6.0)(200501000000S)(200423192538S)(03.695*kW)",
        b"0-0:1.0.0(190320181403W)\r\n",
        b"632525252525W",
        b"00000000000000000000000.",
        b"1-0:1.8.0*255(",
        b"0-0:96.7.19",
        b"\xDB\x08SAGgp\x01\xBDT\x82\x00\x30",
        b"\xDB\x08SYSTEMID\x20\x30\x00\x00\x00\x01",
    ]);
    let piece = prop_oneof![
        3 => token.prop_map(<[u8]>::to_vec),
        2 => prop::collection::vec(any::<u8>(), 0..24),
        1 => prop::collection::vec(prop::sample::select(b"0123456789.-:*()!/\r\nSW".to_vec()), 0..16),
    ];
    prop::collection::vec(piece, 0..48).prop_map(|pieces| pieces.concat())
}
