//! Reads a pipe on stdin (`socat ... | dsmrd run`), until it closes.

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
                // so a telegram in progress is no error of the meter's. One that reached its
                // `!` is read as it is (its CRC checked as far as it came).
                tracing::debug!(source = %ingest.name, in_telegram = ingest.in_telegram(), "Stopped reading stdin.");
                if ingest.at_end_marker() {
                    let rest = ingest.finish_at_stop();
                    ingest.publish_all(rest).await;
                }
                return;
            }
        };
        match n {
            Ok(0) => break,
            Ok(n) => ingest.feed(&buf[..n]).await,
            Err(e) => {
                tracing::error!(source = %ingest.name, error = %e, "Cannot read stdin.");
                break;
            }
        }
    }
    let rest = ingest.finish();
    ingest.publish_all(rest).await;
    tracing::info!(source = %ingest.name, "stdin closed.");
}
