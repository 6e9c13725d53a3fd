//! A serial port (USB P1 cable): opened with the version's line settings, reopened with
//! backoff when it disappears, logged once per outage.

use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio_serial::{DataBits, Parity as SerialParity, SerialPortBuilderExt, StopBits};

use super::{Ingest, Shutdown, sleep_or_stop, stopped};
use crate::config::{Parity, SerialConfig};
use crate::spec::{Version, VersionChoice};

/// Line settings: the config's, else the version's default (2.2/3: 9600 7E1, else
/// 115200 8N1; `auto` assumes a modern meter).
pub fn line_settings(cfg: &SerialConfig, version: VersionChoice) -> (u32, u8, Parity) {
    let (baud, bits, even) = match version {
        VersionChoice::Fixed(v) => v.serial_defaults(),
        VersionChoice::Auto => Version::V5.serial_defaults(),
    };
    let parity = if even { Parity::Even } else { Parity::None };
    (cfg.baud.unwrap_or(baud), cfg.data_bits.unwrap_or(bits), cfg.parity.unwrap_or(parity))
}

pub async fn run(cfg: &SerialConfig, version: VersionChoice, mut ingest: Ingest, mut shutdown: Shutdown) {
    let (baud, bits, parity) = line_settings(cfg, version);
    let mut backoff = Duration::from_millis(500);
    let mut outage = false;
    let mut first = true;
    loop {
        let port = tokio_serial::new(&cfg.path, baud)
            .data_bits(match bits {
                5 => DataBits::Five,
                6 => DataBits::Six,
                7 => DataBits::Seven,
                _ => DataBits::Eight,
            })
            .parity(match parity {
                Parity::None => SerialParity::None,
                Parity::Even => SerialParity::Even,
                Parity::Odd => SerialParity::Odd,
            })
            .stop_bits(if cfg.stop_bits == 2 { StopBits::Two } else { StopBits::One })
            .open_native_async();
        let mut port = match port {
            Ok(p) => p,
            Err(e) => {
                if !outage {
                    tracing::warn!(source = %ingest.name, path = %cfg.path, error = %e,
                        "Cannot open the serial port; retrying with backoff until it is back.");
                    outage = true;
                }
                if !sleep_or_stop(backoff, &mut shutdown).await {
                    return;
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
                continue;
            }
        };
        if first {
            tracing::info!(source = %ingest.name, path = %cfg.path, baud, bits, ?parity, "Serial port open.");
        } else if outage {
            tracing::info!(source = %ingest.name, path = %cfg.path, "Serial port is back.");
        }
        if !first {
            ingest.reconnected();
        }
        first = false;
        backoff = Duration::from_millis(500);
        let mut buf = vec![0u8; 4096];
        loop {
            let read = tokio::select! {
                r = port.read(&mut buf) => r,
                _ = stopped(&mut shutdown) => {
                    ingest.stop_reading(&mut shutdown).await;
                    return;
                }
            };
            match read {
                Ok(0) => {
                    tracing::warn!(source = %ingest.name, path = %cfg.path, "Serial port closed; reopening.");
                    outage = true;
                    break;
                }
                Ok(n) => ingest.feed(&buf[..n]).await,
                Err(e) => {
                    tracing::warn!(source = %ingest.name, path = %cfg.path, error = %e,
                        "Serial port lost; reopening with backoff.");
                    outage = true;
                    break;
                }
            }
        }
        // A telegram whose line end the loss took is still read.
        ingest.lost().await;
        if !sleep_or_stop(backoff, &mut shutdown).await {
            return;
        }
    }
}
