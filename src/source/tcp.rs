//! A TCP client for ser2net, ESP-link and network P1 dongles: reconnects with capped
//! exponential backoff, and treats a connection that stays silent for `read_timeout` as
//! dead. Banners and a cut-off first telegram are skipped by the framer.

use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use super::{Ingest, Shutdown, sleep_or_stop, stopped};
use crate::config::TcpConfig;

/// How long after a warning of a lost connection the next loss is only counted, when the
/// link came back in between.
const FLAP_WINDOW: Duration = Duration::from_secs(60);

pub async fn run(cfg: &TcpConfig, mut ingest: Ingest, mut shutdown: Shutdown) {
    const FIRST_DELAY: Duration = Duration::from_millis(250);
    let mut backoff = FIRST_DELAY;
    // An outage (no connection, or connections that bring no telegram: a peer that sends a
    // banner and hangs up, as ser2net does when its device is missing) is logged once, and
    // its end once, when telegrams arrive again; the reconnects in between only at debug.
    let mut outage_logged = false;
    // A link that flaps (lost again within a minute of the last warning, each time back at
    // once) is warned of once a minute, with how often it was lost in between.
    let mut last_warning: Option<tokio::time::Instant> = None;
    let mut quiet_losses = 0u32;
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
                    ingest.stop_reading(&mut shutdown).await;
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
        ingest.lost().await;
        attempts += 1;
        // A flap: this connection brought telegrams, and a loss was warned of lately.
        let flapping = ingest.telegram_since_connect() && last_warning.is_some_and(|t| t.elapsed() < FLAP_WINDOW);
        if outage_logged || flapping {
            quiet_losses += u32::from(!outage_logged);
            tracing::debug!(source = %ingest.name, address = %cfg.address, reason = %reason, "Connection lost again.");
        } else {
            if quiet_losses > 0 {
                tracing::warn!(source = %ingest.name, address = %cfg.address, reason = %reason, also_lost = quiet_losses,
                    "Connection lost; reconnecting (also lost that many times since the last warning, each time back at once).");
            } else {
                tracing::warn!(source = %ingest.name, address = %cfg.address, reason = %reason, "Connection lost; reconnecting.");
            }
            (last_warning, quiet_losses, outage_logged) = (Some(tokio::time::Instant::now()), 0, true);
        }
        if !sleep_or_stop(backoff, &mut shutdown).await {
            return;
        }
        backoff = (backoff * 2).min(cfg.max_backoff);
    }
}
