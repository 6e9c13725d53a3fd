//! Where readings go. This crate knows nothing of telegrams or OBIS codes: it receives
//! normalized [`Reading`]s and delivers them.

/// One value of a reading.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    Number { value: f64, unit: Option<String> },
    Text(String),
}

/// What one telegram said, in the form every sink needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// The configured source name.
    pub source: String,
    /// The meter's id, when the telegram carries one.
    pub meter_id: Option<String>,
    /// The telegram's own time, seconds since the Unix epoch (UTC).
    pub time_unix: Option<i64>,
    /// Named values in a stable order.
    pub fields: Vec<(String, Field)>,
}
