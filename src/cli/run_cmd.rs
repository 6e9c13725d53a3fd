//! `dsmrd run --config FILE` (or `dsmrd run FILE`): the service, until SIGINT/SIGTERM (then every sink is
//! flushed) or until every source has ended (a non-looping replay, stdin).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::config;
use crate::daemon;

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("configuration").required(true).args(["config", "file"]))]
pub struct RunArgs {
    /// The configuration file (TOML).
    #[arg(long, short, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The configuration file, given without `--config`.
    #[arg(value_name = "CONFIG")]
    pub file: Option<PathBuf>,
}

pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    // clap makes sure one of the two is given.
    let Some(path) = args.config.or(args.file) else {
        anyhow::bail!("no configuration file given: dsmrd run --config FILE");
    };
    let cfg = match config::load(&path) {
        Ok(c) => c,
        Err(errors) => {
            for e in &errors.0 {
                say!("dsmrd: config error: {e}");
            }
            return Ok(ExitCode::from(78));
        }
    };
    run_config(cfg)
}

/// Run a validated configuration on a fresh runtime. A run whose sources all ended on their
/// own (a replay, stdin at EOF), one of them without a telegram or a sink having lost
/// readings to a fault (not to a reader that closed its stdout), exits 1, so that a script
/// or CI job replaying a capture into a file notices; a stop by signal exits 0 as a service
/// manager expects, with the loss in the log.
pub fn run_config(cfg: config::Config) -> anyhow::Result<ExitCode> {
    let summary = run_config_summary(cfg)?;
    let lost: Vec<String> = summary
        .sinks
        .iter()
        .filter(|s| s.dropped > 0 && !s.closed)
        .map(|s| format!("sink {} lost {}", s.name, s.dropped))
        .collect();
    let empty: Vec<&str> = summary.sources.iter().filter(|s| s.1 == 0).map(|s| s.0.as_str()).collect();
    if summary.ended == daemon::Ended::SourcesDone && !empty.is_empty() {
        // As `parse` and `replay`: an input with no telegram (a wrong key, a wrong file),
        // also when another source read well.
        say!("dsmrd: the input ended without one valid telegram (source {})", empty.join(", "));
        return Ok(ExitCode::from(1));
    }
    if summary.ended == daemon::Ended::SourcesDone && !lost.is_empty() {
        say!("dsmrd: the input ended, but readings were not delivered: {}", lost.join(", "));
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// [`run_config`], giving what the run did.
pub fn run_config_summary(cfg: config::Config) -> anyhow::Result<daemon::RunSummary> {
    // One thread: a meter sends a telegram a second, and a fast replay spends less CPU for
    // the same wall time when readings stay on one core. Nothing blocks it: the slow calls
    // (every CSV file call, stdout, file reads of a paced replay) run on tokio's blocking pool.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let last_words = daemon::LastWords::default();
    let stop = {
        let _in_runtime = rt.enter();
        shutdown_signal(Some(last_words.clone()))
    };
    let summary = rt.block_on(daemon::run(cfg, stop, last_words));
    // A write that never returns (stdout into a pipe nobody reads) holds a thread of the
    // blocking pool; its sink was given up at the shutdown timeout, and so is the thread.
    rt.shutdown_timeout(std::time::Duration::from_secs(1));
    let summary = summary?;
    let undelivered: u64 = summary.sinks.iter().map(|s| s.dropped).sum();
    if undelivered > 0 {
        tracing::warn!(undelivered, "Some readings were not delivered (see the sink counters above).");
    }
    Ok(summary)
}

/// Whether SIGHUP was set to be ignored when dsmrd started (`nohup dsmrd run ...`).
#[cfg(unix)]
#[allow(unsafe_code)]
fn hangup_ignored() -> bool {
    // SAFETY: sigaction with a null new action only reads the current disposition into
    // `old`, a zeroed sigaction this function owns.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(libc::SIGHUP, std::ptr::null(), &mut old) == 0 && old.sa_sigaction == libc::SIG_IGN
    }
}

/// Resolves on SIGINT, SIGTERM or SIGHUP (a closed terminal: flushed like a stop, not
/// killed). A second SIGINT or SIGTERM, a second or more later, while the sinks flush ends
/// the process at once. The handlers are installed when this is called (inside a runtime),
/// not when the future is first polled: a stop that comes while sinks and sources start
/// is a stop too, not the default action that ends the process without a flush.
///
/// `last_words` is said before such an exit (what the sinks leave undelivered).
pub fn shutdown_signal(last_words: Option<daemon::LastWords>) -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let handlers = {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        // Under `nohup` SIGHUP is ignored, and stays so: handling it would stop the service.
        let hup = if hangup_ignored() { None } else { signal(SignalKind::hangup()).ok() };
        (term, int, hup)
    };
    async move {
        #[cfg(unix)]
        {
            let (term, int, hup) = handlers;
            match (term, int) {
                (Ok(mut term), Ok(mut int)) => {
                    let hangup = async {
                        match hup {
                            Some(mut h) => {
                                h.recv().await;
                            }
                            None => std::future::pending::<()>().await,
                        }
                    };
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                        _ = hangup => {}
                    }
                    let first = tokio::time::Instant::now();
                    tokio::spawn(async move {
                        loop {
                            tokio::select! {
                                _ = term.recv() => {}
                                _ = int.recv() => {}
                            }
                            // One stop can arrive twice (`timeout` signals the process and
                            // then its group): only a signal a moment later is a second request.
                            if first.elapsed() >= std::time::Duration::from_secs(1) {
                                break;
                            }
                        }
                        tracing::warn!("Second stop signal: exiting without waiting for the sinks.");
                        if let Some(Ok(say)) = last_words.as_ref().map(|w| w.lock()) {
                            if let Some(say) = say.as_ref() {
                                say();
                            }
                        }
                        std::process::exit(130);
                    });
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
