//! Reads a pipe on stdin (`socat ... | dsmrd run`, `cat capture | dsmrd run`), until it
//! closes. A pipe can wait: like a replay, it waits for room in the sinks' queues (but not
//! for a failing sink's) instead of dropping readings, and a stop ends the wait.

use tokio::io::AsyncReadExt;

use super::{Ingest, Shutdown, stopped};

pub async fn run(mut ingest: Ingest, mut shutdown: Shutdown) {
    let mut stdin = tokio::io::stdin();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = tokio::select! {
            r = stdin.read(&mut buf) => r,
            _ = stopped(&mut shutdown) => {
                // Stopped between telegrams or within one: the rest of it would have come,
                // so a telegram in progress is no error of the meter's. One that lacks only
                // its last line end is read.
                tracing::debug!(source = %ingest.name, in_telegram = ingest.in_telegram(), "Stopped reading stdin.");
                ingest.stop_reading(&mut shutdown).await;
                return;
            }
        };
        match n {
            Ok(0) => break,
            Ok(n) => {
                let readings = ingest.decode(&buf[..n]);
                if !ingest.handed_over(readings, &mut shutdown).await {
                    return;
                }
            }
            Err(e) => {
                tracing::error!(source = %ingest.name, error = %e, "Cannot read stdin.");
                break;
            }
        }
    }
    let rest = ingest.finish();
    ingest.handed_over(rest, &mut shutdown).await;
    tracing::info!(source = %ingest.name, "stdin closed.");
}
