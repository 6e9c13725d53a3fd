//! The stdout sink: every reading on standard output, as a readable table or as JSON Lines.
//! Meant for trying a setup out and for piping into other tools (`jq`, `grep`).
//!
//! ```toml
//! [sinks.console]
//! type = "stdout"
//! format = "json"
//! ```
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `format` | `"table"` | `"table"`: a readable block per reading; `"json"`: JSON Lines, one object per reading |
//!
//! Times are RFC 3339 in UTC to the second (`2019-03-24T14:05:41Z`).
//!
//! **table**: a header line with the reading's time, source and meter id (`-` when the
//! telegram has none; ` (receive time)` is added when the telegram carried no time of its own),
//! then one aligned line per field: name, value, unit, and the field's own time when it has
//! one; history entries (power failures, monthly peaks) follow as lines of the same shape.
//! An empty line ends each block.
//!
//! ```text
//! 2019-03-24T14:05:41Z  meter  E0044007131650618
//!   electricity_used_tariff_1  3432.829  kWh
//!   electricity_active_tariff  0002
//!   hourly_gas_meter_reading   1234.567  m3   2019-03-24T14:00:00Z
//!
//! ```
//!
//! **json**: one object per line, always with the same keys:
//!
//! ```json
//! {"time":"2019-03-24T14:05:41Z","source":"meter","meter_id":"E0044007131650618",
//!  "fields":{"electricity_used_tariff_1":3432.829,"electricity_active_tariff":"0002","hourly_gas_meter_reading":1234.567},
//!  "units":{"electricity_used_tariff_1":"kWh","hourly_gas_meter_reading":"m3"},
//!  "times":{"hourly_gas_meter_reading":"2019-03-24T14:00:00Z"},
//!  "series":[{"name":"power_event_failure_log","time":"2018-04-17T18:14:58Z","value":236,"unit":"s"}]}
//! ```
//!
//! (shown wrapped; each object is one line.) `meter_id` is `null` when the telegram has none.
//! `fields` holds every value in telegram order: numbers as JSON numbers (whole numbers without
//! a fraction, as `dsmrd parse` writes them; a non-finite number as `null`), text as strings.
//! `units` and `times` hold only the fields that have a unit or their own time; `series` the
//! history entries (empty when there are none).
//!
//! Each batch is written and flushed at once. A closed standard output (broken pipe) switches
//! the sink off with one error (the other sinks go on); other write errors are retried by the
//! pipeline.

use std::fmt::Write as _;

use serde::Deserialize;
use serde_json::{Map, Value as J};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::{BuildSink, FieldValue, Healthcheck, Reading, Sink, SinkError, healthy, rfc3339};

/// The `[sinks.NAME]` table of a `type = "stdout"` sink.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// How each reading is printed.
    #[serde(default)]
    pub format: Format,
}

/// The output format of the stdout sink.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// A readable, aligned block per reading.
    #[default]
    Table,
    /// JSON Lines: one object per reading.
    Json,
}

impl Format {
    fn as_str(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
        }
    }
}

impl BuildSink for Config {
    const TYPE: &'static str = "stdout";

    fn describe(&self) -> String {
        format!("stdout: format {}", self.format.as_str())
    }

    fn build(self, _name: &str) -> Result<(Box<dyn Sink>, Healthcheck), SinkError> {
        Ok((Box::new(StdoutSink::new(self.format, tokio::io::stdout())), healthy()))
    }
}

/// The running sink. Generic over its writer so tests can capture the exact bytes; the
/// daemon uses [`tokio::io::Stdout`].
pub struct StdoutSink<W = tokio::io::Stdout> {
    format: Format,
    out: W,
}

impl<W: AsyncWrite + Send + Unpin> StdoutSink<W> {
    pub fn new(format: Format, out: W) -> Self {
        StdoutSink { format, out }
    }

    /// The writer back, with everything written so far.
    pub fn into_inner(self) -> W {
        self.out
    }
}

#[async_trait::async_trait]
impl<W: AsyncWrite + Send + Unpin> Sink for StdoutSink<W> {
    async fn send(&mut self, batch: &[Reading]) -> Result<(), SinkError> {
        let mut text = String::new();
        for r in batch {
            match self.format {
                Format::Table => table(r, &mut text),
                Format::Json => {
                    text.push_str(&json(r).to_string());
                    text.push('\n');
                }
            }
        }
        self.out.write_all(text.as_bytes()).await.map_err(write_error)?;
        self.out.flush().await.map_err(write_error)
    }

    async fn flush(&mut self) -> Result<(), SinkError> {
        self.out.flush().await.map_err(write_error)
    }
}

fn write_error(e: std::io::Error) -> SinkError {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        SinkError::Closed("standard output is closed (broken pipe)".into())
    } else {
        SinkError::Retryable(format!("cannot write to standard output: {e}"))
    }
}

/// Append the table block of one reading to `out`.
fn table(r: &Reading, out: &mut String) {
    let meter = r.meter_id.as_deref().unwrap_or("-");
    let receive = if r.time_from_meter { "" } else { " (receive time)" };
    let _ = writeln!(out, "{}  {}  {}{}", rfc3339(r.time), r.source, meter, receive);

    let mut rows: Vec<[String; 4]> = Vec::with_capacity(r.fields.len() + r.series.len());
    for f in &r.fields {
        let value = match &f.value {
            FieldValue::Number(n) => n.to_string(),
            FieldValue::Text(s) => printable(s),
        };
        rows.push([
            f.name.to_string(),
            value,
            f.unit.as_deref().unwrap_or_default().to_string(),
            f.time.map(rfc3339).unwrap_or_default(),
        ]);
    }
    for p in &r.series {
        rows.push([
            p.name.to_string(),
            p.value.to_string(),
            p.unit.as_deref().unwrap_or_default().to_string(),
            rfc3339(p.time),
        ]);
    }
    let mut width = [0usize; 3];
    for row in &rows {
        for (w, cell) in width.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for [name, value, unit, time] in &rows {
        let line =
            format!("  {name:<w0$}  {value:<w1$}  {unit:<w2$}  {time}", w0 = width[0], w1 = width[1], w2 = width[2]);
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push('\n');
}

/// Text as it can be shown on one line: control characters escaped.
fn printable(s: &str) -> String {
    if s.chars().any(char::is_control) { s.escape_debug().to_string() } else { s.to_string() }
}

/// The JSON object of one reading (see the module documentation).
fn json(r: &Reading) -> J {
    let mut fields = Map::new();
    let mut units = Map::new();
    let mut times = Map::new();
    for f in &r.fields {
        let value = match &f.value {
            FieldValue::Number(n) => number(*n),
            FieldValue::Text(s) => J::String(s.to_string()),
        };
        fields.insert(f.name.to_string(), value);
        if let Some(u) = &f.unit {
            units.insert(f.name.to_string(), J::String(u.to_string()));
        }
        if let Some(t) = f.time {
            times.insert(f.name.to_string(), J::String(rfc3339(t)));
        }
    }
    let series = r
        .series
        .iter()
        .map(|p| {
            let mut m = Map::new();
            m.insert("name".into(), J::String(p.name.to_string()));
            m.insert("time".into(), J::String(rfc3339(p.time)));
            m.insert("value".into(), number(p.value));
            if let Some(u) = &p.unit {
                m.insert("unit".into(), J::String(u.to_string()));
            }
            J::Object(m)
        })
        .collect();
    let mut m = Map::new();
    m.insert("time".into(), J::String(rfc3339(r.time)));
    m.insert("source".into(), J::String(r.source.to_string()));
    m.insert("meter_id".into(), r.meter_id.as_deref().map_or(J::Null, |id| J::String(id.to_string())));
    m.insert("fields".into(), J::Object(fields));
    m.insert("units".into(), J::Object(units));
    m.insert("times".into(), J::Object(times));
    m.insert("series".into(), J::Array(series));
    J::Object(m)
}

/// A number as JSON: whole numbers without a fraction (`236`, not `236.0`), non-finite as null.
fn number(n: f64) -> J {
    // Below 2^53 every whole f64 is exactly an i64.
    if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 {
        J::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map_or(J::Null, J::Number)
    }
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;

    use super::*;
    use crate::{Field, FieldKind, SeriesPoint};

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn field(name: &'static str, value: FieldValue, unit: Option<&'static str>, time: Option<&str>) -> Field {
        Field { name: name.into(), value, unit: unit.map(Into::into), kind: FieldKind::Gauge, time: time.map(ts) }
    }

    fn reading() -> Reading {
        Reading {
            source: "meter".into(),
            meter_id: Some("E0044007131650618".into()),
            time: ts("2019-03-24T14:05:41Z"),
            time_from_meter: true,
            fields: vec![
                field("electricity_used_tariff_1", FieldValue::Number(3432.829), Some("kWh"), None),
                field("electricity_active_tariff", FieldValue::Text("0002".into()), None, None),
                field("current_electricity_usage", FieldValue::Number(0.0), Some("kW"), None),
                field(
                    "hourly_gas_meter_reading",
                    FieldValue::Number(1234.567),
                    Some("m3"),
                    Some("2019-03-24T14:00:00Z"),
                ),
            ],
            series: vec![SeriesPoint {
                name: "power_event_failure_log".into(),
                time: ts("2018-04-17T18:14:58Z"),
                value: 236.0,
                unit: Some("s".into()),
            }],
        }
    }

    async fn run(format: Format, batch: &[Reading]) -> String {
        let mut sink = StdoutSink::new(format, Vec::new());
        sink.send(batch).await.unwrap();
        sink.flush().await.unwrap();
        String::from_utf8(sink.into_inner()).unwrap()
    }

    #[tokio::test]
    async fn table_is_aligned_with_units_and_own_times() {
        let bare = Reading {
            meter_id: None,
            time_from_meter: false,
            fields: vec![],
            series: vec![],
            time: ts("2019-03-24T14:05:42.5Z"),
            ..reading()
        };
        let out = run(Format::Table, &[reading(), bare]).await;
        assert_eq!(
            out,
            "2019-03-24T14:05:41Z  meter  E0044007131650618\n\
             \x20 electricity_used_tariff_1  3432.829  kWh\n\
             \x20 electricity_active_tariff  0002\n\
             \x20 current_electricity_usage  0         kW\n\
             \x20 hourly_gas_meter_reading   1234.567  m3   2019-03-24T14:00:00Z\n\
             \x20 power_event_failure_log    236       s    2018-04-17T18:14:58Z\n\
             \n\
             2019-03-24T14:05:42Z  meter  - (receive time)\n\
             \n"
        );
    }

    #[tokio::test]
    async fn json_is_one_object_per_line() {
        let mut second = reading();
        second.meter_id = None;
        second.fields = vec![field("text", FieldValue::Text("a \"b\"\nc".into()), None, None)];
        second.series.clear();
        let out = run(Format::Json, &[reading(), second]).await;
        assert_eq!(
            out,
            concat!(
                r#"{"time":"2019-03-24T14:05:41Z","source":"meter","meter_id":"E0044007131650618","#,
                r#""fields":{"electricity_used_tariff_1":3432.829,"electricity_active_tariff":"0002","#,
                r#""current_electricity_usage":0,"hourly_gas_meter_reading":1234.567},"#,
                r#""units":{"electricity_used_tariff_1":"kWh","current_electricity_usage":"kW","hourly_gas_meter_reading":"m3"},"#,
                r#""times":{"hourly_gas_meter_reading":"2019-03-24T14:00:00Z"},"#,
                r#""series":[{"name":"power_event_failure_log","time":"2018-04-17T18:14:58Z","value":236,"unit":"s"}]}"#,
                "\n",
                r#"{"time":"2019-03-24T14:05:41Z","source":"meter","meter_id":null,"#,
                r#""fields":{"text":"a \"b\"\nc"},"units":{},"times":{},"series":[]}"#,
                "\n",
            )
        );
    }

    #[test]
    fn numbers_in_json() {
        assert_eq!(number(236.0).to_string(), "236");
        assert_eq!(number(-5.0).to_string(), "-5");
        assert_eq!(number(0.1).to_string(), "0.1");
        assert_eq!(number(f64::NAN), J::Null);
        assert_eq!(number(1e300).to_string(), "1e+300");
    }

    #[test]
    fn text_with_control_characters_stays_on_one_line() {
        assert_eq!(printable("a\nb"), "a\\nb");
        assert_eq!(printable("plain \"text\""), "plain \"text\"");
    }

    #[test]
    fn config_defaults_and_describe() {
        let c: Config = serde_json::from_str("{}").unwrap();
        assert_eq!(c.format, Format::Table);
        assert_eq!(c.describe(), "stdout: format table");
        let c: Config = serde_json::from_str(r#"{"format":"json"}"#).unwrap();
        assert_eq!(c.format, Format::Json);
        assert!(serde_json::from_str::<Config>(r#"{"format":"xml"}"#).is_err());
        assert!(serde_json::from_str::<Config>(r#"{"colour":true}"#).is_err());
    }

    #[tokio::test]
    async fn build_gives_a_healthy_sink() {
        let (_sink, health) = Config { format: Format::Json }.build("console").unwrap();
        assert_eq!(health.await, Ok(()));
    }
}
