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
        let bytes = line.as_bytes();
        let end = memchr::memchr(b'(', bytes).unwrap_or(bytes.len());
        let code = &line[..end];
        let id = Obis::parse(code)?;
        Some((code, id, &line[end..]))
    }

    /// Parse `A-B:C.D.E` with an optional `.F` or `*F`; `:` is tolerated between C, D and E.
    pub fn parse(code: &str) -> Option<Obis> {
        let b = code.as_bytes();
        let mut groups = [0u8; 6];
        let mut n = 0usize;
        let mut cur: u16 = 0;
        let mut digits = 0u8;
        for (i, &ch) in b.iter().enumerate() {
            match ch {
                b'0'..=b'9' => {
                    cur = cur * 10 + u16::from(ch - b'0');
                    digits += 1;
                    if digits > 3 || cur > 255 {
                        return None;
                    }
                }
                b'-' | b':' | b'.' | b'*' => {
                    if digits == 0 || n >= 5 {
                        return None;
                    }
                    // Separators must appear in a sane order: '-' only after A, '*' only
                    // before F.
                    let ok = match ch {
                        b'-' => n == 0,
                        b':' => n == 1 || n == 2 || n == 3,
                        b'.' => n >= 2,
                        _ => n == 4,
                    };
                    if !ok || i + 1 == b.len() {
                        return None;
                    }
                    groups[n] = cur as u8;
                    n += 1;
                    cur = 0;
                    digits = 0;
                }
                _ => return None,
            }
        }
        if digits == 0 {
            return None;
        }
        groups[n] = cur as u8;
        n += 1;
        if !(5..=6).contains(&n) {
            return None;
        }
        Some(Obis::new(groups[0], groups[1], groups[2], groups[3], groups[4]))
    }
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
    }

    #[test]
    fn splits_a_line() {
        let (code, id, rest) = Obis::split_line("1-0:1.8.1(000004.426*kWh)").unwrap();
        assert_eq!(code, "1-0:1.8.1");
        assert_eq!(id, Obis::new(1, 0, 1, 8, 1));
        assert_eq!(rest, "(000004.426*kWh)");
    }
}
