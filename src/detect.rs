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

impl Clues {
    /// Note one data line.
    pub fn see(&mut self, id: Obis, obis_text: &str, groups: &[&str]) {
        match (id.a, id.b, id.c, id.d, id.e) {
            (1, 3, 0, 2, 8) => {
                self.p1_version = groups.first().and_then(|g| g.parse().ok());
            }
            (0, 0, 96, 1, 4) => self.belgian_version = true,
            (0, 0, 42, 0, 0) => self.logical_name = true,
            (0, 0, 96, 1, 1) => self.equipment_id = true,
            (0, 0, 1, 0, 0) => self.timestamp = true,
            (1, 0, 1, 8, 0) => self.import_total = true,
            (0, 1..=4, 24, 3, 0) => self.legacy_gas = true,
            (0, 1..=4, 24, 2, 3) => self.belgian_gas = true,
            (1, 0, 1, 4, 0) => self.demand = true,
            _ => {}
        }
        // A `*` only ever introduces the F group, which has at most 3 digits.
        let text = obis_text.as_bytes();
        if text[text.len().saturating_sub(4)..].contains(&b'*') {
            self.f_group = true;
        }
    }
}

/// Choose the version for one telegram.
///
/// Compares ASCII letters case-insensitively and allocates nothing: this runs per telegram.
pub fn detect(header: &str, clues: &Clues, crc: CrcStatus) -> Version {
    let ident = header.as_bytes();
    let flag = |f: &str| ident.get(..3).is_some_and(|h| h.eq_ignore_ascii_case(f.as_bytes()));
    let has = |s: &str| ident.windows(s.len()).any(|w| w.eq_ignore_ascii_case(s.as_bytes()));
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
