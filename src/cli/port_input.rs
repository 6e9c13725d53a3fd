//! `dsmrd parse /dev/ttyUSB0`: a serial port named as parse's input is read as the serial
//! source reads it (raw, at the version's line settings), and Ctrl-C ends it with the
//! summary, as the end of a file does.

use std::io::{self, IsTerminal};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::config::Parity;
use crate::source::serial::{open_problem, port_builder};
use crate::spec::VersionChoice;

/// How long one read of a port waits: how soon a stop is noticed.
pub const TICK: Duration = Duration::from_millis(250);

/// Whether `path` is a terminal device other than the user's own terminal: a serial port.
#[cfg(unix)]
pub fn is_port(path: &Path) -> bool {
    use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
    let Ok(meta) = std::fs::metadata(path) else { return false };
    if !meta.file_type().is_char_device() || path == Path::new("/dev/tty") {
        return false;
    }
    // The terminal dsmrd runs in is no meter.
    if own_terminals().contains(&meta.rdev()) {
        return false;
    }
    // Opened without waiting for a carrier and without becoming the controlling terminal,
    // only to ask.
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .is_ok_and(|f| f.is_terminal())
}

#[cfg(not(unix))]
pub fn is_port(_path: &Path) -> bool {
    false
}

/// The devices of stdin, stdout and stderr, where they are terminals.
#[cfg(unix)]
fn own_terminals() -> Vec<u64> {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let fds = [io::stdin().as_fd().try_clone_to_owned(), io::stdout().as_fd().try_clone_to_owned()];
    let fds = fds.into_iter().chain([io::stderr().as_fd().try_clone_to_owned()]);
    fds.flatten()
        .map(std::fs::File::from)
        .filter(|f| f.is_terminal())
        .filter_map(|f| f.metadata().ok())
        .map(|m| m.rdev())
        .collect()
}

/// Opens the port at `path` raw at the version's line settings, each read waiting at most
/// [`TICK`]; says so on stderr.
pub fn open(path: &Path, version: VersionChoice) -> anyhow::Result<Box<dyn io::Read>> {
    let name = path.to_str().ok_or_else(|| anyhow::anyhow!("{}: the path is not UTF-8", path.display()))?;
    let (baud, bits, even) = version.serial_defaults();
    let parity = if even { Parity::Even } else { Parity::None };
    let port = port_builder(name, (baud, bits, parity), 1)
        .timeout(TICK)
        .open()
        .map_err(|e| anyhow::anyhow!("cannot open {name}: {}", open_problem(&e, name)))?;
    let line = if even { "7E1" } else { "8N1" };
    eprintln!("dsmrd: reading the serial port {name} at {baud} baud {line}; Ctrl-C stops.");
    Ok(Box::new(port))
}

/// A flag raised by Ctrl-C (SIGINT) or SIGTERM, which then no longer end the process: the
/// reading loop sees it within a [`TICK`] and ends as at the end of a file, so the summary
/// is printed and the port closed (a pty killed while held stays exclusive to root).
pub fn stop_flag() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let raised = stop.clone();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
    if let Ok(runtime) = runtime {
        // The handlers are installed before this returns, so no signal falls between.
        let signals = runtime.block_on(async { Signals::new() });
        std::thread::spawn(move || {
            runtime.block_on(signals.any());
            raised.store(true, Ordering::SeqCst);
        });
    }
    stop
}

/// The stop signals (SIGINT, SIGTERM), installed when made.
struct Signals {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn new() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Signals { interrupt: signal(SignalKind::interrupt()).ok(), terminate: signal(SignalKind::terminate()).ok() }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    /// Waits for the first of them.
    async fn any(self) {
        #[cfg(unix)]
        {
            let (mut interrupt, mut terminate) = (self.interrupt, self.terminate);
            tokio::select! {
                _ = recv(&mut interrupt) => {}
                _ = recv(&mut terminate) => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// The next delivery of a signal; never, when it could not be installed.
#[cfg(unix)]
async fn recv(signal: &mut Option<tokio::signal::unix::Signal>) {
    match signal {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending().await,
    }
}
