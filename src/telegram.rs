//! The typed telegram: what a frame means once its version is known. Values borrow from
//! the frame, so parsing copies no text.

use std::borrow::Cow;

use crate::frame::CrcStatus;
use crate::obis::Obis;
use crate::spec::{Medium, Version};
use crate::value::{Decimal, MeterTime, decode_hex_text};

/// A number with the unit the meter wrote (`None` when it wrote none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity<'a> {
    pub value: Decimal,
    pub unit: Option<&'a str>,
}

/// A meter timestamp together with the text it came from (kept for placeholders such as
/// `632525252525W`, which do not parse as a time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp<'a> {
    pub time: Option<MeterTime>,
    pub raw: &'a str,
}

impl Stamp<'_> {
    /// No time, or a time from a clock that was never set: one that starts from its default
    /// (1 January 2000 or 1970) and runs on from there, as unused records, unreachable
    /// devices and a meter whose clock was reset (after a move, dsmr-reader #1922) carry. No
    /// P1 meter existed before 2001, so any earlier year is such a clock.
    pub fn is_unset(&self) -> bool {
        self.time.is_none_or(|t| t.from_unset_clock())
    }

    /// A valid time read from a clock that was never set: what `0-0:1.0.0` carries after a
    /// move, shown as sent and marked placeholder.
    pub fn is_unset_clock(&self) -> bool {
        self.time.is_some() && self.is_unset()
    }
}

/// One entry of the power-failure log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureEntry<'a> {
    /// When the failure ended.
    pub end: Stamp<'a>,
    /// How long it lasted.
    pub duration: Quantity<'a>,
}

impl FailureEntry<'_> {
    /// Whether this is the filler of an empty log rather than a failure: an unset time
    /// with a zero or all-ones duration (`(000101000001W)(2147483647*s)`, as Kaifa meters
    /// send it).
    pub fn is_placeholder(&self) -> bool {
        self.end.is_unset() && matches!(self.duration.value.to_i64(), Some(0 | 2_147_483_647 | 4_294_967_295))
    }
}

/// One month of the Belgian peak history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peak<'a> {
    /// Start of the month the peak belongs to.
    pub period_start: Stamp<'a>,
    /// When the import peak happened.
    pub time: Stamp<'a>,
    pub demand: Quantity<'a>,
    /// The export peak of the same month, on meters that capture it (1-0:2.6.0).
    pub export: Option<Demand<'a>>,
}

impl Peak<'_> {
    /// Whether this is the filler of a month without a peak: a zero at no time
    /// (`(632525252525W)(00.000*kW)`, as Fluvius meters send it) or at the time of a clock
    /// never set. Sinks store no point for it.
    pub fn is_placeholder(&self) -> bool {
        self.time.is_unset() && self.demand.value.mantissa == 0
    }
}

/// A demand peak with its time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Demand<'a> {
    pub time: Stamp<'a>,
    pub value: Quantity<'a>,
}

/// The value of one data line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    /// `()`: the meter sent no data.
    Empty,
    Number(Quantity<'a>),
    Numbers(Vec<Quantity<'a>>),
    /// Text as sent.
    Text(&'a str),
    /// A hex-encoded octet string; see [`Value::hex_text`].
    Hex(&'a str),
    Time(Stamp<'a>),
    /// A value with its own capture time (M-Bus readings, monthly peak).
    Timed {
        time: Stamp<'a>,
        value: Quantity<'a>,
    },
    /// DSMR 2.2/3.0 gas reading (what else its profile line says is boxed: see [`Object`]).
    LegacyGas {
        time: Stamp<'a>,
        value: Quantity<'a>,
        profile: Box<GasProfile<'a>>,
    },
    EventLog {
        buffer_type: &'a str,
        entries: Vec<FailureEntry<'a>>,
    },
    PeakHistory(Vec<Peak<'a>>),
    Snapshot {
        time: Stamp<'a>,
        values: Vec<Quantity<'a>>,
    },
    /// A profile generic (boxed: see [`Object`]).
    Profile(Box<Profile<'a>>),
    /// A code the table does not know: its value groups as sent.
    Raw(Vec<&'a str>),
}

/// The rest of a DSMR 2.2/3.0 gas profile line: `(status)(period)(1)(source)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GasProfile<'a> {
    pub status: &'a str,
    pub period_minutes: Option<u32>,
    pub source: &'a str,
}

/// A profile generic: the codes each record captures, each record's time, and its values,
/// one per code, record after record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile<'a> {
    pub captures: Vec<&'a str>,
    pub times: Vec<Stamp<'a>>,
    pub values: Vec<Quantity<'a>>,
}

impl<'a> Profile<'a> {
    /// Each record's time with its values, one per capture object.
    pub fn records(&self) -> Vec<(Stamp<'a>, &[Quantity<'a>])> {
        if self.captures.is_empty() {
            return Vec::new();
        }
        self.times.iter().copied().zip(self.values.chunks_exact(self.captures.len())).collect()
    }
}

impl Value<'_> {
    /// Whether this is the placeholder an unreachable or unconfigured M-Bus device leaves
    /// instead of a reading: a value without unit next to a time that is no time or next to
    /// a zero (`(632525252525W)(00000.000)`, `(700101010000W)(00000000)`), or a zero, with
    /// or without unit, next to no time or the clock's default (`(000101000000W)(00000.000*m3)`).
    /// The same holds for a DSMR 2.2/3.0 gas reading (`0-1:24.3.0`) with no device behind it.
    /// Sinks store no reading for it (a gas counter would drop to 0); `parse` shows it as sent.
    pub fn is_placeholder(&self) -> bool {
        match self {
            Value::Timed { time, value } | Value::LegacyGas { time, value, .. } => {
                let zero = value.value.mantissa == 0;
                (value.unit.is_none() && (time.time.is_none() || zero)) || (zero && time.is_unset())
            }
            _ => false,
        }
    }

    /// The first group of a line the table does not know, read as a number when it is one:
    /// `12.5*kWh`, `12.5kWh` (a known unit without `*`, as some Fluvius meters write units),
    /// `-063`. One byte in hex stays text even when it ends in a unit's letter (`1A`, a
    /// status byte as Hager meters send it, is no ampere; `999A`, `005A` are amperes).
    pub fn raw_quantity(first: &str) -> Option<Quantity<'_>> {
        let (num, unit) = match first.split_once('*') {
            // Only a unit-shaped text after the `*`: `100.0*A,-100.0*A` (two thresholds in
            // one group) is text, not 100 in the unit `A,-100.0*A`.
            Some((n, u)) => match u.trim() {
                "" => (n, None),
                u if crate::value::is_unit_shaped(u) => (n, Some(u)),
                _ => return None,
            },
            None => {
                let split = first.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(first.len());
                let unit = &first[split..];
                // `YYMMDDhhmmssX` (a time, or a placeholder like `632525252525W`) is text.
                let time_like = split == 12 && matches!(unit, "S" | "W" | "s" | "w");
                let hex = !unit.is_empty() && first.len() == 2 && first.bytes().all(|b| b.is_ascii_hexdigit());
                let plausible = !time_like && !hex && (unit.is_empty() || crate::value::is_known_unit(unit));
                if !plausible {
                    return None;
                }
                (&first[..split], Some(unit).filter(|u| !u.is_empty()))
            }
        };
        Decimal::parse(num.trim()).map(|value| Quantity { value, unit })
    }

    /// A hex-encoded string decoded to text, or the raw text when it does not decode to
    /// printable characters (some meters send plain ids on hex codes) or only to NUL bytes
    /// (`00000000000000`: plain digits as likely as hex). The blanks meters pad ids and
    /// messages with (`204B4136...`, `...2020202020`) are trimmed; the hex keeps them.
    pub fn hex_text(raw: &str) -> String {
        match decode_hex_text(raw) {
            Some(text) if !text.is_empty() => text.trim().to_string(),
            _ => raw.to_string(),
        }
    }
}

/// The name of the Belgian M-Bus device control state (`0-n:96.3.10`).
pub const MBUS_CONTROL_STATE: &str = "mbus_control_state";

/// The codes that carry the telegram's own time: 0-0:1.0.0, as every DSMR meter writes it,
/// and 0-0:1.1.0, as Warmtelink heat interfaces do.
pub const CLOCK_IDS: [Obis; 2] = [Obis::new(0, 0, 1, 0, 0), Obis::new(0, 0, 1, 1, 0)];

/// The clock as local time of day (`1-0:0.9.1`) and local date (`1-0:0.9.2`), which some
/// meters send instead of [`CLOCK_IDS`].
pub const LOCAL_CLOCK_IDS: [Obis; 2] = [Obis::new(1, 0, 0, 9, 1), Obis::new(1, 0, 0, 9, 2)];

/// One parsed data line. Kept within 128 bytes (the rare large values are boxed): a
/// telegram's objects are written one by one in the parser's hot loop, and a larger object
/// is copied in by a `memcpy` call instead of a few vector stores (about 700 instructions
/// more per DSMR 5 telegram).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object<'a> {
    /// The code exactly as the telegram wrote it (`1-0:1.8.0*255` stays that way).
    pub obis: &'a str,
    pub id: Obis,
    /// 1-based line number within the telegram (the header is line 1).
    pub line: u32,
    /// The snake_case name, `None` for codes the table does not know.
    pub name: Option<&'static str>,
    pub value: Value<'a>,
}

impl Object<'_> {
    /// The M-Bus channel this line belongs to, if it is an M-Bus device line: one of the
    /// per-device codes, or a Belgian meter's control state of the device on channel n
    /// (`0-n:96.3.10`, which Luxembourg uses for the meter's own relays 1 and 2).
    pub fn channel(&self) -> Option<u8> {
        let belgian_control = (self.id.c, self.id.d, self.id.e) == (96, 3, 10) && self.name == Some(MBUS_CONTROL_STATE);
        (is_mbus_code(self.id) || belgian_control).then_some(self.id.b)
    }
}

/// Whether an id is one of the per-device M-Bus codes on channels 1..=4 (device type,
/// ids, readings, valve), as opposed to, say, Smarty relays on 0-1:96.3.10.
pub fn is_mbus_code(id: Obis) -> bool {
    (1..=4).contains(&id.b)
        && id.a == 0
        && matches!((id.c, id.d, id.e), (24, _, _) | (96, 1, 0) | (96, 1, 1) | (96, 1, 2))
}

/// A data line that could not be read; the rest of the telegram still is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError<'a> {
    pub line: u32,
    pub text: &'a str,
    pub reason: String,
}

/// Where a meter's own id can be, in order of preference: equipment identifier, the
/// Luxembourg / Hungarian device name, the Hungarian / Iskra IE.x serial, the Q3D serial and
/// ownership number.
const METER_IDS: [Obis; 5] = [
    Obis::new(0, 0, 96, 1, 1),
    Obis::new(0, 0, 42, 0, 0),
    Obis::new(0, 0, 96, 1, 0),
    Obis::new(0, 0, 96, 1, 255),
    Obis::new(1, 0, 0, 0, 0),
];

/// One M-Bus device, gathered from the lines of its channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MBusDevice<'t, 'a> {
    pub channel: u8,
    pub device_type: Option<i64>,
    pub medium: Option<Medium>,
    pub equipment_id: Option<String>,
    /// Every line of this channel, in telegram order.
    pub objects: Vec<&'t Object<'a>>,
}

/// A parsed telegram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Telegram<'a> {
    /// The identification line, without the leading `/` (owned only in the rare case of a
    /// header with bytes that are no UTF-8, read as Latin-1).
    pub header: Cow<'a, str>,
    pub version: Version,
    pub crc: CrcStatus,
    pub objects: Vec<Object<'a>>,
    pub errors: Vec<LineError<'a>>,
    /// Whether the frame arrived encrypted (and was decrypted).
    pub encrypted: bool,
}

impl<'a> Telegram<'a> {
    /// Whether a version line says a format that always ends in a CRC: DSMR 4 or 5
    /// (`1-3:0.2.8(40)` to `(59)`) or Belgian e-MUCS (`0-0:96.1.4`).
    pub fn declares_crc(&self) -> bool {
        self.objects.iter().any(|o| match (o.id, &o.value) {
            (id, Value::Text(v)) if id == Obis::new(1, 3, 0, 2, 8) => matches!(v.as_bytes(), [b'4' | b'5', _]),
            (id, Value::Text(_) | Value::Hex(_)) => id == Obis::new(0, 0, 96, 1, 4),
            _ => false,
        })
    }

    /// Whether the telegram's last line is one that could not be read: where a byte
    /// changed into `!` cut a line short (`1-0:32.7.0(236.1*V!`).
    pub fn last_line_broken(&self) -> bool {
        let last_error = self.errors.iter().map(|e| e.line).max();
        let last_object = self.objects.iter().map(|o| o.line).max();
        last_error.is_some_and(|e| last_object.is_none_or(|o| e > o))
    }

    /// The first object with this id.
    pub fn get(&self, id: Obis) -> Option<&Object<'a>> {
        self.objects.iter().find(|o| o.id == id)
    }

    /// The first object with this name.
    pub fn by_name(&self, name: &str) -> Option<&Object<'a>> {
        self.objects.iter().find(|o| o.name == Some(name))
    }

    /// The number under a name, if it is one.
    pub fn number(&self, name: &str) -> Option<Decimal> {
        match &self.by_name(name)?.value {
            Value::Number(q) | Value::Timed { value: q, .. } | Value::LegacyGas { value: q, .. } => Some(q.value),
            _ => None,
        }
    }

    /// The telegram's own timestamp (0-0:1.0.0, or 0-0:1.1.0 where a Warmtelink heat
    /// interface writes it), when it has a valid one.
    pub fn timestamp(&self) -> Option<MeterTime> {
        CLOCK_IDS
            .iter()
            .find_map(|&id| match self.get(id)?.value {
                Value::Time(s) => s.time,
                _ => None,
            })
            .or_else(|| self.local_clock())
    }

    /// Whether the meter's own clock was never set (it runs from its default, 2000 or 1970):
    /// its time is shown as sent, and sinks stamp the readings with their arrival instead.
    pub fn clock_never_set(&self) -> bool {
        self.timestamp().is_some_and(|time| time.from_unset_clock())
    }

    /// The time made from `1-0:0.9.2` (`YYMMDD`) and `1-0:0.9.1` (`hhmmss`), local time
    /// without a DST flag, for meters that send their clock that way only.
    fn local_clock(&self) -> Option<MeterTime> {
        let text = |id| match self.get(id)?.value {
            Value::Text(s) if s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit()) => Some(s),
            _ => None,
        };
        let (date, time) = (text(LOCAL_CLOCK_IDS[1])?, text(LOCAL_CLOCK_IDS[0])?);
        let mut both = [0u8; 12];
        both[..6].copy_from_slice(date.as_bytes());
        both[6..].copy_from_slice(time.as_bytes());
        MeterTime::parse(std::str::from_utf8(&both).ok()?)
    }

    /// The meter's own id: equipment identifier, or the Luxembourg / Hungarian device
    /// name, or the Q3D serial.
    pub fn meter_id(&self) -> Option<String> {
        METER_IDS.iter().find_map(|id| match &self.get(*id)?.value {
            Value::Hex(raw) => Some(Value::hex_text(raw)).filter(|s| !s.is_empty()),
            Value::Text(t) => Some((*t).to_string()),
            _ => None,
        })
    }

    /// The text [`Telegram::meter_id`] is made from, undecoded, and whether it is hex; for
    /// callers that cache the decoding.
    pub fn meter_id_raw(&self) -> Option<(&'a str, bool)> {
        METER_IDS.iter().find_map(|id| match &self.get(*id)?.value {
            Value::Hex(raw) => Some((*raw, true)),
            Value::Text(t) => Some((*t, false)),
            _ => None,
        })
    }

    /// The M-Bus devices, grouped by channel, in channel order.
    pub fn mbus_devices(&self) -> Vec<MBusDevice<'_, 'a>> {
        let mut devices: Vec<MBusDevice<'_, 'a>> = Vec::new();
        for o in &self.objects {
            // Devices are what the device lines tell of; a control state alone makes none.
            let Some(channel) = is_mbus_code(o.id).then_some(o.id.b) else { continue };
            let idx = match devices.iter().position(|d| d.channel == channel) {
                Some(i) => i,
                None => {
                    devices.push(MBusDevice {
                        channel,
                        device_type: None,
                        medium: None,
                        equipment_id: None,
                        objects: Vec::new(),
                    });
                    devices.len() - 1
                }
            };
            let d = &mut devices[idx];
            match (o.id.c, o.id.d, o.id.e, &o.value) {
                (24, 1, 0, Value::Number(q)) => {
                    d.device_type = q.value.to_i64();
                    d.medium = d.device_type.map(Medium::from_device_type);
                }
                (96, 1, 0 | 1, Value::Hex(raw)) => d.equipment_id = Some(Value::hex_text(raw)),
                _ => {}
            }
            d.objects.push(o);
        }
        devices.sort_by_key(|d| d.channel);
        devices
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_stays_within_128_bytes() {
        assert!(std::mem::size_of::<Object<'_>>() <= 128, "{}", std::mem::size_of::<Object<'_>>());
    }

    #[test]
    fn an_unknown_codes_value_is_a_number_only_when_it_reads_as_one() {
        let q = |s| Value::raw_quantity(s).map(|q| (q.value.to_f64(), q.unit));
        assert_eq!(q("12.5*kWh"), Some((12.5, Some("kWh"))));
        assert_eq!(q("12kWh"), Some((12.0, Some("kWh"))));
        assert_eq!(q("230V"), Some((230.0, Some("V"))));
        assert_eq!(q("-063"), Some((-63.0, None)));
        assert_eq!(q("12"), Some((12.0, None)));
        assert_eq!(q("10*A"), Some((10.0, Some("A"))));
        assert_eq!(q("999A"), Some((999.0, Some("A"))));
        assert_eq!(q("005A"), Some((5.0, Some("A"))));
        // A hex byte that ends in a unit's letter, a time, a firmware signature: text.
        assert_eq!(q("1A"), None);
        assert_eq!(q("190320181403W"), None);
        assert_eq!(q("24408DB2"), None);
        // Text after the `*` that is no unit: the group stays text.
        assert_eq!(q("100.0*A,-100.0*A"), None);
        assert_eq!(q("1.5*kW*x"), None);
        assert_eq!(q("1.5*kW h"), None);
        assert_eq!(q("1.5*"), Some((1.5, None)));
        assert_eq!(q("3*m3/h"), Some((3.0, Some("m3/h"))));
    }
}
