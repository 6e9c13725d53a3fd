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
/// The flag decides between the two readings of the repeated autumn hour (`S` is the first,
/// `W` the second) and wins when it disagrees with the zone's rules: a meter that says `W`
/// in July keeps normal time (Swedish meters always do; `always_normal_time` forces that
/// even when the flag is missing). Without a flag the zone's rules decide, taking the
/// earlier instant of a repeated hour.
pub fn to_utc(t: MeterTime, tz: &TimeZone, always_normal_time: bool) -> Option<Timestamp> {
    let dt = DateTime::new(t.year, t.month as i8, t.day as i8, t.hour as i8, t.minute as i8, t.second as i8, 0).ok()?;
    let dst = if always_normal_time { Dst::Winter } else { t.dst };
    let offset = match tz.to_ambiguous_timestamp(dt).offset() {
        AmbiguousOffset::Unambiguous { offset } => {
            let zone_dst = tz.to_offset_info(offset.to_timestamp(dt).ok()?).dst().is_dst();
            match (dst, zone_dst) {
                (Dst::Winter, true) => shift(offset, -3600)?,
                (Dst::Summer, false) => shift(offset, 3600)?,
                _ => offset,
            }
        }
        AmbiguousOffset::Fold { before, after } => match dst {
            Dst::Winter => after,
            Dst::Summer | Dst::Unknown => before,
        },
        AmbiguousOffset::Gap { before, after } => match dst {
            Dst::Winter => before,
            Dst::Summer | Dst::Unknown => after,
        },
    };
    offset.to_timestamp(dt).ok()
}

fn shift(offset: Offset, seconds: i32) -> Option<Offset> {
    Offset::from_seconds(offset.seconds() + seconds).ok()
}

/// RFC 3339 in UTC with a `Z`, whole seconds: `2010-12-09T10:30:20Z`.
pub fn rfc3339(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
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
    }

    #[test]
    fn no_flag_uses_the_zone() {
        assert_eq!(utc("090212160000", DEFAULT_TIMEZONE, false), "2009-02-12T15:00:00Z");
        assert_eq!(utc("090712160000", DEFAULT_TIMEZONE, false), "2009-07-12T14:00:00Z");
    }

    #[test]
    fn unknown_zone_is_a_clear_error() {
        assert!(zone("Mars/Olympus").unwrap_err().contains("Mars/Olympus"));
    }
}
