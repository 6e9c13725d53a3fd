//! Replays a raw recording: as fast as the sinks take it, or spaced as the telegrams'
//! own timestamps say (optionally sped up), once or in a loop, in constant memory.

use std::io::IsTerminal;
use std::time::Duration;

use tokio::io::AsyncReadExt;

use super::{Ingest, Shutdown, sleep_or_stop, stopped};
use crate::config::{Pace, ReplayConfig};

/// Spacing for telegrams without a timestamp (DSMR 2.2/3.0 meters send every 10 s).
const DEFAULT_SPACING: Duration = Duration::from_secs(10);
/// Gaps in a recording longer than this are not waited out.
const MAX_GAP: Duration = Duration::from_secs(60);

pub async fn run(cfg: &ReplayConfig, mut ingest: Ingest, mut shutdown: Shutdown) {
    let size = tokio::fs::metadata(&cfg.path).await.map(|m| m.len()).unwrap_or(0);
    let progress = cfg.pace == Pace::Fast && size > 4 * 1024 * 1024 && std::io::stderr().is_terminal();
    loop {
        let mut file = match tokio::fs::File::open(&cfg.path).await {
            Ok(f) => f,
            Err(e) => {
                tracing::error!(source = %ingest.name, path = %cfg.path.display(), error = %e, "Cannot open the recording.");
                return;
            }
        };
        let mut buf = vec![0u8; 64 * 1024];
        let mut done: u64 = 0;
        let mut last_progress = std::time::Instant::now();
        let mut previous: Option<jiff::Timestamp> = None;
        loop {
            let n = tokio::select! {
                r = file.read(&mut buf) => r,
                _ = stopped(&mut shutdown) => return,
            };
            let n = match n {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    tracing::error!(source = %ingest.name, error = %e, "Cannot read the recording.");
                    return;
                }
            };
            done += n as u64;
            for r in ingest.decode(&buf[..n]) {
                if let Pace::Speed(factor) = cfg.pace {
                    let gap = match (previous, r.time_from_meter) {
                        (Some(p), true) => {
                            let secs = (r.time.as_millisecond() - p.as_millisecond()).max(0) as u64;
                            Duration::from_millis(secs).min(MAX_GAP)
                        }
                        (None, _) => Duration::ZERO,
                        (Some(_), false) => DEFAULT_SPACING,
                    };
                    previous = Some(r.time);
                    if !gap.is_zero() && !sleep_or_stop(gap.div_f64(factor), &mut shutdown).await {
                        return;
                    }
                }
                ingest.publish(r).await;
            }
            if progress && last_progress.elapsed() >= Duration::from_millis(250) {
                last_progress = std::time::Instant::now();
                eprint!("\rreplaying {}: {:5.1}%", cfg.path.display(), done as f64 * 100.0 / size.max(1) as f64);
            }
        }
        for r in ingest.finish() {
            ingest.publish(r).await;
        }
        if progress {
            eprintln!("\rreplaying {}: 100.0%", cfg.path.display());
        }
        if !cfg.looped {
            return;
        }
        if !sleep_or_stop(Duration::ZERO, &mut shutdown).await {
            return;
        }
    }
}
