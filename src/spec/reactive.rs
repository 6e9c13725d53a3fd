//! Reactive power and energy (IEC 62056-61 codes) on a DSMR 5 base: one table shared by the
//! variants whose meters send them (Sweden, Belgium, Luxembourg, E.ON Hungary, Lithuania) and by `5`
//! itself, which also reads meters outside the Netherlands (Poland, Denmark), so each names
//! them the same way.

use super::Shape::*;
use super::{Row, Spec, dsmr, row};

const KVARH: Option<&str> = Some("kvarh");
const KVAR: Option<&str> = Some("kvar");

/// DSMR 5.x plus reactive power, per phase, and reactive energy, in total and per quadrant.
pub static V5_REACTIVE: Spec = Spec::new("DSMR 5.x with reactive power", Some(&dsmr::V5), ROWS);

static ROWS: &[Row] = &[
    row((1, 0, 3, 8, 0), "electricity_reactive_imported_total", Number, KVARH, "Reactive energy imported"),
    row((1, 0, 4, 8, 0), "electricity_reactive_exported_total", Number, KVARH, "Reactive energy exported"),
    row((1, 0, 3, 8, 1), "electricity_reactive_imported_tariff_1", Number, KVARH, "Reactive energy imported, tariff 1"),
    row((1, 0, 3, 8, 2), "electricity_reactive_imported_tariff_2", Number, KVARH, "Reactive energy imported, tariff 2"),
    row((1, 0, 3, 8, 3), "electricity_reactive_imported_tariff_3", Number, KVARH, "Reactive energy imported, tariff 3"),
    row((1, 0, 3, 8, 4), "electricity_reactive_imported_tariff_4", Number, KVARH, "Reactive energy imported, tariff 4"),
    row((1, 0, 4, 8, 1), "electricity_reactive_exported_tariff_1", Number, KVARH, "Reactive energy exported, tariff 1"),
    row((1, 0, 4, 8, 2), "electricity_reactive_exported_tariff_2", Number, KVARH, "Reactive energy exported, tariff 2"),
    row((1, 0, 4, 8, 3), "electricity_reactive_exported_tariff_3", Number, KVARH, "Reactive energy exported, tariff 3"),
    row((1, 0, 4, 8, 4), "electricity_reactive_exported_tariff_4", Number, KVARH, "Reactive energy exported, tariff 4"),
    row((1, 0, 5, 8, 0), "electricity_reactive_total_q1", Number, KVARH, "Reactive energy, quadrant I"),
    row((1, 0, 6, 8, 0), "electricity_reactive_total_q2", Number, KVARH, "Reactive energy, quadrant II"),
    row((1, 0, 7, 8, 0), "electricity_reactive_total_q3", Number, KVARH, "Reactive energy, quadrant III"),
    row((1, 0, 8, 8, 0), "electricity_reactive_total_q4", Number, KVARH, "Reactive energy, quadrant IV"),
    row((1, 0, 3, 7, 0), "current_reactive_imported", Number, KVAR, "Reactive power Q+"),
    row((1, 0, 5, 7, 0), "instantaneous_reactive_power_q1", Number, KVAR, "Reactive power, quadrant I"),
    row((1, 0, 6, 7, 0), "instantaneous_reactive_power_q2", Number, KVAR, "Reactive power, quadrant II"),
    row((1, 0, 7, 7, 0), "instantaneous_reactive_power_q3", Number, KVAR, "Reactive power, quadrant III"),
    row((1, 0, 8, 7, 0), "instantaneous_reactive_power_q4", Number, KVAR, "Reactive power, quadrant IV"),
    row((1, 0, 4, 7, 0), "current_reactive_exported", Number, KVAR, "Reactive power Q-"),
    row((1, 0, 23, 7, 0), "instantaneous_reactive_power_l1_positive", Number, KVAR, "Reactive power L1 (Q+)"),
    row((1, 0, 43, 7, 0), "instantaneous_reactive_power_l2_positive", Number, KVAR, "Reactive power L2 (Q+)"),
    row((1, 0, 63, 7, 0), "instantaneous_reactive_power_l3_positive", Number, KVAR, "Reactive power L3 (Q+)"),
    row((1, 0, 24, 7, 0), "instantaneous_reactive_power_l1_negative", Number, KVAR, "Reactive power L1 (Q-)"),
    row((1, 0, 44, 7, 0), "instantaneous_reactive_power_l2_negative", Number, KVAR, "Reactive power L2 (Q-)"),
    row((1, 0, 64, 7, 0), "instantaneous_reactive_power_l3_negative", Number, KVAR, "Reactive power L3 (Q-)"),
];
