//! Frames, checks and parses a recording N times in a loop and prints the time per pass: a
//! steady workload for profilers (`perf record`, `valgrind --tool=callgrind`), whose counts,
//! unlike criterion's timings, do not move with a busy host. With `dsmr5` as third argument
//! the `dsmr5` crate does the same work instead, for comparison. With `compare`, both run
//! in turn, in 20 rounds of PASSES/20, and the fastest round of each is compared: on a host
//! whose speed moves, the best rounds are the ones least slowed by others.
//!
//! `cargo run --release --example parse_loop -- recordings/FILE [PASSES] [dsmrd|dsmr5|compare]`

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

use dsmrd::frame::{Event, Frame, Framer};
use dsmrd::parse::parse;
use dsmrd::spec::VersionChoice;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: parse_loop FILE [PASSES] [dsmrd|dsmr5|compare]");
        return ExitCode::FAILURE;
    };
    let passes: u32 = match args.next().map(|p| p.parse()) {
        None => 100_000,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("PASSES must be a positive number");
            return ExitCode::FAILURE;
        }
    };
    let mode = args.next().unwrap_or_else(|| "dsmrd".into());
    if !["dsmrd", "dsmr5", "compare"].contains(&mode.as_str()) {
        eprintln!("unknown mode `{mode}`: dsmrd, dsmr5 or compare");
        return ExitCode::FAILURE;
    }
    let input = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("{path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    // As in the daemon and the benchmark, one framer reads the whole stream.
    let mut framer = Framer::default();
    if mode == "compare" {
        compare(&mut framer, &input, passes);
        return ExitCode::SUCCESS;
    }
    let dsmr5 = mode == "dsmr5";
    let (mut telegrams, mut objects) = (0u64, 0u64);
    let start = Instant::now();
    for _ in 0..passes {
        let input = black_box(&input);
        let (t, o) = if dsmr5 { dsmr5_pass(input) } else { dsmrd_pass(&mut framer, input) };
        telegrams += t;
        objects += o;
    }
    let elapsed = start.elapsed();
    println!(
        "{passes} passes, {telegrams} telegrams, {objects} objects: {:?} per pass, {:?} per telegram",
        elapsed / passes,
        elapsed / u32::try_from(telegrams.max(1)).unwrap_or(u32::MAX)
    );
    ExitCode::SUCCESS
}

/// Both parsers in turn, 20 rounds of `passes / 20` each; prints the fastest round of each
/// per telegram and their ratio.
fn compare(framer: &mut Framer, input: &[u8], passes: u32) {
    const ROUNDS: u32 = 20;
    let per_round = (passes / ROUNDS).max(1);
    let (mut best_dsmrd, mut best_dsmr5) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..ROUNDS {
        let time = |pass: &mut dyn FnMut() -> (u64, u64)| {
            let start = Instant::now();
            let telegrams: u64 = (0..per_round).map(|_| pass().0).sum();
            start.elapsed().as_secs_f64() / telegrams.max(1) as f64
        };
        best_dsmrd = best_dsmrd.min(time(&mut || dsmrd_pass(framer, black_box(input))));
        best_dsmr5 = best_dsmr5.min(time(&mut || dsmr5_pass(black_box(input))));
    }
    println!(
        "fastest of {ROUNDS} rounds of {per_round} passes: dsmrd {:.3} µs, dsmr5 {:.3} µs per telegram; dsmrd {:.2}× as fast",
        best_dsmrd * 1e6,
        best_dsmr5 * 1e6,
        best_dsmr5 / best_dsmrd
    );
}

/// dsmrd's path: framer, CRC check, parse with version detection; (telegrams, objects).
fn dsmrd_pass(framer: &mut Framer, input: &[u8]) -> (u64, u64) {
    let (mut telegrams, mut objects) = (0, 0);
    let mut rest = input;
    while !rest.is_empty() {
        let (n, event) = framer.feed(rest);
        rest = &rest[n..];
        if let Some(Event::Frame(Frame::Plain { bytes, crc })) = event {
            if let Ok(t) = parse(bytes, crc, VersionChoice::Auto) {
                telegrams += 1;
                objects += t.objects.len() as u64;
            }
        }
    }
    (telegrams, objects)
}

/// The `dsmr5` crate's path, as `benches/parse.rs` runs it: its byte-iterator `Reader`
/// frames, `to_telegram` checks the CRC, `objects()` parses every line.
fn dsmr5_pass(input: &[u8]) -> (u64, u64) {
    let (mut telegrams, mut objects) = (0, 0);
    for readout in dsmr5::Reader::new(input.iter().map(|&b| Ok::<u8, ()>(b))).flatten() {
        let Ok(telegram) = readout.to_telegram() else { continue };
        telegrams += 1;
        for o in telegram.objects().flatten() {
            black_box(o);
            objects += 1;
        }
    }
    (telegrams, objects)
}
