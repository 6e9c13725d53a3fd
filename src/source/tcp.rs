//! A TCP client for ser2net, ESP-link and network P1 dongles: reconnects with capped
//! exponential backoff, and treats a connection that stays silent for `read_timeout` as
//! dead. Banners and a cut-off first telegram are skipped by the framer.

use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use super::{Ingest, Shutdown, sleep_or_stop, stopped};
use crate::config::TcpConfig;

pub async fn run(cfg: &TcpConfig, mut ingest: Ingest, mut shutdown: Shutdown) {
    const FIRST_DELAY: Duration = Duration::from_millis(250);
    let mut backoff = FIRST_DELAY;
    // An outage (no connection, or connections that bring no telegram: a peer that sends a
    // banner and hangs up, as ser2net does when its device is missing) is logged once, and
    // its end once, when telegrams arrive again; the reconnects in between only at debug.
    let mut outage_logged = false;
    let mut attempts = 0u32;
    let mut ever_connected = false;
    loop {
        let connect = tokio::time::timeout(cfg.connect_timeout, TcpStream::connect(&cfg.address));
        let stream = tokio::select! {
            r = connect => r,
            _ = stopped(&mut shutdown) => return,
        };
        let failure = match stream {
            Ok(Ok(s)) => Ok(s),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {:?}", cfg.connect_timeout)),
        };
        let mut stream = match failure {
            Ok(s) => s,
            Err(error) => {
                attempts += 1;
                if !outage_logged {
                    tracing::warn!(source = %ingest.name, address = %cfg.address, %error,
                        "Cannot connect; retrying with backoff.");
                    outage_logged = true;
                }
                if !sleep_or_stop(backoff, &mut shutdown).await {
                    return;
                }
                backoff = (backoff * 2).min(cfg.max_backoff);
                continue;
            }
        };
        if ever_connected {
            ingest.reconnected();
        }
        if !ever_connected {
            tracing::info!(source = %ingest.name, address = %cfg.address, "Connected.");
        } else {
            tracing::debug!(source = %ingest.name, address = %cfg.address, attempts, "Connected.");
        }
        ever_connected = true;
        let mut buf = vec![0u8; 16 * 1024];
        let reason = loop {
            let read = tokio::select! {
                r = tokio::time::timeout(cfg.read_timeout, stream.read(&mut buf)) => r,
                _ = stopped(&mut shutdown) => {
                    let rest = ingest.cut_off();
                    ingest.handed_over(rest, &mut shutdown).await;
                    return;
                }
            };
            match read {
                Ok(Ok(0)) => break "the peer closed the connection".to_string(),
                Ok(Ok(n)) => {
                    ingest.feed(&buf[..n]).await;
                    // Only telegrams prove the link: a banner alone does not.
                    if ingest.telegram_since_connect() {
                        backoff = FIRST_DELAY;
                        if outage_logged {
                            tracing::info!(source = %ingest.name, address = %cfg.address, attempts,
                                "Connected; telegrams arrive again.");
                            outage_logged = false;
                        }
                        attempts = 0;
                    }
                }
                Ok(Err(e)) => break e.to_string(),
                Err(_) => break format!("no data for {:?}", cfg.read_timeout),
            }
        };
        // A telegram whose line end the loss took is still read.
        let rest = ingest.cut_off();
        ingest.publish_all(rest).await;
        attempts += 1;
        if outage_logged {
            tracing::debug!(source = %ingest.name, address = %cfg.address, reason = %reason, "Connection lost again.");
        } else {
            tracing::warn!(source = %ingest.name, address = %cfg.address, reason = %reason, "Connection lost; reconnecting.");
            outage_logged = true;
        }
        if !sleep_or_stop(backoff, &mut shutdown).await {
            return;
        }
        backoff = (backoff * 2).min(cfg.max_backoff);
    }
}
