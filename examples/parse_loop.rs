//! Frames, checks and parses a recording N times in a loop and prints the time per pass: a
//! steady workload for profilers (`perf record`, `valgrind --tool=callgrind`), whose counts,
//! unlike criterion's timings, do not move with a busy host.
//!
//! `cargo run --release --example parse_loop -- recordings/FILE [PASSES]`

use std::process::ExitCode;
use std::time::Instant;

use dsmrd::frame::{Event, Frame, Framer};
use dsmrd::parse::parse;
use dsmrd::spec::VersionChoice;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: parse_loop FILE [PASSES]");
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
    let input = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("{path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut framer = Framer::default();
    let (mut telegrams, mut objects) = (0u64, 0u64);
    let start = Instant::now();
    for _ in 0..passes {
        let mut rest: &[u8] = &input;
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
    }
    let elapsed = start.elapsed();
    println!(
        "{passes} passes, {telegrams} telegrams, {objects} objects: {:?} per pass, {:?} per telegram",
        elapsed / passes,
        elapsed / u32::try_from(telegrams.max(1)).unwrap_or(u32::MAX)
    );
    ExitCode::SUCCESS
}
