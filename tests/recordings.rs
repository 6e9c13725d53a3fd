//! Every recording in `recordings/` parsed through the public decoder, compared with its
//! insta snapshot, plus checks that no recording lacks a snapshot or a README row.

use std::fs;
use std::path::{Path, PathBuf};

use dsmrd::decoder::{Decoded, Decoder, DecoderOptions};
use dsmrd::json::{JsonContext, telegram_json};
use dsmrd::smarty::Keys;
use dsmrd::time::{DEFAULT_TIMEZONE, zone};

/// Keys for the encrypted recordings, as published with them (test keys, not secrets).
const KEYS: &[(&str, &str, Option<&str>)] = &[
    ("Sagemcom-Smarty-Lux5-encrypted_smarty-LU_openhab.bin", "D491470F47126332B07D1923B3504188", None),
    (
        "spec-example-LU-Smarty-encrypted-with-aad_smarty_athombv.bin",
        "0123456789abcdef0123456789abcdef",
        Some("ffeeddccbbaa99887766554433221100"),
    ),
    ("spec-example-LU-Smarty-encrypted-without-aad_smarty_athombv.bin", "0123456789abcdef0123456789abcdef", None),
];

/// Recordings with more telegrams than this are snapshotted by their first two and last
/// telegram plus the counts, to keep snapshots reviewable.
const FULL_SNAPSHOT_LIMIT: usize = 10;

fn recordings() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("recordings");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("recordings/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("txt" | "bin")))
        .collect();
    files.sort();
    files
}

fn file_name(p: &Path) -> String {
    p.file_name().and_then(|n| n.to_str()).expect("utf-8 file name").to_string()
}

/// Decode bytes and describe the outcome: telegrams as pretty JSON, errors with offsets.
fn describe(bytes: &[u8], opts: DecoderOptions) -> (usize, String) {
    let cx = JsonContext { tz: zone(DEFAULT_TIMEZONE).expect("zone") };
    let mut decoder = Decoder::new(opts);
    let mut items: Vec<String> = Vec::new();
    let mut telegrams = 0usize;
    {
        let mut on = |d: Decoded<'_>| match d {
            Decoded::Telegram(t) => {
                telegrams += 1;
                items.push(serde_json::to_string_pretty(&telegram_json(&t, &cx)).expect("json"));
            }
            Decoded::Error { error, offset } => items.push(format!("rejected at byte {offset}: {error}")),
        };
        decoder.feed(bytes, &mut on);
        decoder.finish(&mut on);
    }
    let s = decoder.stats();
    let n = items.len();
    let shown: Vec<String> = if n > FULL_SNAPSHOT_LIMIT {
        let mut v = items[..2].to_vec();
        v.push(format!("... {} more items ...", n - 3));
        v.push(items[n - 1].clone());
        v
    } else {
        items
    };
    let summary = format!(
        "telegrams: {}, crc failures: {}, other errors: {}, line errors: {}, skipped bytes: {}",
        s.telegrams, s.crc_failures, s.other_errors, s.line_errors, s.skipped_bytes
    );
    (telegrams, format!("{summary}\n{}", shown.join("\n")))
}

fn options_for(name: &str) -> DecoderOptions {
    let keys = KEYS.iter().find(|(f, ..)| *f == name).map(|(_, k, a)| Keys::from_hex(k, *a).expect("valid test key"));
    DecoderOptions { keys, ..DecoderOptions::default() }
}

#[test]
fn every_recording_matches_its_snapshot() {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_snapshot_path("snapshots/recordings");
    settings.bind(|| {
        for path in recordings() {
            let name = file_name(&path);
            let bytes = fs::read(&path).expect("readable recording");
            let (telegrams, mut text) = describe(&bytes, options_for(&name));
            if telegrams == 0 {
                // Show what is inside damaged telegrams too, with the CRC check off.
                let lenient = DecoderOptions { check_crc: false, ..options_for(&name) };
                let (_, more) = describe(&bytes, lenient);
                text.push_str("\n\nwith --no-crc:\n");
                text.push_str(&more);
            }
            insta::assert_snapshot!(name.clone(), text);
        }
    });
}

/// The `--format table` form of the first telegram of every recording (read as its JSON
/// snapshot reads it, or with the CRC check off when no telegram passes it), in one snapshot:
/// every kind of value, mark and note the table writes, over real telegrams.
#[test]
fn every_recording_reads_as_a_table() {
    let cx = JsonContext { tz: zone(DEFAULT_TIMEZONE).expect("zone") };
    let mut out = String::new();
    for path in recordings() {
        let name = file_name(&path);
        let bytes = fs::read(&path).expect("readable recording");
        let mut first = None;
        for check_crc in [true, false] {
            let mut decoder = Decoder::new(DecoderOptions { check_crc, ..options_for(&name) });
            let mut on = |d: Decoded<'_>| {
                if let (Decoded::Telegram(t), None) = (d, &first) {
                    first = Some(dsmrd::table::telegram_table(&t, 1, &cx));
                }
            };
            decoder.feed(&bytes, &mut on);
            decoder.finish(&mut on);
            if first.is_some() {
                break;
            }
        }
        out.push_str(&format!("== {name}\n{}\n", first.as_deref().unwrap_or("(no telegram)\n")));
    }
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_snapshot_path("snapshots/recordings");
    settings.bind(|| insta::assert_snapshot!("tables", out));
}

#[test]
fn every_recording_has_a_snapshot_and_a_readme_row() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = fs::read_to_string(root.join("recordings/README.md")).expect("recordings/README.md");
    for path in recordings() {
        let name = file_name(&path);
        let snap = root.join("tests/snapshots/recordings").join(format!("{name}.snap"));
        assert!(snap.exists(), "{name} has no snapshot; run `cargo insta test --accept` and review it");
        assert!(readme.contains(&format!("`{name}`")), "{name} has no row in recordings/README.md");
    }
}

#[test]
fn the_iskra_recording_that_starts_mid_telegram_yields_566_telegrams() {
    let bytes = fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("recordings/Iskra-AM550-M550T-1012-recording_dsmr5.0_dsmrtools.txt"),
    )
    .expect("recording");
    let mut decoder = Decoder::new(DecoderOptions::default());
    let mut last_t1 = None;
    let mut errors = 0;
    // Feed in odd-sized chunks, as a serial port would deliver them.
    for chunk in bytes.chunks(61) {
        decoder.feed(chunk, |d| match d {
            Decoded::Telegram(t) => last_t1 = t.number("electricity_used_tariff_1"),
            Decoded::Error { .. } => errors += 1,
        });
    }
    decoder.finish(|_| errors += 1);
    assert_eq!(decoder.stats().telegrams, 566);
    assert_eq!(errors, 0);
    assert_eq!(last_t1.map(|d| d.to_string()), Some("3432.921".to_string()));
}

/// Every field name a reading of any recording carries (as sinks and `fields` lists see
/// them, with their `_time` columns) passes the check for misspelled `fields` names: a
/// configuration naming a real field is never refused.
#[test]
fn no_real_field_name_counts_as_misspelled() {
    let cx = dsmrd::readings::ReadingContext::new("meter", zone(DEFAULT_TIMEZONE).expect("zone"));
    let mut names = std::collections::BTreeSet::new();
    for path in recordings() {
        let name = file_name(&path);
        let bytes = fs::read(&path).expect("read");
        let mut decoder = Decoder::new(options_for(&name));
        let mut on = |d: Decoded<'_>| {
            if let Decoded::Telegram(t) = d {
                let r = dsmrd::readings::to_reading(&t, &cx, jiff::Timestamp::UNIX_EPOCH);
                for f in &r.fields {
                    names.insert(f.name.to_string());
                    names.insert(format!("{}_time", f.name));
                }
                for p in &r.series {
                    names.insert(p.name.to_string());
                }
            }
        };
        decoder.feed(&bytes, &mut on);
        decoder.finish(&mut on);
    }
    assert!(names.len() > 200, "{}", names.len());
    let refused: Vec<(&String, String)> =
        names.iter().filter_map(|n| dsmrd::field_names::misspelled(n).map(|g| (n, g))).collect();
    assert!(refused.is_empty(), "{refused:?}");
}
