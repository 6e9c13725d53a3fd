//! `dsmrd parse /dev/ttyUSB0`: a serial port named as parse's input is read as the serial
//! source reads it (raw, at the version's line settings), and Ctrl-C ends it with the
//! summary, as the end of a file does.

use std::io::{self, IsTerminal};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::config::Parity;
use crate::source::serial::{default_line, open_problem, port_builder};
use crate::spec::VersionChoice;

/// How long one read of a port waits: how soon a stop is noticed.
pub const TICK: Duration = Duration::from_millis(250);

/// Whether `path` is a serial port: a terminal device that is not dsmrd's controlling
/// terminal (the user's own, however named: `/dev/tty`, a link to it, `$(tty)`). One that
/// may not be opened now (no permission, busy) counts, so that its error comes with the
/// serial source's hints.
#[cfg(unix)]
#[allow(unsafe_code)]
pub fn is_port(path: &Path) -> bool {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    if !std::fs::metadata(path).is_ok_and(|m| m.file_type().is_char_device()) {
        return false;
    }
    // Opened without waiting for a carrier and without becoming the controlling terminal,
    // only to ask.
    let probe = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY).open(path);
    match probe {
        // SAFETY: tcgetsid only reads the session of the terminal on `f`'s descriptor,
        // which `f` keeps open for the call; it fails unless that terminal is the caller's
        // controlling terminal.
        Ok(f) => f.is_terminal() && unsafe { libc::tcgetsid(f.as_raw_fd()) } == -1,
        Err(e) => e.kind() == io::ErrorKind::PermissionDenied || e.raw_os_error() == Some(libc::EBUSY),
    }
}

#[cfg(not(unix))]
pub fn is_port(_path: &Path) -> bool {
    false
}

/// Whether stdout is a pipe or socket whose reader has gone (`dsmrd parse PORT | head`, once
/// `head` has its lines): a port that stays silent brings no write that would fail and tell.
#[cfg(unix)]
#[allow(unsafe_code)]
pub fn output_gone() -> bool {
    let mut out = libc::pollfd { fd: libc::STDOUT_FILENO, events: 0, revents: 0 };
    // SAFETY: poll reads and writes only the one `pollfd` it is given, which lives on this
    // stack for the call; with a zero timeout it returns at once.
    let ready = unsafe { libc::poll(&mut out, 1, 0) };
    // A pipe's writer sees POLLERR once no reader is left, a socket's POLLHUP.
    ready == 1 && out.revents & (libc::POLLERR | libc::POLLHUP) != 0
}

#[cfg(not(unix))]
pub fn output_gone() -> bool {
    false
}

/// Opens the port at `path` raw at the version's line settings, each read waiting at most
/// [`TICK`]; says so on stderr.
pub fn open(path: &Path, version: VersionChoice) -> anyhow::Result<Box<dyn io::Read>> {
    let name = path.to_str().ok_or_else(|| anyhow::anyhow!("{}: the path is not UTF-8", path.display()))?;
    let (baud, bits, parity) = default_line(version);
    let port = port_builder(name, (baud, bits, parity), 1)
        .timeout(TICK)
        .open()
        .map_err(|e| anyhow::anyhow!("cannot open {name}: {}", open_problem(&e, name)))?;
    let line = if parity == Parity::Even { "7E1" } else { "8N1" };
    say!("dsmrd: reading the serial port {name} at {baud} baud {line}; Ctrl-C stops.");
    Ok(Box::new(port))
}

/// A flag raised by the service's stop signals (Ctrl-C, SIGTERM, SIGHUP unless under
/// `nohup`; see `run_cmd::shutdown_signal`), which then no longer end the process: the
/// reading loop sees it within a [`TICK`] and ends as at the end of a file, so the summary
/// is printed and the port closed (a pty killed while held stays exclusive to root). A
/// second signal, a second or more later, still ends the process at once (a run stuck
/// writing to a pipe nobody reads).
pub fn stop_flag() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let raised = stop.clone();
    if let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
        // The handlers are installed by this call, before any reading.
        let signal = {
            let _inside = runtime.enter();
            super::run_cmd::shutdown_signal(None)
        };
        std::thread::spawn(move || {
            runtime.block_on(async move {
                signal.await;
                raised.store(true, Ordering::SeqCst);
                // Serves the second signal.
                std::future::pending::<()>().await;
            })
        });
    }
    stop
}
