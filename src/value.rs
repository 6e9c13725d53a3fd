//! The value syntaxes of a P1 line (fixed-point decimals, `YYMMDDhhmmssX` times, hex-encoded
//! octet strings), parsed without floating point so that `000004.426` stays exactly 4.426.

use std::fmt;

/// A decimal number kept as `mantissa / 10^scale`, exactly as the meter wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decimal {
    pub mantissa: i64,
    pub scale: u8,
}

impl Decimal {
    pub const ZERO: Decimal = Decimal { mantissa: 0, scale: 0 };

    /// Parse `[+-]digits[.digits]`; at most 18 significant digits.
    pub fn parse(s: &str) -> Option<Decimal> {
        match Decimal::parse_prefix(s) {
            Some((d, "")) => Some(d),
            _ => None,
        }
    }

    /// Parse the number at the start of `s` as [`Decimal::parse`] does, and return it with
    /// the text after it (a unit, say); `None` when `s` does not start with a number.
    #[inline(always)]
    pub fn parse_prefix(s: &str) -> Option<(Decimal, &str)> {
        let (d, end) = Decimal::parse_prefix_len(s)?;
        Some((d, s.get(end..).unwrap_or_default()))
    }

    /// [`Decimal::parse_prefix`], giving the length of the number instead of the rest.
    #[inline(always)]
    pub fn parse_prefix_len(s: &str) -> Option<(Decimal, usize)> {
        let b = s.as_bytes();
        if let Some(short) = short_decimal(b) {
            return Some(short);
        }
        let (neg, start) = match b.first()? {
            b'-' => (true, 1),
            b'+' => (false, 1),
            _ => (false, 0),
        };
        // Up to 18 digits cannot overflow, so the usual value needs no checked arithmetic.
        let (mut mantissa, mut i) = digit_run(b, start, 0);
        let mut digits = i - start;
        let mut scale = 0;
        if matches!(b.get(i), Some(b'.' | b',')) {
            let frac = i + 1;
            (mantissa, i) = digit_run(b, frac, mantissa);
            scale = i - frac;
            digits += scale;
        }
        if digits == 0 || scale > 18 {
            return None;
        }
        if digits > 18 {
            return Decimal::parse_long(s);
        }
        let mantissa = mantissa as i64; // < 10^18
        Some((Decimal { mantissa: if neg { -mantissa } else { mantissa }, scale: scale as u8 }, i))
    }

    /// [`Decimal::parse_prefix`] for more than 18 digits: fits when the leading ones are zeros.
    #[cold]
    fn parse_long(s: &str) -> Option<(Decimal, usize)> {
        let b = s.as_bytes();
        let (neg, mut i) = match b.first()? {
            b'-' => (true, 1),
            b'+' => (false, 1),
            _ => (false, 0),
        };
        let mut mantissa: i64 = 0;
        let mut scale: u8 = 0;
        while let Some(d) = b.get(i).and_then(|c| digit(*c)) {
            mantissa = mantissa.checked_mul(10)?.checked_add(d)?;
            i += 1;
        }
        if matches!(b.get(i), Some(b'.' | b',')) {
            i += 1;
            while let Some(d) = b.get(i).and_then(|c| digit(*c)) {
                mantissa = mantissa.checked_mul(10)?.checked_add(d)?;
                scale = scale.saturating_add(1);
                i += 1;
            }
        }
        Some((Decimal { mantissa: if neg { -mantissa } else { mantissa }, scale }, i))
    }

    /// The value as `f64` (for JSON numbers, means and line protocols).
    pub fn to_f64(self) -> f64 {
        // Both parts are exact in f64 for meter-sized numbers; one division rounds once.
        // (Powers from a table: `powi` is a library call, and this runs per value.)
        const POW10: [f64; 19] =
            [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18];
        match POW10.get(usize::from(self.scale)) {
            Some(p) => self.mantissa as f64 / p,
            None => self.mantissa as f64 / 10f64.powi(i32::from(self.scale)),
        }
    }

    /// The integer part, when the value has no fraction.
    pub fn to_i64(self) -> Option<i64> {
        if self.scale == 0 { Some(self.mantissa) } else { None }
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.scale == 0 {
            return write!(f, "{}", self.mantissa);
        }
        let pow = 10i64.pow(u32::from(self.scale));
        let sign = if self.mantissa < 0 { "-" } else { "" };
        let abs = self.mantissa.unsigned_abs();
        let pow = pow.unsigned_abs();
        write!(f, "{sign}{}.{:0width$}", abs / pow, abs % pow, width = usize::from(self.scale))
    }
}

/// Whether the meter said daylight saving time was active (the `S`/`W` suffix).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dst {
    /// `S`: summer time.
    Summer,
    /// `W`: winter (normal) time.
    Winter,
    /// No flag (DSMR 3.0 `TST12`, some gateways).
    Unknown,
}

/// A meter timestamp as written: local civil time plus the DST flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MeterTime {
    pub year: i16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub dst: Dst,
}

impl MeterTime {
    /// Whether this time comes from a clock that was never set: one that runs from its
    /// default (1 January 2000 or 1970). No P1 meter existed before 2001.
    pub fn from_unset_clock(&self) -> bool {
        self.year <= 2000
    }

    /// Parse `YYMMDDhhmmss` optionally followed by `S` or `W` (case-insensitive). Also
    /// accepts the `YY-MM-DD hh:mm:ss` form some older meters use. Returns `None` for
    /// anything else, including placeholders like `632525252525W` (month 25).
    #[inline(always)]
    pub fn parse(s: &str) -> Option<MeterTime> {
        let b = s.as_bytes();
        match b.len() {
            12 | 13 => {
                // Twelve ASCII digits, eight and four at a time, less `0` in every byte
                // (as `digits_in` takes a word): each byte is then at most 9, and stays
                // below 0x80 when 0x76 is added; the first byte that is no digit does not.
                let lo = u64::from_le_bytes(b.get(..8)?.try_into().ok()?);
                let hi = u32::from_le_bytes(b.get(8..12)?.try_into().ok()?);
                let x = lo.wrapping_sub(0x3030_3030_3030_3030);
                let y = hi.wrapping_sub(0x3030_3030);
                let all_digits = (x | x.wrapping_add(0x7676_7676_7676_7676)) & 0x8080_8080_8080_8080 == 0
                    && (y | y.wrapping_add(0x7676_7676)) & 0x8080_8080 == 0;
                if !all_digits {
                    return None;
                }
                // Each even byte becomes its pair's value (tens * 10 + ones), in one
                // multiply for all pairs of a word: no byte exceeds 99, so none carries.
                let pairs = (x.wrapping_mul(10) + (x >> 8)) & 0x00FF_00FF_00FF_00FF;
                let tail = (y * 10 + (y >> 8)) & 0x00FF_00FF;
                // Every field in range at once: each 16-bit lane holds at most 99, so adding
                // `0x8000 - bound` sets a lane's top bit exactly when the field reaches the
                // bound, and adding `0x7FFF` exactly when it is not zero (no lane carries).
                const TOPS: u64 = 0x8000_8000_8000_8000;
                const TOO_BIG: u64 = (0x8000 - 24) << 48 | (0x8000 - 32) << 32 | (0x8000 - 13) << 16;
                const NOT_ZERO: u64 = 0x7FFF << 32 | 0x7FFF << 16;
                const MONTH_DAY_TOPS: u64 = 0x8000 << 32 | 0x8000 << 16;
                let in_range = (pairs + TOO_BIG) & TOPS == 0
                    && (pairs + NOT_ZERO) & MONTH_DAY_TOPS == MONTH_DAY_TOPS
                    && (tail + ((0x8000 - 60) << 16 | (0x8000 - 60))) & 0x8000_8000 == 0;
                // The flag in either case: ORed with 0x20, a byte is `s` or `w` only when it
                // is that letter in either case.
                let dst = match b.get(12).map(|f| f | 0x20) {
                    None => Dst::Unknown,
                    Some(b's') => Dst::Summer,
                    Some(b'w') => Dst::Winter,
                    Some(_) => return None,
                };
                let byte = |w: u64, k: u32| (w >> (16 * k)) as u8;
                let (year, month, day) = (full_year(byte(pairs, 0)), byte(pairs, 1), byte(pairs, 2));
                let valid = in_range && (day <= 28 || day <= days_in_month(year, month));
                let (hour, minute, second) = (byte(pairs, 3), tail as u8, (tail >> 16) as u8);
                valid.then_some(MeterTime { year, month, day, hour, minute, second, dst })
            }
            17..=19 => MeterTime::parse_separated(b),
            24 => MeterTime::parse_cosem(b),
            _ => None,
        }
    }

    /// A COSEM date-time written as 12 octets of hex (`07EA080B0208151900007880`, as an
    /// MCS301 sends its clock): year (2), month, day, weekday, hour, minute, second,
    /// hundredths, deviation (2), status; status bit 0x80 says summer time (a status of 0xFF
    /// says nothing).
    #[cold]
    fn parse_cosem(b: &[u8]) -> Option<MeterTime> {
        let mut o = [0u8; 12];
        for (k, octet) in o.iter_mut().enumerate() {
            let pair = std::str::from_utf8(b.get(2 * k..2 * k + 2)?).ok()?;
            *octet = u8::from_str_radix(pair, 16).ok()?;
        }
        let year = i16::try_from(u16::from_be_bytes([o[0], o[1]])).ok()?;
        let (month, day, hour, minute, second) = (o[2], o[3], o[5], o[6], o[7]);
        // Status 0xFF is "not specified" in DLMS: no flag, the zone decides.
        let dst = match o[11] {
            0xFF => Dst::Unknown,
            s if s & 0x80 != 0 => Dst::Summer,
            _ => Dst::Winter,
        };
        let valid = (1..=12).contains(&month)
            && (1..=days_in_month(year, month)).contains(&day)
            && hour < 24
            && minute < 60
            && second < 60;
        valid.then_some(MeterTime { year, month, day, hour, minute, second, dst })
    }

    /// Why `s` does not read as a time (for a message; call only when [`MeterTime::parse`]
    /// gave `None`).
    #[cold]
    pub fn problem(s: &str) -> &'static str {
        let b = s.as_bytes();
        let fields: Option<Vec<u8>> = match (b.len(), full_year_offsets(b)) {
            (24, _) => return "not a COSEM date-time",
            (_, Some(at)) => at.iter().map(|&i| two_digits(b, i)).collect(),
            (12 | 13, _) => (0..6).map(|k| two_digits(b, 2 * k)).collect(),
            (17 | 18, _) => (0..6).map(|k| two_digits(b, 3 * k)).collect(),
            _ => return "expected YYMMDDhhmmss and an S or W flag",
        };
        let Some(f) = fields else { return "expected YYMMDDhhmmss and an S or W flag" };
        let flag = match b.len() {
            13 => b.get(12),
            18 => b.get(17),
            _ => None,
        };
        if flag.is_some_and(|c| !matches!(c, b'S' | b's' | b'W' | b'w')) {
            return "the daylight-saving flag is neither S nor W";
        }
        let year = match full_year_form(b) {
            Some((year, _)) => year,
            None => full_year(f[0]),
        };
        match () {
            _ if !(1..=12).contains(&f[1]) => "no such month",
            _ if f[2] == 0 || f[2] > days_in_month(year, f[1]) => "no such day in that month",
            _ if f[3] > 23 => "no such hour",
            _ if f[4] > 59 => "no such minute",
            _ if f[5] > 59 => "no such second",
            _ => "not a valid time",
        }
    }

    /// `YY-MM-DD hh:mm:ss`, as some older meters write it, or `YYYYMMDD hh:mm:ss` or
    /// `YYYY-MM-DD hh:mm:ss` with the full year and no flag, as an NES meter in Denmark does.
    #[cold]
    fn parse_separated(b: &[u8]) -> Option<MeterTime> {
        if let Some((year, fields)) = full_year_form(b) {
            return MeterTime::from_fields(Some(year), fields, None);
        }
        let mut fields = [0u8; 6];
        for (k, field) in fields.iter_mut().enumerate() {
            *field = two_digits(b, 3 * k)?;
        }
        MeterTime::from_fields(None, fields, b.get(17).copied())
    }

    /// The time from its two-digit fields (year, month, day, hour, minute, second), the full
    /// year where the meter wrote one (else the two digits are read as [`full_year`] reads
    /// them) and its flag byte, if the fields make a valid time and the flag is `S` or `W`.
    /// (The full year is worked out here, not by the caller: computed before the call it
    /// costs the one-pass reader about 25 instructions per time.)
    #[inline(always)]
    fn from_fields(
        full: Option<i16>,
        [yy, month, day, hour, minute, second]: [u8; 6],
        flag: Option<u8>,
    ) -> Option<MeterTime> {
        let dst = match flag {
            None => Dst::Unknown,
            Some(b'S' | b's') => Dst::Summer,
            Some(b'W' | b'w') => Dst::Winter,
            Some(_) => return None,
        };
        let year = match full {
            None => full_year(yy),
            Some(year) => year,
        };
        let valid = (1..=12).contains(&month)
            && day >= 1
            && (day <= 28 || day <= days_in_month(year, month))
            && hour < 24
            && minute < 60
            && second < 60;
        valid.then_some(MeterTime { year, month, day, hour, minute, second, dst })
    }
}

/// Read the run of ASCII digits at `b[i..]` onto `acc` (as `acc * 10^n + run`, wrapping:
/// callers reject runs too long to fit), returning the new value and the offset after the
/// run. Eight bytes at a time where eight remain.
#[inline(always)]
pub(crate) fn digit_run(b: &[u8], mut i: usize, mut acc: u64) -> (u64, usize) {
    while let Some(chunk) = b.get(i..i + 8) {
        let (n, x) = digits_in(u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8])));
        if n == 0 {
            return (acc, i);
        }
        acc = acc.wrapping_mul(POW10[n]).wrapping_add(run_value(x, n));
        i += n;
        if n < 8 {
            return (acc, i);
        }
    }
    while let Some(d) = b.get(i).map(|c| c.wrapping_sub(b'0')).filter(|&d| d < 10) {
        acc = acc.wrapping_mul(10).wrapping_add(u64::from(d));
        i += 1;
    }
    (acc, i)
}

/// The number the first `n` (1 to 8) digits of a word make, `x` being the word less `0`
/// in every byte (first digit in the lowest byte; the bytes after the run are ignored).
#[inline(always)]
fn run_value(x: u64, n: usize) -> u64 {
    debug_assert!((1..=8).contains(&n));
    // The n digits moved to the top, so the bytes below read as leading zeros; then
    // pairs, quads and the whole word are combined (most significant digit first).
    let d = x << (8 * (8 - n));
    let d = (d & 0x0F0F_0F0F_0F0F_0F0F).wrapping_mul(2561) >> 8;
    let d = (d & 0x00FF_00FF_00FF_00FF).wrapping_mul(6_553_601) >> 16;
    (d & 0x0000_FFFF_0000_FFFF).wrapping_mul(42_949_672_960_001) >> 32
}

/// Eight ASCII digits, the first in the lowest byte, as their number; `None` when a byte is
/// no digit (a failure's ten-digit duration is read as two such words).
#[inline(always)]
pub(crate) fn eight_digits(word: u64) -> Option<u64> {
    let (n, x) = digits_in(word);
    (n == 8).then(|| run_value(x, 8))
}

/// How many bytes of a word, from the lowest, are ASCII digits (8 when all are), and the
/// word less `0` in every byte, as [`run_value`] takes it.
#[inline(always)]
fn digits_in(word: u64) -> (usize, u64) {
    let x = word.wrapping_sub(0x3030_3030_3030_3030);
    // A byte that is no digit is above 9 after the subtraction (or borrowed into): the
    // lowest flagged byte is the first one that is no digit.
    let stop = (x | x.wrapping_add(0x7676_7676_7676_7676)) & 0x8080_8080_8080_8080;
    ((stop.trailing_zeros() / 8) as usize, x)
}

/// [`Decimal::parse_prefix_len`] for the form meters write, one to seven digits and,
/// after a `.`, up to seven more (`000576.239`, `00.193`, `00006`), read as one word
/// for each run, without a loop; `None` for any other form (a sign, a `,`, longer runs) or
/// when fewer than eight bytes follow the start or the `.`, which the general reading then
/// takes.
#[inline(always)]
fn short_decimal(b: &[u8]) -> Option<(Decimal, usize)> {
    let word = |at: usize| b.get(at..at + 8).and_then(|w| w.try_into().ok()).map(u64::from_le_bytes);
    let (int_len, x) = digits_in(word(0)?);
    if !(1..=7).contains(&int_len) {
        return None;
    }
    let int = run_value(x, int_len);
    match b[int_len] {
        b'.' => {}
        b',' => return None,
        _ => return Some((Decimal { mantissa: int as i64, scale: 0 }, int_len)),
    }
    let (frac_len, y) = digits_in(word(int_len + 1)?);
    let mantissa = match frac_len {
        0 => int,
        1..=7 => int * POW10[frac_len] + run_value(y, frac_len),
        _ => return None,
    };
    // At most 14 digits: fits an i64.
    Some((Decimal { mantissa: mantissa as i64, scale: frac_len as u8 }, int_len + 1 + frac_len))
}

const POW10: [u64; 9] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000];

/// `YYYYMMDD hh:mm:ss` or `YYYY-MM-DD hh:mm:ss`: the year and the fields as
/// [`MeterTime::from_fields`] takes them.
fn full_year_form(b: &[u8]) -> Option<(i16, [u8; 6])> {
    let at = full_year_offsets(b)?;
    let year = i16::from(two_digits(b, 0)?) * 100 + i16::from(two_digits(b, 2)?);
    let mut fields = [0u8; 6];
    for (field, at) in fields.iter_mut().zip(at) {
        *field = two_digits(b, at)?;
    }
    Some((year, fields))
}

/// Where the two-digit fields of a full-year time start (the year's last two digits first),
/// if `b` has the shape of one.
fn full_year_offsets(b: &[u8]) -> Option<[usize; 6]> {
    match b.len() {
        17 if b[8] == b' ' && b[11] == b':' && b[14] == b':' => Some([2, 4, 6, 9, 12, 15]),
        19 if b[4] == b'-' && b[7] == b'-' && b[10] == b' ' && b[13] == b':' && b[16] == b':' => {
            Some([2, 5, 8, 11, 14, 17])
        }
        _ => None,
    }
}

/// A two-digit year as POSIX `%y` reads it (and dsmr_parser with it): 69..=99 are
/// 1969..=1999, which is where the `700101010000W` placeholder points.
#[inline(always)]
fn full_year(yy: u8) -> i16 {
    i16::from(yy) + if yy >= 69 { 1900 } else { 2000 }
}

/// The two-digit number at `b[i..i + 2]`.
fn two_digits(b: &[u8], i: usize) -> Option<u8> {
    match (b.get(i)?, b.get(i + 1)?) {
        (t @ b'0'..=b'9', o @ b'0'..=b'9') => Some((t - b'0') * 10 + (o - b'0')),
        _ => None,
    }
}

fn digit(c: u8) -> Option<i64> {
    c.is_ascii_digit().then(|| i64::from(c - b'0'))
}

fn days_in_month(year: i16, month: u8) -> u8 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Units meters write, for telling a unit written without `*` (`12.5kWh`, as some Fluvius
/// meters do) from text that only starts with digits (`24408DB2`, a firmware signature).
const KNOWN_UNITS: [&str; 26] = [
    "kWh", "Wh", "MWh", "kW", "W", "MW", "V", "A", "m3", "s", "kvarh", "kvar", "varh", "var", "kVAh", "VAh", "kVA",
    "VA", "GJ", "MJ", "kJ", "Hz", "l", "dm3", "min", "h",
];

/// Whether `unit` is one of the units meters write, in any case.
pub fn is_known_unit(unit: &str) -> bool {
    KNOWN_UNITS.iter().any(|k| k.eq_ignore_ascii_case(unit))
}

/// Whether `unit`, written after a `*`, has the shape of a unit (`kWh`, `m3`, `kVArh`, `GJ`,
/// `m3/h`, `°C`): not empty, no blanks, no `*`, `,` or parentheses, and no leading digit or
/// sign, so that `65.0*A,-65.0*A` is not read as 65.0 in the unit `A,-65.0*A`.
pub fn is_unit_shaped(unit: &str) -> bool {
    !unit.is_empty()
        && !unit.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+')
        && unit.chars().all(|c| c.is_alphanumeric() || matches!(c, '/' | '%' | '.' | '^' | '_' | '-' | '°' | '³' | '²'))
}

/// Decode a hex-encoded octet string (equipment ids, text messages) into text, when it
/// is an even number of hex digits that decode to printable text. Trailing NULs are
/// dropped.
pub fn decode_hex_text(s: &str) -> Option<String> {
    // A message continued over several lines carries their line ends.
    let joined: String;
    let b = if s.contains(['\r', '\n']) {
        joined = s.chars().filter(|c| !matches!(c, '\r' | '\n')).collect();
        joined.as_bytes()
    } else {
        s.as_bytes()
    };
    if b.is_empty() || b.len() % 2 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(b.len() / 2);
    for pair in b.chunks_exact(2) {
        let hi = hex_nibble(pair[0])?;
        let lo = hex_nibble(pair[1])?;
        out.push(hi << 4 | lo);
    }
    while out.last() == Some(&0) {
        out.pop();
    }
    let text = String::from_utf8(out).ok()?;
    let printable = text.chars().all(|c| !c.is_control() || c == '\n' || c == '\r' || c == '\t');
    // Text with no letter or digit from decimal digits only (`2222...` is `""""...`) is more
    // likely plain digits sent on a hex code than hex; from hex with a letter in it, it is
    // hex (an EAN never set, `2D2D...`, is `--...`); blanks alone are padding and decode to
    // nothing.
    let meaningful = text.chars().all(char::is_whitespace)
        || text.chars().any(char::is_alphanumeric)
        || !b.iter().all(u8::is_ascii_digit);
    (printable && meaningful).then_some(text)
}

fn hex_nibble(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'A'..=b'F' => Some(b - b'A' + 10),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_keep_their_digits() {
        let d = Decimal::parse("000004.426").unwrap();
        assert_eq!(d, Decimal { mantissa: 4426, scale: 3 });
        assert_eq!(d.to_string(), "4.426");
        assert_eq!(d.to_f64(), 4.426);
        assert_eq!(Decimal::parse("-063").unwrap().to_string(), "-63");
        assert_eq!(Decimal::parse("00052185.7825309").unwrap().to_f64(), 52185.7825309);
        assert_eq!(Decimal::parse("0.05").unwrap().to_string(), "0.05");
        assert_eq!(Decimal::parse("-00.123").unwrap().to_string(), "-0.123");
        // A scale past the table of powers of ten (no parsed value has one; a made one may).
        assert_eq!(Decimal { mantissa: 15, scale: 22 }.to_f64(), 1.5e-21);
        assert_eq!(Decimal::parse("-12.50").unwrap().to_string(), "-12.50");
        assert_eq!(Decimal::parse(""), None);
        assert_eq!(Decimal::parse("12a"), None);
        assert_eq!(Decimal::parse("."), None);
        assert_eq!(Decimal::parse("1.2.3"), None);
        assert_eq!(Decimal::parse_prefix("000576.239*kWh"), Some((Decimal { mantissa: 576239, scale: 3 }, "*kWh")));
        assert_eq!(Decimal::parse_prefix("kWh"), None);
        // More fractional digits than any scale: rejected, not wrapped around.
        assert_eq!(Decimal::parse(&format!("0.{}", "0".repeat(300))), None);
        // More than 18 digits: kept when they fit, rejected when they do not.
        assert_eq!(Decimal::parse(&format!("{}12.5", "0".repeat(30))), Some(Decimal { mantissa: 125, scale: 1 }));
        assert_eq!(Decimal::parse("-0000000000000000000001"), Some(Decimal { mantissa: -1, scale: 0 }));
        assert_eq!(Decimal::parse("99999999999999999999"), None);
        assert_eq!(Decimal::parse("999999999999999999"), Some(Decimal { mantissa: 999_999_999_999_999_999, scale: 0 }));
    }

    #[test]
    fn meter_times() {
        let t = MeterTime::parse("101209113020W").unwrap();
        assert_eq!((t.year, t.month, t.day, t.hour, t.minute, t.second), (2010, 12, 9, 11, 30, 20));
        assert_eq!(t.dst, Dst::Winter);
        assert_eq!(MeterTime::parse("090212160000").unwrap().dst, Dst::Unknown);
        let cosem = MeterTime::parse("07EA080B0208151900007880").unwrap();
        assert_eq!(
            (cosem.year, cosem.month, cosem.day, cosem.hour, cosem.minute, cosem.second),
            (2026, 8, 11, 8, 21, 25)
        );
        assert_eq!(cosem.dst, Dst::Summer);
        assert_eq!(MeterTime::parse("07EA080B02081519000078FF").map(|t| t.dst), Some(Dst::Unknown));
        assert_eq!(MeterTime::parse("07EA080B0208151900007800").map(|t| t.dst), Some(Dst::Winter));
        assert_eq!(MeterTime::parse("07EA0D0B0208151900007880"), None);
        assert_eq!(MeterTime::parse("632525252525W"), None);
        assert_eq!(MeterTime::parse("000000000000W"), None);
        assert_eq!(MeterTime::parse("23-01-02 10:00:00").unwrap().hour, 10);
        let nes = MeterTime::parse("20240111 09:35:00").unwrap();
        assert_eq!((nes.year, nes.month, nes.day, nes.hour, nes.minute, nes.second), (2024, 1, 11, 9, 35, 0));
        assert_eq!(nes.dst, Dst::Unknown);
        assert_eq!(MeterTime::parse("20241311 09:35:00"), None);
        assert_eq!(MeterTime::problem("20241311 09:35:00"), "no such month");
        assert_eq!(MeterTime::parse("2024-01-11 09:35:00"), Some(nes));
        assert_eq!(MeterTime::problem("2024-01-32 09:35:00"), "no such day in that month");
        // The full year decides leap years: 1900 had no 29 February, 2000 had one.
        assert_eq!(MeterTime::problem("19000229 12:00:00"), "no such day in that month");
        assert_eq!(MeterTime::parse("20000229 12:00:00").map(|t| t.day), Some(29));
        // Every separator of the full-year forms in its place: one replaced is no time.
        for s in [
            "20240111x09:35:00",
            "20240111 09x35:00",
            "20240111 09:35x00",
            "2024x01-11 09:35:00",
            "2024-01x11 09:35:00",
            "2024-01-11x09:35:00",
            "2024-01-11 09x35:00",
            "2024-01-11 09:35x00",
        ] {
            assert_eq!(MeterTime::parse(s), None, "{s}");
        }
    }

    /// The last valid value of every field reads, the next one does not, in each form; and
    /// each field out of range is the one the message names.
    #[test]
    fn meter_time_fields_stop_at_their_bounds() {
        for (valid, invalid, why) in [
            ("991231235959W", "991231245959W", "no such hour"),
            ("991231235959W", "991231236059W", "no such minute"),
            ("991231235959W", "991231235960W", "no such second"),
            ("99-12-31 23:59:59S", "99-12-31 24:59:59S", "no such hour"),
            ("99-12-31 23:59:59S", "99-12-31 23:60:59S", "no such minute"),
            ("99-12-31 23:59:59S", "99-12-31 23:59:60S", "no such second"),
            ("20241231 23:59:59", "20241231 24:00:00", "no such hour"),
            ("99-12-31 23:59:59S", "99-12-31 23:59:59X", "the daylight-saving flag is neither S nor W"),
        ] {
            let t = MeterTime::parse(valid).unwrap_or_else(|| panic!("{valid}"));
            assert_eq!((t.day, t.hour, t.minute, t.second), (31, 23, 59, 59), "{valid}");
            assert_eq!(MeterTime::parse(invalid), None, "{invalid}");
            assert_eq!(MeterTime::problem(invalid), why, "{invalid}");
        }
        // COSEM octets: hour 0x17, minute and second 0x3B read; 0x18 and 0x3C do not.
        let t = MeterTime::parse("07EA0C1F02173B3B00007880").expect("23:59:59");
        assert_eq!((t.month, t.day, t.hour, t.minute, t.second), (12, 31, 23, 59, 59));
        for invalid in ["07EA0C1F02183B3B00007880", "07EA0C1F02173C3B00007880", "07EA0C1F02173B3C00007880"] {
            assert_eq!(MeterTime::parse(invalid), None, "{invalid}");
            assert_eq!(MeterTime::problem(invalid), "not a COSEM date-time", "{invalid}");
        }
        // 29 February in leap years only, in both forms.
        assert_eq!(MeterTime::parse("240229120000W").map(|t| t.day), Some(29));
        assert_eq!(MeterTime::parse("230229120000W"), None);
        assert_eq!(MeterTime::problem("230229120000W"), "no such day in that month");
        assert_eq!(MeterTime::parse("20240229 12:00:00").map(|t| t.day), Some(29));
        assert_eq!(MeterTime::parse("21000229 12:00:00"), None);
        // Asked of a valid time, it has no field to blame.
        assert_eq!(MeterTime::problem("991231235959W"), "not a valid time");
    }

    /// The word-at-a-time reading of `YYMMDDhhmmssX` against a field-by-field one, with
    /// each byte of a valid time (its flag too) replaced by every ASCII character in turn.
    #[test]
    fn meter_times_take_digits_only() {
        let valid = *b"190320181403W";
        for at in 0..13 {
            for c in 0u8..0x80 {
                let mut b = valid;
                b[at] = c;
                let s = std::str::from_utf8(&b).unwrap();
                let fields: Option<Vec<u8>> = (0..6).map(|k| two_digits(&b, 2 * k)).collect();
                let expected = fields
                    .and_then(|f| MeterTime::from_fields(None, [f[0], f[1], f[2], f[3], f[4], f[5]], Some(b[12])));
                assert_eq!(MeterTime::parse(s), expected, "{s}");
            }
        }
    }

    #[test]
    fn hex_text() {
        assert_eq!(decode_hex_text("4B384547303034303436333935353037").as_deref(), Some("K8EG004046395507"));
        assert_eq!(decode_hex_text("0102"), None);
        assert_eq!(decode_hex_text("2222222222222222"), None);
        // A Belgian EAN never set: dashes, which only hex with a letter makes.
        assert_eq!(decode_hex_text("2D2D2D2D2D2D").as_deref(), Some("------"));
        assert_eq!(decode_hex_text("20202020").as_deref(), Some("    "));
        assert_eq!(decode_hex_text("ABC"), None);
        // Hex digits in lower case, as some meters send them.
        assert_eq!(decode_hex_text("4b384547").as_deref(), Some("K8EG"));
        assert_eq!(decode_hex_text("4d6f6e3a2a").as_deref(), Some("Mon:*"));
        // Line breaks and tabs are text; other control characters are not.
        assert_eq!(decode_hex_text("410D0A4209").as_deref(), Some("A\r\nB\t"));
        for hex in ["410142", "41004142", "411B42"] {
            assert_eq!(decode_hex_text(hex), None, "{hex}");
        }
    }

    /// The plain, digit-at-a-time reading [`Decimal::parse_prefix`] must agree with.
    fn reference(s: &str) -> Option<(Decimal, &str)> {
        let b = s.as_bytes();
        let (neg, mut i) = match b.first()? {
            b'-' => (true, 1),
            b'+' => (false, 1),
            _ => (false, 0),
        };
        let (mut mantissa, mut digits, mut scale) = (0i64, 0, 0u8);
        while let Some(d) = b.get(i).and_then(|c| digit(*c)) {
            mantissa = mantissa.checked_mul(10)?.checked_add(d)?;
            digits += 1;
            i += 1;
        }
        if matches!(b.get(i), Some(b'.' | b',')) {
            i += 1;
            while let Some(d) = b.get(i).and_then(|c| digit(*c)) {
                mantissa = mantissa.checked_mul(10)?.checked_add(d)?;
                digits += 1;
                scale = scale.saturating_add(1);
                i += 1;
            }
        }
        if digits == 0 || scale > 18 {
            return None;
        }
        Some((Decimal { mantissa: if neg { -mantissa } else { mantissa }, scale }, &s[i..]))
    }

    /// The field-by-field reading [`MeterTime::parse`] must agree with.
    fn reference_time(s: &str) -> Option<MeterTime> {
        let b = s.as_bytes();
        let (at, flag): (&[usize], _) = match b.len() {
            12 | 13 => (&[0, 2, 4, 6, 8, 10], b.get(12)),
            17 | 18 => (&[0, 3, 6, 9, 12, 15], b.get(17)),
            _ => return None,
        };
        let mut f = [0u8; 6];
        for (k, &i) in at.iter().enumerate() {
            let (t, o) = (digit(b[i])?, digit(b[i + 1])?);
            f[k] = (t * 10 + o) as u8;
        }
        let dst = match flag {
            None => Dst::Unknown,
            Some(b'S' | b's') => Dst::Summer,
            Some(b'W' | b'w') => Dst::Winter,
            Some(_) => return None,
        };
        let year = if f[0] >= 69 { 1900 } else { 2000 } + i16::from(f[0]);
        let days = match f[1] {
            2 if year % 4 == 0 => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        let ok = (1..=12).contains(&f[1]) && (1..=days).contains(&f[2]) && f[3] < 24 && f[4] < 60 && f[5] < 60;
        ok.then_some(MeterTime { year, month: f[1], day: f[2], hour: f[3], minute: f[4], second: f[5], dst })
    }

    proptest::proptest! {
        #[test]
        fn meter_times_read_in_words_as_field_by_field(
            s in "[0-9]{2}(0[0-9]|1[0-3])([0-3][0-9])([0-2][0-9])([0-6][0-9]){2}[SWswX]?|[0-9/:]{12,13}|[0-9]{2}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}[SW]?"
        ) {
            proptest::prop_assert_eq!(MeterTime::parse(&s), reference_time(&s));
        }

        #[test]
        fn decimals_read_eight_digits_at_a_time_as_one_at_a_time(s in "[-+]?[0-9]{0,22}([.,][0-9]{0,22})?[*a-zA-Z0-9 /:.]{0,10}") {
            proptest::prop_assert_eq!(Decimal::parse_prefix(&s), reference(&s));
        }
    }
}
