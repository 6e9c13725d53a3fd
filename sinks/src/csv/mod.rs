//! The csv sink: one row per reading in a CSV file, for spreadsheets and quick analysis.
//!
//! ```toml
//! [sinks.file]
//! type = "csv"
//! path = "/var/lib/dsmrd/readings.csv"
//! rotate = "daily"
//! fields = ["electricity_used_tariff_1", "electricity_used_tariff_2", "hourly_gas_meter_reading"]
//! ```
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `path` | (required) | the file to write; its directory must exist |
//! | `delimiter` | `","` | one character between cells, e.g. `";"` or `"\t"` (not `"`, CR or LF) |
//! | `rotate` | `"none"` | `"none"`: one file; `"daily"`: one file per UTC day of the readings, the date inserted before the extension (`readings.csv` → `readings-2019-03-24.csv`) |
//! | `fields` | the fields of the first reading | the field columns, in order; a column `NAME_time` holds the own time of field `NAME` (M-Bus capture time, peak time) |
//!
//! **Columns.** Every file starts with a header line. The first three columns are always
//! `time` (the reading's time), `source` and `meter_id`; the field columns follow. Without
//! `fields` they are the fields of the first reading written to a new file, in telegram
//! order, each field that has its own time followed by a `NAME_time` column. A field missing
//! from a later reading leaves its cell empty; a field of a later reading that has no column
//! is left out, with one warning naming the fields left out (list them in `fields`, or move
//! the file away so that a new one starts). History entries (power-failure log, monthly
//! peaks) are not written. A name in `fields` a letter or two off one a meter gives
//! (`electricity_used_tarif_1`) is a configuration error that names the likely one. A
//! listed field that a meter gives only under a longer name (`equipment_identifier` of a
//! Belgian meter, whose serial number is `belgium_equipment_identifier`) leaves its column
//! empty, with one warning naming the field to list instead.
//!
//! **Cells.** Times are RFC 3339 in UTC to the second (`2019-03-24T14:05:41Z`). Numbers are
//! written in their shortest exact form (`3432.829`, `0`, `0.30000000000000004`); a non-finite
//! number leaves the cell empty. Text is quoted as RFC 4180 says when it holds the delimiter, a
//! double quote, CR or LF (`"say ""hi"""`). Lines end with LF.
//!
//! **Existing files.** A file that already exists is appended to when its first line is the
//! header this sink would write, or, without `fields`, when its header starts with
//! `time,source,meter_id` (its columns are then adopted). An empty file counts as new. Any
//! other file is left untouched: it is renamed to `STEM.TIMESTAMP.EXT`
//! (`readings.20250101T000000Z.csv`, the current UTC time) and a new file is started, with a
//! warning. When the file does not end with a line break (a row cut off by a full disk or a
//! crash), that partial row is cut away before the first new row, so every row stays whole
//! (after a full disk, the rows it held are written again whole). dsmrd ends every row with
//! a line break, so a last row without one is cut even when it has every column (the cut
//! may fall inside its last number), back to where that row began (a quoted text cell may
//! span lines); the warning shows its text. A batch whose write or sync fails is taken back
//! from the file before it is retried, so no row is written twice.
//!
//! **Delivery.** Rows are buffered; after each batch they are written out to the OS, and
//! synced to disk (`fsync` of the data) at most every 5 s and on shutdown: an fsync per
//! telegram would wear out an SD card for no gain. After a write error the rows of the batch
//! are taken back and the file is closed, to be reopened on the next attempt, which writes
//! the whole batch again; only when taking them back fails too can rows appear twice. The
//! health check opens (creating when missing) the file the
//! sink would write now; with `rotate = "daily"` and no file for today yet it creates and
//! removes a probe file in the directory instead.
//!
//! **Rotation by other tools.** When another tool moves or removes the file (logrotate's
//! default `create` mode), the sink notices at its next sync, within 5 s, and starts a new
//! file with a header at `path`; rows written in between are in the moved file, so none are
//! lost (a removed file takes them with it). logrotate's `copytruncate` mode is not detected
//! (rows would continue without a header): use `create`, or `rotate = "daily"` and no
//! logrotate at all.

mod format;
mod writer;

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::OpenOptions;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use jiff::Timestamp;
use serde::{Deserialize, Deserializer};

use crate::{BuildSink, Healthcheck, Reading, Sink, SinkError};
use writer::CsvWriter;

/// The columns every file starts with.
const BASE: [&str; 3] = ["time", "source", "meter_id"];

/// The longest first line read from an existing file; a longer one is not a header of ours.
const MAX_HEADER: u64 = 1 << 20;

/// The `[sinks.NAME]` table of a `type = "csv"` sink.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The file to write (with `rotate = "daily"`, the name the date is inserted into).
    pub path: PathBuf,
    /// The character between cells.
    #[serde(default = "comma", deserialize_with = "delimiter")]
    pub delimiter: char,
    /// Whether to start a new file for every UTC day.
    #[serde(default)]
    pub rotate: Rotate,
    /// The field columns; `None` takes them from the first reading of each new file.
    #[serde(default, deserialize_with = "fields")]
    pub fields: Option<Vec<String>>,
}

/// When the csv sink starts a new file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Rotate {
    /// One file, forever.
    #[default]
    None,
    /// One file per UTC day of the readings' times.
    Daily,
}

fn comma() -> char {
    ','
}

fn delimiter<'de, D: Deserializer<'de>>(d: D) -> Result<char, D::Error> {
    let s = String::deserialize(d)?;
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if !matches!(c, '"' | '\r' | '\n') => Ok(c),
        _ => Err(serde::de::Error::custom(format!(
            "`{}` is not a usable delimiter; write one character other than a double quote or line break, e.g. \",\", \";\" or \"\\t\"",
            s.escape_debug()
        ))),
    }
}

fn fields<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    let list = Vec::<String>::deserialize(d)?;
    let bad = |msg: String| Err(serde::de::Error::custom(msg));
    if list.is_empty() {
        return bad(
            "`fields` is empty; list at least one field, or leave `fields` out to take the fields of the first reading"
                .into(),
        );
    }
    let mut seen = HashSet::new();
    for name in &list {
        if name.is_empty() || name.contains(['\r', '\n']) {
            return bad(format!("`{}` is not a field name", name.escape_debug()));
        }
        if BASE.contains(&name.as_str()) {
            return bad(format!(
                "`{name}` is always the first columns (time, source, meter_id); leave it out of `fields`"
            ));
        }
        if !seen.insert(name) {
            return bad(format!("`{name}` is listed twice"));
        }
    }
    Ok(Some(list))
}

impl BuildSink for Config {
    const TYPE: &'static str = "csv";

    fn describe(&self) -> String {
        let rotate = match self.rotate {
            Rotate::None => "no rotation",
            Rotate::Daily => "a new file every UTC day",
        };
        let fields = match &self.fields {
            Some(f) => format!("fields {}", f.join(", ")),
            None => "the fields of the first reading".into(),
        };
        format!("csv: {}, delimiter {:?}, {rotate}, {fields}", self.path.display(), self.delimiter)
    }

    fn build(self, name: &str) -> Result<(Box<dyn Sink>, Healthcheck), SinkError> {
        if self.path.file_name().is_none() {
            return Err(SinkError::Fatal(format!(
                "`path` {} does not name a file; write e.g. \"/var/lib/dsmrd/readings.csv\"",
                self.path.display()
            )));
        }
        let probe = self.path_for(Timestamp::now());
        let rotate = self.rotate;
        let health = Box::pin(async move {
            tokio::task::spawn_blocking(move || check_writable(&probe, rotate == Rotate::None))
                .await
                .map_err(|e| SinkError::Retryable(format!("health check did not finish: {e}")))?
        });
        let writer = CsvWriter::new(self, name);
        Ok((Box::new(CsvSink { writer: Arc::new(Mutex::new(writer)) }), health))
    }
}

impl Config {
    /// The file a reading at `time` goes to.
    fn path_for(&self, time: Timestamp) -> PathBuf {
        match self.rotate {
            Rotate::None => self.path.clone(),
            Rotate::Daily => insert_before_extension(&self.path, &format!("-{}", time.strftime("%Y-%m-%d"))),
        }
    }
}

/// `dir/stem.ext` → `dir/stem{insert}.ext`.
pub(super) fn insert_before_extension(path: &Path, insert: &str) -> PathBuf {
    let mut name = OsString::from(path.file_stem().unwrap_or_default());
    name.push(insert);
    if let Some(ext) = path.extension() {
        name.push(".");
        name.push(ext);
    }
    path.with_file_name(name)
}

/// The health check: the file can be opened for appending. When it is missing it is created
/// if `create`, else a probe file is created and removed next to it.
fn check_writable(path: &Path, create: bool) -> Result<(), SinkError> {
    let fail = |p: &Path, e: io::Error| {
        SinkError::Retryable(format!(
            "cannot write {}: {e}; check that the directory exists and is writable",
            p.display()
        ))
    };
    match OpenOptions::new().append(true).create(create).open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound && !create => {
            let mut name = OsString::from(".");
            name.push(path.file_name().unwrap_or_default());
            name.push(format!(".{}.check", std::process::id()));
            let probe = path.with_file_name(name);
            OpenOptions::new().write(true).create(true).truncate(true).open(&probe).map_err(|e| fail(&probe, e))?;
            std::fs::remove_file(&probe).map_err(|e| fail(&probe, e))
        }
        Err(e) => Err(fail(path, e)),
    }
}

/// The running sink. The file work is blocking, so it runs on tokio's blocking pool; the
/// mutex keeps a send whose future was dropped from overlapping the next one.
pub struct CsvSink {
    writer: Arc<Mutex<CsvWriter>>,
}

impl CsvSink {
    async fn blocking<F, T>(&self, work: F) -> Result<T, SinkError>
    where
        F: FnOnce(&mut CsvWriter) -> Result<T, SinkError> + Send + 'static,
        T: Send + 'static,
    {
        let writer = self.writer.clone();
        match tokio::task::spawn_blocking(move || work(&mut lock(&writer))).await {
            Ok(result) => result,
            // A bug, not a passing fault: retrying the batch would hit it again. It is
            // dropped (and counted); what it wrote is taken back when the writer is next
            // locked.
            Err(e) if e.is_panic() => Err(SinkError::Fatal("csv writer panicked; batch dropped".into())),
            Err(e) => Err(SinkError::Retryable(format!("csv write did not finish: {e}"))),
        }
    }
}

/// The writer even after a panic while it was held: the rows of the batch it was writing
/// are taken back, and the file is reopened.
fn lock(writer: &Mutex<CsvWriter>) -> MutexGuard<'_, CsvWriter> {
    match writer.lock() {
        Ok(w) => w,
        Err(poisoned) => {
            let mut w = poisoned.into_inner();
            w.roll_back();
            writer.clear_poison();
            w
        }
    }
}

#[async_trait::async_trait]
impl Sink for CsvSink {
    async fn send(&mut self, batch: &[Reading]) -> Result<(), SinkError> {
        // Every file call can block (an `open` of a FIFO, a hung network mount, a slow SD
        // card at a rotation), and the daemon's runtime has one thread: all of them, and the
        // lock of a writer such a call may hold, stay on the blocking pool. When the writer
        // is free and its file open, the rows are formatted here, next to the readings, and
        // only their bytes go to the pool; otherwise the batch is copied there whole.
        // A panic while formatting is a bug, handled as one on the pool: the batch is
        // dropped, and the writer, its lock poisoned, starts over with its file reopened.
        let writer = &self.writer;
        let prepared = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match writer.try_lock() {
            Ok(mut w) => w.prepare(batch),
            Err(_) => None,
        }));
        let written = match prepared {
            Err(_) => return Err(SinkError::Fatal("csv writer panicked; batch dropped".into())),
            Ok(Some(rows)) => self.blocking(move |w| w.write_prepared(rows)).await?,
            Ok(None) => false,
        };
        if written {
            return Ok(());
        }
        let batch = batch.to_vec();
        self.blocking(move |w| w.write(&batch)).await
    }

    async fn flush(&mut self) -> Result<(), SinkError> {
        self.blocking(|w| {
            if w.flush_buffer()? {
                w.sync()
            } else {
                // The batch is with the OS, and no sync is due: it is delivered.
                w.marks.clear();
                Ok(())
            }
        })
        .await
    }

    async fn close(&mut self) -> Result<(), SinkError> {
        self.blocking(|w| {
            w.flush_buffer()?;
            w.sync()
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::format::*;
    use super::writer::*;
    use super::*;
    use crate::{Field, FieldKind, FieldValue};

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn numbers_are_written_as_display_writes_them() {
        for n in [0.0, 1.0, -63.0, 3432.829, 0.1 + 0.2, 1e-4, 0.00012345, 123456789.125, 1e14 + 0.5, 5e-5, 1e20, -2.5] {
            let mut line = String::new();
            push_number(&mut line, n);
            assert_eq!(line, format!("{n}"), "{n:?}");
        }
        let mut line = String::new();
        push_number(&mut line, -0.0);
        assert_eq!(line, "0", "a negative zero is just zero in a spreadsheet");
    }

    fn num(name: &'static str, value: f64) -> Field {
        Field { name: name.into(), value: FieldValue::Number(value), unit: None, kind: FieldKind::Counter, time: None }
    }

    fn text(name: &'static str, value: &str) -> Field {
        Field {
            name: name.into(),
            value: FieldValue::Text(value.into()),
            unit: None,
            kind: FieldKind::Info,
            time: None,
        }
    }

    fn timed(name: &'static str, value: f64, time: &str) -> Field {
        Field { time: Some(ts(time)), ..num(name, value) }
    }

    fn reading(time: &str, fields: Vec<Field>) -> Reading {
        Reading {
            source: "meter".into(),
            meter_id: Some("E0044007131650618".into()),
            time: ts(time),
            time_from_meter: true,
            fields,
            series: vec![],
        }
    }

    fn config(path: &Path, extra: &str) -> Config {
        let json = format!(r#"{{"path":{}{extra}}}"#, serde_json::to_string(path.to_str().unwrap()).unwrap());
        serde_json::from_str(&json).unwrap()
    }

    fn writer(path: &Path, extra: &str) -> CsvWriter {
        let mut w = CsvWriter::new(config(path, extra), "file");
        w.clock = || "2025-01-01T00:00:00Z".parse().unwrap();
        w
    }

    /// As the sink delivers: rows formatted ahead when the file is open, else written whole.
    fn deliver(w: &mut CsvWriter, batch: &[Reading]) {
        match w.prepare(batch) {
            Some(rows) => {
                if !w.write_prepared(rows).unwrap() {
                    w.write(batch).unwrap();
                }
            }
            None => w.write(batch).unwrap(),
        }
        w.sync().unwrap();
    }

    fn read(path: &Path) -> String {
        fs::read_to_string(path).unwrap()
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> =
            fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        names
    }

    #[test]
    fn header_from_first_reading_empty_cells_and_ignored_new_fields() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("readings.csv");
        let mut w = writer(&path, "");
        let first = reading(
            "2019-03-24T14:05:41Z",
            vec![
                num("electricity_used_tariff_1", 3432.829),
                text("electricity_active_tariff", "0002"),
                timed("hourly_gas_meter_reading", 1234.567, "2019-03-24T14:00:00Z"),
                num("current_electricity_usage", 0.0),
            ],
        );
        let mut second = reading(
            "2019-03-24T14:05:51Z",
            vec![
                num("electricity_used_tariff_1", 0.1 + 0.2),
                num("voltage_l1", 230.1),
                num("current_electricity_usage", 1e21),
            ],
        );
        second.meter_id = None;
        deliver(&mut w, &[first]);
        deliver(&mut w, &[second]);
        assert_eq!(
            read(&path),
            "time,source,meter_id,electricity_used_tariff_1,electricity_active_tariff,hourly_gas_meter_reading,hourly_gas_meter_reading_time,current_electricity_usage\n\
             2019-03-24T14:05:41Z,meter,E0044007131650618,3432.829,0002,1234.567,2019-03-24T14:00:00Z,0\n\
             2019-03-24T14:05:51Z,meter,,0.30000000000000004,,,,1000000000000000000000\n"
        );
        assert!(w.warned.contains("voltage_l1"));
    }

    #[test]
    fn text_is_quoted_when_it_must_be() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("readings.csv");
        let mut w = writer(&path, "");
        let mut r = reading(
            "2019-03-24T14:05:41Z",
            vec![
                text("message", "say \"hi\""),
                text("comma", "a,b"),
                text("lines", "one\ntwo\r\n"),
                text("semi", "a;b"),
                num("nan", f64::NAN),
            ],
        );
        r.source = "meter, upstairs".into();
        deliver(&mut w, &[r]);
        assert_eq!(
            read(&path),
            "time,source,meter_id,message,comma,lines,semi,nan\n\
             2019-03-24T14:05:41Z,\"meter, upstairs\",E0044007131650618,\"say \"\"hi\"\"\",\"a,b\",\"one\ntwo\r\n\",a;b,\n"
        );
    }

    #[test]
    fn explicit_fields_delimiter_and_own_time_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gas.csv");
        let mut w = writer(
            &path,
            r#","delimiter":";","fields":["hourly_gas_meter_reading_time","hourly_gas_meter_reading","a;b"]"#,
        );
        let r = reading(
            "2019-03-24T14:05:41Z",
            vec![
                num("ignored", 1.0),
                timed("hourly_gas_meter_reading", 1234.5, "2019-03-24T14:00:00Z"),
                num("a;b", 2.0),
            ],
        );
        deliver(&mut w, &[r.clone(), reading("2019-03-24T14:05:42Z", vec![])]);
        assert_eq!(
            read(&path),
            "time;source;meter_id;hourly_gas_meter_reading_time;hourly_gas_meter_reading;\"a;b\"\n\
             2019-03-24T14:05:41Z;meter;E0044007131650618;2019-03-24T14:00:00Z;1234.5;2\n\
             2019-03-24T14:05:42Z;meter;E0044007131650618;;;\n"
        );
        assert!(w.warned.is_empty(), "no warnings when the columns were chosen");

        // A restart appends below the same header.
        let mut w = writer(
            &path,
            r#","delimiter":";","fields":["hourly_gas_meter_reading_time","hourly_gas_meter_reading","a;b"]"#,
        );
        deliver(&mut w, &[r]);
        assert_eq!(read(&path).lines().count(), 4);
        assert!(
            read(&path).ends_with("\n2019-03-24T14:05:41Z;meter;E0044007131650618;2019-03-24T14:00:00Z;1234.5;2\n")
        );
        assert_eq!(names(dir.path()), ["gas.csv"]);
    }

    #[test]
    fn appends_to_a_compatible_file_adopting_its_columns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("readings.csv");
        fs::write(&path, "time,source,meter_id,b,a\n2019-03-24T00:00:00Z,meter,X,1,2\n").unwrap();
        let mut w = writer(&path, "");
        deliver(&mut w, &[reading("2019-03-24T14:05:41Z", vec![num("a", 3.0), num("c", 4.0), num("b", 5.0)])]);
        assert_eq!(
            read(&path),
            "time,source,meter_id,b,a\n\
             2019-03-24T00:00:00Z,meter,X,1,2\n\
             2019-03-24T14:05:41Z,meter,E0044007131650618,5,3\n"
        );
        assert_eq!(names(dir.path()), ["readings.csv"]);
        assert!(w.warned.contains("c"));
    }

    #[test]
    fn an_empty_file_counts_as_new() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("readings.csv");
        fs::write(&path, "").unwrap();
        let mut w = writer(&path, "");
        deliver(&mut w, &[reading("2019-03-24T14:05:41Z", vec![num("a", 1.5)])]);
        assert_eq!(read(&path), "time,source,meter_id,a\n2019-03-24T14:05:41Z,meter,E0044007131650618,1.5\n");
        assert_eq!(names(dir.path()), ["readings.csv"]);
    }

    #[test]
    fn an_incompatible_file_is_moved_aside_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("readings.csv");
        let old = "when,what\n2019-01-01,1\n";
        fs::write(&path, old).unwrap();
        // A file that an earlier rename already produced in the same second is kept too.
        fs::write(dir.path().join("readings.20250101T000000Z.csv"), "earlier\n").unwrap();
        let mut w = writer(&path, "");
        deliver(&mut w, &[reading("2019-03-24T14:05:41Z", vec![num("a", 1.0)])]);
        assert_eq!(read(&path), "time,source,meter_id,a\n2019-03-24T14:05:41Z,meter,E0044007131650618,1\n");
        assert_eq!(read(&dir.path().join("readings.20250101T000000Z-1.csv")), old);
        assert_eq!(read(&dir.path().join("readings.20250101T000000Z.csv")), "earlier\n");
        // And another one in the same second takes the next number.
        drop(w);
        fs::write(&path, "when,what\n2019-01-02,2\n").unwrap();
        let mut w = writer(&path, "");
        deliver(&mut w, &[reading("2019-03-24T14:05:51Z", vec![num("a", 2.0)])]);
        assert_eq!(read(&dir.path().join("readings.20250101T000000Z-2.csv")), "when,what\n2019-01-02,2\n");
        assert_eq!(read(&dir.path().join("readings.20250101T000000Z-1.csv")), old);
    }

    /// The columns are matched to a reading's fields by name, also when a reading has as
    /// many fields as the one before under other names or in another order, whether the
    /// names are the tables' own or made at run time (`hourly_gas_meter_reading_2`).
    #[test]
    fn fields_go_to_their_columns_when_only_names_or_order_change() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("readings.csv");
        let mut w = writer(&path, "");
        let owned =
            |name: &str, value: f64| Field { name: std::borrow::Cow::Owned(name.to_string()), ..num("", value) };
        let batches = [
            reading("2019-03-24T14:05:41Z", vec![num("a", 1.0), num("b", 2.0), owned("c_2", 3.0), owned("d_2", 4.0)]),
            // The tables' names change places, then the others, then both are new.
            reading("2019-03-24T14:05:51Z", vec![num("b", 5.0), num("a", 6.0), owned("c_2", 7.0), owned("d_2", 8.0)]),
            reading(
                "2019-03-24T14:06:01Z",
                vec![num("b", 9.0), num("a", 10.0), owned("d_2", 11.0), owned("c_2", 12.0)],
            ),
            reading(
                "2019-03-24T14:06:11Z",
                vec![num("b", 13.0), num("x", 14.0), owned("d_2", 15.0), owned("y_2", 16.0)],
            ),
        ];
        for r in &batches {
            deliver(&mut w, std::slice::from_ref(r));
        }
        assert_eq!(
            read(&path),
            "time,source,meter_id,a,b,c_2,d_2\n\
             2019-03-24T14:05:41Z,meter,E0044007131650618,1,2,3,4\n\
             2019-03-24T14:05:51Z,meter,E0044007131650618,6,5,7,8\n\
             2019-03-24T14:06:01Z,meter,E0044007131650618,10,9,12,11\n\
             2019-03-24T14:06:11Z,meter,E0044007131650618,,13,,15\n"
        );
    }

    /// A batch that failed is taken back from every file it wrote to: across a rotation,
    /// from the day it began in and from the new day's file, header included.
    #[test]
    fn a_failed_batch_across_a_rotation_is_taken_back_from_both_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("readings.csv");
        let mut w = writer(&path, r#","rotate":"daily""#);
        deliver(&mut w, &[reading("2019-03-24T23:59:50Z", vec![num("a", 1.0)])]);
        let failed = [
            reading("2019-03-24T23:59:59Z", vec![num("a", 2.0)]),
            reading("2019-03-25T00:00:09Z", vec![num("a", 3.0)]),
            reading("2019-03-25T00:00:19Z", vec![num("a", 4.0)]),
        ];
        w.write(&failed).unwrap();
        w.flush_buffer().unwrap();
        let (day1, day2) = (dir.path().join("readings-2019-03-24.csv"), dir.path().join("readings-2019-03-25.csv"));
        assert_eq!(read(&day2).lines().count(), 3, "the rows reached the file");
        // As a failed sync does.
        w.roll_back();
        assert_eq!(read(&day1), "time,source,meter_id,a\n2019-03-24T23:59:50Z,meter,E0044007131650618,1\n");
        assert_eq!(read(&day2), "");
        // The retry writes the batch once.
        deliver(&mut w, &failed);
        assert_eq!(
            read(&day1),
            "time,source,meter_id,a\n\
             2019-03-24T23:59:50Z,meter,E0044007131650618,1\n\
             2019-03-24T23:59:59Z,meter,E0044007131650618,2\n"
        );
        assert_eq!(
            read(&day2),
            "time,source,meter_id,a\n\
             2019-03-25T00:00:09Z,meter,E0044007131650618,3\n\
             2019-03-25T00:00:19Z,meter,E0044007131650618,4\n"
        );
    }

    #[test]
    fn a_different_header_is_incompatible_when_fields_are_set() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("readings.csv");
        let old = "time,source,meter_id,a\n2019-01-01T00:00:00Z,meter,X,1\n";
        fs::write(&path, old).unwrap();
        let mut w = writer(&path, r#","fields":["a","b"]"#);
        deliver(&mut w, &[reading("2019-03-24T14:05:41Z", vec![num("b", 2.0)])]);
        assert_eq!(read(&path), "time,source,meter_id,a,b\n2019-03-24T14:05:41Z,meter,E0044007131650618,,2\n");
        assert_eq!(read(&dir.path().join("readings.20250101T000000Z.csv")), old);
    }

    #[test]
    fn a_file_without_a_complete_first_line_is_moved_aside() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("readings.csv");
        fs::write(&path, "time,sou").unwrap();
        let mut w = writer(&path, "");
        deliver(&mut w, &[reading("2019-03-24T14:05:41Z", vec![num("a", 1.0)])]);
        assert_eq!(read(&path), "time,source,meter_id,a\n2019-03-24T14:05:41Z,meter,E0044007131650618,1\n");
        assert_eq!(read(&dir.path().join("readings.20250101T000000Z.csv")), "time,sou");
    }

    /// The file at `path` as it is after a writer with `fields` opens a file holding
    /// `existing` and appends one reading of `a` = 2 at 14:05:51Z.
    fn appended_to(path: &Path, existing: &str, fields: &str) -> String {
        fs::write(path, existing).unwrap();
        let mut w = writer(path, &format!(r#","fields":{fields}"#));
        deliver(&mut w, &[reading("2019-03-24T14:05:51Z", vec![num("a", 2.0)])]);
        read(path)
    }

    #[test]
    fn a_partial_last_row_is_cut_away_before_appending() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("readings.csv");
        // Longer than one read back from the end, to find the last line break.
        let partial = format!("2019-03-24T14:05:41Z,me{}", "x".repeat(5000));
        let existing = format!("time,source,meter_id,a\n2019-03-24T14:05:31Z,meter,X,1\n{partial}");
        assert_eq!(
            appended_to(&path, &existing, r#"["a"]"#),
            "time,source,meter_id,a\n\
             2019-03-24T14:05:31Z,meter,X,1\n\
             2019-03-24T14:05:51Z,meter,E0044007131650618,2\n"
        );
    }

    #[test]
    fn a_last_row_without_its_line_break_is_cut_even_with_every_column() {
        // A crash cut `230.1` to `23`: every column is there, the value is not.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("readings.csv");
        let existing = "time,source,meter_id,a\n2019-03-24T14:05:31Z,meter,X,230.4\n2019-03-24T14:05:41Z,meter,X,23";
        assert_eq!(
            appended_to(&path, existing, r#"["a"]"#),
            "time,source,meter_id,a\n\
             2019-03-24T14:05:31Z,meter,X,230.4\n\
             2019-03-24T14:05:51Z,meter,E0044007131650618,2\n"
        );
    }

    #[test]
    fn a_cut_row_with_a_line_break_in_a_quoted_cell_is_cut_whole() {
        // A text message with a line feed spans two lines; the crash cut its second one.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("readings.csv");
        let fields = r#"["text_message","a"]"#;
        let rows = "time,source,meter_id,text_message,a\n2019-03-24T14:05:31Z,meter,X,\"Hi\nthere\",1\n";
        assert_eq!(
            appended_to(&path, &format!("{rows}2019-03-24T14:05:41Z,meter,X,\"Hello\nWor"), fields),
            format!("{rows}2019-03-24T14:05:51Z,meter,E0044007131650618,,2\n")
        );
        // Cut within the time itself, and back to the header.
        assert_eq!(
            appended_to(&path, "time,source,meter_id,text_message,a\n2019-03-2", fields),
            "time,source,meter_id,text_message,a\n2019-03-24T14:05:51Z,meter,E0044007131650618,,2\n"
        );
    }

    /// What is cut is returned (the warning logs it, so that the row can be put back), and
    /// a file whose last 64 KiB hold no row start is cut at its last line break.
    #[test]
    fn the_cut_row_is_returned_and_a_long_tail_is_cut_at_its_last_line_break() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("readings.csv");
        let rows = "time,source,meter_id,a\n2019-03-24T14:05:31Z,meter,X,230.4\n";
        fs::write(&path, format!("{rows}2019-03-24T14:05:41Z,meter,X,23")).unwrap();
        assert_eq!(cut_partial_line(&path).unwrap(), b"2019-03-24T14:05:41Z,meter,X,23");
        assert_eq!(read(&path), rows);
        // A quoted text over more than 64 KiB of lines, none of which starts as a row.
        let long = format!("{rows}2019-03-24T14:05:41Z,meter,X,\"{}", "text\n".repeat(20_000));
        fs::write(&path, format!("{long}cut")).unwrap();
        assert_eq!(cut_partial_line(&path).unwrap(), b"cut");
        assert_eq!(read(&path), long);
    }

    #[test]
    fn daily_rotation_across_utc_midnight() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("readings.csv");
        let mut w = writer(&path, r#","rotate":"daily""#);
        deliver(
            &mut w,
            &[
                reading("2019-03-24T23:59:50Z", vec![num("a", 1.0)]),
                reading("2019-03-24T23:59:59Z", vec![num("a", 2.0)]),
                reading("2019-03-25T00:00:09Z", vec![num("b", 3.0), num("a", 4.0)]),
            ],
        );
        assert_eq!(
            read(&dir.path().join("readings-2019-03-24.csv")),
            "time,source,meter_id,a\n\
             2019-03-24T23:59:50Z,meter,E0044007131650618,1\n\
             2019-03-24T23:59:59Z,meter,E0044007131650618,2\n"
        );
        // The new day's file takes its columns from its own first reading.
        assert_eq!(
            read(&dir.path().join("readings-2019-03-25.csv")),
            "time,source,meter_id,b,a\n2019-03-25T00:00:09Z,meter,E0044007131650618,3,4\n"
        );
        assert_eq!(names(dir.path()), ["readings-2019-03-24.csv", "readings-2019-03-25.csv"]);
    }

    /// Rows are formatted ahead only for the file open now; rows formatted for a file
    /// that was closed or replaced since (a delivery given up on) are not written, and the
    /// batch is written whole instead.
    #[test]
    fn rows_formatted_ahead_go_only_to_the_file_they_were_made_for() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("readings.csv");
        let mut w = writer(&path, r#","rotate":"daily""#);
        let first = [reading("2019-03-24T23:59:50Z", vec![num("a", 1.0)])];
        assert!(w.prepare(&first).is_none(), "no file is open yet");
        deliver(&mut w, &first);
        let next_day = [reading("2019-03-25T00:00:00Z", vec![num("a", 2.0)])];
        assert!(w.prepare(&next_day).is_none(), "a rotation is due");
        let second = [reading("2019-03-24T23:59:59Z", vec![num("a", 3.0)])];
        let rows = w.prepare(&second).unwrap();
        w.roll_back();
        assert!(!w.write_prepared(rows).unwrap(), "written to a file closed since");
        let day = dir.path().join("readings-2019-03-24.csv");
        assert_eq!(read(&day), "time,source,meter_id,a\n2019-03-24T23:59:50Z,meter,E0044007131650618,1\n");
        deliver(&mut w, &second);
        assert_eq!(
            read(&day),
            "time,source,meter_id,a\n\
             2019-03-24T23:59:50Z,meter,E0044007131650618,1\n\
             2019-03-24T23:59:59Z,meter,E0044007131650618,3\n"
        );
        // Made for the 24th's file, which a rotation to the 25th's replaced since.
        let late = w.prepare(&second).unwrap();
        deliver(&mut w, &next_day);
        assert!(!w.write_prepared(late).unwrap(), "written to the file that replaced its own");
        w.sync().unwrap();
        assert_eq!(
            read(&dir.path().join("readings-2019-03-25.csv")),
            "time,source,meter_id,a\n2019-03-25T00:00:00Z,meter,E0044007131650618,2\n"
        );
    }

    #[test]
    fn record_parsing_and_paths() {
        assert_eq!(parse_record(r#"time,"a,b","say ""hi""",,x"#, ','), ["time", "a,b", "say \"hi\"", "", "x"]);
        assert_eq!(parse_record("a\tb", '\t'), ["a", "b"]);
        assert_eq!(
            insert_before_extension(Path::new("/d/readings.csv"), "-2019-03-24"),
            Path::new("/d/readings-2019-03-24.csv")
        );
        assert_eq!(insert_before_extension(Path::new("readings"), ".x"), Path::new("readings.x"));
    }

    #[test]
    fn config_keys_defaults_and_errors() {
        let c = config(Path::new("/d/r.csv"), "");
        assert_eq!((c.delimiter, c.rotate, c.fields.clone()), (',', Rotate::None, None));
        assert_eq!(c.describe(), "csv: /d/r.csv, delimiter ',', no rotation, the fields of the first reading");
        let c = config(Path::new("/d/r.csv"), r#","delimiter":"\t","rotate":"daily","fields":["a","b"]"#);
        assert_eq!(
            (c.delimiter, c.rotate, c.fields.clone()),
            ('\t', Rotate::Daily, Some(vec!["a".into(), "b".into()]))
        );
        assert_eq!(c.describe(), "csv: /d/r.csv, delimiter '\\t', a new file every UTC day, fields a, b");
        for bad in [
            r#"{}"#,
            r#"{"path":"r.csv","delimiter":";;"}"#,
            r#"{"path":"r.csv","delimiter":"\""}"#,
            r#"{"path":"r.csv","delimiter":""}"#,
            r#"{"path":"r.csv","rotate":"hourly"}"#,
            r#"{"path":"r.csv","fields":[]}"#,
            r#"{"path":"r.csv","fields":["a","a"]}"#,
            r#"{"path":"r.csv","fields":["time"]}"#,
            r#"{"path":"r.csv","colour":true}"#,
        ] {
            assert!(serde_json::from_str::<Config>(bad).is_err(), "{bad} was accepted");
        }
        for bad in [r#"["a",""]"#, r#"["a\nb"]"#, r#"["a\r"]"#] {
            let json = format!(r#"{{"path":"r.csv","fields":{bad}}}"#);
            let err = serde_json::from_str::<Config>(&json).err().map(|e| e.to_string());
            assert!(err.as_deref().is_some_and(|e| e.contains("is not a field name")), "{bad}: {err:?}");
        }
    }

    #[tokio::test]
    async fn the_sink_writes_through_the_blocking_pool() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("readings.csv");
        let (mut sink, health) = config(&path, "").build("file").unwrap();
        health.await.unwrap();
        sink.send(&[reading("2019-03-24T14:05:41Z", vec![num("a", 1.0)])]).await.unwrap();
        sink.flush().await.unwrap();
        assert_eq!(read(&path), "time,source,meter_id,a\n2019-03-24T14:05:41Z,meter,E0044007131650618,1\n");
    }

    /// A panic in the writer is a bug: its batch is dropped for good (not retried into
    /// doubled rows), and the rows it had written are taken back.
    #[tokio::test]
    async fn a_panic_while_writing_drops_the_batch_and_takes_its_rows_back() {
        // On the blocking pool.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("readings.csv");
        let sink = CsvSink { writer: Arc::new(Mutex::new(writer(&path, ""))) };
        let first = [reading("2019-03-24T14:05:41Z", vec![num("a", 1.0)])];
        sink.blocking(move |w| w.write(&first)).await.unwrap();
        sink.blocking(|w| w.sync()).await.unwrap();
        let second = [reading("2019-03-24T14:05:51Z", vec![num("a", 2.0)])];
        let result: Result<(), _> = sink
            .blocking(move |w| {
                w.write(&second)?;
                w.flush_buffer()?;
                panic!("a bug in the writer");
            })
            .await;
        assert!(matches!(result, Err(SinkError::Fatal(_))), "{result:?}");
        let third = [reading("2019-03-24T14:06:01Z", vec![num("a", 3.0)])];
        let mut sink = sink;
        sink.send(&third).await.unwrap();
        sink.close().await.unwrap();
        assert_eq!(read(&path), FIRST_AND_THIRD);
    }

    /// The file after the first and third of three batches, the second dropped.
    const FIRST_AND_THIRD: &str = "time,source,meter_id,a\n\
        2019-03-24T14:05:41Z,meter,E0044007131650618,1\n\
        2019-03-24T14:06:01Z,meter,E0044007131650618,3\n";

    /// The same for a panic while formatting rows on the runtime's thread.
    #[tokio::test(flavor = "current_thread")]
    async fn a_panic_while_formatting_drops_the_batch() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("readings.csv");
        let mut sink = CsvSink { writer: Arc::new(Mutex::new(writer(&path, ""))) };
        sink.send(&[reading("2019-03-24T14:05:41Z", vec![num("a", 1.0)])]).await.unwrap();
        sink.flush().await.unwrap();
        lock(&sink.writer).panic_in_prepare = true;
        let result = sink.send(&[reading("2019-03-24T14:05:51Z", vec![num("a", 2.0)])]).await;
        assert!(matches!(result, Err(SinkError::Fatal(_))), "{result:?}");
        assert!(sink.writer.is_poisoned());
        lock(&sink.writer).panic_in_prepare = false;
        sink.send(&[reading("2019-03-24T14:06:01Z", vec![num("a", 3.0)])]).await.unwrap();
        sink.close().await.unwrap();
        assert_eq!(read(&path), FIRST_AND_THIRD);
    }

    /// A file call that does not return (its writer held elsewhere, as a stuck `open`
    /// holds it) leaves this one-thread runtime free: the timer still fires.
    #[tokio::test(flavor = "current_thread")]
    async fn a_stuck_file_call_does_not_stop_the_runtime() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("readings.csv");
        let mut sink = CsvSink { writer: Arc::new(Mutex::new(writer(&path, ""))) };
        let writer = sink.writer.clone();
        let (held_tx, held_rx) = std::sync::mpsc::channel();
        let holder = std::thread::spawn(move || {
            let _guard = writer.lock().unwrap();
            held_tx.send(()).unwrap();
            std::thread::sleep(std::time::Duration::from_secs(2));
        });
        held_rx.recv().unwrap();
        let batch = [reading("2019-03-24T14:05:41Z", vec![num("a", 1.0)])];
        let quick = std::time::Duration::from_millis(200);
        assert!(tokio::time::timeout(quick, sink.send(&batch)).await.is_err(), "send held the runtime");
        assert!(tokio::time::timeout(quick, sink.flush()).await.is_err(), "flush held the runtime");
        holder.join().unwrap();
        sink.send(&batch).await.unwrap();
        sink.close().await.unwrap();
        assert!(read(&path).ends_with("2019-03-24T14:05:41Z,meter,E0044007131650618,1\n"), "{}", read(&path));
    }

    #[tokio::test]
    async fn health_checks() {
        let dir = tempfile::tempdir().unwrap();
        // rotate = "daily": no file for today is left behind.
        let (_sink, health) = config(&dir.path().join("r.csv"), r#","rotate":"daily""#).build("file").unwrap();
        health.await.unwrap();
        assert!(names(dir.path()).is_empty());
        let missing = dir.path().join("nope").join("r.csv");
        let (_sink, health) = config(&missing, "").build("file").unwrap();
        let err = health.await.unwrap_err();
        assert!(err.to_string().starts_with(&format!("cannot write {}", missing.display())), "{err}");
        assert!(config(Path::new("/"), "").build("file").is_err());
    }

    proptest::proptest! {
        /// Numbers print as `Display` prints them: meter-like decimals and any finite f64.
        #[test]
        fn numbers_print_as_display_does(m in proptest::prop_oneof![-2000i64..2000, -10_000_000_000_000i64..10_000_000_000_000], k in 0u32..8, bits in proptest::num::f64::NORMAL | proptest::num::f64::SUBNORMAL | proptest::num::f64::ZERO) {
            let n = m as f64 / 10f64.powi(k as i32);
            for x in [n, bits] {
                let mut line = String::new();
                push_number(&mut line, x);
                proptest::prop_assert_eq!(line, format!("{x}"));
            }
        }
    }

    #[test]
    fn a_file_moved_away_by_logrotate_is_followed_by_a_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("readings.csv");
        let rotated = dir.path().join("readings.csv.1");
        let mut w = writer(&path, "");
        deliver(&mut w, &[reading("2019-03-24T14:05:41Z", vec![num("a", 1.0)])]);
        fs::rename(&path, &rotated).unwrap();
        // Written before the sink looks: into the moved file, which is where logrotate
        // expects late rows.
        deliver(&mut w, &[reading("2019-03-24T14:05:42Z", vec![num("a", 2.0)])]);
        deliver(&mut w, &[reading("2019-03-24T14:05:43Z", vec![num("a", 3.0)])]);
        assert_eq!(
            read(&rotated),
            "time,source,meter_id,a\n\
             2019-03-24T14:05:41Z,meter,E0044007131650618,1\n\
             2019-03-24T14:05:42Z,meter,E0044007131650618,2\n"
        );
        assert_eq!(read(&path), "time,source,meter_id,a\n2019-03-24T14:05:43Z,meter,E0044007131650618,3\n");

        // Removed outright: the same.
        fs::remove_file(&path).unwrap();
        deliver(&mut w, &[reading("2019-03-24T14:05:44Z", vec![num("a", 4.0)])]);
        deliver(&mut w, &[reading("2019-03-24T14:05:45Z", vec![num("a", 5.0)])]);
        assert_eq!(read(&path), "time,source,meter_id,a\n2019-03-24T14:05:45Z,meter,E0044007131650618,5\n");

        // Moved, and a new empty file made in its place (logrotate's `create`): the sink
        // moves on to that one, on the same file system.
        fs::rename(&path, &rotated).unwrap();
        fs::File::create(&path).unwrap();
        deliver(&mut w, &[reading("2019-03-24T14:05:46Z", vec![num("a", 6.0)])]);
        deliver(&mut w, &[reading("2019-03-24T14:05:47Z", vec![num("a", 7.0)])]);
        assert_eq!(read(&path), "time,source,meter_id,a\n2019-03-24T14:05:47Z,meter,E0044007131650618,7\n");
    }

    /// A file that cannot be synced at all (here a pipe, made for the test; `/dev/null` and
    /// some network file systems answer the same EINVAL) has nothing to make durable: not an
    /// error, where a regular file is synced.
    #[cfg(unix)]
    #[test]
    fn a_file_that_cannot_be_synced_is_no_error() {
        let (_reader, writer) = std::io::pipe().unwrap();
        let pipe = fs::File::from(std::os::fd::OwnedFd::from(writer));
        assert_eq!(pipe.sync_data().map_err(|e| e.kind()), Err(std::io::ErrorKind::InvalidInput));
        assert!(sync_data(&pipe).is_ok());
        let dir = tempfile::tempdir().unwrap();
        let file = fs::File::create(dir.path().join("f")).unwrap();
        assert!(sync_data(&file).is_ok());
    }
}
