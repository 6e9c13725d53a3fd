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
}

/// `type = "tcp"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpConfig {
    pub address: String,
    pub connect_timeout: Duration,
    /// No telegram for this long means a dead connection: reconnect.
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
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            file: file.clone(),
            line: 0,
            column: 0,
            key: String::new(),
            message: format!("cannot read the configuration file: {e}"),
        }])
    })?;
    parse(&text, path, &|name| std::env::var(name).ok())
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
                    for (name, v) in t {
                        let path = format!("sources.{}", toml_key(name.get_ref()));
                        if let Some(s) = cx.source(name.get_ref(), v, &path) {
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

/// Keys every source accepts, whatever its type.
const SOURCE_COMMON: &[&str] =
    &["type", "dsmr_version", "timezone", "decryption_key", "authentication_key", "check_crc", "max_telegram_bytes"];

/// The `type` of a sink table, when it is a string.
fn sink_type<'a>(v: &'a Spanned<DeValue<'_>>) -> Option<&'a str> {
    let DeValue::Table(t) = v.get_ref() else { return None };
    match entry(t, "type")?.get_ref() {
        DeValue::String(s) => Some(s.as_ref()),
        _ => None,
    }
}

/// What a CSV sink's table can be checked for beyond its keys' types, now rather than at
/// run time, where a bad path would only be retried and its readings lost: misspelled
/// field names, a file in a directory that does not exist or no file at all, and a file
/// another sink of `files` (file, sink name) writes too.
fn csv_checks(
    cx: &mut Cx<'_>,
    path: &str,
    name: &str,
    v: &Spanned<DeValue<'_>>,
    files: &mut Vec<((PathBuf, String), String)>,
) {
    for (field, span) in sink_fields(v) {
        if let Some(guess) = crate::field_names::misspelled(&field) {
            let msg = format!("no meter gives a field `{field}`; did you mean `{guess}`?");
            cx.at(span, &format!("{path}.fields"), msg);
        }
    }
    let key = format!("{path}.path");
    if let DeValue::Table(t) = v.get_ref() {
        if let Some(value) =
            entry(t, "path").filter(|p| matches!(p.get_ref(), DeValue::String(s) if s.trim().is_empty()))
        {
            cx.at(value.span(), &key, "is empty; name the CSV file, e.g. \"readings.csv\"".into());
            return;
        }
    }
    let Some((file, span, written)) = sink_file(v) else { return };
    let text = written.to_string_lossy();
    if text.ends_with('/') || text.ends_with("/.") || text.ends_with("/..") || written.is_dir() {
        cx.at(
            span,
            &key,
            format!(
                "`{text}` names a directory; name a file in it, e.g. \"{}/readings.csv\"",
                text.trim_end_matches(['/', '.'])
            ),
        );
        return;
    }
    // A directory that cannot be looked at (another user's) is left to run time.
    let problem = match file.0.parent().map(std::fs::metadata) {
        Some(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            Some("does not exist; dsmrd creates the file, not its directory")
        }
        Some(Ok(m)) if !m.is_dir() => Some("is a file, not a directory"),
        Some(Err(e)) if e.kind() == std::io::ErrorKind::NotADirectory => Some("goes through a file"),
        _ => None,
    };
    if let Some(problem) = problem {
        let dir = written.parent().unwrap_or(&written);
        cx.at(span.clone(), &key, format!("directory `{}` {problem}", dir.display()));
    }
    match files.iter().find(|(f, _)| *f == file) {
        Some((_, other)) => {
            let msg = format!("`sinks.{other}` writes this file too; give each file sink its own");
            cx.at(span, &key, msg);
        }
        None => files.push((file, name.to_string())),
    }
}

/// The value of `key` in a table, as written.
fn entry<'a, 't>(t: &'a DeTable<'t>, key: &str) -> Option<&'a Spanned<DeValue<'t>>> {
    t.iter().find(|(k, _)| k.get_ref().as_ref() == key).map(|(_, v)| v)
}

/// The files a sink table writes (its `path`, as an absolute path with `.` parts dropped,
/// and its `rotate` setting, which names the files after the path), and where the path is
/// written.
fn sink_file(v: &Spanned<DeValue<'_>>) -> Option<((PathBuf, String), Range<usize>, PathBuf)> {
    let DeValue::Table(t) = v.get_ref() else { return None };
    let text = |key: &str| {
        entry(t, key).and_then(|value| match value.get_ref() {
            DeValue::String(s) => Some((s.to_string(), value.span())),
            _ => None,
        })
    };
    let (path, span) = text("path")?;
    // Without `rotate` a sink writes as with `rotate = "none"`.
    let rotate = text("rotate").map(|(r, _)| r).filter(|r| r != "none").unwrap_or_default();
    let absolute = std::path::absolute(&path).ok()?;
    // `./sub/../out.csv` is `out.csv`: the directory is resolved where it exists.
    let resolved = match (absolute.parent().map(std::fs::canonicalize), absolute.file_name()) {
        (Some(Ok(dir)), Some(file)) => dir.join(file),
        _ => absolute.components().collect(),
    };
    Some(((resolved, rotate), span, PathBuf::from(path)))
}

/// The names in a sink table's `fields` list, each with where it is written.
fn sink_fields(v: &Spanned<DeValue<'_>>) -> Vec<(String, Range<usize>)> {
    let DeValue::Table(t) = v.get_ref() else { return Vec::new() };
    let Some(value) = entry(t, "fields") else { return Vec::new() };
    let DeValue::Array(items) = value.get_ref() else { return Vec::new() };
    items
        .iter()
        .filter_map(|item| match item.get_ref() {
            DeValue::String(s) => Some((s.to_string(), item.span())),
            _ => None,
        })
        .collect()
}

/// The least `max_telegram_bytes` taken (what the framer would raise a smaller bound to).
const MIN_TELEGRAM: usize = 64;

/// The shortest retry delay, read timeout or stats interval accepted.
const SECOND: Duration = Duration::from_secs(1);

/// Keys every sink accepts, handled by the pipeline.
const SINK_COMMON: &[&str] = &["type", "interval", "aggregate", "queue", "on_full", "max_backoff"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceCommon {
    /// Checked by `kind_of`, with its own message.
    #[serde(rename = "type")]
    _kind: Option<serde::de::IgnoredAny>,
    dsmr_version: Option<Spanned<String>>,
    timezone: Option<Spanned<String>>,
    decryption_key: Option<Spanned<String>>,
    authentication_key: Option<Spanned<String>>,
    check_crc: Option<bool>,
    max_telegram_bytes: Option<Spanned<usize>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SerialToml {
    path: Spanned<String>,
    baud: Option<u32>,
    data_bits: Option<u8>,
    /// Read as text and checked here, so that its error comes with the others of the table.
    parity: Option<Spanned<String>>,
    stop_bits: Option<u8>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TcpToml {
    address: Spanned<String>,
    connect_timeout: Option<Spanned<String>>,
    read_timeout: Option<Spanned<String>>,
    max_backoff: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum PaceToml {
    Word(String),
    Factor(f64),
}

impl PaceToml {
    fn pace(&self) -> Option<Pace> {
        match self {
            PaceToml::Word(w) => w.parse().ok(),
            PaceToml::Factor(f) => Pace::speed(*f),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplayToml {
    path: Spanned<String>,
    pace: Option<Spanned<PaceToml>>,
    #[serde(rename = "loop")]
    looped: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StdinToml {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SinkCommon {
    /// Checked by `kind_of`, with its own message.
    #[serde(rename = "type")]
    _kind: Option<serde::de::IgnoredAny>,
    interval: Option<Spanned<String>>,
    /// Words read as text and checked here, so that their errors come with the others.
    aggregate: Option<Spanned<String>>,
    queue: Option<usize>,
    on_full: Option<Spanned<String>>,
    max_backoff: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DaemonToml {
    stats_interval: Option<Spanned<String>>,
    shutdown_timeout: Option<Spanned<String>>,
}

/// Error collection and location.
struct Cx<'t> {
    text: &'t str,
    file: String,
    errors: Vec<ConfigError>,
    /// Keys (dotted paths) already reported and taken out of their table, so that the rest
    /// of the table is still checked and no "missing field" follows for them.
    set_aside: Vec<String>,
}

impl<'t> Cx<'t> {
    fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..offset];
        let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
        // Counted in characters, as an editor shows the column.
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        // A byte-order mark starts the file, not its first line.
        let bom = usize::from(line_start == 0 && before.starts_with('\u{feff}'));
        let col = before[line_start..].chars().count() + 1 - bom;
        (line, col)
    }

    fn at(&mut self, span: Range<usize>, key: &str, message: String) {
        let (line, column) = if span.is_empty() && span.start == 0 { (0, 0) } else { self.line_col(span.start) };
        self.errors.push(ConfigError { file: self.file.clone(), line, column, key: key.to_string(), message });
    }

    /// A toml error inside the table at `path`: locate it and name the key it is about.
    /// `key`: the key of the table at `path` the error is about, where the caller knows it
    /// (else it is found from the message or the text).
    fn toml_error(&mut self, e: &toml::de::Error, path: &str, key: Option<&str>) {
        let span = e.span().unwrap_or(0..0);
        let message = plain_types(e.message().trim());
        let key = match key {
            Some(k) => join(path, &toml_key(k)),
            None => key_at(self.text, path, span.clone(), &message),
        };
        let (line, column) = self.line_col(span.start);
        self.errors.push(ConfigError { file: self.file.clone(), line, column, key, message });
    }

    fn table<'a, 'i>(&mut self, v: &'a Spanned<DeValue<'i>>, path: &str) -> Option<&'a DeTable<'i>> {
        match v.get_ref() {
            DeValue::Table(t) => Some(t),
            _ => {
                self.at(v.span(), path, "expected a table".into());
                None
            }
        }
    }

    /// The keys every source or sink takes are not in serde's list of those a type expects:
    /// an unknown key's message (the last error) names them too, so that the list is whole.
    fn name_common_keys(&mut self, e: &toml::de::Error, common: &[&str]) {
        if !e.message().starts_with("unknown field") || common.is_empty() {
            return;
        }
        if let Some(last) = self.errors.last_mut() {
            let keys: Vec<String> = common.iter().filter(|k| **k != "type").map(|k| format!("`{k}`")).collect();
            last.message = match last.message.split_once(", there are no fields") {
                // A type without keys of its own (stdin).
                Some((head, _)) => format!("{head}, expected one of {}", keys.join(", ")),
                None => format!("{}, or one of {}", last.message, keys.join(", ")),
            };
        }
    }

    /// Deserialize `keys` (or all keys but `keys`, when `invert`) of a table into `T`.
    fn part<T: serde::de::DeserializeOwned>(
        &mut self,
        table: &DeTable<'t>,
        span: Range<usize>,
        path: &str,
        keys: &[&str],
        invert: bool,
    ) -> Option<T> {
        let common = invert.then_some(keys);
        self.every_error(select(table, keys, invert), span, path, common, |v| {
            T::deserialize(ValueDeserializer::from(v))
        })
    }

    /// Deserialize `table` with `de`, reporting every key that does not fit, not only the
    /// first: a key serde refuses (unknown, or a value of the wrong type) is reported, set
    /// aside, and the rest read again. What is read is returned even after errors, so that
    /// the checks that follow report theirs too; `None` when a required key is missing.
    /// `common`: the keys every table of its kind takes, named in unknown-key messages.
    fn every_error<T>(
        &mut self,
        mut table: DeTable<'t>,
        span: Range<usize>,
        path: &str,
        common: Option<&[&str]>,
        de: impl Fn(Spanned<DeValue<'t>>) -> Result<T, toml::de::Error>,
    ) -> Option<T> {
        for _ in 0..=table.len() {
            let mut e = match de(Spanned::new(span.clone(), DeValue::Table(table.clone()))) {
                Ok(t) => return Some(t),
                Err(e) => e,
            };
            e.set_input(None);
            let message = e.message().to_string();
            if let Some(field) = named_field(&message, "missing field `") {
                // Missing because it was set aside (reported already), or really missing.
                if !self.set_aside.contains(&join(path, &toml_key(field))) {
                    self.toml_error(&e, path, Some(field));
                }
                return None;
            }
            let at = e.span().map(|s| s.start);
            let key = named_field(&message, "unknown field `").map(str::to_string).or_else(|| {
                let at = at?;
                table
                    .iter()
                    .find(|(k, v)| k.span().contains(&at) || v.span().contains(&at))
                    .map(|(k, _)| k.get_ref().to_string())
            });
            // A key reported already (its type, a variable) is only taken out.
            if !key.as_ref().is_some_and(|k| self.set_aside.contains(&join(path, &toml_key(k)))) {
                self.toml_error(&e, path, key.as_deref());
                if let Some(common) = common {
                    self.name_common_keys(&e, common);
                }
                // A table where one of a few words belongs reads to serde as a variant
                // named by its first key (`format = {a = 1}`: "unknown variant `a`").
                let is_table = |k: &String| entry(&table, k).is_some_and(|v| matches!(v.get_ref(), DeValue::Table(_)));
                if message.starts_with("unknown variant") && key.as_ref().is_some_and(is_table) {
                    if let Some(last) = self.errors.last_mut() {
                        last.message = "expected a string, not a table".into();
                    }
                }
            }
            let key = key?;
            let k = table.keys().find(|k| k.get_ref().as_ref() == key).cloned()?;
            table.remove(&k);
            self.set_aside.push(join(path, &toml_key(&key)));
        }
        None
    }

    fn duration(&mut self, v: &Option<Spanned<String>>, path: &str, key: &str, default: Duration) -> Duration {
        let Some(s) = v else { return default };
        match parse_duration(s.get_ref()) {
            Ok(d) => d,
            Err(msg) => {
                self.at(s.span(), &format!("{path}.{key}"), msg);
                default
            }
        }
    }

    /// One of the words a setting takes, or an error naming them (`None` then, and when the
    /// setting is not given).
    fn choice<T: Copy>(
        &mut self,
        v: &Option<Spanned<String>>,
        path: &str,
        key: &str,
        words: &[(&str, T)],
    ) -> Option<T> {
        let v = v.as_ref()?;
        let found = words.iter().find(|(w, _)| *w == v.get_ref().as_str()).map(|(_, t)| *t);
        if found.is_none() {
            let expected: Vec<String> = words.iter().map(|(w, _)| format!("`{w}`")).collect();
            let msg = format!("unknown variant `{}`, expected one of {}", v.get_ref(), expected.join(", "));
            self.at(v.span(), &format!("{path}.{key}"), msg);
        }
        found
    }

    /// [`Self::duration`] for a setting that may not be shorter than `min` (a zero retry
    /// delay or read timeout would spin).
    fn duration_min(
        &mut self,
        v: &Option<Spanned<String>>,
        path: &str,
        key: &str,
        default: Duration,
        min: Duration,
    ) -> Duration {
        let d = self.duration(v, path, key, default);
        if d >= min {
            return d;
        }
        if let Some(s) = v {
            self.at(s.span(), &format!("{path}.{key}"), format!("`{}` is too short: at least {min:?}", s.get_ref()));
        }
        default
    }

    fn daemon(&mut self, t: &DeTable<'t>, span: Range<usize>) -> DaemonConfig {
        let mut d = DaemonConfig::default();
        if let Some(raw) = self.part::<DaemonToml>(t, span, "daemon", &[], true) {
            d.stats_interval =
                self.duration_min(&raw.stats_interval, "daemon", "stats_interval", d.stats_interval, SECOND);
            d.shutdown_timeout = self.duration(&raw.shutdown_timeout, "daemon", "shutdown_timeout", d.shutdown_timeout);
        }
        d
    }

    /// The table's `type`, if it is one of `allowed`; else `None`, with the mistake
    /// reported and `type` set aside, so that the table's other keys are still checked
    /// without a second word on it.
    fn kind_of(&mut self, t: &DeTable<'t>, span: Range<usize>, path: &str, allowed: &[&str]) -> Option<String> {
        let kind = self.type_in(t, span, path, allowed);
        if kind.is_none() {
            self.set_aside.push(join(path, "type"));
        }
        kind
    }

    fn type_in(&mut self, t: &DeTable<'t>, span: Range<usize>, path: &str, allowed: &[&str]) -> Option<String> {
        let Some(v) = entry(t, "type") else {
            // Unless it was there, and reported already (an unset variable).
            if !self.set_aside.contains(&join(path, "type")) {
                self.at(span, path, format!("missing `type`; expected one of: {}", allowed.join(", ")));
            }
            return None;
        };
        match v.get_ref() {
            DeValue::String(s) if allowed.contains(&s.as_ref()) => Some(s.to_string()),
            DeValue::String(s) => {
                self.at(
                    v.span(),
                    &format!("{path}.type"),
                    format!("unknown type `{s}`; expected one of: {}", allowed.join(", ")),
                );
                None
            }
            _ => {
                self.at(v.span(), &format!("{path}.type"), "expected a string".into());
                None
            }
        }
    }

    fn source(&mut self, name: &str, v: &Spanned<DeValue<'t>>, path: &str) -> Option<SourceConfig> {
        let t = self.table(v, path)?;
        let span = v.span();
        let kind = self.kind_of(t, span.clone(), path, &["serial", "tcp", "replay", "stdin"]);
        let common: Option<SourceCommon> = self.part(t, span.clone(), path, SOURCE_COMMON, false);
        let decode = common.map(|common| self.source_decode(&common, path));
        let kind = self.source_kind(&kind?, t, span, path);
        Some(SourceConfig { name: name.to_string(), kind: kind?, decode: decode? })
    }

    fn source_kind(&mut self, kind: &str, t: &DeTable<'t>, span: Range<usize>, path: &str) -> Option<SourceKind> {
        Some(match kind {
            "serial" => {
                let raw: SerialToml = self.part(t, span.clone(), path, SOURCE_COMMON, true)?;
                if raw.path.get_ref().trim().is_empty() {
                    self.at(
                        raw.path.span(),
                        &format!("{path}.path"),
                        "must name a serial device, e.g. /dev/ttyUSB0".into(),
                    );
                }
                // A bad number is placed at its value, where the key has one.
                let at = |key: &str| entry(t, key).map_or(span.clone(), |v| v.span());
                if raw.baud == Some(0) {
                    self.at(at("baud"), &format!("{path}.baud"), "0 is no baud rate (9600 or 115200)".into());
                }
                if let Some(b) = raw.data_bits.filter(|b| !(5..=8).contains(b)) {
                    self.at(at("data_bits"), &format!("{path}.data_bits"), format!("{b} is not 5, 6, 7 or 8"));
                }
                let stop_bits = raw.stop_bits.unwrap_or(1);
                if !(1..=2).contains(&stop_bits) {
                    self.at(at("stop_bits"), &format!("{path}.stop_bits"), format!("{stop_bits} is not 1 or 2"));
                }
                let parities = [("none", Parity::None), ("even", Parity::Even), ("odd", Parity::Odd)];
                let parity = self.choice(&raw.parity, path, "parity", &parities);
                SourceKind::Serial(SerialConfig {
                    path: raw.path.into_inner(),
                    baud: raw.baud,
                    data_bits: raw.data_bits,
                    parity,
                    stop_bits,
                })
            }
            "tcp" => {
                let raw: TcpToml = self.part(t, span.clone(), path, SOURCE_COMMON, true)?;
                let addr = raw.address.get_ref();
                let ok = addr.rsplit_once(':').is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok());
                if !ok {
                    self.at(
                        raw.address.span(),
                        &format!("{path}.address"),
                        format!("`{addr}` is not HOST:PORT (e.g. 192.168.1.20:2001)"),
                    );
                }
                SourceKind::Tcp(TcpConfig {
                    address: raw.address.get_ref().clone(),
                    connect_timeout: self.duration_min(
                        &raw.connect_timeout,
                        path,
                        "connect_timeout",
                        Duration::from_secs(10),
                        SECOND,
                    ),
                    read_timeout: self.duration_min(
                        &raw.read_timeout,
                        path,
                        "read_timeout",
                        Duration::from_secs(60),
                        SECOND,
                    ),
                    max_backoff: self.duration_min(
                        &raw.max_backoff,
                        path,
                        "max_backoff",
                        Duration::from_secs(60),
                        SECOND,
                    ),
                })
            }
            "replay" => {
                let raw: ReplayToml = self.part(t, span.clone(), path, SOURCE_COMMON, true)?;
                let file = PathBuf::from(raw.path.get_ref());
                if !file.is_file() {
                    self.at(
                        raw.path.span(),
                        &format!("{path}.path"),
                        format!("recording `{}` does not exist or is not a file", file.display()),
                    );
                }
                let pace = match &raw.pace {
                    None => Pace::Fast,
                    Some(p) => match p.get_ref().pace() {
                        Some(pace) => pace,
                        None => {
                            self.at(
                                p.span(),
                                &format!("{path}.pace"),
                                "expected \"fast\", \"realtime\" or a speed factor from 0.001 to 1000000 (e.g. 10.0)"
                                    .into(),
                            );
                            Pace::Fast
                        }
                    },
                };
                SourceKind::Replay(ReplayConfig { path: file, pace, looped: raw.looped.unwrap_or(false) })
            }
            _ => {
                let _: StdinToml = self.part(t, span.clone(), path, SOURCE_COMMON, true)?;
                SourceKind::Stdin
            }
        })
    }

    fn source_decode(&mut self, common: &SourceCommon, path: &str) -> DecodeSettings {
        let mut decode = DecodeSettings::default();
        if let Some(v) = &common.dsmr_version {
            match v.get_ref().parse::<VersionChoice>() {
                Ok(c) => decode.version = c,
                Err(msg) => self.at(v.span(), &format!("{path}.dsmr_version"), msg),
            }
        }
        if let Some(tz) = &common.timezone {
            match zone(tz.get_ref()) {
                Ok(z) => {
                    decode.timezone = z;
                    decode.timezone_name = tz.get_ref().clone();
                }
                Err(msg) => self.at(tz.span(), &format!("{path}.timezone"), msg),
            }
        }
        if let Some(k) = &common.decryption_key {
            let auth = common.authentication_key.as_ref().map(|a| a.get_ref().as_str());
            match Keys::from_hex(k.get_ref(), auth) {
                Ok(keys) => decode.keys = Some(keys),
                Err(e) => {
                    let (key, span) = if e.what == "authentication key" {
                        ("authentication_key", common.authentication_key.as_ref().map_or(k.span(), |a| a.span()))
                    } else {
                        ("decryption_key", k.span())
                    };
                    self.at(span, &format!("{path}.{key}"), e.to_string());
                    // The authentication key is checked too, against a well-formed key.
                    if let (Some(a), "decryption_key") = (&common.authentication_key, key) {
                        if let Err(e) = Keys::from_hex(&"0".repeat(32), Some(a.get_ref())) {
                            self.at(a.span(), &format!("{path}.authentication_key"), e.to_string());
                        }
                    }
                }
            }
        } else if let Some(a) = &common.authentication_key {
            self.at(a.span(), &format!("{path}.authentication_key"), "needs a decryption_key as well".into());
        }
        decode.check_crc = common.check_crc.unwrap_or(true);
        if let Some(max) = &common.max_telegram_bytes {
            decode.max_telegram_bytes = *max.get_ref();
            if *max.get_ref() < MIN_TELEGRAM {
                let msg = format!(
                    "must be at least {MIN_TELEGRAM}: no telegram is that short (the default is {DEFAULT_MAX_TELEGRAM})"
                );
                self.at(max.span(), &format!("{path}.max_telegram_bytes"), msg);
            }
        }
        decode
    }

    fn sink(&mut self, name: &str, v: &Spanned<DeValue<'t>>, path: &str) -> Option<SinkSpec> {
        let t = self.table(v, path)?;
        let span = v.span();
        let kind = self.kind_of(t, span.clone(), path, SinkConfig::TYPES);
        if kind.is_none() {
            // The keys every sink takes are still checked.
            if let Some(common) = self.part::<SinkCommon>(t, span.clone(), path, SINK_COMMON, false) {
                self.sink_pipeline(&common, t, v, path);
            }
            return None;
        }
        let kind = kind?;
        let common: Option<SinkCommon> = self.part(t, span.clone(), path, SINK_COMMON, false);
        let sub = select(t, SINK_COMMON, true);
        let config = self.every_error(sub, span, path, Some(SINK_COMMON), |v| {
            // The type was checked above: the table always has a configuration type.
            SinkConfig::deserialize(&kind, ValueDeserializer::from(v))
                .unwrap_or_else(|| Err(serde::de::Error::custom(format!("unknown type `{kind}`"))))
        });
        let pipeline = self.sink_pipeline(&common?, t, v, path);
        Some(SinkSpec { name: name.to_string(), config: config?, pipeline })
    }

    /// The pipeline settings of a sink, from the keys every sink takes.
    fn sink_pipeline(
        &mut self,
        common: &SinkCommon,
        t: &DeTable<'t>,
        v: &Spanned<DeValue<'t>>,
        path: &str,
    ) -> SinkPipeline {
        let mut p = SinkPipeline::default();
        p.interval = self.duration(&common.interval, path, "interval", p.interval);
        p.max_backoff = self.duration_min(&common.max_backoff, path, "max_backoff", p.max_backoff, SECOND);
        let aggregates = [("last", Aggregate::Last), ("mean", Aggregate::Mean)];
        p.aggregate = self.choice(&common.aggregate, path, "aggregate", &aggregates).unwrap_or(p.aggregate);
        let policies = [("drop_oldest", OnFull::DropOldest), ("drop_newest", OnFull::DropNewest)];
        p.on_full = self.choice(&common.on_full, path, "on_full", &policies).unwrap_or(p.on_full);
        if let Some(q) = common.queue {
            if q == 0 {
                let at = entry(t, "queue").map_or(v.span(), |val| val.span());
                self.at(at, &format!("{path}.queue"), "must be at least 1".into());
            }
            p.queue = q.max(1);
        }
        p
    }
}

/// The entries of `table` whose key is in `keys` (or, with `invert`, is not).
fn select<'i>(table: &DeTable<'i>, keys: &[&str], invert: bool) -> DeTable<'i> {
    let mut sub = DeTable::new();
    for (k, v) in table {
        if keys.contains(&k.get_ref().as_ref()) != invert {
            sub.insert(k.clone(), v.clone());
        }
    }
    sub
}

/// Name the key an error is about: the key whose text or value holds the error's span.
fn key_at(text: &str, path: &str, span: Range<usize>, message: &str) -> String {
    // "unknown field `x`" and "missing field `x`" name the key themselves.
    for marker in ["unknown field `", "missing field `", "duplicate key `"] {
        if let Some(field) = named_field(message, marker) {
            return join(path, field);
        }
    }
    if !path.is_empty() {
        return path.to_string();
    }
    // A syntax error: no table is known yet; the text up to the error tells the key.
    let start = span.start.min(text.len());
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let twice = message.starts_with("given twice");
    if let Some(header) = text[line_start..line_end].trim().strip_prefix('[').filter(|_| twice) {
        // A table given twice: the header names it.
        let name = header.trim_start_matches('[').split_once(']').map_or("", |(n, _)| n.trim());
        if !name.is_empty() {
            return name.to_string();
        }
    }
    key_path_before(text, start)
}

/// The dotted key whose value is being read at `end` of `text`: the last table header,
/// then the keys of the inline tables open there and the key of the value itself.
/// Strings (one-line and multi-line) and comments are skipped, so that an `=` or `[` in
/// them is not taken for TOML's own; a value over several lines (an array) keeps its key.
fn key_path_before(text: &str, end: usize) -> String {
    let b = text.as_bytes();
    let mut header = String::new();
    // The keys of the open inline tables and of the current value; `open` holds how many
    // keys were known when each `{` opened.
    let mut keys: Vec<String> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    // A byte-order mark before the first line is no part of it.
    let mut i = if text.starts_with('\u{feff}') { '\u{feff}'.len_utf8() } else { 0 };
    let mut key_start = Some(i);
    let mut arrays = 0usize;
    while i < end {
        match b[i] {
            b'#' => {
                i = text[i..end].find('\n').map_or(end, |n| i + n);
                continue;
            }
            q @ (b'"' | b'\'') => {
                // Compared as bytes: an escape may step into a character of several.
                let triple = [q; 3];
                let close: &[u8] = if b[i..].starts_with(&triple) { &triple } else { &triple[..1] };
                let mut j = i + close.len();
                while j < end && !b[j..].starts_with(close) {
                    j += if q == b'"' && b[j] == b'\\' { 2 } else { 1 };
                }
                // Up to two quotes before a closing triple belong to the string (`'''x''''`).
                if close.len() == 3 {
                    let run = b.get(j..end).map_or(0, |r| r.iter().take(5).take_while(|&&c| c == q).count());
                    j += run.saturating_sub(3);
                }
                i = j + close.len();
                continue;
            }
            b'\n' if arrays == 0 && open.is_empty() => {
                key_start = Some(i + 1);
            }
            b'[' if key_start.is_some_and(|k| text[k..i].trim().is_empty()) && arrays == 0 => {
                // A table header at the start of a line.
                let close = text[i..end].find('\n').map_or(end, |n| i + n);
                let line = text[i..close].trim_start_matches('[');
                header = line.split_once(']').map_or(line, |(n, _)| n).trim().to_string();
                keys.clear();
                key_start = None;
                i = close;
                continue;
            }
            b'[' => arrays += 1,
            b']' => arrays = arrays.saturating_sub(1),
            b'=' => {
                if let Some(k) = key_start.take() {
                    keys.truncate(open.last().copied().unwrap_or(0));
                    keys.push(text[k..i].trim().to_string());
                }
            }
            b'{' => {
                open.push(keys.len());
                key_start = Some(i + 1);
            }
            b'}' => {
                if let Some(n) = open.pop() {
                    keys.truncate(n);
                }
            }
            b',' if !open.is_empty() && arrays == 0 => key_start = Some(i + 1),
            _ => {}
        }
        i += 1;
    }
    if let Some(k) = key_start {
        // The error is in a key itself (`fo$o = 1`): the key as far as it goes.
        keys.truncate(open.last().copied().unwrap_or(0));
        keys.push(text[k..end].trim().to_string());
    }
    std::iter::once(header).chain(keys).filter(|k| !k.is_empty()).map(|k| dotted(&k)).collect::<Vec<_>>().join(".")
}

/// A dotted key without the blanks TOML allows around its dots (`sinks . s`).
fn dotted(key: &str) -> String {
    key.split('.').map(str::trim).collect::<Vec<_>>().join(".")
}

/// A serde message with Rust's type names said in words (`expected u8` → `expected a
/// whole number from 0 to 255`), as a user writing TOML knows them.
fn plain_types(message: &str) -> String {
    if message == "wanted string or table" {
        // What toml says of a number where one of a few words belongs.
        return "expected a string".to_string();
    }
    if message == "duplicate key" {
        return "given twice; each table and key may be given once".to_string();
    }
    const WORDS: [(&str, &str); 7] = [
        ("expected u8", "expected a whole number from 0 to 255"),
        ("expected u16", "expected a whole number from 0 to 65535"),
        ("expected u32", "expected a whole number from 0 to 4294967295"),
        ("expected u64", "expected a whole number of 0 or more"),
        ("expected usize", "expected a whole number of 0 or more"),
        ("expected i64", "expected a whole number"),
        ("expected f64", "expected a number"),
    ];
    let message = match WORDS.iter().find(|(rust, _)| message.ends_with(rust)) {
        Some((rust, words)) => format!("{}{words}", &message[..message.len() - rust.len()]),
        None => message.to_string(),
    };
    if message.starts_with("data did not match any variant of untagged enum PaceToml") {
        return "expected \"fast\", \"realtime\" or a speed factor such as 10.0".to_string();
    }
    // serde's words for TOML's kinds of value.
    const KINDS: [(&str, &str); 6] = [
        ("invalid type: map", "invalid type: table"),
        ("invalid type: sequence", "invalid type: array"),
        ("expected a sequence", "expected an array"),
        ("expected a map", "expected a table"),
        ("expected path string", "expected a string"),
        // toml reads integers too large for 64 bits as i128, and says so.
        (" as i128", ""),
    ];
    KINDS.iter().fold(message, |m, (serde, toml)| m.replace(serde, toml))
}

/// The field a serde message names after `marker` (`unknown field \`x\``, …).
fn named_field<'m>(message: &'m str, marker: &str) -> Option<&'m str> {
    message.split_once(marker)?.1.split_once('`').map(|(field, _)| field)
}

/// A table name as TOML writes it: bare when it can be, else quoted (`"my meter"`).
fn toml_key(name: &str) -> String {
    let bare = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare { name.to_string() } else { format!("{name:?}") }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

/// Replace `${NAME}` in every string value; a variable that is not set is an error that
/// names it (and never prints the value of one that is).
fn expand_env_table<'i>(t: &mut DeTable<'i>, path: &str, env: &dyn Fn(&str) -> Option<String>, cx: &mut Cx<'_>) {
    let mut failed = Vec::new();
    for (k, v) in t.iter_mut() {
        let p = join(path, &toml_key(k.get_ref()));
        let before = cx.errors.len();
        expand_env_value(v, &p, env, cx);
        if cx.errors.len() > before && !matches!(v.get_ref(), DeValue::Table(_)) {
            failed.push(k.clone());
        }
    }
    // A value that could not be expanded is reported once, not again by later checks.
    for k in failed {
        cx.set_aside.push(join(path, &toml_key(k.get_ref())));
        t.remove(&k);
    }
}

fn expand_env_value<'i>(
    v: &mut Spanned<DeValue<'i>>,
    path: &str,
    env: &dyn Fn(&str) -> Option<String>,
    cx: &mut Cx<'_>,
) {
    let span = v.span();
    match v.get_mut() {
        DeValue::String(s) if s.contains("${") => match expand(s, env) {
            Ok(out) => *s = DeString::Owned(out),
            Err(msg) => cx.at(span, path, msg),
        },
        DeValue::Table(t) => expand_env_table(t, path, env, cx),
        DeValue::Array(items) => {
            for item in items.iter_mut() {
                expand_env_value(item, path, env, cx);
            }
        }
        _ => {}
    }
}

/// Expand `${NAME}` references; `$${` is a literal `${`.
pub fn expand(s: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    let mut missing = BTreeSet::new();
    while let Some(i) = rest.find("${") {
        if rest[..i].ends_with('$') {
            out.push_str(&rest[..i - 1]);
            out.push_str("${");
            rest = &rest[i + 2..];
            continue;
        }
        out.push_str(&rest[..i]);
        let Some(end) = rest[i + 2..].find('}') else {
            return Err("unclosed `${` in value; write `${NAME}`".into());
        };
        let name = &rest[i + 2..i + 2 + end];
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("`${{{name}}}` is not a valid environment variable reference"));
        }
        match env(name) {
            Some(v) => out.push_str(&v),
            None => {
                missing.insert(name.to_string());
            }
        }
        rest = &rest[i + 2 + end + 1..];
    }
    out.push_str(rest);
    if missing.is_empty() {
        Ok(out)
    } else {
        let names: Vec<String> = missing.into_iter().collect();
        Err(format!("environment variable {} is not set", names.join(", ")))
    }
}

/// Parse `250ms`, `10s`, `5m`, `1h`, `1h30m`, `0s`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("`{s}` is not a duration; write e.g. \"10s\", \"500ms\", \"5m\" or \"1h\"");
    let t = s.trim();
    if t.is_empty() {
        return Err(bad());
    }
    let mut total = Duration::ZERO;
    let mut rest = t;
    let mut units = Vec::new();
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(rest.len());
        if digits == 0 {
            return Err(bad());
        }
        let n: f64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let secs = match &rest[..unit_len] {
            "ms" => n / 1000.0,
            "s" => n,
            "m" | "min" => n * 60.0,
            "h" => n * 3600.0,
            "d" => n * 86400.0,
            _ => return Err(bad()),
        };
        // `5m5m` is more likely a slip than ten minutes.
        let unit = match &rest[..unit_len] {
            "min" => "m",
            unit => unit,
        };
        if units.contains(&unit) {
            return Err(format!("`{s}` gives `{unit}` twice"));
        }
        units.push(unit);
        rest = &rest[unit_len..];
        total = Duration::try_from_secs_f64(secs).ok().and_then(|d| total.checked_add(d)).ok_or_else(bad)?;
    }
    // No setting needs more, and timers set further out than the clock can count would fail.
    if total > Duration::from_secs(365 * 86_400) {
        return Err(format!("`{s}` is longer than a year"));
    }
    if !total.is_zero() && total < Duration::from_millis(1) {
        return Err(format!("`{s}` is shorter than 1ms; write \"0s\" for none"));
    }
    Ok(total)
}

/// Format a duration the way the config writes it.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if d.subsec_nanos() % 1_000_000 != 0 {
        // A fraction of a millisecond (`1.5ms`), as written.
        return format!("{}ms", d.as_nanos() as f64 / 1e6);
    }
    if ms == 0 {
        "0s".into()
    } else if ms % 3_600_000 == 0 {
        format!("{}h", ms / 3_600_000)
    } else if ms % 60_000 == 0 {
        format!("{}m", ms / 60_000)
    } else if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("ten seconds").is_err());
        assert_eq!(format_duration(Duration::from_secs(90)), "90s");
        // What is shown reads back as the same duration.
        for text in ["1.5ms", "0.25s", "1h30m", "2500ms", "1d"] {
            let d = parse_duration(text).expect(text);
            assert_eq!(parse_duration(&format_duration(d)), Ok(d), "{text} shown as {}", format_duration(d));
        }
        assert_eq!(format_duration(Duration::from_micros(1500)), "1.5ms");
    }

    #[test]
    fn env_expansion() {
        let env = |n: &str| (n == "KEY").then(|| "abc".to_string());
        assert_eq!(expand("x${KEY}y", &env), Ok("xabcy".into()));
        assert_eq!(expand("$${KEY}", &env), Ok("${KEY}".into()));
        assert!(expand("${NOPE}", &env).unwrap_err().contains("NOPE"));
    }
}
