//! Sources only move bytes and know how to reconnect; [`Ingest`] turns those bytes into
//! readings for the pipeline, counting and (rate-limited) logging what was rejected.

mod link;
pub mod replay;
pub mod serial;
pub mod stdin;
pub mod tcp;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::config::{DecodeSettings, SourceConfig, SourceKind};
use crate::decoder::{DecodeError, Decoded, Decoder, DecoderOptions, SettingsSetBy};
use crate::frame::Reject;
use crate::pipeline::Fanout;
use crate::readings::{ReadingContext, to_reading};
use dsmrd_sinks::Reading;

/// Counters of one source, readable while it runs.
#[derive(Debug, Default)]
pub struct SourceCounters {
    pub telegrams: AtomicU64,
    pub crc_failures: AtomicU64,
    pub other_errors: AtomicU64,
    pub line_errors: AtomicU64,
    pub reconnects: AtomicU64,
}

/// A stop signal shared by all sources: `true` means stop.
pub type Shutdown = watch::Receiver<bool>;

/// Wait until the shutdown signal is raised (or its sender is gone).
pub async fn stopped(shutdown: &mut Shutdown) {
    while !*shutdown.borrow() {
        if shutdown.changed().await.is_err() {
            return;
        }
    }
}

/// [`sleep_or_stop`] until an instant.
pub async fn sleep_until_or_stop(at: tokio::time::Instant, shutdown: &mut Shutdown) -> bool {
    tokio::select! {
        _ = tokio::time::sleep_until(at) => true,
        _ = stopped(shutdown) => false,
    }
}

/// Sleep, unless shutdown comes first; returns false on shutdown.
pub async fn sleep_or_stop(d: Duration, shutdown: &mut Shutdown) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => true,
        _ = stopped(shutdown) => false,
    }
}

/// At most this many decode errors are logged one by one per minute; the rest are summed.
const ERRORS_PER_MINUTE: u32 = 5;

/// Rate-limited logging of rejected telegrams (a bad cable can produce thousands).
struct ErrorLog {
    window_start: Instant,
    logged: u32,
    suppressed: u64,
}

impl ErrorLog {
    fn new() -> ErrorLog {
        ErrorLog { window_start: Instant::now(), logged: 0, suppressed: 0 }
    }

    fn report(&mut self, source: &str, error: &DecodeError) {
        self.tick(source);
        if self.logged < ERRORS_PER_MINUTE {
            self.logged += 1;
            tracing::warn!(source, error_code = error.code(), "Telegram rejected: {error}");
        } else {
            self.suppressed += 1;
        }
    }

    /// Close the minute when it has passed: the rejections not logged in it are summed
    /// up now, whether or not more follow.
    fn tick(&mut self, source: &str) {
        let now = Instant::now();
        if now.duration_since(self.window_start) >= Duration::from_secs(60) {
            self.flush(source);
            self.window_start = now;
            self.logged = 0;
        }
    }

    fn flush(&mut self, source: &str) {
        if self.suppressed > 0 {
            tracing::warn!(
                source,
                suppressed = self.suppressed,
                "{} more telegrams rejected in the last minute (not logged one by one; the usual causes: a bad cable, wrong line settings, a damaged capture)",
                self.suppressed
            );
            self.suppressed = 0;
        }
    }
}

impl Drop for Ingest {
    fn drop(&mut self) {
        // However the source ends (stopped, or its stream closed), no held-back count is lost.
        self.flush_errors();
    }
}

/// Bytes → readings → pipeline, for one source.
pub struct Ingest {
    pub name: String,
    decoder: Decoder,
    cx: ReadingContext,
    fanout: Fanout,
    /// Wait for queue room instead of dropping (replays).
    wait: bool,
    pub counters: Arc<SourceCounters>,
    errors: ErrorLog,
    /// True until the first telegram after a (re)connect: until then the link is not known
    /// to work.
    fresh: bool,
    /// True until the first telegram or the first cut-off one after a (re)connect: a
    /// telegram cut off by the connect is expected then and only logged at debug level;
    /// later ones are reported.
    forgive_cut: bool,
    pending: Vec<Reading>,
    /// The hint on wrong line settings was logged.
    hinted: bool,
}

impl Ingest {
    pub fn new(
        name: &str,
        decode: &DecodeSettings,
        fanout: Fanout,
        wait: bool,
        counters: Arc<SourceCounters>,
    ) -> Ingest {
        let opts = DecoderOptions {
            version: decode.version,
            check_crc: decode.check_crc,
            keys: decode.keys.clone(),
            max_telegram_bytes: decode.max_telegram_bytes,
        };
        Ingest {
            name: name.to_string(),
            decoder: Decoder::new(opts),
            cx: ReadingContext::new(name, decode.timezone.clone()),
            fanout,
            wait,
            counters,
            errors: ErrorLog::new(),
            fresh: true,
            forgive_cut: true,
            pending: Vec::new(),
            hinted: false,
        }
    }

    /// Decode a chunk into readings without publishing them (replay paces them itself).
    pub fn decode(&mut self, chunk: &[u8]) -> Vec<Reading> {
        let Ingest { name, decoder, cx, counters, errors, fresh, forgive_cut, pending, .. } = self;
        let now = Timestamp::now();
        decoder.feed(chunk, |d| handle(d, name, cx, counters, errors, (fresh, forgive_cut), pending, now));
        if !self.hinted {
            if let Some(hint) = decoder.stats().line_settings_hint(SettingsSetBy::Config) {
                tracing::warn!(source = %name, "{hint}.");
                self.hinted = true;
            }
        }
        self.errors.tick(&self.name);
        std::mem::take(&mut self.pending)
    }

    /// The stream ended: complete what is buffered.
    pub fn finish(&mut self) -> Vec<Reading> {
        let Ingest { name, decoder, cx, counters, errors, fresh, forgive_cut, pending, .. } = self;
        let now = Timestamp::now();
        decoder.finish(|d| handle(d, name, cx, counters, errors, (fresh, forgive_cut), pending, now));
        // Held-back rejections are summed up when their minute is over or the source
        // ends (see `Drop`), not per pass of a looping replay.
        std::mem::take(pending)
    }

    /// [`Ingest::finish`] for input a stop cut off: a CRC the stop cut short is no error of
    /// the meter's, and is not reported.
    pub fn finish_at_stop(&mut self) -> Vec<Reading> {
        let Ingest { name, decoder, cx, counters, errors, fresh, forgive_cut, pending, .. } = self;
        let now = Timestamp::now();
        decoder.finish(|d| match d {
            Decoded::Error { error: DecodeError::Frame(Reject::CrcCut { at_end: true, .. }), .. } => {
                tracing::debug!(source = %name, "Telegram cut inside its CRC by the stop; not read.");
            }
            d => handle(d, name, cx, counters, errors, (fresh, forgive_cut), pending, now),
        });
        std::mem::take(pending)
    }

    /// The input broke off (a connection lost, a port gone, a stop): a telegram that lacks
    /// only its last line end is read; one cut before that, inside its CRC field too (a CRC
    /// cut off could pass as none), is dropped without a word, as reconnecting forgives it.
    fn cut_off(&mut self) -> Vec<Reading> {
        if self.decoder.only_line_end_missing() { self.finish_at_stop() } else { Vec::new() }
    }

    /// The connection or port was lost: publish what `cut_off` still reads.
    pub async fn lost(&mut self) {
        let rest = self.cut_off();
        self.publish_all(rest).await;
    }

    /// The source stops reading: hand over what `cut_off` still reads.
    pub async fn stop_reading(&mut self, shutdown: &mut Shutdown) {
        let rest = self.cut_off();
        self.handed_over(rest, shutdown).await;
    }

    /// Decode a chunk and publish its readings.
    pub async fn feed(&mut self, chunk: &[u8]) {
        let readings = self.decode(chunk);
        self.publish_all(readings).await;
    }

    /// Publish several readings in one go.
    pub async fn publish_all(&self, readings: Vec<Reading>) {
        self.fanout.publish_all(readings, self.wait).await;
    }

    /// Telegrams decoded ahead of their time by a paced replay that stopped before it
    /// played them: taken off the count, so that the counters add up to what was played.
    pub fn not_played(&self, telegrams: usize) {
        self.counters.telegrams.fetch_sub(telegrams as u64, Ordering::Relaxed);
    }

    /// Publish several readings, waiting for room (in a source that waits) until a stop:
    /// then the rest go as from a live source, queued or counted as dropped, never lost
    /// without a count. False when the stop came.
    pub async fn handed_over(&self, readings: Vec<Reading>, shutdown: &mut Shutdown) -> bool {
        self.fanout.publish_all_until(readings, self.wait, stopped(shutdown)).await;
        !*shutdown.borrow()
    }

    /// A sum of the rejections not yet logged, when there are any (a source that is
    /// stopped says what it held back).
    pub fn flush_errors(&mut self) {
        self.errors.flush(&self.name);
    }

    /// Whether a partial telegram is buffered.
    pub fn in_telegram(&self) -> bool {
        self.decoder.in_telegram()
    }

    /// Whether a telegram has arrived since the last (re)connect: the link works.
    pub fn telegram_since_connect(&self) -> bool {
        !self.fresh
    }

    /// The connection was reopened: drop any partial telegram (what reached its `!` was
    /// read at the loss, `cut_off`); the first one cut short is forgiven.
    pub fn reconnected(&mut self) {
        self.decoder.reset();
        self.fresh = true;
        self.forgive_cut = true;
        self.counters.reconnects.fetch_add(1, Ordering::Relaxed);
    }
}

#[allow(clippy::too_many_arguments)]
fn handle(
    d: Decoded<'_>,
    name: &str,
    cx: &ReadingContext,
    counters: &SourceCounters,
    errors: &mut ErrorLog,
    (fresh, forgive_cut): (&mut bool, &mut bool),
    pending: &mut Vec<Reading>,
    now: Timestamp,
) {
    match d {
        Decoded::Telegram(t) => {
            (*fresh, *forgive_cut) = (false, false);
            counters.telegrams.fetch_add(1, Ordering::Relaxed);
            if !t.errors.is_empty() {
                counters.line_errors.fetch_add(t.errors.len() as u64, Ordering::Relaxed);
                for e in &t.errors {
                    tracing::debug!(source = name, line = e.line, text = e.text, "Line skipped: {}", e.reason);
                }
            }
            pending.push(to_reading(&t, cx, now));
        }
        Decoded::Error { error, .. } => {
            if error.is_crc() {
                counters.crc_failures.fetch_add(1, Ordering::Relaxed);
            } else {
                counters.other_errors.fetch_add(1, Ordering::Relaxed);
            }
            if *forgive_cut && matches!(error, DecodeError::Frame(Reject::Truncated { .. })) {
                *forgive_cut = false;
                tracing::debug!(source = name, "Partial telegram at the start of the stream skipped.");
            } else {
                errors.report(name, &error);
            }
        }
    }
}

/// Run one source until it ends (replay, stdin) or shutdown.
pub async fn run(cfg: SourceConfig, fanout: Fanout, counters: Arc<SourceCounters>, shutdown: Shutdown) {
    // A file or a pipe can wait for the sinks; a meter cannot.
    let wait = matches!(cfg.kind, SourceKind::Replay(_) | SourceKind::Stdin);
    let ingest = Ingest::new(&cfg.name, &cfg.decode, fanout, wait, counters);
    match &cfg.kind {
        SourceKind::Serial(s) => serial::run(s, cfg.decode.version, ingest, shutdown).await,
        SourceKind::Tcp(t) => tcp::run(t, ingest, shutdown).await,
        SourceKind::Replay(r) => replay::run(r, ingest, shutdown).await,
        SourceKind::Stdin => stdin::run(ingest, shutdown).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejections_are_logged_one_by_one_again_in_a_new_minute() {
        let mut log = ErrorLog::new();
        let error = DecodeError::Frame(Reject::CrcMismatch { sent: 1, computed: 2 });
        for _ in 0..ERRORS_PER_MINUTE + 2 {
            log.report("meter", &error);
        }
        assert_eq!((log.logged, log.suppressed), (ERRORS_PER_MINUTE, 2));
        // A minute later the two held back are summed up and the next one is logged.
        log.window_start = Instant::now().checked_sub(Duration::from_secs(61)).expect("a minute of uptime");
        log.report("meter", &error);
        assert_eq!((log.logged, log.suppressed), (1, 0));
    }
}
