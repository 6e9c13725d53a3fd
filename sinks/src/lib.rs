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
    /// The destination is gone for good (standard output closed): the pipeline switches
    /// the sink off and counts what it would have got as dropped.
    #[error("{0}")]
    Closed(String),
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
pub fn rfc3339(ts: jiff::Timestamp) -> String {
    let mut out = String::with_capacity(20);
    push_rfc3339(&mut out, ts);
    out
}

/// [`rfc3339`], appended to `out` without an allocation of its own (a CSV row has one or
/// two times per reading).
pub fn push_rfc3339(out: &mut String, ts: jiff::Timestamp) {
    let secs = ts.as_second();
    let (days, day_secs) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Days since 1970-01-01 to a civil date (H. Hinnant's algorithm): it runs once per
    // CSV cell with a time, where a general formatter was a measurable cost.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    if !(0..=9999).contains(&year) {
        out.push_str(&ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string());
        return;
    }
    let mut buf = *b"0000-00-00T00:00:00Z";
    let mut put = |at: usize, value: i64, width: usize| {
        let mut v = value;
        for k in (0..width).rev() {
            buf[at + k] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, year, 4);
    put(5, month, 2);
    put(8, day, 2);
    put(11, day_secs / 3600, 2);
    put(14, day_secs % 3600 / 60, 2);
    put(17, day_secs % 60, 2);
    // Digits and separators only: always ASCII.
    out.push_str(std::str::from_utf8(&buf).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_matches_the_general_formatter() {
        let mut s: i64 = -2_208_988_800; // 1900-01-01
        while s < 4_102_444_800 {
            let ts = jiff::Timestamp::from_second(s).expect("in range");
            assert_eq!(super::rfc3339(ts), ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string());
            s += 86_400 * 7 + 3_599;
        }
        // Years outside 0..=9999 (jiff goes down to -9999) take the general formatter; the
        // year 300 is in the first 400-year era of the fast path.
        for ts in [
            jiff::Timestamp::MIN,
            jiff::Timestamp::MAX,
            "-000001-06-01T12:00:00Z".parse().expect("a time"),
            "0300-03-01T00:00:00Z".parse().expect("a time"),
        ] {
            assert_eq!(super::rfc3339(ts), ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string());
        }
        let leap = jiff::Timestamp::from_second(951_782_400).expect("2000-02-29");
        assert_eq!(super::rfc3339(leap), "2000-02-29T00:00:00Z");
    }
}
