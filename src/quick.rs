//! Reads the commonest data lines — a known code with one number, text or time, an M-Bus
//! reading with its time, the power failure log — in one forward pass from the code to the
//! next line, because they are most of every telegram. Anything it does not expect is left
//! to the general readers, which give the same value.

use crate::lines::{MAX_GROUPS, between_ascii, find_close_or_newline, plain_end};
use crate::parse::set_empty;
use crate::spec::code_index::{Code, Quick};
use crate::telegram::{FailureEntry, Quantity, Stamp, Value};
use crate::value::{Decimal, MeterTime, digit_run, eight_digits};

/// Type the value of the line at `pos`, whose code the index found as `code`, into `out`
/// (which holds [`Value::Empty`]) and return where the next line starts; `None`, with `out`
/// untouched, unless the line is exactly `code(value)` followed by a plain line end (see
/// [`plain_end`]) and the value has the row's usual form.
#[inline(always)]
pub(crate) fn value<'a>(text: &'a str, pos: usize, code: &Code, out: &mut Value<'a>) -> Option<usize> {
    let b = text.as_bytes();
    // `pos + code.len` is the `(`; the value starts after it.
    let v = pos + code.len + 1;
    match code.quick() {
        Quick::No => None,
        Quick::Number { tail, tail_len } => {
            let (value, end) = number(text, v, tail, tail_len, code.row().unit)?;
            let next = plain_end(b, end)?;
            set_empty(out, Value::Number(value));
            Some(next)
        }
        Quick::Timed { tail, tail_len } => {
            // A time that is none (a placeholder, or the value first as one Iskra IE.5 meter
            // sends it) is left to the general reader.
            let (raw, close, time) = time_group(text, v)?;
            let time = time?;
            if b.get(close + 1) != Some(&b'(') {
                return None;
            }
            let (value, end) = number(text, close + 2, tail, tail_len, code.row().unit)?;
            let next = plain_end(b, end)?;
            set_empty(out, Value::Timed { time: Stamp { time: Some(time), raw }, value });
            Some(next)
        }
        Quick::EventLog => event_log(text, v, out),
        Quick::Time => {
            let (raw, close, time) = time_group(text, v)?;
            // A time that is none is left to the general reader, which reports it.
            if time.is_none() && !raw.is_empty() {
                return None;
            }
            let next = plain_end(b, close + 1)?;
            set_empty(out, Value::Time(Stamp { time, raw }));
            Some(next)
        }
        Quick::Text | Quick::Hex => {
            let (raw, close) = group(text, v)?;
            let next = plain_end(b, close + 1)?;
            match code.quick() {
                _ if raw.is_empty() => {}
                Quick::Hex => set_empty(out, Value::Hex(raw)),
                _ => set_empty(out, Value::Text(raw)),
            }
            Some(next)
        }
    }
}

/// The group whose text starts at `v` (just after its `(`), and the offset of its `)`;
/// `None` for a doubled `((` or a group a line end cuts short.
#[inline(always)]
fn group(text: &str, v: usize) -> Option<(&str, usize)> {
    let b = text.as_bytes();
    if b.get(v) == Some(&b'(') {
        return None;
    }
    let close = v + find_close_or_newline(b.get(v..)?)?;
    if b[close] != b')' {
        return None;
    }
    Some((between_ascii(text, v, close), close))
}

/// The number whose text starts at `v` (just after its `(`), closed by `)` or by `tail`
/// (`*unit)`, `tail_len` bytes, read as `unit`) with or without its `*`, and the offset
/// after the `)`.
#[inline(always)]
fn number<'a>(
    text: &'a str,
    v: usize,
    tail: u64,
    tail_len: u8,
    unit: Option<&'static str>,
) -> Option<(Quantity<'a>, usize)> {
    let b = text.as_bytes();
    let (value, len) = Decimal::parse_prefix_len(text.get(v..)?)?;
    let at = v + len;
    match b.get(at) {
        Some(b')') => Some((Quantity { value, unit: None }, at + 1)),
        _ => {
            let word = match b.get(at..at + 8) {
                Some(word) => u64::from_le_bytes(word.try_into().ok()?),
                None => last_word(b, at),
            };
            let mask = u64::MAX >> (64 - 8 * u32::from(tail_len));
            if word & mask == tail {
                return Some((Quantity { value, unit }, at + usize::from(tail_len)));
            }
            // `valueunit)`, without the `*`, as some Fluvius meters write it (for a unit
            // that starts with a letter, as the general reader wants).
            let bare = tail >> 8;
            let bare_ok = tail_len > 2 && (bare as u8).is_ascii_alphabetic() && word & (mask >> 8) == bare;
            bare_ok.then_some((Quantity { value, unit }, at + usize::from(tail_len) - 1))
        }
    }
}

/// The bytes from `at` to the end of `b` (fewer than eight: the last line's tail) as a
/// little-endian word, zero-filled; no tail has a zero byte, so none matches past the end.
#[cold]
fn last_word(b: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    let rest = b.get(at..).unwrap_or_default();
    let n = rest.len().min(8);
    word[..n].copy_from_slice(&rest[..n]);
    u64::from_le_bytes(word)
}

/// The group whose text starts at `v` read as a time, as [`group`] and
/// [`MeterTime::parse`] would read it: (text, offset of its `)`, time). The usual
/// `YYMMDDhhmmssX` is taken at its fixed width, without searching for the `)`: a valid time
/// holds neither `)` nor a line end, so the search would stop at the same byte.
#[inline(always)]
fn time_group(text: &str, v: usize) -> Option<(&str, usize, Option<MeterTime>)> {
    const WIDTH: usize = 13;
    if text.as_bytes().get(v + WIDTH) == Some(&b')') {
        if let Some(raw) = text.get(v..v + WIDTH) {
            if let Some(time) = MeterTime::parse(raw) {
                return Some((raw, v + WIDTH, Some(time)));
            }
        }
    }
    let (raw, close) = group(text, v)?;
    Some((raw, close, MeterTime::parse(raw)))
}

/// `*s)`, the tail of a failure's duration, as [`number`] compares it.
const SECONDS: (u64, u8) = (u32::from_le_bytes([b'*', b's', b')', 0]) as u64, 3);

/// The power failure log whose count starts at `v`: `(n)(buffer)` and its complete
/// `(time)(seconds)` pairs, however many the count announces. Logs with empty pairs are
/// left to the general reader.
#[inline(never)]
fn event_log<'a>(text: &'a str, v: usize, out: &mut Value<'a>) -> Option<usize> {
    let b = text.as_bytes();
    // At most two digits, and no more pairs than a line may have groups.
    let (count, at) = match (b.get(v)?, b.get(v + 1)?) {
        (d @ b'0'..=b'9', b')') => (usize::from(d - b'0'), v + 1),
        (t @ b'0'..=b'9', o @ b'0'..=b'9') if b.get(v + 2) == Some(&b')') => {
            (usize::from(t - b'0') * 10 + usize::from(o - b'0'), v + 2)
        }
        _ => return None,
    };
    if count > (MAX_GROUPS - 2) / 2 || b.get(at + 1) != Some(&b'(') {
        return None;
    }
    let (buffer_type, mut close) = group(text, at + 2)?;
    let mut entries = Vec::with_capacity(count);
    while b.get(close + 1) == Some(&b'(') {
        if let Some((entry, end)) = usual_entry(text, close + 1) {
            entries.push(entry);
            close = end;
            continue;
        }
        let (raw, end, time) = time_group(text, close + 2)?;
        if raw.is_empty() || b.get(end + 1) != Some(&b'(') {
            return None;
        }
        let (duration, after) = number(text, end + 2, SECONDS.0, SECONDS.1, Some("s"))?;
        entries.push(FailureEntry { end: Stamp { time, raw }, duration });
        close = after - 1;
    }
    // A log may hold fewer pairs than it announces (Landis+Gyr, Sagemcom T210-D), or more:
    // every pair sent is kept, as the general reader keeps them.
    let next = plain_end(b, close + 1)?;
    set_empty(out, Value::EventLog { buffer_type, entries });
    Some(next)
}

/// One failure in the form meters send it, `(YYMMDDhhmmssX)(digits*s)` with a valid time
/// and at most 18 digits, from the `(` at `at`: the entry and the offset of its last `)`.
/// `None` for any other form, which [`event_log`] reads group by group as before.
#[inline(always)]
fn usual_entry(text: &str, at: usize) -> Option<(FailureEntry<'_>, usize)> {
    const WIDTH: usize = 13;
    let b = text.as_bytes();
    let head = b.get(at..at + WIDTH + 4)?;
    if head[WIDTH + 1] != b')' || head[WIDTH + 2] != b'(' {
        return None;
    }
    let raw = between_ascii(text, at + 1, at + WIDTH + 1);
    let time = MeterTime::parse(raw)?;
    let start = at + WIDTH + 3;
    let (mantissa, end) = match ten_digit_seconds(b, start) {
        Some(mantissa) => (mantissa, start + 10),
        None => {
            let (mantissa, end) = digit_run(b, start, 0);
            if !(1..=18).contains(&(end - start)) || b.get(end..end + 3) != Some(b"*s)") {
                return None;
            }
            (mantissa, end)
        }
    };
    let duration = Quantity { value: Decimal { mantissa: mantissa as i64, scale: 0 }, unit: Some("s") };
    Some((FailureEntry { end: Stamp { time: Some(time), raw }, duration }, end + 2))
}

/// The duration at `start` when it has the ten digits meters write (`0000003231*s)`), read
/// as a word of eight and two single digits instead of digit runs; `None` for any other
/// form (or fewer than 16 bytes left), which the caller reads with [`digit_run`].
#[inline(always)]
fn ten_digit_seconds(b: &[u8], start: usize) -> Option<u64> {
    let word = |at: usize| b.get(at..at + 8).and_then(|w| w.try_into().ok()).map(u64::from_le_bytes);
    let (lo, hi) = (word(start)?, word(start + 8)?);
    // Bytes 8 and 9 are digits, 10 to 12 are `*s)`.
    const TAIL: u64 = u32::from_le_bytes([b'*', b's', b')', 0]) as u64;
    if (hi >> 16) & 0xFF_FFFF != TAIL {
        return None;
    }
    let (tens, ones) = ((hi as u8).wrapping_sub(b'0'), ((hi >> 8) as u8).wrapping_sub(b'0'));
    if tens > 9 || ones > 9 {
        return None;
    }
    Some(eight_digits(lo)? * 100 + u64::from(tens * 10 + ones))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the one-pass reader makes of the line at `pos`: where the next line starts
    /// and the value, or `None` when it leaves the line to the general readers.
    fn read_at(text: &str, pos: usize) -> Option<(usize, Value<'_>)> {
        let code = crate::spec::Version::V5.spec().codes().get(&text.as_bytes()[pos..])?;
        let mut out = Value::Empty;
        value(text, pos, &code, &mut out).map(|next| (next, out))
    }

    /// Every data line of a usual DSMR 5 telegram is read here, in one pass to the start of
    /// the next line. (Were any left to the general readers, the values would be the same,
    /// only slower: no other test would see it.)
    #[test]
    fn the_usual_lines_are_read_in_one_pass() {
        // The body, as the parser gives it: up to the `!`.
        let telegram = include_str!("../recordings/Iskra-AM550-M550E-1012_dsmr5.0_dsmr5rs.txt");
        let text = &telegram[..telegram.find('!').expect("end")];
        let end = text.len();
        let mut pos = text.find("\r\n\r\n").expect("header") + 4;
        let mut values = Vec::new();
        while pos < end {
            let line_end = pos + text[pos..].find("\r\n").expect("line end");
            let (next, value) = read_at(text, pos).unwrap_or_else(|| panic!("left: {}", &text[pos..line_end]));
            assert_eq!(next, line_end + 2, "{}", &text[pos..line_end]);
            values.push((&text[pos..pos + text[pos..].find('(').expect("(")], value));
            pos = next;
        }
        assert_eq!(values.len(), 23);
        let find = |code: &str| &values.iter().find(|(c, _)| *c == code).expect(code).1;
        let number = |code: &str| match find(code) {
            Value::Number(q) => (q.value.to_f64(), q.unit),
            other => panic!("{code}: {other:?}"),
        };
        assert_eq!(number("1-0:1.8.1"), (576.239, Some("kWh")));
        assert_eq!(number("1-0:1.7.0"), (0.193, Some("kW")));
        assert_eq!(number("1-0:31.7.0"), (1.0, Some("A")));
        assert_eq!(number("0-0:96.7.21"), (9.0, None));
        assert!(matches!(find("0-0:96.13.0"), Value::Empty));
        assert!(matches!(find("0-0:96.1.1"), Value::Hex("4530303433303037303532383730333138")));
        let Value::Time(clock) = find("0-0:1.0.0") else { panic!("clock") };
        assert_eq!(
            (clock.raw, clock.time.map(|t| (t.year, t.month, t.day, t.hour))),
            ("190320181403W", Some((2019, 3, 20, 18)))
        );
        let Value::Timed { time, value } = find("0-1:24.2.1") else { panic!("gas") };
        assert_eq!((time.raw, value.value.to_f64(), value.unit), ("190320181003W", 304.089, Some("m3")));
        let Value::EventLog { buffer_type, entries } = find("1-0:99.97.0") else { panic!("log") };
        assert_eq!(*buffer_type, "0-0:96.7.19");
        let entries: Vec<(&str, f64)> = entries.iter().map(|e| (e.end.raw, e.duration.value.to_f64())).collect();
        assert_eq!(
            entries,
            [
                ("190201235231W", 3231.0),
                ("190212214204W", 1489.0),
                ("190212215426W", 315.0),
                ("190310230314W", 295.0),
                ("190316085447W", 230.0),
                ("190316123141W", 516.0)
            ]
        );
    }

    /// A unit glued to the number (`00.193kW`, as some Fluvius meters write it) is read here
    /// too, when it is the table's.
    #[test]
    fn a_unit_without_star_is_read_in_one_pass() {
        for (line, value, unit, next) in
            [("1-0:1.8.1(000576.239kWh)\r\n1", 576.239, "kWh", 26), ("1-0:21.7.0(00.193kW)", 0.193, "kW", 20)]
        {
            match read_at(line, 0) {
                Some((at, Value::Number(q))) => assert_eq!((q.value.to_f64(), q.unit, at), (value, Some(unit), next)),
                other => panic!("{line}: {other:?}"),
            }
        }
        assert!(read_at("1-0:1.8.1(000576.239kW)\r\n1", 0).is_none());
    }

    /// A failure log of ten or more entries (a two-digit count) is read here too.
    #[test]
    fn a_long_failure_log_is_read_in_one_pass() {
        let entries: String = (0..12).map(|k| format!("(1902{:02}235231W)(00000032{k:02}*s)", k + 1)).collect();
        let line: &'static str = format!("1-0:99.97.0(12)(0-0:96.7.19){entries}\r\n1").leak();
        let Some((next, Value::EventLog { entries, .. })) = read_at(line, 0) else { panic!("{line}") };
        assert_eq!(next, line.len() - 1);
        let read: Vec<(&str, f64)> = entries.iter().map(|e| (e.end.raw, e.duration.value.to_f64())).collect();
        assert_eq!(read.len(), 12);
        assert_eq!((read[0], read[11]), (("190201235231W", 3200.0), ("190212235231W", 3211.0)));
    }

    /// Lines in another form than the usual one are left to the general readers.
    #[test]
    fn other_forms_are_left_to_the_general_readers() {
        for line in [
            "1-0:1.8.1(000576.239 kWh)\r\n1",
            "1-0:1.8.1(000576.239*Wh)\r\n1",
            "1-0:1.8.1((000576.239*kWh))\r\n1",
            "1-0:1.8.1(000576.239*kWh) \r\n1",
            "1-0:1.8.1(000576.239*kWh)\r\n(",
            "0-1:24.2.1(632525252525W)(00000.000)\r\n1",
            "0-0:1.0.0(191320181403W)\r\n1",
        ] {
            assert!(read_at(line, 0).is_none(), "{line}");
        }
    }

    #[test]
    fn ten_digit_seconds_reads_only_its_form() {
        let read = |s: &str| ten_digit_seconds(s.as_bytes(), 0);
        assert_eq!(read("0000003231*s)(19"), Some(3231));
        assert_eq!(read("9876543210*s)\r\n1"), Some(9_876_543_210));
        assert_eq!(read("0000000000*s)(19"), Some(0));
        // Other lengths, units and bytes are left to the digit runs.
        for s in [
            "000003231*s)(190",
            "00000032310*s)(1",
            "0000003231*S)(19",
            "00000/3231*s)(19",
            "0000003:31*s)(1",
            "00000032/1*s)(19",
            "000000323:*s)(19",
            "0000003231*s)",
        ] {
            assert_eq!(read(s), None, "{s}");
        }
    }

    #[test]
    fn eight_digits_agrees_with_parsing() {
        for n in [0u64, 1, 9, 10, 99, 12_345_678, 99_999_999, 10_000_000, 90_909_090] {
            let text = format!("{n:08}");
            assert_eq!(eight_digits(u64::from_le_bytes(text.as_bytes().try_into().unwrap())), Some(n));
        }
        for bad in [*b"1234567/", *b"1234567:", *b"a2345678", *b"12 45678"] {
            assert_eq!(eight_digits(u64::from_le_bytes(bad)), None);
        }
    }
}
