//! The service: build the sinks, start the pipeline and the sources, log counters, and on
//! shutdown (a signal, or every source ending) stop the sources and flush every sink.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::watch;

use crate::config::{Config, format_duration};
use crate::pipeline::{self, SinkTask};
use crate::source::{self, SourceCounters};

/// What a run did, for the caller and the tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RunSummary {
    pub crc_failures: u64,
    pub other_errors: u64,
    pub sinks: Vec<SinkSummary>,
    /// Per source: (name, telegrams read).
    pub sources: Vec<(String, u64)>,
    /// Why the run ended.
    pub ended: Ended,
}

/// What one sink did in a run.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SinkSummary {
    pub name: String,
    pub delivered: u64,
    pub dropped: u64,
    /// Failed delivery attempts (each retried).
    pub failed: u64,
    /// Its destination went away (a closed stdout).
    pub closed: bool,
}

impl RunSummary {
    /// Telegrams read by all sources.
    pub fn telegrams(&self) -> u64 {
        self.sources.iter().map(|s| s.1).sum()
    }
}

/// Why a run ended: the exit status depends on it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// A stop signal (or the caller's shutdown future).
    #[default]
    Stopped,
    /// Every source ended on its own (a replay without `loop`, stdin at EOF).
    SourcesDone,
    /// Every sink's destination went away.
    SinksGone,
}

/// What to say when the process is ended without waiting for the sinks (a second stop
/// signal): filled in by [`run`] once its sinks exist, called by whoever ends the process.
pub type LastWords = Arc<std::sync::Mutex<Option<Box<dyn Fn() + Send>>>>;

/// Run until `shutdown` resolves or every source has ended.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()>,
    last_words: LastWords,
) -> anyhow::Result<RunSummary> {
    let mut built = Vec::new();
    for spec in config.sinks {
        let describe = spec.config.describe();
        let (sink, health) =
            spec.config.build(&spec.name).map_err(|e| anyhow::anyhow!("sink {}: cannot start: {e}", spec.name))?;
        let name = spec.name.clone();
        tokio::spawn(async move {
            match health.await {
                Ok(()) => tracing::info!(sink = %name, "Sink ready: {describe}"),
                Err(e) => {
                    tracing::warn!(sink = %name, error = %e, "Sink health check failed; readings are kept and retried.")
                }
            }
        });
        built.push((spec.name, sink, spec.pipeline));
    }
    let (fanout, tasks) = pipeline::start(built);
    let holdings = pipeline::Holdings::of(&tasks);
    if let Ok(mut slot) = last_words.lock() {
        *slot = Some(Box::new(move || {
            for (name, held) in holdings.counts() {
                if held > 0 {
                    tracing::error!(sink = %name, undelivered = held, "Exiting without waiting: readings not delivered.");
                }
            }
        }));
    }

    let (stop_tx, stop_rx) = watch::channel(false);
    let mut sources = Vec::new();
    let mut counters = Vec::new();
    for src in config.sources {
        let c = Arc::new(SourceCounters::default());
        counters.push((src.name.clone(), c.clone()));
        sources.push(tokio::spawn(source::run(src, fanout.clone(), c, stop_rx.clone())));
    }
    let live = fanout.liveness();
    drop(fanout);

    let stats_every = config.daemon.stats_interval;
    let all_sources = futures_join_all(sources);
    tokio::pin!(all_sources);
    tokio::pin!(shutdown);
    let mut ticker = tokio::time::interval(stats_every.max(std::time::Duration::from_secs(1)));
    ticker.tick().await;
    let ended = loop {
        tokio::select! {
            _ = &mut shutdown => {
                tracing::info!("Shutting down: stopping sources, flushing sinks (at most {}; a sink stuck in a write is stopped 1s after).", format_duration(config.daemon.shutdown_timeout));
                break Ended::Stopped;
            }
            _ = &mut all_sources => break Ended::SourcesDone,
            _ = live.all_gone() => {
                tracing::warn!("Every sink's destination is gone: nothing read can be delivered; stopping.");
                break Ended::SinksGone;
            }
            _ = ticker.tick() => log_counters(&counters, &task_counters(&tasks), "Running"),
        }
    };
    let _ = stop_tx.send(true);
    if ended != Ended::SourcesDone {
        all_sources.await;
    }
    let sink_counters = task_counters(&tasks);
    let flush = pipeline::shutdown(tasks, config.daemon.shutdown_timeout);
    if ended == Ended::Stopped {
        flush.await;
    } else {
        // The sources ended by themselves: a stop signal that comes while the sinks flush
        // is still heard, so that a second one ends the process at once.
        tokio::pin!(flush);
        tokio::select! {
            _ = &mut flush => {}
            _ = &mut shutdown => {
                tracing::info!("Stop requested while the sinks flush (at most {}); a second one exits at once.", format_duration(config.daemon.shutdown_timeout));
                flush.await;
            }
        }
    }
    let summary = summarize(&counters, &sink_counters, ended);
    log_counters(&counters, &sink_counters, "Stopped");
    Ok(summary)
}

/// Await every handle (the std library has no join_all; keep the dependency list short).
async fn futures_join_all(handles: Vec<tokio::task::JoinHandle<()>>) {
    for h in handles {
        if let Err(e) = h.await {
            tracing::error!(error = %e, "Source task ended abnormally.");
        }
    }
}

/// Each sink task's name and counters, kept apart: they are read after the shutdown has taken the tasks.
fn task_counters(tasks: &[SinkTask]) -> Vec<(String, Arc<pipeline::SinkCounters>)> {
    tasks.iter().map(|t| (t.name.clone(), t.counters.clone())).collect()
}

fn log_counters(
    sources: &[(String, Arc<SourceCounters>)],
    sinks: &[(String, Arc<pipeline::SinkCounters>)],
    what: &str,
) {
    for (name, c) in sources {
        tracing::info!(
            source = %name,
            telegrams = c.telegrams.load(Ordering::Relaxed),
            crc_failures = c.crc_failures.load(Ordering::Relaxed),
            other_errors = c.other_errors.load(Ordering::Relaxed),
            line_errors = c.line_errors.load(Ordering::Relaxed),
            reconnects = c.reconnects.load(Ordering::Relaxed),
            "{what}: source counters."
        );
    }
    for (name, c) in sinks {
        let (delivered, dropped, failed) = c.snapshot();
        tracing::info!(sink = %name, delivered, dropped, failed, "{what}: sink counters.");
    }
}

fn summarize(
    sources: &[(String, Arc<SourceCounters>)],
    sinks: &[(String, Arc<pipeline::SinkCounters>)],
    ended: Ended,
) -> RunSummary {
    let sum = |f: fn(&SourceCounters) -> &std::sync::atomic::AtomicU64| {
        sources.iter().map(|(_, c)| f(c).load(Ordering::Relaxed)).sum::<u64>()
    };
    RunSummary {
        sources: sources.iter().map(|(name, c)| (name.clone(), c.telegrams.load(Ordering::Relaxed))).collect(),
        crc_failures: sum(|c| &c.crc_failures),
        other_errors: sum(|c| &c.other_errors),
        sinks: sinks
            .iter()
            .map(|(name, c)| {
                let (delivered, dropped, failed) = c.snapshot();
                let closed = c.closed.load(Ordering::Relaxed);
                SinkSummary { name: name.clone(), delivered, dropped, failed, closed }
            })
            .collect(),
        ended,
    }
}
