//! Replays a raw recording: as fast as the sinks take it, or spaced as the telegrams'
//! own timestamps say (optionally sped up), once or in a loop, in constant memory.
//!
//! A fast replay reads, decodes and publishes on one task, chunk by chunk. Measured, this
//! beats decoding on a second thread: handing readings between cores costs more than the
//! second core gives back (README, "The service").

use std::io::{IsTerminal, Read, Write};
use std::time::Duration;

use tokio::io::AsyncReadExt;

use super::{Ingest, Shutdown, sleep_or_stop, sleep_until_or_stop, stopped};
use crate::config::{Pace, ReplayConfig};

/// Spacing for telegrams without a timestamp (DSMR 2.2/3.0 meters send every 10 s).
const DEFAULT_SPACING: Duration = Duration::from_secs(10);
/// Gaps in a recording longer than this are not waited out.
const MAX_GAP: Duration = Duration::from_secs(60);
/// The wait before a loop reads again a recording that held no telegram: a loop over
/// nothing must not spin. Paced, the spacing of telegrams without a time; fast, a second.
pub(crate) fn empty_pass_wait(pace: Pace) -> Duration {
    match pace {
        Pace::Speed(factor) => Pace::wait(DEFAULT_SPACING, factor),
        Pace::Fast => Duration::from_secs(1),
    }
}
/// Read size; also the granularity of the batches handed over.
const CHUNK: usize = 64 * 1024;

/// Bytes read at a time by a paced replay: about one telegram, so that its counters (kept
/// as telegrams are decoded) run only that far ahead of what has been played.
const PACED_CHUNK: usize = 1024;

/// What keeps `path` from being replayed, said after its name ("does not exist", "is a
/// directory, ..."); `None` for a regular file.
pub fn recording_problem(path: &std::path::Path) -> Option<String> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some("does not exist".into()),
        Err(e) => Some(format!("cannot be read: {e}")),
        Ok(m) if m.is_dir() => Some("is a directory, not a recording".into()),
        Ok(m) if !m.is_file() => Some(
            "is no regular file (a replay reads a file again on every loop; read a pipe with a stdin source)".into(),
        ),
        Ok(_) => None,
    }
}

pub async fn run(cfg: &ReplayConfig, ingest: Ingest, shutdown: Shutdown) {
    match cfg.pace {
        Pace::Fast => fast(cfg, ingest, shutdown).await,
        Pace::Speed(factor) => paced(cfg, factor, ingest, shutdown).await,
    }
}

/// As fast as the sinks take it, on this task: read a chunk, decode it, hand the readings
/// to the sinks (waiting for room), and so on.
async fn fast(cfg: &ReplayConfig, mut ingest: Ingest, mut shutdown: Shutdown) {
    let size = std::fs::metadata(&cfg.path).map(|m| m.len()).unwrap_or(0);
    let progress = size > 4 * 1024 * 1024 && std::io::stderr().is_terminal();
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
        let mut any = false;
        let mut last_progress = std::time::Instant::now();
        loop {
            if *shutdown.borrow() || shutdown.has_changed().is_err() {
                return;
            }
            // A local file read of one chunk: from the page cache, microseconds.
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
            any |= !readings.is_empty();
            if !ingest.handed_over(readings, &mut shutdown).await {
                return;
            }
            // Let the sinks and the signal handler run between chunks, also on a
            // single-threaded runtime.
            tokio::task::yield_now().await;
            if progress && last_progress.elapsed() >= Duration::from_millis(250) {
                last_progress = std::time::Instant::now();
                let percent = done as f64 * 100.0 / size.max(1) as f64;
                // Written, not `eprint!`ed: a closed terminal must not stop the replay.
                let _ = write!(std::io::stderr(), "\rreplaying {}: {percent:5.1}%", cfg.path.display());
            }
        }
        let rest = ingest.finish();
        any |= !rest.is_empty();
        if !ingest.handed_over(rest, &mut shutdown).await {
            return;
        }
        if progress {
            let _ = writeln!(std::io::stderr(), "\rreplaying {}: 100.0%", cfg.path.display());
        }
        if !cfg.looped || (!any && !sleep_or_stop(empty_pass_wait(Pace::Fast), &mut shutdown).await) {
            return;
        }
    }
}

/// Spaced as the telegrams' timestamps say, divided by `factor`. Decoding stays on this
/// task: at real-time speeds it is never the bottleneck.
async fn paced(cfg: &ReplayConfig, factor: f64, mut ingest: Ingest, mut shutdown: Shutdown) {
    let mut pacer = Pacer::default();
    let mut buf = vec![0u8; PACED_CHUNK];
    loop {
        let mut file = match tokio::fs::File::open(&cfg.path).await {
            Ok(f) => f,
            Err(e) => {
                tracing::error!(source = %ingest.name, path = %cfg.path.display(), error = %e, "Cannot open the recording.");
                return;
            }
        };
        let mut any = false;
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
            any |= !readings.is_empty();
            let mut readings = readings.into_iter();
            while let Some(mut r) = readings.next() {
                let due = pacer.due(r.time_from_meter.then_some(r.time), factor);
                if !sleep_until_or_stop(due, &mut shutdown).await {
                    // Read ahead but never played: not counted as read either.
                    ingest.not_played(1 + readings.len());
                    return;
                }
                if !r.time_from_meter {
                    // A telegram without a clock is stamped when it is played, as a live
                    // one is when it arrives (not when its chunk was read).
                    r.time = jiff::Timestamp::now();
                }
                if !ingest.handed_over(vec![r], &mut shutdown).await {
                    return;
                }
            }
            if matches!(n, Ok(0)) {
                break;
            }
        }
        if !cfg.looped || (!any && !sleep_or_stop(empty_pass_wait(cfg.pace), &mut shutdown).await) {
            return;
        }
    }
}

/// The wait before each telegram of a paced replay: the time between its timestamp and the
/// one before. Where time does not go forward (a loop starting over, a meter clock set back,
/// a recording of one telegram) the last real gap is waited, or [`DEFAULT_SPACING`] when
/// there was none, never nothing: a looping replay must not run at full speed.
#[derive(Debug, Default)]
pub(crate) struct Pacer {
    previous: Option<jiff::Timestamp>,
    last_gap: Option<Duration>,
    started: bool,
    /// When the last telegram was due.
    due: Option<tokio::time::Instant>,
}

impl Pacer {
    /// When the telegram with meter time `time` is due at `factor` times real time: its gap
    /// after the one before on a schedule kept from telegram to telegram, so that the time
    /// spent reading and sending does not add to every gap. After a stall longer than the gap (a sink that held a replay up)
    /// the schedule starts again from now rather than catching up in a burst; a stall is
    /// lateness of more than the gap and more than 100 ms (the timer's own lateness, a
    /// millisecond or so, is none, however short the gaps at a high speed factor).
    pub(crate) fn due(&mut self, time: Option<jiff::Timestamp>, factor: f64) -> tokio::time::Instant {
        const STALL: Duration = Duration::from_millis(100);
        let wait = Pace::wait(self.gap(time), factor);
        let now = tokio::time::Instant::now();
        let base = match self.due {
            Some(d) if now.saturating_duration_since(d) <= wait.max(STALL) => d,
            _ => now,
        };
        let at = base + wait;
        self.due = Some(at);
        at
    }

    /// The wait before a telegram with meter time `time` (`None`: it has none).
    pub(crate) fn gap(&mut self, time: Option<jiff::Timestamp>) -> Duration {
        if !std::mem::replace(&mut self.started, true) {
            self.previous = time;
            return Duration::ZERO;
        }
        let Some(t) = time else { return DEFAULT_SPACING };
        let forward = self.previous.map(|p| t.as_millisecond() - p.as_millisecond()).filter(|&ms| ms > 0);
        self.previous = Some(t);
        match forward {
            Some(ms) => {
                let gap = Duration::from_millis(ms as u64).min(MAX_GAP);
                self.last_gap = Some(gap);
                gap
            }
            None => self.last_gap.unwrap_or(DEFAULT_SPACING),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> Option<jiff::Timestamp> {
        jiff::Timestamp::from_second(1_700_000_000 + s).ok()
    }

    #[test]
    fn a_loop_waits_a_real_gap_when_it_starts_over() {
        let mut p = Pacer::default();
        // A recording of three telegrams 2 s apart, played twice.
        let gaps: Vec<u64> = [0, 2, 4, 0, 2, 4].iter().map(|&s| p.gap(at(s)).as_secs()).collect();
        assert_eq!(gaps, [0, 2, 2, 2, 2, 2]);
        // One telegram, looped: the default spacing, not zero.
        let mut p = Pacer::default();
        let gaps: Vec<u64> = (0..3).map(|_| p.gap(at(0)).as_secs()).collect();
        assert_eq!(gaps, [0, 10, 10]);
        // No meter time: the default spacing; long gaps are cut to a minute.
        let mut p = Pacer::default();
        assert_eq!([p.gap(None), p.gap(None), p.gap(at(0)), p.gap(at(3600))].map(|d| d.as_secs()), [0, 10, 10, 60]);
    }

    #[tokio::test(start_paused = true)]
    async fn the_schedule_absorbs_the_time_spent_between_telegrams() {
        let mut p = Pacer::default();
        let start = tokio::time::Instant::now();
        assert_eq!(p.due(at(0), 1.0), start);
        // 300 ms spent reading and sending: the next one is still due 1 s after the first.
        tokio::time::advance(Duration::from_millis(300)).await;
        assert_eq!(p.due(at(1), 1.0), start + Duration::from_secs(1));
        tokio::time::sleep_until(start + Duration::from_secs(1)).await;
        // At ten times real time, a 10 s gap is 1 s.
        assert_eq!(p.due(at(11), 10.0), start + Duration::from_secs(2));
        // A stall of 5 s (longer than the gap): the schedule starts again from now.
        tokio::time::advance(Duration::from_secs(5)).await;
        let now = tokio::time::Instant::now();
        assert_eq!(p.due(at(12), 1.0), now + Duration::from_secs(1));
        // At 1000 times real time (1 ms gaps), the timer waking 1.5 ms late each time is no
        // stall: 100 telegrams still take 100 ms in all, plus the last wake-up's lateness.
        tokio::time::sleep_until(now + Duration::from_secs(1)).await;
        let start = tokio::time::Instant::now();
        let mut last = start;
        for s in 13..113 {
            last = p.due(at(s), 1000.0);
            tokio::time::sleep_until(last + Duration::from_micros(1500)).await;
        }
        assert_eq!(last, start + Duration::from_millis(100));
    }
}
