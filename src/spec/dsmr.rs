//! The Dutch DSMR tables: 2.2/3.0, 4.x and 5.x (P1 Companion Standard 3.0, 4.2.2, 5.0.2).

use super::Shape::*;
use super::{Row, Spec, mbus, row};

const KWH: Option<&str> = Some("kWh");
const KW: Option<&str> = Some("kW");

/// DSMR 2.2 and 3.0: no CRC, no timestamp, gas as a two-line profile.
pub static V2_2: Spec = Spec::new("DSMR 2.2 / 3.0", None, V2_2_ROWS);

static V2_2_ROWS: &[Row] = &[
    row((0, 0, 96, 1, 1), "equipment_identifier", HexText, None, "Meter serial number (hex-encoded)"),
    row(
        (1, 0, 1, 8, 1),
        "electricity_used_tariff_1",
        Number,
        KWH,
        "Energy delivered to the client, tariff 1 (NL: low)",
    ),
    row(
        (1, 0, 1, 8, 2),
        "electricity_used_tariff_2",
        Number,
        KWH,
        "Energy delivered to the client, tariff 2 (NL: normal)",
    ),
    row((1, 0, 2, 8, 1), "electricity_delivered_tariff_1", Number, KWH, "Energy delivered by the client, tariff 1"),
    row((1, 0, 2, 8, 2), "electricity_delivered_tariff_2", Number, KWH, "Energy delivered by the client, tariff 2"),
    row((0, 0, 96, 14, 0), "electricity_active_tariff", Text, None, "Tariff indicator (NL: 0001 = low, 0002 = normal)"),
    row((1, 0, 1, 7, 0), "current_electricity_usage", Number, KW, "Actual power delivered to the client (+P)"),
    row((1, 0, 2, 7, 0), "current_electricity_delivery", Number, KW, "Actual power delivered by the client (-P)"),
    row(
        (0, 0, 17, 0, 0),
        "actual_treshold_electricity",
        Number,
        KW,
        "Power threshold of the limiter (spelling as in dsmr_parser)",
    ),
    row((0, 0, 96, 3, 10), "actual_switch_position", Number, None, "Breaker state (0 off, 1 on, 2 ready to reconnect)"),
    row((0, 0, 96, 13, 1), "text_message_code", HexText, None, "Text message code (hex-encoded)"),
    row((0, 0, 96, 13, 0), "text_message", HexText, None, "Text message (hex-encoded, up to 1024 characters)"),
    mbus((0, 24, 1, 0), "device_type", Number, None, "M-Bus device type (3 gas, 4 heat, 7 water, ...)"),
    mbus((0, 96, 1, 0), "equipment_identifier_gas", HexText, None, "M-Bus device serial number (hex-encoded)"),
    mbus((0, 24, 3, 0), "gas_meter_reading", LegacyGas, Some("m3"), "DSMR 2.2/3.0 gas reading with its capture time"),
    mbus((0, 24, 4, 0), "valve_position_gas", Number, None, "M-Bus valve position"),
];

/// DSMR 4.x: 2.2 plus version, timestamp, CRC, failure counters, phases, hourly gas.
pub static V4: Spec = Spec::new("DSMR 4.x", Some(&V2_2), V4_ROWS);

static V4_ROWS: &[Row] = &[
    row((1, 3, 0, 2, 8), "p1_message_header", Text, None, "P1 output version (40, 42, 50)"),
    row((0, 0, 1, 0, 0), "p1_message_timestamp", Time, None, "Time the telegram was made"),
    row(
        (0, 0, 1, 1, 0),
        "p1_message_timestamp",
        Time,
        None,
        "Time the telegram was made, as Warmtelink heat interfaces write it",
    ),
    row((0, 0, 96, 7, 21), "short_power_failure_count", Number, None, "Power failures in any phase"),
    row((0, 0, 96, 7, 9), "long_power_failure_count", Number, None, "Long power failures in any phase"),
    row(
        (1, 0, 99, 97, 0),
        "power_event_failure_log",
        EventLog,
        Some("s"),
        "Long power failure log: end time and duration of each",
    ),
    row((1, 0, 32, 32, 0), "voltage_sag_l1_count", Number, None, "Voltage sags in phase L1"),
    row((1, 0, 52, 32, 0), "voltage_sag_l2_count", Number, None, "Voltage sags in phase L2"),
    row((1, 0, 72, 32, 0), "voltage_sag_l3_count", Number, None, "Voltage sags in phase L3"),
    row((1, 0, 32, 36, 0), "voltage_swell_l1_count", Number, None, "Voltage swells in phase L1"),
    row((1, 0, 52, 36, 0), "voltage_swell_l2_count", Number, None, "Voltage swells in phase L2"),
    row((1, 0, 72, 36, 0), "voltage_swell_l3_count", Number, None, "Voltage swells in phase L3"),
    row((1, 0, 31, 7, 0), "instantaneous_current_l1", Number, Some("A"), "Current in phase L1"),
    row((1, 0, 51, 7, 0), "instantaneous_current_l2", Number, Some("A"), "Current in phase L2"),
    row((1, 0, 71, 7, 0), "instantaneous_current_l3", Number, Some("A"), "Current in phase L3"),
    row((1, 0, 21, 7, 0), "instantaneous_active_power_l1_positive", Number, KW, "Active power L1 (+P)"),
    row((1, 0, 41, 7, 0), "instantaneous_active_power_l2_positive", Number, KW, "Active power L2 (+P)"),
    row((1, 0, 61, 7, 0), "instantaneous_active_power_l3_positive", Number, KW, "Active power L3 (+P)"),
    row((1, 0, 22, 7, 0), "instantaneous_active_power_l1_negative", Number, KW, "Active power L1 (-P)"),
    row((1, 0, 42, 7, 0), "instantaneous_active_power_l2_negative", Number, KW, "Active power L2 (-P)"),
    row((1, 0, 62, 7, 0), "instantaneous_active_power_l3_negative", Number, KW, "Active power L3 (-P)"),
    mbus(
        (0, 24, 2, 1),
        "hourly_gas_meter_reading",
        Timed,
        Some("m3"),
        "M-Bus reading with its capture time (gas: temperature corrected)",
    ),
];

/// DSMR 5.x: 4.x plus voltages and totals.
pub static V5: Spec = Spec::new("DSMR 5.x", Some(&V4), V5_ROWS);

static V5_ROWS: &[Row] = &[
    row((1, 0, 32, 7, 0), "instantaneous_voltage_l1", Number, Some("V"), "Voltage in phase L1"),
    row((1, 0, 52, 7, 0), "instantaneous_voltage_l2", Number, Some("V"), "Voltage in phase L2"),
    row((1, 0, 72, 7, 0), "instantaneous_voltage_l3", Number, Some("V"), "Voltage in phase L3"),
    row((1, 0, 1, 8, 0), "electricity_imported_total", Number, KWH, "Energy delivered to the client, all tariffs"),
    row((1, 0, 2, 8, 0), "electricity_exported_total", Number, KWH, "Energy delivered by the client, all tariffs"),
    // The clock as two IEC codes, where a meter sends no 0-0:1.0.0 (an Iskra MIE5E in
    // Iceland, an AM551 in Slovenia): the telegram's time is made from the pair.
    row(
        (1, 0, 0, 9, 1),
        "local_time",
        Text,
        None,
        "Meter clock, local time of day `hhmmss` (makes the telegram's time with local_date)",
    ),
    row(
        (1, 0, 0, 9, 2),
        "local_date",
        Text,
        None,
        "Meter clock, local date `YYMMDD` (makes the telegram's time with local_time)",
    ),
    // Not in Dutch DSMR 5, but in the tables built on it (Belgium, Hungary, Lithuania) and
    // sent by meters read as DSMR 5 (a Polish Elgama GAMA 150 or Kaifa MA309M): defined once
    // here. (The reactive codes likewise: `5` reads with the reactive table on top of this.)
    row(
        (0, 0, 96, 1, 0),
        "equipment_serial_number",
        HexText,
        None,
        "Meter serial number (hex-encoded or plain; not in Dutch DSMR 5)",
    ),
    row((1, 0, 1, 8, 3), "electricity_used_tariff_3", Number, KWH, "Energy imported, tariff 3 (not in Dutch DSMR 5)"),
    row((1, 0, 1, 8, 4), "electricity_used_tariff_4", Number, KWH, "Energy imported, tariff 4 (not in Dutch DSMR 5)"),
    row(
        (1, 0, 2, 8, 3),
        "electricity_delivered_tariff_3",
        Number,
        KWH,
        "Energy exported, tariff 3 (not in Dutch DSMR 5)",
    ),
    row(
        (1, 0, 2, 8, 4),
        "electricity_delivered_tariff_4",
        Number,
        KWH,
        "Energy exported, tariff 4 (not in Dutch DSMR 5)",
    ),
];
