//! Finds the data lines of a telegram body and their value groups: one scan for the plain
//! form nearly every meter sends, and a tolerant reader for everything else (blanks,
//! continuation lines, doubled parentheses), which gives the same result where both apply.

use std::ops::Range;

use crate::detect::{self, Clue};
use crate::obis::Obis;
use crate::spec::code_index::Code;
use crate::spec::{Row, Spec};

/// The most value groups one line may carry (the Belgian 13-month history has 42).
pub(crate) const MAX_GROUPS: usize = 64;

/// Where a line in the plain form lies: `A-B:C.D.E(v)(v)…` straight up to its line end.
pub(crate) struct PlainLine {
    /// Where the line and its OBIS code start, and where the code ends (at the first `(`).
    pub start: usize,
    pub obis_end: usize,
    /// End of the line's text (before `\r\n`).
    pub end: usize,
    /// Start of the next line.
    pub next: usize,
    pub id: Obis,
    pub row: Option<&'static Row>,
    /// What the code tells version detection, and whether it had a `*` F group.
    pub clue: Clue,
    pub f_group: bool,
    /// How many value groups were written to the caller's array.
    pub groups: usize,
}

/// Read the line at `pos` when it has the plain form nearly every meter sends: an OBIS id,
/// value groups with nothing between them, `\r\n` or `\n`, and a next line that starts
/// with a digit (so is neither a continuation nor blank) or the end. Returns `None` for
/// anything else, which [`logical_line`] then reads with every tolerance; both give the
/// same result for a line this accepts.
#[inline(always)]
pub(crate) fn plain_line<'a>(
    text: &'a str,
    pos: usize,
    spec: &'static Spec,
    code: Option<Code>,
    out: &mut [&'a str; MAX_GROUPS],
) -> Option<PlainLine> {
    let b = text.as_bytes();
    let line = b.get(pos..)?;
    let (id, row, clue, f_group, len) = match code {
        Some(code) => (code.id(), Some(code.row()), code.clue(), false, code.len),
        None => {
            let (id, len) = Obis::parse_prefix(line)?;
            let f_group = detect::has_star_f_group(text.get(pos..pos + len)?);
            (id, spec.row(id), Clue::of(id), f_group, len)
        }
    };
    let obis_end = pos + len;
    let mut at = obis_end;
    let mut count = 0;
    loop {
        // `at` is on a `(`, and the group does not open with a second one.
        if b.get(at) != Some(&b'(') || b.get(at + 1) == Some(&b'(') || count == MAX_GROUPS {
            return None;
        }
        let close = at + 1 + find_close_or_newline(b.get(at + 1..)?)?;
        if b[close] != b')' {
            return None;
        }
        out[count] = between_ascii(text, at + 1, close);
        count += 1;
        at = close + 1;
        // After a group: the next group, or the end of a plain line.
        if b.get(at) == Some(&b'(') {
            continue;
        }
        let next = plain_end(b, at)?;
        return Some(PlainLine { start: pos, obis_end, end: at, next, id, row, clue, f_group, groups: count });
    }
}

/// Where the next line starts when a plain line's text ends at `at`: a line end (`\r\n` or
/// `\n`) followed by a line that starts with a digit (neither a continuation nor blank) or
/// by the end of the body. `None` for anything else.
#[inline(always)]
pub(crate) fn plain_end(b: &[u8], at: usize) -> Option<usize> {
    let next = match b.get(at) {
        Some(b'\r') if b.get(at + 1) == Some(&b'\n') => at + 2,
        Some(b'\n') => at + 1,
        None => at,
        Some(_) => return None,
    };
    b.get(next).is_none_or(u8::is_ascii_digit).then_some(next)
}

/// `&text[start..end]` for ends the caller found next to ASCII bytes: `start` just after
/// one (or at one) and `end` at one. Such positions are char boundaries, so the two checks
/// `str` indexing makes per slice are not needed; this runs for every code and value group
/// of every telegram, and skipping them saves 4 % of the parse.
///
/// INVARIANT: `start <= end < text.len()`, `text.as_bytes()[end]` is ASCII, and `start` is 0
/// or `text.as_bytes()[start - 1]` is ASCII. Checked in debug builds (every test run).
#[inline(always)]
#[allow(unsafe_code)]
pub(crate) fn between_ascii(text: &str, start: usize, end: usize) -> &str {
    let b = text.as_bytes();
    debug_assert!(start <= end && end < b.len(), "{start}..{end} of {}", b.len());
    debug_assert!(b[end].is_ascii() && (start == 0 || b[start - 1].is_ascii()));
    // SAFETY: by the invariant, `start..end` lies within `text`, and both ends are char
    // boundaries of this valid UTF-8: a position at an ASCII byte, or just after one, starts
    // a character (an ASCII byte is a whole character and never part of another).
    unsafe { text.get_unchecked(start..end) }
}

/// The logical line at or after `pos`, as (line number, trimmed byte range, start of the
/// line after it): blank lines are skipped, a line that starts with `(` is joined to the one
/// before it (DSMR 2.2/3.0 gas values), and so is a line that continues a value group left
/// open at the line end and is no data line itself (a Kamstrup text message over three
/// lines); `line_no` counts every physical line read.
pub(crate) fn logical_line(body: &[u8], mut pos: usize, line_no: &mut u32) -> Option<(u32, Range<usize>, usize)> {
    let mut current: Option<(u32, Range<usize>)> = None;
    loop {
        if pos >= body.len() {
            return current.map(|(n, r)| (n, r, pos));
        }
        let nl = memchr::memchr(b'\n', &body[pos..]).map_or(body.len(), |i| pos + i);
        let mut start = pos;
        let mut end = nl;
        while end > start && matches!(body[end - 1], b'\r' | b'\0' | b' ' | b'\t') {
            end -= 1;
        }
        while start < end && matches!(body[start], b'\0' | b' ' | b'\t' | b'\r') {
            start += 1;
        }
        match current.as_mut() {
            // The next logical line: left for the next call.
            Some((_, r))
                if start < end && body[start] != b'(' && !continues_open_group(&body[r.clone()], &body[start..end]) =>
            {
                return current.map(|(n, r)| (n, r, pos));
            }
            Some((_, r)) if start < end => r.end = end,
            None if start < end => current = Some((*line_no + 1, start..end)),
            _ => {}
        }
        *line_no += 1;
        pos = nl + 1;
    }
}

/// Whether `next` continues `line`: `line` leaves a value group open, and `next` does not
/// start with an OBIS code (a line cut short must not swallow the data line after it).
fn continues_open_group(line: &[u8], next: &[u8]) -> bool {
    let open = line.iter().rposition(|&b| b == b'(');
    let closed = line.iter().rposition(|&b| b == b')');
    let left_open = match (open, closed) {
        (Some(o), Some(c)) => o > c,
        (Some(_), None) => true,
        _ => false,
    };
    left_open && Obis::parse_prefix(next).is_none()
}

/// Split `(a)(b*u)((c))` into group contents, tolerating line breaks and blanks between
/// groups and a doubled pair of parentheses. Returns how many groups were written to `out`.
pub(crate) fn split_groups<'a>(rest: &'a str, out: &mut [&'a str; MAX_GROUPS]) -> Result<usize, String> {
    let b = rest.as_bytes();
    let mut pos = 0;
    let mut count = 0;
    loop {
        while pos < b.len() && matches!(b[pos], b'\r' | b'\n' | b' ' | b'\t' | b'\0') {
            pos += 1;
        }
        if pos == b.len() {
            return if count == 0 { Err("no value after the OBIS code".into()) } else { Ok(count) };
        }
        if b[pos] != b'(' {
            return Err(format!("unexpected text `{}` where a `(` was expected", clip(&rest[pos..])));
        }
        let doubled = b.get(pos + 1) == Some(&b'(');
        let open = pos + if doubled { 2 } else { 1 };
        let Some(close) = find_close(&b[open..], doubled) else {
            return Err("value group is not closed with `)`".into());
        };
        if count == MAX_GROUPS {
            return Err(format!("more than {MAX_GROUPS} value groups"));
        }
        out[count] = &rest[open..open + close];
        count += 1;
        pos = open + close + if doubled { 2 } else { 1 };
    }
}

/// The offset of the first `)` (or `))` when `doubled`) in `b`.
fn find_close(b: &[u8], doubled: bool) -> Option<usize> {
    let mut from = 0;
    loop {
        let at = from + find_paren(&b[from..])?;
        if !doubled || b.get(at + 1) == Some(&b')') {
            return Some(at);
        }
        from = at + 1;
    }
}

/// The offset of the first `)` in `b`, eight bytes at a time: groups run to 34 characters
/// (hex ids) and are too short for `memchr` to pay off.
fn find_paren(b: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    const PARENS: u64 = u64::from_ne_bytes([b')'; 8]);
    let mut words = b.chunks_exact(8);
    for (k, word) in (&mut words).enumerate() {
        // A zero byte in `v` is a `)`; the lowest flagged byte is always the first one.
        let v = u64::from_le_bytes(word.try_into().expect("eight bytes")) ^ PARENS;
        let zeros = v.wrapping_sub(ONES) & !v & HIGHS;
        if zeros != 0 {
            return Some(k * 8 + (zeros.trailing_zeros() / 8) as usize);
        }
    }
    let done = b.len() - words.remainder().len();
    words.remainder().iter().position(|&c| c == b')').map(|i| done + i)
}

/// The offset of the first `)` or `\n` in `b`, eight bytes at a time like [`find_paren`].
#[inline(always)]
pub(crate) fn find_close_or_newline(b: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    const PARENS: u64 = u64::from_ne_bytes([b')'; 8]);
    const NEWLINES: u64 = u64::from_ne_bytes([b'\n'; 8]);
    let mut words = b.chunks_exact(8);
    for (k, word) in (&mut words).enumerate() {
        let w = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        let (p, n) = (w ^ PARENS, w ^ NEWLINES);
        let zeros = (p.wrapping_sub(ONES) & !p | n.wrapping_sub(ONES) & !n) & HIGHS;
        if zeros != 0 {
            return Some(k * 8 + (zeros.trailing_zeros() / 8) as usize);
        }
    }
    let done = b.len() - words.remainder().len();
    words.remainder().iter().position(|&c| c == b')' || c == b'\n').map(|i| done + i)
}

/// At most 24 characters of `s`, for messages.
pub(crate) fn clip(s: &str) -> &str {
    match s.char_indices().nth(24) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// At most the last 24 characters of `s` (the text just before something unreadable), for
/// messages.
pub(crate) fn clip_end(s: &str) -> &str {
    clip(s.get(s.len().saturating_sub(24)..).unwrap_or(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain form is read in one scan, to the start of the next line; anything else is
    /// left to [`logical_line`]. (Left there, the values would be the same, only slower: no
    /// other test would see it.)
    #[test]
    fn plain_lines_are_read_in_one_scan() {
        let spec = crate::spec::Version::V5.spec();
        let read = |text: &'static str| {
            let mut groups = [""; MAX_GROUPS];
            plain_line(text, 0, spec, None, &mut groups).map(|l| {
                (&text[l.start..l.obis_end], groups[..l.groups].to_vec(), l.end, l.next, l.row.map(|r| r.name))
            })
        };
        assert_eq!(
            read("1-0:1.8.1(000576.239*kWh)\r\n1"),
            Some(("1-0:1.8.1", vec!["000576.239*kWh"], 25, 27, Some("electricity_used_tariff_1")))
        );
        assert_eq!(read("9-9:9.9.9(1)(ab)()\n0"), Some(("9-9:9.9.9", vec!["1", "ab", ""], 18, 19, None)));
        assert_eq!(read("0-1:24.2.1(190320181003W)(00304.089*m3)").map(|l| (l.1.len(), l.2, l.3)), Some((2, 39, 39)));
        for other in [
            "1-0:1.8.1(000576.239*kWh) \r\n1",
            "1-0:1.8.1((000576.239*kWh))\r\n1",
            "1-0:1.8.1(000576.239*kWh\r\n1",
            "1-0:1.8.1(000576.239*kWh)\r\n(",
            "1-0:1.8.1(000576.239*kWh)\r\n\r\n",
            "1-0:1.8.1(000576.239*kWh)\r1",
            "1-0:1.8.1 (000576.239*kWh)\r\n1",
        ] {
            assert!(read(other).is_none(), "{other:?}");
        }
    }

    #[test]
    fn find_paren_finds_the_first_closing_parenthesis() {
        for text in ["", ")", "abc", "1234567)", "12345678)", "4530303433303037303532383730333138)x)", "a)b)"] {
            let expected = text.bytes().position(|c| c == b')');
            assert_eq!(find_paren(text.as_bytes()), expected, "{text}");
        }
        // Bytes just below and above `)` are no match.
        assert_eq!(find_paren(&[0x28, 0x2A, 0xA9, 0x28, 0x2A, 0xA9, 0x28, 0x2A, 0x29]), Some(8));
    }
}
