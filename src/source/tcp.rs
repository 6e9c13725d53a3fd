//! A TCP client for ser2net, ESP-link and network P1 dongles: reconnects with capped
//! exponential backoff, and treats a connection that stays silent for `read_timeout` as
//! dead. Banners and a cut-off first telegram are skipped by the framer.

use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use super::link::{Link, LinkKind};
use super::{Ingest, Shutdown, sleep_or_stop, stopped};
use crate::config::TcpConfig;

pub async fn run(cfg: &TcpConfig, mut ingest: Ingest, mut shutdown: Shutdown) {
    let mut link = Link::new(LinkKind::Tcp, &ingest.name, &cfg.address, Duration::from_millis(250), cfg.max_backoff);
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
                if !sleep_or_stop(link.open_failed(&error), &mut shutdown).await {
                    return;
                }
                continue;
            }
        };
        if link.opened() {
            ingest.reconnected();
        } else {
            tracing::info!(source = %ingest.name, address = %cfg.address, "Connected.");
        }
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
                        link.telegrams_arrive();
                    }
                }
                Ok(Err(e)) => break e.to_string(),
                Err(_) => break format!("no data for {:?}", cfg.read_timeout),
            }
        };
        // A telegram whose line end the loss took is still read.
        ingest.lost().await;
        let (_, delay) = link.lost(&reason, ingest.telegram_since_connect());
        if !sleep_or_stop(delay, &mut shutdown).await {
            return;
        }
    }
}
