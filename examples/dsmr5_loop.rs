//! The `dsmr5` crate's frame + CRC + parse path over a recording N times: the comparison
//! workload for `parse_loop` under `valgrind --tool=callgrind`, whose instruction counts do
//! not move with a busy host as criterion's timings do.
//!
//! `cargo run --release --example dsmr5_loop -- recordings/FILE [PASSES]`

use std::hint::black_box;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: dsmr5_loop FILE [PASSES]");
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
    let mut objects = 0u64;
    for _ in 0..passes {
        let reader = dsmr5::Reader::new(black_box(&input).iter().map(|&b| Ok::<u8, ()>(b)));
        for readout in reader.flatten() {
            let Ok(telegram) = readout.to_telegram() else { continue };
            for o in telegram.objects().flatten() {
                black_box(o);
                objects += 1;
            }
        }
    }
    println!("{passes} passes, {objects} objects");
    ExitCode::SUCCESS
}
