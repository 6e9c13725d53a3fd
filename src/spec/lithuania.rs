//! Lithuania, ESO (`/ESO5\…`): DSMR 5 with four tariffs, reactive and apparent power,
//! averages, demand registers, voltage sags and swells, and firmware ids. Names as
//! dsmr_parser's `V5_ESO_LT` (its test telegrams are the source).

use super::Shape::*;
use super::{Row, Spec, reactive, row};

const KW: Option<&str> = Some("kW");
const KVAR: Option<&str> = Some("kvar");
const KVA: Option<&str> = Some("kVA");
const V: Option<&str> = Some("V");
const A: Option<&str> = Some("A");
const S: Option<&str> = Some("s");

/// ESO (Lithuania) meters.
pub static ESO_LT: Spec = Spec::new("ESO Lithuania", Some(&reactive::V5_REACTIVE), ROWS);

#[rustfmt::skip]
static ROWS: &[Row] = &[
    row((1, 0, 32, 24, 0), "eso_lt_average_voltage_l1", Number, V, "Average voltage L1"),
    row((1, 0, 52, 24, 0), "eso_lt_average_voltage_l2", Number, V, "Average voltage L2"),
    row((1, 0, 72, 24, 0), "eso_lt_average_voltage_l3", Number, V, "Average voltage L3"),
    row((1, 0, 12, 7, 0), "eso_lt_instantaneous_voltage", Number, V, "Voltage, any phase"),
    row((1, 0, 11, 7, 0), "eso_lt_instantaneous_current", Number, A, "Current, any phase"),
    row((1, 0, 91, 7, 0), "eso_lt_instantaneous_current_in_neutral", Number, A, "Current in neutral"),
    row((1, 0, 90, 7, 0), "eso_lt_instantaneous_current_sum_over_all_phases", Number, A, "Current, sum over all phases"),
    row((1, 0, 14, 7, 0), "eso_lt_frequency", Number, Some("Hz"), "Grid frequency"),
    row((1, 0, 15, 7, 0), "eso_lt_instantaneous_active_power", Number, KW, "Active power |+P| + |-P|"),
    row((1, 0, 9, 7, 0), "eso_lt_instantaneous_apparent_import_power", Number, KVA, "Apparent power S+"),
    row((1, 0, 29, 7, 0), "eso_lt_instantaneous_apparent_import_power_l1", Number, KVA, "Apparent power S+ L1"),
    row((1, 0, 49, 7, 0), "eso_lt_instantaneous_apparent_import_power_l2", Number, KVA, "Apparent power S+ L2"),
    row((1, 0, 69, 7, 0), "eso_lt_instantaneous_apparent_import_power_l3", Number, KVA, "Apparent power S+ L3"),
    row((1, 0, 10, 7, 0), "eso_lt_instantaneous_apparent_export_power", Number, KVA, "Apparent power S-"),
    row((1, 0, 30, 7, 0), "eso_lt_instantaneous_apparent_export_power_l1", Number, KVA, "Apparent power S- L1"),
    row((1, 0, 50, 7, 0), "eso_lt_instantaneous_apparent_export_power_l2", Number, KVA, "Apparent power S- L2"),
    row((1, 0, 70, 7, 0), "eso_lt_instantaneous_apparent_export_power_l3", Number, KVA, "Apparent power S- L3"),
    row((1, 0, 1, 24, 0), "eso_lt_average_import_power", Number, KW, "Average active power imported"),
    row((1, 0, 16, 24, 0), "eso_lt_average_net_power", Number, KW, "Average net active power"),
    row((1, 0, 15, 24, 0), "eso_lt_average_total_power", Number, KW, "Average active power |+P| + |-P|"),
    row((1, 0, 13, 7, 0), "eso_lt_instantaneous_power_factor_total", Number, None, "Power factor"),
    row((1, 0, 33, 7, 0), "eso_lt_instantaneous_power_factor_l1", Number, None, "Power factor L1"),
    row((1, 0, 53, 7, 0), "eso_lt_instantaneous_power_factor_l2", Number, None, "Power factor L2"),
    row((1, 0, 73, 7, 0), "eso_lt_instantaneous_power_factor_l3", Number, None, "Power factor L3"),
    row((1, 0, 13, 3, 0), "eso_lt_minimum_power_factor", Number, None, "Lowest power factor"),
    row((1, 0, 0, 8, 2), "eso_lt_measurement_period_3_for_instantaneous_values", Number, S, "Averaging period of instantaneous values"),
    row((1, 0, 1, 4, 0), "eso_lt_demand_register_1_active_energy_import", Number, KW, "Demand, active import"),
    row((1, 0, 2, 4, 0), "eso_lt_demand_register_2_active_energy_export", Number, KW, "Demand, active export"),
    row((1, 0, 3, 4, 0), "eso_lt_demand_register_3_reactive_energy_import", Number, KVAR, "Demand, reactive import"),
    row((1, 0, 4, 4, 0), "eso_lt_demand_register_4_reactive_energy_export", Number, KVAR, "Demand, reactive export"),
    row((1, 0, 9, 4, 0), "eso_lt_demand_register_5_apparent_energy_import", Number, KVA, "Demand, apparent import"),
    row((1, 0, 10, 4, 0), "eso_lt_demand_register_6_apparent_energy_export", Number, KVA, "Demand, apparent export"),
    // `D = 5`: the last complete averaging period's value (IEC 62056-61), beside the current
    // one above, as ESO meters with firmware 01.19 send it.
    row((1, 0, 1, 5, 0), "eso_lt_last_average_demand_active_import", Number, KW, "Last average demand, active import"),
    row((1, 0, 2, 5, 0), "eso_lt_last_average_demand_active_export", Number, KW, "Last average demand, active export"),
    row((1, 0, 3, 5, 0), "eso_lt_last_average_demand_reactive_import", Number, KVAR, "Last average demand, reactive import"),
    row((1, 0, 4, 5, 0), "eso_lt_last_average_demand_reactive_export", Number, KVAR, "Last average demand, reactive export"),
    row((1, 0, 9, 5, 0), "eso_lt_last_average_demand_apparent_import", Number, KVA, "Last average demand, apparent import"),
    row((1, 0, 10, 5, 0), "eso_lt_last_average_demand_apparent_export", Number, KVA, "Last average demand, apparent export"),
    row((1, 0, 32, 33, 0), "eso_lt_duration_of_last_voltage_sag_l1", Number, S, "Duration of the last voltage sag L1"),
    row((1, 0, 52, 33, 0), "eso_lt_duration_of_last_voltage_sag_l2", Number, S, "Duration of the last voltage sag L2"),
    row((1, 0, 72, 33, 0), "eso_lt_duration_of_last_voltage_sag_l3", Number, S, "Duration of the last voltage sag L3"),
    row((1, 0, 32, 34, 0), "eso_lt_magnitude_of_last_voltage_sag_l1", Number, V, "Magnitude of the last voltage sag L1"),
    row((1, 0, 52, 34, 0), "eso_lt_magnitude_of_last_voltage_sag_l2", Number, V, "Magnitude of the last voltage sag L2"),
    row((1, 0, 72, 34, 0), "eso_lt_magnitude_of_last_voltage_sag_l3", Number, V, "Magnitude of the last voltage sag L3"),
    row((1, 0, 32, 37, 0), "eso_lt_duration_of_last_voltage_swell_l1", Number, S, "Duration of the last voltage swell L1"),
    row((1, 0, 52, 37, 0), "eso_lt_duration_of_last_voltage_swell_l2", Number, S, "Duration of the last voltage swell L2"),
    row((1, 0, 72, 37, 0), "eso_lt_duration_of_last_voltage_swell_l3", Number, S, "Duration of the last voltage swell L3"),
    row((1, 0, 32, 38, 0), "eso_lt_magnitude_of_last_voltage_swell_l1", Number, V, "Magnitude of the last voltage swell L1"),
    row((1, 0, 52, 38, 0), "eso_lt_magnitude_of_last_voltage_swell_l2", Number, V, "Magnitude of the last voltage swell L2"),
    row((1, 0, 72, 38, 0), "eso_lt_magnitude_of_last_voltage_swell_l3", Number, V, "Magnitude of the last voltage swell L3"),
    row((1, 0, 0, 2, 0), "eso_lt_active_firmware_identifier", Text, None, "Firmware version (metrology)"),
    row((1, 0, 0, 2, 8), "eso_lt_active_firmware_signature", Text, None, "Firmware signature (metrology)"),
    row((1, 1, 0, 2, 0), "eso_lt_active_firmware_identifier_1", Text, None, "Firmware version (communication)"),
    row((1, 1, 0, 2, 8), "eso_lt_active_firmware_signature_1", Text, None, "Firmware signature (communication)"),
];
