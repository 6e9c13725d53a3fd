//! Reads the commonest data lines — a known code with one number, text or time — in one
//! forward pass from the code to the next line, because they are most of every telegram.
//! Anything it does not expect is left to the general readers, which give the same value.

use crate::lines::{between_ascii, find_close_or_newline, plain_end};
use crate::parse::set_empty;
use crate::spec::code_index::{Code, Quick};
use crate::telegram::{Quantity, Stamp, Value};
use crate::value::{Decimal, MeterTime};

/// Type the value of the line at `pos`, whose code the index found as `code`, into `out`
/// (which holds [`Value::Empty`]) and return where the next line starts; `None`, with `out`
/// untouched, unless the line is exactly `code(value)` followed by a plain line end (see
/// [`plain_end`]) and the value has the row's usual form.
#[inline(always)]
pub(crate) fn value<'a>(text: &'a str, pos: usize, code: &Code, out: &mut Value<'a>) -> Option<usize> {
    let b = text.as_bytes();
    // `pos + code.len` is the `(`; the value starts after it.
    let v = pos + code.len + 1;
    match code.quick {
        Quick::No => None,
        Quick::Number { tail, tail_len } => {
            let (value, len) = Decimal::parse_prefix_len(text.get(v..)?)?;
            let at = v + len;
            let (unit, end) = match b.get(at) {
                Some(b')') => (None, at + 1),
                _ => {
                    let word = u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?);
                    let mask = u64::MAX >> (64 - 8 * u32::from(tail_len));
                    if word & mask != tail {
                        return None;
                    }
                    (code.row.unit, at + usize::from(tail_len))
                }
            };
            let next = plain_end(b, end)?;
            set_empty(out, Value::Number(Quantity { value, unit }));
            Some(next)
        }
        Quick::Text | Quick::Hex | Quick::Time => {
            if b.get(v) == Some(&b'(') {
                return None;
            }
            let close = v + find_close_or_newline(b.get(v..)?)?;
            if b[close] != b')' {
                return None;
            }
            let next = plain_end(b, close + 1)?;
            let raw = between_ascii(text, v, close);
            match code.quick {
                Quick::Time => set_empty(out, Value::Time(Stamp { time: MeterTime::parse(raw), raw })),
                _ if raw.is_empty() => {}
                Quick::Hex => set_empty(out, Value::Hex(raw)),
                _ => set_empty(out, Value::Text(raw)),
            }
            Some(next)
        }
    }
}
