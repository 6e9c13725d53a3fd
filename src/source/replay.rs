//! Replays a raw recording: as fast as the sinks take it, or spaced as the telegrams'
//! own timestamps say (optionally sped up), once or in a loop, in constant memory.
//!
//! Reading and decoding run on a blocking thread that hands batches of readings to the
//! async side, so a fast replay decodes on one core while the sinks write on another.

use std::io::{IsTerminal, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use dsmrd_sinks::Reading;
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;

use super::{Ingest, Shutdown, sleep_or_stop, stopped};
use crate::config::{Pace, ReplayConfig};

/// Spacing for telegrams without a timestamp (DSMR 2.2/3.0 meters send every 10 s).
const DEFAULT_SPACING: Duration = Duration::from_secs(10);
/// Gaps in a recording longer than this are not waited out.
const MAX_GAP: Duration = Duration::from_secs(60);
/// Read size; also the granularity of the batches handed over.
const CHUNK: usize = 64 * 1024;

pub async fn run(cfg: &ReplayConfig, ingest: Ingest, shutdown: Shutdown) {
    match cfg.pace {
        Pace::Fast => fast(cfg, ingest, shutdown).await,
        Pace::Speed(factor) => paced(cfg, factor, ingest, shutdown).await,
    }
}

/// As fast as the sinks take it: decoding on a blocking thread, publishing here.
async fn fast(cfg: &ReplayConfig, ingest: Ingest, mut shutdown: Shutdown) {
    let name = ingest.name.clone();
    let fanout = ingest.fanout.clone();
    let wait = ingest.wait;
    let stop = Arc::new(AtomicBool::new(false));
    // A few chunks in flight: enough to overlap decoding and writing, little memory.
    let (tx, mut rx) = mpsc::channel::<Vec<Reading>>(4);
    let reader = {
        let cfg = cfg.clone();
        let stop = stop.clone();
        tokio::task::spawn_blocking(move || read_loop(&cfg, ingest, &tx, &stop))
    };
    loop {
        let batch = tokio::select! {
            b = rx.recv() => b,
            _ = stopped(&mut shutdown) => None,
        };
        let Some(batch) = batch else { break };
        fanout.publish_all(batch, wait).await;
    }
    stop.store(true, Ordering::Relaxed);
    drop(rx);
    if let Err(e) = reader.await {
        tracing::error!(source = %name, error = %e, "Replay reader ended abnormally.");
    }
}

/// Spaced as the telegrams' timestamps say, divided by `factor`. Decoding stays on this
/// task: at real-time speeds it is never the bottleneck.
async fn paced(cfg: &ReplayConfig, factor: f64, mut ingest: Ingest, mut shutdown: Shutdown) {
    let mut previous: Option<jiff::Timestamp> = None;
    let mut buf = vec![0u8; CHUNK];
    loop {
        let mut file = match tokio::fs::File::open(&cfg.path).await {
            Ok(f) => f,
            Err(e) => {
                tracing::error!(source = %ingest.name, path = %cfg.path.display(), error = %e, "Cannot open the recording.");
                return;
            }
        };
        loop {
            let n = tokio::select! {
                r = file.read(&mut buf) => r,
                _ = stopped(&mut shutdown) => return,
            };
            let readings = match n {
                Ok(0) => ingest.finish(),
                Ok(n) => ingest.decode(&buf[..n]),
                Err(e) => {
                    tracing::error!(source = %ingest.name, error = %e, "Cannot read the recording.");
                    return;
                }
            };
            for r in readings {
                let gap = match (previous, r.time_from_meter) {
                    (Some(p), true) => {
                        let ms = (r.time.as_millisecond() - p.as_millisecond()).max(0) as u64;
                        Duration::from_millis(ms).min(MAX_GAP)
                    }
                    (None, _) => Duration::ZERO,
                    (Some(_), false) => DEFAULT_SPACING,
                };
                previous = Some(r.time);
                if !gap.is_zero() && !sleep_or_stop(gap.div_f64(factor), &mut shutdown).await {
                    return;
                }
                ingest.publish(r).await;
            }
            if matches!(n, Ok(0)) {
                break;
            }
        }
        if !cfg.looped {
            return;
        }
    }
}

/// The blocking side: read the file in chunks, decode, hand the readings over; again from
/// the start when looping.
fn read_loop(cfg: &ReplayConfig, mut ingest: Ingest, tx: &mpsc::Sender<Vec<Reading>>, stop: &AtomicBool) {
    let size = std::fs::metadata(&cfg.path).map(|m| m.len()).unwrap_or(0);
    let progress = cfg.pace == Pace::Fast && size > 4 * 1024 * 1024 && std::io::stderr().is_terminal();
    let mut buf = vec![0u8; CHUNK];
    loop {
        let mut file = match std::fs::File::open(&cfg.path) {
            Ok(f) => f,
            Err(e) => {
                tracing::error!(source = %ingest.name, path = %cfg.path.display(), error = %e, "Cannot open the recording.");
                return;
            }
        };
        let mut done: u64 = 0;
        let mut last_progress = std::time::Instant::now();
        loop {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            let n = match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    tracing::error!(source = %ingest.name, error = %e, "Cannot read the recording.");
                    return;
                }
            };
            done += n as u64;
            let readings = ingest.decode(&buf[..n]);
            if !readings.is_empty() && tx.blocking_send(readings).is_err() {
                return;
            }
            if progress && last_progress.elapsed() >= Duration::from_millis(250) {
                last_progress = std::time::Instant::now();
                eprint!("\rreplaying {}: {:5.1}%", cfg.path.display(), done as f64 * 100.0 / size.max(1) as f64);
            }
        }
        let rest = ingest.finish();
        if !rest.is_empty() && tx.blocking_send(rest).is_err() {
            return;
        }
        if progress {
            eprintln!("\rreplaying {}: 100.0%", cfg.path.display());
        }
        if !cfg.looped {
            return;
        }
    }
}
