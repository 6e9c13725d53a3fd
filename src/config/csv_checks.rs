//! What a CSV sink's table is checked for at load time, beyond its keys' types: a path
//! that cannot be written would otherwise only be retried at run time, its readings lost.

use super::*;

/// The `type` of a sink table, when it is a string.
pub(super) fn sink_type<'a>(v: &'a Spanned<DeValue<'_>>) -> Option<&'a str> {
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
pub(super) fn csv_checks(
    cx: &mut Cx<'_>,
    path: &str,
    name: &str,
    v: &Spanned<DeValue<'_>>,
    files: &mut Vec<((PathBuf, String), String)>,
) {
    for (field, span) in sink_fields(v) {
        let guess = crate::field_names::misspelled(&field);
        // The clock, or a name a letter off it: the answer is the same.
        if crate::field_names::is_clock(&field) || guess.as_deref().is_some_and(crate::field_names::is_clock) {
            let msg = format!(
                "`{field}` is no field: the meter's clock is each row's `time` (the telegram's own time, in UTC)"
            );
            cx.at(span, &format!("{path}.fields"), msg);
            continue;
        }
        if let Some(guess) = guess {
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
        // `.` stays `./`, `/` stays `/`; only a trailing `/` or `/.` is dropped.
        let trimmed = text.trim_end_matches('/');
        let dir = trimmed.strip_suffix("/.").unwrap_or(trimmed);
        cx.at(span, &key, format!("`{text}` names a directory; name a file in it, e.g. \"{dir}/readings.csv\""));
        return;
    }
    // A directory that cannot be looked at (another user's) is left to run time.
    let problem = match file.0.parent().map(std::fs::metadata) {
        Some(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            Some(format!("does not exist; dsmrd creates the file, not its directory{}", relative_note(&written)))
        }
        Some(Ok(m)) if !m.is_dir() => Some("is a file, not a directory".into()),
        Some(Err(e)) if e.kind() == std::io::ErrorKind::NotADirectory => Some("goes through a file".into()),
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
pub(super) fn entry<'a, 't>(t: &'a DeTable<'t>, key: &str) -> Option<&'a Spanned<DeValue<'t>>> {
    t.iter().find(|(k, _)| k.get_ref().as_ref() == key).map(|(_, v)| v)
}

/// The files a sink table writes (its `path`, as an absolute path with `.` parts dropped,
/// and its `rotate` setting, which names the files after the path), and where the path is
/// written.
pub(super) fn sink_file(v: &Spanned<DeValue<'_>>) -> Option<((PathBuf, String), Range<usize>, PathBuf)> {
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
pub(super) fn sink_fields(v: &Spanned<DeValue<'_>>) -> Vec<(String, Range<usize>)> {
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
