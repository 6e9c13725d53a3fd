//! OBIS identifiers (`A-B:C.D.E`), parsed leniently because meters and even the specs
//! write them inconsistently (`1-0:72:32.0`, `1-0:1.8.0*255`, `0-0:96.1.255*255`).

use std::fmt;

/// A reduced OBIS id: the five value groups A..E. The optional F group (`*255`, `.255`)
/// carries no meaning on a P1 port and is not part of the identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Obis {
    pub a: u8,
    pub b: u8,
    pub c: u8,
    pub d: u8,
    pub e: u8,
}

impl Obis {
    pub const fn new(a: u8, b: u8, c: u8, d: u8, e: u8) -> Obis {
        Obis { a, b, c, d, e }
    }

    /// The id packed into one integer, for fast table lookups.
    pub const fn key(self) -> u64 {
        (self.a as u64) << 32 | (self.b as u64) << 24 | (self.c as u64) << 16 | (self.d as u64) << 8 | self.e as u64
    }

    /// The same id with channel B replaced (used to look up M-Bus rows).
    pub const fn with_b(self, b: u8) -> Obis {
        Obis { b, ..self }
    }

    /// Split a data line into its OBIS id text, the parsed id, and the rest of the line
    /// (which starts at the first `(`). Returns `None` when the line does not start with
    /// an OBIS id.
    pub fn split_line(line: &str) -> Option<(&str, Obis, &str)> {
        let (id, end) = Obis::parse_prefix(line.as_bytes())?;
        Some((&line[..end], id, &line[end..]))
    }

    /// Parse `A-B:C.D.E` with an optional `.F` or `*F`; `:` is tolerated between C, D and E.
    pub fn parse(code: &str) -> Option<Obis> {
        match Obis::parse_prefix(code.as_bytes()) {
            Some((id, end)) if end == code.len() => Some(id),
            _ => None,
        }
    }

    /// Parse the id that runs up to the first `(` (or the end) of `b`, in one scan; returns
    /// it with the offset where it stops. Each group is 1 to 3 digits, at most 255; `-`
    /// follows A, `:` follows B, `.` or `:` follow C and D, and `.` or `*` introduce F.
    /// Unrolled: this runs once per line of every telegram.
    #[inline]
    pub(crate) fn parse_prefix(b: &[u8]) -> Option<(Obis, usize)> {
        let mut i = 0;
        let a = group(b, &mut i)?;
        separator(b, &mut i, |c| c == b'-')?;
        let b_ = group(b, &mut i)?;
        separator(b, &mut i, |c| c == b':')?;
        let c = group(b, &mut i)?;
        separator(b, &mut i, |c| c == b'.' || c == b':')?;
        let d = group(b, &mut i)?;
        separator(b, &mut i, |c| c == b'.' || c == b':')?;
        let e = group(b, &mut i)?;
        match b.get(i) {
            None | Some(b'(') => {}
            Some(b'.' | b'*') => {
                i += 1;
                group(b, &mut i)?;
                if !matches!(b.get(i), None | Some(b'(')) {
                    return None;
                }
            }
            Some(_) => return None,
        }
        Some((Obis::new(a, b_, c, d, e), i))
    }
}

/// Step over the separator at `b[*i]` when `ok` accepts it.
#[inline(always)]
fn separator(b: &[u8], i: &mut usize, ok: impl Fn(u8) -> bool) -> Option<()> {
    match b.get(*i) {
        Some(&c) if ok(c) => {
            *i += 1;
            Some(())
        }
        _ => None,
    }
}

/// Read one value group of 1 to 3 digits (at most 255) at `b[*i..]`, advancing `i`.
#[inline(always)]
fn group(b: &[u8], i: &mut usize) -> Option<u8> {
    let digit = |k: usize| b.get(k).map(|c| c.wrapping_sub(b'0')).filter(|&d| d < 10).map(u16::from);
    let mut value = digit(*i)?;
    let mut k = *i + 1;
    while let Some(d) = digit(k) {
        if k - *i == 3 {
            return None;
        }
        value = value * 10 + d;
        k += 1;
    }
    *i = k;
    u8::try_from(value).ok()
}

impl fmt::Display for Obis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}:{}.{}.{}", self.a, self.b, self.c, self.d, self.e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_seen_in_the_field() {
        assert_eq!(Obis::parse("1-0:1.8.1"), Some(Obis::new(1, 0, 1, 8, 1)));
        assert_eq!(Obis::parse("0-1:24.2.1"), Some(Obis::new(0, 1, 24, 2, 1)));
        assert_eq!(Obis::parse("1-0:72:32.0"), Some(Obis::new(1, 0, 72, 32, 0)));
        assert_eq!(Obis::parse("1-0:1.8.0*255"), Some(Obis::new(1, 0, 1, 8, 0)));
        assert_eq!(Obis::parse("1-0:31.7.0.255"), Some(Obis::new(1, 0, 31, 7, 0)));
        assert_eq!(Obis::parse("0-0:96.1.255*255"), Some(Obis::new(0, 0, 96, 1, 255)));
    }

    #[test]
    fn rejects_what_is_not_an_id() {
        for bad in ["", "1-0:1.8", "(00001.001)", "1-0:1.8.1x", "1-0:1.8.999", "1-0::1.8.1", "hello", "1-0:1.8.1-"] {
            assert_eq!(Obis::parse(bad), None, "{bad}");
        }
        // A whole line is no id (its code alone is), and no group has four digits, even
        // with leading zeros.
        for bad in ["1-0:1.8.1(000004.426*kWh)", "1-0:1.8.1 ", "0001-0:1.8.1", "1-0000:1.8.1", "1-0:0001.8.1"] {
            assert_eq!(Obis::parse(bad), None, "{bad}");
        }
        for bad in ["1-0:1.0001.1", "1-0:1.8.0001", "1-0:1.8.1*0255"] {
            assert_eq!(Obis::parse(bad), None, "{bad}");
        }
        // Each separator in its place only: `-`, `:`, then `.` or `:` twice.
        for bad in ["1:0:1.8.1", "1-0-1.8.1", "1-0.1.8.1", "1-0:1-8.1", "1-0:1x8.1", "1-0:1.8-1", "1-0:1.8x1"] {
            assert_eq!(Obis::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn shows_as_the_usual_five_groups() {
        assert_eq!(Obis::new(0, 1, 24, 2, 1).to_string(), "0-1:24.2.1");
        assert_eq!(Obis::parse("1-0:1.8.0*255").map(|o| o.to_string()).as_deref(), Some("1-0:1.8.0"));
    }

    #[test]
    fn splits_a_line() {
        let (code, id, rest) = Obis::split_line("1-0:1.8.1(000004.426*kWh)").unwrap();
        assert_eq!(code, "1-0:1.8.1");
        assert_eq!(id, Obis::new(1, 0, 1, 8, 1));
        assert_eq!(rest, "(000004.426*kWh)");
    }
}
