//! The TOML configuration: named sources and named sinks, each with a `type`. Every mistake
//! is reported with file, line, column and key, all of them at once, before anything runs;
//! `${VAR}` in a string is replaced from the environment (so secrets stay out of the file).

use std::collections::BTreeSet;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::tz::TimeZone;
use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeString, DeTable, DeValue, ValueDeserializer};

use crate::frame::DEFAULT_MAX_TELEGRAM;
use crate::smarty::Keys;
use crate::spec::VersionChoice;
use crate::time::{DEFAULT_TIMEZONE, zone};
use dsmrd_sinks::SinkConfig;

mod csv_checks;
mod duration;
mod env;
mod locate;
mod read;

use csv_checks::*;
use env::*;
use locate::*;
use read::*;

pub use duration::{format_duration, parse_duration};
pub use env::expand;

/// One configuration mistake, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    /// 1-based line and column; 0 when the mistake has no place (missing file).
    pub line: usize,
    pub column: usize,
    /// The dotted key (`sinks.file.interval`), empty for the whole file.
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.key.is_empty()) {
            (0, true) => write!(f, "{}: {}", self.file, self.message),
            (0, false) => write!(f, "{}: {}: {}", self.file, self.key, self.message),
            (_, true) => write!(f, "{}:{}:{}: {}", self.file, self.line, self.column, self.message),
            (_, false) => write!(f, "{}:{}:{}: {}: {}", self.file, self.line, self.column, self.key, self.message),
        }
    }
}

/// All mistakes of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// How a source's bytes are decoded; shared by every source type.
#[derive(Debug, Clone)]
pub struct DecodeSettings {
    pub version: VersionChoice,
    pub timezone_name: String,
    pub timezone: TimeZone,
    pub keys: Option<Keys>,
    pub check_crc: bool,
    pub max_telegram_bytes: usize,
}

impl Default for DecodeSettings {
    fn default() -> Self {
        DecodeSettings {
            version: VersionChoice::Auto,
            timezone_name: DEFAULT_TIMEZONE.into(),
            timezone: zone(DEFAULT_TIMEZONE).unwrap_or(TimeZone::UTC),
            keys: None,
            check_crc: true,
            max_telegram_bytes: DEFAULT_MAX_TELEGRAM,
        }
    }
}

/// Serial line parity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Parity {
    None,
    Even,
    Odd,
}

/// `type = "serial"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialConfig {
    pub path: String,
    /// `None`: the version's default (2.2/3: 9600 7E1, else 115200 8N1).
    pub baud: Option<u32>,
    pub data_bits: Option<u8>,
    pub parity: Option<Parity>,
    pub stop_bits: u8,
    /// No data for this long: the port is reopened, and the silence logged.
    pub read_timeout: Duration,
}

/// `type = "tcp"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpConfig {
    pub address: String,
    pub connect_timeout: Duration,
    /// No data for this long means a dead connection: reconnect.
    pub read_timeout: Duration,
    pub max_backoff: Duration,
}

/// How fast a replay runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    /// As fast as the sinks take it.
    Fast,
    /// Spaced as the telegram timestamps say (10 s apart for telegrams without one),
    /// divided by the factor: 1.0 is real time, 10.0 ten times faster.
    Speed(f64),
}

impl Pace {
    /// The slowest and fastest speed factors taken: slower would wait for days between
    /// telegrams, faster is `fast` in all but name.
    pub const SPEED_RANGE: std::ops::RangeInclusive<f64> = 0.001..=1_000_000.0;

    /// A speed factor, if it is within [`Pace::SPEED_RANGE`].
    pub fn speed(f: f64) -> Option<Pace> {
        Pace::SPEED_RANGE.contains(&f).then_some(Pace::Speed(f))
    }

    /// How long to wait for a gap of `gap` in meter time at speed `factor`.
    pub fn wait(gap: Duration, factor: f64) -> Duration {
        Duration::try_from_secs_f64(gap.as_secs_f64() / factor).unwrap_or(Duration::MAX)
    }
}

impl std::str::FromStr for Pace {
    type Err = String;

    /// `fast`, `realtime`, or a speed factor above 0 (`10` = ten times real time).
    fn from_str(s: &str) -> Result<Pace, String> {
        match s {
            "fast" => Ok(Pace::Fast),
            "realtime" => Ok(Pace::Speed(1.0)),
            other => match other.parse::<f64>() {
                Ok(f) if Pace::speed(f).is_some() => Ok(Pace::Speed(f)),
                _ => Err(format!("pace must be fast, realtime or a speed factor from 0.001 to 1000000, not `{other}`")),
            },
        }
    }
}

/// `type = "replay"`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayConfig {
    pub path: PathBuf,
    pub pace: Pace,
    pub looped: bool,
}

/// What a source reads.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceKind {
    Serial(SerialConfig),
    Tcp(TcpConfig),
    Replay(ReplayConfig),
    Stdin,
}

/// One `[sources.NAME]`.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    pub name: String,
    pub kind: SourceKind,
    pub decode: DecodeSettings,
}

/// How a sink's queue and throttle behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Aggregate {
    /// Send the latest reading of each interval.
    Last,
    /// Send the mean of instantaneous values (power, voltage, current) and the last value
    /// of counters.
    Mean,
}

/// What a full sink queue does with a new reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnFull {
    /// Drop the oldest queued reading to make room (the default: recent data matters most).
    DropOldest,
    /// Drop the new reading.
    DropNewest,
}

/// The pipeline settings of one sink (the keys every sink type accepts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinkPipeline {
    /// Time between updates; zero sends every telegram.
    pub interval: Duration,
    pub aggregate: Aggregate,
    /// Readings held for this sink while it is slow or down.
    pub queue: usize,
    pub on_full: OnFull,
    /// Longest wait between retries of a failing sink.
    pub max_backoff: Duration,
}

impl Default for SinkPipeline {
    fn default() -> Self {
        SinkPipeline {
            interval: Duration::ZERO,
            aggregate: Aggregate::Last,
            queue: 1000,
            on_full: OnFull::DropOldest,
            max_backoff: Duration::from_secs(60),
        }
    }
}

/// One `[sinks.NAME]`.
#[derive(Debug)]
pub struct SinkSpec {
    pub name: String,
    pub config: SinkConfig,
    pub pipeline: SinkPipeline,
}

/// `[daemon]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonConfig {
    /// How often counters are logged at info level.
    pub stats_interval: Duration,
    /// Longest time spent flushing sinks on shutdown.
    pub shutdown_timeout: Duration,
}

impl Default for DaemonConfig {
    fn default() -> Self {
        DaemonConfig { stats_interval: Duration::from_secs(300), shutdown_timeout: Duration::from_secs(10) }
    }
}

/// A whole, validated configuration.
#[derive(Debug)]
pub struct Config {
    pub file: PathBuf,
    pub daemon: DaemonConfig,
    pub sources: Vec<SourceConfig>,
    pub sinks: Vec<SinkSpec>,
}

/// Read and validate a configuration file, with `${VAR}` taken from the process
/// environment.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            file: file.clone(),
            line: 0,
            column: 0,
            key: String::new(),
            message: format!("cannot read the configuration file: {e}"),
        }])
    })?;
    let text = std::str::from_utf8(&bytes).map_err(|e| ConfigErrors(vec![not_utf8(&file, &bytes, &e)]))?;
    parse(text, path, &|name| std::env::var(name).ok())
}

/// For a relative path that was not found: where it was looked for. dsmrd reads such paths
/// from its working directory, not from the configuration file's; under a service manager
/// that is often `/`.
fn relative_note(path: &Path) -> String {
    match std::env::current_dir() {
        Ok(dir) if path.is_relative() => {
            format!(" (a relative path is read from the working directory, `{}`)", dir.display())
        }
        _ => String::new(),
    }
}

/// Where a file stops being UTF-8 text: its line, column and, when the line is a
/// `key = value` entry, that key under the last table header before it. The bytes are
/// not shown (they may be part of a key).
fn not_utf8(file: &str, bytes: &[u8], e: &std::str::Utf8Error) -> ConfigError {
    let valid = String::from_utf8_lossy(&bytes[..e.valid_up_to()]);
    // A byte-order mark is no text: columns and the first table header go without it.
    let valid = valid.strip_prefix('\u{feff}').unwrap_or(&valid);
    let line_start = valid.rfind('\n').map_or(0, |i| i + 1);
    let line = valid.matches('\n').count() + 1;
    let column = valid[line_start..].chars().count() + 1;
    let table = valid[..line_start]
        .lines()
        .filter_map(|l| l.trim().strip_prefix('[')?.split(']').next())
        .next_back()
        .map(|t| t.trim().trim_matches(['[', ']']).trim());
    let key = valid[line_start..]
        .split_once('=')
        .map(|(k, _)| locate::key_text(k))
        .filter(|k| !k.is_empty() && !k.starts_with('#'))
        .map(|k| match table {
            Some(t) if !t.is_empty() => format!("{t}.{k}"),
            _ => k.to_string(),
        })
        .unwrap_or_default();
    let byte = bytes.get(e.valid_up_to()).copied().unwrap_or(0);
    let message = format!("the file is not UTF-8 text here (byte 0x{byte:02X}); save it as UTF-8");
    let (key, message) = locate::without_secrets(key, message);
    ConfigError { file: file.to_string(), line, column, key, message }
}

/// Parse configuration text. `file` is used in messages and to resolve relative paths
/// (relative to the working directory, as a user typing the command would expect).
pub fn parse(text: &str, file: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigErrors> {
    let mut cx = Cx { text, file: file.display().to_string(), errors: Vec::new(), set_aside: Vec::new() };
    let root = match DeTable::parse(text) {
        Ok(t) => t,
        Err(e) => {
            cx.toml_error(&e, "", None);
            return Err(ConfigErrors(cx.errors));
        }
    };
    let mut root = root.into_inner();
    expand_env_table(&mut root, "", env, &mut cx);

    let mut daemon = DaemonConfig::default();
    let mut sources = Vec::new();
    let mut sinks = Vec::new();
    // How many source and sink tables there are, whether or not they read without error.
    let (mut source_tables, mut sink_tables) = (0, 0);
    for (key, value) in &root {
        match key.get_ref().as_ref() {
            "daemon" => {
                if let Some(t) = cx.table(value, "daemon") {
                    daemon = cx.daemon(t, value.span());
                }
            }
            "sources" => {
                // A section that is no table is reported as that: it counts as given.
                source_tables += cx.table(value, "sources").map_or(1, |t| t.len());
                if let Some(t) = value.get_ref().as_table() {
                    // Two readers of one stdin would each get part of the stream.
                    let mut stdin_reader: Option<String> = None;
                    for (name, v) in t {
                        let path = format!("sources.{}", toml_key(name.get_ref()));
                        if let Some(s) = cx.source(name.get_ref(), v, &path) {
                            if matches!(s.kind, SourceKind::Stdin) {
                                if let Some(first) = &stdin_reader {
                                    let message = format!("only one source can read stdin, and `{first}` does");
                                    let at = v
                                        .get_ref()
                                        .as_table()
                                        .and_then(|t| entry(t, "type"))
                                        .map_or(v.span(), |e| e.span());
                                    cx.at(at, &format!("{path}.type"), message);
                                    continue;
                                }
                                stdin_reader = Some(path.clone());
                            }
                            sources.push(s);
                        }
                    }
                }
            }
            "sinks" => {
                sink_tables += cx.table(value, "sinks").map_or(1, |t| t.len());
                if let Some(t) = value.get_ref().as_table() {
                    // Two file sinks writing one file would mix their rows.
                    let mut files: Vec<((PathBuf, String), String)> = Vec::new();
                    for (name, v) in t {
                        let path = format!("sinks.{}", toml_key(name.get_ref()));
                        if sink_type(v) == Some("csv") {
                            csv_checks(&mut cx, &path, name.get_ref(), v, &mut files);
                        }
                        if let Some(s) = cx.sink(name.get_ref(), v, &path) {
                            sinks.push(s);
                        }
                    }
                }
            }
            other => cx.at(key.span(), other, "unknown section; expected `sources`, `sinks` or `daemon`".to_string()),
        }
    }
    if source_tables == 0 {
        cx.at(0..0, "sources", "no source configured; add a [sources.NAME] table with a `type`".into());
    }
    if sink_tables == 0 {
        cx.at(0..0, "sinks", "no sink configured; add a [sinks.NAME] table with a `type`".into());
    }
    cx.errors.sort_by_key(|e| (e.line, e.column));
    if cx.errors.is_empty() {
        Ok(Config { file: file.to_path_buf(), daemon, sources, sinks })
    } else {
        Err(ConfigErrors(cx.errors))
    }
}

#[cfg(test)]
mod tests {
    use super::load;

    /// What loading a config file of these bytes says, with the file's path as `FILE`.
    fn load_error(bytes: &[u8]) -> String {
        let file = tempfile_path();
        std::fs::write(&file, bytes).expect("write");
        let err = load(&file).map(|_| ()).expect_err("not UTF-8").to_string();
        let _ = std::fs::remove_file(&file);
        err.replace(&file.display().to_string(), "FILE")
    }

    fn tempfile_path() -> std::path::PathBuf {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        std::env::temp_dir().join(format!("dsmrd-latin1-{}-{n}.toml", std::process::id()))
    }

    #[test]
    fn a_file_that_is_not_utf8_is_placed_by_line_column_and_key() {
        assert_eq!(
            load_error(b"[sources.meter]\ntype = \"stdin\"\ndecryption_key = \"D491\xff70F\"\n\n[sinks.c]\ntype = \"stdout\"\n"),
            "FILE:3:23: sources.meter.decryption_key: the file is not UTF-8 text here (byte 0xFF); save it as UTF-8"
        );
        // After a byte-order mark, which is no column and hides no table header.
        let mut text = "\u{feff}".as_bytes().to_vec();
        text.extend_from_slice(b"[sources.meter]\r\ntype = \"stdin\"\r\ntimezone = \"Europe/Z\xfcrich\"\r\n");
        assert_eq!(
            load_error(&text),
            "FILE:3:21: sources.meter.timezone: the file is not UTF-8 text here (byte 0xFC); save it as UTF-8"
        );
        // In a comment after a key (and an `=` in it): the key alone.
        assert_eq!(
            load_error(b"[sinks.c]\nformat # a=b caf\xe9\n"),
            "FILE:2:17: sinks.c.format: the file is not UTF-8 text here (byte 0xE9); save it as UTF-8"
        );
        // In a comment line that holds an `=`: no key.
        assert_eq!(
            load_error(b"[sinks.c]\ntype = \"stdout\"\n# note = caf\xe9\n"),
            "FILE:3:13: the file is not UTF-8 text here (byte 0xE9); save it as UTF-8"
        );
        // In a comment before any table: line and column alone.
        assert_eq!(
            load_error(b"# caf\xe9 meter\n[sources.meter]\ntype = \"stdin\"\n"),
            "FILE:1:6: the file is not UTF-8 text here (byte 0xE9); save it as UTF-8"
        );
    }

    /// `max_telegram_bytes` is taken from 64 up (the framer's own floor), refused below.
    #[test]
    fn the_telegram_bound_is_taken_from_64() {
        let config = |max: u32| {
            let text =
                format!("[sources.m]\ntype = \"stdin\"\nmax_telegram_bytes = {max}\n\n[sinks.c]\ntype = \"stdout\"\n");
            super::parse(&text, std::path::Path::new("c.toml"), &|_| None)
        };
        let ok = config(64).expect("64 is taken");
        assert_eq!(ok.sources[0].decode.max_telegram_bytes, 64);
        let err = config(63).map(|_| ()).expect_err("63 is refused").to_string();
        assert!(err.contains("max_telegram_bytes: must be at least 64"), "{err}");
    }
}
