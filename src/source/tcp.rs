//! A TCP client for ser2net, ESP-link and network P1 dongles: reconnects with capped
//! exponential backoff, and treats a connection that stays silent for `read_timeout` as
//! dead. Banners and a cut-off first telegram are skipped by the framer.

use std::time::Duration;

use tokio::net::TcpStream;

use super::link::{Link, LinkKind, read_until_lost};
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
        let stream = match failure {
            Ok(s) => s,
            Err(error) => {
                if !sleep_or_stop(link.open_failed(&error).1, &mut shutdown).await {
                    return;
                }
                continue;
            }
        };
        if link.opened(&mut ingest) {
            tracing::info!(source = %ingest.name, address = %cfg.address, "Connected.");
        }
        if !read_until_lost(stream, cfg.read_timeout, &mut link, &mut ingest, &mut shutdown).await {
            return;
        }
    }
}
