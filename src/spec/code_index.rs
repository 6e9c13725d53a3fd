//! Finds a data line's OBIS id and table row from the id's text in one hash probe, so the
//! lines meters send in the plain form (`1-0:1.8.1(`) need no digit-by-digit id parsing.

use super::{Channel, Row, Shape, Spec};
use crate::detect::Clue;
use crate::obis::Obis;

/// A known code found at the start of a line: its text's length and its entry in the index,
/// whose fields are read where they are needed (copied out, they would be spilled to the
/// stack in the hot loop of [`crate::parse`]).
#[derive(Debug, Clone, Copy)]
pub struct Code {
    /// Length of the code's text (the offset of its `(`).
    pub len: usize,
    entry: &'static Entry,
}

impl Code {
    /// The code's id.
    #[inline(always)]
    pub fn id(&self) -> Obis {
        self.entry.id
    }

    /// The code's row in the table.
    #[inline(always)]
    pub fn row(&self) -> &'static Row {
        self.entry.row
    }

    /// What the code tells version detection.
    #[inline(always)]
    pub fn clue(&self) -> Clue {
        self.entry.clue
    }

    /// How `crate::quick` (the one-pass reader) may read the line's value.
    #[inline(always)]
    pub fn quick(&self) -> Quick {
        self.entry.quick
    }
}

/// The value forms `crate::quick` (the one-pass reader) reads in one pass, decided once per row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quick {
    /// Left to the general reader (several groups, logs, the version line, ...).
    No,
    /// One number, then `)` or `*unit)` with the table's unit: `tail` holds the bytes of
    /// `*unit)` (little-endian, `tail_len` of them).
    Number {
        tail: u64,
        tail_len: u8,
    },
    Text,
    Hex,
    Time,
    /// `(time)(number)`, the number read as for `Number` (M-Bus readings, monthly peaks).
    Timed {
        tail: u64,
        tail_len: u8,
    },
    /// `(n)(buffer)` then n × `(time)(seconds*s)`: the power failure log.
    EventLog,
}

/// `*unit)` as the one-pass reader compares it: little-endian bytes and their count;
/// `None` for units too long to compare as one word.
fn tail_of(unit: Option<&str>) -> Option<(u64, u8)> {
    let text = format!("*{})", unit.unwrap_or(""));
    let mut tail = [0u8; 8];
    tail.get_mut(..text.len())?.copy_from_slice(text.as_bytes());
    Some((u64::from_le_bytes(tail), text.len() as u8))
}

impl Quick {
    fn of(row: &Row, clue: Clue) -> Quick {
        if clue == Clue::P1Version && row.shape != Shape::Text {
            // Its value is a detection clue, which the quick reader passes on only as text.
            return Quick::No;
        }
        match row.shape {
            Shape::Number => tail_of(row.unit).map_or(Quick::No, |(tail, tail_len)| Quick::Number { tail, tail_len }),
            Shape::Timed => tail_of(row.unit).map_or(Quick::No, |(tail, tail_len)| Quick::Timed { tail, tail_len }),
            Shape::Text => Quick::Text,
            Shape::HexText => Quick::Hex,
            Shape::Time => Quick::Time,
            Shape::EventLog => Quick::EventLog,
            _ => Quick::No,
        }
    }
}

/// Every id a table knows, keyed by its plain text (`0-1:24.2.1`) packed into a `u128`.
#[derive(Debug)]
pub(crate) struct CodeIndex {
    slots: Box<[Option<Entry>]>,
    /// `64 - log2(slots.len())`: the hash is the top bits of the product.
    shift: u32,
}

/// 48 bytes: the key as two words keeps it off `u128`'s 16-byte alignment, and the row
/// reference gives `Option` its niche.
#[derive(Debug, Clone, Copy)]
struct Entry {
    key: [u64; 2],
    id: Obis,
    clue: Clue,
    quick: Quick,
    row: &'static Row,
}

/// The 16 bytes at the start of `line` with everything from the first `(` on cleared, and
/// the offset of that `(`; `None` when fewer than 16 bytes remain or no `(` is among them.
/// An id is at least 9 characters (`1-0:1.8.1`), so the `(` after one is in the second
/// eight bytes and only that word is searched; a `(` in the first eight stays in the key,
/// which then matches no code.
#[inline(always)]
fn key_at(line: &[u8]) -> Option<(u128, usize)> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    const PARENS: u64 = u64::from_ne_bytes([b'('; 8]);
    let both = u128::from_le_bytes(line.get(..16)?.try_into().ok()?);
    let (lo, hi) = (both as u64, (both >> 64) as u64);
    let x = hi ^ PARENS;
    // The lowest flagged byte is the first `(`.
    let found = x.wrapping_sub(ONES) & !x & HIGHS;
    if found == 0 {
        return None;
    }
    let bits = found.trailing_zeros() & !7;
    let hi = hi & ((1u64 << bits) - 1);
    Some((u128::from(lo) | u128::from(hi) << 64, 8 + (bits / 8) as usize))
}

#[inline(always)]
fn split(key: u128) -> [u64; 2] {
    [key as u64, (key >> 64) as u64]
}

fn plain_text(id: Obis) -> String {
    format!("{}-{}:{}.{}.{}(", id.a, id.b, id.c, id.d, id.e)
}

impl CodeIndex {
    pub(crate) fn new(spec: &'static Spec) -> CodeIndex {
        let mut ids = Vec::new();
        for row in spec.all_rows() {
            match row.b {
                Channel::Is(b) => {
                    ids.push(Obis::new(row.a, b, row.c, row.d, row.e));
                    if row.a == 1 && b == 0 {
                        ids.push(Obis::new(row.a, 1, row.c, row.d, row.e));
                    }
                }
                Channel::MBus => ids.extend((1..=4).map(|b| Obis::new(row.a, b, row.c, row.d, row.e))),
            }
        }
        let len = (ids.len() * 2).next_power_of_two().max(16);
        let mut index = CodeIndex { slots: vec![None; len].into_boxed_slice(), shift: 64 - len.trailing_zeros() };
        for id in ids {
            // The row a line with this id gets by the general path, so a hit here and a
            // parsed id always agree.
            let Some(row) = spec.row(id) else { continue };
            let mut text = plain_text(id).into_bytes();
            text.resize(16, 0);
            let Some((key, _)) = key_at(&text) else { continue };
            let mut i = index.home(key);
            loop {
                match index.slots[i] {
                    Some(e) if e.key == split(key) => break,
                    Some(_) => i = (i + 1) & (len - 1),
                    None => {
                        let clue = Clue::of(id);
                        index.slots[i] = Some(Entry { key: split(key), id, clue, quick: Quick::of(row, clue), row });
                        break;
                    }
                }
            }
        }
        index
    }

    #[inline(always)]
    fn home(&self, key: u128) -> usize {
        let folded = (key as u64) ^ ((key >> 64) as u64).rotate_left(29);
        (folded.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    /// The id, row and text length of the code at the start of `line`.
    #[inline]
    pub(crate) fn get(&'static self, line: &[u8]) -> Option<Code> {
        let (key, len) = key_at(line)?;
        let mask = self.slots.len() - 1;
        let mut i = self.home(key);
        loop {
            match &self.slots[i] {
                Some(e) if e.key == split(key) => {
                    return Some(Code { len, entry: e });
                }
                Some(_) => i = (i + 1) & mask,
                None => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::obis::Obis;
    use crate::spec::Version;

    #[test]
    fn finds_what_the_parsed_id_finds() {
        for version in Version::ALL {
            let spec = version.spec();
            for row in spec.all_rows() {
                let b = match row.b {
                    super::Channel::Is(b) => b,
                    super::Channel::MBus => 2,
                };
                let id = Obis::new(row.a, b, row.c, row.d, row.e);
                let line = format!("{}(000001.000*kWh)\r\n", super::plain_text(id).trim_end_matches('('));
                let code = spec.code_at(line.as_bytes()).expect("a known code is found");
                assert_eq!((code.id(), code.len), (id, line.find('(').unwrap()), "{version:?} {line}");
                assert!(std::ptr::eq(code.row(), spec.row(id).unwrap()), "{version:?} {line}");
                assert_eq!(code.clue(), crate::detect::Clue::of(id));
            }
            // Every code that differs from a known one in its last group alone is found as
            // itself or not at all: most share their first eight bytes with the known one.
            for row in spec.all_rows() {
                let b = match row.b {
                    super::Channel::Is(b) => b,
                    super::Channel::MBus => 2,
                };
                for e in 0..=255 {
                    let id = Obis::new(row.a, b, row.c, row.d, e);
                    let line = format!("{}(000001.000*kWh)\r\n", super::plain_text(id).trim_end_matches('('));
                    if let Some(code) = spec.code_at(line.as_bytes()) {
                        assert_eq!(code.id(), id, "{version:?} {line}");
                    }
                }
            }
            // Unknown codes, other spellings and short input are left to the parser.
            for line in ["1-0:1.8.1*255(000001.000*kWh)", "9-9:9.9.9(000001.000*kWh)", "1-0:1.8.1(", "1-0:1.8.1(0)"] {
                assert!(spec.code_at(line.as_bytes()).is_none(), "{version:?} {line}");
            }
        }
    }
}
