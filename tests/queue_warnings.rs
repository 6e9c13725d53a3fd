//! How often a sink's full queue is warned of, read from the log itself. Alone in its own
//! test binary because tracing caches per call site, for the whole process, whether anyone
//! listens: a parallel test reaching the same warning first can make this test's subscriber
//! miss it.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::reading;
use dsmrd::config::SinkPipeline;
use dsmrd::pipeline;
use dsmrd_sinks::{Reading, Sink, SinkError};

/// Takes every batch at once.
struct Accepts;

#[async_trait::async_trait]
impl Sink for Accepts {
    async fn send(&mut self, _batch: &[Reading]) -> Result<(), SinkError> {
        Ok(())
    }
}

/// What is logged.
#[derive(Clone, Default)]
struct LogBuf(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A source that fills the queue again each time the sink has emptied it is warned of
/// once a minute, with what was dropped since, not on every refill.
#[tokio::test(start_paused = true)]
async fn a_queue_that_keeps_filling_is_warned_of_once_a_minute() {
    let log = LogBuf::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // Bursts of 2,000 readings a second into a queue of 900: each burst fills it, and the
    // sink empties it before the next.
    let cfg = SinkPipeline { queue: 900, ..SinkPipeline::default() };
    let (fanout, tasks) = pipeline::start(vec![("slow".into(), Box::new(Accepts), cfg)]);
    let counters = tasks[0].counters.clone();
    for k in 0..150 {
        fanout.publish_all((k * 2_000..(k + 1) * 2_000).map(reading).collect(), false).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    pipeline::shutdown(tasks, Duration::from_secs(5)).await;
    let text = String::from_utf8(log.0.lock().expect("lock").clone()).expect("utf-8");
    let warnings: Vec<&str> = text.lines().filter(|l| l.contains("Sink queue is full")).collect();
    // At 0, 60 and 120 s; the later ones say what was dropped in between.
    assert_eq!(warnings.len(), 3, "{text}");
    assert!(!warnings[0].contains("again") && warnings[1].contains("again") && warnings[2].contains("again"), "{text}");
    // 900 of each burst are delivered, 1,100 dropped.
    assert_eq!(counters.snapshot(), (150 * 900, 150 * 1_100, 0));
    // Between two warnings: the rest of the burst that brought the first, 59 whole bursts.
    for w in &warnings[1..] {
        assert!(w.contains(&format!("dropped_since_last_warning={}", 1_099 + 59 * 1_100)), "{text}");
    }
}
