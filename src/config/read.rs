//! Each table read into typed settings, every mistake in it collected with its place.

use super::*;

/// Keys every source accepts, whatever its type.
pub(super) const SOURCE_COMMON: &[&str] =
    &["type", "dsmr_version", "timezone", "decryption_key", "authentication_key", "check_crc", "max_telegram_bytes"];

/// The least `max_telegram_bytes` taken (what the framer would raise a smaller bound to).
pub(super) const MIN_TELEGRAM: usize = 64;

/// The shortest retry delay, read timeout or stats interval accepted.
pub(super) const SECOND: Duration = Duration::from_secs(1);

/// The largest `queue` a sink may have.
const MAX_QUEUE: usize = 1_000_000;

/// Keys every sink accepts, handled by the pipeline.
pub(super) const SINK_COMMON: &[&str] = &["type", "interval", "aggregate", "queue", "on_full", "max_backoff"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SourceCommon {
    /// Checked by `kind_of`, with its own message.
    #[serde(rename = "type")]
    _kind: Option<serde::de::IgnoredAny>,
    dsmr_version: Option<Spanned<String>>,
    timezone: Option<Spanned<String>>,
    decryption_key: Option<Spanned<String>>,
    authentication_key: Option<Spanned<String>>,
    check_crc: Option<bool>,
    /// Read as 64 bits on every platform, so that a large number gets the same message on a
    /// 32-bit Raspberry Pi as elsewhere (a `usize` there refuses it with serde's own words).
    max_telegram_bytes: Option<Spanned<u64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SerialToml {
    path: Spanned<String>,
    baud: Option<u32>,
    data_bits: Option<u8>,
    /// Read as text and checked here, so that its error comes with the others of the table.
    parity: Option<Spanned<String>>,
    stop_bits: Option<u8>,
    read_timeout: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TcpToml {
    address: Spanned<String>,
    connect_timeout: Option<Spanned<String>>,
    read_timeout: Option<Spanned<String>>,
    max_backoff: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum PaceToml {
    Word(String),
    Factor(f64),
}

impl PaceToml {
    pub(super) fn pace(&self) -> Option<Pace> {
        match self {
            PaceToml::Word(w) => w.parse().ok(),
            PaceToml::Factor(f) => Pace::speed(*f),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReplayToml {
    path: Spanned<String>,
    pace: Option<Spanned<PaceToml>>,
    #[serde(rename = "loop")]
    looped: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StdinToml {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SinkCommon {
    /// Checked by `kind_of`, with its own message.
    #[serde(rename = "type")]
    _kind: Option<serde::de::IgnoredAny>,
    interval: Option<Spanned<String>>,
    /// Words read as text and checked here, so that their errors come with the others.
    aggregate: Option<Spanned<String>>,
    /// 64 bits on every platform, as `max_telegram_bytes`.
    queue: Option<u64>,
    on_full: Option<Spanned<String>>,
    max_backoff: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DaemonToml {
    stats_interval: Option<Spanned<String>>,
    shutdown_timeout: Option<Spanned<String>>,
}

/// Error collection and location.
pub(super) struct Cx<'t> {
    pub(super) text: &'t str,
    pub(super) file: String,
    pub(super) errors: Vec<ConfigError>,
    /// Keys (dotted paths) already reported and taken out of their table, so that the rest
    /// of the table is still checked and no "missing field" follows for them.
    pub(super) set_aside: Vec<String>,
}

impl<'t> Cx<'t> {
    pub(super) fn line_col(&self, offset: usize) -> (usize, usize) {
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

    pub(super) fn at(&mut self, span: Range<usize>, key: &str, message: String) {
        let (line, column) = if span.is_empty() && span.start == 0 { (0, 0) } else { self.line_col(span.start) };
        let (key, message) = without_secrets(key.to_string(), message);
        self.errors.push(ConfigError { file: self.file.clone(), line, column, key, message });
    }

    /// A toml error inside the table at `path`: locate it and name the key it is about.
    /// `key`: the key of the table at `path` the error is about, where the caller knows it
    /// (else it is found from the message or the text).
    pub(super) fn toml_error(&mut self, e: &toml::de::Error, path: &str, key: Option<&str>) {
        let span = e.span().unwrap_or(0..0);
        let message = plain_types(e.message().trim());
        let place = match key {
            Some(k) => join(path, &toml_key(k)).into(),
            None => key_at(self.text, path, span.clone(), &message),
        };
        let (line, column) = self.line_col(span.start);
        let mut message = message;
        if let Some(at) = place.unclosed_string {
            // Said where it opened: the error may be found lines later, at the end of the file.
            let (open_line, open_column) = self.line_col(at);
            let quotes: String = self.text[at..].chars().take_while(|&c| c == '"' || c == '\'').take(3).collect();
            message = format!(
                "{message}; the string opened with `{quotes}` at line {open_line}, column {open_column} is never closed"
            );
        }
        if place.value_on_next_line {
            message.push_str("; a value starts on the line of its key and `=`");
        }
        let (key, mut message) = without_secrets(place.key, message);
        let name = key.rsplit('.').next().unwrap_or_default();
        let secret = is_secret_key(&key);
        // A word without quotes that starts like `true` or `false` (`pace = fast`, `format =
        // table`) fails in the toml reader as a misspelt boolean: it is a string left unquoted.
        if message.starts_with("invalid boolean") {
            if let Some(word) = bare_word(self.text, span.start) {
                message = if secret {
                    "string values must be quoted".into()
                } else {
                    hide_hex_runs(&format!("string values must be quoted: `{name} = \"{word}\"`"))
                };
            }
        }
        // An unquoted key reads as a number, or fails to (`unexpected leading zero`); a
        // quoted one that fails (unclosed, a bad escape, text after it) needs no such hint.
        // The value is the one after the key's own `=`: the last mention of the key before
        // the error (a value may run over lines, or sit in an inline table after others).
        let before = self.text.get(..span.end.max(span.start)).unwrap_or_default();
        let value = before
            .rfind(name)
            .filter(|_| !name.is_empty())
            .and_then(|at| self.text.get(at + name.len()..)?.split_once('='))
            // A doubled `=` (`key == "…"`) is its own mistake, which toml names.
            .map(|(_, v)| v.trim_start().trim_start_matches('='));
        let quoted = value.is_some_and(|v| v.trim_start().starts_with(['"', '\'']));
        let nested = value.is_some_and(|v| v.trim_start().starts_with(['[', '{']));
        if secret && !quoted && !message.contains("quote") && !message.contains("expected `=`") {
            message.push_str(if nested {
                "; write the key as one string in quotes, not in a list or table"
            } else {
                "; write the key in quotes"
            });
        }
        self.errors.push(ConfigError { file: self.file.clone(), line, column, key, message });
    }

    pub(super) fn table<'a, 'i>(&mut self, v: &'a Spanned<DeValue<'i>>, path: &str) -> Option<&'a DeTable<'i>> {
        match v.get_ref() {
            DeValue::Table(t) => Some(t),
            DeValue::Array(a) if a.iter().all(|x| matches!(x.get_ref(), DeValue::Table(_))) && !a.is_empty() => {
                // A top-level section (`[[sinks]]`) holds named tables: `[sinks.NAME]`.
                let table = if path.contains('.') { path.to_string() } else { format!("{path}.NAME") };
                let message = format!("expected a table: write `[{table}]`, not `[[{path}]]` (a list of tables)");
                self.at(v.span(), path, message);
                None
            }
            _ => {
                self.at(v.span(), path, "expected a table".into());
                None
            }
        }
    }

    /// The keys every source or sink takes are not in serde's list of those a type expects:
    /// an unknown key's message (the last error) names them too, so that the list is whole.
    pub(super) fn name_common_keys(&mut self, e: &toml::de::Error, common: &[&str]) {
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
    pub(super) fn part<T: serde::de::DeserializeOwned>(
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
    pub(super) fn every_error<T>(
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

    pub(super) fn duration(
        &mut self,
        v: &Option<Spanned<String>>,
        path: &str,
        key: &str,
        default: Duration,
    ) -> Duration {
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
    pub(super) fn choice<T: Copy>(
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
    pub(super) fn duration_min(
        &mut self,
        v: &Option<Spanned<String>>,
        path: &str,
        key: &str,
        default: Duration,
        min: Duration,
    ) -> Duration {
        // A duration too short to read (`0.0001ms`) is told the bound, not to write "0s".
        if let Some(s) = v.as_ref().filter(|s| parse_duration(s.get_ref()).is_err_and(|e| e.contains("shorter than"))) {
            self.at(s.span(), &format!("{path}.{key}"), format!("`{}` is too short: at least {min:?}", s.get_ref()));
            return default;
        }
        let d = self.duration(v, path, key, default);
        if d >= min {
            return d;
        }
        if let Some(s) = v {
            self.at(s.span(), &format!("{path}.{key}"), format!("`{}` is too short: at least {min:?}", s.get_ref()));
        }
        default
    }

    pub(super) fn daemon(&mut self, t: &DeTable<'t>, span: Range<usize>) -> DaemonConfig {
        let mut d = DaemonConfig::default();
        if let Some(raw) = self.part::<DaemonToml>(t, span, "daemon", &[], true) {
            d.stats_interval =
                self.duration_min(&raw.stats_interval, "daemon", "stats_interval", d.stats_interval, SECOND);
            // No time at all would drop what a healthy sink still holds at a stop.
            d.shutdown_timeout =
                self.duration_min(&raw.shutdown_timeout, "daemon", "shutdown_timeout", d.shutdown_timeout, SECOND);
        }
        d
    }

    /// The table's `type`, if it is one of `allowed`; else `None`, with the mistake
    /// reported and `type` set aside, so that the table's other keys are still checked
    /// without a second word on it.
    pub(super) fn kind_of(
        &mut self,
        t: &DeTable<'t>,
        span: Range<usize>,
        path: &str,
        allowed: &[&str],
    ) -> Option<String> {
        let kind = self.type_in(t, span, path, allowed);
        if kind.is_none() {
            self.set_aside.push(join(path, "type"));
        }
        kind
    }

    pub(super) fn type_in(
        &mut self,
        t: &DeTable<'t>,
        span: Range<usize>,
        path: &str,
        allowed: &[&str],
    ) -> Option<String> {
        let Some(v) = entry(t, "type") else {
            // Unless it was there, and reported already (an unset variable).
            if !self.set_aside.contains(&join(path, "type")) {
                let expected = allowed.join(", ");
                // A key a letter off in any case (`typ`, `Type`, `tpye` is two) is placed and named.
                let near = t
                    .iter()
                    .find(|(k, _)| crate::field_names::distance(&k.get_ref().to_ascii_lowercase(), "type") <= 1);
                match near {
                    Some((k, _)) => self.at(
                        k.span(),
                        &join(path, &toml_key(k.get_ref())),
                        format!("missing `type`: is `{}` meant to be `type`? expected one of: {expected}", k.get_ref()),
                    ),
                    None => self.at(span, path, format!("missing `type`; expected one of: {expected}")),
                }
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

    pub(super) fn source(&mut self, name: &str, v: &Spanned<DeValue<'t>>, path: &str) -> Option<SourceConfig> {
        let t = self.table(v, path)?;
        let span = v.span();
        let kind = self.kind_of(t, span.clone(), path, &["serial", "tcp", "replay", "stdin"]);
        let common: Option<SourceCommon> = self.part(t, span.clone(), path, SOURCE_COMMON, false);
        let decode = common.map(|common| self.source_decode(&common, path));
        let kind = self.source_kind(&kind?, t, span, path);
        Some(SourceConfig { name: name.to_string(), kind: kind?, decode: decode? })
    }

    /// A serial or tcp source's `read_timeout`: 60 s unless set, at least 1 s.
    fn read_timeout(&mut self, raw: &Option<Spanned<String>>, path: &str) -> Duration {
        self.duration_min(raw, path, "read_timeout", Duration::from_secs(60), SECOND)
    }

    pub(super) fn source_kind(
        &mut self,
        kind: &str,
        t: &DeTable<'t>,
        span: Range<usize>,
        path: &str,
    ) -> Option<SourceKind> {
        Some(match kind {
            "serial" => {
                let raw: SerialToml = self.part(t, span.clone(), path, SOURCE_COMMON, true)?;
                if raw.path.get_ref().trim().is_empty() {
                    self.at(
                        raw.path.span(),
                        &format!("{path}.path"),
                        "must name a serial device, e.g. /dev/ttyUSB0".into(),
                    );
                } else if let Ok(m) = std::fs::metadata(raw.path.get_ref()).map(|m| m.file_type()) {
                    // A device missing now may be plugged in later; a file never becomes one.
                    if m.is_file() || m.is_dir() {
                        let what = if m.is_dir() { "a directory" } else { "a file" };
                        self.at(
                            raw.path.span(),
                            &format!("{path}.path"),
                            format!("is {what}, not a serial device (a capture is read with type = \"replay\")"),
                        );
                    }
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
                    read_timeout: self.read_timeout(&raw.read_timeout, path),
                })
            }
            "tcp" => {
                let raw: TcpToml = self.part(t, span.clone(), path, SOURCE_COMMON, true)?;
                if let Some(problem) = host_port_problem(raw.address.get_ref()) {
                    self.at(raw.address.span(), &format!("{path}.address"), problem);
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
                    read_timeout: self.read_timeout(&raw.read_timeout, path),
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
                if let Some(problem) = crate::source::replay::recording_problem(&file) {
                    let note = if file.exists() { String::new() } else { relative_note(&file) };
                    self.at(
                        raw.path.span(),
                        &format!("{path}.path"),
                        format!("recording `{}` {problem}{note}", file.display()),
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

    pub(super) fn source_decode(&mut self, common: &SourceCommon, path: &str) -> DecodeSettings {
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
            // Past what the platform can address, the bound is the most it can hold.
            decode.max_telegram_bytes = usize::try_from(*max.get_ref()).unwrap_or(usize::MAX);
            if decode.max_telegram_bytes < MIN_TELEGRAM {
                let msg = format!(
                    "must be at least {MIN_TELEGRAM}: no telegram is that short (the default is {DEFAULT_MAX_TELEGRAM})"
                );
                self.at(max.span(), &format!("{path}.max_telegram_bytes"), msg);
            }
        }
        decode
    }

    pub(super) fn sink(&mut self, name: &str, v: &Spanned<DeValue<'t>>, path: &str) -> Option<SinkSpec> {
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
    pub(super) fn sink_pipeline(
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
            // A bound is what keeps a dead sink from taking the memory: about 3 KB a
            // reading, so the largest queue is some 3 GB (eleven days at one a second).
            let problem = match q {
                0 => Some("must be at least 1".to_string()),
                q if q > MAX_QUEUE as u64 => Some(format!("must be at most {MAX_QUEUE} (about 3 GB of readings)")),
                _ => None,
            };
            if let Some(problem) = problem {
                let at = entry(t, "queue").map_or(v.span(), |val| val.span());
                self.at(at, &format!("{path}.queue"), problem);
            }
            p.queue = usize::try_from(q).map_or(MAX_QUEUE, |q| q.clamp(1, MAX_QUEUE));
        }
        p
    }
}

/// The word of letters, digits, `_` and `-` at `at`, when it ends the value there (a line
/// end, a blank, a comment, `,` or `}` follows) and is no boolean cut short (`tru`, `f`),
/// which the toml reader's own message tells best.
fn bare_word(text: &str, at: usize) -> Option<&str> {
    let rest = text.get(at..)?;
    let len = rest.bytes().take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-')).count();
    let ends = rest[len..].chars().next().is_none_or(|c| c.is_whitespace() || matches!(c, '#' | ',' | '}'));
    let word = &rest[..len];
    let boolean = "true".starts_with(word) || "false".starts_with(word);
    (len > 0 && ends && !boolean).then_some(word)
}

/// The entries of `table` whose key is in `keys` (or, with `invert`, is not).
pub(super) fn select<'i>(table: &DeTable<'i>, keys: &[&str], invert: bool) -> DeTable<'i> {
    let mut sub = DeTable::new();
    for (k, v) in table {
        if keys.contains(&k.get_ref().as_ref()) != invert {
            sub.insert(k.clone(), v.clone());
        }
    }
    sub
}

/// What is wrong with a TCP source's `address`, which must be `HOST:PORT` (a name, an IPv4
/// address or a bracketed IPv6 one, and a port from 1): `None` when nothing. An address
/// with `@` is not echoed, since what precedes the `@` may be a password.
fn host_port_problem(addr: &str) -> Option<String> {
    const EXAMPLE: &str = "(e.g. 192.168.1.20:2001 or [fd00::20]:2001)";
    if addr.contains('@') {
        return Some(format!("is not HOST:PORT: a TCP source takes no user or password before `@` {EXAMPLE}"));
    }
    if let Some((scheme, _)) = addr.split_once("://") {
        return Some(format!("`{addr}` is not HOST:PORT: leave out `{scheme}://` {EXAMPLE}"));
    }
    let Some((host, port)) = addr.rsplit_once(':') else {
        return Some(format!("`{addr}` is not HOST:PORT: it has no port {EXAMPLE}"));
    };
    let host_ok = match host.strip_prefix('[') {
        // With a zone, it must be the interface's number (`[fe80::1%2]`), as std reads it.
        Some(inner) if inner.contains('%') && addr.parse::<std::net::SocketAddrV6>().is_err() => {
            return Some(format!(
                "`{addr}` is not HOST:PORT: give the IPv6 zone as the interface's number (`[fe80::1%2]:2001`; `ip link` lists them)"
            ));
        }
        Some(_) if addr.parse::<std::net::SocketAddrV6>().is_ok() => true,
        Some(inner) => inner.strip_suffix(']').is_some_and(|ip| ip.parse::<std::net::Ipv6Addr>().is_ok()),
        None if host.contains(':') => {
            return Some(format!("`{addr}` is not HOST:PORT: write an IPv6 address in brackets {EXAMPLE}"));
        }
        None => !host.is_empty() && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_')),
    };
    if !host_ok {
        return Some(format!("`{addr}` is not HOST:PORT: `{host}` is no host name or address {EXAMPLE}"));
    }
    match port.parse::<u16>() {
        Ok(0) => Some(format!("`{addr}` is not HOST:PORT: port 0 is no port {EXAMPLE}")),
        Ok(_) => None,
        Err(_) => Some(format!("`{addr}` is not HOST:PORT: `{port}` is no port (1 to 65535) {EXAMPLE}")),
    }
}

#[cfg(test)]
mod address_tests {
    use super::host_port_problem;

    #[test]
    fn tcp_addresses_are_host_and_port() {
        for good in [
            "192.168.1.20:2001",
            "p1-dongle.local:23",
            "[::1]:2001",
            "[fd00::20]:2001",
            "meter_1:65535",
            "[fe80::1%2]:2001",
        ] {
            assert_eq!(host_port_problem(good), None, "{good}");
        }
        let problem = |a: &str| host_port_problem(a).unwrap_or_default();
        assert!(problem("192.168.1.20").contains("it has no port"));
        assert!(problem("tcp://127.0.0.1:2001").contains("leave out `tcp://`"));
        assert!(problem("::1:2001").contains("IPv6 address in brackets"));
        assert!(problem("[::1:2001").contains("`[::1` is no host name or address"));
        assert!(problem("a b:2001").contains("`a b` is no host name"));
        assert!(problem(":2001").contains("`` is no host name"));
        assert!(problem("127.0.0.1:0").contains("port 0 is no port"));
        assert!(problem("127.0.0.1:http").contains("`http` is no port"));
        assert!(problem("127.0.0.1:70000").contains("`70000` is no port"));
        assert!(problem("[fe80::1%eth0]:2001").contains("the interface's number"));
        assert!(problem("[::1]:0").contains("port 0 is no port"));
        // Userinfo is refused without being repeated.
        let userinfo = problem("admin:s3cret@192.168.1.20:2001");
        assert!(userinfo.contains("no user or password") && !userinfo.contains("s3cret"), "{userinfo}");
    }
}
