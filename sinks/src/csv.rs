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
//! (`electricity_used_tarif_1`) is a configuration error that names the likely one.
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
//! (after a full disk, the rows it held are written again whole); a last row with every
//! column (an edited file) only gets its line break. A batch whose write or sync fails is
//! taken back from the file before it is retried, so no row is written twice.
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

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use jiff::Timestamp;
use serde::{Deserialize, Deserializer};

use crate::{BuildSink, FieldValue, Healthcheck, Reading, Sink, SinkError, push_rfc3339};

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
fn insert_before_extension(path: &Path, insert: &str) -> PathBuf {
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
    async fn blocking<F>(&self, work: F) -> Result<(), SinkError>
    where
        F: FnOnce(&mut CsvWriter) -> Result<(), SinkError> + Send + 'static,
    {
        let writer = self.writer.clone();
        tokio::task::spawn_blocking(move || work(&mut lock(&writer)))
            .await
            .map_err(|e| SinkError::Retryable(format!("csv write did not finish: {e}")))?
    }
}

/// The writer even after a panic while it was held (it then reopens its file).
fn lock(writer: &Mutex<CsvWriter>) -> MutexGuard<'_, CsvWriter> {
    match writer.lock() {
        Ok(w) => w,
        Err(poisoned) => {
            let mut w = poisoned.into_inner();
            w.abandon();
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
        // lock of a writer such a call may hold, stay on the blocking pool. A batch is a
        // few readings a second; copying it costs less than a stalled daemon.
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

/// The synchronous core: which file, which columns, and the rows.
struct CsvWriter {
    name: String,
    config: Config,
    /// The time used to name a file that is moved aside (the clock, except in tests).
    clock: fn() -> Timestamp,
    file: Option<OpenFile>,
    /// Fields already warned about as having no column.
    warned: HashSet<String>,
    /// When the file was last synced to disk.
    last_sync: Option<std::time::Instant>,
    /// A partial last row was reported; until the next sync succeeds, finding it again is
    /// not (a full disk makes every retry find one).
    cut_warned: bool,
    /// The files the batch being written went to (path and a handle of their own), with
    /// their lengths where it began.
    marks: Vec<(PathBuf, File, u64)>,
}

/// Rows reach the OS after every batch, the disk at least this often and on shutdown: an
/// fsync per telegram would wear out an SD card for no gain.
const SYNC_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// The file being written.
struct OpenFile {
    path: PathBuf,
    columns: Vec<String>,
    out: BufWriter<File>,
    /// Which field of a reading fills each field column, learned from the readings.
    layout: Layout,
}

/// The column → field mapping of the last reading, keyed by the identity of its field
/// names. Names are mostly `&'static str` from the tables, so consecutive readings of the
/// same meter have the same name pointers and reuse the mapping without comparing text.
#[derive(Default)]
struct Layout {
    /// The field names of the reading the mapping was made for.
    names: Vec<NameKey>,
    /// For each field column (after the base three), where its cell comes from.
    map: Vec<Cell>,
}

/// Where a column's cell comes from in a reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cell {
    /// The value of field `k`.
    Value(usize),
    /// The own time of field `k` (`hourly_gas_meter_reading_time`).
    TimeOf(usize),
    /// Nothing in this reading: an empty cell.
    Empty,
}

/// A field name as remembered by [`Layout`]: a static name by address (its text cannot
/// change), an owned one by its text (its address may be reused by another name).
enum NameKey {
    Static(usize, usize),
    Owned(String),
}

impl NameKey {
    fn of(name: &crate::Text) -> NameKey {
        match name {
            std::borrow::Cow::Borrowed(s) => NameKey::Static(s.as_ptr() as usize, s.len()),
            std::borrow::Cow::Owned(s) => NameKey::Owned(s.clone()),
        }
    }

    fn is(&self, name: &crate::Text) -> bool {
        match (self, name) {
            (NameKey::Static(p, l), std::borrow::Cow::Borrowed(s)) => *p == s.as_ptr() as usize && *l == s.len(),
            (NameKey::Owned(a), std::borrow::Cow::Owned(b)) => a == b,
            _ => false,
        }
    }
}

impl Layout {
    /// The mapping for `r`, and whether it had to be worked out anew.
    fn for_reading(&mut self, r: &Reading, columns: &[String]) -> (&[Cell], bool) {
        let same = self.names.len() == r.fields.len() && self.names.iter().zip(&r.fields).all(|(k, f)| k.is(&f.name));
        if !same {
            self.names = r.fields.iter().map(|f| NameKey::of(&f.name)).collect();
            let find = |name: &str| r.fields.iter().position(|f| f.name == name);
            self.map = columns
                .iter()
                .skip(BASE.len())
                .map(|c| match find(c) {
                    Some(k) => Cell::Value(k),
                    None => c.strip_suffix("_time").and_then(find).map_or(Cell::Empty, Cell::TimeOf),
                })
                .collect();
        }
        (&self.map, !same)
    }
}

/// What is at a path before the sink writes there.
enum Existing {
    /// Nothing, or an empty file: start a new file there.
    New,
    /// A file whose first line is complete.
    Header { line: String, ends_with_newline: bool },
    /// A file without a complete first line: not ours to append to.
    Unusable,
}

impl CsvWriter {
    fn new(config: Config, name: &str) -> Self {
        CsvWriter {
            name: name.into(),
            config,
            clock: Timestamp::now,
            file: None,
            warned: HashSet::new(),
            last_sync: None,
            cut_warned: false,
            marks: Vec::new(),
        }
    }

    /// Write one row per reading; on error the rows of the batch that reached the file are
    /// taken back (the pipeline retries the whole batch, which must not leave duplicates)
    /// and the file is closed, to be reopened (and its last line checked) on the next attempt.
    fn write(&mut self, batch: &[Reading]) -> Result<(), SinkError> {
        self.marks.clear();
        let result = self.write_rows(batch);
        if result.is_err() {
            self.roll_back();
        }
        result
    }

    /// Close the file without writing what is still buffered, and cut it back to where the
    /// batch began.
    fn roll_back(&mut self) {
        self.abandon();
        for (path, file, len) in std::mem::take(&mut self.marks) {
            // Through the file's own handle (it may have been moved since), and only ever
            // shortened: a file that holds less than at the mark is left as it is.
            let cut = file.metadata().and_then(|m| if m.len() > len { file.set_len(len) } else { Ok(()) });
            if let Err(e) = cut {
                // The partial row that may be left is cut when the file is opened again.
                tracing::debug!(sink = %self.name, file = %path.display(), error = %e, "Cannot take back a failed batch.");
            }
        }
    }

    fn write_rows(&mut self, batch: &[Reading]) -> Result<(), SinkError> {
        let mut line = String::with_capacity(512);
        for r in batch {
            let path = self.config.path_for(r.time);
            let file = match self.file.take() {
                Some(f) if f.path == path => f,
                old => {
                    if let Some(old) = old {
                        sync(old)?;
                    }
                    self.open(path, r)?
                }
            };
            let file = self.file.insert(file);
            if !self.marks.iter().any(|(p, ..)| *p == file.path) {
                // Where this batch begins in each file it writes (a rotation gives two), to
                // take it back if it fails: the length on disk, so that a header still in
                // the buffer of a file this batch started goes too.
                let handle = file.out.get_ref().try_clone().map_err(|e| write_error(&file.path, e))?;
                let len = handle.metadata().map_err(|e| write_error(&file.path, e))?.len();
                self.marks.push((file.path.clone(), handle, len));
            }
            let (map, new_layout) = file.layout.for_reading(r, &file.columns);
            // Fields without a column can only appear when the layout changed.
            if new_layout && self.config.fields.is_none() {
                // One warning names every field newly left out.
                let missing: Vec<&str> = r
                    .fields
                    .iter()
                    .filter(|f| !file.columns.iter().any(|c| *c == *f.name))
                    .filter(|f| self.warned.insert(f.name.to_string()))
                    .map(|f| &*f.name)
                    .collect();
                if !missing.is_empty() {
                    tracing::warn!(
                        sink = %self.name,
                        fields = %missing.join(", "),
                        file = %file.path.display(),
                        "The CSV file has no column for these fields, so they are left out; list them in `fields`, or move the file away so that a new one starts with the current fields."
                    );
                }
            }
            line.clear();
            row(&mut line, r, map, self.config.delimiter);
            file.out.write_all(line.as_bytes()).map_err(|e| write_error(&file.path, e))?;
        }
        Ok(())
    }

    /// Write out the buffered rows (to the OS); returns whether a sync to disk is due.
    fn flush_buffer(&mut self) -> Result<bool, SinkError> {
        let Some(file) = &mut self.file else { return Ok(false) };
        if let Err(e) = file.out.flush() {
            let err = write_error(&file.path, e);
            self.roll_back();
            return Err(err);
        }
        Ok(self.last_sync.is_none_or(|t| t.elapsed() >= SYNC_EVERY))
    }

    /// Write out the buffered rows and sync them to disk.
    fn sync(&mut self) -> Result<(), SinkError> {
        let Some(file) = &mut self.file else { return Ok(()) };
        let result = file.out.flush().and_then(|()| sync_data(file.out.get_ref()));
        if let Err(e) = result {
            // The batch is retried whole: its rows are taken back, or they would be doubled.
            let err = write_error(&file.path, e);
            self.roll_back();
            return Err(err);
        }
        self.marks.clear();
        self.last_sync = Some(std::time::Instant::now());
        self.cut_warned = false;
        if !still_at_path(file) {
            tracing::info!(
                sink = %self.name,
                file = %file.path.display(),
                "The CSV file was moved or removed (log rotation?); starting a new one there."
            );
            self.file = None;
        }
        Ok(())
    }

    /// Close the file without writing what is still buffered (it will be retried).
    fn abandon(&mut self) {
        if let Some(file) = self.file.take() {
            let _ = file.out.into_parts();
        }
    }

    /// Open `path` for appending: continue a compatible file, or move an incompatible one
    /// aside and start a new file (its columns from `first` unless `fields` is set).
    fn open(&mut self, path: PathBuf, first: &Reading) -> Result<OpenFile, SinkError> {
        let delimiter = self.config.delimiter;
        let wanted: Option<Vec<String>> =
            self.config.fields.as_ref().map(|f| BASE.iter().map(|b| b.to_string()).chain(f.iter().cloned()).collect());
        let existing =
            inspect(&path).map_err(|e| SinkError::Retryable(format!("cannot read {}: {e}", path.display())))?;
        if let Existing::Header { line, ends_with_newline } = &existing {
            let adopt = match &wanted {
                Some(w) => (*line == header(w, delimiter)).then(|| w.clone()),
                None => Some(parse_record(line, delimiter)).filter(|cells| cells.starts_with(&BASE.map(String::from))),
            };
            if let Some(columns) = adopt {
                if !ends_with_newline {
                    let cut = cut_partial_line(&path, columns.len(), delimiter).map_err(|e| write_error(&path, e))?;
                    // Said once per episode: a full disk makes every retry find it again.
                    if cut == 0 {
                        tracing::info!(sink = %self.name, file = %path.display(), "The CSV file's last row had no line break; added one.");
                    } else if self.cut_warned {
                        tracing::debug!(sink = %self.name, file = %path.display(), cut, "Cut off partial row again.");
                    } else {
                        tracing::warn!(
                            sink = %self.name,
                            file = %path.display(),
                            bytes = cut,
                            "The CSV file ends in a partial row (a write was cut off); cut it away before appending."
                        );
                        self.cut_warned = true;
                    }
                }
                let out = BufWriter::new(append(&path)?);
                return Ok(OpenFile { path, columns, out, layout: Layout::default() });
            }
        }
        if !matches!(existing, Existing::New) {
            let aside = self.move_aside(&path)?;
            tracing::warn!(
                sink = %self.name,
                file = %path.display(),
                moved_to = %aside.display(),
                "The existing CSV file does not have the expected header; moved it aside untouched and starting a new file."
            );
        }
        let columns = wanted.unwrap_or_else(|| columns_of(first));
        let mut out = BufWriter::new(append(&path)?);
        out.write_all(header(&columns, delimiter).as_bytes())
            .and_then(|()| out.write_all(b"\n"))
            .map_err(|e| write_error(&path, e))?;
        Ok(OpenFile { path, columns, out, layout: Layout::default() })
    }

    /// Rename `path` to `STEM.TIMESTAMP.EXT` (with `-N` added to the timestamp if that name
    /// is taken).
    fn move_aside(&self, path: &Path) -> Result<PathBuf, SinkError> {
        let stamp = (self.clock)().strftime("%Y%m%dT%H%M%SZ").to_string();
        let mut aside = insert_before_extension(path, &format!(".{stamp}"));
        let mut n = 1;
        while aside.try_exists().unwrap_or(false) {
            aside = insert_before_extension(path, &format!(".{stamp}-{n}"));
            n += 1;
        }
        std::fs::rename(path, &aside).map_err(|e| {
            SinkError::Retryable(format!("cannot move {} aside to {}: {e}", path.display(), aside.display()))
        })?;
        Ok(aside)
    }
}

/// Flush, sync and close a file the sink is done with.
fn sync(file: OpenFile) -> Result<(), SinkError> {
    let OpenFile { path, mut out, .. } = file;
    out.flush().and_then(|()| sync_data(out.get_ref())).map_err(|e| write_error(&path, e))
}

/// Whether the path still names the file being written: false once another tool moved or
/// removed it (logrotate's default `create` mode). When it cannot tell, it says yes.
#[cfg(unix)]
fn still_at_path(file: &OpenFile) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(&file.path), file.out.get_ref().metadata()) {
        (Ok(at_path), Ok(open)) => at_path.dev() == open.dev() && at_path.ino() == open.ino(),
        // The path cannot be looked at (a directory made unreadable): the open file itself
        // still tells whether it was removed.
        (Err(e), Ok(open)) => e.kind() != io::ErrorKind::NotFound && open.nlink() > 0,
        (Err(e), Err(_)) => e.kind() != io::ErrorKind::NotFound,
        (Ok(_), Err(_)) => true,
    }
}

#[cfg(not(unix))]
fn still_at_path(_: &OpenFile) -> bool {
    true
}

/// `fsync` the data; a file that cannot be synced at all (`/dev/null`, a pipe, some
/// network file systems answer EINVAL) has nothing more to make durable.
fn sync_data(file: &File) -> io::Result<()> {
    match file.sync_data() {
        Err(e) if e.kind() == io::ErrorKind::InvalidInput => Ok(()),
        other => other,
    }
}

/// Mend a file at `path` whose last line has no line break: a row with every column (an
/// edited file) gets its line break; anything shorter is a row cut off, and the file is cut
/// back to just after its last line break (it has one: its header line). Returns how many
/// bytes were cut.
fn cut_partial_line(path: &Path, columns: usize, delimiter: char) -> io::Result<u64> {
    let mut file = OpenOptions::new().read(true).write(true).open(path)?;
    let len = file.metadata()?.len();
    let mut end = len;
    let mut chunk = vec![0u8; 4096];
    let mut tail: Vec<u8> = Vec::new();
    while end > 0 {
        let start = end.saturating_sub(chunk.len() as u64);
        let part = &mut chunk[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(part)?;
        if let Some(at) = part.iter().rposition(|&b| b == b'\n') {
            tail.splice(0..0, part[at + 1..].iter().copied());
            let whole = std::str::from_utf8(&tail).is_ok_and(|t| parse_record(t, delimiter).len() == columns);
            if whole {
                file.seek(SeekFrom::End(0))?;
                file.write_all(b"\n")?;
                return Ok(0);
            }
            let keep = start + at as u64 + 1;
            file.set_len(keep)?;
            return Ok(len - keep);
        }
        tail.splice(0..0, part.iter().copied());
        end = start;
    }
    Ok(0)
}

fn append(path: &Path) -> Result<File, SinkError> {
    OpenOptions::new().append(true).create(true).open(path).map_err(|e| write_error(path, e))
}

fn write_error(path: &Path, e: io::Error) -> SinkError {
    SinkError::Retryable(format!("cannot write {}: {e}", path.display()))
}

/// Look at what is at `path`: its first line and whether it ends with a line break.
fn inspect(path: &Path) -> io::Result<Existing> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Existing::New),
        Err(e) => return Err(e),
    };
    if file.metadata()?.len() == 0 {
        return Ok(Existing::New);
    }
    let mut first = Vec::new();
    BufReader::new((&file).take(MAX_HEADER)).read_until(b'\n', &mut first)?;
    if first.pop() != Some(b'\n') {
        return Ok(Existing::Unusable);
    }
    if first.last() == Some(&b'\r') {
        first.pop();
    }
    let Ok(line) = String::from_utf8(first) else { return Ok(Existing::Unusable) };
    file.seek(SeekFrom::End(-1))?;
    let mut last = [0u8];
    file.read_exact(&mut last)?;
    Ok(Existing::Header { line, ends_with_newline: last[0] == b'\n' })
}

/// The columns of a new file without `fields`: those of its first reading.
fn columns_of(r: &Reading) -> Vec<String> {
    let mut columns: Vec<String> = BASE.iter().map(|b| b.to_string()).collect();
    for f in &r.fields {
        if !columns.iter().any(|c| *c == *f.name) {
            columns.push(f.name.to_string());
        }
        let time = format!("{}_time", f.name);
        if f.time.is_some() && !columns.contains(&time) {
            columns.push(time);
        }
    }
    columns
}

/// The header line (without its line break).
fn header(columns: &[String], delimiter: char) -> String {
    let mut line = String::new();
    for (i, c) in columns.iter().enumerate() {
        if i > 0 {
            line.push(delimiter);
        }
        push_text(&mut line, c, delimiter);
    }
    line
}

/// One row, with its line break, appended to `line`.
fn row(line: &mut String, r: &Reading, map: &[Cell], delimiter: char) {
    // Every column list starts with BASE (`time`, `source`, `meter_id`).
    push_rfc3339(line, r.time);
    line.push(delimiter);
    push_text(line, &r.source, delimiter);
    line.push(delimiter);
    push_text(line, r.meter_id.as_deref().unwrap_or(""), delimiter);
    for cell in map {
        line.push(delimiter);
        match *cell {
            Cell::Value(k) => match &r.fields[k].value {
                FieldValue::Number(n) if n.is_finite() => push_number(line, *n),
                FieldValue::Number(_) => {}
                FieldValue::Text(s) => push_text(line, s, delimiter),
            },
            Cell::TimeOf(k) => {
                if let Some(t) = r.fields[k].time {
                    push_rfc3339(line, t);
                }
            }
            Cell::Empty => {}
        }
    }
    line.push('\n');
}

/// Append a number in its shortest exact form, as `f64`'s `Display` writes it (`3432.829`,
/// `0`, `-63`), but without going through `fmt` for the common cases: this is the hot
/// loop of a fast replay.
fn push_number(line: &mut String, n: f64) {
    use std::fmt::Write as _;
    let magnitude = n.abs();
    // `as` conversions rather than `fract` and `round`, which are library calls on the
    // baseline x86-64 target.
    if magnitude < 1e15 && (n as i64) as f64 == n {
        line.push_str(itoa::Buffer::new().format(n as i64));
    } else if let Some((m, k)) = few_decimals(n) {
        push_fixed(line, m, k);
    } else {
        let _ = write!(line, "{n}");
    }
}

/// `n` as `m / 10^k` with the fewest decimals `k` (1 to 6), when that decimal reads back
/// as exactly `n`: the shortest round-trip form, which is what `Display` prints, for the
/// values meters send (`576.239`, `0.193`). Below 1e9 the f64 spacing is finer than 1e-6,
/// so at most one `m` per `k` reads back as `n`, and rounding `n * 10^k` finds it.
fn few_decimals(n: f64) -> Option<(i64, usize)> {
    const POW10: [f64; 7] = [1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6];
    if !(1e-4..1e9).contains(&n.abs()) {
        return None;
    }
    let half = if n < 0.0 { -0.5 } else { 0.5 };
    (1..POW10.len()).find_map(|k| {
        // Rounded half away from zero; below 1e15 the conversion is exact.
        let m = (n * POW10[k] + half) as i64;
        (m as f64 / POW10[k] == n).then_some((m, k))
    })
}

/// Append `m / 10^k` in fixed notation (`k` ≥ 1).
fn push_fixed(line: &mut String, m: i64, k: usize) {
    if m < 0 {
        line.push('-');
    }
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(m.unsigned_abs());
    match digits.len().checked_sub(k) {
        Some(0) | None => {
            line.push_str("0.");
            line.extend(std::iter::repeat_n('0', k - digits.len()));
            line.push_str(digits);
        }
        Some(int) => {
            line.push_str(&digits[..int]);
            line.push('.');
            line.push_str(&digits[int..]);
        }
    }
}

/// Append a text cell, quoted as RFC 4180 says when it needs to be.
fn push_text(line: &mut String, text: &str, delimiter: char) {
    let needs_quotes = match u8::try_from(delimiter) {
        // One pass over the bytes (the usual ASCII delimiter); a multi-byte delimiter
        // cannot match inside other characters' bytes, but is searched as text.
        Ok(d) if d.is_ascii() => text.bytes().any(|b| b == d || b == b'"' || b == b'\r' || b == b'\n'),
        _ => text.contains([delimiter, '"', '\r', '\n']),
    };
    if needs_quotes {
        line.push('"');
        line.push_str(&text.replace('"', "\"\""));
        line.push('"');
    } else {
        line.push_str(text);
    }
}

/// Split one CSV line into its cells (RFC 4180 quoting; lenient about stray quotes).
fn parse_record(line: &str, delimiter: char) -> Vec<String> {
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            if c != '"' {
                cell.push(c);
            } else if chars.next_if_eq(&'"').is_some() {
                cell.push('"');
            } else {
                quoted = false;
            }
        } else if c == '"' {
            quoted = true;
        } else if c == delimiter {
            cells.push(std::mem::take(&mut cell));
        } else {
            cell.push(c);
        }
    }
    cells.push(cell);
    cells
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::{Field, FieldKind};

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

    fn deliver(w: &mut CsvWriter, batch: &[Reading]) {
        w.write(batch).unwrap();
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

    #[test]
    fn a_partial_last_row_is_cut_away_before_appending() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("readings.csv");
        // Longer than one read back from the end, to find the last line break.
        let partial = format!("2019-03-24T14:05:41Z,me{}", "x".repeat(5000));
        fs::write(&path, format!("time,source,meter_id,a\n2019-03-24T14:05:31Z,meter,X,1\n{partial}")).unwrap();
        let mut w = writer(&path, r#","fields":["a"]"#);
        deliver(&mut w, &[reading("2019-03-24T14:05:51Z", vec![num("a", 2.0)])]);
        assert_eq!(
            read(&path),
            "time,source,meter_id,a\n\
             2019-03-24T14:05:31Z,meter,X,1\n\
             2019-03-24T14:05:51Z,meter,E0044007131650618,2\n"
        );
    }

    #[test]
    fn a_whole_last_row_without_its_line_break_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("readings.csv");
        fs::write(&path, "time,source,meter_id,a\n2019-03-24T14:05:41Z,meter,X,1").unwrap();
        let mut w = writer(&path, r#","fields":["a"]"#);
        deliver(&mut w, &[reading("2019-03-24T14:05:51Z", vec![num("a", 2.0)])]);
        assert_eq!(
            read(&path),
            "time,source,meter_id,a\n\
             2019-03-24T14:05:41Z,meter,X,1\n\
             2019-03-24T14:05:51Z,meter,E0044007131650618,2\n"
        );
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
    }
}
