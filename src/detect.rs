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
    /// A code DSMR 2.2/3.0 does not have (hourly M-Bus reading 0-n:24.2.1, failure
    /// counters and log, phase voltages) is present.
    pub dsmr4_code: bool,
    /// A tariff register (1-0:1.8.1, 1.8.2, 2.8.1, 2.8.2) is present: Swedish meters send
    /// totals only.
    pub tariff_register: bool,
}

/// What one code tells version detection, decided once per code (the code index keeps it
/// with each id it knows). A clue without a value must also be listed in
/// `Clues::see_set`, which notes those the quick reader finds.
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
    Dsmr4Code,
    TariffRegister,
}

// Every clue has its bit in a `ClueSet` (the last one declared has the highest).
const _: () = assert!((Clue::TariffRegister as u16) < u16::BITS as u16);

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
            (0, 1..=4, 24, 2, 1) | (0, 0, 96, 7, 21) | (0, 0, 96, 7, 9) | (1, 0, 99, 97, 0) | (1, 0, 32, 7, 0) => {
                Clue::Dsmr4Code
            }
            (1, 0, 1 | 2, 8, 1 | 2) => Clue::TariffRegister,
            _ => Clue::None,
        }
    }

    /// The clue's bit in a [`ClueSet`].
    #[inline(always)]
    pub(crate) fn bit(self) -> u16 {
        1 << self as u16
    }
}

/// Clues noted as bits, for the hot loop of the line reader: an `or` per line instead of a
/// jump to the field. The version line's clue, which has a value, is noted in [`Clues`]
/// directly.
pub(crate) type ClueSet = u16;

impl Clues {
    /// Note every clue in `set`, as [`Clues::see`] notes one (none of them has a value).
    pub(crate) fn see_set(&mut self, set: ClueSet) {
        for clue in [
            Clue::BelgianVersion,
            Clue::LogicalName,
            Clue::EquipmentId,
            Clue::Timestamp,
            Clue::ImportTotal,
            Clue::LegacyGas,
            Clue::BelgianGas,
            Clue::Demand,
            Clue::Dsmr4Code,
            Clue::TariffRegister,
        ] {
            if set & clue.bit() != 0 {
                self.see(clue, false, &[]);
            }
        }
    }

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
            Clue::Dsmr4Code => self.dsmr4_code = true,
            Clue::TariffRegister => self.tariff_register = true,
        }
    }
}

/// Whether an id's text carries an F group introduced by `*` (which has at most 3 digits).
pub fn has_star_f_group(obis_text: &str) -> bool {
    let text = obis_text.as_bytes();
    text[text.len().saturating_sub(4)..].contains(&b'*')
}

/// What the header line says, read once per telegram (detection runs twice: on the header
/// alone, then with the clues from the lines).
#[derive(Debug, Clone, Copy, Default)]
pub struct Header {
    fluvius: bool,
    easymeter: bool,
    austria: bool,
    lithuania: bool,
    q3d: bool,
    iskra_ie: bool,
    luxembourg: bool,
    /// E.ON Hungary's Sagemcom (`/SAG5SAG-METER`) or a Holley meter.
    hungary: bool,
}

impl Header {
    /// Compares ASCII letters case-insensitively and allocates nothing.
    pub fn read(header: &str) -> Header {
        let ident = header.as_bytes();
        // The first three bytes, letters lowercased: every flag is three letters, and a byte
        // ORed with 0x20 equals a lowercase letter only when it is that letter in either case.
        let prefix = match ident {
            [a, b, c, ..] => u32::from_le_bytes([a | 0x20, b | 0x20, c | 0x20, 0]),
            _ => 0,
        };
        let flag = |f: &[u8; 3]| prefix == u32::from_le_bytes([f[0] | 0x20, f[1] | 0x20, f[2] | 0x20, 0]);
        let sagemcom = b"SAG5SAG-METER";
        // `Q3D` and `MIE5` anywhere in the identification, looked at closer only where a
        // word-at-a-time scan flags a `Q` or an `M` (a flag that is none is told by `at`).
        let at = |i: usize, pat: &[u8]| ident.get(i..i + pat.len()).is_some_and(|w| w.eq_ignore_ascii_case(pat));
        let (mut q3d, mut mie5) = (false, false);
        let mut words = ident.chunks_exact(8);
        for (k, word) in (&mut words).enumerate() {
            for i in q_or_m(word) {
                q3d |= at(k * 8 + i, b"Q3D");
                mie5 |= at(k * 8 + i, b"MIE5");
            }
        }
        let done = ident.len() - words.remainder().len();
        for (i, &b) in words.remainder().iter().enumerate() {
            match b | 0x20 {
                b'q' => q3d |= at(done + i, b"Q3D"),
                b'm' => mie5 |= at(done + i, b"MIE5"),
                _ => {}
            }
        }
        Header {
            fluvius: flag(b"FLU"),
            // EasyMeter, and eBZ meters with the same layout (`/EBZ5DD3...`).
            easymeter: flag(b"ESY") || flag(b"EBZ"),
            austria: flag(b"EST"),
            lithuania: flag(b"ESO"),
            q3d,
            iskra_ie: mie5,
            luxembourg: flag(b"LUX"),
            // Holley meters (`/HLY5\D545-METER`) are seen in Hungary only, with its layout.
            hungary: (flag(b"SAG") && ident.get(..sagemcom.len()).is_some_and(|h| h.eq_ignore_ascii_case(sagemcom)))
                || flag(b"HLY"),
        }
    }
}

/// The offsets in `word` (eight bytes) of every `Q`, `q`, `M` or `m`, and maybe of a byte
/// just after one: a superset, for the caller to check.
#[inline(always)]
fn q_or_m(word: &[u8]) -> impl Iterator<Item = usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let word = word.try_into().map_or(0, u64::from_le_bytes);
    let lower = word | u64::from_ne_bytes([0x20; 8]);
    let (q, m) = (lower ^ u64::from_ne_bytes([b'q'; 8]), lower ^ u64::from_ne_bytes([b'm'; 8]));
    // A zero byte is a match; the borrow may also flag the byte after one.
    let mut hits = (q.wrapping_sub(ONES) & !q | m.wrapping_sub(ONES) & !m) & HIGHS;
    std::iter::from_fn(move || {
        let i = (hits != 0).then(|| hits.trailing_zeros() as usize / 8)?;
        hits &= hits - 1;
        Some(i)
    })
}

/// Choose the version for one telegram from its header (read once with [`Header::read`]),
/// the clues from its lines and whether it has a CRC.
pub fn detect(h: &Header, clues: &Clues, crc: CrcStatus) -> Version {
    // Before the Belgian clues: ESO meters send 1-0:1.4.0 too.
    if h.lithuania {
        return Version::EsoLithuania;
    }
    if h.fluvius || clues.belgian_version || clues.demand {
        return Version::Belgium;
    }
    // Before the Belgian gas code: an Iskra meter in Iceland reads a heat meter's
    // temperature on 0-1:24.2.3.
    if h.iskra_ie {
        return Version::IskraIe;
    }
    if clues.belgian_gas {
        return Version::Belgium;
    }
    if h.easymeter || (clues.f_group && h.q3d) {
        return Version::Q3d;
    }
    if h.austria {
        return Version::AustriaT210D;
    }
    if h.luxembourg || (clues.logical_name && clues.p1_version.is_some()) {
        return Version::Luxembourg;
    }
    if h.hungary || clues.logical_name {
        return Version::EonHungary;
    }
    match clues.p1_version {
        Some(v) if v >= 50 => return Version::V5,
        Some(_) => return Version::V4,
        None => {}
    }
    // No CRC, no time and nothing DSMR 2.2/3.0 lacks: a DSMR 2.2/3.0 meter. (A snippet of
    // a later telegram without its CRC still reads with the later table.)
    if crc == CrcStatus::Absent && !clues.timestamp && !clues.dsmr4_code {
        return Version::V2_2;
    }
    if clues.legacy_gas {
        return Version::V3;
    }
    // CRC and a timestamp but no P1 version, no meter id and no tariff registers: the
    // Swedish H1 layout. (A Dutch telegram cut down to a few lines keeps its tariffs.)
    if !clues.equipment_id && !clues.tariff_register && clues.import_total {
        return Version::Sweden;
    }
    if clues.timestamp && !clues.equipment_id && !clues.tariff_register && crc != CrcStatus::Absent {
        return Version::Sweden;
    }
    Version::V5
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every clue a table's code gives is noted alike one by one and as a bit: none is
    /// missing from [`Clues::see_set`]'s list.
    #[test]
    fn clue_bits_note_what_clues_note() {
        for version in Version::ALL {
            for row in version.spec().all_rows() {
                let b = match row.b {
                    crate::spec::Channel::Is(b) => b,
                    crate::spec::Channel::MBus => 1,
                };
                let clue = Clue::of(Obis::new(row.a, b, row.c, row.d, row.e));
                if clue == Clue::P1Version {
                    continue;
                }
                let (mut one, mut bits) = (Clues::default(), Clues::default());
                one.see(clue, false, &[]);
                bits.see_set(clue.bit());
                assert_eq!(format!("{one:?}"), format!("{bits:?}"), "{clue:?}");
            }
        }
    }

    #[test]
    fn header_search_ignores_case() {
        assert!(Header::read("/ISK5\\2MIE5T-200").iskra_ie);
        assert!(Header::read("/isk5mie5").iskra_ie);
        assert!(Header::read("MIE5").iskra_ie);
        assert!(!Header::read("/ISK5\\2MIE").iskra_ie);
        assert!(!Header::read("MI").iskra_ie);
        assert!(Header::read("/ESY5Q3DA1004").q3d);
        assert!(Header::read("Q3D").q3d);
        assert!(!Header::read("Q3").q3d);
        // The three-letter flags, in either case.
        for (header, fluvius, easymeter) in
            [("FLU5\\253769484_A", true, false), ("flu5", true, false), ("esy5", false, true)]
        {
            let h = Header::read(header);
            assert_eq!((h.fluvius, h.easymeter), (fluvius, easymeter), "{header}");
        }
        assert!(!Header::read("FL").fluvius);
    }

    /// `Q3D` and `MIE5` are found past the first eight bytes: in a later whole word of the
    /// word-at-a-time scan, and in the bytes left over after the last whole word.
    #[test]
    fn header_search_reads_every_word() {
        // Second word (bytes 8..16).
        assert!(Header::read("ABCDEFGHIJKLMIE5XYZ").iskra_ie);
        assert!(Header::read("ABCDEFGHIJKLQ3DXYZ").q3d);
        // Left over after one whole word, upper and lower case.
        assert!(Header::read("ABCDEFGHIJQ3D").q3d);
        assert!(Header::read("abcdefghijq3d").q3d);
        assert!(Header::read("ABCDEFGHIJmie5").iskra_ie);
        // A `Q` or `M` past the first word that starts no flag.
        assert!(!Header::read("xxxxxxxxxxQ3").q3d);
        assert!(!Header::read("xxxxxxxxMIE4").iskra_ie);
        assert!(!Header::read("MIE5").q3d);
    }
}
