//! Belgium, Fluvius e-MUCS H ("5B"): DSMR 5 plus demand peaks, version info, and M-Bus ids
//! and gas on their own codes.

use super::Shape::*;
use super::{Row, Spec, mbus, reactive, row};

const KW: Option<&str> = Some("kW");
const KWH: Option<&str> = Some("kWh");

/// e-MUCS H 1.7 to 2.x.
/// Three-phase meters (L+G E660) also send reactive power and energy.
pub static BELGIUM: Spec = Spec::new("Belgium e-MUCS (5B)", Some(&reactive::V5_REACTIVE), ROWS);

static ROWS: &[Row] = &[
    row(
        (0, 0, 96, 1, 4),
        "belgium_version_information",
        HexText,
        None,
        "e-MUCS version (xxxyy: P1 version xxx, e-MUCS version yy; some meters hex-encode it)",
    ),
    row(
        (0, 0, 96, 1, 1),
        "belgium_equipment_identifier",
        HexText,
        None,
        "Meter serial number (hex-encoded; dsmr_parser's Belgian name)",
    ),
    row((0, 0, 96, 1, 2), "belgium_ean", HexText, None, "EAN / GSRN of the connection (hex-encoded)"),
    row((1, 0, 1, 4, 0), "belgium_current_average_demand", Number, KW, "Running 15-minute average demand"),
    row(
        (1, 0, 1, 6, 0),
        "belgium_maximum_demand_month",
        Timed,
        KW,
        "Highest 15-minute demand this month, with its time",
    ),
    row((1, 0, 2, 4, 0), "belgium_current_average_demand_export", Number, KW, "Running 15-minute average export"),
    row(
        (1, 0, 2, 6, 0),
        "belgium_maximum_demand_month_export",
        Timed,
        KW,
        "Highest 15-minute export this month, with its time",
    ),
    row((1, 0, 94, 32, 1), "belgium_grid_configuration", Text, None, "Grid connection (230 = 3x230 V, 400 = 3N400 V)"),
    // Wallonia (ORES) meters count more tariffs.
    row((1, 0, 1, 8, 5), "electricity_used_tariff_5", Number, KWH, "Energy imported, tariff 5"),
    row((1, 0, 2, 8, 5), "electricity_delivered_tariff_5", Number, KWH, "Energy exported, tariff 5"),
    row(
        (0, 0, 98, 1, 0),
        "belgium_maximum_demand_13_months",
        PeakHistory,
        KW,
        "Monthly demand peaks of the last 13 months (with the export peak where the meter captures it)",
    ),
    row(
        (0, 0, 98, 1, 1),
        "belgium_monthly_billing_values",
        Profile,
        None,
        "Register values at the end of each month, one per capture object (L+G E660)",
    ),
    row((0, 0, 17, 0, 0), "belgium_max_power_per_phase", Number, KW, "Limiter threshold (999.9 = no limit)"),
    row((1, 0, 31, 4, 0), "belgium_max_current_per_phase", Number, Some("A"), "Fuse supervision threshold"),
    mbus((0, 96, 1, 1), "equipment_identifier_gas", HexText, None, "M-Bus device serial number (Belgium uses 96.1.1)"),
    mbus((0, 96, 1, 2), "mbus_ean", HexText, None, "M-Bus device EAN (hex-encoded)"),
    mbus(
        (0, 24, 2, 3),
        "gas_meter_reading",
        Timed,
        Some("m3"),
        "M-Bus reading, not temperature corrected, with its capture time",
    ),
    mbus(
        (0, 24, 2, 1),
        "mbus_meter_reading",
        Timed,
        Some("m3"),
        "M-Bus reading with its capture time, on a channel with no device type line (with one, it is named after the device: `water_meter_reading`)",
    ),
    mbus((0, 96, 3, 10), crate::telegram::MBUS_CONTROL_STATE, Number, None, "M-Bus device relay / valve control state"),
];
