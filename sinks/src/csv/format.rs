//! How a CSV row is written: the header, numbers as `Display` prints them (without its
//! cost for meter decimals), text quoted when it must be, and reading a record back.

use super::writer::Cell;
use crate::{FieldValue, Reading, push_rfc3339};

/// The header line (without its line break).
pub(super) fn header(columns: &[String], delimiter: char) -> String {
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
pub(super) fn row(line: &mut String, r: &Reading, map: &[Cell], delimiter: char) {
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
pub(super) fn push_number(line: &mut String, n: f64) {
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
pub(super) fn few_decimals(n: f64) -> Option<(i64, usize)> {
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
pub(super) fn push_fixed(line: &mut String, m: i64, k: usize) {
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
pub(super) fn push_text(line: &mut String, text: &str, delimiter: char) {
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
pub(super) fn parse_record(line: &str, delimiter: char) -> Vec<String> {
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
