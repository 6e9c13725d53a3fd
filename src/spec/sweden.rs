//! Sweden, H1 port ("5S"): DSMR 5 syntax with totals, reactive power, no meter id, and a
//! clock that stays on normal time all year.

use super::Shape::*;
use super::{Row, Spec, reactive, row};

/// Energiföretagen "Branschrekommendation lokalt kundgränssnitt" 2.0.
pub static SWEDEN: Spec = Spec::new("Sweden H1 (5S)", Some(&reactive::V5_REACTIVE), ROWS);

static ROWS: &[Row] = &[
    // Aidon meters on instrument transformers (SAID).
    row((1, 0, 0, 4, 2), "current_transformer_ratio", Number, None, "Current transformer ratio (Aidon)"),
    row((1, 0, 0, 4, 3), "voltage_transformer_ratio", Number, None, "Voltage transformer ratio (Aidon)"),
];
