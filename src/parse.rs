//! Turns one plain frame into a [`Telegram`]: split lines, read OBIS ids and value groups,
//! pick the table ([`crate::detect`]), and type every value by its row's shape. One bad
//! line becomes a [`LineError`]; the other lines are still read.

use crate::detect::{self, Clues};
use crate::frame::CrcStatus;
use crate::obis::Obis;
use crate::spec::{Medium, Row, Shape, Version, VersionChoice};
use crate::telegram::{FailureEntry, LineError, Object, Peak, Quantity, Stamp, Telegram, Value, is_mbus_code};
use crate::value::{Decimal, MeterTime};

/// Why a frame could not be read as a telegram at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("frame does not start with `/`")]
    NoHeader,
    #[error("telegram header is not text")]
    BadHeader,
}

/// The most value groups one line may carry (the Belgian 13-month history has 42).
const MAX_GROUPS: usize = 64;

/// A data line before typing: its id and value groups.
struct RawLine<'a> {
    obis: &'a str,
    id: Obis,
    line: u32,
    text: &'a str,
    groups: std::ops::Range<usize>,
}

/// Parse a plain frame (from `/` through `!` and the CRC digits).
pub fn parse(bytes: &[u8], crc: CrcStatus, choice: VersionChoice) -> Result<Telegram<'_>, ParseError> {
    if bytes.first() != Some(&b'/') {
        return Err(ParseError::NoHeader);
    }
    let end = memchr::memrchr(b'!', bytes).unwrap_or(bytes.len());
    let body = &bytes[..end];
    let header_end = memchr::memchr(b'\n', body).unwrap_or(body.len());
    let header = std::str::from_utf8(&body[1..header_end]).map_err(|_| ParseError::BadHeader)?;
    let header = header.trim_end_matches(['\r', '\0']);

    let mut groups: Vec<&str> = Vec::with_capacity(64);
    let mut raws: Vec<RawLine<'_>> = Vec::with_capacity(48);
    let mut errors: Vec<LineError<'_>> = Vec::new();
    let mut clues = Clues::default();

    for (line_no, text) in logical_lines(body, header_end) {
        let Ok(text) = std::str::from_utf8(text) else {
            errors.push(LineError {
                line: line_no,
                text: "",
                reason: "line is not text (bytes lost or changed?)".into(),
            });
            continue;
        };
        let Some((obis, id, rest)) = Obis::split_line(text) else {
            errors.push(LineError { line: line_no, text, reason: "not an OBIS data line".into() });
            continue;
        };
        let start = groups.len();
        if let Err(reason) = split_groups(rest, &mut groups) {
            groups.truncate(start);
            errors.push(LineError { line: line_no, text, reason });
            continue;
        }
        clues.see(id, obis, &groups[start..]);
        raws.push(RawLine { obis, id, line: line_no, text, groups: start..groups.len() });
    }

    let version = match choice {
        VersionChoice::Fixed(v) => v,
        VersionChoice::Auto => detect::detect(header, &clues, crc),
    };
    let spec = version.spec();
    let mut objects = Vec::with_capacity(raws.len());
    for raw in &raws {
        let g = &groups[raw.groups.clone()];
        let row = spec.lookup(raw.id);
        let typed = match row {
            Some(row) => typed_value(row, g),
            None => Ok(Value::Raw(g.to_vec())),
        };
        match typed {
            Ok(value) => {
                objects.push(Object { obis: raw.obis, id: raw.id, line: raw.line, name: row.map(|r| r.name), value })
            }
            Err(reason) => errors.push(LineError { line: raw.line, text: raw.text, reason }),
        }
    }
    name_mbus_readings(&mut objects);
    Ok(Telegram { header, version, crc, objects, errors, encrypted: false })
}

/// The data lines after the header, as (line number, bytes), with a line that starts with
/// `(` joined to the one before it (DSMR 2.2/3.0 gas values).
fn logical_lines(body: &[u8], header_end: usize) -> impl Iterator<Item = (u32, &[u8])> {
    let mut pos = (header_end + 1).min(body.len());
    let mut line_no = 1u32;
    let mut pending: Option<(u32, usize, usize)> = None;
    std::iter::from_fn(move || {
        loop {
            if pos >= body.len() {
                return pending.take().map(|(n, s, e)| (n, &body[s..e]));
            }
            let nl = memchr::memchr(b'\n', &body[pos..]).map_or(body.len(), |i| pos + i);
            let start = pos;
            let mut end = nl;
            while end > start && matches!(body[end - 1], b'\r' | b'\0' | b' ' | b'\t') {
                end -= 1;
            }
            let mut start_trim = start;
            while start_trim < end && matches!(body[start_trim], b'\0' | b' ' | b'\t' | b'\r') {
                start_trim += 1;
            }
            pos = nl + 1;
            line_no += 1;
            if start_trim == end {
                continue;
            }
            if body[start_trim] == b'(' {
                if let Some((_, _, e)) = pending.as_mut() {
                    *e = end;
                    continue;
                }
            }
            let prev = pending.replace((line_no, start_trim, end));
            if let Some((n, s, e)) = prev {
                return Some((n, &body[s..e]));
            }
        }
    })
}

/// Split `(a)(b*u)((c))` into group contents, tolerating line breaks and blanks between
/// groups and a doubled pair of parentheses.
fn split_groups<'a>(mut rest: &'a str, out: &mut Vec<&'a str>) -> Result<(), String> {
    let mut count = 0;
    loop {
        rest = rest.trim_start_matches(['\r', '\n', ' ', '\t', '\0']);
        if rest.is_empty() {
            return if count == 0 { Err("no value after the OBIS code".into()) } else { Ok(()) };
        }
        if !rest.starts_with('(') {
            return Err(format!("unexpected text `{}` where a `(` was expected", clip(rest)));
        }
        let doubled = rest.starts_with("((");
        let (open, close) = if doubled { (2, "))") } else { (1, ")") };
        let Some(len) = rest[open..].find(close) else {
            return Err("value group is not closed with `)`".into());
        };
        count += 1;
        if count > MAX_GROUPS {
            return Err(format!("more than {MAX_GROUPS} value groups"));
        }
        out.push(&rest[open..open + len]);
        rest = &rest[open + len + close.len()..];
    }
}

fn clip(s: &str) -> &str {
    match s.char_indices().nth(24) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

fn typed_value<'a>(row: &Row, g: &[&'a str]) -> Result<Value<'a>, String> {
    let first = g.first().copied().unwrap_or("");
    match row.shape {
        Shape::Number => {
            if first.is_empty() {
                return Ok(Value::Empty);
            }
            quantity(first, row.unit).map(Value::Number)
        }
        Shape::Numbers => g.iter().map(|s| quantity(s, row.unit)).collect::<Result<Vec<_>, _>>().map(Value::Numbers),
        Shape::Text if first.is_empty() => Ok(Value::Empty),
        Shape::Text => Ok(Value::Text(first)),
        Shape::HexText if first.is_empty() => Ok(Value::Empty),
        Shape::HexText => Ok(Value::Hex(first)),
        Shape::Time => Ok(Value::Time(stamp(first))),
        Shape::Timed => timed(g, row.unit),
        Shape::LegacyGas => legacy_gas(g),
        Shape::EventLog => event_log(g),
        Shape::PeakHistory => peak_history(g, row.unit),
        Shape::Snapshot => {
            let time = stamp(first);
            let values = g.iter().skip(1).map(|s| quantity(s, None)).collect::<Result<Vec<_>, _>>()?;
            Ok(Value::Snapshot { time, values })
        }
    }
}

fn stamp(raw: &str) -> Stamp<'_> {
    Stamp { time: MeterTime::parse(raw), raw }
}

/// Read `value*unit`, `value` or `valueunit` (some Fluvius meters drop the `*`).
fn quantity<'a>(s: &'a str, expected_unit: Option<&str>) -> Result<Quantity<'a>, String> {
    let (num, unit) = match s.split_once('*') {
        Some((n, u)) => (n, Some(u.trim())),
        None => match Decimal::parse(s) {
            Some(value) => return Ok(Quantity { value, unit: None }),
            None => {
                let split = s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len());
                let unit = &s[split..];
                let plausible = !unit.is_empty()
                    && unit.len() <= 6
                    && (expected_unit.is_some_and(|u| u.eq_ignore_ascii_case(unit))
                        || unit.bytes().all(|b| b.is_ascii_alphanumeric()));
                if !plausible {
                    return Err(format!("expected a number, got `{}`", clip(s)));
                }
                (&s[..split], Some(unit))
            }
        },
    };
    let value = Decimal::parse(num.trim()).ok_or_else(|| format!("expected a number, got `{}`", clip(s)))?;
    Ok(Quantity { value, unit: unit.filter(|u| !u.is_empty()) })
}

/// `(TST)(value*unit)`, also in the reversed order one Irish meter sends.
fn timed<'a>(g: &[&'a str], unit: Option<&str>) -> Result<Value<'a>, String> {
    match g {
        [] | [""] => Ok(Value::Empty),
        [t, v, ..] => {
            if MeterTime::parse(t).is_none() && MeterTime::parse(v).is_some() {
                return Ok(Value::Timed { time: stamp(v), value: quantity(t, unit)? });
            }
            if v.is_empty() {
                return Ok(Value::Empty);
            }
            Ok(Value::Timed { time: stamp(t), value: quantity(v, unit)? })
        }
        [_] => Err("expected a timestamp and a value".into()),
    }
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
    Ok(Value::LegacyGas { time: stamp(time), status, period_minutes: period.parse().ok(), source, value: q })
}

/// `(n)(0-0:96.7.19)` then n × `(TST end)(duration*s)`. `()` alone means an empty log.
/// Meters in the field send fewer pairs than they announce (Landis+Gyr, Sagemcom T210-D):
/// the complete pairs present are kept.
fn event_log<'a>(g: &[&'a str]) -> Result<Value<'a>, String> {
    let count_text = g.first().copied().unwrap_or("");
    let buffer_type = g.get(1).copied().unwrap_or("");
    if count_text.is_empty() && g.len() <= 2 {
        return Ok(Value::EventLog { buffer_type, entries: Vec::new() });
    }
    let count: usize =
        count_text.parse().map_err(|_| format!("expected an entry count, got `{}`", clip(count_text)))?;
    let pairs = g.get(2..).unwrap_or(&[]);
    let entries = pairs
        .chunks_exact(2)
        .take(count)
        .map(|p| Ok(FailureEntry { end: stamp(p[0]), duration: quantity(p[1], Some("s"))? }))
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Value::EventLog { buffer_type, entries })
}

/// `(n)(1-0:1.6.0)(1-0:1.6.0)` then n × `(TST start)(TST peak)(value*kW)`; as with the
/// event log, the complete entries present are kept.
fn peak_history<'a>(g: &[&'a str], unit: Option<&str>) -> Result<Value<'a>, String> {
    let count_text = g.first().copied().unwrap_or("");
    let count: usize =
        count_text.parse().map_err(|_| format!("expected an entry count, got `{}`", clip(count_text)))?;
    let triples = g.get(3..).unwrap_or(&[]);
    let peaks = triples
        .chunks_exact(3)
        .take(count)
        .map(|t| Ok(Peak { period_start: stamp(t[0]), time: stamp(t[1]), demand: quantity(t[2], unit)? }))
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Value::PeakHistory(peaks))
}

/// Name M-Bus readings after the device on their channel: a water meter's 24.2.1 is a
/// `water_meter_reading`, not an hourly gas reading. Gas keeps the table's name.
fn name_mbus_readings(objects: &mut [Object<'_>]) {
    let mut media: [Option<Medium>; 5] = [None; 5];
    for o in objects.iter() {
        if is_mbus_code(o.id) && (o.id.c, o.id.d, o.id.e) == (24, 1, 0) {
            if let Value::Number(q) = &o.value {
                media[usize::from(o.id.b)] = q.value.to_i64().map(Medium::from_device_type);
            }
        }
    }
    for o in objects.iter_mut() {
        if !is_mbus_code(o.id) || o.name.is_none() {
            continue;
        }
        let Some(medium) = media[usize::from(o.id.b)] else { continue };
        o.name = Some(match (o.id.c, o.id.d, o.id.e, medium) {
            (24, 2, 1, Medium::Gas) => "hourly_gas_meter_reading",
            (24, 2, _, Medium::Gas) | (24, 3, 0, Medium::Gas) => "gas_meter_reading",
            (24, 2, _, m) | (24, 3, 0, m) => reading_name(m),
            (96, 1, _, m) if o.id.e < 2 => id_name(m),
            (24, 4, 0, m) => valve_name(m),
            _ => continue,
        });
    }
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
