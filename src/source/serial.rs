//! A serial port (USB P1 cable): opened with the version's line settings, reopened when it
//! disappears (with backoff) or stays silent, each outage logged once.

use std::time::Duration;

use tokio_serial::{DataBits, Parity as SerialParity, SerialPortBuilder, SerialPortBuilderExt, StopBits};

use super::link::{Link, LinkKind, read_until_lost};
use super::{Ingest, Shutdown, sleep_or_stop};
use crate::config::{Parity, SerialConfig};
use crate::spec::VersionChoice;

/// Line settings: the config's, else the version's default (`default_line`).
pub fn line_settings(cfg: &SerialConfig, version: VersionChoice) -> (u32, u8, Parity) {
    let (baud, bits, parity) = default_line(version);
    (cfg.baud.unwrap_or(baud), cfg.data_bits.unwrap_or(bits), cfg.parity.unwrap_or(parity))
}

/// The version's default line settings (baud, data bits, parity): 2.2/3/Q3D 9600 7E1,
/// else 115200 8N1; `auto` assumes a modern meter.
pub(crate) fn default_line(version: VersionChoice) -> (u32, u8, Parity) {
    let (baud, bits, even) = version.serial_defaults();
    (baud, bits, if even { Parity::Even } else { Parity::None })
}

/// Why the port at `path` did not open, with what to do about the usual causes. (A path
/// that is a file is refused by the config check.)
pub(crate) fn open_problem(e: &tokio_serial::Error, path: &str) -> String {
    use std::io::ErrorKind as Io;
    use tokio_serial::ErrorKind;
    let hint = match e.kind() {
        ErrorKind::Io(Io::PermissionDenied) => {
            "; the user dsmrd runs as may not open it: add that user to the group that owns the port \
             (`dialout` on Debian and Raspberry Pi OS: `sudo usermod -aG dialout USER`), then log in again \
             or restart the service"
        }
        ErrorKind::Io(Io::NotFound) if path.starts_with("/dev/serial/by-id/") => "; is the cable plugged in?",
        ErrorKind::Io(Io::NotFound) => {
            "; is the cable plugged in? A USB adapter can come back under another name after a replug \
             (ttyUSB0 as ttyUSB1): a path under /dev/serial/by-id/ stays the same"
        }
        // What serialport makes of a port another process holds: EBUSY (TIOCEXCL), or its
        // exclusive flock refused.
        ErrorKind::NoDevice => {
            "; another program holds the port (a second dsmrd, ModemManager, a serial console or a terminal)"
        }
        _ => "",
    };
    format!("{e}{hint}")
}

/// A port at these line settings (baud, data bits, parity) and stop bits: the one way dsmrd
/// opens a serial port, for the source and for `parse`.
pub(crate) fn port_builder(path: &str, (baud, bits, parity): (u32, u8, Parity), stop_bits: u8) -> SerialPortBuilder {
    tokio_serial::new(path, baud)
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
        .stop_bits(if stop_bits == 2 { StopBits::Two } else { StopBits::One })
}

pub async fn run(cfg: &SerialConfig, version: VersionChoice, mut ingest: Ingest, mut shutdown: Shutdown) {
    let (baud, bits, parity) = line_settings(cfg, version);
    let mut link =
        Link::new(LinkKind::Serial, &ingest.name, &cfg.path, Duration::from_millis(500), Duration::from_secs(30));
    loop {
        let port = port_builder(&cfg.path, (baud, bits, parity), cfg.stop_bits).open_native_async();
        let port = match port {
            Ok(p) => p,
            Err(e) => {
                if !sleep_or_stop(link.open_failed(&open_problem(&e, &cfg.path)).1, &mut shutdown).await {
                    return;
                }
                continue;
            }
        };
        if link.opened(&mut ingest) {
            tracing::info!(source = %ingest.name, path = %cfg.path, baud, bits, ?parity, "Serial port open.");
        }
        if !read_until_lost(port, cfg.read_timeout, &mut link, &mut ingest, &mut shutdown).await {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_usual_reasons_a_port_does_not_open_say_what_to_do() {
        use std::io::ErrorKind as Io;
        use tokio_serial::{Error, ErrorKind};
        let denied =
            open_problem(&Error::new(ErrorKind::Io(Io::PermissionDenied), "Permission denied"), "/dev/ttyUSB0");
        assert!(denied.starts_with("Permission denied; ") && denied.contains("usermod -aG dialout"), "{denied}");
        let missing = Error::new(ErrorKind::Io(Io::NotFound), "No such file or directory");
        let gone = open_problem(&missing, "/dev/ttyUSB0");
        assert!(gone.contains("a path under /dev/serial/by-id/ stays the same"), "{gone}");
        let by_id = open_problem(&missing, "/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A10K1ABC-if00-port0");
        assert_eq!(by_id, "No such file or directory; is the cable plugged in?");
        let busy = open_problem(
            &Error::new(ErrorKind::NoDevice, "Unable to acquire exclusive lock on serial port"),
            "/dev/ttyUSB0",
        );
        assert!(busy.contains("another program holds the port"), "{busy}");
        assert_eq!(open_problem(&Error::new(ErrorKind::Unknown, "Not a typewriter"), "/dev/null"), "Not a typewriter");
    }
}
