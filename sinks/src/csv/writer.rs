//! The CSV sink's synchronous core: which file a reading goes to, its columns, opening,
//! adopting or moving aside an existing file, rotation, and taking back a failed batch.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use super::format::{header, parse_record, row};
use super::{BASE, Config, MAX_HEADER, Rotate, insert_before_extension};
use crate::{Reading, SinkError};

/// The synchronous core: which file, which columns, and the rows.
pub(super) struct CsvWriter {
    pub(super) name: String,
    pub(super) config: Config,
    /// The time used to name a file that is moved aside (the clock, except in tests).
    pub(super) clock: fn() -> Timestamp,
    pub(super) file: Option<OpenFile>,
    /// Fields already warned about as having no column.
    pub(super) warned: HashSet<String>,
    /// When the file was last synced to disk.
    pub(super) last_sync: Option<std::time::Instant>,
    /// A partial last row was reported; until the next sync succeeds, finding it again is
    /// not (a full disk makes every retry find one).
    pub(super) cut_warned: bool,
    /// The files the batch being written went to (path and a handle of their own), with
    /// their lengths where it began.
    pub(super) marks: Vec<(PathBuf, File, u64)>,
    /// How many files have been opened: the id of the latest.
    pub(super) opened: u64,
    /// Makes [`CsvWriter::prepare`] panic, as a bug there would.
    #[cfg(test)]
    pub(super) panic_in_prepare: bool,
}

/// Rows reach the OS after every batch, the disk at least this often and on shutdown: an
/// fsync per telegram would wear out an SD card for no gain.
pub(super) const SYNC_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// The file being written.
pub(super) struct OpenFile {
    pub(super) path: PathBuf,
    pub(super) columns: Vec<String>,
    pub(super) out: BufWriter<File>,
    /// Which field of a reading fills each field column, learned from the readings.
    pub(super) layout: Layout,
    /// Which opening of a file this is (rows formatted for one go to no other).
    pub(super) id: u64,
    /// The UTC day (days since 1970) of the reading it was opened for: with daily
    /// rotation, the day of every reading it takes.
    pub(super) day: i64,
}

/// Rows formatted by [`CsvWriter::prepare`] for the file opened as `file`.
pub(super) struct Prepared {
    file: u64,
    rows: Vec<u8>,
}

impl OpenFile {
    /// Append the row of `r` to `line`, warning once about fields that have no column.
    fn push_row(&mut self, line: &mut String, r: &Reading, config: &Config, warned: &mut HashSet<String>, sink: &str) {
        let (map, new_layout) = self.layout.for_reading(r, &self.columns);
        if new_layout && config.fields.is_some() {
            // A listed field this meter gives under a longer name (`equipment_identifier`
            // of a Belgian meter, which says `belgium_equipment_identifier`): said once.
            for (column, cell) in self.columns.iter().skip(BASE.len()).zip(map) {
                let longer = r.fields.iter().find(|f| {
                    f.name.len() > column.len() + 1
                        && f.name.ends_with(column.as_str())
                        && f.name.as_bytes()[f.name.len() - column.len() - 1] == b'_'
                });
                if let (Cell::Empty, Some(field)) = (cell, longer) {
                    if warned.insert(format!("column {column}")) {
                        tracing::warn!(
                            sink = %sink,
                            column = %column,
                            file = %self.path.display(),
                            "The CSV column `{column}` stays empty: readings of source `{}` have no such field, but they have `{}`; list that one in `fields` for this meter.",
                            r.source,
                            field.name
                        );
                    }
                }
            }
        }
        // Fields without a column can only appear when the layout changed.
        if new_layout && config.fields.is_none() {
            // One warning names every field newly left out.
            let missing: Vec<&str> = r
                .fields
                .iter()
                .filter(|f| !self.columns.iter().any(|c| *c == *f.name))
                .filter(|f| warned.insert(f.name.to_string()))
                .map(|f| &*f.name)
                .collect();
            if !missing.is_empty() {
                tracing::warn!(
                    sink = %sink,
                    fields = %missing.join(", "),
                    file = %self.path.display(),
                    "The CSV file has no column for these fields, so they are left out; list them in `fields`, or move the file away so that a new one starts with the current fields."
                );
            }
        }
        row(line, r, map, config.delimiter);
    }
}

/// The column → field mapping of the last reading, keyed by the identity of its field
/// names. Names are mostly `&'static str` from the tables, so consecutive readings of the
/// same meter have the same name pointers and reuse the mapping without comparing text.
#[derive(Default)]
pub(super) struct Layout {
    /// The field names of the reading the mapping was made for.
    pub(super) names: Vec<NameKey>,
    /// For each field column (after the base three), where its cell comes from.
    pub(super) map: Vec<Cell>,
}

/// Where a column's cell comes from in a reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cell {
    /// The value of field `k`.
    Value(usize),
    /// The own time of field `k` (`hourly_gas_meter_reading_time`).
    TimeOf(usize),
    /// Nothing in this reading: an empty cell.
    Empty,
}

/// A field name as remembered by [`Layout`]: a static name by address (its text cannot
/// change), an owned one by its text (its address may be reused by another name).
pub(super) enum NameKey {
    Static(usize, usize),
    Owned(String),
}

impl NameKey {
    pub(super) fn of(name: &crate::Text) -> NameKey {
        match name {
            std::borrow::Cow::Borrowed(s) => NameKey::Static(s.as_ptr() as usize, s.len()),
            std::borrow::Cow::Owned(s) => NameKey::Owned(s.clone()),
        }
    }

    pub(super) fn is(&self, name: &crate::Text) -> bool {
        match (self, name) {
            (NameKey::Static(p, l), std::borrow::Cow::Borrowed(s)) => *p == s.as_ptr() as usize && *l == s.len(),
            (NameKey::Owned(a), std::borrow::Cow::Owned(b)) => a == b,
            _ => false,
        }
    }
}

impl Layout {
    /// The mapping for `r`, and whether it had to be worked out anew.
    pub(super) fn for_reading(&mut self, r: &Reading, columns: &[String]) -> (&[Cell], bool) {
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
pub(super) enum Existing {
    /// Nothing, or an empty file: start a new file there.
    New,
    /// A file whose first line is complete.
    Header { line: String, ends_with_newline: bool },
    /// A file without a complete first line: not ours to append to.
    Unusable,
}

impl CsvWriter {
    pub(super) fn new(config: Config, name: &str) -> Self {
        CsvWriter {
            name: name.into(),
            config,
            clock: Timestamp::now,
            file: None,
            warned: HashSet::new(),
            last_sync: None,
            cut_warned: false,
            marks: Vec::new(),
            opened: 0,
            #[cfg(test)]
            panic_in_prepare: false,
        }
    }

    /// Write one row per reading; on error the rows of the batch that reached the file are
    /// taken back (the pipeline retries the whole batch, which must not leave duplicates)
    /// and the file is closed, to be reopened (and its last line checked) on the next attempt.
    pub(super) fn write(&mut self, batch: &[Reading]) -> Result<(), SinkError> {
        self.marks.clear();
        let result = self.write_rows(batch);
        if result.is_err() {
            self.roll_back();
        }
        result
    }

    /// Close the file without writing what is still buffered, and cut it back to where the
    /// batch began.
    pub(super) fn roll_back(&mut self) {
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

    pub(super) fn write_rows(&mut self, batch: &[Reading]) -> Result<(), SinkError> {
        let mut line = String::with_capacity(512);
        for r in batch {
            let path = self.config.path_for(r.time);
            let file = match self.file.take() {
                Some(f) if f.path == path => f,
                old => {
                    if let Some(old) = old {
                        sync(old)?;
                    }
                    let mut file = self.open(path, r)?;
                    self.opened += 1;
                    file.id = self.opened;
                    file.day = utc_day(r.time);
                    file
                }
            };
            self.file = Some(file);
            self.mark()?;
            let Some(file) = self.file.as_mut() else { return Ok(()) };
            line.clear();
            file.push_row(&mut line, r, &self.config, &mut self.warned, &self.name);
            file.out.write_all(line.as_bytes()).map_err(|e| write_error(&file.path, e))?;
        }
        Ok(())
    }

    /// Remember where the current batch begins in the open file, unless it already is: a
    /// batch that fails is cut back to there (a rotation gives two files to cut). The length
    /// on disk, so that a header still in the buffer of a file this batch started goes too.
    fn mark(&mut self) -> Result<(), SinkError> {
        let Some(file) = &self.file else { return Ok(()) };
        if !self.marks.iter().any(|(p, ..)| *p == file.path) {
            let handle = file.out.get_ref().try_clone().map_err(|e| write_error(&file.path, e))?;
            let len = handle.metadata().map_err(|e| write_error(&file.path, e))?.len();
            self.marks.push((file.path.clone(), handle, len));
        }
        Ok(())
    }

    /// The rows of `batch` as bytes, formatted without a single file call, when every one
    /// of them goes to the file already open (no open, rotation or header is due): the
    /// daemon formats them on its own thread, where the readings are, and only the bytes
    /// cross to the blocking pool. `None` when a file call is due.
    pub(super) fn prepare(&mut self, batch: &[Reading]) -> Option<Prepared> {
        let file = self.file.as_mut()?;
        #[cfg(test)]
        assert!(!self.panic_in_prepare, "a bug in the formatter");
        if self.config.rotate == Rotate::Daily && batch.iter().any(|r| utc_day(r.time) != file.day) {
            return None;
        }
        let mut line = String::with_capacity(batch.len() * 256);
        for r in batch {
            file.push_row(&mut line, r, &self.config, &mut self.warned, &self.name);
        }
        Some(Prepared { file: file.id, rows: line.into_bytes() })
    }

    /// Write rows from [`CsvWriter::prepare`]; as [`CsvWriter::write`], a failure takes
    /// them back. False, and nothing written, when the file they were formatted for is no
    /// longer open (a delivery given up on ran in between): the caller writes the batch
    /// with [`CsvWriter::write`] instead.
    pub(super) fn write_prepared(&mut self, prepared: Prepared) -> Result<bool, SinkError> {
        self.marks.clear();
        if self.file.as_ref().is_none_or(|f| f.id != prepared.file) {
            return Ok(false);
        }
        let result = self.mark().and_then(|()| match &mut self.file {
            Some(file) => file.out.write_all(&prepared.rows).map_err(|e| write_error(&file.path, e)),
            None => Ok(()),
        });
        if result.is_err() {
            self.roll_back();
        }
        result.map(|()| true)
    }

    /// Write out the buffered rows (to the OS); returns whether a sync to disk is due.
    pub(super) fn flush_buffer(&mut self) -> Result<bool, SinkError> {
        let Some(file) = &mut self.file else { return Ok(false) };
        if let Err(e) = file.out.flush() {
            let err = write_error(&file.path, e);
            self.roll_back();
            return Err(err);
        }
        Ok(self.last_sync.is_none_or(|t| t.elapsed() >= SYNC_EVERY))
    }

    /// Write out the buffered rows and sync them to disk.
    pub(super) fn sync(&mut self) -> Result<(), SinkError> {
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
    pub(super) fn abandon(&mut self) {
        if let Some(file) = self.file.take() {
            let _ = file.out.into_parts();
        }
    }

    /// Open `path` for appending: continue a compatible file, or move an incompatible one
    /// aside and start a new file (its columns from `first` unless `fields` is set).
    pub(super) fn open(&mut self, path: PathBuf, first: &Reading) -> Result<OpenFile, SinkError> {
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
                    let cut = cut_partial_line(&path).map_err(|e| write_error(&path, e))?;
                    // Said once per episode: a full disk makes every retry find it again.
                    // The text is logged, so that a row of an edited file can be put back.
                    if self.cut_warned {
                        tracing::debug!(sink = %self.name, file = %path.display(), cut = cut.len(), "Cut off partial row again.");
                    } else {
                        tracing::warn!(
                            sink = %self.name,
                            file = %path.display(),
                            row = %String::from_utf8_lossy(&cut),
                            "The CSV file ends in a row without its line break (a write cut off by a crash or a full disk); cut it away before appending."
                        );
                        self.cut_warned = true;
                    }
                }
                let out = BufWriter::new(append(&path)?);
                return Ok(OpenFile { path, columns, out, layout: Layout::default(), id: 0, day: 0 });
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
        Ok(OpenFile { path, columns, out, layout: Layout::default(), id: 0, day: 0 })
    }

    /// Rename `path` to `STEM.TIMESTAMP.EXT` (with `-N` added to the timestamp if that name
    /// is taken).
    pub(super) fn move_aside(&self, path: &Path) -> Result<PathBuf, SinkError> {
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

/// The UTC day of a time, as days since 1970-01-01: what names a daily file.
fn utc_day(t: Timestamp) -> i64 {
    t.as_second().div_euclid(86_400)
}

/// Flush, sync and close a file the sink is done with.
pub(super) fn sync(file: OpenFile) -> Result<(), SinkError> {
    let OpenFile { path, mut out, .. } = file;
    out.flush().and_then(|()| sync_data(out.get_ref())).map_err(|e| write_error(&path, e))
}

/// Whether the path still names the file being written: false once another tool moved or
/// removed it (logrotate's default `create` mode). When it cannot tell, it says yes.
#[cfg(unix)]
pub(super) fn still_at_path(file: &OpenFile) -> bool {
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
pub(super) fn still_at_path(_: &OpenFile) -> bool {
    true
}

/// `fsync` the data; a file that cannot be synced at all (`/dev/null`, a pipe, some
/// network file systems answer EINVAL) has nothing more to make durable.
pub(super) fn sync_data(file: &File) -> io::Result<()> {
    match file.sync_data() {
        Err(e) if e.kind() == io::ErrorKind::InvalidInput => Ok(()),
        other => other,
    }
}

/// Mend a file at `path` whose last line has no line break: dsmrd ends every row with one,
/// so that line is a row cut off by a crash or a full disk, even when it holds every column
/// (the cut may fall inside its last cell: `230.1` cut to `23`). The file is cut back to
/// where that row began: the line break before the last line that starts as a row does,
/// with its time (a quoted text cell may hold line breaks of its own), or the header's.
/// Returns the bytes cut.
pub(super) fn cut_partial_line(path: &Path) -> io::Result<Vec<u8>> {
    // A row is far shorter than this; a file whose last 64 KiB hold no row start is cut
    // at its last line break.
    const WINDOW: u64 = 64 * 1024;
    let mut file = OpenOptions::new().read(true).write(true).open(path)?;
    let len = file.metadata()?.len();
    let start = len.saturating_sub(WINDOW);
    let mut tail = vec![0u8; (len - start) as usize];
    file.seek(SeekFrom::Start(start))?;
    file.read_exact(&mut tail)?;
    let breaks: Vec<usize> = tail.iter().enumerate().filter(|(_, b)| **b == b'\n').map(|(i, _)| i).collect();
    let Some(&last) = breaks.last() else { return Ok(Vec::new()) };
    // The header's line break, when the window reaches back to it.
    let header_end = (start == 0).then(|| breaks[0]);
    let cut_at = breaks
        .iter()
        .rev()
        .find(|&&at| Some(at) == header_end || may_start_row(&tail[at + 1..]))
        .copied()
        .unwrap_or(last);
    file.set_len(start + cut_at as u64 + 1)?;
    Ok(tail.split_off(cut_at + 1))
}

/// Whether `line` starts as a row does, with its time (`2019-03-24T14:05:41Z`), as far as
/// it goes: a row cut short within its time still counts.
fn may_start_row(line: &[u8]) -> bool {
    const TIME: &[u8; 20] = b"0000-00-00T00:00:00Z";
    !line.is_empty() && line.iter().zip(TIME).all(|(&c, &t)| if t == b'0' { c.is_ascii_digit() } else { c == t })
}

pub(super) fn append(path: &Path) -> Result<File, SinkError> {
    OpenOptions::new().append(true).create(true).open(path).map_err(|e| write_error(path, e))
}

pub(super) fn write_error(path: &Path, e: io::Error) -> SinkError {
    SinkError::Retryable(format!("cannot write {}: {e}", path.display()))
}

/// Look at what is at `path`: its first line and whether it ends with a line break.
pub(super) fn inspect(path: &Path) -> io::Result<Existing> {
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
pub(super) fn columns_of(r: &Reading) -> Vec<String> {
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
