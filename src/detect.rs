//! `auto` version detection: picks the table for a telegram from its header, its version
//! lines (`1-3:0.2.8`, `0-0:96.1.4`), whether it has a CRC, and the codes present.

use crate::frame::CrcStatus;
use crate::obis::Obis;
use crate::spec::Version;

/// What the line pass noticed that tells versions apart.
#[derive(Debug, Default, Clone, Copy)]
pub struct Clues {
    /// The value of 1-3:0.2.8, as a number (40, 42, 50).
    pub p1_version: Option<u16>,
    /// 0-0:96.1.4 (Belgian version information) is present.
    pub belgian_version: bool,
    /// 0-0:42.0.0 (COSEM logical device name) is present.
    pub logical_name: bool,
    /// 0-0:96.1.1 (NL/BE equipment id) is present.
    pub equipment_id: bool,
    /// 0-0:1.0.0 (timestamp) is present.
    pub timestamp: bool,
    /// A total register 1-0:1.8.0 is present.
    pub import_total: bool,
    /// An OBIS code was written with an F group (`*255`).
    pub f_group: bool,
    /// A DSMR 2.2/3.0 gas profile 0-n:24.3.0 is present.
    pub legacy_gas: bool,
    /// 0-n:24.2.3 (Belgian gas) is present.
    pub belgian_gas: bool,
    /// 1-0:1.4.0 or 0-0:98.1.0 with a Belgian peak layout is present.
    pub demand: bool,
}

/// What one code tells version detection, decided once per code (the code index keeps it
/// with each id it knows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clue {
    None,
    P1Version,
    BelgianVersion,
    LogicalName,
    EquipmentId,
    Timestamp,
    ImportTotal,
    LegacyGas,
    BelgianGas,
    Demand,
}

impl Clue {
    pub fn of(id: Obis) -> Clue {
        match (id.a, id.b, id.c, id.d, id.e) {
            (1, 3, 0, 2, 8) => Clue::P1Version,
            (0, 0, 96, 1, 4) => Clue::BelgianVersion,
            (0, 0, 42, 0, 0) => Clue::LogicalName,
            (0, 0, 96, 1, 1) => Clue::EquipmentId,
            (0, 0, 1, 0, 0) => Clue::Timestamp,
            (1, 0, 1, 8, 0) => Clue::ImportTotal,
            (0, 1..=4, 24, 3, 0) => Clue::LegacyGas,
            (0, 1..=4, 24, 2, 3) => Clue::BelgianGas,
            (1, 0, 1, 4, 0) => Clue::Demand,
            _ => Clue::None,
        }
    }
}

impl Clues {
    /// Note one data line: what its code says, and whether it was written with an F group.
    #[inline(always)]
    pub fn see(&mut self, clue: Clue, f_group: bool, groups: &[&str]) {
        self.f_group |= f_group;
        match clue {
            Clue::None => {}
            Clue::P1Version => self.p1_version = groups.first().and_then(|g| g.parse().ok()),
            Clue::BelgianVersion => self.belgian_version = true,
            Clue::LogicalName => self.logical_name = true,
            Clue::EquipmentId => self.equipment_id = true,
            Clue::Timestamp => self.timestamp = true,
            Clue::ImportTotal => self.import_total = true,
            Clue::LegacyGas => self.legacy_gas = true,
            Clue::BelgianGas => self.belgian_gas = true,
            Clue::Demand => self.demand = true,
        }
    }
}

/// Whether an id's text carries an F group introduced by `*` (which has at most 3 digits).
pub fn has_star_f_group(obis_text: &str) -> bool {
    let text = obis_text.as_bytes();
    text[text.len().saturating_sub(4)..].contains(&b'*')
}

/// Whether `ident` contains `pat` (given in upper case), ignoring ASCII case: a rolling
/// window over the header, run per telegram.
fn contains_upper(ident: &[u8], pat: &[u8]) -> bool {
    let n = pat.len();
    if n == 0 || n > 8 || ident.len() < n {
        return n == 0;
    }
    let target = pat.iter().fold(0u64, |w, &b| w << 8 | u64::from(b));
    let mask = if n == 8 { u64::MAX } else { (1u64 << (8 * n)) - 1 };
    let mut w = 0u64;
    for (i, &b) in ident.iter().enumerate() {
        w = (w << 8 | u64::from(b.to_ascii_uppercase())) & mask;
        if i + 1 >= n && w == target {
            return true;
        }
    }
    false
}

/// Choose the version for one telegram.
///
/// Compares ASCII letters case-insensitively and allocates nothing: this runs per telegram.
pub fn detect(header: &str, clues: &Clues, crc: CrcStatus) -> Version {
    let ident = header.as_bytes();
    let flag = |f: &str| ident.get(..3).is_some_and(|h| h.eq_ignore_ascii_case(f.as_bytes()));
    let has = |s: &str| contains_upper(ident, s.as_bytes());
    if flag("FLU") || clues.belgian_version || clues.belgian_gas || clues.demand {
        return Version::Belgium;
    }
    if flag("ESY") || (clues.f_group && has("Q3D")) {
        return Version::Q3d;
    }
    if flag("EST") {
        return Version::AustriaT210D;
    }
    if has("MIE5") {
        return Version::IskraIreland;
    }
    if flag("LUX") || (clues.logical_name && clues.p1_version.is_some()) {
        return Version::Luxembourg;
    }
    let sagemcom = b"SAG5SAG-METER";
    if ident.get(..sagemcom.len()).is_some_and(|h| h.eq_ignore_ascii_case(sagemcom)) || clues.logical_name {
        return Version::EonHungary;
    }
    match clues.p1_version {
        Some(v) if v >= 50 => return Version::V5,
        Some(_) => return Version::V4,
        None => {}
    }
    if crc == CrcStatus::Absent && !clues.timestamp {
        return Version::V2_2;
    }
    if clues.legacy_gas {
        return Version::V3;
    }
    // CRC and a timestamp but no P1 version and no meter id: the Swedish H1 layout.
    if !clues.equipment_id && clues.import_total {
        return Version::Sweden;
    }
    if clues.timestamp && !clues.equipment_id && crc != CrcStatus::Absent {
        return Version::Sweden;
    }
    Version::V5
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_search_ignores_case() {
        assert!(contains_upper(b"/ISK5\\2MIE5T-200", b"MIE5"));
        assert!(contains_upper(b"/isk5mie5", b"MIE5"));
        assert!(contains_upper(b"MIE5", b"MIE5"));
        assert!(!contains_upper(b"/ISK5\\2MIE", b"MIE5"));
        assert!(!contains_upper(b"MI", b"MIE5"));
        assert!(contains_upper(b"/ESY5Q3DA1004", b"Q3D"));
    }
}
