//! Formats outside the DSMR family that dsmr_parser users plug in: EasyMeter Q3D, E.ON
//! Hungary, Iskra IE.x (Belgium, Iceland), and the Austrian Sagemcom T210-D.

use super::Shape::*;
use super::{Row, Spec, dsmr, mbus, reactive, row};

const KWH: Option<&str> = Some("kWh");
const W: Option<&str> = Some("W");

/// EasyMeter Q3D behind a COM-1 gateway, and the eBZ DD3, German meters that send the same
/// D0 layout: OBIS with an F group, no CRC, power in W.
pub static Q3D: Spec = Spec::new("EasyMeter Q3D", None, Q3D_ROWS);

static Q3D_ROWS: &[Row] = &[
    row((1, 0, 0, 0, 0), "q3d_equipment_identifier", Text, None, "Ownership number"),
    row((1, 0, 1, 8, 0), "electricity_imported_total", Number, KWH, "Energy imported"),
    row((1, 0, 2, 8, 0), "electricity_exported_total", Number, KWH, "Energy exported"),
    row((1, 0, 21, 7, 0), "instantaneous_active_power_l1_positive", Number, W, "Active power L1"),
    row((1, 0, 41, 7, 0), "instantaneous_active_power_l2_positive", Number, W, "Active power L2"),
    row((1, 0, 61, 7, 0), "instantaneous_active_power_l3_positive", Number, W, "Active power L3"),
    row((1, 0, 1, 7, 0), "current_electricity_usage", Number, W, "Active power, all phases"),
    row((1, 0, 2, 7, 0), "current_electricity_delivery", Number, W, "Active power exported, all phases"),
    // Firmware before V3.04 writes the power codes with E = 255 (`1-0:1.7.255*255`).
    row((1, 0, 21, 7, 255), "instantaneous_active_power_l1_positive", Number, W, "Active power L1 (firmware < V3.04)"),
    row((1, 0, 41, 7, 255), "instantaneous_active_power_l2_positive", Number, W, "Active power L2 (firmware < V3.04)"),
    row((1, 0, 61, 7, 255), "instantaneous_active_power_l3_positive", Number, W, "Active power L3 (firmware < V3.04)"),
    row((1, 0, 1, 7, 255), "current_electricity_usage", Number, W, "Active power, all phases (firmware < V3.04)"),
    row(
        (1, 0, 2, 7, 255),
        "current_electricity_delivery",
        Number,
        W,
        "Active power exported, all phases (firmware < V3.04)",
    ),
    row((1, 0, 96, 5, 5), "q3d_equipment_state", Text, None, "Status byte (hex)"),
    row((0, 0, 96, 1, 255), "q3d_equipment_serialnumber", Text, None, "Serial number"),
    // eBZ DD3 (`/EBZ5DD3...`): the same D0 layout, with signed power (negative on export).
    row((1, 0, 96, 1, 0), "q3d_equipment_serialnumber", Text, None, "Serial number (eBZ DD3)"),
    row(
        (1, 0, 16, 7, 0),
        "instantaneous_active_power",
        Number,
        W,
        "Active power, import minus export, all phases (eBZ DD3)",
    ),
    row((1, 0, 36, 7, 0), "instantaneous_active_power_l1", Number, W, "Active power L1, import minus export (eBZ DD3)"),
    row((1, 0, 56, 7, 0), "instantaneous_active_power_l2", Number, W, "Active power L2, import minus export (eBZ DD3)"),
    row((1, 0, 76, 7, 0), "instantaneous_active_power_l3", Number, W, "Active power L3, import minus export (eBZ DD3)"),
    row((1, 0, 32, 7, 0), "instantaneous_voltage_l1", Number, Some("V"), "Voltage in phase L1 (eBZ DD3)"),
    row((1, 0, 52, 7, 0), "instantaneous_voltage_l2", Number, Some("V"), "Voltage in phase L2 (eBZ DD3)"),
    row((1, 0, 72, 7, 0), "instantaneous_voltage_l3", Number, Some("V"), "Voltage in phase L3 (eBZ DD3)"),
    row((1, 0, 96, 5, 0), "q3d_equipment_state", Text, None, "Status word (hex, eBZ DD3)"),
    row((0, 0, 96, 8, 0), "operating_time_hex", Text, None, "Seconds in operation, hexadecimal as sent (eBZ DD3)"),
];

/// E.ON Hungary (Sagemcom `/SAG5SAG-METER`), specification of 2023-02-10.
pub static EON_HUNGARY: Spec = Spec::new("E.ON Hungary", Some(&reactive::V5_REACTIVE), EON_ROWS);

static EON_ROWS: &[Row] = &[
    row((0, 0, 42, 0, 0), "cosem_logical_device_name", HexText, None, "COSEM logical device name (hex-encoded)"),
    row((1, 0, 15, 8, 0), "electricity_combined", Number, KWH, "Combined active energy |+A| + |-A|"),
    row((1, 0, 13, 7, 0), "instantaneous_power_factor_total", Number, None, "Power factor"),
    row((1, 0, 33, 7, 0), "instantaneous_power_factor_l1", Number, None, "Power factor L1"),
    row((1, 0, 53, 7, 0), "instantaneous_power_factor_l2", Number, None, "Power factor L2"),
    row((1, 0, 73, 7, 0), "instantaneous_power_factor_l3", Number, None, "Power factor L3"),
    row((1, 0, 14, 7, 0), "frequency", Number, Some("Hz"), "Grid frequency"),
    row((1, 0, 31, 4, 0), "fuse_threshold_l1", Number, Some("A"), "Current threshold L1"),
    row((1, 0, 51, 4, 0), "fuse_threshold_l2", Number, Some("A"), "Current threshold L2"),
    row((1, 0, 71, 4, 0), "fuse_threshold_l3", Number, Some("A"), "Current threshold L3"),
    row((0, 0, 98, 1, 0), "last_month_data", Snapshot, None, "Billing snapshot at the end of last month"),
    row(
        (0, 0, 96, 50, 68),
        "breaker_state",
        Text,
        None,
        "Breaker state, ON or OFF (the spec's code; AUX meters send it)",
    ),
];

/// Iskra IE.x meters (`MIE5T`, `MIE5E`), installed in Belgium and Iceland: DSMR 5 with the meter
/// id on 0-0:96.1.0.
pub static ISKRA_IE_SPEC: Spec = Spec::new("Iskra IE.x", Some(&dsmr::V5), IE_ROWS);

static IE_ROWS: &[Row] = &[
    row((0, 0, 96, 1, 0), "equipment_identifier_meter", Text, None, "Meter equipment id"),
    row((1, 0, 0, 0, 0), "meter_number", Text, None, "Meter number"),
    mbus((0, 96, 1, 1), "equipment_identifier_gas", HexText, None, "M-Bus device serial number (sent empty)"),
];

/// Austria, Sagemcom T210-D (Energienetze Steiermark): integer Wh / W / varh / var.
pub static AUSTRIA_T210D: Spec = Spec::new("Austria Sagemcom T210-D", Some(&dsmr::V5), AT_ROWS);

static AT_ROWS: &[Row] = &[
    row((1, 0, 1, 8, 0), "electricity_imported_total", Number, Some("Wh"), "Energy imported"),
    row((1, 0, 2, 8, 0), "electricity_exported_total", Number, Some("Wh"), "Energy exported"),
    row((1, 0, 1, 8, 1), "electricity_used_tariff_1", Number, Some("Wh"), "Energy imported, tariff 1"),
    row((1, 0, 1, 8, 2), "electricity_used_tariff_2", Number, Some("Wh"), "Energy imported, tariff 2"),
    row((1, 0, 2, 8, 1), "electricity_delivered_tariff_1", Number, Some("Wh"), "Energy exported, tariff 1"),
    row((1, 0, 2, 8, 2), "electricity_delivered_tariff_2", Number, Some("Wh"), "Energy exported, tariff 2"),
    row((1, 0, 3, 8, 0), "electricity_reactive_imported_total", Number, Some("varh"), "Reactive energy imported"),
    row((1, 0, 4, 8, 0), "electricity_reactive_exported_total", Number, Some("varh"), "Reactive energy exported"),
    row(
        (1, 0, 3, 8, 1),
        "electricity_reactive_imported_tariff_1",
        Number,
        Some("varh"),
        "Reactive energy imported, tariff 1",
    ),
    row(
        (1, 0, 3, 8, 2),
        "electricity_reactive_imported_tariff_2",
        Number,
        Some("varh"),
        "Reactive energy imported, tariff 2",
    ),
    row(
        (1, 0, 4, 8, 1),
        "electricity_reactive_exported_tariff_1",
        Number,
        Some("varh"),
        "Reactive energy exported, tariff 1",
    ),
    row(
        (1, 0, 4, 8, 2),
        "electricity_reactive_exported_tariff_2",
        Number,
        Some("varh"),
        "Reactive energy exported, tariff 2",
    ),
    row((1, 0, 1, 7, 0), "current_electricity_usage", Number, W, "Active power +P"),
    row((1, 0, 2, 7, 0), "current_electricity_delivery", Number, W, "Active power -P"),
    row((1, 0, 3, 7, 0), "current_reactive_imported", Number, Some("var"), "Reactive power Q+"),
    row((1, 0, 4, 7, 0), "current_reactive_exported", Number, Some("var"), "Reactive power Q-"),
];
