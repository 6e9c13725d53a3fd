//! The pipeline with sinks that fail, stall and recover (paused tokio time): a sink that is
//! down neither blocks the others nor loses readings, and everything is flushed on shutdown.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::reading;
use dsmrd::config::{OnFull, SinkPipeline};
use dsmrd::pipeline;
use dsmrd_sinks::{Reading, Sink, SinkError};
use tokio::time::Instant;

/// Records what it received; fails while `down` is set; can be slow.
#[derive(Clone, Default)]
struct Probe {
    got: Arc<Mutex<Vec<(Instant, f64)>>>,
    down: Arc<Mutex<bool>>,
    attempts: Arc<Mutex<u32>>,
    delay: Duration,
    closed: Arc<Mutex<bool>>,
}

#[async_trait::async_trait]
impl Sink for Probe {
    async fn send(&mut self, batch: &[Reading]) -> Result<(), SinkError> {
        *self.attempts.lock().expect("lock") += 1;
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        if *self.down.lock().expect("lock") {
            return Err(SinkError::Retryable("connection refused".into()));
        }
        let now = Instant::now();
        let mut got = self.got.lock().expect("lock");
        got.extend(batch.iter().map(|r| (now, r.number("electricity_used_tariff_1").expect("value"))));
        Ok(())
    }

    async fn close(&mut self) -> Result<(), SinkError> {
        *self.closed.lock().expect("lock") = true;
        Ok(())
    }
}

fn values(p: &Probe) -> Vec<f64> {
    p.got.lock().expect("lock").iter().map(|(_, v)| *v).collect()
}

#[tokio::test(start_paused = true)]
async fn a_down_sink_keeps_its_readings_and_does_not_hold_up_the_others() {
    let healthy = Probe::default();
    let failing = Probe::default();
    *failing.down.lock().expect("lock") = true;
    let cfg = SinkPipeline { max_backoff: Duration::from_secs(8), ..SinkPipeline::default() };
    let (fanout, tasks) = pipeline::start(vec![
        ("healthy".into(), Box::new(healthy.clone()), cfg),
        ("failing".into(), Box::new(failing.clone()), cfg),
    ]);
    let start = Instant::now();
    for n in 0..30 {
        fanout.publish(reading(n), false).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // The healthy sink got every reading about when it was published.
    let got = healthy.got.lock().expect("lock").clone();
    assert_eq!(got.len(), 30);
    assert!(got.iter().enumerate().all(|(i, (t, _))| (*t - start) < Duration::from_secs(i as u64 + 1)));
    // The failing one was retried with backoff (1, 2, 4, 8, 8, ... s), not hammered.
    let attempts = *failing.attempts.lock().expect("lock");
    assert!((4..=8).contains(&attempts), "attempts: {attempts}");
    assert!(values(&failing).is_empty());
    // It comes back: everything it missed arrives, in order.
    *failing.down.lock().expect("lock") = false;
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(values(&failing), (0..30).map(|n| n as f64).collect::<Vec<_>>());
    pipeline::shutdown(tasks, Duration::from_secs(5)).await;
    assert!(*healthy.closed.lock().expect("lock") && *failing.closed.lock().expect("lock"));
}

#[tokio::test(start_paused = true)]
async fn a_full_queue_drops_by_policy_and_counts_it() {
    let stuck = Probe { delay: Duration::from_secs(3600), ..Probe::default() };
    let oldest = SinkPipeline { queue: 5, on_full: OnFull::DropOldest, ..SinkPipeline::default() };
    let newest = SinkPipeline { queue: 5, on_full: OnFull::DropNewest, ..SinkPipeline::default() };
    let keep_new = Probe::default();
    *keep_new.down.lock().expect("lock") = true;
    let keep_old = Probe::default();
    *keep_old.down.lock().expect("lock") = true;
    let (fanout, tasks) = pipeline::start(vec![
        ("stuck".into(), Box::new(stuck.clone()), SinkPipeline { queue: 5, ..SinkPipeline::default() }),
        ("oldest".into(), Box::new(keep_new.clone()), oldest),
        ("newest".into(), Box::new(keep_old.clone()), newest),
    ]);
    // Publishing never waits, however stuck a sink is.
    let t0 = Instant::now();
    for n in 0..1000 {
        fanout.publish(reading(n), false).await;
    }
    assert_eq!(Instant::now(), t0, "publishing blocked");
    *keep_new.down.lock().expect("lock") = false;
    *keep_old.down.lock().expect("lock") = false;
    tokio::time::sleep(Duration::from_secs(70)).await;
    // Each sink holds one batch in hand plus its queue of 5; the policy decides which.
    let new_vals = values(&keep_new);
    let old_vals = values(&keep_old);
    assert_eq!(new_vals.last(), Some(&999.0), "drop_oldest keeps the latest: {new_vals:?}");
    assert_eq!(old_vals.first(), Some(&0.0), "drop_newest keeps the first: {old_vals:?}");
    assert!(old_vals.iter().all(|v| *v < 10.0), "{old_vals:?}");
    for t in &tasks {
        let (delivered, dropped, _) = t.counters.snapshot();
        if t.name != "stuck" {
            assert_eq!(delivered + dropped, 1000, "{}: delivered {delivered} dropped {dropped}", t.name);
        }
    }
    pipeline::shutdown(tasks, Duration::from_secs(1)).await;
}

#[tokio::test(start_paused = true)]
async fn a_failing_sink_holds_at_most_its_queue_and_drops_the_oldest_first() {
    // The sink task takes readings out of the queue to deliver them; while it fails, those
    // it holds count against `queue` too, and `drop_oldest` drops them first.
    let oldest = Probe::default();
    *oldest.down.lock().expect("lock") = true;
    let newest = Probe::default();
    *newest.down.lock().expect("lock") = true;
    let cfg =
        |on_full| SinkPipeline { queue: 5, on_full, max_backoff: Duration::from_secs(2), ..SinkPipeline::default() };
    let (fanout, tasks) = pipeline::start(vec![
        ("oldest".into(), Box::new(oldest.clone()), cfg(OnFull::DropOldest)),
        ("newest".into(), Box::new(newest.clone()), cfg(OnFull::DropNewest)),
    ]);
    for n in 0..20 {
        fanout.publish(reading(n), false).await;
        // Time for the sink task to take what arrived and fail on it.
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    *oldest.down.lock().expect("lock") = false;
    *newest.down.lock().expect("lock") = false;
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(values(&oldest), (15..20).map(|n| n as f64).collect::<Vec<_>>());
    assert_eq!(values(&newest), (0..5).map(|n| n as f64).collect::<Vec<_>>());
    for t in &tasks {
        assert_eq!(t.counters.snapshot().0 + t.counters.snapshot().1, 20, "{}", t.name);
    }
    pipeline::shutdown(tasks, Duration::from_secs(1)).await;
}

#[tokio::test(start_paused = true)]
async fn a_replay_waits_for_a_slow_sink_but_not_for_one_that_is_down() {
    // Replays wait for room (nothing is lost by reading a file more slowly), but a sink
    // that fails would then hold up every other: its queue is treated as a live one's.
    let healthy = Probe::default();
    let down = Probe::default();
    *down.down.lock().expect("lock") = true;
    let cfg = SinkPipeline { queue: 5, ..SinkPipeline::default() };
    let (fanout, tasks) = pipeline::start(vec![
        ("healthy".into(), Box::new(healthy.clone()), cfg),
        ("down".into(), Box::new(down.clone()), cfg),
    ]);
    let publishing = async {
        for n in 0..100 {
            fanout.publish(reading(n), true).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), publishing)
        .await
        .expect("the replay was held up by the sink that is down");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(values(&healthy), (0..100).map(|n| n as f64).collect::<Vec<_>>());
    let (delivered, dropped, _) = tasks[1].counters.snapshot();
    assert_eq!((delivered, dropped), (0, 95), "the down sink keeps its queue of 5 and counts the rest");
    pipeline::shutdown(tasks, Duration::from_secs(1)).await;
}

#[tokio::test(start_paused = true)]
async fn a_slow_sink_loses_only_what_its_queue_cannot_hold() {
    // Each delivery takes 4.5 s while a reading comes every second, into a queue of 5.
    // Readings marked to go while a delivery is under way, and delivered by it after all,
    // free their room: no queued reading is dropped in their place.
    let slow = Probe { delay: Duration::from_millis(4500), ..Probe::default() };
    let cfg = SinkPipeline { queue: 5, ..SinkPipeline::default() };
    let (fanout, tasks) = pipeline::start(vec![("slow".into(), Box::new(slow.clone()), cfg)]);
    for n in 0..12 {
        fanout.publish(reading(n), false).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    tokio::time::sleep(Duration::from_secs(60)).await;
    let (delivered, dropped, _) = tasks[0].counters.snapshot();
    assert_eq!(values(&slow).len() as u64, delivered);
    assert_eq!((delivered, dropped), (12, 0), "{:?}", values(&slow));
    pipeline::shutdown(tasks, Duration::from_secs(1)).await;
}

#[tokio::test(start_paused = true)]
async fn a_replay_stops_waiting_for_a_sink_stuck_in_a_delivery() {
    // A delivery that never returns (stdout into a pipe nobody reads) is no failure the
    // sink reports; after 30 s it counts as one, and the replay goes on for the others.
    let healthy = Probe::default();
    let stuck = Probe { delay: Duration::from_secs(24 * 3600), ..Probe::default() };
    let cfg = SinkPipeline { queue: 5, ..SinkPipeline::default() };
    let (fanout, tasks) = pipeline::start(vec![
        ("healthy".into(), Box::new(healthy.clone()), cfg),
        ("stuck".into(), Box::new(stuck.clone()), cfg),
    ]);
    let started = Instant::now();
    let publishing = async {
        for n in 0..100 {
            fanout.publish(reading(n), true).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(120), publishing).await.expect("the replay was held up by the stuck sink");
    let waited = started.elapsed();
    assert!((Duration::from_secs(30)..Duration::from_secs(32)).contains(&waited), "{waited:?}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(values(&healthy), (0..100).map(|n| n as f64).collect::<Vec<_>>());
    assert_eq!(*stuck.attempts.lock().expect("lock"), 1);
    let (delivered, dropped, _) = tasks[1].counters.snapshot();
    assert_eq!(delivered, 0);
    assert!(dropped >= 90, "dropped {dropped}");
    pipeline::shutdown(tasks, Duration::from_secs(1)).await;
}

#[tokio::test(start_paused = true)]
async fn a_stop_ends_a_replays_wait_and_every_reading_is_accounted_for() {
    // A slow sink with a queue of 5 and 20 readings to hand over: the replay waits for
    // room until the stop; what is left then goes in as from a live source, and every
    // reading ends up delivered or counted as dropped.
    let slow = Probe { delay: Duration::from_secs(10), ..Probe::default() };
    let cfg = SinkPipeline { queue: 5, ..SinkPipeline::default() };
    let (fanout, tasks) = pipeline::start(vec![("slow".into(), Box::new(slow.clone()), cfg)]);
    let batch: Vec<_> = (0..20).map(reading).collect();
    let started = Instant::now();
    fanout.publish_all_until(batch, true, tokio::time::sleep(Duration::from_secs(1))).await;
    assert_eq!(started.elapsed(), Duration::from_secs(1), "the wait ended with the stop");
    let counters = tasks[0].counters.clone();
    pipeline::shutdown(tasks, Duration::from_secs(60)).await;
    let (delivered, dropped, _) = counters.snapshot();
    assert_eq!(delivered + dropped, 20, "delivered {delivered}, dropped {dropped}");
    assert!(dropped > 0 && delivered >= 5, "delivered {delivered}, dropped {dropped}");
    assert_eq!(values(&slow).len() as u64, delivered);
}

#[tokio::test(start_paused = true)]
async fn a_sink_cut_off_at_shutdown_counts_its_open_throttle_window_as_dropped() {
    // Eleven readings, 1 s apart, to a sink with a 10 s interval that never returns from a
    // delivery: the first window's reading is in the stuck delivery, the eleventh waits in
    // an open window. Cut off at shutdown, both count as dropped.
    let stuck = Probe { delay: Duration::from_secs(24 * 3600), ..Probe::default() };
    let cfg = SinkPipeline { interval: Duration::from_secs(10), ..SinkPipeline::default() };
    let (fanout, tasks) = pipeline::start(vec![("stuck".into(), Box::new(stuck.clone()), cfg)]);
    fanout.publish_all((0..=10).map(reading).collect(), false).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(*stuck.attempts.lock().expect("lock"), 1);
    let counters = tasks[0].counters.clone();
    pipeline::shutdown(tasks, Duration::from_secs(1)).await;
    assert_eq!(counters.snapshot(), (0, 2, 0));
}

/// Fails every delivery after `send`; takes `close` to close.
struct SlowFailing {
    send: Duration,
    close: Duration,
}

#[async_trait::async_trait]
impl Sink for SlowFailing {
    async fn send(&mut self, _batch: &[Reading]) -> Result<(), SinkError> {
        tokio::time::sleep(self.send).await;
        Err(SinkError::Retryable("connection refused".into()))
    }

    async fn close(&mut self) -> Result<(), SinkError> {
        tokio::time::sleep(self.close).await;
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn a_sink_that_gave_up_at_the_deadline_and_is_then_cut_off_counts_each_reading_once() {
    // 3000 readings, a second apart, to a 1 s interval: each reading is a window of its
    // own, so whatever the task took in, every reading counts once: as a window output,
    // as its open window, or still queued. Its deliveries fail until past the deadline
    // (1.8 s), where it gives all of them up; its close then runs into the cut-off at
    // 2.8 s, which must not count the open window a second time.
    let sink = SlowFailing { send: Duration::from_millis(700), close: Duration::from_secs(2) };
    let cfg = SinkPipeline { interval: Duration::from_secs(1), queue: 5000, ..SinkPipeline::default() };
    let (fanout, tasks) = pipeline::start(vec![("failing".into(), Box::new(sink), cfg)]);
    fanout.publish_all((0..3000).map(reading).collect(), false).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let counters = tasks[0].counters.clone();
    pipeline::shutdown(tasks, Duration::from_secs(1)).await;
    assert_eq!(counters.snapshot(), (0, 3000, 2));
}

/// A sink that is down, holding readings 0..n, 40 s into its backoff: it failed at 0, 1,
/// 3, 7, 15 and 31 s, and its next retry is due at 63 s.
async fn down_in_a_long_backoff(n: i64) -> (Probe, Vec<pipeline::SinkTask>, Arc<pipeline::SinkCounters>) {
    let sink = Probe::default();
    *sink.down.lock().expect("lock") = true;
    let cfg = SinkPipeline { max_backoff: Duration::from_secs(60), ..SinkPipeline::default() };
    let (fanout, tasks) = pipeline::start(vec![("late".into(), Box::new(sink.clone()), cfg)]);
    let counters = tasks[0].counters.clone();
    for n in 0..n {
        fanout.publish(reading(n), false).await;
    }
    tokio::time::sleep(Duration::from_secs(40)).await;
    assert_eq!(*sink.attempts.lock().expect("lock"), 6);
    (sink, tasks, counters)
}

/// Shutdown while a sink waits out a long backoff: it tries again at once instead of
/// sleeping through the deadline, so readings it can now deliver are not dropped.
#[tokio::test(start_paused = true)]
async fn a_sink_in_a_long_backoff_retries_at_once_when_the_service_stops() {
    let (sink, tasks, counters) = down_in_a_long_backoff(5).await;
    *sink.down.lock().expect("lock") = false;
    let stop = Instant::now();
    pipeline::shutdown(tasks, Duration::from_secs(10)).await;
    assert_eq!(values(&sink), vec![0.0, 1.0, 2.0, 3.0, 4.0]);
    assert!(stop.elapsed() < Duration::from_secs(1), "took {:?}", stop.elapsed());
    assert_eq!(counters.snapshot().1, 0);
    assert!(*sink.closed.lock().expect("lock"));
}

/// A sink still down at shutdown is retried every second until the deadline, and what it
/// then still holds is counted as dropped.
#[tokio::test(start_paused = true)]
async fn a_sink_down_through_shutdown_is_retried_each_second_then_gives_up() {
    let (sink, tasks, counters) = down_in_a_long_backoff(3).await;
    pipeline::shutdown(tasks, Duration::from_secs(5)).await;
    // At once, then each second up to the deadline, 5 s on.
    assert_eq!(*sink.attempts.lock().expect("lock"), 6 + 6);
    assert_eq!(counters.snapshot().1, 3);
}

/// A sink that came back starts its next outage's backoff from 1 s again, not from where
/// the last outage left it.
#[tokio::test(start_paused = true)]
async fn the_backoff_starts_over_after_a_delivery() {
    let sink = Probe::default();
    *sink.down.lock().expect("lock") = true;
    let cfg = SinkPipeline { max_backoff: Duration::from_secs(60), ..SinkPipeline::default() };
    let (fanout, tasks) = pipeline::start(vec![("flaky".into(), Box::new(sink.clone()), cfg)]);
    let attempts = || *sink.attempts.lock().expect("lock");
    fanout.publish(reading(0), false).await;
    // Failed at 0, 1, 3, 7 and 15 s; the next try is due at 31 s, and succeeds.
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert_eq!(attempts(), 5);
    *sink.down.lock().expect("lock") = false;
    tokio::time::sleep(Duration::from_secs(12)).await;
    assert_eq!((values(&sink), attempts()), (vec![0.0], 6));
    // Down again at 32 s: tried then, and again at 33, 35 and 39 s.
    *sink.down.lock().expect("lock") = true;
    fanout.publish(reading(1), false).await;
    tokio::time::sleep(Duration::from_millis(7_500)).await;
    assert_eq!(attempts(), 6 + 4);
    *sink.down.lock().expect("lock") = false;
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert_eq!(values(&sink), vec![0.0, 1.0]);
    pipeline::shutdown(tasks, Duration::from_secs(5)).await;
}

/// Its destination gone for good (a closed stdout).
struct Gone;

#[async_trait::async_trait]
impl Sink for Gone {
    async fn send(&mut self, _batch: &[Reading]) -> Result<(), SinkError> {
        Err(SinkError::Closed("standard output is closed (broken pipe)".into()))
    }
}

/// A sink whose destination is gone is switched off: what it held when it found out and
/// what arrives after are counted as dropped, each reading once, and the others go on.
#[tokio::test(start_paused = true)]
async fn a_gone_sink_counts_what_it_held_and_what_comes_after_as_dropped() {
    let healthy = Probe::default();
    let (fanout, tasks) = pipeline::start(vec![
        ("gone".into(), Box::new(Gone), SinkPipeline::default()),
        ("healthy".into(), Box::new(healthy.clone()), SinkPipeline::default()),
    ]);
    let counters = tasks[0].counters.clone();
    fanout.publish_all((0..3).map(reading).collect(), false).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    for n in 3..5 {
        fanout.publish(reading(n), false).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    pipeline::shutdown(tasks, Duration::from_secs(5)).await;
    assert_eq!(counters.snapshot(), (0, 5, 0));
    assert!(counters.closed.load(std::sync::atomic::Ordering::Relaxed));
    assert_eq!(values(&healthy), [0.0, 1.0, 2.0, 3.0, 4.0]);
}
