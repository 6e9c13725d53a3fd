//! Tells a misspelled field name in a sink's `fields` list from one a meter gives, so that a
//! typo is a configuration error instead of a column that stays empty for good.

use crate::parse::mbus_name;
use crate::spec::{Medium, Version};
use crate::telegram::MBUS_CONTROL_STATE;

/// The name a meter table gives that `name` most likely misspells (a letter or two off),
/// with `name`'s own suffix (`_2`, `_time`, ...); `None` when `name` is a field a meter
/// gives, or too unlike any to guess (left alone: it may be one this check does not know).
pub fn misspelled(name: &str) -> Option<String> {
    let names = known();
    let (base, suffix) = split_suffix(name, &names);
    if names.contains(&base) || base.starts_with("obis_") {
        return None;
    }
    // The name as written (`electricity_used_tarif_1`), or its base with the suffix kept
    // (`hourly_gas_meter_readng` + `_2`): whichever comes closest to a known name.
    let limit = if base.len() >= 12 { 2 } else { 1 };
    [(name, ""), (base, suffix)]
        .iter()
        .flat_map(|(written, suffix)| names.iter().map(move |k| (distance(written, k), *k, *suffix)))
        .filter(|(d, _, _)| *d <= limit)
        .min()
        .map(|(_, k, suffix)| format!("{k}{suffix}"))
}

/// Whether `name` is a table's name for the meter's clock (`p1_message_timestamp`, or the
/// local date and time some meters send instead): readings carry it as their time, the
/// `time` column of a CSV file, never as a field.
/// (With a suffix, `p1_message_timestamp_time`, it is one too.)
pub fn is_clock(name: &str) -> bool {
    let (base, _) = split_suffix(name, &known());
    let clock = |r: &&crate::spec::Row| matches!((r.a, r.c, r.d, r.e), (0, 1, 0 | 1, 0) | (1, 0, 9, 1 | 2));
    Version::ALL.iter().flat_map(|v| v.spec().all_rows()).filter(clock).any(|r| r.name == base)
}

/// Every field name of every table, the names M-Bus lines take by their device's medium,
/// and the few names readings add.
fn known() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Version::ALL.iter().flat_map(|v| v.spec().all_rows()).map(|r| r.name).collect();
    let mbus_codes = [(24, 2, 1), (24, 2, 3), (24, 3, 0), (96, 1, 0), (24, 4, 0)];
    names.extend(Medium::ALL.iter().flat_map(|&m| mbus_codes.iter().filter_map(move |&c| mbus_name(c, m))));
    names.push(MBUS_CONTROL_STATE);
    names.sort_unstable();
    names.dedup();
    names
}

/// `name` without the suffixes readings and CSV columns add to a table's name: a channel or
/// position (`_2`), a repeated code's line (`_line12`), an export peak (`_export`), a value's
/// own time (`_time`). Stops at a known name, since some end that way themselves.
fn split_suffix<'a>(name: &'a str, names: &[&str]) -> (&'a str, &'a str) {
    let mut base = name;
    while !names.contains(&base) {
        let Some((head, tail)) = base.rsplit_once('_') else { break };
        let is_suffix = matches!(tail, "time" | "export")
            || (!tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()))
            || tail.strip_prefix("line").is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if !is_suffix || head.is_empty() {
            break;
        }
        base = head;
    }
    (base, &name[base.len()..])
}

/// The Levenshtein distance of two names (they are short).
pub(crate) fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != *cb)).min(row[j] + 1).min(above + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_are_caught_and_real_names_pass() {
        assert_eq!(misspelled("electricity_used_tarif_1").as_deref(), Some("electricity_used_tariff_1"));
        assert_eq!(misspelled("hourly_gas_meter_readng_2").as_deref(), Some("hourly_gas_meter_reading_2"));
        assert_eq!(misspelled("hourly_gas_meter_reading_time").as_deref(), None);
        for ok in [
            "electricity_used_tariff_1",
            "hourly_gas_meter_reading_2",
            "obis_1_0_96_50_1",
            "mbus_control_state",
            "equipment_identifier_water",
            "equipment_identifier_water_2",
            "heat_meter_reading",
            "valve_position_water",
        ] {
            assert_eq!(misspelled(ok), None, "{ok}");
        }
        // Nothing like any name: not guessed at.
        assert_eq!(misspelled("my_own_column"), None);
    }
}
