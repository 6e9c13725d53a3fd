//! Throughput of the framer, CRC check and parser on recorded telegrams, and of the `dsmr5`
//! crate doing comparable work (framing, CRC check, parsing every line) on the same DSMR 5
//! telegram. Run with `cargo bench --bench parse`; README "Benchmarks" quotes the figures.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dsmrd::frame::{Event, Frame, Framer};
use dsmrd::parse::parse;
use dsmrd::spec::VersionChoice;

fn recording(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("recordings").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Frame, check and parse (version detected per telegram) every telegram in `input`, as the
/// decoder does; returns how many objects were read so the work cannot be optimized away.
fn decode_all(framer: &mut Framer, mut input: &[u8]) -> usize {
    let mut objects = 0;
    while !input.is_empty() {
        let (n, event) = framer.feed(input);
        input = &input[n..];
        if let Some(Event::Frame(Frame::Plain { bytes, crc })) = event {
            let t = parse(bytes, crc, VersionChoice::Auto).expect("telegram parses");
            assert!(t.errors.is_empty());
            objects += t.objects.len();
        }
    }
    objects
}

/// The `dsmr5` crate's whole path: its byte-iterator `Reader` frames the telegram, then
/// `to_telegram` checks the CRC and `objects()` parses every line.
fn dsmr5_decode_all(input: &[u8]) -> usize {
    let reader = dsmr5::Reader::new(input.iter().map(|&b| Ok::<u8, ()>(b)));
    let mut objects = 0;
    for readout in reader {
        let readout = readout.expect("dsmr5 frames the telegram");
        let telegram = readout.to_telegram().expect("dsmr5 accepts the CRC");
        for o in telegram.objects() {
            black_box(o.expect("dsmr5 parses the line"));
            objects += 1;
        }
    }
    objects
}

fn telegrams(c: &mut Criterion) {
    let cases = [
        ("dsmr5_iskra_am550", "Iskra-AM550-M550E-1012_dsmr5.0_dsmr5rs.txt"),
        ("fluvius_3phase", "Fluvius-FLU5-anon-3phase_e-MUCS-P1-1.7.x-BE_openhab.txt"),
        ("dsmr22_iskra_mt382", "Iskra-MT382-1003-issue54a_dsmr2.2_dsmrtools.txt"),
    ];
    let mut group = c.benchmark_group("frame_crc_parse");
    group.throughput(Throughput::Elements(1));
    for (label, file) in cases {
        let input = recording(file);
        let mut framer = Framer::default();
        assert!(decode_all(&mut framer, &input) > 0, "{file} holds a telegram");
        group.bench_function(format!("dsmrd/{label}"), |b| {
            b.iter(|| decode_all(&mut framer, black_box(&input)));
        });
    }
    let isk = recording(cases[0].1);
    assert_eq!(dsmr5_decode_all(&isk), 23, "dsmr5 reads every line");
    group.bench_function("dsmr5_crate/dsmr5_iskra_am550", |b| b.iter(|| dsmr5_decode_all(black_box(&isk))));
    group.finish();
}

fn framer_only(c: &mut Criterion) {
    let input = recording("Iskra-AM550-M550T-1012-recording_dsmr5.0_dsmrtools.txt");
    let mut group = c.benchmark_group("framer");
    group.throughput(Throughput::Bytes(input.len() as u64));
    let mut framer = Framer::default();
    group.bench_function("recording_566_telegrams", |b| {
        b.iter(|| {
            let mut rest: &[u8] = black_box(&input);
            let mut frames = 0u32;
            while !rest.is_empty() {
                let (n, event) = framer.feed(rest);
                rest = &rest[n..];
                frames += u32::from(matches!(event, Some(Event::Frame(_))));
            }
            assert_eq!(frames, 566);
            frames
        });
    });
    group.finish();
}

criterion_group!(benches, telegrams, framer_only);
criterion_main!(benches);
