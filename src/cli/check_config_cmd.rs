//! `dsmrd check-config FILE`: validate a configuration and print the resolved pipeline,
//! with secrets masked.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::config::{self, Aggregate, Config, OnFull, Pace, SourceKind, format_duration};
use crate::source::serial::line_settings;

#[derive(Debug, Args)]
pub struct CheckConfigArgs {
    /// The configuration file (TOML).
    pub file: PathBuf,
}

pub fn run(args: CheckConfigArgs) -> anyhow::Result<ExitCode> {
    match config::load(&args.file) {
        Ok(cfg) => {
            let _ = std::io::Write::write_all(&mut std::io::stdout(), describe(&cfg).as_bytes());
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            for e in &errors.0 {
                say!("dsmrd: config error: {e}");
            }
            Ok(ExitCode::from(78))
        }
    }
}

/// The resolved pipeline, one line per source and sink and one for the daemon's settings;
/// no secret is ever printed.
pub fn describe(cfg: &Config) -> String {
    let mut out = format!("{}: OK\n", cfg.file.display());
    for s in &cfg.sources {
        let what = match &s.kind {
            SourceKind::Serial(c) => {
                let (baud, bits, parity) = line_settings(c, s.decode.version);
                let p = match parity {
                    config::Parity::None => 'N',
                    config::Parity::Even => 'E',
                    config::Parity::Odd => 'O',
                };
                format!(
                    "serial {} {baud} {bits}{p}{} (read timeout {})",
                    c.path,
                    c.stop_bits,
                    format_duration(c.read_timeout)
                )
            }
            SourceKind::Tcp(c) => format!(
                "tcp {} (connect timeout {}, read timeout {}, backoff up to {})",
                c.address,
                format_duration(c.connect_timeout),
                format_duration(c.read_timeout),
                format_duration(c.max_backoff)
            ),
            SourceKind::Replay(c) => {
                let pace = match c.pace {
                    Pace::Fast => "fast".to_string(),
                    Pace::Speed(1.0) => "realtime".to_string(),
                    Pace::Speed(f) => format!("{f}x"),
                };
                format!("replay {} pace {pace}{}", c.path.display(), if c.looped { " loop" } else { "" })
            }
            SourceKind::Stdin => "stdin".to_string(),
        };
        let version = match s.decode.version {
            crate::spec::VersionChoice::Auto => "auto".to_string(),
            crate::spec::VersionChoice::Fixed(v) => v.code().to_string(),
        };
        let key = if s.decode.keys.is_some() { ", decryption_key ****" } else { "" };
        let crc = if s.decode.check_crc { "" } else { ", CRC check OFF" };
        out.push_str(&format!(
            "source {}: {what}; dsmr_version {version}, timezone {}{key}{crc}\n",
            s.name, s.decode.timezone_name
        ));
    }
    for s in &cfg.sinks {
        let p = &s.pipeline;
        let every = if p.interval.is_zero() {
            "every telegram".to_string()
        } else {
            let agg = match p.aggregate {
                Aggregate::Last => "last",
                Aggregate::Mean => "mean",
            };
            format!("every {} ({agg})", format_duration(p.interval))
        };
        let full = match p.on_full {
            OnFull::DropOldest => "drop oldest",
            OnFull::DropNewest => "drop newest",
        };
        out.push_str(&format!(
            "sink {}: {}; {every}; queue {} ({full} when full), retry backoff up to {}\n",
            s.name,
            s.config.describe(),
            p.queue,
            format_duration(p.max_backoff)
        ));
    }
    out.push_str(&format!(
        "daemon: counters logged every {}, sinks flushed within {} at shutdown\n",
        format_duration(cfg.daemon.stats_interval),
        format_duration(cfg.daemon.shutdown_timeout)
    ));
    out
}
