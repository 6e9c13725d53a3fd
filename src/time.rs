//! The one place that turns meter time (local civil time plus the `S`/`W` flag) into UTC.
//! Nothing else in dsmrd touches time zones.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, Offset, TimeZone};

use crate::value::{Dst, MeterTime};

/// The zone Dutch, Belgian and Luxembourg meters keep.
pub const DEFAULT_TIMEZONE: &str = "Europe/Amsterdam";

/// Look up an IANA zone name, with a message that says what to do when it is wrong.
pub fn zone(name: &str) -> Result<TimeZone, String> {
    TimeZone::get(name).map_err(|_| format!("unknown time zone `{name}`; use an IANA name such as Europe/Amsterdam"))
}

/// Convert a meter time to UTC.
///
/// The zone's rules decide, as they do for every clock on the wall; the flag (`S`: summer
/// time, the larger offset; `W`: normal time) tells apart the two readings of the repeated
/// autumn hour and says which offset a time in the skipped spring hour was read with. A
/// flag that disagrees with the season elsewhere is not followed: the Iskra IE.5
/// capture from Belgium says `S` in February, and a Belgian spec example says `S` on 1 March, while
/// their clocks keep the zone's time. Without a flag a repeated hour is read
/// as its first pass and a skipped one with the offset from before the change.
///
/// `always_normal_time` is for Swedish meters, which keep normal time all year: a missing
/// flag and `W` mean normal time whatever the season; an explicit `S` is read as any other
/// meter's time (a meter that sends it keeps summer time, whatever the table guessed).
pub fn to_utc(t: MeterTime, tz: &TimeZone, always_normal_time: bool) -> Option<Timestamp> {
    to_utc_in(t, tz, always_normal_time, &mut None)
}

/// A zone's normal offset for one year, kept by a caller that converts many times of a
/// meter on normal time (two zone lookups saved per time).
#[derive(Debug, Clone, Copy)]
pub struct YearOffsets {
    year: i16,
    normal: Offset,
}

/// [`to_utc`], reusing (and updating) the offsets of the year last converted.
pub fn to_utc_in(
    t: MeterTime,
    tz: &TimeZone,
    always_normal_time: bool,
    year: &mut Option<YearOffsets>,
) -> Option<Timestamp> {
    let dt = DateTime::new(t.year, t.month as i8, t.day as i8, t.hour as i8, t.minute as i8, t.second as i8, 0).ok()?;
    let mut offsets = || -> Option<YearOffsets> {
        match *year {
            Some(y) if y.year == t.year => Some(y),
            _ => {
                let y = YearOffsets { year: t.year, normal: normal_offset(tz, t.year)? };
                *year = Some(y);
                Some(y)
            }
        }
    };
    // A meter on normal time all year that says `S` is read as any other (the zone's rules;
    // summer time in the repeated hour).
    let offset = if always_normal_time && t.dst != Dst::Summer {
        offsets()?.normal
    } else {
        match tz.to_ambiguous_timestamp(dt).offset() {
            AmbiguousOffset::Unambiguous { offset } => offset,
            // Summer time is the larger of the two offsets around the change.
            AmbiguousOffset::Fold { before, after } | AmbiguousOffset::Gap { before, after } => {
                let (normal, summer) =
                    if before.seconds() <= after.seconds() { (before, after) } else { (after, before) };
                match t.dst {
                    Dst::Unknown => before,
                    Dst::Summer => summer,
                    Dst::Winter => normal,
                }
            }
        }
    };
    offset.to_timestamp(dt).ok()
}

/// A zone's normal offset in a year: the smaller of its offsets in January and in July.
/// (Not what the tz database marks as no daylight saving: Europe/Dublin's winter is marked
/// so in the database's main form but not in its "rearguard" form, which jiff's bundled copy
/// uses, so that would make the result depend on the host.)
fn normal_offset(tz: &TimeZone, year: i16) -> Option<Offset> {
    let at = |month: i8| -> Option<Offset> {
        let noon = Offset::UTC.to_timestamp(DateTime::new(year, month, 1, 12, 0, 0, 0).ok()?).ok()?;
        Some(tz.to_offset_info(noon).offset())
    };
    let (jan, jul) = (at(1)?, at(7)?);
    Some(if jan.seconds() <= jul.seconds() { jan } else { jul })
}

/// RFC 3339 in UTC with a `Z`, whole seconds: `2010-12-09T10:30:20Z`.
pub fn rfc3339(ts: Timestamp) -> String {
    dsmrd_sinks::rfc3339(ts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str, zone_name: &str, normal: bool) -> String {
        let t = MeterTime::parse(s).unwrap();
        rfc3339(to_utc(t, &zone(zone_name).unwrap(), normal).unwrap())
    }

    #[test]
    fn winter_and_summer() {
        assert_eq!(utc("101209113020W", DEFAULT_TIMEZONE, false), "2010-12-09T10:30:20Z");
        assert_eq!(utc("170702120000S", DEFAULT_TIMEZONE, false), "2017-07-02T10:00:00Z");
    }

    #[test]
    fn the_repeated_autumn_hour_is_told_apart_by_the_flag() {
        // 2023-10-29 02:30 happened twice in Amsterdam.
        assert_eq!(utc("231029023000S", DEFAULT_TIMEZONE, false), "2023-10-29T00:30:00Z");
        assert_eq!(utc("231029023000W", DEFAULT_TIMEZONE, false), "2023-10-29T01:30:00Z");
    }

    #[test]
    fn sweden_stays_on_normal_time() {
        assert_eq!(utc("230715120000W", "Europe/Stockholm", true), "2023-07-15T11:00:00Z");
        assert_eq!(utc("230715120000", "Europe/Stockholm", true), "2023-07-15T11:00:00Z");
        // `S` is read by the zone's rules: no summer time in January.
        assert_eq!(utc("240115120000S", "Europe/Stockholm", true), "2024-01-15T11:00:00Z");
    }

    #[test]
    fn an_explicit_summer_flag_wins_over_normal_time() {
        // A Finnish L+G E360 read with the Swedish table still says S in September.
        assert_eq!(utc("250904163250S", "Europe/Helsinki", true), "2025-09-04T13:32:50Z");
        assert_eq!(utc("170702192002S", DEFAULT_TIMEZONE, true), "2017-07-02T17:20:02Z");
    }

    #[test]
    fn no_flag_uses_the_zone() {
        assert_eq!(utc("090212160000", DEFAULT_TIMEZONE, false), "2009-02-12T15:00:00Z");
        assert_eq!(utc("090712160000", DEFAULT_TIMEZONE, false), "2009-07-12T14:00:00Z");
    }

    #[test]
    fn ireland_keeps_its_zone_and_reads_s_as_irish_summer_time() {
        // The Iskra IE.5 capture (Belgium) flags February `S`: away from the changes the zone's
        // time holds, whatever the flag. In the repeated hour `S` is the summer (first) pass,
        // whichever form of the tz database the host has (they mark Dublin's DST apart).
        assert_eq!(utc("240708193512S", "Europe/Dublin", false), "2024-07-08T18:35:12Z");
        assert_eq!(utc("240708193512W", "Europe/Dublin", false), "2024-07-08T18:35:12Z");
        assert_eq!(utc("240118120000W", "Europe/Dublin", false), "2024-01-18T12:00:00Z");
        assert_eq!(utc("240118120000S", "Europe/Dublin", false), "2024-01-18T12:00:00Z");
        assert_eq!(utc("240118120000", "Europe/Dublin", false), "2024-01-18T12:00:00Z");
        assert_eq!(utc("231029013000S", "Europe/Dublin", false), "2023-10-29T00:30:00Z");
        assert_eq!(utc("231029013000W", "Europe/Dublin", false), "2023-10-29T01:30:00Z");
        assert_eq!(utc("231029013000", "Europe/Dublin", false), "2023-10-29T00:30:00Z");
        let bundled = jiff::tz::TimeZoneDatabase::bundled().get("Europe/Dublin").unwrap();
        let in_bundled = |raw: &str| rfc3339(to_utc(MeterTime::parse(raw).unwrap(), &bundled, false).unwrap());
        assert_eq!(in_bundled("231029013000S"), "2023-10-29T00:30:00Z");
        assert_eq!(in_bundled("231029013000W"), "2023-10-29T01:30:00Z");
    }

    #[test]
    fn a_flag_against_the_season_does_not_move_the_clock() {
        // A Belgian spec example flags 1 March `S`; its peaks are month starts in Brussels.
        assert_eq!(utc("200301000000S", "Europe/Brussels", false), "2020-02-29T23:00:00Z");
        assert_eq!(utc("240115120000S", DEFAULT_TIMEZONE, false), "2024-01-15T11:00:00Z");
        assert_eq!(utc("240715120000W", DEFAULT_TIMEZONE, false), "2024-07-15T10:00:00Z");
    }

    #[test]
    fn the_spring_gap_and_zones_without_summer_time() {
        // 2024-03-31 02:30 never happened in Amsterdam; the flag still says which offset,
        // and without one it is read with the offset from before the change.
        assert_eq!(utc("240331023000W", DEFAULT_TIMEZONE, false), "2024-03-31T01:30:00Z");
        assert_eq!(utc("240331023000S", DEFAULT_TIMEZONE, false), "2024-03-31T00:30:00Z");
        assert_eq!(utc("240331023000", DEFAULT_TIMEZONE, false), "2024-03-31T01:30:00Z");
        assert_eq!(utc("240331015959", DEFAULT_TIMEZONE, false), "2024-03-31T00:59:59Z");
        assert_eq!(utc("240331030000", DEFAULT_TIMEZONE, false), "2024-03-31T01:00:00Z");
        assert_eq!(utc("240715120000W", "UTC", false), "2024-07-15T12:00:00Z");
        assert_eq!(utc("240715120000S", "UTC", false), "2024-07-15T12:00:00Z");
    }

    #[test]
    fn unknown_zone_is_a_clear_error() {
        assert!(zone("Mars/Olympus").unwrap_err().contains("Mars/Olympus"));
    }

    #[test]
    fn kept_year_offsets_give_the_same_instants() {
        let tz = zone(DEFAULT_TIMEZONE).unwrap();
        let mut kept = None;
        for raw in
            ["231231235959W", "240101000000W", "240331030000S", "240701120000S", "220101000000W", "241027020000W"]
        {
            let t = MeterTime::parse(raw).unwrap();
            for normal in [false, true] {
                assert_eq!(to_utc_in(t, &tz, normal, &mut kept), to_utc(t, &tz, normal), "{raw} {normal}");
            }
        }
    }

    /// The kept offsets are a year's: a zone whose normal time moved (Moscow kept UTC+4
    /// all of 2013, UTC+3 in 2015) gets each year's own, back and forth.
    #[test]
    fn kept_year_offsets_follow_the_year() {
        let tz = zone("Europe/Moscow").unwrap();
        let mut kept = None;
        for (raw, utc) in [
            ("130101120000W", "2013-01-01T08:00:00Z"),
            ("150101120000W", "2015-01-01T09:00:00Z"),
            ("150102120000W", "2015-01-02T09:00:00Z"),
            ("130102120000W", "2013-01-02T08:00:00Z"),
        ] {
            let t = MeterTime::parse(raw).unwrap();
            assert_eq!(to_utc_in(t, &tz, true, &mut kept).map(rfc3339).as_deref(), Some(utc), "{raw}");
        }
    }
}
