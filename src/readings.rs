//! The boundary to the sinks: a parsed telegram becomes a [`Reading`] of named values with
//! units and UTC times, so no sink ever sees OBIS syntax.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use std::borrow::Cow;

use dsmrd_sinks::{Field, FieldKind, FieldValue, Reading, SeriesPoint, Text};

use crate::obis::Obis;
use crate::telegram::{Object, Quantity, Stamp, Telegram, Value};
use crate::time::{rfc3339, to_utc};

/// Everything needed to turn telegrams of one source into readings.
#[derive(Debug, Clone)]
pub struct ReadingContext {
    pub source: String,
    pub tz: TimeZone,
}

/// Convert a telegram; `received` is used as the reading's time when the telegram carries
/// no valid timestamp of its own.
pub fn to_reading(t: &Telegram<'_>, cx: &ReadingContext, received: Timestamp) -> Reading {
    let normal = t.version.always_normal_time();
    let utc = |s: &Stamp<'_>| s.time.and_then(|m| to_utc(m, &cx.tz, normal));
    let own_time = t.timestamp().and_then(|m| to_utc(m, &cx.tz, normal));
    let mut fields: Vec<Field> = Vec::with_capacity(t.objects.len());
    let mut series = Vec::new();
    let stamp_id = Obis::new(0, 0, 1, 0, 0);
    for (idx, o) in t.objects.iter().enumerate() {
        if o.id == stamp_id {
            continue;
        }
        let base = field_name(o);
        // Table names are unique per table; only M-Bus devices, unknown codes and a code
        // sent twice can collide, so only they pay for the check.
        let may_collide = o.name.is_none() || o.channel().is_some() || t.objects[..idx].iter().any(|p| p.id == o.id);
        let mut push = |name: Text, value: FieldValue, unit: Option<&str>, time: Option<Timestamp>| {
            let name = if may_collide { unique(&fields, name, o) } else { name };
            let kind = kind_of(&name, &value, unit);
            fields.push(Field { name, value, unit: unit.map(unit_text), kind, time });
        };
        match &o.value {
            Value::Empty => {}
            Value::Number(q) => push(base, num(q), q.unit, None),
            Value::Numbers(qs) => {
                for (i, q) in qs.iter().enumerate() {
                    push(Cow::Owned(format!("{base}_{}", i + 1)), num(q), q.unit, None);
                }
            }
            Value::Text(s) => push(base, FieldValue::Text((*s).to_string()), None, None),
            Value::Hex(raw) => push(base, FieldValue::Text(Value::hex_text(raw)), None, None),
            Value::Time(s) => {
                if let Some(ts) = utc(s) {
                    push(base, FieldValue::Text(rfc3339(ts)), None, None);
                }
            }
            Value::Timed { time, value } => push(base, num(value), value.unit, utc(time)),
            Value::LegacyGas { time, value, .. } => push(base, num(value), value.unit, utc(time)),
            Value::EventLog { entries, .. } => {
                for e in entries {
                    if let Some(ts) = utc(&e.end) {
                        series.push(SeriesPoint {
                            name: base.clone(),
                            time: ts,
                            value: e.duration.value.to_f64(),
                            unit: e.duration.unit.map(unit_text),
                        });
                    }
                }
            }
            Value::PeakHistory(peaks) => {
                for p in peaks {
                    if let Some(ts) = utc(&p.time) {
                        series.push(SeriesPoint {
                            name: base.clone(),
                            time: ts,
                            value: p.demand.value.to_f64(),
                            unit: p.demand.unit.map(unit_text),
                        });
                    }
                }
            }
            Value::Snapshot { time, values } => {
                if let Some(ts) = utc(time) {
                    for (i, q) in values.iter().enumerate() {
                        series.push(SeriesPoint {
                            name: Cow::Owned(format!("{base}_{}", i + 1)),
                            time: ts,
                            value: q.value.to_f64(),
                            unit: q.unit.map(unit_text),
                        });
                    }
                }
            }
            Value::Raw(groups) => {
                let first = groups.first().copied().unwrap_or("");
                let (n, unit) = first.split_once('*').map_or((first, None), |(n, u)| (n, Some(u)));
                match crate::value::Decimal::parse(n) {
                    Some(d) => push(base, FieldValue::Number(d.to_f64()), unit, None),
                    None if !first.is_empty() => push(base, FieldValue::Text(first.to_string()), None, None),
                    None => {}
                }
            }
        }
    }
    Reading {
        source: cx.source.clone(),
        meter_id: t.meter_id(),
        time: own_time.unwrap_or(received),
        time_from_meter: own_time.is_some(),
        fields,
        series,
    }
}

fn num(q: &Quantity<'_>) -> FieldValue {
    FieldValue::Number(q.value.to_f64())
}

/// The table's name, or `obis_1_0_94_32_1` for codes the table does not know.
fn field_name(o: &Object<'_>) -> Text {
    match o.name {
        Some(n) => Cow::Borrowed(n),
        None => Cow::Owned(format!("obis_{}_{}_{}_{}_{}", o.id.a, o.id.b, o.id.c, o.id.d, o.id.e)),
    }
}

/// Units as written, without an allocation for the common ones.
fn unit_text(u: &str) -> Text {
    const KNOWN: &[&str] = &[
        "kWh", "kW", "V", "A", "m3", "s", "Wh", "W", "kvarh", "kvar", "kVArh", "kVAr", "varh", "var", "kVA", "GJ", "Hz",
    ];
    match KNOWN.iter().find(|k| **k == u) {
        Some(k) => Cow::Borrowed(k),
        None => Cow::Owned(u.to_string()),
    }
}

/// Keep names unique within a reading: a second device of the same kind on another M-Bus
/// channel gets the channel appended (`water_meter_reading_2`).
fn unique(fields: &[Field], name: Text, o: &Object<'_>) -> Text {
    if !fields.iter().any(|f| f.name == name) {
        return name;
    }
    let suffix = o.channel().map_or(o.line, u32::from);
    let candidate = format!("{name}_{suffix}");
    Cow::Owned(if fields.iter().any(|f| f.name == candidate) { format!("{name}_line{}", o.line) } else { candidate })
}

/// Instantaneous values may be averaged; registers and states may not.
fn kind_of(name: &str, value: &FieldValue, unit: Option<&str>) -> FieldKind {
    if matches!(value, FieldValue::Text(_)) {
        return FieldKind::Info;
    }
    let unit = unit.unwrap_or("").to_ascii_lowercase();
    match unit.as_str() {
        "kwh" | "wh" | "m3" | "gj" | "mj" | "kvarh" | "varh" | "s" => FieldKind::Counter,
        "kw" | "w" | "v" | "a" | "kvar" | "var" | "kva" | "va" | "hz" => FieldKind::Gauge,
        _ if name.ends_with("_count") || name.contains("_reading") || name.contains("electricity_") => {
            FieldKind::Counter
        }
        _ if name.contains("power_factor") || name.contains("current_") || name.contains("voltage") => FieldKind::Gauge,
        _ => FieldKind::Info,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::crc16;
    use crate::parse::parse;
    use crate::spec::VersionChoice;

    fn telegram(body: &str) -> Vec<u8> {
        let crc = crc16(body.as_bytes());
        format!("{body}{crc:04X}\r\n").into_bytes()
    }

    #[test]
    fn a_dsmr5_telegram_becomes_named_fields_at_its_own_time() {
        let bytes = telegram(
            "/ISK5\\2M550T-1012\r\n\r\n1-3:0.2.8(50)\r\n0-0:1.0.0(190324150541W)\r\n\
             0-0:96.1.1(4530303434303037313331363530363138)\r\n1-0:1.8.1(003432.829*kWh)\r\n\
             1-0:1.7.0(00.433*kW)\r\n0-1:24.1.0(003)\r\n0-1:24.2.1(190324150000W)(01234.567*m3)\r\n\
             0-2:24.1.0(003)\r\n0-2:24.2.1(190324150000W)(00001.000*m3)\r\n!",
        );
        let t = parse(&bytes, crate::frame::CrcStatus::Absent, VersionChoice::Auto).unwrap();
        let cx = ReadingContext { source: "meter".into(), tz: crate::time::zone("Europe/Amsterdam").unwrap() };
        let r = to_reading(&t, &cx, Timestamp::UNIX_EPOCH);
        assert_eq!(r.time.to_string(), "2019-03-24T14:05:41Z");
        assert!(r.time_from_meter);
        assert_eq!(r.meter_id.as_deref(), Some("E0044007131650618"));
        assert_eq!(r.number("electricity_used_tariff_1"), Some(3432.829));
        assert_eq!(r.field("electricity_used_tariff_1").unwrap().kind, FieldKind::Counter);
        assert_eq!(r.field("current_electricity_usage").unwrap().kind, FieldKind::Gauge);
        let gas = r.field("hourly_gas_meter_reading").unwrap();
        assert_eq!(gas.value, FieldValue::Number(1234.567));
        assert_eq!(gas.time.unwrap().to_string(), "2019-03-24T14:00:00Z");
        assert_eq!(r.number("hourly_gas_meter_reading_2"), Some(1.0));
        assert!(r.field("p1_message_timestamp").is_none());
    }
}
