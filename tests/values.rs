//! Values checked against facts dsmrd was not tuned on: what other projects' tests expect for
//! the same telegrams (`../shared/telegrams/*.assertions.txt`, `*.expected.json`), written
//! out here as numbers, strings and UTC times. Local meter times are converted by hand:
//! NL/BE/LU `S` = UTC+2, `W` = UTC+1; Swedish meters are always UTC+1; Europe/Dublin `S` = UTC+1 (one test reads in that zone).
//!
//! Where a source disagrees with dsmrd the test says so and pins what FACTS.md supports.
//! The second half pins the JSON contract on small constructed telegrams (units without
//! `*`, double parentheses, empty groups, placeholders, unknown and duplicate codes, ...).

use std::fs;
use std::path::Path;

use dsmrd::decoder::{DecodeError, Decoded, Decoder, DecoderOptions};
use dsmrd::frame::{CrcStatus, Reject, crc16};
use dsmrd::json::{JsonContext, telegram_json};
use dsmrd::obis::Obis;
use dsmrd::parse::parse;
use dsmrd::smarty::Keys;
use dsmrd::spec::VersionChoice;
use dsmrd::telegram::Value;
use dsmrd::time::zone;
use serde_json::{Value as J, json};

const AMSTERDAM: &str = "Europe/Amsterdam";

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

fn recording(name: &str) -> Vec<u8> {
    fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("recordings").join(name)).expect("recording exists")
}

/// Everything the decoder made of a byte stream: telegrams as JSON, and rejections.
struct Decoded2 {
    telegrams: Vec<J>,
    errors: Vec<DecodeError>,
}

fn decode_bytes(bytes: &[u8], check_crc: bool, tz: &str, keys: Option<Keys>) -> Decoded2 {
    let cx = JsonContext { tz: zone(tz).expect("zone") };
    let mut decoder = Decoder::new(DecoderOptions { check_crc, keys, ..DecoderOptions::default() });
    let mut out = Decoded2 { telegrams: Vec::new(), errors: Vec::new() };
    let mut on = |d: Decoded<'_>| match d {
        Decoded::Telegram(t) => out.telegrams.push(telegram_json(&t, &cx)),
        Decoded::Error { error, .. } => out.errors.push(error),
    };
    decoder.feed(bytes, &mut on);
    decoder.finish(&mut on);
    out
}

/// The one telegram of a recording, read with the CRC check on (or off for spec examples
/// and anonymised files whose CRC is known to be wrong), with no rejected bytes and no line
/// errors.
fn one_in(name: &str, check_crc: bool, tz: &str) -> T {
    let d = decode_bytes(&recording(name), check_crc, tz, None);
    assert!(d.errors.is_empty(), "{name}: {:?}", d.errors);
    assert_eq!(d.telegrams.len(), 1, "{name}");
    let t = T(d.telegrams.into_iter().next().unwrap());
    assert_eq!(t.0["errors"], json!([]), "{name}");
    t
}

fn one(name: &str) -> T {
    one_in(name, true, AMSTERDAM)
}

/// Spec examples and anonymised telegrams: the CRC printed with them is wrong.
fn one_bad_crc(name: &str) -> T {
    let t = one_in(name, false, AMSTERDAM);
    assert_eq!(t.0["crc_ok"], json!(false), "{name}: expected a known-bad CRC");
    t
}

/// One telegram's JSON form, with lookups that fail with a useful message.
struct T(J);

impl T {
    fn top(&self, key: &str) -> J {
        self.0[key].clone()
    }

    fn objects(&self) -> &Vec<J> {
        self.0["objects"].as_array().expect("objects")
    }

    fn names(&self) -> Vec<String> {
        self.objects().iter().map(|o| o["name"].to_string()).collect()
    }

    /// The first object with this name.
    fn obj(&self, name: &str) -> &J {
        self.objects().iter().find(|o| o["name"] == name).unwrap_or_else(|| panic!("no `{name}` in {:?}", self.names()))
    }

    /// The object on this line code (as written).
    fn at(&self, obis: &str) -> &J {
        self.objects().iter().find(|o| o["obis"] == obis).unwrap_or_else(|| panic!("no `{obis}`"))
    }

    fn has(&self, name: &str) -> bool {
        self.objects().iter().any(|o| o["name"] == name)
    }

    /// A number with its unit (`""`: the meter wrote none).
    fn q(&self, name: &str, value: f64, unit: &str) {
        let o = self.obj(name);
        assert_eq!(o["value"].as_f64(), Some(value), "{name}: {o}");
        let want = if unit.is_empty() { J::Null } else { json!(unit) };
        assert_eq!(o.get("unit").cloned().unwrap_or(J::Null), want, "{name} unit: {o}");
    }

    /// Several numbers with their units.
    fn qs(&self, expected: &[(&str, f64, &str)]) {
        for (name, value, unit) in expected {
            self.q(name, *value, unit);
        }
    }

    /// A text value (decoded when the meter hex-encodes it).
    fn text(&self, name: &str, value: &str) {
        assert_eq!(self.obj(name)["value"], json!(value), "{name}");
    }

    /// The placeholder an unreachable or unset M-Bus device sends: shown as sent, a zero
    /// without unit, and marked.
    fn placeholder(&self, name: &str) {
        let o = self.obj(name);
        assert_eq!((o["value"].as_f64(), o.get("unit"), &o["placeholder"]), (Some(0.0), None, &json!(true)), "{o}");
    }

    fn null(&self, name: &str) {
        assert_eq!(self.obj(name)["value"], J::Null, "{name}: {}", self.obj(name));
    }

    /// A reading with its own capture time (M-Bus, monthly peak).
    fn reading(&self, name: &str, value: f64, unit: &str, utc: &str) {
        self.q(name, value, unit);
        assert_eq!(self.obj(name)["timestamp"], json!(utc), "{name}");
    }

    /// The power-failure log as (end of failure in UTC, duration in s).
    fn failures(&self) -> Vec<(String, f64)> {
        let log = self.obj("power_event_failure_log");
        let entries = log["entries"].as_array().expect("entries");
        assert_eq!(log["value"].as_u64(), Some(entries.len() as u64));
        entries
            .iter()
            .map(|e| {
                assert_eq!(e["unit"], "s");
                (e["timestamp"].as_str().unwrap_or("null").to_string(), e["value"].as_f64().expect("duration"))
            })
            .collect()
    }

    fn mbus(&self, channel: u64) -> &J {
        self.0["mbus"]
            .as_array()
            .expect("mbus")
            .iter()
            .find(|d| d["channel"] == channel)
            .unwrap_or_else(|| panic!("no M-Bus channel {channel}"))
    }

    fn no_unknown_codes(&self) {
        let unknown: Vec<&J> = self.objects().iter().filter(|o| o.get("unknown").is_some()).collect();
        assert!(unknown.is_empty(), "{unknown:?}");
    }
}

fn f(entries: &[(&str, f64)]) -> Vec<(String, f64)> {
    entries.iter().map(|(t, d)| (t.to_string(), *d)).collect()
}

/// A telegram with a correct CRC, lines joined with CRLF.
fn telegram(header: &str, lines: &[&str]) -> Vec<u8> {
    let mut s = format!("{header}\r\n\r\n");
    for l in lines {
        s.push_str(l);
        s.push_str("\r\n");
    }
    s.push('!');
    let crc = crc16(s.as_bytes());
    format!("{s}{crc:04X}\r\n").into_bytes()
}

/// Decode one constructed telegram (CRC on) in Amsterdam time.
fn constructed(header: &str, lines: &[&str]) -> T {
    let d = decode_bytes(&telegram(header, lines), true, AMSTERDAM, None);
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    assert_eq!(d.telegrams.len(), 1);
    T(d.telegrams.into_iter().next().unwrap())
}

/// Decode one telegram given as raw bytes from `/` through `!` (which may hold bytes that are
/// no text), with its CRC appended, in Amsterdam time.
fn constructed_bytes(body: &[u8]) -> T {
    let crc = crc16(body);
    let d = decode_bytes(&[body, format!("{crc:04X}\r\n").as_bytes()].concat(), true, AMSTERDAM, None);
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    assert_eq!(d.telegrams.len(), 1);
    T(d.telegrams.into_iter().next().unwrap())
}

// ---------------------------------------------------------------------------------------
// DSMR 2.2 / 3.0 (NL)
// ---------------------------------------------------------------------------------------

#[test]
fn iskra_me382_1003_smeterd() {
    let t = one("Iskra-ME382-1003_dsmr2.2_smeterd.txt");
    // smeterd: header '/ISk5\2ME382-1003' in Python, where \2 is the byte 0x02.
    assert_eq!(t.top("header"), "/ISk5\u{2}ME382-1003");
    assert_eq!(t.top("dsmr_version"), "2.2");
    assert_eq!(t.top("crc"), J::Null);
    assert_eq!(t.top("timestamp"), J::Null);
    // smeterd keeps the hex; dsmrd decodes it and keeps the hex in `raw`.
    t.text("equipment_identifier", "ZBEV005093197712");
    assert_eq!(t.obj("equipment_identifier")["raw"], "5A424556303035303933313937373132");
    t.qs(&[
        ("electricity_used_tariff_1", 608.400, "kWh"),
        ("electricity_used_tariff_2", 490.342, "kWh"),
        ("electricity_delivered_tariff_1", 0.001, "kWh"),
        ("electricity_delivered_tariff_2", 0.0, "kWh"),
        ("current_electricity_usage", 1.51, "kW"),
        ("current_electricity_delivery", 0.0, "kW"),
        ("actual_treshold_electricity", 999.0, "kW"),
        ("actual_switch_position", 1.0, ""),
    ]);
    t.text("electricity_active_tariff", "0001");
    t.null("text_message_code");
    t.null("text_message");
    assert_eq!(t.top("mbus"), json!([]));
}

#[test]
fn iskra_me382_1004_smeterd_with_gas() {
    let t = one("Iskra-ME382-1004_dsmr2.2_smeterd.txt");
    assert_eq!(t.top("header"), "/ISk5\u{2}ME382-1004");
    // Not hex: kept as sent.
    t.text("equipment_identifier", "XXXXXXXXXXXXXXMYSERIALXXXXXXXXXXXXXX");
    t.qs(&[
        ("electricity_used_tariff_1", 608.400, "kWh"),
        ("electricity_used_tariff_2", 490.342, "kWh"),
        ("electricity_delivered_tariff_1", 0.001, "kWh"),
        ("electricity_delivered_tariff_2", 0.0, "kWh"),
        ("current_electricity_usage", 1.51, "kW"),
        ("current_electricity_delivery", 0.0, "kW"),
        ("actual_treshold_electricity", 999.0, "kW"),
        ("actual_switch_position", 1.0, ""),
        ("device_type", 3.0, ""),
        ("valve_position_gas", 1.0, ""),
    ]);
    t.text("electricity_active_tariff", "0001");
    t.text("equipment_identifier_gas", "28011001232137412");
    assert_eq!(t.obj("equipment_identifier_gas")["raw"], "3238303131303031323332313337343132");
    // `130810180000`: DSMR 3.0 TST12 without a DST flag, August in Amsterdam = UTC+2.
    t.reading("gas_meter_reading", 947.680, "m3", "2013-08-10T16:00:00Z");
    let gas = t.mbus(1);
    assert_eq!(gas["device_type"], 3);
    assert_eq!(gas["equipment_id"], "28011001232137412");
}

#[test]
fn iskra_me382_broken_streams_are_not_telegrams() {
    // smeterd raises an error for both; its lenient P1Packet reads the tail-only packet's
    // values, but without a `/` header there is no telegram (FACTS §1 layout, §13).
    let d = decode_bytes(&recording("Iskra-ME382-tail-only_dsmr2.2_smeterd.txt"), true, AMSTERDAM, None);
    assert!(d.telegrams.is_empty() && d.errors.is_empty());
    let d = decode_bytes(&recording("Iskra-ME382-1004-3x-unterminated_dsmr2.2_smeterd.txt"), true, AMSTERDAM, None);
    assert!(d.telegrams.is_empty());
    assert_eq!(d.errors.len(), 3);
    assert!(d.errors.iter().all(|e| matches!(e, DecodeError::Frame(Reject::Truncated { .. }))));
}

#[test]
fn iskra_mt382_issue54_dsmrtools() {
    let t = one("Iskra-MT382-1003-issue54a_dsmr2.2_dsmrtools.txt");
    assert_eq!(t.top("header"), "/ISk5\\2MT382-1003");
    assert_eq!(t.top("dsmr_version"), "2.2");
    assert_eq!(t.top("timestamp"), J::Null);
    assert_eq!(t.top("crc"), J::Null);
    assert_eq!(t.top("meter_id"), "ZBEV005106844912");
    t.text("electricity_active_tariff", "0002");
    t.qs(&[
        ("electricity_used_tariff_1", 16719.94, "kWh"),
        ("electricity_used_tariff_2", 19403.22, "kWh"),
        ("electricity_delivered_tariff_1", 859.681, "kWh"),
        ("electricity_delivered_tariff_2", 1817.057, "kWh"),
        ("current_electricity_usage", 0.89, "kW"),
        ("current_electricity_delivery", 0.0, "kW"),
    ]);
    assert!(!t.has("power_event_failure_log"));
    // One M-Bus device, on channel 2; 2021-11-22T21:00+01:00.
    assert_eq!(t.top("mbus").as_array().unwrap().len(), 1);
    assert_eq!(t.mbus(2)["equipment_id"], "28011008306429013");
    t.reading("gas_meter_reading", 13368.864, "m3", "2021-11-22T20:00:00Z");

    let t = one("Iskra-MT382-1003-issue54b_dsmr2.2_dsmrtools.txt");
    t.qs(&[
        ("electricity_used_tariff_1", 16722.627, "kWh"),
        ("electricity_used_tariff_2", 19412.737, "kWh"),
        ("electricity_delivered_tariff_1", 859.681, "kWh"),
        ("electricity_delivered_tariff_2", 1817.110, "kWh"),
        ("current_electricity_usage", 0.67, "kW"),
        ("current_electricity_delivery", 0.0, "kW"),
    ]);
    assert_eq!(t.mbus(2)["equipment_id"], "28011008306429013");
    t.reading("gas_meter_reading", 13376.292, "m3", "2021-11-23T19:00:00Z");
}

/// The athombv MT382 files have no `!` at all. athombv parses them leniently; a telegram
/// ends with `!` (FACTS §1, §6), so the decoder rejects them. Their lines still read as
/// athombv expects once the end marker is there.
#[test]
fn iskra_mt382_athombv_without_end_marker() {
    for (name, text) in [
        ("Iskra-MT382-1003_dsmr2.2-3.0_athombv.txt", None),
        ("Iskra-MT382-1003-textmsg_dsmr2.2-3.0_athombv.txt", Some("test-/-test")),
    ] {
        let mut bytes = recording(name);
        let d = decode_bytes(&bytes, true, AMSTERDAM, None);
        assert!(d.telegrams.is_empty(), "{name}");
        assert!(d.errors.iter().all(|e| matches!(e, DecodeError::Frame(Reject::Truncated { .. }))), "{name}");

        bytes.extend_from_slice(b"!\r\n");
        let parsed = parse(&bytes, CrcStatus::Absent, VersionChoice::Auto).expect("parses");
        let t = T(telegram_json(&parsed, &JsonContext { tz: zone(AMSTERDAM).unwrap() }));
        assert_eq!(t.top("dsmr_version"), "2.2", "{name}");
        assert_eq!(t.0["errors"], json!([]), "{name}");
        // Hex that does not decode to text is shown as sent.
        t.text("equipment_identifier", "00112233445566778899aabbccddeeff");
        t.qs(&[
            ("electricity_used_tariff_1", 39837.604, "kWh"),
            ("electricity_delivered_tariff_1", 5174.479, "kWh"),
            ("electricity_used_tariff_2", 30477.225, "kWh"),
            ("electricity_delivered_tariff_2", 11772.946, "kWh"),
            ("current_electricity_usage", 0.0, "kW"),
            ("current_electricity_delivery", 0.14, "kW"),
            ("device_type", 3.0, ""),
        ]);
        t.text("electricity_active_tariff", "0002");
        t.text("equipment_identifier_gas", "0011223344556677889900112233445566");
        // athombv "2025-04-23T09:00:00.000Z" is the local time `250423090000` (UTC+2 in April).
        t.reading("gas_meter_reading", 13032.85, "m3", "2025-04-23T07:00:00Z");
        assert_eq!(t.obj("gas_meter_reading")["period_minutes"], 60);
        match text {
            Some(s) => t.text("text_message", s),
            None => t.null("text_message"),
        }
    }
}

#[test]
fn kamstrup_kmp5_dsmrtools() {
    let t = one("Kamstrup-KMP5-KA6U001660297912_dsmr2.2_dsmrtools.txt");
    assert_eq!(t.top("header"), "/KMP5 KA6U001660297912");
    // The id is hex of " KA6U001660297912" (a leading blank); dsmr-tools trims it, so does dsmrd.
    assert_eq!(t.top("meter_id"), "KA6U001660297912");
    t.text("electricity_active_tariff", "0001");
    t.qs(&[
        ("electricity_used_tariff_1", 7041.882, "kWh"),
        ("electricity_used_tariff_2", 2351.565, "kWh"),
        ("electricity_delivered_tariff_1", 3125.397, "kWh"),
        ("electricity_delivered_tariff_2", 7729.108, "kWh"),
        ("current_electricity_usage", 0.54, "kW"),
        ("current_electricity_delivery", 0.0, "kW"),
    ]);
    assert_eq!(t.mbus(1)["equipment_id"], "28101541004022211");
    t.reading("gas_meter_reading", 4083.631, "m3", "2016-03-15T20:00:00Z");

    let t = one("Kamstrup-KMP5-ZABF001551772711_dsmr2.2_dsmrtools.txt");
    assert_eq!(t.top("meter_id"), "ZABF00151772711");
    t.qs(&[
        ("electricity_used_tariff_1", 5080.475, "kWh"),
        ("electricity_used_tariff_2", 5008.385, "kWh"),
        ("electricity_delivered_tariff_1", 0.0, "kWh"),
        ("electricity_delivered_tariff_2", 0.0, "kWh"),
        ("current_electricity_usage", 0.68, "kW"),
    ]);
    assert_eq!(t.mbus(2)["equipment_id"], "28101541007162412");
    t.reading("gas_meter_reading", 2025.003, "m3", "2016-01-17T11:00:00Z");

    let t = one("Kamstrup-KMP5-ZABF001587315111_dsmr2.2_dsmrtools.txt");
    assert_eq!(t.top("meter_id"), "ZBEV005091207612");
    t.qs(&[
        ("electricity_used_tariff_1", 185.0, "kWh"),
        ("electricity_used_tariff_2", 84.0, "kWh"),
        ("electricity_delivered_tariff_1", 13.0, "kWh"),
        ("electricity_delivered_tariff_2", 19.0, "kWh"),
        ("current_electricity_usage", 0.98, "kW"),
        ("current_electricity_delivery", 0.0, "kW"),
        // Kamstrup writes its threshold in A; the unit is the meter's.
        ("actual_treshold_electricity", 999.0, "A"),
    ]);
    assert_eq!(t.mbus(1)["equipment_id"], "28101E61708803q1");
    // 2012-05-17T02:00+02:00
    t.reading("gas_meter_reading", 124.477, "m3", "2012-05-17T00:00:00Z");
}

#[test]
fn kamstrup_kmp5_athombv() {
    let t = one("Kamstrup-KMP5-ZABF_dsmr2.2_athombv.txt");
    // An odd number of hex digits: shown as sent, as athombv does.
    t.text("equipment_identifier", "205C4D246333034353537383234323121");
    t.text("electricity_active_tariff", "0001");
    t.qs(&[
        ("electricity_used_tariff_1", 185.0, "kWh"),
        ("electricity_delivered_tariff_1", 13.0, "kWh"),
        ("electricity_used_tariff_2", 84.0, "kWh"),
        ("electricity_delivered_tariff_2", 19.0, "kWh"),
        ("current_electricity_usage", 0.98, "kW"),
        ("current_electricity_delivery", 0.0, "kW"),
        ("actual_treshold_electricity", 999.0, "A"),
        ("actual_switch_position", 1.0, ""),
        ("valve_position_gas", 1.0, ""),
    ]);
    // Not valid UTF-8 once decoded (a 0x99 byte): kept as hex.
    t.text("equipment_identifier_gas", "3238313031453631373038389930337131");
    t.reading("gas_meter_reading", 124.477, "m3", "2012-05-17T00:00:00Z");
    assert_eq!(t.obj("gas_meter_reading")["period_minutes"], 60);
}

#[test]
fn landis_gyr_xemex_dsmr22() {
    let t = one("LandisGyr-XMX5XMXABCE100103855_dsmr2.2_dsmrtools.txt");
    assert_eq!(t.top("header"), "/XMX5XMXABCE100103855");
    assert_eq!(t.top("meter_id"), "0123456789");
    t.text("electricity_active_tariff", "0002");
    t.qs(&[
        ("electricity_used_tariff_1", 3687.771, "kWh"),
        ("electricity_used_tariff_2", 4456.167, "kWh"),
        ("electricity_delivered_tariff_1", 1450.360, "kWh"),
        ("electricity_delivered_tariff_2", 3098.554, "kWh"),
        ("current_electricity_usage", 0.0, "kW"),
        ("current_electricity_delivery", 0.62, "kW"),
    ]);
    // The device type comes after the id here; the reading is still named after it.
    assert_eq!(t.mbus(1)["equipment_id"], "0123456789");
    assert_eq!(t.mbus(1)["medium"], "gas");
    t.reading("gas_meter_reading", 5271.144, "m3", "2019-02-18T11:00:00Z");

    let t = one("LandisGyr-XMX5XMXABCE_dsmr2.2_athombv.txt");
    t.text("equipment_identifier", "0123456789ABCDEF");
    t.text("electricity_active_tariff", "0001");
    t.qs(&[
        ("electricity_used_tariff_1", 11667.440, "kWh"),
        ("electricity_used_tariff_2", 11781.558, "kWh"),
        ("electricity_delivered_tariff_1", 0.0, "kWh"),
        ("electricity_delivered_tariff_2", 0.0, "kWh"),
        ("current_electricity_usage", 0.55, "kW"),
        ("current_electricity_delivery", 0.0, "kW"),
    ]);
    assert_eq!(t.top("mbus"), json!([]));
}

#[test]
fn landis_gyr_e350_openhab_has_no_unknown_codes() {
    let t = one("LandisGyr-E350-XMX5XMXABCE000015779_dsmr2.2_openhab.txt");
    t.no_unknown_codes();
    // Hex of "12693072" padded with eight blanks.
    assert_eq!(t.top("meter_id"), "12693072");
    t.q("electricity_used_tariff_1", 7654.321, "kWh");
}

// ---------------------------------------------------------------------------------------
// DSMR 4.x (NL)
// ---------------------------------------------------------------------------------------

fn spec_example_4(t: &T) {
    // `/ISk5\2MT382-1000`; athombv's copy has `1 000`.
    assert!(t.top("header").as_str().unwrap().starts_with("/ISk5\\2MT382-1"));
    assert_eq!(t.top("timestamp"), "2010-12-09T10:30:20Z");
    assert_eq!(t.top("meter_id"), "K8EG004046395507");
    t.text("electricity_active_tariff", "0002");
    t.qs(&[
        ("electricity_used_tariff_1", 123456.789, "kWh"),
        ("electricity_used_tariff_2", 123456.789, "kWh"),
        ("electricity_delivered_tariff_1", 123456.789, "kWh"),
        ("electricity_delivered_tariff_2", 123456.789, "kWh"),
        ("current_electricity_usage", 1.193, "kW"),
        ("current_electricity_delivery", 0.0, "kW"),
        ("short_power_failure_count", 4.0, ""),
        ("long_power_failure_count", 2.0, ""),
        ("voltage_sag_l1_count", 2.0, ""),
        ("voltage_sag_l2_count", 1.0, ""),
        // `1-0:72:32.0` (the spec's typo) is read too; athombv leaves it unknown.
        ("voltage_sag_l3_count", 0.0, ""),
        ("voltage_swell_l1_count", 0.0, ""),
        ("voltage_swell_l2_count", 3.0, ""),
        ("voltage_swell_l3_count", 0.0, ""),
        ("device_type", 3.0, ""),
    ]);
    t.text("text_message_code", "01 61 81");
    t.text("text_message", &"0123456789:;<=>?".repeat(5));
    assert_eq!(t.mbus(1)["equipment_id"], "2222ABCD123456789");
    t.reading("hourly_gas_meter_reading", 12785.123, "m3", "2010-12-09T10:00:00Z");
    // 2010-12-08T15:24:15+01:00 for 4 min, 2010-12-08T15:10:04+01:00 for 5 min 1 s.
    assert_eq!(t.failures(), f(&[("2010-12-08T14:24:15Z", 240.0), ("2010-12-08T14:10:04Z", 301.0)]));
}

#[test]
fn spec_example_dsmr40() {
    for name in ["spec-example-DSMR4.0_dsmr4.0_athombv.txt", "Iskra-MT382-isk1_dsmr4.0_athombv.txt"] {
        let t = one_bad_crc(name);
        assert_eq!(t.top("dsmr_version"), "4");
        t.text("p1_message_header", "40");
        spec_example_4(&t);
        // 4.0.4 still has the limiter, breaker and valve (athombv: unknown).
        t.q("actual_treshold_electricity", 16.1, "kW");
        t.q("actual_switch_position", 1.0, "");
        t.q("valve_position_gas", 1.0, "");
        // The `1-0:99:97.0` typo line is read, buffer type as sent.
        assert_eq!(t.obj("power_event_failure_log")["obis"], "1-0:99:97.0");
    }
}

#[test]
fn spec_example_dsmr42() {
    for name in ["spec-example-DSMR4.2.2_dsmr4.2_athombv.txt", "spec-example-DSMR4.2-dsmrtools_dsmr4.2_dsmrtools.txt"] {
        let t = one_bad_crc(name);
        assert_eq!(t.top("crc"), "CE7C");
        assert_eq!(t.top("dsmr_version"), "4");
        t.text("p1_message_header", "42");
        spec_example_4(&t);
        // `1-0:31.7.0.255(001*A)`: an F group written with a dot, kept as written.
        assert_eq!(t.at("1-0:31.7.0.255")["name"], "instantaneous_current_l1");
        t.qs(&[
            ("instantaneous_current_l1", 1.0, "A"),
            ("instantaneous_current_l2", 2.0, "A"),
            ("instantaneous_current_l3", 3.0, "A"),
            ("instantaneous_active_power_l1_positive", 1.111, "kW"),
            ("instantaneous_active_power_l2_positive", 2.222, "kW"),
            ("instantaneous_active_power_l3_positive", 3.333, "kW"),
            ("instantaneous_active_power_l1_negative", 4.444, "kW"),
            ("instantaneous_active_power_l2_negative", 5.555, "kW"),
            ("instantaneous_active_power_l3_negative", 6.666, "kW"),
        ]);
        assert!(!t.has("instantaneous_voltage_l1"));
    }
}

#[test]
fn kaifa_kfm5_athombv() {
    let t = one("Kaifa-KFM5_dsmr4.2_athombv.txt");
    assert_eq!(t.top("crc"), "A737");
    assert_eq!(t.top("crc_ok"), true);
    assert_eq!(t.top("timestamp"), "2018-03-06T11:30:56Z");
    assert_eq!(t.top("meter_id"), "E0003000002124813");
    t.text("electricity_active_tariff", "0002");
    t.qs(&[
        ("short_power_failure_count", 13.0, ""),
        ("long_power_failure_count", 7.0, ""),
        ("voltage_sag_l1_count", 0.0, ""),
        ("voltage_swell_l3_count", 0.0, ""),
        ("electricity_used_tariff_1", 4726.494, "kWh"),
        ("electricity_delivered_tariff_1", 3284.320, "kWh"),
        ("electricity_used_tariff_2", 4844.281, "kWh"),
        ("electricity_delivered_tariff_2", 7764.691, "kWh"),
        ("current_electricity_usage", 0.0, "kW"),
        ("current_electricity_delivery", 1.869, "kW"),
        ("instantaneous_current_l1", 3.0, "A"),
        ("instantaneous_current_l2", 3.0, "A"),
        ("instantaneous_current_l3", 2.0, "A"),
        ("instantaneous_active_power_l1_positive", 0.0, "kW"),
        ("instantaneous_active_power_l1_negative", 0.688, "kW"),
        ("instantaneous_active_power_l2_negative", 0.778, "kW"),
        ("instantaneous_active_power_l3_negative", 0.403, "kW"),
    ]);
    assert_eq!(t.mbus(1)["equipment_id"], "G0016561203580113");
    t.reading("hourly_gas_meter_reading", 5359.919, "m3", "2018-03-06T11:00:00Z");
    // The Kaifa placeholder entry `000101000024W` / 2147483647 s (FACTS Q15) is a valid time.
    assert_eq!(t.failures(), f(&[("1999-12-31T23:00:24Z", 2147483647.0)]));
}

#[test]
fn kaifa_kfm5_dsmr5rs() {
    let t = one("Kaifa-KFM5-E0026_dsmr4.2_dsmr5rs.txt");
    assert_eq!(t.top("header"), "/KFM5KAIFA-METER");
    // dsmr5rs reads the version as the octet 0x42; it is the text "42".
    t.text("p1_message_header", "42");
    // TST 22-09-01 15:22:01, dst = true.
    assert_eq!(t.top("timestamp"), "2022-09-01T13:22:01Z");
    assert_eq!(t.top("meter_id"), "E0026000024153615");
    t.q("electricity_used_tariff_1", 6285.065, "kWh");
    t.q("electricity_used_tariff_2", 6758.327, "kWh");
    t.text("electricity_active_tariff", "0002");
    t.q("short_power_failure_count", 3.0, "");
}

#[test]
fn kaifa_kfm5_dsmrtools() {
    let t = one("Kaifa-KFM5-dsmr42_dsmr4.2_dsmrtools.txt");
    assert_eq!(t.top("crc"), "DE3E");
    // 2020-04-10T10:24:33+02:00
    assert_eq!(t.top("timestamp"), "2020-04-10T08:24:33Z");
    assert_eq!(t.top("meter_id"), "E0123456789");
    t.text("electricity_active_tariff", "0002");
    t.qs(&[
        ("electricity_used_tariff_1", 3000.497, "kWh"),
        ("electricity_used_tariff_2", 1000.248, "kWh"),
        ("electricity_delivered_tariff_1", 1000.458, "kWh"),
        ("electricity_delivered_tariff_2", 3000.394, "kWh"),
        ("current_electricity_usage", 0.105, "kW"),
        ("current_electricity_delivery", 0.0, "kW"),
    ]);
    // End 2000-01-01T00:00:01+01:00, PT596523H14M7S.
    assert_eq!(t.failures(), f(&[("1999-12-31T23:00:01Z", 2147483647.0)]));
    assert_eq!(t.top("mbus").as_array().unwrap().len(), 1);
    assert_eq!(t.mbus(2)["equipment_id"], "E0123456789");
    t.reading("hourly_gas_meter_reading", 2000.671, "m3", "2020-04-10T08:00:00Z");
}

#[test]
fn kaifa_kfm5_smeterd() {
    let t = one("Kaifa-KFM5-crcvalid_dsmr4.2_smeterd.txt");
    assert_eq!(t.top("header"), "/KFM5KAIFA-METER");
    t.text("p1_message_header", "42");
    t.text("electricity_active_tariff", "0002");
    t.reading("hourly_gas_meter_reading", 1350.170, "m3", "2016-11-07T08:00:00Z");

    // smeterd: P1PacketError for the invalid CRC.
    let d = decode_bytes(&recording("Kaifa-KFM5-crcinvalid_dsmr4.2_smeterd.txt"), true, AMSTERDAM, None);
    assert!(d.telegrams.is_empty());
    assert!(matches!(d.errors[..], [DecodeError::Frame(Reject::CrcMismatch { sent: 0x656A, computed: 0xE17D })]));

    let t = one("Kaifa-KFM5-smeterd1_dsmr4.2_smeterd.txt");
    t.text("p1_message_header", "42");
    t.text("equipment_identifier", "XXXXXXXXXXXXXXMYSERIALXXXXXXXXXXXXXX");
    t.text("electricity_active_tariff", "0002");
    t.qs(&[
        ("electricity_used_tariff_1", 498.215, "kWh"),
        ("electricity_used_tariff_2", 550.159, "kWh"),
        ("electricity_delivered_tariff_1", 0.001, "kWh"),
        ("electricity_delivered_tariff_2", 0.0, "kWh"),
        ("current_electricity_usage", 0.235, "kW"),
        ("current_electricity_delivery", 0.0, "kW"),
        ("device_type", 3.0, ""),
    ]);
    assert!(!t.has("actual_treshold_electricity") && !t.has("actual_switch_position") && !t.has("valve_position_gas"));
    t.null("text_message_code");
    t.null("text_message");
    assert_eq!(t.obj("equipment_identifier_gas")["raw"], "4730303235303033333337343136333136");
    t.text("equipment_identifier_gas", "G0025003337416316");
    // `160905190000S`
    t.reading("hourly_gas_meter_reading", 323.528, "m3", "2016-09-05T17:00:00Z");

    let t = one("Kaifa-KFM5-smeterd3_dsmr4.2_smeterd.txt");
    t.text("equipment_identifier", "XXXXXXXXSERIALXXXXXXXXXXX");
    t.text("electricity_active_tariff", "0001");
    t.qs(&[
        ("electricity_used_tariff_1", 608.303, "kWh"),
        ("electricity_used_tariff_2", 598.271, "kWh"),
        ("electricity_delivered_tariff_1", 0.0, "kWh"),
        ("electricity_delivered_tariff_2", 0.0, "kWh"),
        ("current_electricity_usage", 1.263, "kW"),
        ("current_electricity_delivery", 0.0, "kW"),
    ]);
    t.text("equipment_identifier_gas", "G0032561269259616");
    // `161106180000W`
    t.reading("hourly_gas_meter_reading", 230.576, "m3", "2016-11-06T17:00:00Z");
}

#[test]
fn landis_gyr_e350_dsmr4() {
    let t = one("LandisGyr-XMX5LGBBFFB231158062_dsmr4.x_smeterd.txt");
    assert_eq!(t.top("header"), "/XMX5LGBBFFB231158062");
    t.text("p1_message_header", "42");
    t.text("equipment_identifier", "XXXXXXXXSERIALXXXXXXXXXXX");
    t.text("electricity_active_tariff", "0001");
    t.qs(&[
        ("electricity_used_tariff_1", 4018.859, "kWh"),
        ("electricity_used_tariff_2", 2827.154, "kWh"),
        ("electricity_delivered_tariff_1", 0.002, "kWh"),
        ("electricity_delivered_tariff_2", 0.0, "kWh"),
        ("current_electricity_usage", 0.341, "kW"),
        ("current_electricity_delivery", 0.0, "kW"),
        ("device_type", 3.0, ""),
    ]);
    t.text("equipment_identifier_gas", "G0023561219721914");
    t.reading("hourly_gas_meter_reading", 5290.211, "m3", "2016-09-04T20:00:00Z");

    let t = one("LandisGyr-XMX5LGBBFFB231216240_dsmr4.0_athombv.txt");
    assert_eq!(t.top("crc"), "4F82");
    t.text("p1_message_header", "40");
    // athombv "2000-01-01T01:00:00.000Z" is the local `000101010000W`.
    assert_eq!(t.top("timestamp"), "2000-01-01T00:00:00Z");
    assert_eq!(t.top("meter_id"), "E0004001591092214");
    t.text("electricity_active_tariff", "0001");
    t.qs(&[
        ("short_power_failure_count", 23.0, ""),
        ("long_power_failure_count", 0.0, ""),
        ("voltage_sag_l1_count", 0.0, ""),
        ("voltage_swell_l1_count", 0.0, ""),
        ("electricity_used_tariff_1", 1990.002, "kWh"),
        ("electricity_delivered_tariff_1", 0.0, "kWh"),
        ("electricity_used_tariff_2", 0.0, "kWh"),
        ("electricity_delivered_tariff_2", 0.0, "kWh"),
        ("current_electricity_usage", 0.0, "kW"),
        ("current_electricity_delivery", 0.0, "kW"),
        ("actual_treshold_electricity", 999.9, "kW"),
        ("actual_switch_position", 1.0, ""),
    ]);
    assert_eq!(t.failures(), vec![]);
    assert_eq!(t.top("mbus"), json!([]));

    // amshan: the end line is a bare `!` although the telegram says P1 version 42.
    let t = one("LandisGyr-XMX5LGBBFFB231314239_dsmr4.x_amshan.txt");
    assert_eq!(t.top("header"), "/XMX5LGBBFFB231314239");
    assert_eq!(t.top("crc"), J::Null);
    assert_eq!(t.top("dsmr_version"), "4");
}

#[test]
fn landis_gyr_dsmrtools() {
    let t = one("LandisGyr-XMX5LGBBFG1009089532_dsmr4.2_dsmrtools.txt");
    assert_eq!(t.top("crc"), "6D3C");
    t.text("p1_message_header", "42");
    assert_eq!(t.top("timestamp"), "2000-01-01T00:00:00Z");
    assert_eq!(t.top("meter_id"), "E0030003111959715");
    t.null("text_message");
    t.text("electricity_active_tariff", "0002");
    t.qs(&[
        ("electricity_used_tariff_1", 24.487, "kWh"),
        ("electricity_used_tariff_2", 30.536, "kWh"),
        ("electricity_delivered_tariff_1", 0.528, "kWh"),
        ("electricity_delivered_tariff_2", 0.0, "kWh"),
        ("current_electricity_usage", 0.0, "kW"),
        ("current_electricity_delivery", 0.0, "kW"),
        ("short_power_failure_count", 116.0, ""),
        ("long_power_failure_count", 0.0, ""),
        ("voltage_sag_l1_count", 11.0, ""),
        ("voltage_sag_l2_count", 28.0, ""),
        ("voltage_sag_l3_count", 28.0, ""),
        ("voltage_swell_l1_count", 0.0, ""),
        ("voltage_swell_l2_count", 0.0, ""),
        ("voltage_swell_l3_count", 0.0, ""),
        ("instantaneous_current_l1", 0.0, "A"),
        ("instantaneous_current_l2", 0.0, "A"),
        ("instantaneous_current_l3", 0.0, "A"),
        ("instantaneous_active_power_l1_positive", 0.004, "kW"),
        ("instantaneous_active_power_l2_positive", 0.0, "kW"),
        ("instantaneous_active_power_l3_positive", 0.0, "kW"),
        ("instantaneous_active_power_l1_negative", 0.0, "kW"),
        ("instantaneous_active_power_l2_negative", 0.0, "kW"),
        ("instantaneous_active_power_l3_negative", 0.0, "kW"),
    ]);
    assert!(!t.has("instantaneous_voltage_l1"));
    assert_eq!(t.failures(), vec![]);
    assert_eq!(t.mbus(1)["equipment_id"], "G0002340157267314");
    // `(000101010000W)(0000000000)`: no unit and zero, the unset-device placeholder.
    t.placeholder("hourly_gas_meter_reading");

    let t = one("LandisGyr-XMX5LGBBFG1009325446_dsmr4.2_dsmrtools.txt");
    assert_eq!(t.top("crc"), "BB2A");
    assert_eq!(t.top("timestamp"), "2019-09-05T19:40:03Z");
    assert_eq!(t.top("meter_id"), "E0031003239456716");
    t.text("electricity_active_tariff", "0002");
    t.qs(&[
        ("electricity_used_tariff_1", 3235.689, "kWh"),
        ("electricity_used_tariff_2", 6777.240, "kWh"),
        ("electricity_delivered_tariff_1", 0.313, "kWh"),
        ("electricity_delivered_tariff_2", 0.0, "kWh"),
        ("current_electricity_usage", 0.374, "kW"),
        ("current_electricity_delivery", 0.0, "kW"),
        ("short_power_failure_count", 3.0, ""),
        ("long_power_failure_count", 1.0, ""),
        ("voltage_sag_l1_count", 0.0, ""),
        ("voltage_swell_l1_count", 0.0, ""),
        ("instantaneous_current_l1", 2.0, "A"),
        ("instantaneous_active_power_l1_positive", 0.374, "kW"),
        ("instantaneous_active_power_l1_negative", 0.0, "kW"),
    ]);
    for absent in ["voltage_sag_l2_count", "instantaneous_current_l2", "instantaneous_voltage_l1"] {
        assert!(!t.has(absent), "{absent}");
    }
    // End 2017-01-17T06:59:12+01:00 after PT2H40M6S.
    assert_eq!(t.failures(), f(&[("2017-01-17T05:59:12Z", 9606.0)]));
    assert_eq!(t.mbus(1)["device_type"], 3);
    assert_eq!(t.mbus(1)["equipment_id"], "G0019340315370616");
    t.reading("hourly_gas_meter_reading", 1091.352, "m3", "2019-09-05T19:00:00Z");
}

#[test]
fn landis_gyr_athombv_bad_crc() {
    let t = one_bad_crc("LandisGyr-XMX5LGBBFG10_dsmr4.2_athombv.txt");
    t.text("p1_message_header", "42");
    assert_eq!(t.top("timestamp"), "2017-01-08T15:11:07Z");
    assert_eq!(t.top("meter_id"), "E0031003001699515");
    t.text("electricity_active_tariff", "0001");
    t.qs(&[
        ("short_power_failure_count", 4.0, ""),
        ("long_power_failure_count", 3.0, ""),
        ("electricity_used_tariff_1", 2074.842, "kWh"),
        ("electricity_delivered_tariff_1", 10.981, "kWh"),
        ("electricity_used_tariff_2", 881.383, "kWh"),
        ("electricity_delivered_tariff_2", 28.031, "kWh"),
        ("current_electricity_usage", 0.494, "kW"),
        ("current_electricity_delivery", 0.0, "kW"),
        ("instantaneous_current_l1", 3.0, "A"),
        ("instantaneous_active_power_l1_positive", 0.494, "kW"),
    ]);
    t.reading("hourly_gas_meter_reading", 1234.0, "m3", "2017-01-08T15:00:00Z");
    assert_eq!(
        t.failures(),
        f(&[("2016-03-15T17:42:19Z", 310.0), ("2016-02-07T15:48:37Z", 981.0), ("2015-11-18T07:56:23Z", 502496.0)])
    );
}

// ---------------------------------------------------------------------------------------
// DSMR 5 (NL)
// ---------------------------------------------------------------------------------------

#[test]
fn iskra_am550_dsmrtools() {
    let t = one("Iskra-AM550-M550T-1012_dsmr5.0_dsmrtools.txt");
    assert_eq!(t.top("header"), "/ISK5\\2M550T-1012");
    assert_eq!(t.top("crc"), "9DF0");
    assert_eq!(t.top("dsmr_version"), "5");
    t.text("p1_message_header", "50");
    // 2019-03-24T15:05:41+01:00
    assert_eq!(t.top("timestamp"), "2019-03-24T14:05:41Z");
    assert_eq!(t.top("meter_id"), "E0044007131650618");
    t.null("text_message");
    t.text("electricity_active_tariff", "0001");
    t.qs(&[
        ("electricity_used_tariff_1", 3432.829, "kWh"),
        ("electricity_used_tariff_2", 3224.632, "kWh"),
        ("electricity_delivered_tariff_1", 0.0, "kWh"),
        ("electricity_delivered_tariff_2", 0.0, "kWh"),
        ("current_electricity_usage", 0.433, "kW"),
        ("current_electricity_delivery", 0.0, "kW"),
        ("short_power_failure_count", 5.0, ""),
        ("long_power_failure_count", 3.0, ""),
        ("voltage_sag_l1_count", 1.0, ""),
        ("voltage_sag_l2_count", 1.0, ""),
        ("voltage_sag_l3_count", 1.0, ""),
        ("voltage_swell_l1_count", 1.0, ""),
        ("voltage_swell_l2_count", 1.0, ""),
        ("voltage_swell_l3_count", 1.0, ""),
        ("instantaneous_voltage_l1", 236.7, "V"),
        ("instantaneous_voltage_l2", 234.5, "V"),
        ("instantaneous_voltage_l3", 236.0, "V"),
        ("instantaneous_current_l1", 0.0, "A"),
        ("instantaneous_current_l2", 0.0, "A"),
        ("instantaneous_current_l3", 2.0, "A"),
        ("instantaneous_active_power_l1_positive", 0.045, "kW"),
        ("instantaneous_active_power_l2_positive", 0.010, "kW"),
        ("instantaneous_active_power_l3_positive", 0.379, "kW"),
        ("instantaneous_active_power_l1_negative", 0.0, "kW"),
        ("instantaneous_active_power_l2_negative", 0.0, "kW"),
        ("instantaneous_active_power_l3_negative", 0.0, "kW"),
    ]);
    // 2018-04-17T20:11:02+02:00 .. 20:14:58+02:00: PT3M56S.
    assert_eq!(t.failures(), f(&[("2018-04-17T18:14:58Z", 236.0)]));
    assert_eq!(t.top("mbus"), json!([]));
}

#[test]
fn iskra_am550_power_failures_and_crcs() {
    let t = one("Iskra-AM550-M550T-1012-powerfailure_dsmr5.0_dsmrtools.txt");
    assert_eq!(t.top("crc_ok"), true);
    // PT3M56S ending 2018-04-17T20:14:58+02:00; PT48M56S ending 2022-05-25T09:43:46+02:00.
    assert_eq!(t.failures(), f(&[("2018-04-17T18:14:58Z", 236.0), ("2022-05-25T07:43:46Z", 2936.0)]));

    let t = one("Iskra-AM550-M550T-1012-crcvalidator_dsmr5.0_dsmrtools.txt");
    assert_eq!(t.top("crc"), "478B");
    assert_eq!(t.top("crc_ok"), true);

    // dsmr-tools: CRC 1234 extracted and wrong.
    let bytes = recording("Iskra-AM550-short-badcrc_dsmr5.0_dsmrtools.txt");
    let d = decode_bytes(&bytes, true, AMSTERDAM, None);
    assert!(d.telegrams.is_empty());
    assert!(matches!(d.errors[..], [DecodeError::Frame(Reject::CrcMismatch { sent: 0x1234, computed: 0xFC67 })]));
    let d = decode_bytes(&bytes, false, AMSTERDAM, None);
    assert_eq!(d.telegrams[0]["crc"], "1234");
    assert_eq!(d.telegrams[0]["crc_ok"], false);

    // dsmr-tools reads the whole input as one invalid telegram. A `/` restarts framing
    // (FACTS Q6): the cut-off first telegram is rejected, the complete second one is valid.
    let d = decode_bytes(&recording("Iskra-AM550-truncated-then-full_dsmr5.0_dsmrtools.txt"), true, AMSTERDAM, None);
    assert!(matches!(d.errors[..], [DecodeError::Frame(Reject::Truncated { .. })]));
    assert_eq!(d.telegrams.len(), 1);
    assert_eq!(d.telegrams[0]["crc"], "34B6");
    assert_eq!(d.telegrams[0]["crc_ok"], true);
    assert_eq!(d.telegrams[0]["timestamp"], "2022-05-28T13:02:45Z");
}

#[test]
fn iskra_am550_dsmr5rs() {
    let t = one("Iskra-AM550-M550E-1012_dsmr5.0_dsmr5rs.txt");
    assert_eq!(t.top("header"), "/ISK5\\2M550E-1012");
    t.text("p1_message_header", "50");
    // TST 19-03-20 18:14:03, dst = false.
    assert_eq!(t.top("timestamp"), "2019-03-20T17:14:03Z");
    assert_eq!(t.top("meter_id"), "E0043007052870318");
    t.q("electricity_used_tariff_1", 576.239, "kWh");
    t.q("electricity_used_tariff_2", 465.162, "kWh");
    t.text("electricity_active_tariff", "0002");
    t.q("short_power_failure_count", 9.0, "");
}

#[test]
fn iskra_am550_athombv() {
    let t = one("Iskra-AM550-M550T-1011_dsmr5.0_athombv.txt");
    assert_eq!(t.top("crc"), "1F28");
    t.text("p1_message_header", "50");
    // athombv "2018-11-06T14:04:29.000Z" is the local `181106140429W`.
    assert_eq!(t.top("timestamp"), "2018-11-06T13:04:29Z");
    t.text("equipment_identifier", "E0034006810516416");
    assert_eq!(t.obj("equipment_identifier")["raw"], "4530303334303036383130353136343136");
    t.null("text_message");
    t.text("electricity_active_tariff", "0002");
    t.qs(&[
        ("short_power_failure_count", 6.0, ""),
        ("long_power_failure_count", 3.0, ""),
        ("voltage_sag_l1_count", 3.0, ""),
        ("voltage_sag_l2_count", 2.0, ""),
        ("voltage_sag_l3_count", 2.0, ""),
        ("voltage_swell_l1_count", 1.0, ""),
        ("voltage_swell_l2_count", 1.0, ""),
        ("voltage_swell_l3_count", 1.0, ""),
        ("electricity_used_tariff_1", 3808.351, "kWh"),
        ("electricity_delivered_tariff_1", 1285.951, "kWh"),
        ("electricity_used_tariff_2", 2948.827, "kWh"),
        ("electricity_delivered_tariff_2", 2876.514, "kWh"),
        ("current_electricity_usage", 0.0, "kW"),
        ("current_electricity_delivery", 0.498, "kW"),
        ("instantaneous_voltage_l1", 236.0, "V"),
        ("instantaneous_voltage_l2", 232.6, "V"),
        ("instantaneous_voltage_l3", 235.1, "V"),
        ("instantaneous_current_l1", 2.0, "A"),
        ("instantaneous_current_l2", 0.0, "A"),
        ("instantaneous_current_l3", 0.0, "A"),
        ("instantaneous_active_power_l1_positive", 0.0, "kW"),
        ("instantaneous_active_power_l2_positive", 0.033, "kW"),
        ("instantaneous_active_power_l3_positive", 0.132, "kW"),
        ("instantaneous_active_power_l1_negative", 0.676, "kW"),
        ("instantaneous_active_power_l2_negative", 0.0, "kW"),
        ("instantaneous_active_power_l3_negative", 0.0, "kW"),
    ]);
    let gas = t.mbus(1);
    assert_eq!(gas["device_type"], 3);
    assert_eq!(gas["equipment_id"], "G0039001700460117");
    t.reading("hourly_gas_meter_reading", 1569.646, "m3", "2018-11-06T13:00:10Z");
    // athombv leaves the log unparsed: (180529135630S)(0000002451*s).
    assert_eq!(t.failures(), f(&[("2018-05-29T11:56:30Z", 2451.0)]));
}

#[test]
fn iskra_am550_evcc() {
    // evcc: power 532 W, energy 3.190 kWh (both tariffs), currents 0/1/1 A,
    // voltages 236.8/236.1/238.4 V, phase powers 56/270/206 W.
    let t = one("Iskra-AM550-M550T-1011-nlrb_dsmr5.0_evcc.txt");
    t.qs(&[
        ("current_electricity_usage", 0.532, "kW"),
        ("electricity_used_tariff_1", 0.626, "kWh"),
        ("electricity_used_tariff_2", 2.564, "kWh"),
        ("instantaneous_current_l1", 0.0, "A"),
        ("instantaneous_current_l2", 1.0, "A"),
        ("instantaneous_current_l3", 1.0, "A"),
        ("instantaneous_voltage_l1", 236.8, "V"),
        ("instantaneous_voltage_l2", 236.1, "V"),
        ("instantaneous_voltage_l3", 238.4, "V"),
        ("instantaneous_active_power_l1_positive", 0.056, "kW"),
        ("instantaneous_active_power_l2_positive", 0.270, "kW"),
        ("instantaneous_active_power_l3_positive", 0.206, "kW"),
    ]);
    // `1-0:99.97.0()`: an empty log.
    assert_eq!(t.failures(), vec![]);
}

#[test]
fn mcs5_unconfigured_mbus() {
    let t = one("MCS5-unknown_dsmr5.0_dsmr5rs.txt");
    assert_eq!(t.top("header"), "/MCS50000000000000");
    t.text("p1_message_header", "50");
    // `000000000000W`: no time.
    assert_eq!(t.top("timestamp"), J::Null);
    // dsmr5rs: device type none, reading none.
    t.null("device_type");
    t.null("equipment_identifier_gas");
    t.placeholder("hourly_gas_meter_reading");
    assert_eq!(t.mbus(1)["readings"].as_array().map(Vec::len), Some(1));
}

#[test]
fn sagemcom_dsmr5_dsmrtools() {
    let t = one("Sagemcom-CX2000-ESMR5_dsmr5.0_dsmrtools.txt");
    assert_eq!(t.top("header"), "/Ene5\\SAGEMCOM CX2000-");
    assert_eq!(t.top("crc"), "0B43");
    assert_eq!(t.top("timestamp"), "2018-12-02T05:09:10Z");
    assert_eq!(t.top("meter_id"), "STTTT123450027317");
    t.null("text_message");
    t.text("electricity_active_tariff", "0001");
    t.qs(&[
        ("electricity_used_tariff_1", 98.508, "kWh"),
        ("electricity_used_tariff_2", 0.0, "kWh"),
        ("electricity_delivered_tariff_1", 0.917, "kWh"),
        ("electricity_delivered_tariff_2", 0.0, "kWh"),
        ("current_electricity_usage", 0.004, "kW"),
        ("current_electricity_delivery", 0.0, "kW"),
        ("short_power_failure_count", 933.0, ""),
        ("long_power_failure_count", 108.0, ""),
        ("voltage_sag_l1_count", 60.0, ""),
        ("voltage_sag_l2_count", 44.0, ""),
        ("voltage_sag_l3_count", 45.0, ""),
        ("voltage_swell_l1_count", 0.0, ""),
        ("instantaneous_voltage_l1", 227.0, "V"),
        ("instantaneous_voltage_l2", 226.0, "V"),
        ("instantaneous_voltage_l3", 228.0, "V"),
        ("instantaneous_current_l1", 0.0, "A"),
        ("instantaneous_active_power_l1_positive", 0.004, "kW"),
        ("instantaneous_active_power_l2_positive", 0.0, "kW"),
        ("instantaneous_active_power_l1_negative", 0.0, "kW"),
    ]);
    assert_eq!(t.top("mbus"), json!([]));
    // dsmr-tools gives (start, end, duration) in local time; end = start + duration.
    assert_eq!(
        t.failures(),
        f(&[
            ("2018-12-01T02:08:14Z", 758635.0),  // PT210H43M55S
            ("2018-09-04T15:39:23Z", 1820.0),    // PT30M20S
            ("2018-07-07T20:04:40Z", 24288.0),   // PT6H44M48S
            ("2018-06-11T18:44:09Z", 2246666.0), // PT624H4M26S
            ("2018-04-25T15:52:48Z", 2897.0),    // PT48M17S
            ("2018-04-20T20:16:54Z", 1068.0),    // PT17M48S
            ("2018-02-26T19:34:38Z", 952147.0),  // PT264H29M7S
            ("2018-02-15T18:23:56Z", 268881.0),  // PT74H41M21S
            ("2018-02-09T17:43:37Z", 3307.0),    // PT55M7S
            ("2018-02-08T19:07:17Z", 266.0),     // PT4M26S
        ])
    );

    let t = one("Sagemcom-XS210-ESMR5_dsmr5.0_dsmrtools.txt");
    assert_eq!(t.top("header"), "/Ene5\\XS210 ESMR 5.0");
    assert_eq!(t.failures(), vec![]);
}

#[test]
fn sagemcom_t210_smeterd() {
    let t = one("Sagemcom-T210-D-Ene5-smeterd_dsmr5.0_smeterd.txt");
    assert_eq!(t.top("header"), "/Ene5\\T210-D ESMR5.0");
    // Sent as `!521`: a CRC without its leading zero (FACTS Q1).
    assert_eq!(t.top("crc"), "0521");
    t.text("p1_message_header", "50");
    t.text("equipment_identifier", "E0048000011907618");
    t.text("electricity_active_tariff", "0001");
    t.qs(&[
        ("electricity_used_tariff_1", 5491.102, "kWh"),
        ("electricity_used_tariff_2", 3602.765, "kWh"),
        ("electricity_delivered_tariff_1", 3355.937, "kWh"),
        ("electricity_delivered_tariff_2", 8025.525, "kWh"),
        ("current_electricity_usage", 2.721, "kW"),
        ("current_electricity_delivery", 0.0, "kW"),
        ("instantaneous_voltage_l1", 232.0, "V"),
        ("instantaneous_current_l1", 8.0, "A"),
        ("instantaneous_active_power_l1_positive", 1.924, "kW"),
        ("instantaneous_voltage_l2", 235.0, "V"),
        ("instantaneous_current_l2", 2.0, "A"),
        ("instantaneous_active_power_l2_positive", 0.552, "kW"),
        ("instantaneous_voltage_l3", 235.0, "V"),
        ("instantaneous_current_l3", 1.0, "A"),
        ("instantaneous_active_power_l3_positive", 0.244, "kW"),
    ]);
    assert!(!t.has("actual_treshold_electricity") && !t.has("actual_switch_position"));
    assert!(!t.has("text_message_code"));
    t.null("text_message");
    assert_eq!(t.top("mbus"), json!([]));
}

#[test]
fn sagemcom_t211_dsmr5rs() {
    let t = one("Sagemcom-T211-Ene5_dsmr5.0_dsmr5rs.txt");
    assert_eq!(t.top("header"), "/Ene5\\T211 ESMR 5.0");
    t.text("p1_message_header", "50");
    t.q("instantaneous_active_power_l1_positive", 0.087, "kW");
    t.q("instantaneous_active_power_l2_positive", 0.088, "kW");
    t.q("instantaneous_active_power_l3_positive", 0.323, "kW");
}

#[test]
fn sagemcom_athombv_anonymised() {
    let t = one_bad_crc("Sagemcom-T210-D-ene1_dsmr5.0_athombv.txt");
    // `210330192305S`
    assert_eq!(t.top("timestamp"), "2021-03-30T17:23:05Z");
    t.text("equipment_identifier", "serienummer");
    t.text("electricity_active_tariff", "0002");
    t.qs(&[
        ("short_power_failure_count", 220.0, ""),
        ("long_power_failure_count", 34.0, ""),
        ("voltage_sag_l1_count", 24.0, ""),
        ("voltage_sag_l2_count", 24.0, ""),
        ("voltage_sag_l3_count", 24.0, ""),
        ("voltage_swell_l2_count", 0.0, ""),
        ("electricity_used_tariff_1", 9.533, "kWh"),
        ("electricity_delivered_tariff_1", 2248.911, "kWh"),
        ("electricity_used_tariff_2", 14.154, "kWh"),
        ("electricity_delivered_tariff_2", 5072.177, "kWh"),
        ("current_electricity_usage", 0.0, "kW"),
        ("current_electricity_delivery", 0.566, "kW"),
        ("instantaneous_voltage_l1", 226.0, "V"),
        ("instantaneous_voltage_l2", 227.0, "V"),
        ("instantaneous_voltage_l3", 226.0, "V"),
        ("instantaneous_current_l1", 4.0, "A"),
        ("instantaneous_current_l2", 4.0, "A"),
        ("instantaneous_current_l3", 4.0, "A"),
        ("instantaneous_active_power_l1_positive", 0.0, "kW"),
        ("instantaneous_active_power_l1_negative", 0.068, "kW"),
        ("instantaneous_active_power_l2_negative", 0.240, "kW"),
        ("instantaneous_active_power_l3_negative", 0.257, "kW"),
    ]);
    assert_eq!(t.top("mbus"), json!([]));
    let log = t.failures();
    assert_eq!(log.len(), 9);
    assert_eq!(log[0], ("2019-02-21T19:18:23Z".to_string(), 12287.0));
    assert_eq!(log[8], ("2019-02-13T21:02:45Z".to_string(), 230.0));

    let t = one_bad_crc("Sagemcom-T210-D-ene2_dsmr5.0_athombv.txt");
    assert_eq!(t.top("timestamp"), "2018-01-08T19:25:37Z");
    t.qs(&[
        ("short_power_failure_count", 8.0, ""),
        ("long_power_failure_count", 4.0, ""),
        ("voltage_sag_l3_count", 2.0, ""),
        ("electricity_used_tariff_1", 0.855, "kWh"),
        ("electricity_delivered_tariff_1", 0.084, "kWh"),
        ("electricity_used_tariff_2", 0.693, "kWh"),
        ("electricity_delivered_tariff_2", 0.0, "kWh"),
        ("current_electricity_usage", 0.134, "kW"),
        ("instantaneous_voltage_l2", 226.0, "V"),
        ("instantaneous_active_power_l1_positive", 0.094, "kW"),
        ("instantaneous_active_power_l2_positive", 0.040, "kW"),
    ]);
    assert_eq!(t.mbus(1)["equipment_id"], "serienummer");
    // athombv "2018-01-08T20:55:00.000Z" is the local `180108205500W`.
    t.reading("hourly_gas_meter_reading", 1.29, "m3", "2018-01-08T19:55:00Z");
    assert_eq!(t.failures(), f(&[("2017-10-24T18:46:25Z", 305.0)]));

    let t = one_bad_crc("Sagemcom-T211-ene3_dsmr5.0_athombv.txt");
    assert_eq!(t.top("timestamp"), "2024-02-20T16:09:58Z");
    assert_eq!(t.top("meter_id"), "E0062000014526223");
    t.qs(&[
        ("short_power_failure_count", 10.0, ""),
        ("long_power_failure_count", 3.0, ""),
        ("electricity_used_tariff_1", 565.971, "kWh"),
        ("electricity_delivered_tariff_1", 6.754, "kWh"),
        ("electricity_used_tariff_2", 694.269, "kWh"),
        ("electricity_delivered_tariff_2", 7.849, "kWh"),
        ("current_electricity_usage", 0.723, "kW"),
        ("instantaneous_voltage_l2", 225.0, "V"),
        ("instantaneous_current_l1", 3.0, "A"),
        ("instantaneous_active_power_l1_positive", 0.654, "kW"),
        ("instantaneous_active_power_l2_positive", 0.069, "kW"),
        ("instantaneous_active_power_l2_negative", 0.0, "kW"),
        ("instantaneous_active_power_l3_negative", 0.0, "kW"),
    ]);
    // `1-0:42.1.0` (sic, where 22.7.0 belongs) stays unknown, as in athombv.
    assert_eq!(t.at("1-0:42.1.0")["unknown"], true);
    assert!(!t.has("instantaneous_active_power_l1_negative"));
    assert_eq!(t.mbus(1)["equipment_id"], "G0072003964498719");
    t.reading("hourly_gas_meter_reading", 6362.12, "m3", "2024-02-20T16:10:00Z");
    assert_eq!(t.failures(), vec![]);
}

#[test]
fn spec_example_dsmr50() {
    for name in [
        "spec-example-DSMR5.0_dsmr5.0_athombv.txt",
        "spec-example-DSMR5.0-dsmrtools_dsmr5.0_dsmrtools.txt",
        "spec-example-DSMR5.0-lowercase_dsmr5.0_athombv.txt",
    ] {
        let t = one_bad_crc(name);
        assert_eq!(t.top("crc"), "EF2F", "{name}");
        assert_eq!(t.top("dsmr_version"), "5");
        t.text("p1_message_header", "50");
        assert_eq!(t.top("timestamp"), "2010-12-09T10:30:20Z");
        assert_eq!(t.top("meter_id"), "K8EG004046395507");
        t.text("text_message", &"0123456789:;<=>?".repeat(5));
        t.text("electricity_active_tariff", "0002");
        // The lowercase file writes `kwh`, `v`, `a`: units come out as the meter wrote them.
        let lower = name.contains("lowercase");
        let u = |unit: &str| if lower { unit.to_ascii_lowercase() } else { unit.to_string() };
        for (field, value, unit) in [
            ("electricity_used_tariff_1", 123456.789, "kWh"),
            ("electricity_used_tariff_2", 123456.789, "kWh"),
            ("electricity_delivered_tariff_1", 123456.789, "kWh"),
            ("electricity_delivered_tariff_2", 123456.789, "kWh"),
            ("current_electricity_usage", 1.193, "kW"),
            ("current_electricity_delivery", 0.0, "kW"),
            ("short_power_failure_count", 4.0, ""),
            ("long_power_failure_count", 2.0, ""),
            ("voltage_sag_l1_count", 2.0, ""),
            ("voltage_sag_l2_count", 1.0, ""),
            ("voltage_sag_l3_count", 0.0, ""),
            ("voltage_swell_l2_count", 3.0, ""),
            ("instantaneous_voltage_l1", 220.1, "V"),
            ("instantaneous_voltage_l2", 220.2, "V"),
            ("instantaneous_voltage_l3", 220.3, "V"),
            ("instantaneous_current_l1", 1.0, "A"),
            ("instantaneous_current_l2", 2.0, "A"),
            ("instantaneous_current_l3", 3.0, "A"),
            ("instantaneous_active_power_l1_positive", 1.111, "kW"),
            ("instantaneous_active_power_l2_positive", 2.222, "kW"),
            ("instantaneous_active_power_l3_positive", 3.333, "kW"),
            ("instantaneous_active_power_l1_negative", 4.444, "kW"),
            ("instantaneous_active_power_l2_negative", 5.555, "kW"),
            ("instantaneous_active_power_l3_negative", 6.666, "kW"),
        ] {
            t.q(field, value, &u(unit));
        }
        assert_eq!(t.mbus(1)["device_type"], 3);
        assert_eq!(t.mbus(1)["equipment_id"], "2222ABCD123456789");
        // 2010-12-09T11:25+01:00
        t.reading("hourly_gas_meter_reading", 12785.123, "m3", "2010-12-09T10:25:00Z");
        assert_eq!(t.failures(), f(&[("2010-12-08T14:24:15Z", 240.0), ("2010-12-08T14:10:04Z", 301.0)]));
    }
}

#[test]
fn the_telegram_api_agrees_with_the_json() {
    let bytes = recording("Iskra-AM550-M550T-1012_dsmr5.0_dsmrtools.txt");
    let mut decoder = Decoder::new(DecoderOptions::default());
    let mut seen = 0;
    decoder.feed(&bytes, |d| {
        let Decoded::Telegram(t) = d else { panic!("rejected") };
        seen += 1;
        assert_eq!(t.number("electricity_used_tariff_1").map(|d| d.to_string()), Some("3432.829".into()));
        assert_eq!(t.number("instantaneous_voltage_l2").map(|d| d.to_f64()), Some(234.5));
        assert_eq!(t.meter_id().as_deref(), Some("E0044007131650618"));
        let tariff = t.get(Obis::new(0, 0, 96, 14, 0)).expect("tariff");
        assert_eq!(tariff.value, Value::Text("0001"));
        let ts = t.timestamp().expect("timestamp");
        assert_eq!((ts.year, ts.month, ts.day, ts.hour, ts.minute, ts.second), (2019, 3, 24, 15, 5, 41));
    });
    assert_eq!(seen, 1);
}

// ---------------------------------------------------------------------------------------
// Belgium (Fluvius e-MUCS), and the XT211 with peaks
// ---------------------------------------------------------------------------------------

#[test]
fn fluvius_emucs_211_spec_example() {
    let t = one_bad_crc("spec-example-Fluvius-eMUCS-2.1.1-ex2_e-MUCS-P1-2.1.1-BE_athombv.txt");
    assert_eq!(t.top("dsmr_version"), "5B");
    assert_eq!(t.top("crc"), "1234");
    t.text("belgium_version_information", "50221");
    t.text("belgium_equipment_identifier", "1SAG1100000231");
    t.text("belgium_ean", "541440012345678900");
    // athombv "2020-05-12T14:55:52.000Z" is the local `200512145552S`.
    assert_eq!(t.top("timestamp"), "2020-05-12T12:55:52Z");
    t.text("electricity_active_tariff", "0001");
    t.qs(&[
        ("electricity_used_tariff_1", 0.915, "kWh"),
        ("electricity_delivered_tariff_1", 0.0, "kWh"),
        ("electricity_used_tariff_2", 1.955, "kWh"),
        ("electricity_delivered_tariff_2", 0.030, "kWh"),
        ("current_electricity_usage", 0.0, "kW"),
        ("current_electricity_delivery", 0.0, "kW"),
        ("instantaneous_active_power_l1_positive", 0.0, "kW"),
        ("instantaneous_active_power_l1_negative", 0.0, "kW"),
        ("instantaneous_voltage_l1", 234.6, "V"),
        ("instantaneous_current_l1", 0.0, "A"),
        ("belgium_current_average_demand", 2.351, "kW"),
        ("actual_switch_position", 1.0, ""),
        ("belgium_max_power_per_phase", 99.999, "kW"),
        ("belgium_max_current_per_phase", 999.99, "A"),
    ]);
    // `(200509134558S)(02.589*kW)`
    t.reading("belgium_maximum_demand_month", 2.589, "kW", "2020-05-09T11:45:58Z");
    let history = t.obj("belgium_maximum_demand_13_months");
    assert_eq!(history["value"], 3);
    assert_eq!(
        history["entries"],
        json!([
            {"timestamp": "2020-04-23T17:25:38Z", "recorded_at": "2020-04-30T22:00:00Z", "value": 3.695, "unit": "kW"},
            // `(200305122139S)` and `(200301000000S)` flag summer time in March: the
            // zone's time is kept (11:21:39Z, and a month start in Brussels), as
            // dsmr_parser's own test of this telegram expects.
            {"timestamp": "2020-03-05T11:21:39Z", "recorded_at": "2020-03-31T22:00:00Z", "value": 5.98, "unit": "kW"},
            {"timestamp": "2020-02-10T02:54:21Z", "recorded_at": "2020-02-29T23:00:00Z", "value": 4.318, "unit": "kW"},
        ])
    );
    // Gas on 24.2.3 and water on channel 2, ids on 96.1.1 (athombv leaves those unknown).
    let gas = t.mbus(1);
    assert_eq!((gas["device_type"].clone(), gas["medium"].clone()), (json!(3), json!("gas")));
    assert_eq!(gas["equipment_id"], "7FLO2119033733");
    t.text("mbus_ean", "541440012345678900");
    t.reading("gas_meter_reading", 112.384, "m3", "2020-05-12T11:45:58Z");
    let water = t.mbus(2);
    assert_eq!((water["device_type"].clone(), water["medium"].clone()), (json!(7), json!("water")));
    assert_eq!(water["equipment_id"], "8SAG1234567890");
    t.text("equipment_identifier_water", "8SAG1234567890");
    t.reading("water_meter_reading", 872.234, "m3", "2020-05-12T11:45:58Z");
    for ch in ["0-1:96.3.10", "0-2:96.3.10", "0-3:96.3.10", "0-4:96.3.10"] {
        assert_eq!(t.at(ch)["name"], "mbus_control_state");
        assert_eq!(t.at(ch)["value"], 0);
    }
}

#[test]
fn fluvius_anonymised_openhab() {
    // Units written without `*` (`000123.456kWh`, `005A`); openHAB: no unknown objects.
    let t = one("Fluvius-FLU5-anon_e-MUCS-P1-1.7.x-BE_openhab.txt");
    t.no_unknown_codes();
    assert_eq!(t.top("dsmr_version"), "5B");
    t.text("belgium_version_information", "50213");
    assert_eq!(t.top("timestamp"), "2019-11-27T23:00:00Z");
    t.qs(&[
        ("electricity_used_tariff_1", 123.456, "kWh"),
        ("electricity_used_tariff_2", 234.567, "kWh"),
        ("electricity_delivered_tariff_1", 345.678, "kWh"),
        ("electricity_delivered_tariff_2", 456.789, "kWh"),
        ("current_electricity_usage", 1.234, "kW"),
        ("instantaneous_voltage_l1", 234.5, "V"),
        ("instantaneous_current_l1", 5.0, "A"),
        ("belgium_max_power_per_phase", 999.9, "kW"),
        ("belgium_max_current_per_phase", 999.0, "A"),
    ]);
    t.reading("gas_meter_reading", 99.999, "m3", "2019-11-27T23:00:00Z");

    let t = one("Fluvius-FLU5-anon-3phase_e-MUCS-P1-1.7.x-BE_openhab.txt");
    t.no_unknown_codes();
    // Currents with two decimals from firmware 50215/50217 on.
    t.q("instantaneous_current_l2", 0.80, "A");
    t.q("instantaneous_current_l3", 1.39, "A");
    t.q("instantaneous_active_power_l3_negative", 0.271, "kW");

    // `0-1:24.2.3(632525252525W)(00000.000)`: the unreachable-device placeholder (FACTS Q15).
    let t = one("Fluvius-FLU5-anon-invalid-gas_e-MUCS-P1-1.7.x-BE_openhab.txt");
    t.no_unknown_codes();
    assert_eq!(
        t.obj("gas_meter_reading"),
        &json!({"obis": "0-1:24.2.3", "name": "gas_meter_reading", "channel": 1,
                "value": 0.0, "timestamp": null, "raw_timestamp": "632525252525W", "placeholder": true})
    );
    assert_eq!(t.mbus(1)["readings"], json!([t.obj("gas_meter_reading")]));
}

#[test]
fn sagemcom_xt211_with_peaks() {
    let d = decode_bytes(&recording("Sagemcom-XT211-GRE5_DSMR5-like_athombv.txt"), false, AMSTERDAM, None);
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    let t = T(d.telegrams.into_iter().next().expect("telegram"));
    assert_eq!(t.top("header"), "/GRE5\\\\12341234_A");
    assert_eq!(t.top("dsmr_version"), "5B");
    // `123412341234W` (anonymised) is no time, and reported as such; athombv's
    // "2014-10-13..." is a JS Date rollover.
    assert_eq!(t.top("timestamp"), J::Null);
    assert_eq!(
        t.0["errors"],
        json!([{"line": 3, "text": "0-0:1.0.0(123412341234W)",
                "error": "timestamp `123412341234W` of 0-0:1.0.0 is not a valid time (no such month); no time given, the text kept in `raw`"}])
    );
    // Energy and power on measurement channel B = 1 (`1-1:1.8.1`), as athombv reads them.
    assert_eq!(t.obj("electricity_used_tariff_1")["obis"], "1-1:1.8.1");
    t.text("electricity_active_tariff", "0001");
    t.qs(&[
        ("electricity_used_tariff_1", 1595.070, "kWh"),
        ("electricity_delivered_tariff_1", 4478.038, "kWh"),
        ("electricity_used_tariff_2", 5216.778, "kWh"),
        ("electricity_delivered_tariff_2", 4.648, "kWh"),
        ("current_electricity_usage", 1.622, "kW"),
        ("current_electricity_delivery", 0.0, "kW"),
        ("instantaneous_voltage_l1", 238.9, "V"),
        ("instantaneous_voltage_l2", 231.9, "V"),
        ("instantaneous_voltage_l3", 239.7, "V"),
        ("instantaneous_current_l1", 5.15, "A"),
        ("instantaneous_current_l2", 17.19, "A"),
        ("instantaneous_current_l3", 5.02, "A"),
        ("instantaneous_active_power_l1_positive", 0.0, "kW"),
        ("instantaneous_active_power_l2_positive", 3.946, "kW"),
        ("instantaneous_active_power_l3_positive", 0.0, "kW"),
        ("instantaneous_active_power_l1_negative", 1.175, "kW"),
        ("instantaneous_active_power_l2_negative", 0.0, "kW"),
        ("instantaneous_active_power_l3_negative", 1.148, "kW"),
        ("short_power_failure_count", 18.0, ""),
        ("long_power_failure_count", 4.0, ""),
        ("voltage_sag_l1_count", 2.0, ""),
        ("voltage_sag_l2_count", 1.0, ""),
        ("voltage_sag_l3_count", 1.0, ""),
        ("voltage_swell_l1_count", 0.0, ""),
        ("belgium_current_average_demand", 0.288, "kW"),
    ]);
    t.null("text_message");
    t.null("text_message_code");
    t.text("belgium_version_information", "12345");
    // 48 blanks, hex-encoded.
    t.text("belgium_ean", "");
    t.reading("belgium_maximum_demand_month", 15.206, "kW", "2025-03-15T00:45:00Z");
    // `0-0:98.1.0(12)`: a count with no entries.
    assert_eq!(t.obj("belgium_maximum_demand_13_months")["entries"], json!([]));
    assert_eq!(t.failures(), f(&[("2024-05-23T12:49:34Z", 5564711.0), ("2024-11-09T07:31:38Z", 124.0)]));
    assert_eq!(t.at("0-0:0.0.0")["unknown"], true);
}

#[test]
fn an_ean_never_set_shows_as_its_dashes() {
    // An L+G E360 on the Fluvius network (dsmr3Lib's fixture): `0-0:96.1.2` holds 18 dashes,
    // hex-encoded; the hex stays in `raw`.
    let t = constructed(
        "/LGF5E360",
        &["0-0:96.1.4(50221)", "0-0:96.1.2(2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D)", "1-0:1.8.1(000123.456*kWh)"],
    );
    assert_eq!(t.top("dsmr_version"), "5B");
    t.text("belgium_ean", "------------------");
    assert_eq!(t.obj("belgium_ean")["raw"], "2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D");
}

// ---------------------------------------------------------------------------------------
// Luxembourg (Smarty)
// ---------------------------------------------------------------------------------------

fn smarty_spec_example(t: &T) {
    assert_eq!(t.top("dsmr_version"), "5L");
    t.text("p1_message_header", "42");
    // athombv "2020-07-06T10:41:57.000Z" is the local `200706104157S`.
    assert_eq!(t.top("timestamp"), "2020-07-06T08:41:57Z");
    assert_eq!(t.top("meter_id"), "SAG1030790002574");
    t.text("luxembourg_equipment_identifier", "SAG1030790002574");
    t.qs(&[
        ("electricity_imported_total", 25.653, "kWh"),
        ("electricity_exported_total", 0.040, "kWh"),
        ("electricity_reactive_imported_total", 0.835, "kvarh"),
        ("electricity_reactive_exported_total", 63.781, "kvarh"),
        ("current_electricity_usage", 0.005, "kW"),
        ("current_electricity_delivery", 0.0, "kW"),
        ("current_reactive_imported", 0.0, "kvar"),
        ("current_reactive_exported", 0.0, "kvar"),
        ("actual_treshold_electricity", 69.0, "kVA"),
        ("current_apparent_imported", 0.021, "kVA"),
        ("current_apparent_exported", 0.0, "kVA"),
        ("actual_switch_position", 1.0, ""),
        ("relay_1_switch_position", 0.0, ""),
        ("relay_2_switch_position", 0.0, ""),
        ("short_power_failure_count", 99.0, ""),
        ("voltage_sag_l1_count", 40.0, ""),
        ("voltage_sag_l2_count", 3.0, ""),
        ("voltage_sag_l3_count", 2.0, ""),
        ("voltage_swell_l1_count", 0.0, ""),
        ("instantaneous_voltage_l1", 233.0, "V"),
        ("instantaneous_voltage_l2", 0.0, "V"),
        ("instantaneous_voltage_l3", 1.0, "V"),
        ("instantaneous_current_l1", 0.0, "A"),
        ("instantaneous_active_power_l1_positive", 0.005, "kW"),
        ("instantaneous_reactive_power_l1_positive", 0.0, "kvar"),
    ]);
    assert_eq!(t.obj("luxembourg_current_thresholds")["value"], json!([100, -63]));
    assert_eq!(t.obj("luxembourg_current_thresholds")["unit"], "A");
    for name in ["text_message", "text_message_2", "text_message_5"] {
        t.null(name);
    }
    assert_eq!(t.mbus(1)["equipment_id"], "FLO189900060355");
    t.reading("hourly_gas_meter_reading", 0.006, "m3", "2020-07-06T08:31:40Z");
    // Channels 2 and 3: water meters with no id and a placeholder reading (athombv: none).
    for ch in [2, 3] {
        let d = t.mbus(ch);
        assert_eq!((d["device_type"].clone(), d["equipment_id"].clone()), (json!(7), J::Null));
        assert_eq!(d["readings"], json!([t.at(&format!("0-{ch}:24.2.1"))]));
        assert_eq!(t.at(&format!("0-{ch}:24.2.1"))["value"], 0.0);
        assert_eq!(t.at(&format!("0-{ch}:24.2.1"))["placeholder"], true);
        assert_eq!(t.at(&format!("0-{ch}:24.2.1"))["name"], "water_meter_reading");
    }
    assert_eq!(t.mbus(4)["equipment_id"], "ELS353589980300");
    assert_eq!(t.at("0-4:24.2.1")["value"], 28.103);
    assert_eq!(t.at("0-4:24.2.1")["timestamp"], "2020-07-06T08:29:00Z");
    let valves: Vec<J> = (1..=4).map(|ch| t.at(&format!("0-{ch}:24.4.0"))["value"].clone()).collect();
    assert_eq!(valves, vec![json!(0), json!(1), json!(1), json!(1)]);
}

#[test]
fn smarty_spec_example_plain_and_encrypted() {
    smarty_spec_example(&one_bad_crc("spec-example-LU-Smarty_smarty1.1-LU_athombv.txt"));
    // The same telegram encrypted with the published test key, with and without the AAD.
    for (name, aad) in [
        ("spec-example-LU-Smarty-encrypted-with-aad_smarty_athombv.bin", Some("ffeeddccbbaa99887766554433221100")),
        ("spec-example-LU-Smarty-encrypted-without-aad_smarty_athombv.bin", None),
    ] {
        let keys = Keys::from_hex("0123456789abcdef0123456789abcdef", aad).expect("key");
        let d = decode_bytes(&recording(name), true, AMSTERDAM, Some(keys));
        assert!(d.errors.is_empty(), "{name}: {:?}", d.errors);
        let t = T(d.telegrams.into_iter().next().expect("a telegram"));
        assert_eq!(t.top("encrypted"), true);
        smarty_spec_example(&t);
    }
}

#[test]
fn smarty_openhab() {
    let t = one("Sagemcom-Smarty-Lux5-253663629_D_smarty-LU_openhab.txt");
    t.no_unknown_codes();
    assert_eq!(t.top("meter_id"), "SAG1030700114004");
    t.q("electricity_imported_total", 6.695, "kWh");
    // No units on some lines of this meter.
    t.q("current_reactive_exported", 0.007, "");
    t.q("actual_treshold_electricity", 77.376, "");
}

// ---------------------------------------------------------------------------------------
// Sweden (H1): always normal time, UTC+1
// ---------------------------------------------------------------------------------------

#[test]
fn kamstrup_kam5_sweden() {
    for tz in ["Europe/Stockholm", AMSTERDAM] {
        let t = one_in("Kamstrup-KAM5_SE-P1_amshan.txt", true, tz);
        assert_eq!(t.top("header"), "/KAM5");
        assert_eq!(t.top("crc"), "92F5");
        assert_eq!(t.top("dsmr_version"), "5S");
        assert_eq!(t.top("meter_id"), J::Null);
        // amshan: meter_datetime 2022-04-08 13:50:21, Swedish normal time even in April.
        assert_eq!(t.top("timestamp"), "2022-04-08T12:50:21Z");
        // amshan gives W / Wh as integers; the meter writes kW / kWh, and kVAr(h).
        t.qs(&[
            ("electricity_imported_total", 60995.424, "kWh"),
            ("electricity_exported_total", 0.0, "kWh"),
            ("electricity_reactive_imported_total", 12.696, "kVArh"),
            ("electricity_reactive_exported_total", 12541.802, "kVArh"),
            ("current_electricity_usage", 2.202, "kW"),
            ("current_electricity_delivery", 0.0, "kW"),
            ("current_reactive_imported", 0.0, "kVAr"),
            ("current_reactive_exported", 0.505, "kVAr"),
            ("instantaneous_active_power_l1_positive", 1.947, "kW"),
            ("instantaneous_active_power_l2_positive", 0.063, "kW"),
            ("instantaneous_active_power_l3_positive", 0.192, "kW"),
            ("instantaneous_active_power_l1_negative", 0.0, "kW"),
            ("instantaneous_active_power_l2_negative", 0.0, "kW"),
            ("instantaneous_active_power_l3_negative", 0.0, "kW"),
            ("instantaneous_reactive_power_l1_positive", 0.0, "kVAr"),
            ("instantaneous_reactive_power_l2_positive", 0.0, "kVAr"),
            ("instantaneous_reactive_power_l3_positive", 0.0, "kVAr"),
            ("instantaneous_reactive_power_l1_negative", 0.204, "kVAr"),
            ("instantaneous_reactive_power_l2_negative", 0.095, "kVAr"),
            ("instantaneous_reactive_power_l3_negative", 0.206, "kVAr"),
            ("instantaneous_current_l1", 8.3, "A"),
            ("instantaneous_current_l2", 0.4, "A"),
            ("instantaneous_current_l3", 1.4, "A"),
            ("instantaneous_voltage_l1", 235.5, "V"),
            ("instantaneous_voltage_l2", 239.5, "V"),
            ("instantaneous_voltage_l3", 239.1, "V"),
        ]);
    }
}

#[test]
fn landis_gyr_e360_sweden() {
    let t = one("LandisGyr-E360-LGF5E360-A_SE-P1_amshan.txt");
    assert_eq!(t.top("header"), "/LGF5E360");
    assert_eq!(t.top("crc"), "A077");
    assert_eq!(t.top("dsmr_version"), "5S");
    // `210222161900W`
    assert_eq!(t.top("timestamp"), "2021-02-22T15:19:00Z");
    t.qs(&[
        ("electricity_imported_total", 896.020, "kWh"),
        ("electricity_exported_total", 48.792, "kWh"),
        ("electricity_reactive_imported_total", 518.309, "kVArh"),
        ("electricity_reactive_exported_total", 23.732, "kVArh"),
        ("current_electricity_usage", 0.0, "kW"),
        ("current_electricity_delivery", 0.020, "kW"),
        ("current_reactive_imported", 0.0, "kVAr"),
        ("current_reactive_exported", 0.308, "kVAr"),
        ("instantaneous_active_power_l1_positive", 0.0, "kW"),
        ("instantaneous_active_power_l1_negative", 0.012, "kW"),
        ("instantaneous_active_power_l2_positive", 0.0, "kW"),
        ("instantaneous_active_power_l2_negative", 0.071, "kW"),
        ("instantaneous_active_power_l3_positive", 0.063, "kW"),
        ("instantaneous_active_power_l3_negative", 0.0, "kW"),
        ("instantaneous_reactive_power_l1_positive", 0.0, "kVAr"),
        ("instantaneous_reactive_power_l1_negative", 0.146, "kVAr"),
        ("instantaneous_reactive_power_l2_positive", 0.0, "kVAr"),
        ("instantaneous_reactive_power_l2_negative", 0.135, "kVAr"),
        ("instantaneous_reactive_power_l3_positive", 0.0, "kVAr"),
        ("instantaneous_reactive_power_l3_negative", 0.026, "kVAr"),
        ("instantaneous_voltage_l1", 230.1, "V"),
        ("instantaneous_voltage_l2", 232.2, "V"),
        ("instantaneous_voltage_l3", 230.4, "V"),
        ("instantaneous_current_l1", 0.6, "A"),
        ("instantaneous_current_l2", 0.6, "A"),
        ("instantaneous_current_l3", 0.3, "A"),
    ]);

    let t = one("LandisGyr-E360-LGF5E360-D_SE-P1_amshan.txt");
    assert_eq!(t.top("crc"), "8012");
    // amshan: 2022-02-04 11:06:50.
    assert_eq!(t.top("timestamp"), "2022-02-04T10:06:50Z");
    t.qs(&[
        ("electricity_imported_total", 10501.076, "kWh"),
        ("electricity_exported_total", 0.0, "kWh"),
        ("electricity_reactive_imported_total", 1761.087, "kVArh"),
        ("electricity_reactive_exported_total", 8.391, "kVArh"),
        ("current_electricity_usage", 2.301, "kW"),
        ("current_reactive_imported", 0.135, "kVAr"),
        ("current_reactive_exported", 0.0, "kVAr"),
        ("instantaneous_active_power_l1_positive", 0.622, "kW"),
        ("instantaneous_active_power_l2_positive", 0.667, "kW"),
        // The meter sends `0001.011*kW`; amshan's 1010 W is int(1.011 * 1000) truncated.
        ("instantaneous_active_power_l3_positive", 1.011, "kW"),
        ("instantaneous_reactive_power_l1_negative", 0.208, "kVAr"),
        ("instantaneous_reactive_power_l2_negative", 0.142, "kVAr"),
        ("instantaneous_reactive_power_l3_negative", 0.0, "kVAr"),
        ("instantaneous_reactive_power_l3_positive", 0.486, "kVAr"),
        ("instantaneous_current_l1", 2.8, "A"),
        ("instantaneous_current_l2", 2.9, "A"),
        ("instantaneous_current_l3", 4.8, "A"),
        ("instantaneous_voltage_l1", 232.1, "V"),
        ("instantaneous_voltage_l2", 233.1, "V"),
        ("instantaneous_voltage_l3", 231.9, "V"),
    ]);

    let t = one("LandisGyr-ELL5-253833635_A_SE-P1_amshan.txt");
    assert_eq!(t.top("header"), "/ELL5\\253833635_A");
    assert_eq!(t.top("crc"), "80FF");
    assert_eq!(t.top("dsmr_version"), "5S");
    // `201020085222W`: October, still UTC+1 in Sweden's meters.
    assert_eq!(t.top("timestamp"), "2020-10-20T07:52:22Z");
}

#[test]
fn aidon_sweden_evcc() {
    // evcc: power 4251 W, energy 10117.368 kWh, currents 7.0/6.0/6.9 A,
    // voltages 221.2/224.3/223.3 V, phase powers 1462/1263/1523 W.
    let t = one("Aidon-6534-ADN9_SE-P1_evcc.txt");
    assert_eq!(t.top("header"), "/ADN9 6534");
    assert_eq!(t.top("dsmr_version"), "5S");
    t.qs(&[
        ("current_electricity_usage", 4.251, "kW"),
        ("electricity_imported_total", 10117.368, "kWh"),
        ("instantaneous_current_l1", 7.0, "A"),
        ("instantaneous_current_l2", 6.0, "A"),
        ("instantaneous_current_l3", 6.9, "A"),
        ("instantaneous_voltage_l1", 221.2, "V"),
        ("instantaneous_voltage_l2", 224.3, "V"),
        ("instantaneous_voltage_l3", 223.3, "V"),
        ("instantaneous_active_power_l1_positive", 1.462, "kW"),
        ("instantaneous_active_power_l2_positive", 1.263, "kW"),
        ("instantaneous_active_power_l3_positive", 1.523, "kW"),
    ]);
}

#[test]
fn kamstrup_omnia_sweden_style_athombv() {
    let t = one_bad_crc("Kamstrup-Omnia-KAM5_SE-LU-styleP1_athombv.txt");
    assert_eq!(t.top("dsmr_version"), "5S");
    // `250000000000W` is no time. athombv's "2024-11-30T00:00:00.000Z" is month 0 / day 0
    // rolled back by JavaScript's Date.
    assert_eq!(t.top("timestamp"), J::Null);
    assert_eq!(t.obj("p1_message_timestamp")["raw"], "250000000000W");
    t.qs(&[
        ("electricity_imported_total", 123.321, "kWh"),
        ("electricity_exported_total", 456.654, "kWh"),
        ("electricity_reactive_imported_total", 1234.432, "kVArh"),
        ("electricity_reactive_exported_total", 5678.765, "kVArh"),
        ("current_electricity_usage", 2.424, "kW"),
        ("current_electricity_delivery", 0.0, "kW"),
        ("current_reactive_imported", 1.229, "kVAr"),
        ("instantaneous_active_power_l1_positive", 0.682, "kW"),
        ("instantaneous_active_power_l2_positive", 0.750, "kW"),
        ("instantaneous_active_power_l3_positive", 0.992, "kW"),
        ("instantaneous_active_power_l1_negative", 0.0, "kW"),
        ("instantaneous_reactive_power_l1_positive", 0.391, "kVAr"),
        ("instantaneous_voltage_l1", 225.4, "V"),
        ("instantaneous_voltage_l2", 229.4, "V"),
        ("instantaneous_voltage_l3", 225.9, "V"),
        ("instantaneous_current_l1", 3.4, "A"),
        ("instantaneous_current_l2", 3.9, "A"),
        ("instantaneous_current_l3", 4.6, "A"),
    ]);
    assert_eq!(t.top("mbus"), json!([]));
}

// ---------------------------------------------------------------------------------------
// Austria (Sagemcom T210-D, Wh / W)
// ---------------------------------------------------------------------------------------

#[test]
fn austria_t210d() {
    let t = one_bad_crc("Sagemcom-T210-D-AT-EST5_dsmr5.0-AT_athombv.txt");
    assert_eq!(t.top("dsmr_version"), "T210D_AT");
    assert_eq!(t.top("header"), "/EST5\\123456789_A");
    // athombv "2025-03-19T10:28:12.000Z" is the local `250319102812W`.
    assert_eq!(t.top("timestamp"), "2025-03-19T09:28:12Z");
    t.qs(&[
        ("electricity_imported_total", 201282.0, "Wh"),
        ("electricity_used_tariff_1", 134904.0, "Wh"),
        ("electricity_used_tariff_2", 66378.0, "Wh"),
        ("electricity_exported_total", 320908.0, "Wh"),
        ("electricity_delivered_tariff_1", 317131.0, "Wh"),
        ("electricity_delivered_tariff_2", 3777.0, "Wh"),
        ("current_electricity_usage", 0.0, "W"),
        ("current_electricity_delivery", 3996.0, "W"),
        ("electricity_reactive_imported_total", 36520.0, "varh"),
        ("electricity_reactive_imported_tariff_1", 32377.0, "varh"),
        ("electricity_reactive_imported_tariff_2", 4143.0, "varh"),
        ("current_reactive_imported", 0.0, "var"),
        ("electricity_reactive_exported_total", 259742.0, "varh"),
        ("electricity_reactive_exported_tariff_1", 169558.0, "varh"),
        ("electricity_reactive_exported_tariff_2", 90184.0, "varh"),
        ("current_reactive_exported", 221.0, "var"),
    ]);
    // Integers stay JSON integers.
    assert_eq!(t.obj("electricity_imported_total")["value"], json!(201282));

    let t = one("Sagemcom-T210-D-AT-EST5-253740976_dsmr5.0-AT_openhab.txt");
    t.no_unknown_codes();
    t.q("electricity_imported_total", 326641.0, "Wh");
    t.q("current_electricity_usage", 621.0, "W");
}

#[test]
fn austria_t210_d_r() {
    // The plaintext esphome's dsmr_parser encrypts in its tests: integers in Wh, W, varh
    // and var, as the meter writes them, and a summer-time clock (`221006155014S`, UTC+2).
    let t = one("Sagemcom-T210-D-r-EST5-253710000_dsmr5.0-AT_esphome.txt");
    assert_eq!(t.top("dsmr_version"), "T210D_AT");
    assert_eq!(t.top("timestamp"), "2022-10-06T13:50:14Z");
    t.no_unknown_codes();
    t.q("electricity_imported_total", 6545766.0, "Wh");
    t.q("electricity_used_tariff_1", 5017120.0, "Wh");
    t.q("electricity_delivered_tariff_2", 58.0, "Wh");
    t.q("current_electricity_usage", 286.0, "W");
    t.q("electricity_reactive_exported_total", 3897726.0, "varh");
    t.q("current_reactive_exported", 166.0, "var");
}

// ---------------------------------------------------------------------------------------
// Synthetic recordings for the formats without a public capture (FACTS §10)
// ---------------------------------------------------------------------------------------

#[test]
fn synthetic_easymeter_q3d() {
    let name = "synthetic-EasyMeter-Q3D_Q3D_dsmrd.txt";
    let d = decode_bytes(&recording(name), true, AMSTERDAM, None);
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    let t = T(d.telegrams.into_iter().next().expect("telegram"));
    t.no_unknown_codes();
    assert_eq!(t.0["errors"], json!([]));
    assert_eq!(t.top("dsmr_version"), "Q3D");
    assert_eq!(t.top("header"), "/ESY5Q3DB1024 V3.04");
    assert_eq!(t.top("crc"), J::Null);
    assert_eq!(t.top("timestamp"), J::Null);
    assert_eq!(t.top("meter_id"), "1ESY1161003456");
    assert_eq!(t.obj("electricity_imported_total")["obis"], "1-0:1.8.0*255");
    t.qs(&[
        ("electricity_imported_total", 41637.2081745, "kWh"),
        ("electricity_exported_total", 1183.5546021, "kWh"),
        ("instantaneous_active_power_l1_positive", 512.37, "W"),
        ("instantaneous_active_power_l2_positive", 208.91, "W"),
        ("instantaneous_active_power_l3_positive", 377.06, "W"),
        ("current_electricity_usage", 1098.34, "W"),
    ]);
    t.text("q3d_equipment_identifier", "0273011003456");
    t.text("q3d_equipment_state", "80");
    t.text("q3d_equipment_serialnumber", "1ESY1161003456");
    assert_eq!(t.objects().len(), 9);
}

#[test]
fn synthetic_eon_hungary() {
    let t = one("synthetic-EON-HU-SAG5_EON_HU_dsmrd.txt");
    t.no_unknown_codes();
    assert_eq!(t.top("dsmr_version"), "EON_HU");
    assert_eq!(t.top("crc"), "0068");
    // `240312151005W`, Budapest keeps Central European time.
    assert_eq!(t.top("timestamp"), "2024-03-12T14:10:05Z");
    assert_eq!(t.top("meter_id"), "SAG3058812463307");
    t.text("cosem_logical_device_name", "SAG3058812463307");
    t.text("equipment_serial_number", "90138452");
    t.text("electricity_active_tariff", "0002");
    t.qs(&[
        ("electricity_imported_total", 4318.962, "kWh"),
        ("electricity_used_tariff_1", 2711.406, "kWh"),
        ("electricity_used_tariff_2", 1607.556, "kWh"),
        ("electricity_used_tariff_3", 0.0, "kWh"),
        ("electricity_used_tariff_4", 0.0, "kWh"),
        ("electricity_exported_total", 1254.118, "kWh"),
        ("electricity_delivered_tariff_1", 873.290, "kWh"),
        ("electricity_delivered_tariff_2", 380.828, "kWh"),
        ("electricity_delivered_tariff_3", 0.0, "kWh"),
        ("electricity_delivered_tariff_4", 0.0, "kWh"),
        ("electricity_reactive_imported_total", 112.734, "kvarh"),
        ("electricity_reactive_exported_total", 845.205, "kvarh"),
        ("electricity_reactive_total_q1", 98.311, "kvarh"),
        ("electricity_reactive_total_q2", 14.423, "kvarh"),
        ("electricity_reactive_total_q3", 201.617, "kvarh"),
        ("electricity_reactive_total_q4", 643.588, "kvarh"),
        ("electricity_combined", 5573.080, "kWh"),
        ("instantaneous_voltage_l1", 229.4, "V"),
        ("instantaneous_current_l3", 5.0, "A"),
        ("instantaneous_active_power_l3_positive", 1.039, "kW"),
        ("instantaneous_power_factor_total", 0.912, ""),
        ("instantaneous_power_factor_l1", 0.954, ""),
        ("instantaneous_power_factor_l2", 0.871, ""),
        ("instantaneous_power_factor_l3", 0.903, ""),
        ("frequency", 50.01, "Hz"),
        ("current_electricity_usage", 1.897, "kW"),
        ("current_electricity_delivery", 0.0, "kW"),
        ("instantaneous_reactive_power_q1", 0.412, "kvar"),
        ("instantaneous_reactive_power_q4", 0.287, "kvar"),
        ("actual_treshold_electricity", 90.0, "kW"),
        ("fuse_threshold_l1", 200.0, "A"),
        ("fuse_threshold_l2", 200.0, "A"),
        ("fuse_threshold_l3", 200.0, "A"),
        ("actual_switch_position", 1.0, ""),
    ]);
    t.null("text_message");
    let snap = t.obj("last_month_data");
    assert_eq!(snap["value"], 18);
    // `240301000000W`: the end of February.
    assert_eq!(snap["timestamp"], "2024-02-29T23:00:00Z");
    let entries = snap["entries"].as_array().unwrap();
    assert_eq!(entries[0], json!({"value": 4205.117, "unit": "kWh"}));
    assert_eq!(entries[10], json!({"value": 109.802, "unit": "kvarh"}));
    assert_eq!(entries[17], json!({"value": 3006.383, "unit": "kWh"}));
    // The registers add up as in the meter: 1.8.0 = T1 + T2 + T3 + T4 and so on.
    let v = |i: usize| entries[i]["value"].as_f64().unwrap();
    assert!((v(1) + v(2) + v(3) + v(4) - v(0)).abs() < 1e-6);
    assert!((v(0) + v(5) - v(16)).abs() < 1e-6);
}

#[test]
fn synthetic_iskra_ie() {
    let name = "synthetic-Iskra-IE-MIE5T_ISKRA_IE_dsmrd.txt";
    let t = one_in(name, true, "Europe/Dublin");
    t.no_unknown_codes();
    assert_eq!(t.top("dsmr_version"), "ISKRA_IE");
    assert_eq!(t.top("header"), "/ISk5\\2MIE5T-200");
    assert_eq!(t.top("crc"), "D179");
    // `240708193512S` read in Europe/Dublin (a zone other than the default): summer time is UTC+1.
    assert_eq!(t.top("timestamp"), "2024-07-08T18:35:12Z");
    assert_eq!(t.top("meter_id"), "17256034");
    t.text("equipment_identifier_meter", "17256034");
    t.text("meter_number", "00000000");
    t.text("electricity_active_tariff", "0002");
    t.qs(&[
        ("electricity_used_tariff_1", 3918.407, "kWh"),
        ("electricity_used_tariff_2", 2260.114, "kWh"),
        ("electricity_delivered_tariff_1", 412.960, "kWh"),
        ("electricity_delivered_tariff_2", 31.205, "kWh"),
        ("current_electricity_usage", 0.845, "kW"),
        ("current_electricity_delivery", 0.0, "kW"),
        ("actual_treshold_electricity", 999.9, "kW"),
        ("instantaneous_voltage_l1", 236.8, "V"),
        ("instantaneous_current_l1", 4.0, "A"),
        ("short_power_failure_count", 11.0, ""),
        ("long_power_failure_count", 2.0, ""),
    ]);
    // `240118064212W`: Dublin winter time is UTC.
    assert_eq!(t.failures(), f(&[("2024-01-18T06:42:12Z", 4127.0)]));
    // `0-1:96.1.1()`: an M-Bus id slot with nothing in it.
    assert_eq!(t.at("0-1:96.1.1")["value"], J::Null);
    assert_eq!(t.mbus(1)["equipment_id"], J::Null);
}

// ---------------------------------------------------------------------------------------
// The JSON contract on constructed telegrams
// ---------------------------------------------------------------------------------------

#[test]
fn units_without_star_and_in_any_case() {
    let t = constructed(
        "/FLU5\\253769484_A",
        &[
            "0-0:96.1.4(50217)",
            "0-0:1.0.0(230615120000S)",
            "1-0:1.8.1(000123.456kWh)",
            "1-0:1.8.2(000234.567 kWh)",
            "1-0:2.8.1(000001.000*KWH)",
            "1-0:31.7.0(001.23A)",
            "1-0:32.7.0(230.1V)",
            "1-0:1.7.0(01.234*kW )",
            // Glued to a unit the table does not name.
            "1-0:2.7.0(00012W)",
        ],
    );
    assert_eq!(t.0["errors"], json!([]));
    t.q("current_electricity_delivery", 12.0, "W");
    assert_eq!(t.top("timestamp"), "2023-06-15T10:00:00Z");
    assert_eq!(
        t.obj("electricity_used_tariff_1"),
        &json!({"obis": "1-0:1.8.1", "name": "electricity_used_tariff_1", "value": 123.456, "unit": "kWh"})
    );
    t.q("electricity_used_tariff_2", 234.567, "kWh");
    // As the meter wrote it.
    t.q("electricity_delivered_tariff_1", 1.0, "KWH");
    t.q("instantaneous_current_l1", 1.23, "A");
    t.q("instantaneous_voltage_l1", 230.1, "V");
    t.q("current_electricity_usage", 1.234, "kW");
}

#[test]
fn double_parentheses() {
    let t = constructed(
        "/ISk5\\2M550T-2006",
        &["1-3:0.2.8(50)", "0-0:1.0.0(230615120000S)", "1-0:0.2.0((ER11))", "1-0:1.8.1((000001.500*kWh))"],
    );
    assert_eq!(t.0["errors"], json!([]));
    assert_eq!(
        t.at("1-0:0.2.0"),
        &json!({"obis": "1-0:0.2.0", "name": null, "value": "ER11", "raw": ["ER11"], "unknown": true})
    );
    t.q("electricity_used_tariff_1", 1.5, "kWh");
}

#[test]
fn empty_groups() {
    let t = constructed(
        "/MCS5000000000000",
        &[
            "1-3:0.2.8(50)",
            "0-0:1.0.0(230615120000S)",
            "0-0:96.13.0()",
            "1-0:99.97.0()",
            "0-1:24.1.0()",
            "0-1:96.1.0()",
            "0-1:24.2.1()()",
        ],
    );
    assert_eq!(t.0["errors"], json!([]));
    assert_eq!(t.obj("text_message"), &json!({"obis": "0-0:96.13.0", "name": "text_message", "value": null}));
    assert_eq!(
        t.obj("power_event_failure_log"),
        &json!({"obis": "1-0:99.97.0", "name": "power_event_failure_log", "value": 0, "buffer_type": "", "entries": []})
    );
    assert_eq!(
        t.obj("device_type"),
        &json!({"obis": "0-1:24.1.0", "name": "device_type", "channel": 1, "value": null})
    );
    t.null("equipment_identifier_gas");
    t.null("hourly_gas_meter_reading");
    assert_eq!(
        t.top("mbus"),
        json!([{"channel": 1, "device_type": null, "medium": null, "equipment_id": null, "readings": []}])
    );

    // `(0)()` and `(1)()()()` (FACTS Q16): logs that announce entries they do not carry.
    for log in ["1-0:99.97.0(0)()", "1-0:99.97.0(1)()()()"] {
        let t = constructed("/ISK5\\2M550T-1012", &["1-3:0.2.8(50)", log]);
        assert_eq!(t.0["errors"], json!([]), "{log}");
        assert_eq!(t.failures(), vec![], "{log}");
    }
    // A count with no buffer type after it: an empty log, and the next line is its own.
    let t = constructed("/ISK5\\2M550T-1012", &["1-3:0.2.8(50)", "1-0:99.97.0(0)", "1-0:32.32.0(00006)"]);
    assert_eq!(t.0["errors"], json!([]));
    assert_eq!(t.failures(), vec![]);
    t.q("voltage_sag_l1_count", 6.0, "");
    // A count that is no number is reported, with or without entries after it.
    for log in ["1-0:99.97.0(x)", "1-0:99.97.0(x)(0-0:96.7.19)"] {
        let t = constructed("/ISK5\\2M550T-1012", &["1-3:0.2.8(50)", log]);
        assert_eq!(t.0["errors"][0]["error"], "expected an entry count, got `x`", "{log}");
    }
}

#[test]
fn negative_values() {
    let t = constructed(
        "/ISK5\\2M550T-1012",
        &["1-3:0.2.8(50)", "0-0:1.0.0(230615120000S)", "1-0:2.7.0(-00.123*kW)", "1-0:31.7.0(-005.3*A)"],
    );
    t.q("current_electricity_delivery", -0.123, "kW");
    t.q("instantaneous_current_l1", -5.3, "A");
    let t = constructed("/Lux5\\253694471_M", &["1-3:0.2.8(42)", "1-1:31.4.0(100*A)(-063*A)"]);
    assert_eq!(t.obj("luxembourg_current_thresholds")["value"], json!([100, -63]));
}

#[test]
fn values_with_many_decimals() {
    let t = constructed(
        "/ISK5\\2M550T-1012",
        &[
            "1-3:0.2.8(50)",
            "1-0:1.8.1(00052185.7825309*kWh)",
            "1-0:1.8.2(0.000000000000000001*kWh)",
            "1-0:2.8.1(12345678901.123456789*kWh)",
            "1-0:2.8.2(000000.000*kWh)",
        ],
    );
    t.q("electricity_used_tariff_1", 52185.7825309, "kWh");
    t.q("electricity_used_tariff_2", 1e-18, "kWh");
    // Beyond what 64 bits hold (19 digits) a value is not a meter reading: that line is an error
    // and the others still count.
    let errors = t.0["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["text"], "1-0:2.8.1(12345678901.123456789*kWh)");
    assert_eq!(errors[0]["line"], 6); // the header is line 1
    // A zero with decimals stays a float, an integer an integer.
    assert_eq!(t.obj("electricity_delivered_tariff_2")["value"], json!(0.0));
    let t = constructed("/ISK5\\2M550T-1012", &["1-3:0.2.8(50)", "0-0:96.7.21(00007)"]);
    assert_eq!(t.obj("short_power_failure_count")["value"], json!(7));
}

#[test]
fn placeholder_timestamps() {
    let t = constructed(
        "/ISK5\\2M550T-1012",
        &[
            "1-3:0.2.8(50)",
            "0-0:1.0.0(632525252525W)",
            "1-0:99.97.0(2)(0-0:96.7.19)(632525252525W)(0000000000*s)(230101120000W)(0000000060*s)",
            "0-1:24.1.0(003)",
            "0-1:24.2.1(632525252525W)(00000.000)",
            "0-2:24.1.0(003)",
            "0-2:24.2.1(700101010000W)(00000000)",
            "0-3:24.1.0(003)",
            "0-3:24.2.1(632525252525S)(00012.345*m3)",
        ],
    );
    assert_eq!(t.0["errors"], json!([]));
    assert_eq!(t.top("timestamp"), J::Null);
    assert_eq!(
        t.obj("p1_message_timestamp"),
        &json!({"obis": "0-0:1.0.0", "name": "p1_message_timestamp", "value": null, "raw": "632525252525W"})
    );
    assert_eq!(
        t.obj("power_event_failure_log")["entries"],
        json!([
            {"timestamp": null, "raw_timestamp": "632525252525W", "value": 0, "unit": "s", "placeholder": true},
            {"timestamp": "2023-01-01T11:00:00Z", "raw_timestamp": "230101120000W", "value": 60, "unit": "s"},
        ])
    );
    // Unreachable / unconfigured devices: shown as sent (dsmr_parser reads a 0 too), and
    // marked as placeholders, which sinks do not store.
    assert_eq!(
        t.at("0-1:24.2.1"),
        &json!({"obis": "0-1:24.2.1", "name": "hourly_gas_meter_reading", "channel": 1,
                "value": 0.0, "timestamp": null, "raw_timestamp": "632525252525W", "placeholder": true})
    );
    assert_eq!(
        t.at("0-2:24.2.1"),
        &json!({"obis": "0-2:24.2.1", "name": "hourly_gas_meter_reading", "channel": 2,
                "value": 0, "timestamp": "1970-01-01T00:00:00Z", "placeholder": true})
    );
    // A real value (it has a unit) next to a bad time keeps the value, without a time.
    assert_eq!(
        t.at("0-3:24.2.1"),
        &json!({"obis": "0-3:24.2.1", "name": "hourly_gas_meter_reading", "channel": 3,
                "value": 12.345, "unit": "m3", "timestamp": null, "raw_timestamp": "632525252525S"})
    );
    let readings: Vec<usize> = (1..=3).map(|c| t.mbus(c)["readings"].as_array().unwrap().len()).collect();
    assert_eq!(readings, vec![1, 1, 1]);
}

#[test]
fn unknown_codes_are_kept() {
    let t = constructed(
        "/ISK5\\2M550T-1012",
        &[
            "1-3:0.2.8(50)",
            "1-0:99.1.0(12)(34*kWh)",
            "0-0:96.50.68(ON)",
            "1-0:16.7.0(00.245kW)",
            "0-0:96.99.0(230615120000S)",
            "1-0:0.2.0()",
            "1-1:0.2.8(24408DB2)",
            "1-0:0.2.1(02.21)",
            "2-0:1.8.1(000123.456*kWh)",
        ],
    );
    assert_eq!(t.0["errors"], json!([]));
    // A known code but for its A group is another code.
    assert_eq!(t.at("2-0:1.8.1")["unknown"], true);
    assert_eq!(t.at("2-0:1.8.1")["name"], J::Null);
    assert_eq!(
        t.at("1-0:99.1.0"),
        &json!({"obis": "1-0:99.1.0", "name": null, "value": 12, "raw": ["12", "34*kWh"], "unknown": true})
    );
    assert_eq!(t.at("0-0:96.50.68")["value"], "ON");
    // A number with a unit written without `*`, as Fluvius writes them.
    assert_eq!(
        t.at("1-0:16.7.0"),
        &json!({"obis": "1-0:16.7.0", "name": null, "value": 0.245, "unit": "kW", "raw": ["00.245kW"], "unknown": true})
    );
    // A time is text, not the number 230615120000 in `S`.
    assert_eq!(t.at("0-0:96.99.0")["value"], "230615120000S");
    assert_eq!(t.at("1-0:0.2.0")["value"], J::Null);
    // Text that only starts with digits (a firmware signature) is no number with a unit.
    assert_eq!(t.at("1-1:0.2.8")["value"], "24408DB2");
    assert_eq!(t.at("1-1:0.2.8").get("unit"), None);
    assert_eq!(t.at("1-0:0.2.1")["value"], 2.21);
}

#[test]
fn duplicate_codes_are_both_kept_in_order() {
    let bytes = telegram(
        "/ISK5\\2M550T-1012",
        &["1-3:0.2.8(50)", "0-0:1.0.0(230615120000S)", "1-0:1.8.1(000001.000*kWh)", "1-0:1.8.1(000002.000*kWh)"],
    );
    let d = decode_bytes(&bytes, true, AMSTERDAM, None);
    let t = T(d.telegrams[0].clone());
    let values: Vec<&J> = t.objects().iter().filter(|o| o["obis"] == "1-0:1.8.1").map(|o| &o["value"]).collect();
    assert_eq!(values, vec![&json!(1.0), &json!(2.0)]);
    assert_eq!(t.0["errors"], json!([]));
    // The Telegram API answers with the first.
    let mut decoder = Decoder::new(DecoderOptions::default());
    decoder.feed(&bytes, |d| {
        let Decoded::Telegram(t) = d else { panic!() };
        assert_eq!(t.number("electricity_used_tariff_1").map(|d| d.to_f64()), Some(1.0));
    });
}

#[test]
fn belgian_mbus_ids_and_water_on_24_2_1() {
    let t = constructed(
        "/FLU5\\253769484_A",
        &[
            "0-0:96.1.4(50217)",
            "0-0:96.1.1(3153414733313031303231363035)",
            "0-0:1.0.0(230615120000S)",
            "0-1:24.1.0(003)",
            "0-1:96.1.1(37464C4F32313139303333373333)",
            "0-1:24.2.3(230615115500S)(00112.384*m3)",
            "0-2:24.1.0(007)",
            "0-2:96.1.1(3853414731323334353637383930)",
            "0-2:24.2.1(230615115500S)(00872.234*m3)",
            "0-3:96.1.1(3953414731323334353637383931)",
            "0-3:24.2.1(230615115500S)(00001.250*m3)",
        ],
    );
    assert_eq!(t.0["errors"], json!([]));
    assert_eq!(t.top("dsmr_version"), "5B");
    assert_eq!(t.top("meter_id"), "1SAG3101021605");
    assert_eq!(
        t.at("0-1:96.1.1"),
        &json!({"obis": "0-1:96.1.1", "name": "equipment_identifier_gas", "channel": 1,
                "value": "7FLO2119033733", "raw": "37464C4F32313139303333373333"})
    );
    t.reading("gas_meter_reading", 112.384, "m3", "2023-06-15T09:55:00Z");
    assert_eq!(t.at("0-2:96.1.1")["name"], "equipment_identifier_water");
    assert_eq!(
        t.at("0-2:24.2.1"),
        &json!({"obis": "0-2:24.2.1", "name": "water_meter_reading", "channel": 2,
                "value": 872.234, "unit": "m3", "timestamp": "2023-06-15T09:55:00Z"})
    );
    // Without a device type line the reading keeps the neutral M-Bus name.
    assert_eq!(t.at("0-3:24.2.1")["name"], "mbus_meter_reading");
    let devices: Vec<(J, J)> =
        t.top("mbus").as_array().unwrap().iter().map(|d| (d["medium"].clone(), d["equipment_id"].clone())).collect();
    assert_eq!(
        devices,
        vec![
            (json!("gas"), json!("7FLO2119033733")),
            (json!("water"), json!("8SAG1234567890")),
            (J::Null, json!("9SAG1234567891")),
        ]
    );
}

#[test]
fn demand_value_before_a_twelve_digit_time() {
    // FACTS Q22: an Iskra MIE5T-200 in Belgium, hex-encoded version, peak value first.
    let t = constructed(
        "/ISk5\\2MIE5T-200",
        &[
            "0-0:96.1.4(3231313130)",
            "0-0:1.0.0(260102013000W)",
            "1-0:1.6.0(08.796*kW)(260102010000)",
            "1-0:32.7.0(130.2*V)",
        ],
    );
    assert_eq!(t.0["errors"], json!([]));
    assert_eq!(t.top("dsmr_version"), "5B");
    assert_eq!(
        t.obj("belgium_version_information"),
        &json!({"obis": "0-0:96.1.4", "name": "belgium_version_information", "value": "21110", "raw": "3231313130"})
    );
    // No DST flag: the zone decides (January, UTC+1).
    assert_eq!(
        t.obj("belgium_maximum_demand_month"),
        &json!({"obis": "1-0:1.6.0", "name": "belgium_maximum_demand_month", "value": 8.796, "unit": "kW",
                "timestamp": "2026-01-02T00:00:00Z"})
    );
}

#[test]
fn line_errors_come_in_line_order() {
    // A value that does not fit its row (line 4) before a line that is no data line (5).
    let d = decode_bytes(
        &telegram("/ISK5\\2M550T-1012", &["1-3:0.2.8(50)", "1-0:1.8.1(ON)", "garbage", "1-0:1.8.2(000001.000*kWh)"]),
        true,
        AMSTERDAM,
        None,
    );
    let t = T(d.telegrams.into_iter().next().expect("telegram"));
    let lines: Vec<u64> =
        t.0["errors"].as_array().expect("errors").iter().map(|e| e["line"].as_u64().expect("line")).collect();
    assert_eq!(lines, [4, 5]);
}

#[test]
fn a_number_broken_over_two_lines_inside_its_group_is_read_whole() {
    // FACTS Q19: a line break inside an open `(` joins the lines (as arduino-dsmr does).
    let t = constructed(
        "/ISK5\\2M550T-1012",
        &["1-3:0.2.8(50)", "0-1:24.1.0(003)", "0-1:24.2.1(171105201000W)(00016.\r\n713*m3)"],
    );
    assert_eq!(t.0["errors"], json!([]));
    t.reading("hourly_gas_meter_reading", 16.713, "m3", "2017-11-05T19:10:00Z");
}

#[test]
fn every_log_entry_sent_is_kept_whatever_the_count_says() {
    // A count below the pairs sent (made up; meters in the field announce more than they
    // send, and those are kept too): no pair is dropped.
    let t = constructed(
        "/ISK5\\2M550T-1012",
        &["1-3:0.2.8(50)", "1-0:99.97.0(1)(0-0:96.7.19)(170101120000W)(0000000060*s)(170601120000S)(0000003600*s)"],
    );
    assert_eq!(t.failures(), f(&[("2017-01-01T11:00:00Z", 60.0), ("2017-06-01T10:00:00Z", 3600.0)]));
    assert_eq!(t.obj("power_event_failure_log")["value"], 2);
    let t = constructed(
        "/FLU5\\253769484_A",
        &[
            "0-0:96.1.4(50217)",
            "0-0:98.1.0(1)(1-0:1.6.0)(1-0:1.6.0)(200101000000W)(191210184500W)(03.157*kW)\
             (200201000000W)(200116183000W)(02.921*kW)",
        ],
    );
    let values: Vec<f64> = t.obj("belgium_maximum_demand_13_months")["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["value"].as_f64().expect("value"))
        .collect();
    assert_eq!(values, [3.157, 2.921]);
}

#[test]
fn an_empty_month_in_the_belgian_peak_history_is_a_placeholder() {
    // A Fluvius meter fills a month without a peak with `(632525252525W)(00.000*kW)`.
    let t = constructed(
        "/FLU5\\253769484_A",
        &[
            "0-0:96.1.4(50217)",
            "0-0:1.0.0(250101120000W)",
            "0-0:98.1.0(3)(1-0:1.6.0)(1-0:1.6.0)(241101000000W)(632525252525W)(00.000*kW)\
             (241201000000W)(241115184500W)(03.701*kW)(250101000000W)(000101000000W)(00.000*kW)",
        ],
    );
    let entries = &t.obj("belgium_maximum_demand_13_months")["entries"];
    // So is a zero at the time of a clock never set.
    assert_eq!(
        entries,
        &json!([
            {"timestamp": null, "raw_timestamp": "632525252525W", "recorded_at": "2024-10-31T23:00:00Z",
             "value": 0.0, "unit": "kW", "placeholder": true},
            {"timestamp": "2024-11-15T17:45:00Z", "recorded_at": "2024-11-30T23:00:00Z", "value": 3.701, "unit": "kW"},
            {"timestamp": "1999-12-31T23:00:00Z", "recorded_at": "2024-12-31T23:00:00Z",
             "value": 0.0, "unit": "kW", "placeholder": true},
        ])
    );
}

#[test]
fn an_ebz_dd3_reads_with_the_q3d_table() {
    // The layout eBZ DD3 meters send on their D0 interface (values made up): no CRC, `*255`
    // on every code, signed power, a hexadecimal seconds counter.
    let body = "/EBZ5DD32R06ETA_107\r\n\r\n1-0:0.0.0*255(1EBZ0100000001)\r\n1-0:96.1.0*255(1EBZ0100000001)\r\n\
                1-0:1.8.0*255(001234.56789012*kWh)\r\n1-0:2.8.0*255(000321.00000000*kWh)\r\n\
                1-0:16.7.0*255(-000458.90*W)\r\n1-0:36.7.0*255(000344.88*W)\r\n1-0:32.7.0*255(232.4*V)\r\n\
                1-0:96.5.0*255(001C0104)\r\n0-0:96.8.0*255(00104443)\r\n!\r\n";
    let d = decode_bytes(body.as_bytes(), true, AMSTERDAM, None);
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    let t = T(d.telegrams.into_iter().next().expect("telegram"));
    assert_eq!(t.top("dsmr_version"), "Q3D");
    t.no_unknown_codes();
    t.qs(&[
        ("electricity_imported_total", 1234.56789012, "kWh"),
        ("electricity_exported_total", 321.0, "kWh"),
        ("instantaneous_active_power", -458.9, "W"),
        ("instantaneous_active_power_l1", 344.88, "W"),
        ("instantaneous_voltage_l1", 232.4, "V"),
    ]);
    t.text("q3d_equipment_serialnumber", "1EBZ0100000001");
    // Hexadecimal: kept as sent, never read as the decimal 104443.
    t.text("operating_time_hex", "00104443");
}

#[test]
fn a_breaker_state_in_words_is_kept_as_text() {
    // esphome-libs/dsmr_parser #53: a Wasion meter of E.ON Hungary writes `ON` where the
    // table has a number.
    let t = constructed(
        "/WSE5Wasion--Meter---",
        &["0-0:1.0.0(260522084220S)", "0-0:42.0.0(WSE1012403352978)", "0-0:96.3.10(ON)", "1-0:1.8.0(000138.583*kWh)"],
    );
    assert_eq!(t.0["errors"], json!([]));
    assert_eq!(t.top("dsmr_version"), "EON_HU");
    t.text("actual_switch_position", "ON");
    t.q("electricity_imported_total", 138.583, "kWh");
    // A number where a unit is expected is still checked: `ON` is no energy.
    let d = decode_bytes(&telegram("/ISK5\\2M550T-1012", &["1-3:0.2.8(50)", "1-0:1.8.1(ON)"]), true, AMSTERDAM, None);
    let t = T(d.telegrams.into_iter().next().expect("telegram"));
    assert_eq!(t.0["errors"][0]["error"], json!("expected a number, got `ON`"), "{}", t.0["errors"]);
}

#[test]
fn an_icelandic_iskra_with_a_heat_meter() {
    // gardart/veitur-meter-reader: the heat meter's readings carry no capture time, its flow
    // is in `m3/h`, and its supply temperature sits on the Belgian gas code 0-1:24.2.3.
    let t = constructed(
        "/ISk5\\2MIE5E-200",
        &[
            "1-0:0.9.1(222114)",
            "1-0:0.9.2(240212)",
            "1-0:1.8.0(001988.284*kWh)",
            "1-0:1.7.0(00.588*kW)",
            "0-1:24.2.1(0366.475*m3)",
            "0-1:24.2.2(0000.090*m3/h)",
            "0-1:24.2.3(000074.8*degC)",
            // Made up: a capture time without its value, a zero without its time.
            "0-2:24.2.1(230101115500W)",
            "0-3:24.2.1(00000.000*m3)",
        ],
    );
    assert_eq!(t.0["errors"], json!([]));
    assert_eq!(t.top("dsmr_version"), "ISKRA_IE");
    assert_eq!((&t.at("0-2:24.2.1")["value"], &t.at("0-3:24.2.1")["value"]), (&J::Null, &J::Null));
    // A date or time of day that is not six digits makes no time (and no panic).
    for (time, date) in [("222114", "2402121"), ("2221145", "240212"), ("22211", "240212"), ("222114", "24021x")] {
        let t = constructed("/ISk5\\2MIE5E-200", &[&format!("1-0:0.9.1({time})"), &format!("1-0:0.9.2({date})")]);
        assert_eq!(t.top("timestamp"), J::Null, "{time} {date}");
        t.text("local_date", date);
    }
    // Its clock comes as time of day and date, local time without a flag (the zone decides:
    // Amsterdam here, UTC+1 in February; Icelanders give `--timezone Atlantic/Reykjavik`).
    assert_eq!(t.top("timestamp"), "2024-02-12T21:21:14Z");
    t.text("local_time", "222114");
    t.q("electricity_imported_total", 1988.284, "kWh");
    assert_eq!(
        t.at("0-1:24.2.1"),
        &json!({"obis": "0-1:24.2.1", "name": "hourly_gas_meter_reading", "value": 366.475, "unit": "m3", "channel": 1})
    );
    assert_eq!(t.mbus(1)["readings"], json!([t.at("0-1:24.2.1")]));
    assert_eq!(t.at("0-1:24.2.2")["raw"], json!(["0000.090*m3/h"]));
    assert_eq!(t.at("0-1:24.2.3")["raw"], json!(["000074.8*degC"]));
}

#[test]
fn electricity_on_measurement_channel_one() {
    // Swiss meters (FACTS §10) and the XT211 write `1-1:` where DSMR writes `1-0:`.
    let t = constructed(
        "/LGZ5\\2ZMF100AC.2.1",
        &["1-3:0.2.8(50)", "0-0:1.0.0(230615120000S)", "1-1:1.8.1(001234.567*kWh)", "1-1:2.7.0(00.250*kW)"],
    );
    assert_eq!(
        t.at("1-1:1.8.1"),
        &json!({"obis": "1-1:1.8.1", "name": "electricity_used_tariff_1", "value": 1234.567, "unit": "kWh"})
    );
    t.q("current_electricity_delivery", 0.25, "kW");
}

#[test]
fn padded_and_empty_ids() {
    let t = constructed(
        "/KFM5KAIFA-METER",
        &[
            "1-3:0.2.8(42)",
            "0-0:96.1.1(204B413655303031363630323937393132)",
            "0-1:24.1.0(003)",
            "0-1:96.1.0(2020202020)",
        ],
    );
    assert_eq!(
        t.obj("equipment_identifier"),
        &json!({"obis": "0-0:96.1.1", "name": "equipment_identifier",
                "value": "KA6U001660297912", "raw": "204B413655303031363630323937393132"})
    );
    assert_eq!(t.top("meter_id"), "KA6U001660297912");
    t.text("equipment_identifier_gas", "");
    // All zeros: as likely plain digits as hex NULs (DSMR 2.2 meters send unset ids so).
    let t = constructed("/ISk5\\2MT382-1004", &["0-0:96.1.1(00000000000000)", "1-0:1.8.1(00001.001*kWh)"]);
    t.text("equipment_identifier", "00000000000000");
}

#[test]
fn header_with_control_characters_is_valid_json() {
    // The Iskra ME382 header byte 0x02 where `\2` belongs.
    let t = constructed("/ISk5\u{2}ME382-1003", &["1-0:1.8.1(00001.001*kWh)"]);
    let text = serde_json::to_string(&t.0).unwrap();
    assert!(text.contains(r#""header":"/ISk5\u0002ME382-1003""#), "{text}");
    assert_eq!(serde_json::from_str::<J>(&text).unwrap(), t.0);
}

// ---------------------------------------------------------------------------------------
// Real captures of those formats from dsmr_parser's tests, and ESO Lithuania
// ---------------------------------------------------------------------------------------

#[test]
fn easymeter_q3d_captures() {
    for (name, import, export, id) in [
        ("EasyMeter-Q3D-ESY5Q3DB1024-V3.04_Q3D_dsmrparser.txt", 52185.7825309, Some(19949.3221493), "1ESY1313002565"),
        ("EasyMeter-Q3D-ESY5Q3DA1004-V3.04_Q3D_dsmrparser.txt", 32549.5061662, None, "1ESY1336001560"),
    ] {
        let d = decode_bytes(&recording(name), true, AMSTERDAM, None);
        // The gateway's lines after `!` are skipped bytes, not telegrams or errors.
        assert!(d.errors.is_empty(), "{name}: {:?}", d.errors);
        assert_eq!(d.telegrams.len(), 1, "{name}");
        let t = T(d.telegrams.into_iter().next().unwrap());
        t.no_unknown_codes();
        assert_eq!(t.top("dsmr_version"), "Q3D");
        assert_eq!(t.top("meter_id"), id);
        t.q("electricity_imported_total", import, "kWh");
        assert_eq!(t.has("electricity_exported_total"), export.is_some());
        if let Some(export) = export {
            t.q("electricity_exported_total", export, "kWh");
        }
    }
    let t = one("EasyMeter-Q3D-ESY5Q3DB1024-V3.04_Q3D_dsmrparser.txt");
    t.qs(&[
        ("instantaneous_active_power_l1_positive", 747.85, "W"),
        ("instantaneous_active_power_l3_positive", 639.73, "W"),
        ("current_electricity_usage", 2124.86, "W"),
    ]);
    t.text("q3d_equipment_identifier", "0272031312565");
    t.text("q3d_equipment_state", "80");
}

#[test]
fn eon_hungary_capture() {
    let t = one("Sagemcom-SAG5-EON-HU_EON_HU_dsmrparser.txt");
    t.no_unknown_codes();
    assert_eq!(t.top("dsmr_version"), "EON_HU");
    assert_eq!(t.top("crc"), "99DA");
    // `230724150730S`: Budapest summer time is UTC+2.
    assert_eq!(t.top("timestamp"), "2023-07-24T13:07:30Z");
    t.text("cosem_logical_device_name", "SAG3082200002160");
    t.text("equipment_serial_number", "890082200002160");
    t.qs(&[
        ("actual_treshold_electricity", 90.0, "kW"),
        ("electricity_imported_total", 173.640, "kWh"),
        ("electricity_used_tariff_1", 47.719, "kWh"),
        ("electricity_used_tariff_2", 125.921, "kWh"),
        ("electricity_exported_total", 627.177, "kWh"),
        ("electricity_reactive_exported_total", 303.131, "kvarh"),
        ("electricity_reactive_total_q3", 160.487, "kvarh"),
        ("electricity_combined", 800.817, "kWh"),
        ("instantaneous_power_factor_total", 4.556, ""),
        ("frequency", 50.0, "Hz"),
        ("current_electricity_delivery", 2.601, "kW"),
        ("instantaneous_reactive_power_q3", 0.504, "kvar"),
        ("fuse_threshold_l1", 200.0, "A"),
    ]);
    let snap = t.obj("last_month_data");
    assert_eq!(snap["value"], 19);
    assert_eq!(snap["timestamp"], "2023-06-30T22:00:00Z");
    let entries = snap["entries"].as_array().unwrap();
    assert_eq!(entries[0], json!({"value": 40.777, "unit": "kWh"}));
    assert_eq!(entries[12], json!({"value": 183.027, "unit": "kWh"}));
    assert_eq!(entries[18], json!({"value": 3.4, "unit": "kW"}));
}

#[test]
fn iskra_ie_capture() {
    let t = one("Iskra-MIE5T-200_ISKRA_IE_dsmrparser.txt");
    t.no_unknown_codes();
    assert_eq!(t.top("dsmr_version"), "ISKRA_IE");
    assert_eq!(t.top("crc"), "AD3B");
    assert_eq!(t.top("meter_id"), "09610");
    t.text("meter_number", "00000000");
    t.qs(&[
        ("electricity_used_tariff_1", 10.181, "kWh"),
        ("electricity_used_tariff_2", 10.182, "kWh"),
        ("electricity_delivered_tariff_1", 10.281, "kWh"),
        ("electricity_delivered_tariff_2", 10.282, "kWh"),
        ("current_electricity_usage", 0.170, "kW"),
        ("current_electricity_delivery", 0.270, "kW"),
        ("instantaneous_active_power_l2_positive", 0.417, "kW"),
        ("instantaneous_active_power_l3_negative", 0.627, "kW"),
        ("instantaneous_voltage_l2", 241.7, "V"),
        ("instantaneous_current_l1", 0.0, "A"),
    ]);
    // `230202132747S`: the meter flags February `S`, against the season; the zone's time
    // is kept, UTC+1 in Amsterdam (as dsmr_parser reads it), GMT in Dublin.
    assert_eq!(t.top("timestamp"), "2023-02-02T12:27:47Z");
    let dublin = one_in("Iskra-MIE5T-200_ISKRA_IE_dsmrparser.txt", true, "Europe/Dublin");
    assert_eq!(dublin.top("timestamp"), "2023-02-02T13:27:47Z");
}

#[test]
fn eso_lithuania() {
    let t = one("ESO5-253880853-max-3ph_ESO_LT_dsmrparser.txt");
    t.no_unknown_codes();
    assert_eq!(t.top("dsmr_version"), "ESO_LT");
    assert_eq!(t.top("crc"), "979F");
    assert_eq!(t.objects().len(), 100);
    assert_eq!(t.top("meter_id"), "SAG1000000000001");
    t.qs(&[
        ("electricity_imported_total", 7926.0, "kWh"),
        ("electricity_used_tariff_1", 7926.0, "kWh"),
        ("electricity_used_tariff_4", 0.0, "kWh"),
        ("electricity_exported_total", 20183.680, "kWh"),
        ("electricity_reactive_imported_total", 11688.602, "kvarh"),
        ("electricity_reactive_exported_tariff_1", 1050.043, "kvarh"),
        ("current_reactive_exported", 0.061, "kvar"),
        ("instantaneous_reactive_power_l3_positive", 0.156, "kvar"),
        ("instantaneous_reactive_power_l2_negative", 0.032, "kvar"),
        ("eso_lt_average_voltage_l2", 242.7, "V"),
        ("eso_lt_instantaneous_current_sum_over_all_phases", 8.0, "A"),
        ("eso_lt_frequency", 49.0, "Hz"),
        ("eso_lt_instantaneous_apparent_import_power_l3", 1.270, "kVA"),
        ("eso_lt_average_net_power", 1.068, "kW"),
        ("eso_lt_instantaneous_power_factor_l1", -0.926, ""),
        ("eso_lt_measurement_period_3_for_instantaneous_values", 900.0, "s"),
        ("eso_lt_demand_register_1_active_energy_import", 0.337, "kW"),
        ("eso_lt_demand_register_6_apparent_energy_export", 0.948, "kVA"),
        ("eso_lt_duration_of_last_voltage_sag_l2", 734.0, "s"),
        ("eso_lt_magnitude_of_last_voltage_swell_l3", 256.0, "V"),
        ("voltage_sag_l2_count", 49.0, ""),
    ]);
    // Firmware ids are text, even where they look like numbers.
    t.text("eso_lt_active_firmware_identifier", "02.21");
    t.text("eso_lt_active_firmware_signature", "1EA43311");
    t.text("eso_lt_active_firmware_identifier_1", "03.02");
    t.text("eso_lt_active_firmware_signature_1", "24408DB2");
    t.text("text_message", "setP1_max_3ph");
    // Not a Belgian meter, though it sends 1-0:1.4.0.
    assert!(!t.has("belgium_current_average_demand"));
    for name in ["ESO5-253883680-max-1ph_ESO_LT_dsmrparser.txt", "ESO5-253883680-extended-1ph_ESO_LT_dsmrparser.txt"] {
        let t = one(name);
        t.no_unknown_codes();
        assert_eq!(t.top("dsmr_version"), "ESO_LT", "{name}");
    }
    let t = one("ESO5-253883680-extended-1ph_ESO_LT_dsmrparser.txt");
    t.q("eso_lt_instantaneous_power_factor_total", 0.616, "");
    t.q("electricity_reactive_exported_total", 280.264, "kvarh");
    // A meter with firmware 01.19 (dsmr3Lib's fixture) also sends the last period's average
    // demand, `D = 5`, beside the current one.
    let t = constructed(
        "/ESO5\\253876809_C",
        &[
            "1-0:1.4.0(00000001.250*kW)",
            "1-0:1.5.0(00000002.500*kW)",
            "1-0:4.5.0(00000000.125*kvar)",
            "1-0:10.5.0(00000003.000*kVA)",
        ],
    );
    assert_eq!(t.top("dsmr_version"), "ESO_LT");
    t.no_unknown_codes();
    t.q("eso_lt_demand_register_1_active_energy_import", 1.25, "kW");
    t.q("eso_lt_last_average_demand_active_import", 2.5, "kW");
    t.q("eso_lt_last_average_demand_reactive_export", 0.125, "kvar");
    t.q("eso_lt_last_average_demand_apparent_export", 3.0, "kVA");
}

#[test]
fn a_header_that_is_no_text_is_reported_and_the_lines_are_read() {
    // A bit flipped on the way (no CRC on DSMR 2.2 to catch it) turns `5` into 0xB5.
    let s = b"/ISk\xB52MT382-1003\r\n\r\n1-0:1.8.1(16719.940*kWh)\r\n1-0:1.7.0(0000.89*kW)\r\n!\r\n";
    let d = decode_bytes(s, false, AMSTERDAM, None);
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    let t = T(d.telegrams.into_iter().next().expect("the telegram is read"));
    t.q("electricity_used_tariff_1", 16719.940, "kWh");
    t.q("current_electricity_usage", 0.89, "kW");
    assert_eq!(t.top("header"), "/ISk");
    assert_eq!(
        t.0["errors"],
        json!([{"line": 1, "text": "ISk", "error": "header is not text after `/ISk` (bytes lost or changed?); read as far as it is"}])
    );
}

#[test]
fn erased_text_is_empty_and_other_bytes_are_reported_with_their_line() {
    // An E.ON Hungary meter sends its empty text message as 1024 bytes of erased flash.
    let mut s = b"/SAG5SAG-METER\r\n\r\n0-0:1.0.0(230724150730S)\r\n0-0:96.13.0(".to_vec();
    s.extend(std::iter::repeat_n(0xFF, 1024));
    s.extend_from_slice(b")\r\n1-0:1.8.0(000173.640*kWh)\r\n0-0:96.13.1(ab\xC3(cd)\r\n1-0:2.8.0(000627.177*kWh)\r\n!");
    let t = constructed_bytes(&s);
    assert_eq!(t.at("0-0:96.13.0"), &json!({"obis": "0-0:96.13.0", "name": "text_message", "value": null}));
    t.q("electricity_imported_total", 173.640, "kWh");
    t.q("electricity_exported_total", 627.177, "kWh");
    assert_eq!(
        t.0["errors"],
        json!([{"line": 6, "text": "0-0:96.13.1(ab", "error": "line is not text after `0-0:96.13.1(ab` (bytes lost or changed?)"}])
    );
}

#[test]
fn a_timestamp_that_is_no_time_is_reported_and_the_telegram_kept() {
    // mijnverbruik/dsmr lists these as invalid timestamps; the line stays, as text.
    for (raw, why) in [
        ("991399235959W", "no such month"),
        ("991132235959W", "no such day in that month"),
        ("990230120000W", "no such day in that month"),
        ("991130245959W", "no such hour"),
        ("99113023W", "expected YYMMDDhhmmss and an S or W flag"),
        ("991130235959X", "the daylight-saving flag is neither S nor W"),
    ] {
        let line = format!("0-0:1.0.0({raw})");
        let d = decode_bytes(
            &telegram("/KFM5KAIFA-METER", &["1-3:0.2.8(42)", &line, "1-0:1.8.1(001581.123*kWh)"]),
            true,
            AMSTERDAM,
            None,
        );
        assert!(d.errors.is_empty(), "{:?}", d.errors);
        let t = T(d.telegrams.into_iter().next().expect("telegram kept"));
        t.q("electricity_used_tariff_1", 1581.123, "kWh");
        assert_eq!(t.top("timestamp"), J::Null);
        assert_eq!(t.at("0-0:1.0.0")["raw"], json!(raw));
        let reason = format!(
            "timestamp `{raw}` of 0-0:1.0.0 is not a valid time ({why}); no time given, the text kept in `raw`"
        );
        assert_eq!(t.0["errors"], json!([{"line": 4, "text": line, "error": reason}]), "{raw}");
    }
    // A clock never set is no error.
    let t = constructed("/MCS50000000000000", &["1-3:0.2.8(50)", "0-0:1.0.0(000000000000W)"]);
    assert_eq!(t.at("0-0:1.0.0")["raw"], "000000000000W");
}

#[test]
fn a_full_year_time_or_a_legacy_gas_time_that_is_no_time_is_reported() {
    // In `19000229 12:00:00` the `00` is the year's, not a month of a clock never set.
    let t = constructed("/NES5NES", &["1-3:0.2.8(50)", "0-0:1.0.0(19000229 12:00:00)", "1-0:1.8.1(000001.000*kWh)"]);
    t.q("electricity_used_tariff_1", 1.0, "kWh");
    assert_eq!(t.top("timestamp"), J::Null);
    assert_eq!(
        t.0["errors"][0]["error"],
        "timestamp `19000229 12:00:00` of 0-0:1.0.0 is not a valid time (no such day in that month); no time given, the text kept in `raw`"
    );
    // A DSMR 2.2 gas reading is kept, its bad capture time reported as an M-Bus reading's is.
    let t = constructed(
        "/ISk5\\2MT382-1000",
        &[
            "1-0:1.8.1(00001.001*kWh)",
            "0-1:24.1.0(3)",
            "0-1:24.3.0(240230120000)(00)(60)(1)(0-1:24.2.1)(m3)\r\n(00001.001)",
        ],
    );
    let gas = t.obj("gas_meter_reading");
    assert_eq!(
        (gas["value"].clone(), gas["timestamp"].clone(), gas["raw_timestamp"].clone()),
        (json!(1.001), J::Null, json!("240230120000"))
    );
    assert_eq!(
        t.0["errors"][0]["error"],
        "timestamp `240230120000` of 0-1:24.3.0 is not a valid time (no such day in that month); no time given, the text kept in `raw_timestamp`"
    );
    // Unless the reading is a zero, which a meter with no gas meter sends as a placeholder.
    let t = constructed(
        "/ISk5\\2MT382-1000",
        &["1-0:1.8.1(00001.001*kWh)", "0-1:24.3.0(240230120000)(00)(60)(1)(0-1:24.2.1)(m3)\r\n(00000.000)"],
    );
    assert_eq!(t.obj("gas_meter_reading")["placeholder"], json!(true));
    assert_eq!(t.0["errors"], json!([]));
}

#[test]
fn a_crc_field_that_is_not_hex_is_a_crc_failure() {
    let mut body = String::from_utf8(telegram("/TEST", &["1-3:0.2.8(50)"])).unwrap();
    body.truncate(body.rfind('!').unwrap() + 1);
    for bad in ["XXXX", "GHIJ", "G000", "WRONG"] {
        let d = decode_bytes(format!("{body}{bad}\r\n").as_bytes(), true, AMSTERDAM, None);
        assert!(d.telegrams.is_empty(), "{bad}: {:?}", d.telegrams);
        assert!(matches!(d.errors[..], [DecodeError::Frame(Reject::CrcMalformed { .. })]), "{bad}: {:?}", d.errors);
        assert!(d.errors[0].is_crc(), "{bad}");
    }
    // A fifth digit: the first four are the CRC, and they do not match.
    let d = decode_bytes(format!("{body}ABCDE\r\n").as_bytes(), true, AMSTERDAM, None);
    assert!(d.telegrams.is_empty());
    assert!(matches!(d.errors[..], [DecodeError::Frame(Reject::CrcMismatch { sent: 0xABCD, .. })]), "{:?}", d.errors);
}

#[test]
fn a_summer_flag_is_summer_time_even_when_the_telegram_reads_as_swedish() {
    // No version line, no meter id, totals only: the Swedish layout. But the meter says S,
    // so it keeps summer time (a Finnish L+G E360).
    let d = decode_bytes(
        &telegram("/LGF5E360", &["0-0:1.0.0(250904163250S)", "1-0:1.8.0(00013660.589*kWh)"]),
        true,
        "Europe/Helsinki",
        None,
    );
    let t = T(d.telegrams.into_iter().next().expect("telegram"));
    assert_eq!(t.top("dsmr_version"), "5S");
    assert_eq!(t.top("timestamp"), "2025-09-04T13:32:50Z");
    t.q("electricity_imported_total", 13660.589, "kWh");
}

#[test]
fn empty_log_fillers_and_zero_readings_at_the_clock_default_are_placeholders() {
    let t = constructed(
        "/KFM5KAIFA-METER",
        &[
            "1-3:0.2.8(42)",
            "0-0:1.0.0(161113205757W)",
            "1-0:99.97.0(2)(0-0:96.7.19)(000101000001W)(2147483647*s)(161012140321S)(0000000237*s)",
            "0-1:24.1.0(003)",
            "0-1:24.2.1(000101000000W)(00000.000*m3)",
            "0-2:24.1.0(003)",
            "0-2:24.2.1(161113200000W)(00000.000*m3)",
        ],
    );
    assert_eq!(
        t.obj("power_event_failure_log")["entries"],
        json!([
            {"timestamp": "1999-12-31T23:00:01Z", "raw_timestamp": "000101000001W", "value": 2147483647, "unit": "s", "placeholder": true},
            {"timestamp": "2016-10-12T12:03:21Z", "raw_timestamp": "161012140321S", "value": 237, "unit": "s"},
        ])
    );
    assert_eq!(t.at("0-1:24.2.1")["placeholder"], true);
    // A real zero (a new gas meter) at a real time is a reading.
    assert_eq!(t.at("0-2:24.2.1").get("placeholder"), None);
}

/// A real value dated by a clock never set keeps its value and is marked `unset_clock`:
/// sinks store the value without that time (or, for a failure, not at all).
#[test]
fn real_values_dated_by_a_clock_never_set_are_marked() {
    let t = constructed(
        "/KFM5KAIFA-METER",
        &[
            "1-3:0.2.8(42)",
            "0-0:1.0.0(161113205757W)",
            "1-0:99.97.0(2)(0-0:96.7.19)(000101185853W)(0000067432*s)(161012140321S)(0000000237*s)",
            "0-1:24.1.0(003)",
            "0-1:24.2.1(000101000000W)(00012.345*m3)",
            // No device behind channel 2: a placeholder, flagged as that alone.
            "0-2:24.1.0(003)",
            "0-2:24.2.1(000101000000W)(00000.000*m3)",
        ],
    );
    let empty = t.at("0-2:24.2.1");
    assert_eq!((empty.get("unset_clock"), &empty["placeholder"]), (None, &json!(true)));
    let entries = &t.obj("power_event_failure_log")["entries"];
    assert_eq!(
        (&entries[0]["value"], &entries[0]["unset_clock"], entries[0].get("placeholder")),
        (&json!(67432), &json!(true), None)
    );
    assert_eq!(entries[1].get("unset_clock"), None);
    let gas = t.at("0-1:24.2.1");
    assert_eq!((&gas["value"], &gas["unset_clock"], gas.get("placeholder")), (&json!(12.345), &json!(true), None));
    // The meter's own clock is set.
    assert_eq!(t.0.get("unset_clock"), None);
    // The same in the two-line gas profile of DSMR 2.2 and 3.
    let legacy = |reading: &str| {
        let gas = format!("0-1:24.3.0(000101000000)(00)(60)(1)(0-1:24.2.1)(m3)\r\n({reading})");
        constructed("/ISk5\\2MT382-1003", &["0-0:96.1.1(4B384547303034303436333935353037)", &gas])
    };
    let t = legacy("00012.345");
    let gas = t.obj("gas_meter_reading");
    assert_eq!((&gas["value"], &gas["unset_clock"], gas.get("placeholder")), (&json!(12.345), &json!(true), None));
    let t = legacy("00000.000");
    let gas = t.obj("gas_meter_reading");
    assert_eq!((gas.get("unset_clock"), &gas["placeholder"]), (None, &json!(true)));
}

/// A meter whose own clock was never set (after a move): the telegram's time is shown as
/// sent and flagged at the top as on its object, so that a reader of `timestamp` alone
/// does not file the readings under 2000.
#[test]
fn a_meter_clock_never_set_is_flagged_at_the_top() {
    let t = constructed(
        "/XMX5LGF0010453108573",
        &["1-3:0.2.8(50)", "0-0:1.0.0(000101000512W)", "1-0:1.8.1(000123.456*kWh)"],
    );
    assert_eq!(
        (t.top("timestamp"), t.top("unset_clock"), &t.at("0-0:1.0.0")["placeholder"]),
        (json!("1999-12-31T23:05:12Z"), json!(true), &json!(true))
    );
    t.q("electricity_used_tariff_1", 123.456, "kWh");
}

#[test]
fn a_unit_that_is_no_unit_is_a_line_error() {
    let d = decode_bytes(
        &telegram("/SIB5\\253691561_E", &["0-0:96.1.4(50217)", "1-0:32.7.0(230.1*V,x)", "1-0:1.8.1(000123.456*kWh)"]),
        true,
        AMSTERDAM,
        None,
    );
    let t = T(d.telegrams.into_iter().next().expect("telegram"));
    t.q("electricity_used_tariff_1", 123.456, "kWh");
    assert_eq!(
        t.0["errors"],
        json!([{"line": 4, "text": "1-0:32.7.0(230.1*V,x)",
                "error": "`V,x` is no unit (expected value*unit, got `230.1*V,x`)"}])
    );
    // Nor is a unit that starts with a digit or a sign: it would be a second number.
    let t = constructed(
        "/ISK5\\2M550T-1012",
        &["1-0:1.8.1(000001.500*-1)", "1-0:1.8.2(000002.500*+kWh)", "1-0:2.8.1(000003.500*1kWh)"],
    );
    let errors: Vec<&J> = t.0["errors"].as_array().expect("errors").iter().map(|e| &e["error"]).collect();
    assert_eq!(
        errors,
        [
            "`-1` is no unit (expected value*unit, got `000001.500*-1`)",
            "`+kWh` is no unit (expected value*unit, got `000002.500*+kWh`)",
            "`1kWh` is no unit (expected value*unit, got `000003.500*1kWh`)"
        ]
    );
}

#[test]
fn two_numbers_in_one_group_are_a_pair() {
    // A Sibelga S210 writes its import and export current thresholds in one group.
    let t = constructed("/SIB5\\253691561_E", &["0-0:96.1.4(50217)", "1-1:31.4.0(65.0*A,-65.0*A)"]);
    assert_eq!(
        t.at("1-1:31.4.0"),
        &json!({"obis": "1-1:31.4.0", "name": "belgium_max_current_per_phase", "value": [65.0, -65.0], "unit": "A"})
    );
}

#[test]
fn hex_that_decodes_to_no_letter_or_digit_stays_as_sent() {
    let t = constructed(
        "/ISK5\\2M550T-1012",
        &[
            "1-3:0.2.8(50)",
            "0-2:24.1.0(003)",
            "0-2:96.1.0(2222222222222222)",
            "0-3:24.1.0(007)",
            "0-3:96.1.0(4B384547)",
        ],
    );
    assert_eq!(t.at("0-2:96.1.0")["value"], "2222222222222222");
    assert_eq!(t.mbus(2)["equipment_id"], "2222222222222222");
    assert_eq!(t.at("0-3:96.1.0")["value"], "K8EG");
}

#[test]
fn belgian_three_phase_meter_with_export_peaks_and_reactive_power() {
    // The layout of an L+G E660 on the Fluvius network (e-MUCS 2.5): export demand next to
    // import demand, and a peak history that also captures a billing counter and the
    // export peak. Values made up for this test.
    let t = constructed(
        "/LG_E660_Fluvius_3N400V",
        &[
            "0-0:96.1.4(50250)",
            "0-0:1.0.0(250716100010S)",
            "1-0:1.8.0(0002720.76*kWh)",
            "1-0:4.7.0(00.056*kvar)",
            "1-0:64.7.0(00.014*kvar)",
            "1-0:8.8.0(0000502.35*kvarh)",
            "1-0:1.4.0(00.000*kW)",
            "1-0:2.4.0(00.210*kW)",
            "1-0:1.6.0(250708104500S)(01.430*kW)",
            "1-0:2.6.0(250713124500S)(01.577*kW)",
            "0-0:98.1.0(2)(0-0:0.1.0)(1-0:1.6.0)(1-0:1.6.0)(1-0:2.6.0)(1-0:2.6.0)(250601000000S)(14)(250504084500S)(02.452*kW)(250529150000S)(01.111*kW)(250701000000S)(15)(250604084500S)(01.452*kW)(250629150000S)(01.633*kW)",
            "0-0:98.1.1(1)(0-0:0.1.0)(1-0:1.8.0)(1-0:5.8.0)(250701000000S)(15)(0002631.00*kWh)(0000007.90*kvarh)",
        ],
    );
    assert_eq!(
        t.obj("belgium_monthly_billing_values"),
        &json!({"obis": "0-0:98.1.1", "name": "belgium_monthly_billing_values", "value": 1,
                "capture_objects": ["0-0:0.1.0", "1-0:1.8.0", "1-0:5.8.0"],
                "entries": [{"timestamp": "2025-06-30T22:00:00Z", "values": [
                    {"obis": "0-0:0.1.0", "value": 15},
                    {"obis": "1-0:1.8.0", "value": 2631.0, "unit": "kWh"},
                    {"obis": "1-0:5.8.0", "value": 7.9, "unit": "kvarh"}]}]})
    );
    t.no_unknown_codes();
    assert_eq!(t.top("dsmr_version"), "5B");
    t.qs(&[
        ("current_reactive_exported", 0.056, "kvar"),
        ("instantaneous_reactive_power_l3_negative", 0.014, "kvar"),
        ("electricity_reactive_total_q4", 502.35, "kvarh"),
        ("belgium_current_average_demand_export", 0.21, "kW"),
    ]);
    t.reading("belgium_maximum_demand_month_export", 1.577, "kW", "2025-07-13T10:45:00Z");
    assert_eq!(
        t.obj("belgium_maximum_demand_13_months")["entries"],
        json!([
            {"timestamp": "2025-05-04T06:45:00Z", "recorded_at": "2025-05-31T22:00:00Z", "value": 2.452, "unit": "kW",
             "export": {"timestamp": "2025-05-29T13:00:00Z", "value": 1.111, "unit": "kW"}},
            {"timestamp": "2025-06-04T06:45:00Z", "recorded_at": "2025-06-30T22:00:00Z", "value": 1.452, "unit": "kW",
             "export": {"timestamp": "2025-06-29T13:00:00Z", "value": 1.633, "unit": "kW"}},
        ])
    );
}

/// A peak and an export peak dated by a clock never set: shown, and flagged each.
#[test]
fn peaks_dated_by_a_clock_never_set_are_flagged() {
    let t = constructed(
        "/LG_E660_Fluvius_3N400V",
        &[
            "0-0:96.1.4(50250)",
            "0-0:1.0.0(250716100010S)",
            "0-0:98.1.0(2)(0-0:0.1.0)(1-0:1.6.0)(1-0:1.6.0)(1-0:2.6.0)(1-0:2.6.0)(250601000000S)(14)(000101084500W)(02.452*kW)(250529150000S)(01.111*kW)(250701000000S)(15)(250604084500S)(01.452*kW)(000101150000W)(01.633*kW)",
        ],
    );
    let entries = &t.obj("belgium_maximum_demand_13_months")["entries"];
    assert_eq!(
        (&entries[0]["value"], &entries[0]["unset_clock"], entries[0]["export"].get("unset_clock")),
        (&json!(2.452), &json!(true), None)
    );
    assert_eq!(
        (entries[1].get("unset_clock"), &entries[1]["export"]["value"], &entries[1]["export"]["unset_clock"]),
        (None, &json!(1.633), &json!(true))
    );
}

#[test]
fn walloon_tariffs_and_grid_configuration() {
    let t = constructed(
        "/ISk5\\2MIE5T-200",
        &[
            "0-0:96.1.4(21110)",
            "1-0:94.32.1(400)",
            "1-0:1.8.3(000123.456*kWh)",
            "1-0:1.8.5(000001.001*kWh)",
            "1-0:2.8.4(000002.002*kWh)",
        ],
    );
    t.no_unknown_codes();
    t.qs(&[
        ("electricity_used_tariff_3", 123.456, "kWh"),
        ("electricity_used_tariff_5", 1.001, "kWh"),
        ("electricity_delivered_tariff_4", 2.002, "kWh"),
    ]);
    t.text("belgium_grid_configuration", "400");
}

#[test]
fn a_cosem_clock_and_an_empty_mbus_slot() {
    // An MCS301 sends its clock as a COSEM date-time in hex (status 0x80: summer time) and
    // `(0)` for an M-Bus channel without a device.
    let t = constructed(
        "/MCS5\\253764512_A",
        &["1-3:0.2.8(50)", "0-0:1.0.0(07EA080B0208151900007880)", "0-1:24.1.0()", "0-1:24.2.1(0)"],
    );
    assert_eq!(t.top("timestamp"), "2026-08-11T06:21:25Z");
    assert_eq!(t.at("0-1:24.2.1")["value"], J::Null);
}

#[test]
fn aidon_transformer_ratios() {
    let t = constructed(
        "/ADN9 6560",
        &["0-0:1.0.0(250110093000W)", "1-0:1.8.0(00001219.311*kWh)", "1-0:0.4.2(200)", "1-0:0.4.3(001)"],
    );
    assert_eq!(t.top("dsmr_version"), "5S");
    t.no_unknown_codes();
    t.qs(&[("current_transformer_ratio", 200.0, ""), ("voltage_transformer_ratio", 1.0, "")]);
}

#[test]
fn a_value_continued_over_several_lines_is_joined() {
    // A Kamstrup meter breaks a long text message over three lines (as esphome's parser
    // tests have it); a line cut short does not swallow the data line after it.
    let t = decode_bytes(
        &telegram(
            "/KMP5 ZABF000000000000",
            &["0-0:96.13.0(3031323334353637", "38393A3B3C3D3E3F", "4142)", "1-0:31.7.0(001*A", "1-0:32.7.0(230.1*V)"],
        ),
        true,
        AMSTERDAM,
        None,
    );
    let t = T(t.telegrams.into_iter().next().expect("telegram"));
    assert_eq!(t.at("0-0:96.13.0")["value"], "0123456789:;<=>?AB");
    assert_eq!(t.at("0-0:96.13.0")["raw"], "3031323334353637\r\n38393A3B3C3D3E3F\r\n4142");
    assert_eq!(t.at("1-0:32.7.0")["value"], 230.1);
    assert_eq!(t.0["errors"][0]["text"], "1-0:31.7.0(001*A");
    assert_eq!(t.0["errors"].as_array().map(Vec::len), Some(1));
}

#[test]
fn an_encrypted_frame_cut_short_does_not_take_the_next_one_with_it() {
    // The first frame breaks off after 200 bytes; its length field then runs into the
    // next, complete frame. The start of that one (tag, title length, system title) tells
    // that the first was cut short, and the next is read from there, found and decrypted.
    let frame = recording("Sagemcom-Smarty-Lux5-encrypted_smarty-LU_openhab.bin");
    let stream = [&frame[..200], &frame[..]].concat();
    let keys = Keys::from_hex("D491470F47126332B07D1923B3504188", None).expect("key");
    let d = decode_bytes(&stream, true, AMSTERDAM, Some(keys));
    assert_eq!(d.telegrams.len(), 1, "{:?}", d.errors);
    assert_eq!(d.telegrams[0]["encrypted"], true);
    assert_eq!(d.errors.len(), 1, "{:?}", d.errors);
    assert!(
        matches!(d.errors[0], DecodeError::Frame(Reject::Truncated { len: 200, encrypted: true, .. })),
        "{:?}",
        d.errors
    );
    assert!(
        d.errors[0].to_string().contains("cut short after 200 bytes: a frame from the same meter starts inside it"),
        "{}",
        d.errors[0]
    );
}

/// A frame cut short and followed by a smaller one from the same meter, which does not fill
/// the length the first announced: the cut is seen when the next frame's start comes, so
/// that frame is read at once, not held back until later frames fill the cut one's length,
/// nor lost when the input ends there.
#[test]
fn an_encrypted_frame_cut_short_by_a_smaller_one_is_told_at_once() {
    let (key, auth) = ([7u8; 16], dsmrd::smarty::SMARTY_AUTH_KEY);
    let keys = || Some(Keys::from_hex(&"07".repeat(16), None).expect("key"));
    let header = "/Lux5\\253663629_D";
    let mut lines = vec!["1-3:0.2.8(42)", "0-0:1.0.0(200706104157S)"];
    lines.extend(["1-0:1.8.0(000025.653*kWh)"; 12]);
    let big = smarty_frame(&telegram(header, &lines), key, auth);
    let small = smarty_frame(&telegram(header, &lines[..3]), key, auth);
    assert!(100 + small.len() < big.len());
    let stream = [&big[..100], &small].concat();
    let d = decode_bytes(&stream, true, AMSTERDAM, keys());
    assert_eq!(d.telegrams.len(), 1, "{:?}", d.errors);
    assert_eq!(d.telegrams[0]["timestamp"], "2020-07-06T08:41:57Z");
    assert_eq!(d.errors.len(), 1, "{:?}", d.errors);
    assert!(
        d.errors[0].to_string().contains("cut short after 100 bytes: a frame from the same meter"),
        "{}",
        d.errors[0]
    );
    // Fed as a live stream: the small frame comes out of `feed`, before the input ends.
    let mut decoder = Decoder::new(DecoderOptions { keys: keys(), ..DecoderOptions::default() });
    let mut read = 0;
    decoder.feed(&stream, |d| read += usize::from(matches!(d, Decoded::Telegram(_))));
    assert_eq!(read, 1);
}

/// Without a key, a 0xDB whose header looks sane swallows what follows until the length it
/// announces; when the input ends first, what it took in is read again, so the telegram
/// after it is not lost.
#[test]
fn a_stray_encrypted_header_at_the_end_does_not_take_the_telegram_after_it() {
    let frame = recording("Sagemcom-Smarty-Lux5-encrypted_smarty-LU_openhab.bin");
    let t = telegram("/ISK5\\2M550T-1012", &["1-3:0.2.8(50)", "0-0:1.0.0(190320181403W)", "1-0:1.8.1(000576.239*kWh)"]);
    let d = decode_bytes(&[&frame[..18], &t].concat(), true, AMSTERDAM, None);
    assert_eq!(d.telegrams.len(), 1, "{:?}", d.errors);
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    assert_eq!(d.telegrams[0]["timestamp"], "2019-03-20T17:14:03Z");
}

#[test]
fn an_encrypted_frame_that_lost_a_few_bytes_does_not_take_the_next_one_with_it() {
    // A frame that lost k < 10 bytes (a UART overrun, or XON/XOFF bytes a ser2net port
    // strips) reads the first k bytes of the next frame: too few to see that frame's whole
    // start inside it. The next frame is still found, for every k, and the failure says the
    // keys are right, as the frame before proved them.
    let frame = recording("Sagemcom-Smarty-Lux5-encrypted_smarty-LU_openhab.bin");
    for lost in 1..=12 {
        let damaged = [&frame[..300], &frame[300 + lost..]].concat();
        let stream = [&frame[..], &damaged, &frame, &frame].concat();
        let keys = Keys::from_hex("D491470F47126332B07D1923B3504188", None).expect("key");
        let d = decode_bytes(&stream, true, AMSTERDAM, Some(keys));
        assert_eq!(d.telegrams.len(), 3, "{lost} bytes lost: {:?}", d.errors);
        assert_eq!(d.errors.len(), 1, "{lost} bytes lost: {:?}", d.errors);
        let message = d.errors[0].to_string();
        // Up to 9 bytes lost, the damaged frame holds only part of the next one's start
        // (which may be chance), so its tag fails and the keys proven before are named;
        // from 10, that whole start is inside it, and it is known to be cut short before it
        // is complete.
        let expected = if lost < 10 {
            "earlier frames from this meter authenticated with the same keys, so this one was changed or cut short on the line".to_string()
        } else {
            format!("cut short after {} bytes: a frame from the same meter starts inside it", frame.len() - lost)
        };
        assert!(message.contains(&expected), "{lost} bytes lost: {message}");
        assert!(!message.contains("authentication key is wrong"), "{message}");
    }
}

#[test]
fn a_failed_tag_says_which_key_is_wrong_when_it_can_tell() {
    // The spec example is authenticated with its own key (ffeedd...), not Smarty's default.
    let frame = recording("spec-example-LU-Smarty-encrypted-with-aad_smarty_athombv.bin");
    let key = "0123456789abcdef0123456789abcdef";
    let d = decode_bytes(&frame, true, AMSTERDAM, Some(Keys::from_hex(key, None).expect("key")));
    assert!(d.telegrams.is_empty());
    let message = d.errors[0].to_string();
    assert!(message.contains("the decryption key is right"), "{message}");
    assert!(message.contains("the authentication key is wrong"), "{message}");
    assert!(!message.to_lowercase().contains(key), "{message}");
    // With a wrong decryption key nothing can be told apart.
    let wrong = Keys::from_hex("0123456789abcdef0123456789abcdee", None).expect("key");
    let d = decode_bytes(&frame, true, AMSTERDAM, Some(wrong));
    assert!(d.errors[0].to_string().contains("the decryption key (or authentication key) is wrong"), "{}", d.errors[0]);
    // With its own authentication key it is read.
    let keys = Keys::from_hex(key, Some("ffeeddccbbaa99887766554433221100")).expect("keys");
    let d = decode_bytes(&frame, true, AMSTERDAM, Some(keys));
    assert_eq!((d.telegrams.len(), d.errors.len()), (1, 0));
}

#[test]
fn a_snippet_without_crc_or_version_line_but_with_dsmr4_codes_is_not_read_as_dsmr22() {
    let s = b"/KFM5KAIFA-METER\r\n\r\n1-0:1.8.1(000671.578*kWh)\r\n0-1:24.2.1(161129200000W)(00981.443*m3)\r\n!\r\n";
    let d = decode_bytes(s, true, AMSTERDAM, None);
    let t = T(d.telegrams.into_iter().next().expect("telegram"));
    assert_eq!(t.top("dsmr_version"), "5");
    t.reading("hourly_gas_meter_reading", 981.443, "m3", "2016-11-29T19:00:00Z");
    // A real DSMR 2.2 telegram stays 2.2.
    let t = one("Iskra-ME382-1003_dsmr2.2_smeterd.txt");
    assert_eq!(t.top("dsmr_version"), "2.2");
}

#[test]
fn a_header_byte_that_is_no_utf8_is_read_as_latin1_when_the_crc_vouches_for_it() {
    // dsmr-reader's Fluvius tests send `/FLU5` 0xAB `769484_A` (Python's "\253").
    let t = constructed_bytes(b"/FLU5\xAB769484_A\r\n\r\n0-0:96.1.4(50213)\r\n1-0:1.8.1(000260.129*kWh)\r\n!");
    assert_eq!(t.top("header"), "/FLU5\u{AB}769484_A");
    assert_eq!(t.top("dsmr_version"), "5B");
    assert_eq!(t.0["errors"], json!([]));
    t.q("electricity_used_tariff_1", 260.129, "kWh");
}

#[test]
fn a_dutch_telegram_cut_down_to_a_few_lines_is_not_read_as_swedish() {
    // No version line and no meter id, as in a partial capture; its tariff registers say
    // it is no Swedish meter, which sends totals only.
    let t = constructed("/KFM5KAIFA-METER", &["0-0:1.0.0(170702192002S)", "1-0:1.8.1(001581.123*kWh)"]);
    assert_eq!(t.top("dsmr_version"), "5");
    assert_eq!(t.top("timestamp"), "2017-07-02T17:20:02Z");
    t.q("electricity_used_tariff_1", 1581.123, "kWh");
}

#[test]
fn codes_seen_in_the_field_outside_the_tables_they_were_read_by() {
    // EasyMeter Q3D firmware before V3.04 writes its power codes with E = 255.
    let d = decode_bytes(
        b"/ESY5Q3DA1024 V3.03\r\n\r\n1-0:0.0.0*255(1ESY1160669767)\r\n1-0:1.8.0*255(00001982.5419538*kWh)\r\n\
1-0:21.7.255*255(000046.04*W)\r\n1-0:41.7.255*255(000122.30*W)\r\n1-0:61.7.255*255(000079.03*W)\r\n\
1-0:1.7.255*255(000247.37*W)\r\n1-0:96.5.5*255(82)\r\n0-0:96.1.255*255(1ESY1160669767)\r\n!\r\n",
        true,
        AMSTERDAM,
        None,
    );
    let t = T(d.telegrams.into_iter().next().expect("telegram"));
    assert_eq!(t.top("dsmr_version"), "Q3D");
    t.no_unknown_codes();
    t.qs(&[
        ("current_electricity_usage", 247.37, "W"),
        ("instantaneous_active_power_l1_positive", 46.04, "W"),
        ("instantaneous_active_power_l2_positive", 122.3, "W"),
        ("instantaneous_active_power_l3_positive", 79.03, "W"),
    ]);

    // An AUX meter in Hungary sends its breaker state on the spec's 0-0:96.50.68.
    let t = constructed(
        "/AUX5AUX-METER",
        &["0-0:42.0.0(415558313033303330333231383136)", "0-0:1.0.0(230817171430S)", "0-0:96.50.68(ON)"],
    );
    assert_eq!(t.top("dsmr_version"), "EON_HU");
    t.text("breaker_state", "ON");

    // A Polish Elgama GAMA 150, read as DSMR 5, has four tariffs.
    let t = constructed(
        "/EGM5G15",
        &["1-3:0.2.8(50)", "0-0:1.0.0(250101120000W)", "1-0:1.8.3(000012.500*kWh)", "1-0:2.8.4(000001.250*kWh)"],
    );
    assert_eq!(t.top("dsmr_version"), "5");
    t.q("electricity_used_tariff_3", 12.5, "kWh");
    t.q("electricity_delivered_tariff_4", 1.25, "kWh");

    // A Warmtelink heat interface writes the telegram's time on 0-0:1.1.0; the header's
    // padding blanks are not part of it.
    let t = constructed(
        "/WARMTELINK-VI   ",
        &["1-3:0.2.8(50)", "0-0:1.1.0(250630001718S)", "0-1:24.1.0(012)", "0-1:24.2.1(250630001700S)(69.401*GJ)"],
    );
    assert_eq!(t.top("header"), "/WARMTELINK-VI");
    assert_eq!(t.top("timestamp"), "2025-06-29T22:17:18Z");
    t.reading("heat_meter_reading", 69.401, "GJ", "2025-06-29T22:17:00Z");
}

#[test]
fn a_belgian_control_state_belongs_to_its_channel_and_a_luxembourg_relay_to_none() {
    let t = constructed(
        "/FLU5\\253769484_A",
        &["0-0:96.1.4(50221)", "0-1:24.1.0(003)", "0-1:96.3.10(1)", "0-3:96.3.10(0)", "1-0:1.8.1(000001.000*kWh)"],
    );
    assert_eq!(t.top("dsmr_version"), "5B");
    assert_eq!(
        (t.at("0-1:96.3.10")["name"].as_str(), t.at("0-1:96.3.10")["channel"].as_u64()),
        (Some("mbus_control_state"), Some(1))
    );
    assert_eq!(t.at("0-3:96.3.10")["channel"], 3);
    // A control state alone makes no device: channel 3 has none.
    let channels: Vec<u64> =
        t.0["mbus"].as_array().expect("mbus").iter().filter_map(|d| d["channel"].as_u64()).collect();
    assert_eq!(channels, [1]);

    let t = constructed(
        "/Lux5\\253663653_B",
        &["1-3:0.2.8(42)", "0-0:42.0.0(53414731303330373030303236353638)", "0-1:96.3.10(1)"],
    );
    assert_eq!(t.top("dsmr_version"), "5L");
    assert_eq!(t.at("0-1:96.3.10")["name"], "relay_1_switch_position");
    assert_eq!(t.at("0-1:96.3.10").get("channel"), None);
}

#[test]
fn a_time_with_a_full_year_and_separators_is_read() {
    // An NES meter in Denmark writes `YYYYMMDD hh:mm:ss` with no flag: local time by the
    // zone's rules (January: UTC+1).
    let t = constructed("/NES5:83335-3E", &["0-0:1.0.0(20240111 09:35:00)", "1-0:1.8.0(000036.273*kWh)"]);
    assert_eq!(t.top("timestamp"), "2024-01-11T08:35:00Z");
    assert_eq!(t.0["errors"], json!([]));
    // Read as Swedish (totals only), a time without flag is normal time all year; read as
    // DSMR 5 (a tariff register), it follows the zone's rules.
    let t = constructed("/NES5:83335-3E", &["0-0:1.0.0(20240711 09:35:00)", "1-0:1.8.0(000036.273*kWh)"]);
    assert_eq!((t.top("dsmr_version"), t.top("timestamp")), (json!("5S"), json!("2024-07-11T08:35:00Z")));
    let t = constructed("/NES5:83335-3E", &["0-0:1.0.0(20240711 09:35:00)", "1-0:1.8.1(000036.273*kWh)"]);
    assert_eq!((t.top("dsmr_version"), t.top("timestamp")), (json!("5"), json!("2024-07-11T07:35:00Z")));
}

#[test]
fn a_meter_outside_the_netherlands_read_as_dsmr5_has_its_reactive_codes_and_serial_named() {
    // A Kaifa MA309M in Poland (Stoen): DSMR 5 layout with reactive power and the meter's
    // serial, hex-encoded, on 0-0:96.1.0.
    let t = constructed(
        "/KFM5KAIFA-METER",
        &[
            "1-3:0.2.8(50)",
            "0-0:1.0.0(251125105643W)",
            "0-0:96.1.0(3330303537373735)",
            "1-0:1.8.1(000336.420*kWh)",
            "1-0:3.7.0(00.021*kvar)",
            "1-0:4.7.0(00.000*kvar)",
        ],
    );
    assert_eq!(t.top("dsmr_version"), "5");
    t.no_unknown_codes();
    t.text("equipment_serial_number", "30057775");
    t.q("current_reactive_imported", 0.021, "kvar");
    t.q("current_reactive_exported", 0.0, "kvar");
    assert_eq!(t.top("timestamp"), "2025-11-25T09:56:43Z");
}

#[test]
fn a_meter_clock_that_was_never_set_is_shown_as_sent_and_marked() {
    // dsmr-reader #1922: an L+G meter after a move, its clock running from 2000-01-01.
    let t = constructed(
        "/XMX5LGBBFG1009089532",
        &["1-3:0.2.8(42)", "0-0:1.0.0(000101023000W)", "1-0:1.8.1(000024.487*kWh)"],
    );
    assert_eq!(t.top("timestamp"), "2000-01-01T01:30:00Z");
    let clock = t.obj("p1_message_timestamp");
    assert_eq!(
        (&clock["value"], &clock["raw"], &clock["placeholder"]),
        (&json!("2000-01-01T01:30:00Z"), &json!("000101023000W"), &json!(true))
    );
    assert_eq!(t.0["errors"], json!([]));
    // A set clock is not marked.
    let t = constructed("/XMX5LGBBFG1009089532", &["1-3:0.2.8(42)", "0-0:1.0.0(181103101500W)"]);
    assert_eq!(t.obj("p1_message_timestamp").get("placeholder"), None);
}

#[test]
fn fluvius_50217_robthree_agrees_with_the_sources_own_test() {
    // RobThree/DSMRParser.Net's TelegramParserTests assert the id, the time (22:29:30+01:00)
    // and both tariffs.
    let t = one("Fluvius-FLU5-50217-1ph-peak_e-MUCS-BE_robthree.txt");
    assert_eq!(t.top("dsmr_version"), "5B");
    assert_eq!(t.top("timestamp"), "2023-01-08T21:29:30Z");
    t.text("belgium_equipment_identifier", "K8EG004046395507");
    t.q("electricity_used_tariff_1", 3540.994, "kWh");
    t.q("electricity_used_tariff_2", 4343.832, "kWh");
    // One month of peaks: the month that began on 1 January (Brussels), its peak on
    // 29 December at 14:30 local time.
    let peaks = t.obj("belgium_maximum_demand_13_months");
    assert_eq!(
        peaks["entries"],
        json!([{"timestamp": "2022-12-29T13:30:00Z", "recorded_at": "2022-12-31T23:00:00Z", "value": 4.875, "unit": "kW"}])
    );
    t.reading("gas_meter_reading", 4856.664, "m3", "2023-01-08T21:25:01Z");
    assert_eq!(t.mbus(1)["equipment_id"], "9999ABCD123456789");
}

#[test]
fn a_kaifa_gas_meter_on_channel_2_is_grouped_on_channel_2() {
    let t = one("Kaifa-KFM5-gas-channel-2_dsmr4.2_homebridgep1.txt");
    assert_eq!(t.top("dsmr_version"), "4");
    t.reading("hourly_gas_meter_reading", 3514.244, "m3", "2019-02-28T19:00:00Z");
    let gas = t.mbus(2);
    assert_eq!((&gas["device_type"], &gas["medium"]), (&json!(3), &json!("gas")));
    assert_eq!(gas["equipment_id"], "G0019340321222816");
    assert_eq!(gas["readings"][0]["obis"], "0-2:24.2.1");
    assert!(t.0["mbus"].as_array().is_some_and(|m| m.len() == 1), "{}", t.0["mbus"]);
}

#[test]
fn a_sagemcom_mt212_smr5_5_is_read_as_dsmr_5_with_its_gas_placeholder() {
    // The Dutch Sagemcom MT212 "SMR5.5" (installed from 2025; esphome #11625, Home Assistant
    // #152514): a `/SAG5` header that is not E.ON Hungary's, and, with no gas meter paired,
    // the placeholder that made other readers fail with "Missing unit".
    let t = constructed(
        "/SAG5\\2MT212 SMR5.5",
        &[
            "1-3:0.2.8(50)",
            "0-0:1.0.0(251030183920W)",
            "0-0:96.1.1(4530303837303030303036393336333235)",
            "1-0:1.8.1(000044.341*kWh)",
            "1-0:2.8.2(000034.227*kWh)",
            "1-0:1.7.0(02.011*kW)",
            "0-1:24.1.0(003)",
            "0-1:24.2.1(632525252525W)(00000.000)",
        ],
    );
    assert_eq!(t.top("dsmr_version"), "5");
    assert_eq!(t.top("timestamp"), "2025-10-30T17:39:20Z");
    t.no_unknown_codes();
    t.text("equipment_identifier", "E0087000006936325");
    t.q("electricity_used_tariff_1", 44.341, "kWh");
    t.q("electricity_delivered_tariff_2", 34.227, "kWh");
    t.q("current_electricity_usage", 2.011, "kW");
    t.placeholder("hourly_gas_meter_reading");
}

#[test]
fn a_holley_meter_is_read_with_the_hungarian_table() {
    // dsmr_parser #91 / esphome #7019: a Holley DTSD545 in Hungary (its unit with a blank).
    let t = constructed(
        "/HLY5\\D545-METER",
        &[
            "0-0:1.0.0(220203113815W)",
            "1-0:15.8.0(00007137.694*kWh )",
            "1-0:13.7.0(0.999)",
            "1-0:4.8.1(00000680.772*kvarh)",
        ],
    );
    assert_eq!(t.top("dsmr_version"), "EON_HU");
    t.no_unknown_codes();
    t.q("electricity_combined", 7137.694, "kWh");
    t.q("instantaneous_power_factor_total", 0.999, "");
    t.q("electricity_reactive_exported_tariff_1", 680.772, "kvarh");
}

/// A Smarty frame around `plain`, as a meter builds it: AES-128-GCM, IV = system title ‖
/// frame counter, AAD = 0x30 ‖ authentication key, 12-byte tag; its length as `0x82 hi lo`.
fn smarty_frame(plain: &[u8], key: [u8; 16], auth: [u8; 16]) -> Vec<u8> {
    smarty_frame_with_length(plain, key, auth, 2)
}

/// [`smarty_frame`] with the BER length in `length_bytes` bytes after `0x80 + length_bytes`
/// (`0x81 n`, `0x82 hi lo`), or in the short form (one byte below 0x80) for 0.
fn smarty_frame_with_length(plain: &[u8], key: [u8; 16], auth: [u8; 16], length_bytes: usize) -> Vec<u8> {
    use aes_gcm::aead::AeadInPlace;
    use aes_gcm::aead::consts::U12;
    use aes_gcm::aead::generic_array::GenericArray;
    use aes_gcm::{AesGcm, KeyInit, aes::Aes128};
    let (title, counter) = (*b"SYSTEMID", [0u8, 0, 0, 7]);
    let mut iv = [0u8; 12];
    iv[..8].copy_from_slice(&title);
    iv[8..].copy_from_slice(&counter);
    let aad = [&[0x30u8][..], &auth].concat();
    let mut body = plain.to_vec();
    let cipher = AesGcm::<Aes128, U12, U12>::new(GenericArray::from_slice(&key));
    let tag = cipher.encrypt_in_place_detached(GenericArray::from_slice(&iv), &aad, &mut body).expect("encrypt");
    let len = 1 + 4 + body.len() + 12;
    let mut frame = vec![0xDB, 0x08];
    frame.extend_from_slice(&title);
    match length_bytes {
        0 => frame.push(u8::try_from(len).ok().filter(|&n| n < 0x80).expect("short form")),
        1 => frame.extend_from_slice(&[0x81, u8::try_from(len).expect("one byte")]),
        _ => frame.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]),
    }
    frame.push(0x30);
    frame.extend_from_slice(&counter);
    frame.extend_from_slice(&body);
    frame.extend_from_slice(&tag);
    frame
}

#[test]
fn an_authenticated_frame_that_holds_no_telegram_is_said_to() {
    let (key, auth) = ([7u8; 16], dsmrd::smarty::SMARTY_AUTH_KEY);
    let keys = || Some(Keys::from_hex(&"07".repeat(16), None).expect("key"));
    let d = decode_bytes(&smarty_frame(b"no telegram in here", key, auth), true, AMSTERDAM, keys());
    assert!(d.telegrams.is_empty());
    assert_eq!(d.errors.len(), 1);
    assert!(
        d.errors[0].to_string().contains("it decrypts and authenticates, but holds no telegram"),
        "{}",
        d.errors[0]
    );
    // So is the shortest frame, whose ciphertext is empty: its header is sane.
    let d = decode_bytes(&smarty_frame(b"", key, auth), true, AMSTERDAM, keys());
    assert_eq!(d.errors.len(), 1, "{:?}", d.errors);
    assert!(d.errors[0].to_string().contains("holds no telegram"), "{}", d.errors[0]);
    // The same frame around a telegram is read.
    let t = telegram("/Lux5\\253663629_D", &["1-3:0.2.8(42)", "0-0:1.0.0(200706104157S)", "1-0:1.8.0(000025.653*kWh)"]);
    let d = decode_bytes(&smarty_frame(&t, key, auth), true, AMSTERDAM, keys());
    assert_eq!(d.telegrams.len(), 1, "{:?}", d.errors);
    assert_eq!(d.telegrams[0]["encrypted"], true);
}

#[test]
fn a_dsmr5_telegram_cut_short_by_a_changed_byte_is_rejected_even_first_in_a_stream() {
    // A `)` turned `!` (one bit) ends the first telegram early, before the framer has seen
    // any CRC in the stream: its version line (50) says it must have one, and its last line
    // is broken, so it is a CRC failure, not a telegram. The rest of it is skipped, and the
    // intact telegram after it is read.
    let good = recording("Iskra-AM550-M550E-1012_dsmr5.0_dsmr5rs.txt");
    let text = String::from_utf8(good.clone()).expect("text");
    let damaged = text.replacen("(236.1*V)", "(236.1*V!", 1);
    assert_ne!(damaged, text);
    let stream = [damaged.as_bytes(), &good].concat();
    let d = decode_bytes(&stream, true, AMSTERDAM, None);
    assert_eq!(d.telegrams.len(), 1, "{:?}", d.errors);
    assert_eq!(d.telegrams[0]["crc"], "67B1");
    assert_eq!(d.errors, vec![DecodeError::Frame(dsmrd::frame::Reject::CrcMissingDeclared)]);
    assert!(d.errors[0].is_crc());
    // The same telegram without a CRC but whole (as the amshan L+G 4.2 capture is) is read,
    // and with CRC checking off the damaged one is shown with its broken line.
    let whole = text.replacen("!67B1", "!", 1);
    let d = decode_bytes(whole.as_bytes(), true, AMSTERDAM, None);
    assert_eq!((d.telegrams.len(), d.errors.len()), (1, 0), "{:?}", d.errors);
    let d = decode_bytes(damaged.as_bytes(), false, AMSTERDAM, None);
    assert_eq!(d.telegrams.len(), 1, "{:?}", d.errors);
    assert_eq!(d.telegrams[0]["errors"][0]["text"], "1-0:32.7.0(236.1*V");
    // A CR turned `!` breaks no line, but leaves the `!` glued to one.
    let glued = text.replacen("(236.1*V)\r\n", "(236.1*V)!\n", 1);
    assert_ne!(glued, text);
    let d = decode_bytes(glued.as_bytes(), true, AMSTERDAM, None);
    assert_eq!(d.telegrams.len(), 0, "{:?}", d.telegrams);
    assert_eq!(d.errors, vec![DecodeError::Frame(dsmrd::frame::Reject::CrcMissingDeclared)]);
}

/// A telegram whose version says it ends in a CRC, with none, and whose last line is
/// broken although the `!` starts a line of its own (the line's `)` and the CRC digits
/// lost): rejected as cut short. The same with the broken line before an intact last one
/// is a telegram with that line reported; with no version line saying a CRC is due, so is
/// the first.
#[test]
fn a_telegram_without_its_crc_whose_last_line_is_broken_is_rejected() {
    let lines = ["1-0:1.8.1(000576.239*kWh)", "1-0:32.7.0(236.1*V"];
    let body = |version: &str, lines: &[&str]| {
        let mut text = format!("/ISK5\\2M550E-1012\r\n\r\n{version}");
        for l in lines {
            text.push_str(l);
            text.push_str("\r\n");
        }
        text.push_str("!\r\n");
        text
    };
    let d = decode_bytes(body("1-3:0.2.8(50)\r\n", &lines).as_bytes(), true, AMSTERDAM, None);
    assert_eq!((d.telegrams.len(), d.errors.clone()), (0, vec![DecodeError::Frame(Reject::CrcMissingDeclared)]));
    let d = decode_bytes(body("1-3:0.2.8(50)\r\n", &[lines[1], lines[0]]).as_bytes(), true, AMSTERDAM, None);
    assert_eq!((d.telegrams.len(), d.errors.len()), (1, 0), "{:?}", d.errors);
    assert_eq!(d.telegrams[0]["errors"][0]["text"], "1-0:32.7.0(236.1*V");
    // (A tariff `42` is no version, though it reads like one.)
    let d = decode_bytes(body("0-0:96.14.0(42)\r\n", &lines).as_bytes(), true, AMSTERDAM, None);
    assert_eq!((d.telegrams.len(), d.errors.len()), (1, 0), "{:?}", d.errors);
    assert_eq!(d.telegrams[0]["errors"][0]["text"], "1-0:32.7.0(236.1*V");
}

#[test]
fn an_emucs_telegram_cut_short_by_a_changed_byte_is_rejected_but_a_broken_line_before_its_end_is_not() {
    // e-MUCS types its version line `0-0:96.1.4(50217)` as hex: it says a CRC is due too.
    let good = recording("Fluvius-FLU5-anon-3phase_e-MUCS-P1-1.7.x-BE_openhab.txt");
    let text = String::from_utf8(good).expect("text");
    let bang = text.rfind('!').expect("end marker");
    let line_start = text[..bang - 2].rfind('\n').expect("last line") + 1;
    let last_line = &text[line_start..bang - 2];
    assert!(last_line.ends_with(')'), "{last_line}");
    // Cut within its last line: rejected.
    let cut = format!("{}!\r\n", &text[..bang - 3]);
    let d = decode_bytes(cut.as_bytes(), true, AMSTERDAM, None);
    assert_eq!(
        (d.telegrams.len(), d.errors.clone()),
        (0, vec![DecodeError::Frame(dsmrd::frame::Reject::CrcMissingDeclared)])
    );
    // Whole but for its CRC, with a broken line in the middle (an unreadable time): read,
    // with that line reported.
    let whole = format!("{}!\r\n", &text[..bang]).replacen("0-0:1.0.0(", "0-0:1.0.0(99", 1);
    let d = decode_bytes(whole.as_bytes(), true, AMSTERDAM, None);
    assert_eq!(d.telegrams.len(), 1, "{:?}", d.errors);
    assert_eq!(d.telegrams[0]["errors"].as_array().map(Vec::len), Some(1), "{}", d.telegrams[0]["errors"]);
}

#[test]
fn a_stray_0xdb_is_noise_unless_encrypted_frames_are_expected() {
    // A byte 0xDB that begins no encrypted frame (a telnet or RFC 2217 byte before a plain
    // telegram): skipped noise without a key, a reported rejection with one (it may be a
    // damaged frame's start). The telegram after it is read either way.
    let good = recording("Iskra-AM550-M550E-1012_dsmr5.0_dsmr5rs.txt");
    let stream = [&[0xFF, 0xFB, 0x01, 0xDB, 0x05, 0x00][..], &good].concat();
    let d = decode_bytes(&stream, true, AMSTERDAM, None);
    assert_eq!((d.telegrams.len(), d.errors.len()), (1, 0), "{:?}", d.errors);
    let keys = Keys::from_hex("D491470F47126332B07D1923B3504188", None).expect("key");
    let d = decode_bytes(&stream, true, AMSTERDAM, Some(keys));
    assert_eq!(d.telegrams.len(), 1, "{:?}", d.errors);
    assert_eq!(d.errors, vec![DecodeError::Frame(dsmrd::frame::Reject::BadSmartyHeader { read: 1 })]);
}

#[test]
fn a_failed_frame_that_ends_in_0xdb_by_chance_gives_one_error() {
    // Its last byte is read again as a possible start of the next frame (as after a frame
    // that lost one byte); when none comes of it, that is not reported a second time.
    let frame = recording("Sagemcom-Smarty-Lux5-encrypted_smarty-LU_openhab.bin");
    let mut bad = frame.clone();
    *bad.last_mut().expect("bytes") = 0xDB;
    let keys = || Some(Keys::from_hex("D491470F47126332B07D1923B3504188", None).expect("key"));
    for stream in [[&frame[..], &bad, &frame].concat(), [&frame[..], &bad].concat()] {
        let d = decode_bytes(&stream, true, AMSTERDAM, keys());
        assert_eq!(d.telegrams.len(), 1 + usize::from(stream.len() > 2 * frame.len()));
        assert_eq!(d.errors.len(), 1, "{:?}", d.errors);
        assert!(matches!(d.errors[0], DecodeError::Decrypt(dsmrd::smarty::DecryptError::TagMismatch { .. })));
    }
}

#[test]
fn a_q3d_exporting_names_its_export_power_as_dsmr_parser_does() {
    // dsmr_parser's Q3D table names `1-0:2.7.0` CURRENT_ELECTRICITY_DELIVERY; a Q3D on a
    // house with solar panels sends it next to `1-0:1.7.0` (values made up, firmware
    // before and after V3.04).
    for (code, suffix) in [("2.7.0", "*255"), ("2.7.255", "*255")] {
        let body = format!(
            "/ESY5Q3DB1024 V3.04\r\n\r\n1-0:0.0.0*255(0273011003456)\r\n1-0:1.8.0*255(00052185.7825309*kWh)\r\n\
             1-0:1.7.0*255(000000.00*W)\r\n1-0:{code}{suffix}(000124.86*W)\r\n1-0:96.5.5*255(80)\r\n\
             0-0:96.1.255*255(1ESY1161003456)\r\n!\r\n"
        );
        let d = decode_bytes(body.as_bytes(), true, AMSTERDAM, None);
        assert!(d.errors.is_empty(), "{:?}", d.errors);
        let t = T(d.telegrams.into_iter().next().expect("telegram"));
        assert_eq!(t.top("dsmr_version"), "Q3D");
        t.no_unknown_codes();
        t.q("current_electricity_delivery", 124.86, "W");
        assert_eq!(t.obj("current_electricity_delivery")["obis"], format!("1-0:{code}{suffix}"));
    }
}

#[test]
fn an_mbus_channel_without_its_device_type_line_has_no_medium_and_keeps_the_table_names() {
    // As an Iskra AM550 sent it (pieterh/energy-management-system tests): channel 1 has its
    // device type, channel 2 has only an id and a reading.
    let t = constructed(
        "/ISK5\\2M550E-1012",
        &[
            "1-3:0.2.8(50)",
            "0-0:1.0.0(210127151805W)",
            "1-0:1.8.1(001234.567*kWh)",
            "0-1:24.1.0(003)",
            "0-1:24.2.1(632525252525W)(00000.000)",
            "0-2:96.1.0(4730303339303031383433313135303138)",
            "0-2:24.2.1(210127151500W)(01234.567*m3)",
        ],
    );
    assert_eq!(t.mbus(1)["device_type"], 3);
    assert_eq!(t.mbus(1)["medium"], "gas");
    let second = t.mbus(2);
    assert_eq!(second["device_type"], J::Null);
    assert_eq!(second["medium"], J::Null);
    assert_eq!(second["equipment_id"], "G0039001843115018");
    let reading = &second["readings"][0];
    assert_eq!(reading["name"], "hourly_gas_meter_reading");
    assert_eq!(reading["value"], 1234.567);
    assert_eq!(reading["unit"], "m3");
    assert_eq!(reading["timestamp"], "2021-01-27T14:15:00Z");
}

/// The DSMR 2.2 telegram DSMRParser.Net calls mangled, with the values its test asserts.
#[test]
fn the_v2_2_telegram_called_mangled_reads_as_its_source_expects() {
    let t = one("synthetic-V2_2-mangled_dsmr2.2_robthree.txt");
    assert_eq!(t.top("header"), "/Test\\V2_2-Telegram_Mangled");
    t.q("actual_treshold_electricity", 999.0, "kW");
    t.q("gas_meter_reading", 22806.137, "m3");
}

/// `auto` on telegrams that differ in one line: each clue decides the version on its own,
/// where no header flag or version line says it first.
#[test]
fn each_detection_clue_decides_on_its_own() {
    const HEADER: &str = "/XYZ5\\2TEST";
    const ID: &str = "0-0:96.1.1(4530303433303037303532383730333138)";
    const TIME: &str = "0-0:1.0.0(190320181403W)";
    const POWER: &str = "1-0:1.7.0(00.193*kW)";
    const TARIFF: &str = "1-0:1.8.1(000576.239*kWh)";
    let version = |header: &str, lines: &[&str]| constructed(header, lines).top("dsmr_version");
    // Without a clue: DSMR 5.
    assert_eq!(version(HEADER, &[ID, POWER]), "5");
    assert_eq!(version(HEADER, &[POWER]), "5");
    // A time with neither meter id nor tariff registers: the Swedish layout; a meter id or
    // a tariff register says it is not.
    assert_eq!(version(HEADER, &[TIME, POWER]), "5S");
    assert_eq!(version(HEADER, &[TIME, ID, POWER]), "5");
    assert_eq!(version(HEADER, &[TIME, TARIFF, POWER]), "5");
    // A total register without meter id or tariffs, even without a time: Swedish too.
    assert_eq!(version(HEADER, &[POWER, "1-0:1.8.0(00001234.567*kWh)"]), "5S");
    // The two-line gas profile of DSMR 3 (a telegram with a CRC, so not 2.2).
    let gas = "0-1:24.3.0(130810180000)(00)(60)(1)(0-1:24.2.1)(m3)\r\n(00947.680)";
    let t = constructed(HEADER, &[ID, TARIFF, gas]);
    assert_eq!(t.top("dsmr_version"), "3");
    t.q("electricity_used_tariff_1", 576.239, "kWh");
    assert_eq!(version(HEADER, &[ID, TARIFF]), "5");
    // Belgian gas, or a demand register, without any other Belgian sign.
    let t = constructed(HEADER, &[ID, TARIFF, "0-1:24.2.3(190320181003W)(00304.089*m3)"]);
    assert_eq!(t.top("dsmr_version"), "5B");
    t.reading("gas_meter_reading", 304.089, "m3", "2019-03-20T17:10:03Z");
    let t = constructed(HEADER, &[ID, TARIFF, "1-0:1.4.0(02.351*kW)"]);
    assert_eq!(t.top("dsmr_version"), "5B");
    t.q("belgium_current_average_demand", 2.351, "kW");
    // An F group (`*255`) with `Q3D` in the header: EasyMeter Q3D; either alone is not.
    let q3d = "/ABC5Q3DA1004 V3.04";
    let total = "1-0:1.8.0*255(00001234.5678*kWh)";
    let t = constructed(q3d, &[total, "1-0:16.7.0*255(000123.45*W)"]);
    assert_eq!(t.top("dsmr_version"), "Q3D");
    t.q("electricity_imported_total", 1234.5678, "kWh");
    assert_ne!(version(q3d, &["1-0:1.8.0(00001234.5678*kWh)", POWER]), "Q3D");
    assert_ne!(version(HEADER, &[total, POWER]), "Q3D");
}

/// Meters write the frame's length in the shortest BER form that holds it: one byte below
/// 128, `0x81 n` below 256. Small frames in those forms, back to back with a long-form one,
/// are each sized, decrypted and read.
#[test]
fn smarty_frames_with_short_and_one_byte_lengths_are_read() {
    let (key, auth) = ([7u8; 16], dsmrd::smarty::SMARTY_AUTH_KEY);
    let keys = Some(Keys::from_hex(&"07".repeat(16), None).expect("key"));
    let header = "/Lux5\\253663629_D";
    let short = telegram(header, &["1-0:1.8.0(000025.653*kWh)"]);
    let medium = telegram(
        header,
        &["1-3:0.2.8(42)", "0-0:1.0.0(200706104157S)", "1-0:1.8.0(000026.001*kWh)", "1-0:2.8.0(000000.500*kWh)"],
    );
    let long = telegram(header, &["1-3:0.2.8(42)", "0-0:1.0.0(200706104158S)", "1-0:1.8.0(000027.250*kWh)"]);
    let frames = [
        smarty_frame_with_length(&short, key, auth, 0),
        smarty_frame_with_length(&medium, key, auth, 1),
        smarty_frame_with_length(&long, key, auth, 2),
    ];
    // Each form is the one meant: 17 bytes around the telegram in one, two or three bytes.
    assert!(frames[0][10] < 0x80);
    assert_eq!((frames[1][10], usize::from(frames[1][11])), (0x81, medium.len() + 17));
    assert_eq!(frames[2][10], 0x82);
    let d = decode_bytes(&frames.concat(), true, AMSTERDAM, keys);
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    let values: Vec<J> =
        d.telegrams.iter().map(|t| T(t.clone()).obj("electricity_imported_total")["value"].clone()).collect();
    assert_eq!(values, [json!(25.653), json!(26.001), json!(27.25)]);
    assert_eq!(T(d.telegrams[1].clone()).obj("electricity_exported_total")["value"], 0.5);
}

/// The M-Bus device types EN 13757-3 gives, as each device's medium: electricity 2, gas 3,
/// heat 4 (and 12, 13 at the inlet), warm water 6 and 21, water 7 (22, 23), cooling 10, 11.
#[test]
fn mbus_device_types_name_their_medium() {
    for (code, medium) in [
        ("002", "electricity"),
        ("003", "gas"),
        ("004", "heat"),
        ("012", "heat"),
        ("006", "hot_water"),
        ("021", "hot_water"),
        ("007", "water"),
        ("023", "water"),
        ("010", "cooling"),
        ("011", "cooling"),
        ("001", "mbus"),
    ] {
        let t = constructed("/ISK5\\2M550T-1012", &["1-3:0.2.8(50)", &format!("0-1:24.1.0({code})")]);
        assert_eq!(t.mbus(1)["medium"], medium, "device type {code}");
    }
}

/// A DSMR 5 code sent on an M-Bus channel the table has no row for is unknown, not the
/// meter's own code of that name (only `1-1:` falls back to `1-0:`, as ESO meters send).
#[test]
fn a_meter_code_on_an_mbus_channel_is_not_taken_for_the_meters_own() {
    let t = constructed(
        "/ISK5\\2M550T-1012",
        &["1-3:0.2.8(50)", "0-0:96.14.0(0002)", "0-1:96.14.0(0001)", "1-2:1.8.1(000001.000*kWh)"],
    );
    assert_eq!(t.at("0-0:96.14.0")["name"], "electricity_active_tariff");
    let unknown = t.at("0-1:96.14.0");
    assert_eq!((&unknown["name"], &unknown["unknown"], &unknown["raw"]), (&J::Null, &json!(true), &json!(["0001"])));
    assert_eq!(t.at("1-2:1.8.1")["name"], J::Null);
}

/// A header that is no text, with no data line after it, is noise, whether its CRC matched
/// (its bytes then read as Latin-1) or was not sent; a text header without data is a
/// telegram without data; either header with a data line is a telegram.
#[test]
fn a_header_that_is_no_text_and_no_data_is_noise() {
    use dsmrd::parse::ParseError;
    for crc in [CrcStatus::Absent, CrcStatus::Valid(0)] {
        let r = parse(b"/ISK5\xFF2M550T\r\n\r\n!", crc, VersionChoice::Auto);
        assert!(matches!(r, Err(ParseError::BadHeader)), "{crc:?}: {r:?}");
        let r = parse(b"/ISK5\\2M550T\r\n\r\n!", crc, VersionChoice::Auto);
        assert!(matches!(&r, Err(ParseError::NoData { header }) if header == "ISK5\\2M550T"), "{crc:?}: {r:?}");
        let t = parse(b"/ISK5\xFF2M550T\r\n\r\n1-0:1.8.1(000001.500*kWh)\r\n!", crc, VersionChoice::Auto)
            .unwrap_or_else(|e| panic!("{crc:?}: {e:?}"));
        assert_eq!(t.objects.len(), 1, "{crc:?}");
    }
}

/// A carriage return at a line's start (a stray byte, or a meter's odd line end) neither
/// loses the line nor moves the next one's number.
#[test]
fn a_carriage_return_at_a_line_start_is_skipped() {
    let t = constructed(
        "/ISK5\\2M550T-1012",
        &["1-3:0.2.8(50)", "\r1-0:1.8.1(000001.000*kWh)", "\r", "1-0:1.8.2(abc*kWh)", "", "1-0:2.8.1(000003.000*kWh)"],
    );
    t.q("electricity_used_tariff_1", 1.0, "kWh");
    t.q("electricity_delivered_tariff_1", 3.0, "kWh");
    // A blank line after a broken one is not part of its text.
    assert_eq!(
        t.0["errors"],
        json!([{"line": 6, "text": "1-0:1.8.2(abc*kWh)", "error": "expected a number, got `abc*kWh`"}])
    );
}

/// A blank line after a broken line (here in a telegram without CRC, read line by line) is
/// no part of the text reported; a text value over lines keeps its blank line.
/// A capture printed with a blank line after every line (a logger whose `print` adds a
/// line end to one already read) reads as the meter sent it: the DSMR 2.2 gas value on
/// the line after its header is joined to it across the blank line.
#[test]
fn a_capture_with_a_blank_line_after_every_line_reads_the_same() {
    let text = String::from_utf8(recording("Iskra-MT382-1003-issue54a_dsmr2.2_dsmrtools.txt")).expect("text");
    let spaced = text.replace("\r\n", "\r\n\r\n").replacen("\r\n\r\n!", "\r\n!", 1);
    assert!(spaced.contains("(m3)\r\n\r\n(13368.864)"));
    let d = decode_bytes(spaced.as_bytes(), true, AMSTERDAM, None);
    assert_eq!((d.telegrams.len(), d.errors.len()), (1, 0), "{:?}", d.errors);
    let t = T(d.telegrams.into_iter().next().expect("telegram"));
    assert_eq!(t.0["errors"], json!([]));
    t.reading("gas_meter_reading", 13368.864, "m3", "2021-11-22T20:00:00Z");
    t.q("electricity_used_tariff_1", 16719.94, "kWh");
}

#[test]
fn a_blank_line_after_a_broken_one_is_not_its_text() {
    let d = decode_bytes(
        b"/ISK5\\2M550T-1012\r\n\r\n1-0:1.8.1(abc)\r\n\r\n1-0:1.8.2(000001.000*kWh)\r\n0-0:96.13.0(41\r\n\r\n42)\r\n\r\n!\r\n",
        true,
        AMSTERDAM,
        None,
    );
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    let t = T(d.telegrams.into_iter().next().expect("telegram"));
    assert_eq!(t.0["errors"], json!([{"line": 3, "text": "1-0:1.8.1(abc)", "error": "expected a number, got `abc`"}]));
    t.q("electricity_used_tariff_2", 1.0, "kWh");
    assert_eq!((&t.at("0-0:96.13.0")["value"], &t.at("0-0:96.13.0")["raw"]), (&json!("AB"), &json!("41\r\n\r\n42")));
}

/// A telegram stored with bare LF line ends (as git, editors and terminals leave captures):
/// its blank lines are skipped and counted, so a broken line keeps the number an editor
/// shows for it.
#[test]
fn bare_line_feeds_keep_line_numbers() {
    let t = constructed_bytes(
        b"/ISK5\\2M550T-1012\n\n1-3:0.2.8(50)\n1-0:1.8.2(abc*kWh)\n\n1-0:1.8.1(000576.239*kWh)\n1-0:2.8.1(x)\n!",
    );
    t.q("electricity_used_tariff_1", 576.239, "kWh");
    let lines: Vec<&J> = t.0["errors"].as_array().expect("errors").iter().map(|e| &e["line"]).collect();
    assert_eq!(lines, [&json!(4), &json!(7)], "{}", t.0["errors"]);
}

/// Only erased flash (0xFF, or 0x00 among it) reads as an empty value; other bytes that
/// are no text are a line error, as they would be anywhere else.
#[test]
fn only_erased_bytes_read_as_an_empty_value() {
    let t = constructed_bytes(
        b"/SAG5SAG-METER\r\n\r\n0-0:96.13.0(\xFF\x00\xFF)\r\n0-0:96.13.1(\xC3\xC3)\r\n1-0:1.8.0(000173.640*kWh)\r\n!",
    );
    assert_eq!(t.at("0-0:96.13.0")["value"], J::Null);
    t.q("electricity_imported_total", 173.640, "kWh");
    assert_eq!(
        t.0["errors"],
        json!([{"line": 4, "text": "0-0:96.13.1(", "error": "line is not text after `0-0:96.13.1(` (bytes lost or changed?)"}])
    );
}

/// A capture time that is no time is reported only next to a real reading: a zero, or a
/// number without unit, is a device's placeholder (marked so), whatever its time says.
#[test]
fn an_unreadable_capture_time_is_reported_only_with_a_real_reading() {
    let t = constructed(
        "/ISK5\\2M550T-1012",
        &[
            "1-3:0.2.8(50)",
            "0-1:24.1.0(003)",
            "0-1:24.2.1(991399000000W)(00000.000*m3)",
            "0-2:24.1.0(003)",
            "0-2:24.2.1(991399000000W)(00012.500)",
            "0-3:24.1.0(003)",
            "0-3:24.2.1(991399000000W)(00012.500*m3)",
        ],
    );
    assert_eq!(t.at("0-1:24.2.1")["placeholder"], true);
    assert_eq!(t.at("0-2:24.2.1")["placeholder"], true);
    assert_eq!(t.at("0-3:24.2.1").get("placeholder"), None);
    assert_eq!(
        t.0["errors"],
        json!([{
            "line": 9,
            "text": "0-3:24.2.1(991399000000W)(00012.500*m3)",
            "error": "timestamp `991399000000W` of 0-3:24.2.1 is not a valid time (no such month); no time given, the text kept in `raw_timestamp`"
        }])
    );
}

/// A clock never set shows month 00 or day 00, not always both: either alone is no error.
#[test]
fn a_clock_with_only_its_month_or_its_day_zero_is_unset_not_broken() {
    let t = constructed(
        "/ISK5\\2M550T-1012",
        &["1-3:0.2.8(50)", "0-0:1.0.0(250012101010W)", "0-1:24.2.1(251200101010W)(00012.500*m3)"],
    );
    assert_eq!(t.0["errors"], json!([]));
    assert_eq!(t.at("0-0:1.0.0")["value"], J::Null);
    assert_eq!((&t.at("0-1:24.2.1")["timestamp"], t.at("0-1:24.2.1")["value"].as_f64()), (&J::Null, Some(12.5)));
}

/// A unit written straight after the number is read only when it is a unit: other letters
/// there make the value no number.
#[test]
fn letters_after_a_number_are_a_unit_only_when_they_are_one() {
    let t =
        constructed("/ISK5\\2M550T-1012", &["1-3:0.2.8(50)", "1-0:1.8.1(000123.456abc)", "1-0:1.8.2(000123.456kWh)"]);
    t.q("electricity_used_tariff_2", 123.456, "kWh");
    assert_eq!(
        t.0["errors"],
        json!([{"line": 4, "text": "1-0:1.8.1(000123.456abc)", "error": "expected a number, got `000123.456abc`"}])
    );
}

/// An M-Bus reading without time or unit: a zero is no reading, any other number is one.
#[test]
fn an_mbus_reading_without_time_or_unit_is_kept_unless_zero() {
    let t = constructed("/ISK5\\2M550T-1012", &["1-3:0.2.8(50)", "0-1:24.2.1(12.5)", "0-2:24.2.1(0)"]);
    assert_eq!(t.0["errors"], json!([]));
    assert_eq!(t.at("0-1:24.2.1")["value"].as_f64(), Some(12.5));
    assert_eq!(t.at("0-2:24.2.1")["value"], J::Null);
}

/// A line with text after its last group is not left open: the line after it, even one that
/// is no data line, is read (and reported) on its own.
#[test]
fn a_line_with_text_after_its_group_does_not_take_the_next_line() {
    let t = constructed(
        "/ISK5\\2M550T-1012",
        &["1-3:0.2.8(50)", "1-0:1.8.1(000001.000*kWh)x", "garbage line", "1-0:1.8.2(000002.000*kWh)"],
    );
    let lines: Vec<u64> = t.0["errors"].as_array().expect("errors").iter().filter_map(|e| e["line"].as_u64()).collect();
    assert_eq!(lines, [4, 5], "{}", t.0["errors"]);
    t.q("electricity_used_tariff_2", 2.0, "kWh");
}

/// A count that reads as a word (`ON`) is kept as text; other text where a number belongs
/// is a line error. An M-Bus line the table does not know stays unknown, whatever the
/// device on its channel: only known lines take the device's name.
#[test]
fn words_stay_text_and_unknown_mbus_lines_stay_unknown() {
    let t = constructed(
        "/ISK5\\2M550T-1012",
        &[
            "1-3:0.2.8(50)",
            "0-0:96.7.21(ON)",
            "0-0:96.7.9(12-3)",
            "0-1:24.1.0(003)",
            "0-1:24.2.7(190320181003W)(00304.089*m3)",
        ],
    );
    assert_eq!(t.at("0-0:96.7.21")["value"], "ON");
    assert_eq!(
        t.0["errors"],
        json!([{"line": 5, "text": "0-0:96.7.9(12-3)", "error": "expected a number, got `12-3`"}])
    );
    let unknown = t.at("0-1:24.2.7");
    assert_eq!((&unknown["name"], &unknown["unknown"]), (&J::Null, &json!(true)));
}

/// A frame whose last ten bytes are the start of the next frame from its meter (it lost as
/// many bytes as the next one's start holds) is cut there; when the input ends right after
/// that start, the frame begun is reported as cut short too: a whole start is no chance.
#[test]
fn a_frame_ending_in_the_whole_start_of_the_next_is_cut_there() {
    let frame = recording("Sagemcom-Smarty-Lux5-encrypted_smarty-LU_openhab.bin");
    let keys = || Some(Keys::from_hex("D491470F47126332B07D1923B3504188", None).expect("key"));
    let n = frame.len();
    let damaged = [&frame[..n - 10], &frame[..10]].concat();
    let cut = |d: &DecodeError| matches!(d, DecodeError::Frame(Reject::Truncated { encrypted: true, .. }));
    let d = decode_bytes(&[&frame[..], &damaged, &frame[10..]].concat(), true, AMSTERDAM, keys());
    assert_eq!(d.telegrams.len(), 2, "{:?}", d.errors);
    assert_eq!(d.errors.len(), 1, "{:?}", d.errors);
    assert!(matches!(d.errors[0], DecodeError::Frame(Reject::Truncated { len, next: 10, .. }) if len == n - 10));
    let d = decode_bytes(&[&frame[..], &damaged].concat(), true, AMSTERDAM, keys());
    assert_eq!(d.telegrams.len(), 1, "{:?}", d.errors);
    assert_eq!(d.errors.len(), 2, "{:?}", d.errors);
    assert!(cut(&d.errors[0]) && cut(&d.errors[1]), "{:?}", d.errors);
    assert!(matches!(d.errors[1], DecodeError::Frame(Reject::Truncated { len: 10, .. })), "{:?}", d.errors);
}

/// With a key, an encrypted frame that the end of input cuts short, wherever, is one error:
/// its bytes are ciphertext, not read again for telegrams (the 0xDB bytes inside this one
/// would each begin a frame of their own).
#[test]
fn an_encrypted_frame_cut_by_the_end_of_input_is_one_error_with_a_key() {
    let frame = recording("Sagemcom-Smarty-Lux5-encrypted_smarty-LU_openhab.bin");
    assert!(frame[1..].contains(&0xDB));
    let keys = || Some(Keys::from_hex("D491470F47126332B07D1923B3504188", None).expect("key"));
    for cut in 1..frame.len() {
        let d = decode_bytes(&[&frame[..], &frame[..cut]].concat(), true, AMSTERDAM, keys());
        assert_eq!(d.telegrams.len(), 1, "cut at {cut}: {:?}", d.errors);
        assert_eq!(d.errors.len(), 1, "cut at {cut}: {:?}", d.errors);
        assert!(
            matches!(d.errors[0], DecodeError::Frame(Reject::Truncated { encrypted: true, .. })),
            "cut at {cut}: {:?}",
            d.errors
        );
    }
}
