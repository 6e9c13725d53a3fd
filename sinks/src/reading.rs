//! The normalized reading every sink receives: no OBIS codes, no telegram syntax, just
//! named values with units and times.

use std::borrow::Cow;
use std::sync::Arc;

use jiff::Timestamp;

/// A field name or unit: usually a `&'static str` from the tables, so most readings
/// allocate nothing for them.
pub type Text = Cow<'static, str>;

/// How a value behaves over time, which decides how it may be aggregated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// A register that only grows (kWh, m3, failure counts): aggregate by taking the last.
    Counter,
    /// An instantaneous measurement (kW, V, A): aggregate by the mean.
    Gauge,
    /// Text or state (tariff, ids, switch position): aggregate by taking the last.
    Info,
}

/// A value.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    Number(f64),
    /// Shared: ids and states repeat in every reading and are not copied for each.
    Text(Arc<str>),
}

impl FieldValue {
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            FieldValue::Number(n) => Some(*n),
            FieldValue::Text(_) => None,
        }
    }
}

/// One named value of a reading.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// snake_case, unique within a reading (`electricity_used_tariff_1`).
    pub name: Text,
    pub value: FieldValue,
    pub unit: Option<Text>,
    pub kind: FieldKind,
    /// The value's own capture time when it differs from the reading's (M-Bus readings,
    /// the monthly peak).
    pub time: Option<Timestamp>,
}

/// A timed point of a history carried by the telegram (power-failure log, monthly peaks).
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesPoint {
    pub name: Text,
    pub time: Timestamp,
    pub value: f64,
    pub unit: Option<Text>,
}

/// What one telegram said.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// The configured source name (`meter`); shared by all readings of the source.
    pub source: Arc<str>,
    /// The meter's own id, when the telegram carries one; shared while it stays the same.
    pub meter_id: Option<Arc<str>>,
    /// The telegram's own time (UTC); the receive time when the telegram has none
    /// (`time_from_meter` is then false).
    pub time: Timestamp,
    pub time_from_meter: bool,
    /// Scalar values, in telegram order, names unique.
    pub fields: Vec<Field>,
    /// History entries, each with its own time.
    pub series: Vec<SeriesPoint>,
}

impl Reading {
    /// The field with this name.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The number under this name.
    pub fn number(&self, name: &str) -> Option<f64> {
        self.field(name)?.value.as_f64()
    }
}
