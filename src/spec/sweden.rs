//! Sweden, H1 port ("5S"): DSMR 5 syntax with totals, reactive power, no meter id, and a
//! clock that stays on normal time all year.

use super::Shape::*;
use super::{Row, Spec, dsmr, row};

const KVARH: Option<&str> = Some("kvarh");
const KVAR: Option<&str> = Some("kvar");

/// Energiföretagen "Branschrekommendation lokalt kundgränssnitt" 2.0.
pub static SWEDEN: Spec = Spec::new("Sweden H1 (5S)", Some(&dsmr::V5), ROWS);

static ROWS: &[Row] = &[
    row((1, 0, 3, 8, 0), "electricity_reactive_imported_total", Number, KVARH, "Reactive energy imported"),
    row((1, 0, 4, 8, 0), "electricity_reactive_exported_total", Number, KVARH, "Reactive energy exported"),
    row((1, 0, 3, 7, 0), "current_reactive_imported", Number, KVAR, "Reactive power Q+"),
    row((1, 0, 4, 7, 0), "current_reactive_exported", Number, KVAR, "Reactive power Q-"),
    row((1, 0, 23, 7, 0), "instantaneous_reactive_power_l1_positive", Number, KVAR, "Reactive power L1 (Q+)"),
    row((1, 0, 43, 7, 0), "instantaneous_reactive_power_l2_positive", Number, KVAR, "Reactive power L2 (Q+)"),
    row((1, 0, 63, 7, 0), "instantaneous_reactive_power_l3_positive", Number, KVAR, "Reactive power L3 (Q+)"),
    row((1, 0, 24, 7, 0), "instantaneous_reactive_power_l1_negative", Number, KVAR, "Reactive power L1 (Q-)"),
    row((1, 0, 44, 7, 0), "instantaneous_reactive_power_l2_negative", Number, KVAR, "Reactive power L2 (Q-)"),
    row((1, 0, 64, 7, 0), "instantaneous_reactive_power_l3_negative", Number, KVAR, "Reactive power L3 (Q-)"),
];
