//! A stop that arrives while the daemon starts (before its shutdown future is first
//! polled) must be caught and counted as a stop, not end the process by the default
//! action, which would skip the sinks' flush. In its own test binary: the signal goes to
//! the whole process.

use std::process::Command;
use std::time::Duration;

use dsmrd::cli::run_cmd::shutdown_signal;

#[test]
fn a_stop_signal_before_the_first_poll_is_caught_and_resolves_the_shutdown() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    // As `run_config_summary` does: the future is made inside the runtime and first polled
    // only once the sources and sinks are started.
    let stop = {
        let _in_runtime = rt.enter();
        shutdown_signal(None)
    };
    let sent = Command::new("kill").args(["-TERM", &std::process::id().to_string()]).status().expect("run kill");
    assert!(sent.success(), "kill could not signal this process");
    // Had the handler been left to the first poll, the default action would have ended
    // this test's process by now; the stop is instead waiting for the future.
    std::thread::sleep(Duration::from_millis(200));
    let caught = rt.block_on(async { tokio::time::timeout(Duration::from_secs(5), stop).await });
    assert!(caught.is_ok(), "the SIGTERM sent before the first poll did not resolve the shutdown future");
}
