//! Turns one plain frame into a [`Telegram`]: split lines, read OBIS ids and value groups,
//! pick the table ([`crate::detect`]), and type every value by its row's shape. One bad
//! line becomes a [`LineError`]; the other lines are still read.

use std::borrow::Cow;

use crate::detect::{self, Clue, ClueSet, Clues};
use crate::frame::CrcStatus;
use crate::lines::{MAX_GROUPS, between_ascii, clip, clip_end, logical_line, plain_line, split_groups};
use crate::obis::Obis;
use crate::quick;
use crate::spec::{Medium, Row, Shape, Spec, Version, VersionChoice};
use crate::telegram::{
    Demand, FailureEntry, GasProfile, LineError, Object, Peak, Profile, Quantity, Stamp, Telegram, Value, is_mbus_code,
};
use crate::value::{Decimal, MeterTime, is_unit_shaped};

/// Why a frame could not be read as a telegram at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("frame does not start with `/`")]
    NoHeader,
    /// Only when no data line could be read either: such a frame is more likely noise
    /// whose last bytes happened to match a CRC than a telegram.
    #[error("telegram header is not text, and no data line follows")]
    BadHeader,
    /// A frame from `/` to `!` in which no line reads as an OBIS data line: text that
    /// happened to hold both (`/bin/echo hi!` in a terminal log), not a meter's telegram.
    #[error("no OBIS data line between `/{header}` and `!`: not a telegram")]
    NoData { header: String },
}

/// Parse a plain frame (from `/` through `!` and the CRC digits).
///
/// One pass reads and types every line. With `auto` the lines are typed against the table
/// the header alone suggests, and read again only when the clues from all lines pick a
/// table that would type some of them differently (rare: a DSMR 4 meter without a
/// distinctive header and with a line DSMR 5 reads otherwise).
pub fn parse(bytes: &[u8], crc: CrcStatus, choice: VersionChoice) -> Result<Telegram<'_>, ParseError> {
    if bytes.first() != Some(&b'/') {
        return Err(ParseError::NoHeader);
    }
    let end = memchr::memrchr(b'!', bytes).unwrap_or(bytes.len());
    let body = &bytes[..end];
    let header_end = memchr::memchr(b'\n', body).unwrap_or(body.len());
    // Valid as a whole (the usual case), the body needs no check line by line.
    let text = ascii_text(body).or_else(|| std::str::from_utf8(body).ok());
    let (header, header_error) = match text {
        Some(t) => (Cow::Borrowed(&t[1..header_end]), None),
        None => match std::str::from_utf8(&body[1..header_end]) {
            Ok(header) => (Cow::Borrowed(header), None),
            // A CRC vouches for the bytes: the meter sent them so (`/FLU5` 0xAB `769484_A`
            // where the spec has `\253`). Each byte is read as its Latin-1 character.
            Err(_) if matches!(crc, CrcStatus::Valid(_)) => {
                let latin1: String = body[1..header_end].iter().map(|&b| char::from(b)).collect();
                (Cow::Owned(latin1.trim_end_matches(HEADER_PADDING).to_string()), None)
            }
            // The readable start stands for the header (and tells the meter as far as it
            // goes); the lines are read as always, so no good reading is lost.
            // (A frame with no data line either is rejected below.)
            Err(e) => {
                let start = std::str::from_utf8(&body[1..1 + e.valid_up_to()]).unwrap_or("");
                let reason = format!(
                    "header is not text after `/{}` (bytes lost or changed?); read as far as it is",
                    clip_end(start)
                );
                (Cow::Borrowed(start), Some(LineError { line: 1, text: start, reason }))
            }
        },
    };
    let header = match header {
        Cow::Borrowed(h) => Cow::Borrowed(h.trim_end_matches(HEADER_PADDING)),
        owned => owned,
    };
    let read_header = match choice {
        VersionChoice::Auto => detect::Header::read(&header),
        VersionChoice::Fixed(_) => detect::Header::default(),
    };

    let guess = match choice {
        VersionChoice::Fixed(v) => v,
        VersionChoice::Auto => detect::detect(&read_header, &Clues::default(), crc),
    };
    let mut lines = read_lines(body, text, header_end, guess.spec());
    let version = match choice {
        VersionChoice::Fixed(v) => v,
        VersionChoice::Auto => detect::detect(&read_header, &lines.clues, crc),
    };
    if version != guess && !lines.same_rows(guess.spec(), version.spec()) {
        lines = read_lines(body, text, header_end, version.spec());
    }
    let Lines { mut objects, mut errors, value_errors, .. } = lines;
    // A header that is no text, with no data line after it, is noise whose last bytes
    // happened to match a CRC (or a frame without one), whatever the CRC says.
    if (header_error.is_some() || matches!(header, Cow::Owned(_))) && objects.is_empty() {
        return Err(ParseError::BadHeader);
    }
    if objects.is_empty() && value_errors.is_empty() {
        return Err(ParseError::NoData { header: clip(&header).to_string() });
    }
    if let Some(e) = header_error {
        errors.insert(0, e);
    }
    if !value_errors.is_empty() {
        // In line order, whichever reader found them (stable: the header's error stays first).
        errors.extend(value_errors);
        errors.sort_by_key(|e| e.line);
    }
    name_mbus_readings(&mut objects);
    Ok(Telegram { header, version, crc, objects, errors, encrypted: false })
}

/// What ends a header line besides its text: the CR, a NUL some bridges add, and the
/// blanks some meters pad it with (`/XMX5XMXABCE000030057        `).
const HEADER_PADDING: [char; 4] = ['\r', '\0', ' ', '\t'];

/// `body` as text when it is all ASCII, as telegrams are. `<[u8]>::is_ascii` checks 64 bytes
/// at a time with SSE2 on x86-64: fewer instructions than the general UTF-8 check, and
/// than a hand-written fold over 16-byte words (about 30 per DSMR 5 telegram against 100).
#[inline(always)]
#[allow(unsafe_code)]
fn ascii_text(body: &[u8]) -> Option<&str> {
    if !body.is_ascii() {
        return None;
    }
    // SAFETY: every byte is below 0x80, and ASCII is valid UTF-8.
    Some(unsafe { std::str::from_utf8_unchecked(body) })
}

/// The data lines of a telegram, read and typed against one table.
struct Lines<'a> {
    objects: Vec<Object<'a>>,
    /// Lines that are not data lines (reported first).
    errors: Vec<LineError<'a>>,
    /// Data lines whose value does not fit their row.
    value_errors: Vec<LineError<'a>>,
    clues: Clues,
}

impl Lines<'_> {
    /// Whether every typed line has the same row in `a` and `b`, so that reading the
    /// telegram against `b` instead of `a` would give the same result.
    fn same_rows(&self, a: &'static Spec, b: &'static Spec) -> bool {
        self.value_errors.is_empty() && self.objects.iter().all(|o| a.row(o.id) == b.row(o.id))
    }
}

fn read_lines<'a>(body: &'a [u8], text: Option<&'a str>, header_end: usize, spec: &'static Spec) -> Lines<'a> {
    // Data lines are at least 15 bytes with their line end; most are 25 to 40.
    let mut out = Lines {
        objects: Vec::with_capacity(body.len() / 20),
        errors: Vec::new(),
        value_errors: Vec::new(),
        clues: Clues::default(),
    };
    // Filled in only for lines the quick reader leaves: most telegrams need none, and
    // clearing its 64 entries costs more than a quick line.
    let mut groups: Option<[&str; MAX_GROUPS]> = None;
    let mut pos = (header_end + 1).min(body.len());
    let mut line_no = 1u32;
    let codes = spec.codes();
    // The clues of the lines the quick reader reads (but the version line's).
    let mut seen: ClueSet = 0;
    while pos < body.len() {
        // Blank lines (the one after the header) are only counted.
        match body[pos] {
            b'\n' => {
                (pos, line_no) = (pos + 1, line_no + 1);
                continue;
            }
            b'\r' if body.get(pos + 1) == Some(&b'\n') => {
                (pos, line_no) = (pos + 2, line_no + 1);
                continue;
            }
            _ => {}
        }
        // The usual lines, in the usual form, each in one scan. A line the quick reader
        // reads ends where the next starts with a digit (see `plain_end`), so the next one
        // needs no check for a blank line either.
        if let Some(text) = text {
            let mut code = codes.get(&body[pos..]);
            while let Some(c) = &code {
                // Typed in its slot, which is dropped again if the line is not in the
                // quick form. `pos` is at the code's first digit, `pos + len` at its `(`.
                let obis = between_ascii(text, pos, pos + c.len);
                let slot = out.slot(line_no + 1, obis, c.id(), Some(c.row()));
                let Some(next) = quick::value(text, pos, c, slot) else {
                    out.unslot();
                    break;
                };
                line_no += 1;
                // The version line's clue is its one group, which the quick reader
                // keeps as text (or as no value, for `()`).
                if c.clue() == Clue::P1Version {
                    let group = if let Value::Text(t) = slot { *t } else { "" };
                    out.clues.see(Clue::P1Version, false, &[group]);
                }
                seen |= c.clue().bit();
                pos = next;
                code = codes.get(&body[pos..]);
            }
            if pos == body.len() {
                break;
            }
            let groups = groups.get_or_insert([""; MAX_GROUPS]);
            if let Some(line) = plain_line(text, pos, spec, code, groups) {
                line_no += 1;
                pos = line.next;
                // `start` is at the code's first digit, `obis_end` at its `(`.
                let obis = between_ascii(text, line.start, line.obis_end);
                let g = &groups[..line.groups];
                out.clues.see(line.clue, line.f_group, g);
                let (start, end) = (line.start, line.end);
                out.add(line_no, || &text[start..end], obis, line.id, line.row, g);
                continue;
            }
        }
        // Anything else: blanks, continuation lines, doubled parentheses, bad lines.
        let groups = groups.get_or_insert([""; MAX_GROUPS]);
        match rare_line(&mut out, body, text, pos, &mut line_no, spec, groups) {
            Some(next) => pos = next,
            None => break,
        }
    }
    out.clues.see_set(seen);
    out
}

/// Read the logical line at `pos` that the plain readers left (blanks, continuation lines,
/// doubled parentheses, bytes that are no text, bad lines) into `out`, and return where
/// the next one starts (`None` at the end). Kept out of line: the hot loop of
/// [`read_lines`] stays small enough to be compiled well.
#[inline(never)]
fn rare_line<'a>(
    out: &mut Lines<'a>,
    body: &'a [u8],
    text: Option<&'a str>,
    pos: usize,
    line_no: &mut u32,
    spec: &'static Spec,
    groups: &mut [&'a str; MAX_GROUPS],
) -> Option<usize> {
    let (no, range, next) = logical_line(body, pos, line_no)?;
    let line = match text.and_then(|t| t.get(range.clone())) {
        Some(line) => line,
        None => match std::str::from_utf8(&body[range.clone()]) {
            Ok(line) => line,
            Err(e) => {
                // The readable start of the line, for the message and the code.
                let start = std::str::from_utf8(&body[range.start..range.start + e.valid_up_to()]).unwrap_or("");
                match erased_value(start, &body[range]) {
                    Some((obis, id)) => {
                        out.clues.see(Clue::of(id), detect::has_star_f_group(obis), &[""]);
                        out.add(no, || start, obis, id, spec.row(id), &[""]);
                    }
                    None => {
                        let reason = format!("line is not text after `{}` (bytes lost or changed?)", clip_end(start));
                        out.errors.push(LineError { line: no, text: start, reason });
                    }
                }
                return Some(next);
            }
        },
    };
    let Some((obis, id, rest)) = Obis::split_line(line) else {
        out.errors.push(LineError { line: no, text: line, reason: "not an OBIS data line".into() });
        return Some(next);
    };
    match split_groups(rest, groups) {
        Ok(n) => {
            out.clues.see(Clue::of(id), detect::has_star_f_group(obis), &groups[..n]);
            out.add(no, || line, obis, id, spec.row(id), &groups[..n]);
        }
        Err(reason) => out.errors.push(LineError { line: no, text: line, reason }),
    }
    Some(next)
}

/// A line whose one value group holds nothing but erased flash (0xFF) or NUL bytes, as an
/// E.ON Hungary meter sends its empty 1024-byte text message: its code and id, to be read as
/// an empty group. `start` is the line's readable start, `line` all of its bytes.
fn erased_value<'a>(start: &'a str, line: &[u8]) -> Option<(&'a str, Obis)> {
    let (obis, id, rest) = Obis::split_line(start)?;
    if rest != "(" {
        return None;
    }
    let group = line.get(obis.len() + 1..)?.strip_suffix(b")")?;
    group.iter().all(|&b| b == 0xFF || b == 0).then_some((obis, id))
}

impl<'a> Lines<'a> {
    /// A new object for this line, holding [`Value::Empty`]: the slot its value is typed
    /// into, so that the value is written once, in place. The object is written field by
    /// field into the vector's spare room: built whole and pushed, it is assembled on the
    /// stack and its 112 bytes copied over (about 225 instructions, 3 % of the time, per
    /// DSMR 5 telegram). (`resize_with`, which would build it in place, is not inlined into
    /// this loop and costs more.)
    #[inline(always)]
    #[allow(unsafe_code)]
    fn slot(&mut self, line: u32, obis: &'a str, id: Obis, row: Option<&'static Row>) -> &mut Value<'a> {
        let len = self.objects.len();
        if len == self.objects.capacity() {
            self.objects.reserve(1);
        }
        debug_assert!(len < self.objects.capacity());
        let name = row.map(|r| r.name);
        // Every field of `Object` is written below: this pattern names them all, so a field
        // added to it stops the build here instead of being left unwritten.
        let _every_field = |o: Object<'a>| {
            let Object { obis: _, id: _, line: _, name: _, value: _ } = o;
        };
        // SAFETY: `len` is below the capacity (reserved above), so `at` points into the
        // vector's allocation, past its objects. Every field is written (the pattern above
        // checks that these are all of them) before `set_len` takes the object in, and
        // nothing in between can panic; the reference returned is to that object, borrowed
        // from `self` like any element.
        unsafe {
            let at = self.objects.as_mut_ptr().add(len);
            (&raw mut (*at).obis).write(obis);
            (&raw mut (*at).id).write(id);
            (&raw mut (*at).line).write(line);
            (&raw mut (*at).name).write(name);
            (&raw mut (*at).value).write(Value::Empty);
            self.objects.set_len(len + 1);
            &mut (*at).value
        }
    }

    /// Take back the slot of a line that did not fit. It still holds [`Value::Empty`],
    /// which owns nothing, so it is forgotten rather than dropped: the drop code for every
    /// value shape would otherwise be inlined into the hot loop.
    #[inline(always)]
    fn unslot(&mut self) {
        let object = self.objects.pop();
        debug_assert!(matches!(object, Some(Object { value: Value::Empty, .. })));
        std::mem::forget(object);
    }

    /// Type one data line against `spec` and keep it, or keep why it does not fit.
    #[inline(always)]
    /// (`line` gives the line's text, needed only to report a value that does not fit.)
    fn add(
        &mut self,
        line_no: u32,
        line: impl FnOnce() -> &'a str,
        obis: &'a str,
        id: Obis,
        row: Option<&'static Row>,
        g: &[&'a str],
    ) {
        let slot = self.slot(line_no, obis, id, row);
        let typed = match row {
            Some(row) => typed_value(row, g, slot).map(|()| unreadable_time(slot, obis)),
            None => {
                *slot = Value::Raw(g.to_vec());
                Ok(None)
            }
        };
        match typed {
            Ok(None) => {}
            // Kept, and reported.
            Ok(Some(reason)) => self.value_errors.push(LineError { line: line_no, text: line(), reason }),
            Err(reason) => {
                self.unslot();
                self.value_errors.push(LineError { line: line_no, text: line(), reason });
            }
        }
    }
}

/// Why a value's time does not read as one (month 13, hour 24, a field cut short), when it
/// does not: the object keeps it as text, and the line is reported so that a counter shows
/// it. Left alone: placeholders, which meters send on purpose (an M-Bus reading without
/// unit or of zero next to `632525252525W`), a clock never set, and entries of logs and
/// histories, where meters leave unused records as they are. (The one-pass reader leaves
/// every time that is none to this path.)
fn unreadable_time(value: &Value<'_>, obis: &str) -> Option<String> {
    let stamp = match value {
        Value::Time(stamp) => stamp,
        Value::Timed { time, value } if value.value.mantissa != 0 && value.unit.is_some() => time,
        Value::LegacyGas { time, value, .. } if value.value.mantissa != 0 => time,
        _ => return None,
    };
    if stamp.time.is_some() || stamp.raw.is_empty() || is_clock_placeholder(stamp.raw) {
        return None;
    }
    let why = MeterTime::problem(stamp.raw);
    // Where the JSON form keeps it: a clock's object in `raw`, a timed value beside its time.
    let kept = if matches!(value, Value::Time(_)) { "raw" } else { "raw_timestamp" };
    Some(format!(
        "timestamp `{}` of {obis} is not a valid time ({why}); no time given, the text kept in `{kept}`",
        clip(stamp.raw)
    ))
}

/// A clock that was never set (`000000000000W`, `250000000000W`: month or day 00), as
/// meters send it and captures are anonymised, or the `632525252525W` an M-Bus device
/// without a reading leaves: no time, but nothing broken either. Only in the usual
/// `YYMMDDhhmmss` form: in a full-year form (`20000230 12:00:00`) those digits are the year's.
fn is_clock_placeholder(raw: &str) -> bool {
    let usual = matches!(raw.len(), 12 | 13) && raw.as_bytes()[..12].iter().all(u8::is_ascii_digit);
    usual && (raw.get(2..4) == Some("00") || raw.get(4..6) == Some("00") || raw.starts_with("632525"))
}

/// `str::trim`, without its Unicode scan for the usual text that starts and ends with a
/// printable ASCII character.
fn trim(s: &str) -> &str {
    let printable = |b: Option<&u8>| b.is_some_and(|&b| (b'!'..=0x7F).contains(&b));
    if printable(s.as_bytes().first()) && printable(s.as_bytes().last()) { s } else { s.trim() }
}

/// Type the value groups `g` by `row` into `out`, which holds [`Value::Empty`]. Written in
/// place, the usual small values are not copied again (this is the hot path).
#[inline(always)]
fn typed_value<'a>(row: &Row, g: &[&'a str], out: &mut Value<'a>) -> Result<(), String> {
    let first = g.first().copied().unwrap_or("");
    let value = match row.shape {
        Shape::Number | Shape::Text | Shape::HexText if first.is_empty() => return Ok(()),
        Shape::Number => match quantity(first, row.unit) {
            Ok(q) => Value::Number(q),
            // A state in words where the table has a number and no unit (a Wasion meter's
            // breaker `0-0:96.3.10(ON)`): kept as the text it is.
            Err(_) if row.unit.is_none() && is_word(first) => Value::Text(first),
            Err(e) => comma_pair(first, row.unit).ok_or(e)?,
        },
        Shape::Numbers => Value::Numbers(g.iter().map(|s| quantity(s, row.unit)).collect::<Result<Vec<_>, _>>()?),
        Shape::Text => Value::Text(first),
        Shape::HexText => Value::Hex(first),
        Shape::Time => Value::Time(stamp(first)),
        Shape::Timed => timed(g, row.unit)?,
        Shape::LegacyGas => legacy_gas(g)?,
        Shape::EventLog => event_log(g)?,
        Shape::PeakHistory => peak_history(g, row.unit)?,
        Shape::Profile => profile(g, row.unit)?,
        Shape::Snapshot => {
            let time = stamp(first);
            let values = g.iter().skip(1).map(|s| quantity(s, None)).collect::<Result<Vec<_>, _>>()?;
            Value::Snapshot { time, values }
        }
    };
    set_empty(out, value);
    Ok(())
}

/// Write `value` over `out`, which holds [`Value::Empty`]: that owns nothing, so it is
/// replaced without a drop call.
#[inline(always)]
pub(crate) fn set_empty<'a>(out: &mut Value<'a>, value: Value<'a>) {
    debug_assert!(matches!(out, Value::Empty));
    std::mem::forget(std::mem::replace(out, value));
}

fn stamp(raw: &str) -> Stamp<'_> {
    Stamp { time: MeterTime::parse(raw), raw }
}

/// Read `value*unit`, `value` or `valueunit` (some Fluvius meters drop the `*`). The unit is
/// kept as written; the table's unit only helps tell a unit without `*` from other text.
#[inline(always)]
fn quantity<'a>(s: &'a str, expected_unit: Option<&'static str>) -> Result<Quantity<'a>, String> {
    // The usual `value` and `value*unit`, read in one scan (on bytes: the rest is only cut
    // as text for the unusual forms).
    let parsed = Decimal::parse_prefix_len(s);
    if let Some((value, end)) = parsed {
        let rest = s.as_bytes().get(end..).unwrap_or_default();
        if rest.is_empty() {
            return Ok(Quantity { value, unit: None });
        }
        if expected_unit.is_some_and(|e| is_star_unit(rest, e.as_bytes())) {
            return Ok(Quantity { value, unit: expected_unit });
        }
    }
    let (value, unit) = match parsed.map(|(value, end)| (value, s.get(end..).unwrap_or_default())) {
        Some((value, rest)) if rest.starts_with('*') => (value, Some(unit_after_star(&rest[1..], s)?)),
        // `valueunit`, as some Fluvius meters write it.
        Some((value, rest))
            if rest.starts_with(|c: char| c.is_ascii_alphabetic())
                && plausible_unit(rest, expected_unit)
                && !rest.contains('*') =>
        {
            (value, Some(rest))
        }
        _ => loose_quantity(s, expected_unit)?,
    };
    // The unit as the meter wrote it (`kVArh` stays so where the table says `kvarh`).
    Ok(Quantity { value, unit: unit.filter(|u| !u.is_empty()) })
}

/// The unit in `text`, which follows a `*` in the group `group`, trimmed, if it can be one
/// (see [`is_unit_shaped`]; an empty unit is read as none).
fn unit_after_star<'a>(text: &'a str, group: &str) -> Result<&'a str, String> {
    let unit = trim(text);
    if !unit.is_empty() && !is_unit_shaped(unit) {
        return Err(format!("`{}` is no unit (expected value*unit, got `{}`)", clip(unit), clip(group)));
    }
    Ok(unit)
}

/// Two numbers in one group, `65.0*A,-65.0*A`, as a Sibelga S210 writes its import and
/// export current thresholds (Luxembourg meters send the same as two groups).
#[cold]
fn comma_pair<'a>(group: &'a str, unit: Option<&'static str>) -> Option<Value<'a>> {
    let (a, b) = group.split_once(',')?;
    Some(Value::Numbers(vec![quantity(a, unit).ok()?, quantity(b, unit).ok()?]))
}

/// Whether `rest` is exactly `*` followed by `unit`: compared in line, as a library call
/// costs more than comparing the three or four bytes a unit has.
#[inline(always)]
fn is_star_unit(rest: &[u8], unit: &[u8]) -> bool {
    match rest.split_first() {
        Some((b'*', u)) => u.len() == unit.len() && u.iter().zip(unit).all(|(a, b)| a == b),
        _ => false,
    }
}

/// Whether text after a number without `*` reads as a unit: the table's, or one meters
/// write (so `24408DB2` is no number with unit `DB2`).
fn plausible_unit(unit: &str, expected_unit: Option<&str>) -> bool {
    expected_unit.is_some_and(|u| u.eq_ignore_ascii_case(unit)) || crate::value::is_known_unit(unit)
}

/// The other forms [`quantity`] reads: blanks around the number, a unit without `*`.
fn loose_quantity<'a>(s: &'a str, expected_unit: Option<&str>) -> Result<(Decimal, Option<&'a str>), String> {
    let (num, unit) = match s.bytes().position(|b| b == b'*') {
        Some(star) => (&s[..star], Some(unit_after_star(&s[star + 1..], s)?)),
        None => match Decimal::parse(s) {
            Some(value) => return Ok((value, None)),
            None => {
                let split = s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len());
                let unit = &s[split..];
                if !plausible_unit(unit, expected_unit) {
                    return Err(format!("expected a number, got `{}`", clip(s)));
                }
                (&s[..split], Some(unit))
            }
        },
    };
    // A number broken over two lines inside its group (`(00016.` / `713*m3)`) is read whole.
    let value = Decimal::parse(trim(num))
        .or_else(|| num.contains('\n').then(|| num.replace(['\r', '\n'], "")).and_then(|n| Decimal::parse(trim(&n))))
        .ok_or_else(|| format!("expected a number, got `{}`", clip(s)))?;
    Ok((value, unit))
}

/// Whether `s` has the shape of a meter time, `YYMMDDhhmmss` and a DST flag, whether or not
/// it is a valid one (`632525252525W`).
fn is_time_shaped(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 13 && b[..12].iter().all(u8::is_ascii_digit) && matches!(b[12], b'S' | b'W' | b's' | b'w')
}

/// Whether `s` is one short word of letters (`ON`, `OFF`, `Closed`).
fn is_word(s: &str) -> bool {
    (1..=16).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphabetic())
}

/// `(TST)(value*unit)`, also in the reversed order one Iskra IE.5 meter sends, or a bare value. The placeholder an
/// unreachable or unconfigured M-Bus device leaves (`(632525252525W)(00000.000)`) is kept as
/// written; [`Value::is_placeholder`] tells it apart.
fn timed<'a>(g: &[&'a str], unit: Option<&'static str>) -> Result<Value<'a>, String> {
    let (time, value) = match g {
        [] | [""] => return Ok(Value::Empty),
        [t, v, ..] => {
            let first = MeterTime::parse(t);
            if first.is_none() && MeterTime::parse(v).is_some() {
                (stamp(v), quantity(t, unit)?)
            } else if v.is_empty() {
                return Ok(Value::Empty);
            } else {
                (Stamp { time: first, raw: t }, quantity(v, unit)?)
            }
        }
        // A capture time without its value: no reading (as with the placeholders above).
        [only] if is_time_shaped(only) => return Ok(Value::Empty),
        // A reading without its capture time (an Icelandic heat meter's `(0366.475*m3)`):
        // the value is kept, and taken at the telegram's time; a zero, unit or not, is none
        // (`(0)`: an M-Bus channel with no device, as an MCS301 sends it).
        [only] => {
            let q = quantity(only, unit).map_err(|e| format!("expected a timestamp and a value: {e}"))?;
            return Ok(if q.value.mantissa == 0 { Value::Empty } else { Value::Number(q) });
        }
    };
    Ok(Value::Timed { time, value })
}

/// `(TST12)(status)(period)(1)(obis)(unit)` + `(value)`.
fn legacy_gas<'a>(g: &[&'a str]) -> Result<Value<'a>, String> {
    let [time, status, period, _count, source, unit, value, ..] = g else {
        return Err(format!("expected 7 value groups for a DSMR 2.2/3.0 gas reading, got {}", g.len()));
    };
    let mut q = quantity(value, None)?;
    if q.unit.is_none() && !unit.is_empty() {
        q.unit = Some(unit);
    }
    let profile = Box::new(GasProfile { status, period_minutes: period.parse().ok(), source });
    Ok(Value::LegacyGas { time: stamp(time), value: q, profile })
}

/// `(n)(0-0:96.7.19)` then n × `(TST end)(duration*s)`. `()` alone means an empty log.
/// Meters in the field send fewer pairs than they announce (Landis+Gyr, Sagemcom T210-D):
/// every complete pair sent is kept, fewer or more than the count says.
fn event_log<'a>(g: &[&'a str]) -> Result<Value<'a>, String> {
    let count_text = g.first().copied().unwrap_or("");
    let buffer_type = g.get(1).copied().unwrap_or("");
    if count_text.is_empty() && g.len() <= 2 {
        return Ok(Value::EventLog { buffer_type, entries: Vec::new() });
    }
    let count: usize =
        count_text.parse().map_err(|_| format!("expected an entry count, got `{}`", clip(count_text)))?;
    let pairs = g.get(2..).unwrap_or(&[]);
    let mut entries = Vec::with_capacity(count.min(pairs.len() / 2));
    for p in pairs.chunks_exact(2) {
        if p[0].is_empty() && p[1].is_empty() {
            continue; // `(1)()()()`: announced, not sent
        }
        entries.push(FailureEntry { end: stamp(p[0]), duration: quantity(p[1], Some("s"))? });
    }
    Ok(Value::EventLog { buffer_type, entries })
}

/// `(n)(1-0:1.6.0)(1-0:1.6.0)` then n × `(TST start)(TST peak)(value*kW)`; as with the
/// event log, every complete entry sent is kept. The list of capture objects says how a
/// record is laid out, so newer meters that also capture a billing counter and the export
/// peak (`(n)(0-0:0.1.0)(1-0:1.6.0)(1-0:1.6.0)(1-0:2.6.0)(1-0:2.6.0)`, L+G E660) are read
/// too: a record is its own time, then one group per capture object, and a code captured
/// twice in a row is (time of the peak)(peak).
fn peak_history<'a>(g: &[&'a str], unit: Option<&'static str>) -> Result<Value<'a>, String> {
    let (captures, records) = profile_head(g)?;
    let pair_at = |code: &str| captures.windows(2).position(|w| w[0] == code && w[1] == code);
    let (import, export) = match captures {
        [] => return Ok(Value::PeakHistory(Vec::new())),
        [_, _] => (0, None),
        _ => match pair_at("1-0:1.6.0") {
            Some(i) => (i, pair_at("1-0:2.6.0")),
            None => {
                return Err(format!(
                    "capture objects {} hold no demand peak (1-0:1.6.0 twice)",
                    clip(&captures.join(","))
                ));
            }
        },
    };
    let demand = |record: &[&'a str], at: usize| -> Result<Demand<'a>, String> {
        Ok(Demand { time: stamp(record[1 + at]), value: quantity(record[2 + at], unit)? })
    };
    let peaks = records
        .chunks_exact(1 + captures.len())
        .map(|r| {
            let Demand { time, value } = demand(r, import)?;
            let export = export.map(|at| demand(r, at)).transpose()?;
            Ok(Peak { period_start: stamp(r[0]), time, demand: value, export })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Value::PeakHistory(peaks))
}

/// `(n)(code)...(code)` then n records of `(TST)` and one number per code; every complete
/// record sent is kept, as with the event log.
#[inline(never)]
fn profile<'a>(g: &[&'a str], unit: Option<&'static str>) -> Result<Value<'a>, String> {
    let (captures, records) = profile_head(g)?;
    let records = if captures.is_empty() { &[] } else { records };
    let (mut times, mut values) = (Vec::new(), Vec::new());
    for r in records.chunks_exact(1 + captures.len()) {
        times.push(stamp(r[0]));
        for v in &r[1..] {
            values.push(quantity(v, unit)?);
        }
    }
    Ok(Value::Profile(Box::new(Profile { captures: captures.to_vec(), times, values })))
}

/// The head of a profile generic, `(n)(code)...(code)`: the capture objects, and the
/// groups of the records after them. The count n must be a number, but the records sent
/// are read whatever it says (meters send fewer than they announce).
fn profile_head<'g, 'a>(g: &'g [&'a str]) -> Result<(&'g [&'a str], &'g [&'a str]), String> {
    let count_text = g.first().copied().unwrap_or("");
    count_text.parse::<usize>().map_err(|_| format!("expected an entry count, got `{}`", clip(count_text)))?;
    let rest = g.get(1..).unwrap_or(&[]);
    Ok(rest.split_at(rest.iter().take_while(|c| Obis::parse(c).is_some()).count()))
}

/// Name M-Bus readings after the device on their channel: a water meter's 24.2.1 is a
/// `water_meter_reading`, not an hourly gas reading. Gas keeps the table's name.
fn name_mbus_readings(objects: &mut [Object<'_>]) {
    let mut media: [Option<Medium>; 5] = [None; 5];
    // The second pass starts at the first M-Bus line (meters send them last, so it is
    // short).
    let mut first = objects.len();
    for (i, o) in objects.iter().enumerate() {
        if is_mbus_code(o.id) {
            first = first.min(i);
            if let ((24, 1, 0), Value::Number(q)) = ((o.id.c, o.id.d, o.id.e), &o.value) {
                media[usize::from(o.id.b)] = q.value.to_i64().map(Medium::from_device_type);
            }
        }
    }
    for o in objects[first..].iter_mut() {
        if !is_mbus_code(o.id) || o.name.is_none() {
            continue;
        }
        let Some(medium) = media[usize::from(o.id.b)] else { continue };
        if let Some(name) = mbus_name((o.id.c, o.id.d, o.id.e), medium) {
            o.name = Some(name);
        }
    }
}

/// The name of the M-Bus line `(c, d, e)` on a channel whose device is `medium`, where the
/// device decides it: readings, ids and valves (`None` for the lines whose table name
/// stands whatever the device).
pub fn mbus_name(code: (u8, u8, u8), medium: Medium) -> Option<&'static str> {
    Some(match (code, medium) {
        ((24, 2, 1), Medium::Gas) => "hourly_gas_meter_reading",
        ((24, 2, _) | (24, 3, 0), m) => reading_name(m),
        ((96, 1, 0 | 1), m) => id_name(m),
        ((24, 4, 0), m) => valve_name(m),
        _ => return None,
    })
}

fn reading_name(m: Medium) -> &'static str {
    match m {
        Medium::Electricity => "electricity_meter_reading",
        Medium::Gas => "gas_meter_reading",
        Medium::Heat => "heat_meter_reading",
        Medium::Water => "water_meter_reading",
        Medium::HotWater => "hot_water_meter_reading",
        Medium::Cooling => "cooling_meter_reading",
        Medium::Other => "mbus_meter_reading",
    }
}

fn id_name(m: Medium) -> &'static str {
    match m {
        Medium::Electricity => "equipment_identifier_electricity",
        Medium::Gas => "equipment_identifier_gas",
        Medium::Heat => "equipment_identifier_heat",
        Medium::Water => "equipment_identifier_water",
        Medium::HotWater => "equipment_identifier_hot_water",
        Medium::Cooling => "equipment_identifier_cooling",
        Medium::Other => "equipment_identifier_mbus",
    }
}

fn valve_name(m: Medium) -> &'static str {
    match m {
        Medium::Gas => "valve_position_gas",
        Medium::Water => "valve_position_water",
        _ => "valve_position_mbus",
    }
}

/// Parse with a version fixed in advance; a convenience for tests and benchmarks.
pub fn parse_as(bytes: &[u8], version: Version) -> Result<Telegram<'_>, ParseError> {
    parse(bytes, CrcStatus::Absent, VersionChoice::Fixed(version))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines as meters write them, and as broken or unusual meters do.
    const FRAGMENTS: &[&str] = &[
        "1-0:1.8.1(000576.239*kWh)\r\n",
        "1-0:1.7.0(00.193*kW)\r\n",
        "0-0:96.1.1(4530303433303037303532383730333138)\r\n",
        "0-0:1.0.0(190320181403W)\r\n",
        "0-1:24.2.1(190320181003W)(00304.089*m3)\r\n",
        "1-0:99.97.0(2)(0-0:96.7.19)(190201235231W)(0000003231*s)(190212214204W)(0000001489*s)\r\n",
        "0-0:96.13.0()\r\n",
        "1-3:0.2.8(50)\r\n",
        "1-0:1.8.0*255(000123.4 kWh)\r\n",
        "1-1:1.8.1(000001.000*kWh)\r\n",
        "9-9:9.9.9(1)(2)\r\n",
        "0-1:24.3.0(121030140000)(00)(60)(1)(0-1:24.2.1)(m3)\r\n",
        "(00000.000)\r\n",
        "\r\n",
        "1-0:1.8.2((000465.162*kWh))\r\n",
        "1-0:2.7.0(00.000*kW) \r\n",
        "1-0:32.7.0(236.1*V)\n",
        "1-0:31.7.0(001*A\r\n",
        "garbage line\r\n",
        "1-0:21.7.0(00.193kW)\r\n",
        "1-0:22.7.0(abc*kW)\r\n",
        "0-0:96.14.0(0002)(",
        "1-0:1.8.1(1)",
        // For the one-pass reader: unit case, a second group, signs, empty groups, a time
        // with a continuation, a unit that is not the table's, a number cut short.
        "1-0:1.8.1(000576.239*kwh)\r\n",
        "1-0:1.7.0(00.193*kW)(1)\r\n",
        "1-0:1.8.1(-1.5*kWh)\r\n",
        "0-0:96.1.1()\r\n",
        "0-0:1.0.0()\r\n",
        "0-0:1.0.0(190320181403W)\n(5)\r\n",
        "1-0:1.7.0(00.193*kWh)\r\n",
        "1-0:1.7.0(00.*kW)\r\n",
        "1-0:1.7.0(.5*kW)\r\n",
        // Timed values and logs: the value first, a placeholder, no unit, another unit,
        // fewer or empty pairs, another duration unit, a count past the group limit.
        "0-1:24.2.1(00304.089*m3)(190320181003W)\r\n",
        "0-1:24.2.1(632525252525W)(00000.000)\r\n",
        "0-1:24.2.1(190320181003W)(00304.089)\r\n",
        "0-1:24.2.1(190320181003W)(00304.089*GJ)\r\n",
        "0-1:24.2.1(190320181003W)()\r\n",
        "0-1:24.2.1(190320181003W)(1)(2)\r\n",
        "1-0:99.97.0(3)(0-0:96.7.19)(190201235231W)(0000003231*s)(190212214204W)(0000001489*s)\r\n",
        "1-0:99.97.0(1)(0-0:96.7.19)()()\r\n",
        "1-0:99.97.0(1)(0-0:96.7.19)(190201235231W)(0000003231*S)\r\n",
        "1-0:99.97.0(1)(0-0:96.7.19)(190201235231W)(0000003231)\r\n",
        "1-0:99.97.0(0)(0-0:96.7.19)\r\n",
        "1-0:99.97.0(1)(0-0:96.7.19)(190201235231W)(0000003231*s)(190212214204W)(0000001489*s)\r\n",
        "1-0:99.97.0()(0-0:96.7.19)\r\n",
        "1-0:99.97.0(1)(0-0:96.7.19)(190201235231W)\r\n",
        "1-0:99.97.0(40)(0-0:96.7.19)(190201235231W)(0000003231*s)\r\n",
        "1-0:99.97.0(01)(0-0:96.7.19)(190201235231W)(0000003231*s)\r\n",
        // New forms: an empty M-Bus slot, a COSEM clock, a unit that is no unit, a peak
        // history with export peaks, a bad time.
        "0-1:24.2.1(0)\r\n",
        "0-0:1.0.0(07EA080B0208151900007880)\r\n",
        "1-0:1.7.0(65.0*A,-65.0*A)\r\n",
        "0-0:98.1.0(1)(0-0:0.1.0)(1-0:1.6.0)(1-0:1.6.0)(1-0:2.6.0)(1-0:2.6.0)(250701000000S)(15)(250604084500S)(01.452*kW)(250629150000S)(01.633*kW)\r\n",
        "0-0:1.0.0(991399235959W)\r\n",
        "0-0:96.13.0(30313233\r\n34353637\r\n",
        "38)\r\n",
        "0-0:98.1.1(1)(0-0:0.1.0)(1-0:1.8.0)(250701000000S)(15)(0002631.00*kWh)\r\n",
        // Failure logs the usual-entry reader must not take: no `(` before a duration or a
        // time, durations of 19 and 20 digits, of none, or of another width.
        "1-0:99.97.0(1)(0-0:96.7.19)(190201235231W)x0000003231*s)\r\n",
        "1-0:99.97.0(1)(0-0:96.7.19)(190201235231W))0000003231*s)\r\n",
        "1-0:99.97.0(1)(0-0:96.7.19)(190201235231Wx(0000003231*s)\r\n",
        "1-0:99.97.0(2)(0-0:96.7.19)(190201235231W)(0000003231*s)x190212214204W)(0000001489*s)\r\n",
        "1-0:99.97.0(1)(0-0:96.7.19)(190201235231W)(1234567890123456789*s)\r\n",
        "1-0:99.97.0(1)(0-0:96.7.19)(190201235231W)(12345678901234567890*s)\r\n",
        "1-0:99.97.0(1)(0-0:96.7.19)(190201235231W)(*s)\r\n",
        "1-0:99.97.0(1)(0-0:96.7.19)(190201235231W)(3231*s)\r\n",
    ];

    /// Every plain telegram in `recordings/` reads the same by the fast paths as by the
    /// general reader, against every table.
    #[test]
    fn fast_paths_agree_with_the_general_path_on_every_recording() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("recordings");
        let mut telegrams = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "txt") {
                continue;
            }
            let stream = std::fs::read(&path).unwrap();
            let mut framer = crate::frame::Framer::default();
            let mut rest = stream.as_slice();
            while !rest.is_empty() {
                let (n, event) = framer.feed(rest);
                rest = &rest[n..];
                let Some(crate::frame::Event::Frame(crate::frame::Frame::Plain { bytes, .. })) = event else {
                    continue;
                };
                let body = &bytes[..memchr::memrchr(b'!', bytes).unwrap()];
                let Ok(text) = std::str::from_utf8(body) else { continue };
                let header_end = memchr::memchr(b'\n', body).unwrap_or(body.len());
                telegrams += 1;
                for version in Version::ALL {
                    let spec = version.spec();
                    let fast = read_lines(body, Some(text), header_end, spec);
                    let slow = read_lines(body, None, header_end, spec);
                    let at = format!("{} telegram {telegrams} as {version:?}", path.display());
                    assert_eq!(fast.objects, slow.objects, "{at}");
                    assert_eq!(fast.errors, slow.errors, "{at}");
                    assert_eq!(fast.value_errors, slow.value_errors, "{at}");
                }
            }
        }
        assert!(telegrams > 600, "{telegrams} telegrams read");
    }

    #[test]
    fn ascii_text_is_only_all_ascii_input() {
        let body = "/ISK5\\2M550E-1012\r\n\r\n1-0:1.8.1(000576.239*kWh)\r\n1-0:1.7.0(00.193*kW)".as_bytes();
        assert_eq!(ascii_text(body), Some(std::str::from_utf8(body).unwrap()));
        assert_eq!(ascii_text(b""), Some(""));
        // A byte of 0x80 or more anywhere, in a full sixteen or in the rest, is no ASCII.
        for at in 0..body.len() {
            for high in [0x80, 0xC3, 0xFF] {
                let mut bytes = body.to_vec();
                bytes[at] = high;
                assert_eq!(ascii_text(&bytes), None, "0x{high:X} at {at}");
            }
        }
    }

    /// Where the fast paths and the general path read `fragments` after a header
    /// differently, as each reads them under three tables; `None` when they agree.
    fn paths_disagree<'f>(fragments: impl IntoIterator<Item = &'f str>) -> Option<String> {
        let mut body = String::from("/ISK5\\2M550E-1012\r\n\r\n");
        body.extend(fragments);
        let header_end = body.find('\n').unwrap();
        for version in [Version::V5, Version::V2_2, Version::Belgium] {
            let spec = version.spec();
            let fast = read_lines(body.as_bytes(), Some(&body), header_end, spec);
            let slow = read_lines(body.as_bytes(), None, header_end, spec);
            let (fast, slow) = (
                format!("{:?} {:?} {:?} {:?}", fast.objects, fast.errors, fast.value_errors, fast.clues),
                format!("{:?} {:?} {:?} {:?}", slow.objects, slow.errors, slow.value_errors, slow.clues),
            );
            if fast != slow {
                return Some(format!("{body:?} as {version:?}:\n fast: {fast}\n slow: {slow}"));
            }
        }
        None
    }

    /// Each fragment alone reads the same by both paths (what the property below samples).
    #[test]
    fn fast_path_agrees_with_the_general_path_on_each_fragment() {
        for fragment in FRAGMENTS {
            assert_eq!(paths_disagree([*fragment]), None);
        }
    }

    proptest::proptest! {
        /// The plain-line fast path reads every line exactly as the general path does: the
        /// same objects, values, line numbers and errors, whatever the lines around it.
        #[test]
        fn fast_path_agrees_with_the_general_path(picks in proptest::collection::vec(0..FRAGMENTS.len(), 0..24)) {
            let disagreement = paths_disagree(picks.iter().map(|&i| FRAGMENTS[i]));
            proptest::prop_assert!(disagreement.is_none(), "{}", disagreement.unwrap_or_default());
        }
    }
}
