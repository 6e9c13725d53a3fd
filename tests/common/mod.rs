//! Shared helpers for the integration tests: the dsmrd binary, socat, servers, readings.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn recording(name: &str) -> PathBuf {
    root().join("recordings").join(name)
}

/// A child process killed (SIGKILL) when dropped, unless it was stopped before.
pub struct Proc {
    pub child: Child,
    pub name: String,
}

impl Proc {
    /// Send SIGTERM and wait for the exit status (at most `timeout`).
    pub fn terminate(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        exit_within(&mut self.child, timeout)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Start the dsmrd binary with arguments; stderr goes to `log` when given.
pub fn dsmrd(args: &[&str], log: Option<&Path>) -> Proc {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dsmrd"));
    cmd.args(args).stdin(Stdio::null()).stdout(Stdio::null());
    match log {
        Some(p) => {
            let f = std::fs::File::create(p).expect("log file");
            cmd.stderr(f);
        }
        None => {
            cmd.stderr(Stdio::null());
        }
    }
    Proc { child: cmd.spawn().expect("start dsmrd"), name: "dsmrd".into() }
}

/// A free loopback port (bound and released; good enough for tests).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// Wait until `cond` holds, polling; false on timeout.
pub fn wait_for(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    cond()
}

/// The exit status of `child` once it has exited, waiting at most `timeout`; `None` if it
/// is still running then.
pub fn exit_within(child: &mut Child, timeout: Duration) -> Option<std::process::ExitStatus> {
    let mut status = None;
    wait_for(timeout, || {
        status = child.try_wait().ok().flatten();
        status.is_some()
    });
    status
}

/// Whether an external tool is on PATH. In CI (`CI=true`) a missing tool is a failure, not
/// a skip.
pub fn require_tool(tool: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{tool} is required in CI but is not installed (.ci/run installs it)");
        }
        eprintln!("SKIPPED: {tool} is not installed");
    }
    found
}

/// Lines of a CSV file (empty when missing).
pub fn csv_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).map(|s| s.lines().map(str::to_string).collect()).unwrap_or_default()
}

/// The value of `column` in every data row of a CSV (comma-separated, no quoting needed
/// for the numeric columns used here).
pub fn csv_column(path: &Path, column: &str) -> Vec<String> {
    let lines = csv_lines(path);
    let Some(header) = lines.first() else { return Vec::new() };
    let Some(idx) = header.split(',').position(|c| c == column) else { return Vec::new() };
    lines[1..].iter().map(|l| l.split(',').nth(idx).unwrap_or("").to_string()).collect()
}

/// A reading of one counter, `electricity_used_tariff_1` = n kWh, at 1,700,000,000 + n s:
/// for pipeline tests, which follow each reading by its number.
pub fn reading(n: i64) -> dsmrd_sinks::Reading {
    dsmrd_sinks::Reading {
        source: "meter".into(),
        meter_id: None,
        time: jiff::Timestamp::from_second(1_700_000_000 + n).expect("time"),
        time_from_meter: true,
        fields: vec![dsmrd_sinks::Field {
            name: "electricity_used_tariff_1".into(),
            value: dsmrd_sinks::FieldValue::Number(n as f64),
            unit: Some("kWh".into()),
            kind: dsmrd_sinks::FieldKind::Counter,
            time: None,
        }],
        series: vec![],
    }
}

/// Make every file `cmd`'s process writes stop growing at `bytes` (a full disk, without a
/// device file): writes past it fail with EFBIG, SIGXFSZ being ignored so that they return.
/// Only the soft limit is set: [`lift_file_size_limit`] frees the disk again.
pub fn limit_file_size(cmd: &mut Command, bytes: u64) {
    // SAFETY: between fork and exec the closure calls only setrlimit and signal, which are
    // async-signal-safe, and touches no memory of the parent's other threads.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(cmd, move || {
            let limit = libc::rlimit { rlim_cur: bytes, rlim_max: libc::RLIM_INFINITY };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0
                || libc::signal(libc::SIGXFSZ, libc::SIG_IGN) == libc::SIG_ERR
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Lift the file size limit of the running process `pid` (started with [`limit_file_size`]).
pub fn lift_file_size_limit(pid: u32) -> bool {
    let unlimited = libc::rlimit { rlim_cur: libc::RLIM_INFINITY, rlim_max: libc::RLIM_INFINITY };
    let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
    // SAFETY: prlimit reads the one `rlimit` given, which lives on this stack for the call,
    // and writes nothing (the old-limit pointer is null).
    unsafe { libc::prlimit(pid, libc::RLIMIT_FSIZE, &unlimited, std::ptr::null_mut()) == 0 }
}
