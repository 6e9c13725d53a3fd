//! The JSON form of a telegram: the `parse --format json` contract (one object per
//! telegram, JSON Lines). Every data line becomes an object with `obis` (as written),
//! `name`, `value` (number, string, or RFC 3339 UTC time) and `unit` when the meter gave
//! one; timed values carry `timestamp`, logs carry `entries`.

use jiff::tz::TimeZone;
use serde_json::{Map, Value as J, json};

use crate::frame::CrcStatus;
use crate::telegram::{Object, Quantity, Stamp, Telegram, Value};
use crate::time::{rfc3339, to_utc};

/// Settings the JSON form depends on.
#[derive(Debug, Clone)]
pub struct JsonContext {
    pub tz: TimeZone,
}

/// The telegram as one JSON object.
pub fn telegram_json(t: &Telegram<'_>, cx: &JsonContext) -> J {
    let normal = t.version.always_normal_time();
    let time = |s: &Stamp<'_>| -> J {
        match s.time.and_then(|m| to_utc(m, &cx.tz, normal)) {
            Some(ts) => J::String(rfc3339(ts)),
            None => J::Null,
        }
    };
    let mut out = Map::new();
    out.insert("header".into(), J::String(format!("/{}", t.header)));
    out.insert("dsmr_version".into(), J::String(t.version.code().into()));
    let (crc, crc_ok) = match t.crc {
        CrcStatus::Absent => (J::Null, J::Null),
        CrcStatus::Valid(c) => (J::String(format!("{c:04X}")), J::Bool(true)),
        CrcStatus::Mismatch { sent, .. } => (J::String(format!("{sent:04X}")), J::Bool(false)),
    };
    out.insert("crc".into(), crc);
    out.insert("crc_ok".into(), crc_ok);
    out.insert("encrypted".into(), J::Bool(t.encrypted));
    let ts = t.timestamp().and_then(|m| to_utc(m, &cx.tz, normal)).map(rfc3339);
    out.insert("timestamp".into(), ts.map_or(J::Null, J::String));
    // Shown as sent, and marked (as its object is marked `"placeholder": true`).
    if t.clock_never_set() {
        out.insert("unset_clock".into(), J::Bool(true));
    }
    out.insert("meter_id".into(), t.meter_id().map_or(J::Null, J::String));
    out.insert("objects".into(), J::Array(t.objects.iter().map(|o| object_json(o, &time)).collect()));
    let devices: Vec<J> = t
        .mbus_devices()
        .iter()
        .map(|d| {
            json!({
                "channel": d.channel,
                "device_type": d.device_type,
                "medium": d.medium.map(|m| m.word()),
                "equipment_id": d.equipment_id,
                // Readings with their capture time, and those sent without (`0-1:24.2.1(0366.475*m3)`).
                "readings": d.objects.iter()
                    .filter(|o| match o.value {
                        Value::Timed { .. } | Value::LegacyGas { .. } => true,
                        Value::Number(_) => (o.id.c, o.id.d) == (24, 2),
                        _ => false,
                    })
                    .map(|o| object_json(o, &time))
                    .collect::<Vec<_>>(),
            })
        })
        .collect();
    out.insert("mbus".into(), J::Array(devices));
    let errors: Vec<J> = t.errors.iter().map(|e| json!({"line": e.line, "text": e.text, "error": e.reason})).collect();
    out.insert("errors".into(), J::Array(errors));
    J::Object(out)
}

fn number(q: &Quantity<'_>) -> J {
    match q.value.to_i64() {
        Some(i) => J::from(i),
        None => serde_json::Number::from_f64(q.value.to_f64()).map_or(J::Null, J::Number),
    }
}

fn put_quantity(m: &mut Map<String, J>, q: &Quantity<'_>) {
    m.insert("value".into(), number(q));
    if let Some(u) = q.unit {
        m.insert("unit".into(), J::String(u.into()));
    }
}

/// A reading's own `timestamp`, with the text as sent in `raw_timestamp` when it is no time
/// (a placeholder such as `632525252525W`, or a time the errors list as invalid).
fn put_time(m: &mut Map<String, J>, t: &Stamp<'_>, time: &impl Fn(&Stamp<'_>) -> J) {
    m.insert("timestamp".into(), time(t));
    if t.time.is_none() && !t.raw.is_empty() {
        m.insert("raw_timestamp".into(), J::String(t.raw.into()));
    }
}

/// Mark a time that a clock never set gave (shown as sent): sinks store no such time, but
/// the value beside it is real (a placeholder, flagged as such, says both at once).
fn flag_unset_clock(m: &mut Map<String, J>, t: &Stamp<'_>) {
    if t.is_unset_clock() {
        m.insert("unset_clock".into(), J::Bool(true));
    }
}

fn object_json(o: &Object<'_>, time: &impl Fn(&Stamp<'_>) -> J) -> J {
    let mut m = Map::new();
    m.insert("obis".into(), J::String(o.obis.into()));
    m.insert("name".into(), o.name.map_or(J::Null, |n| J::String(n.into())));
    if let Some(ch) = o.channel() {
        m.insert("channel".into(), J::from(ch));
    }
    match &o.value {
        Value::Empty => {
            m.insert("value".into(), J::Null);
        }
        Value::Number(q) => put_quantity(&mut m, q),
        Value::Numbers(qs) => {
            m.insert("value".into(), J::Array(qs.iter().map(number).collect()));
            if let Some(u) = qs.iter().find_map(|q| q.unit) {
                m.insert("unit".into(), J::String(u.into()));
            }
        }
        Value::Text(s) => {
            m.insert("value".into(), J::String((*s).into()));
        }
        Value::Hex(raw) => {
            m.insert("value".into(), J::String(Value::hex_text(raw)));
            m.insert("raw".into(), J::String((*raw).into()));
        }
        Value::Time(s) => {
            m.insert("value".into(), time(s));
            m.insert("raw".into(), J::String(s.raw.into()));
            // A clock that was never set: shown as sent, and marked.
            if s.is_unset_clock() {
                m.insert("placeholder".into(), J::Bool(true));
            }
        }
        Value::Timed { time: t, value } => {
            put_quantity(&mut m, value);
            put_time(&mut m, t, time);
            // A placeholder is flagged as one instead (below).
            if !o.value.is_placeholder() {
                flag_unset_clock(&mut m, t);
            }
        }
        Value::LegacyGas { time: t, value, profile } => {
            put_quantity(&mut m, value);
            put_time(&mut m, t, time);
            if !o.value.is_placeholder() {
                flag_unset_clock(&mut m, t);
            }
            m.insert("status".into(), J::String(profile.status.into()));
            m.insert("period_minutes".into(), profile.period_minutes.map_or(J::Null, J::from));
            m.insert("source_obis".into(), J::String(profile.source.into()));
        }
        Value::EventLog { buffer_type, entries } => {
            m.insert("value".into(), J::from(entries.len()));
            m.insert("buffer_type".into(), J::String((*buffer_type).into()));
            let list = entries
                .iter()
                .map(|e| {
                    let mut em = Map::new();
                    em.insert("timestamp".into(), time(&e.end));
                    em.insert("raw_timestamp".into(), J::String(e.end.raw.into()));
                    put_quantity(&mut em, &e.duration);
                    if e.is_placeholder() {
                        em.insert("placeholder".into(), J::Bool(true));
                    } else {
                        flag_unset_clock(&mut em, &e.end);
                    }
                    J::Object(em)
                })
                .collect();
            m.insert("entries".into(), J::Array(list));
        }
        Value::PeakHistory(peaks) => {
            m.insert("value".into(), J::from(peaks.len()));
            let list = peaks
                .iter()
                .map(|p| {
                    let mut em = Map::new();
                    put_time(&mut em, &p.time, time);
                    em.insert("recorded_at".into(), time(&p.period_start));
                    put_quantity(&mut em, &p.demand);
                    if p.is_placeholder() {
                        em.insert("placeholder".into(), J::Bool(true));
                    } else {
                        flag_unset_clock(&mut em, &p.time);
                    }
                    if let Some(e) = &p.export {
                        let mut xm = Map::new();
                        xm.insert("timestamp".into(), time(&e.time));
                        put_quantity(&mut xm, &e.value);
                        flag_unset_clock(&mut xm, &e.time);
                        em.insert("export".into(), J::Object(xm));
                    }
                    J::Object(em)
                })
                .collect();
            m.insert("entries".into(), J::Array(list));
        }
        Value::Snapshot { time: t, values } => {
            m.insert("value".into(), J::from(values.len()));
            m.insert("timestamp".into(), time(t));
            let list = values
                .iter()
                .map(|q| {
                    let mut em = Map::new();
                    put_quantity(&mut em, q);
                    J::Object(em)
                })
                .collect();
            m.insert("entries".into(), J::Array(list));
        }
        Value::Profile(profile) => {
            let (captures, records) = (&profile.captures, profile.records());
            m.insert("value".into(), J::from(records.len()));
            m.insert("capture_objects".into(), J::Array(captures.iter().map(|c| J::String((*c).into())).collect()));
            let list = records
                .iter()
                .map(|(t, values)| {
                    let mut em = Map::new();
                    em.insert("timestamp".into(), time(t));
                    let values = values
                        .iter()
                        .zip(captures)
                        .map(|(q, c)| {
                            let mut vm = Map::new();
                            vm.insert("obis".into(), J::String((*c).into()));
                            put_quantity(&mut vm, q);
                            J::Object(vm)
                        })
                        .collect();
                    em.insert("values".into(), J::Array(values));
                    J::Object(em)
                })
                .collect();
            m.insert("entries".into(), J::Array(list));
        }
        Value::Raw(groups) => {
            let first = groups.first().copied().unwrap_or("");
            match Value::raw_quantity(first) {
                Some(q) => put_quantity(&mut m, &q),
                None => {
                    m.insert("value".into(), if first.is_empty() { J::Null } else { J::String(first.into()) });
                }
            }
            m.insert("raw".into(), J::Array(groups.iter().map(|g| J::String((*g).into())).collect()));
            m.insert("unknown".into(), J::Bool(true));
        }
    }
    // An M-Bus or DSMR 2.2/3.0 gas reading with no device behind it.
    if o.value.is_placeholder() {
        m.insert("placeholder".into(), J::Bool(true));
    }
    J::Object(m)
}
