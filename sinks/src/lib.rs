//! Where readings go. This crate knows nothing of telegrams or OBIS codes: it receives
//! normalized [`Reading`]s and delivers them. Each sink is one module with a `Config`
//! (deserialized from its `[sinks.NAME]` table) that builds the running [`Sink`] and a
//! health check; [`registry`] lists them.

mod reading;
pub mod registry;

pub mod csv;
pub mod stdout;

use std::future::Future;
use std::pin::Pin;

pub use reading::{Field, FieldKind, FieldValue, Reading, SeriesPoint, Text};
pub use registry::SinkConfig;

/// Why a sink could not deliver.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SinkError {
    /// Worth retrying later (server down, timeout, disk momentarily full).
    #[error("{0}")]
    Retryable(String),
    /// Retrying the same data will not help (rejected by the server, bad configuration).
    #[error("{0}")]
    Fatal(String),
}

/// A check that the sink can reach what it writes to; it should do the sink's real
/// operation where that is harmless, and lean towards passing.
pub type Healthcheck = Pin<Box<dyn Future<Output = Result<(), SinkError>> + Send>>;

/// A running sink. The pipeline calls it from one task, so it needs no locking.
#[async_trait::async_trait]
pub trait Sink: Send {
    /// Deliver readings, in order. On `Err` none of `batch` counts as delivered unless the
    /// sink documents otherwise; the pipeline keeps and retries it.
    async fn send(&mut self, batch: &[Reading]) -> Result<(), SinkError>;

    /// Push out anything buffered (called after each delivered batch). A sink may make
    /// this cheap and keep the expensive part (an fsync) for [`Sink::close`] and for every
    /// few seconds.
    async fn flush(&mut self) -> Result<(), SinkError> {
        Ok(())
    }

    /// The last call before shutdown: everything must be durable when it returns `Ok`.
    async fn close(&mut self) -> Result<(), SinkError> {
        self.flush().await
    }
}

/// How a sink type is configured and built; implemented by every sink's `Config`.
pub trait BuildSink: serde::de::DeserializeOwned + std::fmt::Debug + Send {
    /// The `type = "..."` value that selects this sink.
    const TYPE: &'static str;

    /// One line for `check-config`, with secrets masked.
    fn describe(&self) -> String;

    /// Build the sink for the sink named `name`.
    fn build(self, name: &str) -> Result<(Box<dyn Sink>, Healthcheck), SinkError>;
}

/// A health check that always passes, for sinks with nothing to check.
pub fn healthy() -> Healthcheck {
    Box::pin(async { Ok(()) })
}

/// A time as RFC 3339 in UTC to the second (`2019-03-24T14:05:41Z`), the form every sink
/// writes and the one `dsmrd parse` prints.
pub(crate) fn rfc3339(ts: jiff::Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Mask a secret for display: keeps nothing but its length class.
pub fn mask(secret: &str) -> &'static str {
    if secret.is_empty() { "(empty)" } else { "****" }
}
