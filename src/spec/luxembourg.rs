//! Luxembourg, Smarty ("5L"): DSMR 5 plus totals without tariffs, reactive and apparent
//! power, and relays on channels 1 and 2 that are not M-Bus devices.

use super::Shape::*;
use super::{Row, Spec, reactive, row};

const KVA: Option<&str> = Some("kVA");
const KW: Option<&str> = Some("kW");

/// Luxmetering E-Meter P1 specification 1.1.3.
pub static LUXEMBOURG: Spec = Spec::new("Luxembourg Smarty (5L)", Some(&reactive::V5_REACTIVE), ROWS);

static ROWS: &[Row] = &[
    row((0, 0, 42, 0, 0), "luxembourg_equipment_identifier", HexText, None, "COSEM logical device name (hex-encoded)"),
    row((1, 0, 9, 7, 0), "current_apparent_imported", Number, KVA, "Apparent power S+"),
    row((1, 0, 10, 7, 0), "current_apparent_exported", Number, KVA, "Apparent power S-"),
    row((0, 0, 17, 0, 0), "actual_treshold_electricity", Number, KVA, "Active threshold SMAX"),
    row(
        (1, 1, 31, 4, 0),
        "luxembourg_current_thresholds",
        Numbers,
        Some("A"),
        "Max import and export current thresholds (signed)",
    ),
    row((0, 1, 96, 3, 10), "relay_1_switch_position", Number, None, "Relay 1 control state"),
    row((0, 2, 96, 3, 10), "relay_2_switch_position", Number, None, "Relay 2 control state"),
    row((0, 0, 96, 13, 2), "text_message_2", HexText, None, "Long message 2 (hex-encoded)"),
    row((0, 0, 96, 13, 3), "text_message_3", HexText, None, "Long message 3 (hex-encoded)"),
    row((0, 0, 96, 13, 4), "text_message_4", HexText, None, "Long message 4 (hex-encoded)"),
    row((0, 0, 96, 13, 5), "text_message_5", HexText, None, "Long message 5 (hex-encoded)"),
    row((1, 0, 1, 7, 0), "current_electricity_usage", Number, KW, "Active power +P"),
];
