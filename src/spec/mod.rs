//! The OBIS tables, one per specification, as data: which code means what, under which
//! name, in which unit and value shape. Variants are built the way the specs are written,
//! as a parent table plus the rows they add or change (4 = 2.2 + ..., 5 = 4 + ...,
//! 5B = 5 + ...).

mod belgium;
pub mod code_index;
mod dsmr;
mod lithuania;
mod luxembourg;
mod other;
mod reactive;
mod sweden;

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use crate::obis::Obis;
use code_index::CodeIndex;

/// How the value groups of a line are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// One decimal number, usually with a unit: `(000004.426*kWh)`.
    Number,
    /// Several numbers: `(100*A)(-063*A)`.
    Numbers,
    /// Text kept as sent: `(50)`, `(0002)`.
    Text,
    /// A hex-encoded octet string, decoded to text when it is printable.
    HexText,
    /// A meter timestamp: `(101209113020W)`.
    Time,
    /// A value with its own capture time: `(TST)(value*unit)` (M-Bus readings, the
    /// Belgian monthly peak).
    Timed,
    /// DSMR 2.2/3.0 gas: `(TST12)(status)(period)(1)(obis)(unit)` then `(value)` on the
    /// next line.
    LegacyGas,
    /// Power-failure event log: `(n)(0-0:96.7.19)` then n × `(TST end)(duration*s)`.
    EventLog,
    /// Belgian 13-month peak history: `(n)(1-0:1.6.0)(1-0:1.6.0)` then
    /// n × `(TST period start)(TST of peak)(value*kW)`.
    PeakHistory,
    /// A timestamp followed by a list of values with units (E.ON Hungary billing
    /// snapshot `0-0:98.1.0`).
    Snapshot,
    /// A profile generic laid out by its capture objects: `(n)(code)...(code)` then n
    /// records of (TST)(one value per code) (Belgian monthly billing values `0-0:98.1.1`).
    Profile,
}

/// Which channel (value group B) a row applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// Exactly this B.
    Is(u8),
    /// Any M-Bus channel 1..=4; the line belongs to that channel's device.
    MBus,
}

/// What a medium's M-Bus device is; the EN 13757-3 device-type code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Medium {
    Electricity,
    Gas,
    Heat,
    Water,
    HotWater,
    Cooling,
    Other,
}

impl Medium {
    /// Every medium, in the order `dsmrd fields` lists them.
    pub const ALL: [Medium; 7] = [
        Medium::Gas,
        Medium::Water,
        Medium::HotWater,
        Medium::Heat,
        Medium::Cooling,
        Medium::Electricity,
        Medium::Other,
    ];

    /// The medium for an M-Bus device-type code (0-n:24.1.0).
    pub fn from_device_type(code: i64) -> Medium {
        match code {
            2 => Medium::Electricity,
            3 => Medium::Gas,
            4 | 0x0C | 0x0D => Medium::Heat,
            6 | 0x15 => Medium::HotWater,
            7 | 0x16 | 0x17 => Medium::Water,
            0x0A | 0x0B => Medium::Cooling,
            _ => Medium::Other,
        }
    }

    /// The word used in reading names (`water_meter_reading`).
    pub fn word(self) -> &'static str {
        match self {
            Medium::Electricity => "electricity",
            Medium::Gas => "gas",
            Medium::Heat => "heat",
            Medium::Water => "water",
            Medium::HotWater => "hot_water",
            Medium::Cooling => "cooling",
            Medium::Other => "mbus",
        }
    }
}

/// One line of a table: an OBIS code and what it means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    pub a: u8,
    pub b: Channel,
    pub c: u8,
    pub d: u8,
    pub e: u8,
    /// The snake_case name (dsmr_parser's, lower-cased, where it has one).
    pub name: &'static str,
    pub shape: Shape,
    /// The unit the spec gives, for documentation and for units written without `*`.
    pub unit: Option<&'static str>,
    /// One line for the README.
    pub meaning: &'static str,
}

impl Row {
    /// The code as written in the specs (`0-n:24.2.1` for M-Bus rows).
    pub fn code(&self) -> String {
        match self.b {
            Channel::Is(b) => format!("{}-{}:{}.{}.{}", self.a, b, self.c, self.d, self.e),
            Channel::MBus => format!("{}-n:{}.{}.{}", self.a, self.c, self.d, self.e),
        }
    }

    fn lookup_key(&self) -> u64 {
        let b = match self.b {
            Channel::Is(b) => b,
            Channel::MBus => MBUS_WILDCARD,
        };
        Obis::new(self.a, b, self.c, self.d, self.e).key()
    }
}

const MBUS_WILDCARD: u8 = 0xFF;

/// Shorthand used by the table files: a row on a fixed channel.
pub(crate) const fn row(
    code: (u8, u8, u8, u8, u8),
    name: &'static str,
    shape: Shape,
    unit: Option<&'static str>,
    meaning: &'static str,
) -> Row {
    Row { a: code.0, b: Channel::Is(code.1), c: code.2, d: code.3, e: code.4, name, shape, unit, meaning }
}

/// Shorthand used by the table files: a row for any M-Bus channel.
pub(crate) const fn mbus(
    code: (u8, u8, u8, u8),
    name: &'static str,
    shape: Shape,
    unit: Option<&'static str>,
    meaning: &'static str,
) -> Row {
    Row { a: code.0, b: Channel::MBus, c: code.1, d: code.2, e: code.3, name, shape, unit, meaning }
}

/// The telegram formats dsmrd knows. `Auto` is resolved per telegram by [`crate::detect`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// DSMR 2.2 (NL), no CRC, gas on two lines.
    V2_2,
    /// DSMR 3.0 (NL), as 2.2.
    V3,
    /// DSMR 4.x (NL).
    V4,
    /// DSMR 5.x (NL).
    V5,
    /// Belgium, Fluvius e-MUCS H ("5B").
    Belgium,
    /// Luxembourg, Smarty ("5L").
    Luxembourg,
    /// Sweden, H1 port ("5S").
    Sweden,
    /// EasyMeter Q3D through its COM-1 gateway.
    Q3d,
    /// E.ON Hungary (Sagemcom `/SAG5SAG-METER`).
    EonHungary,
    /// Iskra IE.x meters (`MIE5T`, `MIE5E`), as installed in Belgium (Wallonia) and Iceland.
    IskraIe,
    /// Austria, Sagemcom T210-D (Energienetze Steiermark).
    AustriaT210D,
    /// Lithuania, ESO (`/ESO5\…`).
    EsoLithuania,
}

impl Version {
    /// Every version, in the order the README lists them.
    pub const ALL: [Version; 12] = [
        Version::V2_2,
        Version::V3,
        Version::V4,
        Version::V5,
        Version::Belgium,
        Version::Luxembourg,
        Version::Sweden,
        Version::Q3d,
        Version::EonHungary,
        Version::IskraIe,
        Version::AustriaT210D,
        Version::EsoLithuania,
    ];

    /// The short code used on the command line and in the config (`5B`).
    pub fn code(self) -> &'static str {
        match self {
            Version::V2_2 => "2.2",
            Version::V3 => "3",
            Version::V4 => "4",
            Version::V5 => "5",
            Version::Belgium => "5B",
            Version::Luxembourg => "5L",
            Version::Sweden => "5S",
            Version::Q3d => "Q3D",
            Version::EonHungary => "EON_HU",
            Version::IskraIe => "ISKRA_IE",
            Version::AustriaT210D => "T210D_AT",
            Version::EsoLithuania => "ESO_LT",
        }
    }

    /// Whether the meter's clock never switches to summer time (Sweden).
    pub fn always_normal_time(self) -> bool {
        matches!(self, Version::Sweden)
    }

    /// The table for this version.
    pub fn spec(self) -> &'static Spec {
        match self {
            Version::V2_2 | Version::V3 => &dsmr::V2_2,
            Version::V4 => &dsmr::V4,
            Version::V5 => &reactive::V5_REACTIVE,
            Version::Belgium => &belgium::BELGIUM,
            Version::Luxembourg => &luxembourg::LUXEMBOURG,
            Version::Sweden => &sweden::SWEDEN,
            Version::Q3d => &other::Q3D,
            Version::EonHungary => &other::EON_HUNGARY,
            Version::IskraIe => &other::ISKRA_IE_SPEC,
            Version::AustriaT210D => &other::AUSTRIA_T210D,
            Version::EsoLithuania => &lithuania::ESO_LT,
        }
    }

    /// Default serial line settings: (baud, data bits, parity even).
    pub fn serial_defaults(self) -> (u32, u8, bool) {
        match self {
            Version::V2_2 | Version::V3 | Version::Q3d => (9600, 7, true),
            _ => (115_200, 8, false),
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A requested version: a fixed one, or `auto` (detect from each telegram).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VersionChoice {
    #[default]
    Auto,
    Fixed(Version),
}

impl VersionChoice {
    /// Default serial line settings, as [`Version::serial_defaults`]; `auto` assumes a
    /// modern meter (115200 8N1).
    pub fn serial_defaults(self) -> (u32, u8, bool) {
        match self {
            VersionChoice::Fixed(v) => v.serial_defaults(),
            VersionChoice::Auto => Version::V5.serial_defaults(),
        }
    }
}

impl FromStr for VersionChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = s.trim().to_ascii_uppercase().replace(['-', ' '], "_");
        let v = match norm.as_str() {
            "AUTO" => return Ok(VersionChoice::Auto),
            "2.2" | "2" | "V2_2" => Version::V2_2,
            "3" | "3.0" | "V3" => Version::V3,
            "4" | "4.0" | "4.2" | "4+" | "V4" => Version::V4,
            "5" | "5.0" | "V5" => Version::V5,
            "5B" | "BE" | "BELGIUM" | "FLUVIUS" => Version::Belgium,
            "5L" | "LU" | "LUXEMBOURG" | "SMARTY" => Version::Luxembourg,
            "5S" | "SE" | "SWEDEN" => Version::Sweden,
            "Q3D" | "EASYMETER" => Version::Q3d,
            "EON_HU" | "5EONHU" | "HU" | "EON_HUNGARY" => Version::EonHungary,
            "ISKRA_IE" | "IE" => Version::IskraIe,
            "T210D_AT" | "AT" | "AUSTRIA" | "SAGEMCOM_T210_D_R" | "T210D" => Version::AustriaT210D,
            "ESO_LT" | "LT" | "LITHUANIA" | "ESO" | "V5_ESO_LT" => Version::EsoLithuania,
            _ => {
                let known: Vec<&str> = Version::ALL.iter().map(|v| v.code()).collect();
                return Err(format!("unknown DSMR version `{s}`; expected auto or one of {}", known.join(", ")));
            }
        };
        Ok(VersionChoice::Fixed(v))
    }
}

/// A table: its own rows plus everything from its parent that it does not override.
#[derive(Debug)]
pub struct Spec {
    pub name: &'static str,
    pub parent: Option<&'static Spec>,
    pub rows: &'static [Row],
    index: OnceLock<RowIndex>,
    codes: OnceLock<CodeIndex>,
}

/// The rows in effect, keyed by packed OBIS id, in an open-addressing table at most a
/// quarter full: a lookup, on the path of every data line, is one multiply and usually one
/// probe.
#[derive(Debug)]
struct RowIndex {
    slots: Box<[Option<(u64, &'static Row)>]>,
    /// `64 - log2(slots.len())`: the hash is the top bits of the product.
    shift: u32,
}

impl RowIndex {
    fn new(rows: &[&'static Row]) -> RowIndex {
        let len = (rows.len() * 4).next_power_of_two().max(16);
        let mut index = RowIndex { slots: vec![None; len].into_boxed_slice(), shift: 64 - len.trailing_zeros() };
        for &row in rows {
            let key = row.lookup_key();
            let mut i = index.home(key);
            while index.slots[i].is_some() {
                i = (i + 1) & (len - 1);
            }
            index.slots[i] = Some((key, row));
        }
        index
    }

    fn home(&self, key: u64) -> usize {
        (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    fn get(&self, key: u64) -> Option<&'static Row> {
        let mask = self.slots.len() - 1;
        let mut i = self.home(key);
        loop {
            match self.slots[i] {
                Some((k, row)) if k == key => return Some(row),
                Some(_) => i = (i + 1) & mask,
                None => return None,
            }
        }
    }
}

impl Spec {
    pub(crate) const fn new(name: &'static str, parent: Option<&'static Spec>, rows: &'static [Row]) -> Spec {
        Spec { name, parent, rows, index: OnceLock::new(), codes: OnceLock::new() }
    }

    /// Every row in effect, parent rows first, overridden ones removed.
    pub fn all_rows(&'static self) -> Vec<&'static Row> {
        let mut out: Vec<&'static Row> = match self.parent {
            Some(p) => p.all_rows(),
            None => Vec::new(),
        };
        for r in self.rows {
            out.retain(|o| o.lookup_key() != r.lookup_key());
            out.push(r);
        }
        out
    }

    fn index(&'static self) -> &'static RowIndex {
        self.index.get_or_init(|| RowIndex::new(&self.all_rows()))
    }

    /// The row a data line with this id gets: [`Spec::lookup`], and for electricity codes on
    /// measurement channel B = 1 (`1-1:1.8.1`, sent by Swiss and some Sagemcom meters) the
    /// row of the same code on B = 0, unless the table has its own (the Luxembourg
    /// `1-1:31.4.0`).
    pub fn row(&'static self, id: Obis) -> Option<&'static Row> {
        self.lookup(id).or_else(|| if id.a == 1 && id.b == 1 { self.lookup(id.with_b(0)) } else { None })
    }

    /// The id and row of the code written at the start of `line`, when it is written in the
    /// plain form (`1-0:1.8.1(`) and the table knows it: see `code_index::CodeIndex`.
    #[inline]
    pub fn code_at(&'static self, line: &[u8]) -> Option<code_index::Code> {
        self.codes().get(line)
    }

    /// The index [`Spec::code_at`] looks in, for a caller that looks up every line of a
    /// telegram (taken once, its initialisation is not checked again per line).
    #[inline]
    pub(crate) fn codes(&'static self) -> &'static CodeIndex {
        self.codes.get_or_init(|| CodeIndex::new(self))
    }

    /// The row for an id: an exact match first, then the M-Bus row for channels 1..=4.
    pub fn lookup(&'static self, id: Obis) -> Option<&'static Row> {
        let index = self.index();
        if let Some(r) = index.get(id.key()) {
            return Some(r);
        }
        if (1..=4).contains(&id.b) {
            return index.get(id.with_b(MBUS_WILDCARD).key());
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// DSMR 2.2 and 3 meters and the EasyMeter Q3D send at 9600 baud 7E1, later ones at
    /// 115200 8N1 (FACTS.md §1 and its Q3D row); `auto` assumes a later one.
    #[test]
    fn serial_defaults_follow_the_version() {
        for v in Version::ALL {
            let old = matches!(v, Version::V2_2 | Version::V3 | Version::Q3d);
            let expected = if old { (9600, 7, true) } else { (115_200, 8, false) };
            assert_eq!(v.serial_defaults(), expected, "{v}");
            assert_eq!(VersionChoice::Fixed(v).serial_defaults(), expected, "{v}");
        }
        assert_eq!(VersionChoice::Auto.serial_defaults(), (115_200, 8, false));
    }

    #[test]
    fn versions_and_rows_print_as_the_specs_write_them() {
        assert_eq!(Version::Belgium.to_string(), "5B");
        assert_eq!(format!("{}", Version::V2_2), "2.2");
        let rows = Version::V5.spec().all_rows();
        let code_of = |name: &str| rows.iter().find(|r| r.name == name).map(|r| r.code());
        assert_eq!(code_of("hourly_gas_meter_reading").as_deref(), Some("0-n:24.2.1"));
        assert_eq!(code_of("electricity_used_tariff_1").as_deref(), Some("1-0:1.8.1"));
    }

    #[test]
    fn variants_inherit_and_override() {
        let be = Version::Belgium.spec();
        let r = be.lookup(Obis::new(1, 0, 1, 8, 1)).unwrap();
        assert_eq!(r.name, "electricity_used_tariff_1");
        let gas = be.lookup(Obis::new(0, 2, 24, 2, 3)).unwrap();
        assert_eq!(gas.shape, Shape::Timed);
        assert!(Version::V5.spec().lookup(Obis::new(0, 0, 98, 1, 0)).is_none());
        // 0-0:96.1.0 is the meter's own serial (Hungary, Poland), not an M-Bus device's id.
        let serial = Version::V5.spec().lookup(Obis::new(0, 0, 96, 1, 0)).unwrap();
        assert_eq!(serial.name, "equipment_serial_number");
        assert_eq!(Version::V5.spec().lookup(Obis::new(0, 1, 96, 1, 0)).unwrap().name, "equipment_identifier_gas");
    }

    #[test]
    fn names_are_unique_snake_case_per_spec() {
        for v in Version::ALL {
            let rows = v.spec().all_rows();
            for r in &rows {
                assert!(r.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'), "{}", r.name);
            }
            let mut keys: Vec<u64> = rows.iter().map(|r| r.lookup_key()).collect();
            keys.sort_unstable();
            keys.dedup();
            assert_eq!(keys.len(), rows.len(), "{v}");
        }
    }

    #[test]
    fn version_codes_round_trip() {
        for v in Version::ALL {
            assert_eq!(v.code().parse::<VersionChoice>(), Ok(VersionChoice::Fixed(v)));
        }
        assert_eq!("auto".parse::<VersionChoice>(), Ok(VersionChoice::Auto));
        assert!("6".parse::<VersionChoice>().is_err());
    }
}
