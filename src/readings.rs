//! The boundary to the sinks: a parsed telegram becomes a [`Reading`] of named values with
//! units and UTC times, so no sink ever sees OBIS syntax.

use std::borrow::Cow;
use std::sync::{Arc, Mutex, MutexGuard};

use jiff::Timestamp;
use jiff::tz::TimeZone;

use dsmrd_sinks::{Field, FieldKind, FieldValue, Reading, SeriesPoint, Text};

use crate::telegram::{CLOCK_IDS, LOCAL_CLOCK_IDS, Object, Quantity, Stamp, Telegram, Value};
use crate::time::{YearOffsets, rfc3339, to_utc_in};
use crate::value::MeterTime;

/// Everything needed to turn telegrams of one source into readings.
#[derive(Debug)]
pub struct ReadingContext {
    pub source: Arc<str>,
    pub tz: TimeZone,
    /// Values that repeat telegram after telegram (ids, tariff, version; the hourly gas
    /// time): converted once, shared after that.
    cache: Mutex<Cache>,
}

#[derive(Debug, Clone, Default)]
struct Cache {
    texts: Ring<(Box<str>, Arc<str>)>,
    times: Ring<(MeterTime, bool, Option<Timestamp>)>,
    /// The zone's offsets in the year last converted.
    year: Option<YearOffsets>,
    /// The kind of table names sent without a unit, by the name's address: the name
    /// alone decides it, and a substring search per field and telegram is not free.
    kinds: Vec<(usize, FieldKind)>,
}

/// Entries kept per cache; a telegram has a handful of texts and times.
const CACHE_SIZE: usize = 16;

/// At most [`CACHE_SIZE`] entries; once full, a new one replaces the oldest.
#[derive(Debug, Clone)]
struct Ring<T> {
    items: Vec<T>,
    next: usize,
}

impl<T> Default for Ring<T> {
    fn default() -> Self {
        Ring { items: Vec::new(), next: 0 }
    }
}

impl<T> Ring<T> {
    fn find(&self, pred: impl Fn(&T) -> bool) -> Option<&T> {
        self.items.iter().find(|x| pred(x))
    }

    fn insert(&mut self, item: T) {
        if self.items.len() < CACHE_SIZE {
            self.items.push(item);
        } else {
            self.items[self.next] = item;
            self.next = (self.next + 1) % CACHE_SIZE;
        }
    }
}

impl ReadingContext {
    pub fn new(source: &str, tz: TimeZone) -> ReadingContext {
        ReadingContext { source: source.into(), tz, cache: Mutex::new(Cache::default()) }
    }

    /// Never contended (one source, one task); a poisoned cache is still a valid cache.
    fn lock(&self) -> MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Cache {
    fn utc(&mut self, m: MeterTime, normal: bool, tz: &TimeZone) -> Option<Timestamp> {
        if let Some((_, _, ts)) = self.times.find(|(k, n, _)| *k == m && *n == normal) {
            return *ts;
        }
        let ts = to_utc_in(m, tz, normal, &mut self.year);
        self.times.insert((m, normal, ts));
        ts
    }

    /// `raw` as shared text, decoded from hex first when `hex`.
    fn text(&mut self, raw: &str, hex: bool) -> FieldValue {
        let key_hex = if hex { 1 } else { 0 };
        if let Some((_, v)) =
            self.texts.find(|(k, _)| k.len() == raw.len() + 1 && k.as_bytes()[0] == key_hex && &k[1..] == raw)
        {
            return FieldValue::Text(v.clone());
        }
        let value: Arc<str> = if hex { Value::hex_text(raw).into() } else { raw.into() };
        let key = format!("{}{raw}", char::from(key_hex)).into_boxed_str();
        self.texts.insert((key, value.clone()));
        FieldValue::Text(value)
    }

    /// [`kind_by_name`], remembered for table names.
    fn kind_by_name(&mut self, name: &Text) -> FieldKind {
        let Cow::Borrowed(static_name) = name else { return kind_by_name(name) };
        let key = static_name.as_ptr() as usize;
        if let Some((_, k)) = self.kinds.iter().find(|(n, _)| *n == key) {
            return *k;
        }
        let kind = kind_by_name(name);
        if self.kinds.len() < 4 * CACHE_SIZE {
            self.kinds.push((key, kind));
        }
        kind
    }
}

/// Convert a telegram; `received` is used as the reading's time when the telegram carries
/// no valid timestamp of its own.
pub fn to_reading(t: &Telegram<'_>, cx: &ReadingContext, received: Timestamp) -> Reading {
    let normal = t.version.always_normal_time();
    // Taken once for the telegram: one source converts on one task.
    let mut cache = cx.lock();
    let cache = &mut *cache;
    let tz = &cx.tz;
    // A meter whose clock was never set (year 2000) says nothing of when: the reading is
    // stamped with the time it arrived rather than filed under 2000.
    let own_time = t.timestamp().filter(|m| !m.from_unset_clock()).and_then(|m| cache.utc(m, normal, tz));
    let utc = |cache: &mut Cache, s: &Stamp<'_>| s.time.and_then(|m| cache.utc(m, normal, tz));
    let mut fields: Vec<Field> = Vec::with_capacity(t.objects.len());
    let mut series = Vec::new();
    // Which objects may repeat an earlier code (a meter fault seen in the field; almost
    // never): a 256-bit filter marks an object whose bit was already set, and only marked
    // ones (about one per telegram, mostly false alarms) pay for the exact check below.
    let mut maybe_repeat = [false; 64];
    {
        let mut seen = [0u64; 4];
        for (idx, o) in t.objects.iter().enumerate() {
            let h = (o.id.key().wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as usize;
            let (word, bit) = (h >> 6, 1u64 << (h & 63));
            if let Some(m) = maybe_repeat.get_mut(idx) {
                *m = seen[word] & bit != 0;
            }
            seen[word] |= bit;
        }
    }
    for (idx, o) in t.objects.iter().enumerate() {
        if CLOCK_IDS.contains(&o.id) || LOCAL_CLOCK_IDS.contains(&o.id) {
            continue;
        }
        let base = field_name(o);
        // Table names are unique per table; only M-Bus devices, unknown codes and a code
        // sent twice can collide, so only they pay for the check.
        let repeat = maybe_repeat.get(idx).copied().unwrap_or(true) && t.objects[..idx].iter().any(|p| p.id == o.id);
        let may_collide = o.name.is_none() || o.channel().is_some() || repeat;
        let mut push =
            |cache: &mut Cache, name: Text, value: FieldValue, unit: Option<&str>, time: Option<Timestamp>| {
                add_field(&mut fields, cache, o, may_collide, name, value, unit, time);
            };

        match &o.value {
            Value::Empty => {}
            Value::Number(q) => push(cache, base, num(q), q.unit, None),
            Value::Numbers(qs) => {
                for (i, q) in qs.iter().enumerate() {
                    push(cache, Cow::Owned(format!("{base}_{}", i + 1)), num(q), q.unit, None);
                }
            }
            Value::Text(s) => {
                let v = cache.text(s, false);
                push(cache, base, v, None, None);
            }
            Value::Hex(raw) => {
                let v = cache.text(raw, true);
                push(cache, base, v, None, None);
            }
            Value::Time(s) => {
                if let Some(ts) = utc(cache, s) {
                    push(cache, base, FieldValue::Text(rfc3339(ts).into()), None, None);
                }
            }
            Value::Timed { .. } | Value::LegacyGas { .. } if o.value.is_placeholder() => {}
            // A reading whose own time comes from a clock never set keeps its value, but
            // not that time (it would be filed under 1999 or 2000).
            Value::Timed { time, value } | Value::LegacyGas { time, value, .. } => {
                let ts = if time.is_unset() { None } else { utc(cache, time) };
                push(cache, base, num(value), value.unit, ts);
            }
            Value::EventLog { entries, .. } => {
                // Fillers, and failures whose end the meter's unset clock does not tell.
                let real = entries.iter().filter(|e| !e.is_placeholder() && !e.end.is_unset());
                let points = real.filter_map(|e| Some(point(base.clone(), utc(cache, &e.end)?, &e.duration)));
                series.extend(points);
            }
            Value::PeakHistory(peaks) => {
                // Months without a peak, and peaks an unset clock dates.
                let real = peaks.iter().filter(|p| !p.is_placeholder() && !p.time.is_unset());
                series.extend(real.filter_map(|p| Some(point(base.clone(), utc(cache, &p.time)?, &p.demand))));
                if peaks.iter().any(|p| p.export.is_some()) {
                    let export: Cow<'static, str> = Cow::Owned(format!("{base}_export"));
                    let exports = peaks.iter().filter_map(|p| p.export.as_ref()).filter(|e| !e.time.is_unset());
                    series.extend(exports.filter_map(|e| Some(point(export.clone(), utc(cache, &e.time)?, &e.value))));
                }
            }
            Value::Snapshot { time, values } => {
                if let Some(ts) = utc(cache, time) {
                    series.extend(numbered_points(&base, ts, values));
                }
            }
            Value::Profile(profile) => {
                for (time, values) in profile.records() {
                    let Some(ts) = utc(cache, &time) else { continue };
                    series.extend(numbered_points(&base, ts, values));
                }
            }
            Value::Raw(groups) => {
                let first = groups.first().copied().unwrap_or("");
                match Value::raw_quantity(first) {
                    Some(q) => push(cache, base, num(&q), q.unit, None),
                    None if !first.is_empty() => {
                        let v = cache.text(first, false);
                        push(cache, base, v, None, None);
                    }
                    None => {}
                }
            }
        }
    }
    Reading {
        source: cx.source.clone(),
        meter_id: match t.meter_id_raw().map(|(raw, hex)| cache.text(raw, hex)) {
            Some(FieldValue::Text(s)) if !s.is_empty() => Some(s),
            // An id that decodes to nothing: look further, as the telegram does.
            _ => t.meter_id().map(Arc::from),
        },
        time: own_time.unwrap_or(received),
        time_from_meter: own_time.is_some(),
        fields,
        series,
    }
}

/// Append one field: its name made unique when it may collide, its unit as text, its kind.
/// (A function, not a closure, so that it can be inlined: one call per field.)
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn add_field(
    fields: &mut Vec<Field>,
    cache: &mut Cache,
    o: &Object<'_>,
    may_collide: bool,
    name: Text,
    value: FieldValue,
    unit: Option<&str>,
    time: Option<Timestamp>,
) {
    let name = if may_collide { unique(fields, name, o) } else { name };
    let (unit, unit_kind) = match unit {
        Some(u) => {
            let (text, kind) = unit_info(u);
            (Some(text), kind)
        }
        None => (None, None),
    };
    let kind = match (&value, unit_kind) {
        (FieldValue::Text(_), _) => FieldKind::Info,
        (_, Some(kind)) => kind,
        _ => cache.kind_by_name(&name),
    };
    fields.push(Field { name, value, unit, kind, time });
}

/// One history entry.
/// The values of one billing snapshot or profile record, as `NAME_1`, `NAME_2`, ... in the
/// order of their capture objects.
fn numbered_points<'v>(
    base: &'v str,
    time: Timestamp,
    values: &'v [Quantity<'_>],
) -> impl Iterator<Item = SeriesPoint> + 'v {
    values.iter().enumerate().map(move |(i, q)| point(Cow::Owned(format!("{base}_{}", i + 1)), time, q))
}

fn point(name: Text, time: Timestamp, q: &Quantity<'_>) -> SeriesPoint {
    SeriesPoint { name, time, value: q.value.to_f64(), unit: q.unit.map(|u| unit_info(u).0) }
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

/// A unit of up to 7 bytes packed with its length into an integer (`u64::MAX` for longer
/// ones), so that telling units apart is an integer compare, not a string compare per field.
const fn unit_key(u: &str) -> u64 {
    let b = u.as_bytes();
    if b.len() > 7 {
        return u64::MAX;
    }
    let mut key = (b.len() as u64) << 56;
    let mut i = 0;
    while i < b.len() {
        key |= (b[i] as u64) << (8 * i);
        i += 1;
    }
    key
}

/// The units meters write, each with how a value in it behaves: registers only grow,
/// instantaneous values may be averaged.
const UNITS: [(&str, FieldKind); 21] = [
    ("kWh", FieldKind::Counter),
    ("kW", FieldKind::Gauge),
    ("V", FieldKind::Gauge),
    ("A", FieldKind::Gauge),
    ("m3", FieldKind::Counter),
    ("s", FieldKind::Counter),
    ("Wh", FieldKind::Counter),
    ("W", FieldKind::Gauge),
    ("kvarh", FieldKind::Counter),
    ("kvar", FieldKind::Gauge),
    ("kVArh", FieldKind::Counter),
    ("kVAr", FieldKind::Gauge),
    ("varh", FieldKind::Counter),
    ("var", FieldKind::Gauge),
    ("VArh", FieldKind::Counter),
    ("VAr", FieldKind::Gauge),
    ("kVA", FieldKind::Gauge),
    ("VA", FieldKind::Gauge),
    ("GJ", FieldKind::Counter),
    ("MJ", FieldKind::Counter),
    ("Hz", FieldKind::Gauge),
];
const UNIT_KEYS: [u64; 21] = {
    let mut keys = [0u64; 21];
    let mut i = 0;
    while i < 21 {
        keys[i] = unit_key(UNITS[i].0);
        i += 1;
    }
    keys
};

/// A unit as text (without an allocation for the known ones) and, when the unit tells,
/// the kind of a value in it. Exact spellings are one integer compare each (what the
/// tables and nearly every meter use); other cases are matched ignoring case.
#[inline(always)]
fn unit_info(u: &str) -> (Text, Option<FieldKind>) {
    let key = unit_key(u);
    if let Some(i) = UNIT_KEYS.iter().position(|&k| k == key) {
        return (Cow::Borrowed(UNITS[i].0), Some(UNITS[i].1));
    }
    let kind = UNITS.iter().find(|(known, _)| known.eq_ignore_ascii_case(u)).map(|(_, k)| *k);
    (Cow::Owned(u.to_string()), kind)
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

/// The kind of a number whose unit does not tell (or that has none), by its name.
fn kind_by_name(name: &str) -> FieldKind {
    if name.ends_with("_count") || name.contains("_reading") || name.contains("electricity_") {
        FieldKind::Counter
    } else if name.contains("power_factor") || name.contains("current_") || name.contains("voltage") {
        FieldKind::Gauge
    } else {
        FieldKind::Info
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
    fn a_meter_whose_clock_was_never_set_is_read_at_the_time_its_telegram_arrived() {
        // An L+G meter after a move (dsmr-reader #1922): its clock runs from 2000-01-01, and
        // so do the ends of the failures it logged since.
        let bytes = telegram(
            "/XMX5LGBBFG1009089532\r\n\r\n1-3:0.2.8(42)\r\n0-0:1.0.0(000101023000W)\r\n\
             1-0:1.8.1(000024.487*kWh)\r\n1-0:99.97.0(2)(0-0:96.7.19)(000101010500W)(0000002216*s)\
             (181103101500W)(0000000120*s)\r\n!",
        );
        let t = parse(&bytes, crate::frame::CrcStatus::Absent, VersionChoice::Auto).unwrap();
        let cx = ReadingContext::new("meter", crate::time::zone("Europe/Amsterdam").unwrap());
        let arrived = Timestamp::from_second(1_700_000_000).unwrap();
        let r = to_reading(&t, &cx, arrived);
        assert_eq!((r.time, r.time_from_meter), (arrived, false));
        assert_eq!(r.number("electricity_used_tariff_1"), Some(24.487));
        // Only the failure whose end the clock tells is kept as a point in time.
        let ends: Vec<String> = r.series.iter().map(|p| format!("{} {}", p.time, p.value)).collect();
        assert_eq!(ends, ["2018-11-03T09:15:00Z 120"]);
    }

    #[test]
    fn unknown_codes_give_the_number_or_text_the_json_shows() {
        let bytes = telegram(
            "/ISK5\\2M550T-1012\r\n\r\n1-3:0.2.8(50)\r\n0-0:1.0.0(190324150541W)\r\n\
             1-0:96.50.1(1A)\r\n1-0:96.50.2(12kWh)\r\n1-0:96.50.3(-063)\r\n1-0:96.50.4(2.5*A)\r\n!",
        );
        let t = parse(&bytes, crate::frame::CrcStatus::Absent, VersionChoice::Auto).unwrap();
        let cx = ReadingContext::new("meter", crate::time::zone("Europe/Amsterdam").unwrap());
        let r = to_reading(&t, &cx, Timestamp::UNIX_EPOCH);
        let field = |name: &str| r.field(name).map(|f| (f.value.clone(), f.unit.as_deref().map(str::to_string)));
        assert_eq!(field("obis_1_0_96_50_1"), Some((FieldValue::Text("1A".into()), None)));
        assert_eq!(field("obis_1_0_96_50_2"), Some((FieldValue::Number(12.0), Some("kWh".into()))));
        assert_eq!(field("obis_1_0_96_50_3"), Some((FieldValue::Number(-63.0), None)));
        assert_eq!(field("obis_1_0_96_50_4"), Some((FieldValue::Number(2.5), Some("A".into()))));
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
        let cx = ReadingContext::new("meter", crate::time::zone("Europe/Amsterdam").unwrap());
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

    #[test]
    fn a_reading_from_an_unset_clock_keeps_its_value_but_not_that_time() {
        let bytes = telegram(
            "/ISK5\\2M550T-1012\r\n\r\n1-3:0.2.8(50)\r\n0-0:1.0.0(190324150541W)\r\n\
             0-1:24.1.0(003)\r\n0-1:24.2.1(000101000000W)(00012.345*m3)\r\n!",
        );
        let t = parse(&bytes, crate::frame::CrcStatus::Absent, VersionChoice::Auto).unwrap();
        let cx = ReadingContext::new("meter", crate::time::zone("Europe/Amsterdam").unwrap());
        let r = to_reading(&t, &cx, Timestamp::UNIX_EPOCH);
        let gas = r.field("hourly_gas_meter_reading").unwrap();
        assert_eq!((gas.value.clone(), gas.time), (FieldValue::Number(12.345), None));
    }

    #[test]
    fn peaks_dated_by_an_unset_clock_are_not_stored() {
        let bytes = telegram(
            "/FLU5\\253769484_A\r\n\r\n0-0:96.1.4(50217)\r\n0-0:1.0.0(200512135409S)\r\n\
             0-0:98.1.0(3)(1-0:1.6.0)(1-0:1.6.0)(200301000000W)(200223192538W)(03.695*kW)\
             (200401000000S)(000101001416W)(04.000*kW)(200501000000S)(200430080000S)(02.500*kW)\r\n!",
        );
        let t = parse(&bytes, crate::frame::CrcStatus::Absent, VersionChoice::Auto).unwrap();
        let cx = ReadingContext::new("meter", crate::time::zone("Europe/Brussels").unwrap());
        let r = to_reading(&t, &cx, Timestamp::UNIX_EPOCH);
        let peaks: Vec<(String, f64)> = r.series.iter().map(|p| (p.time.to_string(), p.value)).collect();
        assert_eq!(peaks, [("2020-02-23T18:25:38Z".to_string(), 3.695), ("2020-04-30T06:00:00Z".to_string(), 2.5)]);
    }

    #[test]
    fn placeholder_mbus_readings_are_not_stored() {
        let bytes = telegram(
            "/ISK5\\2M550T-1012\r\n\r\n1-3:0.2.8(50)\r\n0-0:1.0.0(190324150541W)\r\n\
             0-1:24.1.0(003)\r\n0-1:24.2.1(632525252525W)(00000.000)\r\n\
             0-2:24.1.0(003)\r\n0-2:24.2.1(700101010000W)(00000000)\r\n\
             0-3:24.1.0(003)\r\n0-3:24.2.1(190324150000W)(00012.345*m3)\r\n!",
        );
        let t = parse(&bytes, crate::frame::CrcStatus::Absent, VersionChoice::Auto).unwrap();
        let cx = ReadingContext::new("meter", crate::time::zone("Europe/Amsterdam").unwrap());
        let r = to_reading(&t, &cx, Timestamp::UNIX_EPOCH);
        let gas: Vec<_> = r.fields.iter().filter(|f| f.name.contains("gas_meter_reading")).collect();
        assert_eq!(gas.len(), 1, "{gas:?}");
        assert_eq!(gas[0].value, FieldValue::Number(12.345));
    }

    #[test]
    fn placeholder_legacy_gas_readings_are_not_stored() {
        // DSMR 3.0 meters with no gas meter behind channel 1 or 2 send zeros; channel 3 is real.
        let bytes = telegram(
            "/ISk5\\2MT382-1003\r\n\r\n0-0:96.1.1(5A424556303035303933313935363132)\r\n\
             1-0:1.8.1(00001.001*kWh)\r\n\
             0-1:24.3.0(000000000000)(00)(60)(1)(0-1:24.2.1)(m3)\r\n(00000.000)\r\n\
             0-2:24.3.0(121030140000)(00)(60)(1)(0-2:24.2.1)()\r\n(00000000)\r\n\
             0-3:24.3.0(121030140000)(00)(60)(1)(0-3:24.2.1)(m3)\r\n(00644.287)\r\n!",
        );
        let t = parse(&bytes, crate::frame::CrcStatus::Absent, VersionChoice::Auto).unwrap();
        let flags: Vec<bool> =
            t.objects.iter().filter(|o| o.obis.ends_with("24.3.0")).map(|o| o.value.is_placeholder()).collect();
        assert_eq!(flags, [true, true, false]);
        let cx = ReadingContext::new("meter", crate::time::zone("Europe/Amsterdam").unwrap());
        let r = to_reading(&t, &cx, Timestamp::UNIX_EPOCH);
        let gas: Vec<_> = r.fields.iter().filter(|f| f.name.contains("gas_meter_reading")).collect();
        assert_eq!(gas.len(), 1, "{gas:?}");
        assert_eq!(gas[0].value, FieldValue::Number(644.287));
        assert_eq!(gas[0].time.unwrap().to_string(), "2012-10-30T13:00:00Z");
    }

    #[test]
    fn a_clock_sent_as_time_of_day_and_date_stamps_the_readings() {
        let bytes = telegram(
            "/ISk5\\2MIE5E-200\r\n\r\n1-0:0.9.1(222114)\r\n1-0:0.9.2(240212)\r\n1-0:1.8.0(001988.284*kWh)\r\n!",
        );
        let t = parse(&bytes, crate::frame::CrcStatus::Absent, VersionChoice::Auto).unwrap();
        let cx = ReadingContext::new("meter", crate::time::zone("Atlantic/Reykjavik").unwrap());
        let r = to_reading(&t, &cx, Timestamp::UNIX_EPOCH);
        assert_eq!(r.time.to_string(), "2024-02-12T22:21:14Z");
        assert_eq!(r.number("electricity_imported_total"), Some(1988.284));
        assert!(r.fields.iter().all(|f| !f.name.starts_with("local_")), "{:?}", r.fields);
    }

    #[test]
    fn a_code_sent_twice_keeps_both_values_under_distinct_names() {
        let bytes = telegram(
            "/ISK5\\2M550T-1012\r\n\r\n1-3:0.2.8(50)\r\n0-0:1.0.0(190324150541W)\r\n\
             1-0:1.8.1(000001.000*kWh)\r\n1-0:1.7.0(00.433*kW)\r\n1-0:1.8.1(000002.000*kWh)\r\n!",
        );
        let t = parse(&bytes, crate::frame::CrcStatus::Absent, VersionChoice::Auto).unwrap();
        let cx = ReadingContext::new("meter", crate::time::zone("Europe/Amsterdam").unwrap());
        let r = to_reading(&t, &cx, Timestamp::UNIX_EPOCH);
        assert_eq!(r.number("electricity_used_tariff_1"), Some(1.0));
        assert_eq!(r.number("electricity_used_tariff_1_7"), Some(2.0), "{:?}", r.fields);
        assert_eq!(r.number("current_electricity_usage"), Some(0.433));
    }

    /// The caches are keyed by everything that decides the value: a text's raw form and
    /// whether it is hex, a time and whether the meter keeps normal time all year, a
    /// name's identity; each value read again from the cache is the one first computed.
    #[test]
    fn the_caches_never_give_one_value_for_another() {
        let tz = crate::time::zone("Europe/Amsterdam").unwrap();
        let mut cache = Cache::default();
        let text = |v: FieldValue| match v {
            FieldValue::Text(t) => t.to_string(),
            FieldValue::Number(n) => panic!("a number: {n}"),
        };
        for _ in 0..2 {
            assert_eq!(text(cache.text("4142", false)), "4142");
            assert_eq!(text(cache.text("4142", true)), "AB");
            assert_eq!(text(cache.text("4143", false)), "4143");
            assert_eq!(text(cache.text("414", false)), "414");
            assert_eq!(text(cache.text("41424", false)), "41424");
        }
        // A `W` in July: the zone's summer time for a Dutch meter, normal time for a
        // Swedish one.
        let july = MeterTime::parse("240701120000W").unwrap();
        for _ in 0..2 {
            assert_eq!(cache.utc(july, false, &tz).map(rfc3339).as_deref(), Some("2024-07-01T10:00:00Z"));
            assert_eq!(cache.utc(july, true, &tz).map(rfc3339).as_deref(), Some("2024-07-01T11:00:00Z"));
        }
        // More times than the cache holds, each converted right, then the first again.
        for minute in 0..(2 * CACHE_SIZE as u32) {
            let m = MeterTime::parse(&format!("2407011200{minute:02}W")).unwrap();
            let utc = format!("2024-07-01T10:00:{minute:02}Z");
            assert_eq!(cache.utc(m, false, &tz).map(rfc3339), Some(utc));
        }
        assert_eq!(cache.utc(july, true, &tz).map(rfc3339).as_deref(), Some("2024-07-01T11:00:00Z"));
        let names: [&'static str; 3] = ["short_power_failure_count", "instantaneous_power_factor", "text_message"];
        for _ in 0..2 {
            let kinds: Vec<FieldKind> = names.iter().map(|n| cache.kind_by_name(&Cow::Borrowed(*n))).collect();
            assert_eq!(kinds, [FieldKind::Counter, FieldKind::Gauge, FieldKind::Info]);
        }
    }

    #[test]
    fn snapshots_peaks_ids_and_unknown_lines_become_fields_and_points() {
        let reading = |header: &str, lines: &[&str]| {
            let body = format!("{header}\r\n\r\n{}\r\n!", lines.join("\r\n"));
            let bytes = telegram(&body);
            let t = parse(&bytes, crate::frame::CrcStatus::Absent, VersionChoice::Auto).unwrap();
            let cx = ReadingContext::new("meter", crate::time::zone("Europe/Budapest").unwrap());
            to_reading(&t, &cx, Timestamp::UNIX_EPOCH)
        };
        let points_of = |r: &Reading| -> Vec<String> {
            r.series.iter().map(|p| format!("{} {} {}", p.name, p.time, p.value)).collect()
        };
        let r = reading(
            "/SAG5SAG-METER",
            &[
                // An id of spaces says nothing: the next id is the meter's.
                "0-0:42.0.0(20202020)",
                "0-0:96.1.0(3132333435)",
                "0-0:1.0.0(230715120000S)",
                "0-0:96.14.0(0001)",
                "0-0:98.1.0(230701000000S)(000040.777*kWh)(000008.950*kWh)",
                "0-0:96.99.9()",
                "0-0:96.99.8(abc)",
            ],
        );
        assert_eq!(r.meter_id.as_deref(), Some("12345"));
        let tariff = r.field("electricity_active_tariff").expect("tariff");
        assert_eq!((&tariff.value, tariff.kind), (&FieldValue::Text("0001".into()), FieldKind::Info));
        assert_eq!(r.field("obis_0_0_96_99_8").map(|f| f.value.clone()), Some(FieldValue::Text("abc".into())));
        assert!(r.field("obis_0_0_96_99_9").is_none(), "{:?}", r.fields);
        let points = points_of(&r);
        assert!(!r.fields.iter().any(|f| f.name.starts_with("last_month")), "a snapshot is points, not a field");
        assert_eq!(
            points,
            ["last_month_data_1 2023-06-30T22:00:00Z 40.777", "last_month_data_2 2023-06-30T22:00:00Z 8.95"]
        );
        // A Belgian peak history: each month's peak and export peak, but no export peak an
        // unset clock dates.
        let r = reading(
            "/FLU5\\253769484_A",
            &[
                "0-0:96.1.4(50217)",
                "0-0:1.0.0(250716100010S)",
                "0-0:98.1.0(2)(0-0:0.1.0)(1-0:1.6.0)(1-0:1.6.0)(1-0:2.6.0)(1-0:2.6.0)(250601000000S)(14)(250504084500S)(02.452*kW)(250529150000S)(01.111*kW)(250701000000S)(15)(250604084500S)(01.452*kW)(000101150000W)(01.633*kW)",
            ],
        );
        let points = points_of(&r);
        assert_eq!(
            points,
            [
                "belgium_maximum_demand_13_months 2025-05-04T06:45:00Z 2.452",
                "belgium_maximum_demand_13_months 2025-06-04T06:45:00Z 1.452",
                "belgium_maximum_demand_13_months_export 2025-05-29T13:00:00Z 1.111",
            ]
        );
    }

    #[test]
    fn units_tell_the_kind_in_any_case_and_unknown_ones_leave_it_to_the_name() {
        assert_eq!(unit_info("kWh"), (Cow::Borrowed("kWh"), Some(FieldKind::Counter)));
        assert_eq!(unit_info("kwh"), (Cow::Owned("kwh".to_string()), Some(FieldKind::Counter)));
        assert_eq!(unit_info("kVAr"), (Cow::Borrowed("kVAr"), Some(FieldKind::Gauge)));
        assert_eq!(unit_info("°C"), (Cow::Owned("°C".to_string()), None));
        assert_eq!(unit_info("kWhkWhkWh").1, None);
        assert_eq!(kind_by_name("voltage_sag_l1_count"), FieldKind::Counter);
        assert_eq!(kind_by_name("instantaneous_voltage_l1"), FieldKind::Gauge);
        assert_eq!(kind_by_name("text_message"), FieldKind::Info);
        assert_eq!(kind_by_name("hourly_gas_meter_reading"), FieldKind::Counter);
        assert_eq!(kind_by_name("electricity_imported_total"), FieldKind::Counter);
        // The units meters write are matched without an allocation.
        for (unit, _) in UNITS {
            assert!(matches!(unit_info(unit).0, Cow::Borrowed(_)), "{unit}");
        }
    }
}
