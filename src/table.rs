//! The human-readable form of a telegram: one aligned row per data line, for `parse
//! --format table` (the stdout sink has its own table of readings).

use std::fmt::Write as _;

use crate::frame::CrcStatus;
use crate::json::JsonContext;
use crate::telegram::{FailureEntry, Object, Quantity, Stamp, Telegram, Value};
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
    let mut stamp = t.timestamp().and_then(|m| to_utc(m, &cx.tz, normal)).map(rfc3339).unwrap_or_else(|| "-".into());
    if t.clock_never_set() {
        stamp.push_str(" (clock never set)");
    }
    let mut out = String::new();
    let enc = if t.encrypted { ", decrypted" } else { "" };
    let header = visible(&t.header);
    let _ = writeln!(out, "telegram {ordinal}  /{header}  version {}  {}  {}{}", t.version, stamp, crc, enc);
    for o in &t.objects {
        let name = o.name.unwrap_or("(unknown)");
        let _ = writeln!(out, "  {:<14} {:<42} {}{}", o.obis, name, visible(&value_text(o, &time)), note(o));
    }
    for e in &t.errors {
        let _ = writeln!(out, "  line {:<9} {:<42} {}", e.line, "(error)", visible(&e.reason));
    }
    out
}

/// Meter text with its control characters escaped (`\x1B`, `\r`, `\n`): a header or a
/// message must not move the cursor or recolour the terminal it is printed on. Direction
/// marks and overrides (`\u{202E}`) are escaped too, so that a line cannot show its text in
/// another order than it holds it.
pub fn visible(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(|c| c.is_control() || is_bidi_format(c)) {
        return s.into();
    }
    s.chars()
        .map(|c| match c {
            '\r' => "\\r".to_string(),
            '\n' => "\\n".to_string(),
            '\t' => "\\t".to_string(),
            c if c.is_control() => format!("\\x{:02X}", u32::from(c)),
            c if is_bidi_format(c) => format!("\\u{{{:04X}}}", u32::from(c)),
            c => c.to_string(),
        })
        .collect::<String>()
        .into()
}

/// The Unicode characters that set the direction of the text after them: marks, embeddings,
/// overrides and isolates (what "Trojan Source" hides code with).
fn is_bidi_format(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn q(q: &Quantity<'_>) -> String {
    match q.unit {
        Some(u) => format!("{} {u}", q.value),
        None => q.value.to_string(),
    }
}

/// What the JSON marks `placeholder`, said in words: a value no sink stores as a reading.
fn note(o: &Object<'_>) -> &'static str {
    match &o.value {
        Value::Timed { .. } | Value::LegacyGas { .. } if o.value.is_placeholder() => "  (placeholder: no reading)",
        Value::Time(s) if s.is_unset_clock() => "  (placeholder: clock never set)",
        Value::Timed { time, .. } | Value::LegacyGas { time, .. } if time.is_unset_clock() => {
            "  (time from a clock never set: not stored)"
        }
        _ => "",
    }
}

/// A time from a clock never set, marked as the JSON marks it.
fn unset(t: &Stamp<'_>) -> &'static str {
    if t.is_unset_clock() { " (clock never set)" } else { "" }
}

/// An empty log's filler entry, and a failure dated by a clock never set, marked as the
/// JSON marks them.
fn filler(e: &FailureEntry<'_>) -> &'static str {
    if e.is_placeholder() { " (placeholder)" } else { unset(&e.end) }
}

/// `n` and the word for that many: "1 entry", "2 entries".
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
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
                entries.iter().map(|e| format!("{} until {}{}", q(&e.duration), time(&e.end), filler(e))).collect();
            format!(
                "{}{}{}",
                count(entries.len(), "entry", "entries"),
                if list.is_empty() { "" } else { ": " },
                list.join("; ")
            )
        }
        Value::PeakHistory(peaks) => {
            let list: Vec<String> = peaks
                .iter()
                .map(|p| match &p.export {
                    None if p.is_placeholder() => format!("{} at {} (placeholder)", q(&p.demand), time(&p.time)),
                    None => format!("{} at {}{}", q(&p.demand), time(&p.time), unset(&p.time)),
                    Some(e) => format!(
                        "{} at {}{}, export {} at {}{}",
                        q(&p.demand),
                        time(&p.time),
                        unset(&p.time),
                        q(&e.value),
                        time(&e.time),
                        unset(&e.time)
                    ),
                })
                .collect();
            format!(
                "{}{}{}",
                count(peaks.len(), "month", "months"),
                if list.is_empty() { "" } else { ": " },
                list.join("; ")
            )
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
            format!("{}; {}", count(records.len(), "record", "records"), list.join("; "))
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
        assert_eq!(visible("key\u{202E}yek\u{2066}é"), "key\\u{202E}yek\\u{2066}é");
    }

    #[test]
    fn peaks_dated_by_a_clock_never_set_are_marked() {
        let body = b"/LG_E660_Fluvius_3N400V\r\n\r\n0-0:96.1.4(50250)\r\n\
            0-0:98.1.0(1)(0-0:0.1.0)(1-0:1.6.0)(1-0:1.6.0)(1-0:2.6.0)(1-0:2.6.0)(250701000000S)(15)\
            (250604084500S)(01.452*kW)(000101150000W)(01.633*kW)\r\n!";
        let t = crate::parse::parse(body, CrcStatus::Absent, crate::spec::VersionChoice::Auto).expect("parses");
        let cx = JsonContext { tz: crate::time::zone("Europe/Brussels").expect("zone") };
        let text = telegram_table(&t, 1, &cx);
        let line = text.lines().find(|l| l.trim_start().starts_with("0-0:98.1.0")).unwrap_or_default();
        assert!(
            line.ends_with(
                "1.452 kW at 2025-06-04T06:45:00Z, export 1.633 kW at 2000-01-01T14:00:00Z (clock never set)"
            ),
            "{text}"
        );
    }

    #[test]
    fn placeholders_are_marked_as_the_json_marks_them() {
        let body = b"/XMX5LGBBFG1009089532\r\n\r\n1-3:0.2.8(42)\r\n0-0:1.0.0(000101023000W)\r\n\
            0-1:24.2.1(632525252525W)(00000.000)\r\n0-2:24.2.1(190324150000W)(00012.345*m3)\r\n\
            0-3:24.2.1(000101000000W)(00012.345*m3)\r\n\
            1-0:99.97.0(2)(0-0:96.7.19)(000101000001W)(2147483647*s)(000101185853W)(0000067432*s)\r\n!";
        let t = crate::parse::parse(body, CrcStatus::Absent, crate::spec::VersionChoice::Auto).expect("parses");
        let cx = JsonContext { tz: crate::time::zone("Europe/Amsterdam").expect("zone") };
        let text = telegram_table(&t, 1, &cx);
        let line = |code: &str| text.lines().find(|l| l.trim_start().starts_with(code)).unwrap_or_default().to_string();
        assert!(line("0-0:1.0.0").ends_with("(placeholder: clock never set)"), "{text}");
        assert!(line("0-1:24.2.1").ends_with("(placeholder: no reading)"), "{text}");
        assert!(line("0-2:24.2.1").ends_with("12.345 m3 at 2019-03-24T14:00:00Z"), "{text}");
        assert!(line("0-3:24.2.1").ends_with("(time from a clock never set: not stored)"), "{text}");
        assert!(line("1-0:99.97.0").contains("(placeholder); "), "{text}");
        assert!(line("1-0:99.97.0").ends_with("(clock never set)"), "{text}");

        // A month without a peak in the Belgian history: no time, or a clock never set.
        let body = b"/FLU5\\253769484_A\r\n\r\n0-0:96.1.4(50217)\r\n\
            0-0:98.1.0(3)(1-0:1.6.0)(1-0:1.6.0)(241101000000W)(632525252525W)(00.000*kW)\
            (241201000000W)(241115184500W)(03.701*kW)(250101000000W)(000101000000W)(00.000*kW)\r\n!";
        let t = crate::parse::parse(body, CrcStatus::Absent, crate::spec::VersionChoice::Auto).expect("parses");
        let text = telegram_table(&t, 1, &cx);
        let peaks = text.lines().find(|l| l.trim_start().starts_with("0-0:98.1.0")).unwrap_or_default();
        assert!(
            peaks.ends_with(
                "0.000 kW at (invalid: 632525252525W) (placeholder); 3.701 kW at 2024-11-15T17:45:00Z; \
                 0.000 kW at 1999-12-31T23:00:00Z (placeholder)"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_billing_profile_lists_its_records_with_their_capture_codes() {
        let body = b"/LG_E660_Fluvius_3N400V\r\n\r\n0-0:96.1.4(50250)\r\n\
            0-0:98.1.1(2)(0-0:0.1.0)(1-0:1.8.0)(250601000000S)(14)(0002600.50*kWh)(250701000000S)(15)(0002631.00*kWh)\r\n\
            0-0:98.1.0(0)(0-0:0.1.0)(1-0:1.6.0)(1-0:1.6.0)\r\n!";
        let t = crate::parse::parse(body, CrcStatus::Absent, crate::spec::VersionChoice::Auto).expect("parses");
        let cx = JsonContext { tz: crate::time::zone("Europe/Brussels").expect("zone") };
        let text = telegram_table(&t, 7, &cx);
        let line = |code: &str| text.lines().find(|l| l.trim_start().starts_with(code)).unwrap_or_default().to_string();
        assert!(text.starts_with("telegram 7  /LG_E660_Fluvius_3N400V  version 5B  -  no CRC\n"), "{text}");
        assert!(
            line("0-0:98.1.1").ends_with(
                "2 records; 2025-05-31T22:00:00Z: 0-0:0.1.0 14, 1-0:1.8.0 2600.50 kWh; \
                 2025-06-30T22:00:00Z: 0-0:0.1.0 15, 1-0:1.8.0 2631.00 kWh"
            ),
            "{text}"
        );
        assert!(line("0-0:98.1.0").ends_with("belgium_maximum_demand_13_months           0 months"), "{text}");
    }
}
