//! The human-readable form of a telegram: one aligned row per data line, for `parse
//! --format table` and the stdout sink.

use std::fmt::Write as _;

use crate::frame::CrcStatus;
use crate::json::JsonContext;
use crate::telegram::{Object, Quantity, Stamp, Telegram, Value};
use crate::time::{rfc3339, to_utc};

/// Render one telegram; `ordinal` is its number in the stream.
pub fn telegram_table(t: &Telegram<'_>, ordinal: u64, cx: &JsonContext) -> String {
    let normal = t.version.always_normal_time();
    let time = |s: &Stamp<'_>| match s.time.and_then(|m| to_utc(m, &cx.tz, normal)) {
        Some(ts) => rfc3339(ts),
        None => format!("(invalid: {})", s.raw),
    };
    let crc = match t.crc {
        CrcStatus::Absent => "no CRC".to_string(),
        CrcStatus::Valid(c) => format!("CRC {c:04X} ok"),
        CrcStatus::Mismatch { sent, computed } => format!("CRC {sent:04X} WRONG (computed {computed:04X})"),
    };
    let stamp = t.timestamp().and_then(|m| to_utc(m, &cx.tz, normal)).map(rfc3339).unwrap_or_else(|| "-".into());
    let mut out = String::new();
    let enc = if t.encrypted { ", decrypted" } else { "" };
    let header = visible(&t.header);
    let _ = writeln!(out, "telegram {ordinal}  /{header}  version {}  {}  {}{}", t.version, stamp, crc, enc);
    for o in &t.objects {
        let name = o.name.unwrap_or("(unknown)");
        let _ = writeln!(out, "  {:<14} {:<42} {}", o.obis, name, visible(&value_text(o, &time)));
    }
    for e in &t.errors {
        let _ = writeln!(out, "  line {:<9} {:<42} {}", e.line, "(error)", visible(&e.reason));
    }
    out
}

/// Meter text with its control characters escaped (`\x1B`, `\r`, `\n`): a header or a
/// message must not move the cursor or recolour the terminal it is printed on.
pub fn visible(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return s.into();
    }
    s.chars()
        .map(|c| match c {
            '\r' => "\\r".to_string(),
            '\n' => "\\n".to_string(),
            '\t' => "\\t".to_string(),
            c if c.is_control() => format!("\\x{:02X}", u32::from(c)),
            c => c.to_string(),
        })
        .collect::<String>()
        .into()
}

fn q(q: &Quantity<'_>) -> String {
    match q.unit {
        Some(u) => format!("{} {u}", q.value),
        None => q.value.to_string(),
    }
}

fn value_text(o: &Object<'_>, time: &impl Fn(&Stamp<'_>) -> String) -> String {
    match &o.value {
        Value::Empty => "-".into(),
        Value::Number(x) => q(x),
        Value::Numbers(xs) => xs.iter().map(q).collect::<Vec<_>>().join(", "),
        Value::Text(s) => (*s).to_string(),
        Value::Hex(raw) => Value::hex_text(raw),
        Value::Time(s) => time(s),
        Value::Timed { time: t, value } => format!("{} at {}", q(value), time(t)),
        Value::LegacyGas { time: t, value, .. } => format!("{} at {}", q(value), time(t)),
        Value::EventLog { entries, .. } => {
            let list: Vec<String> =
                entries.iter().map(|e| format!("{} until {}", q(&e.duration), time(&e.end))).collect();
            format!("{} entries{}{}", entries.len(), if list.is_empty() { "" } else { ": " }, list.join("; "))
        }
        Value::PeakHistory(peaks) => {
            let list: Vec<String> = peaks
                .iter()
                .map(|p| match &p.export {
                    None => format!("{} at {}", q(&p.demand), time(&p.time)),
                    Some(e) => {
                        format!("{} at {}, export {} at {}", q(&p.demand), time(&p.time), q(&e.value), time(&e.time))
                    }
                })
                .collect();
            format!("{} months: {}", peaks.len(), list.join("; "))
        }
        Value::Snapshot { time: t, values } => {
            format!("at {}: {}", time(t), values.iter().map(q).collect::<Vec<_>>().join(", "))
        }
        Value::Profile(profile) => {
            let (captures, records) = (&profile.captures, profile.records());
            let list: Vec<String> = records
                .iter()
                .map(|(t, values)| {
                    let pairs: Vec<String> =
                        captures.iter().zip(values.iter()).map(|(c, v)| format!("{c} {}", q(v))).collect();
                    format!("{}: {}", time(t), pairs.join(", "))
                })
                .collect();
            format!("{} records; {}", records.len(), list.join("; "))
        }
        Value::Raw(groups) => groups.iter().map(|g| format!("({g})")).collect::<String>(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(visible("ISK5\\2M550T"), "ISK5\\2M550T");
        assert_eq!(visible("AB\u{1b}[31mC\r\n\u{2}"), "AB\\x1B[31mC\\r\\n\\x02");
    }
}
