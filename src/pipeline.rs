//! Fan-out from sources to sinks: one task per sink behind its own bounded queue, so a slow
//! or dead sink never blocks the source or the other sinks. Throttling (`interval`, with
//! `throttle`), retry with backoff and the flush on shutdown live here, once,
//! instead of in every sink.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use dsmrd_sinks::{Reading, Sink, SinkError};

use crate::config::{OnFull, SinkPipeline};
use crate::throttle::Throttle;

/// Most readings handed to a sink in one `send`.
const BATCH: usize = 500;

/// A delivery that has not returned after this long is stuck: a replay stops waiting for
/// the sink (long enough for the slowest fsync of an SD card).
const STALL: Duration = Duration::from_secs(30);

/// Delivery counters of one sink, readable while it runs.
#[derive(Debug, Default)]
pub struct SinkCounters {
    /// Readings the sink accepted.
    pub delivered: AtomicU64,
    /// Readings thrown away: queue full, rejected for good, or still undelivered when the
    /// shutdown timeout ran out.
    pub dropped: AtomicU64,
    /// Failed delivery attempts (each retried).
    pub failed: AtomicU64,
    /// The sink's destination went away (a closed stdout): what it drops after that was
    /// given up by whoever closed it, not lost to a fault.
    pub closed: std::sync::atomic::AtomicBool,
}

impl SinkCounters {
    pub fn snapshot(&self) -> (u64, u64, u64) {
        (
            self.delivered.load(Ordering::Relaxed),
            self.dropped.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
        )
    }
}

struct QueueState {
    items: VecDeque<Reading>,
    /// Readings the sink task has taken out and not yet delivered: they count against the
    /// capacity too, so a failing sink holds at most `queue` readings in all.
    held: usize,
    /// Readings to drop from the front of those held (`drop_oldest` on a full queue whose
    /// oldest readings are held; counted as dropped already), oldest first.
    drop_held: usize,
    /// Throttle windows of the sink task that hold a reading not yet sent on: counted as
    /// dropped if the task is cut off (they are not in `held`, as they take no room).
    open_windows: usize,
    closed: bool,
    deadline: Option<Instant>,
    /// When a full queue was last warned of, and what it dropped since: a queue that keeps
    /// filling (a source faster than its sink) is warned of once a minute, not per refill.
    full_warned_at: Option<Instant>,
    dropped_since_warning: u64,
}

impl QueueState {
    /// Readings waiting for the sink, queued or held.
    fn len(&self) -> usize {
        (self.items.len() + self.held).saturating_sub(self.drop_held)
    }

    /// `n` held readings, the oldest, left without being dropped (delivered, or rejected
    /// for good and counted so): drops owed by them are called off, as there is room now.
    /// Returns how many were called off, to be taken back from the dropped count.
    fn called_off(&mut self, n: usize) -> usize {
        let c = self.drop_held.min(n);
        self.drop_held -= c;
        c
    }

    /// Give up all that waits for the sink, held and queued (shutdown deadline, a sink that
    /// is gone); returns how many readings that is, not counting those already counted as
    /// dropped.
    fn give_up(&mut self, ready: &mut VecDeque<Reading>) -> usize {
        self.settle(ready);
        let left = ready.len() + self.items.len();
        ready.clear();
        self.items.clear();
        self.held = 0;
        // Every caller gives up the throttle windows too, and counts them.
        self.open_windows = 0;
        left
    }

    /// Apply the drops owed by the readings the sink task holds in `ready` (the oldest
    /// go first; those just delivered were delivered, so the next oldest go in their
    /// place), and record how many it holds now. True when anything was dropped.
    fn settle(&mut self, ready: &mut VecDeque<Reading>) -> bool {
        let owed = std::mem::take(&mut self.drop_held);
        let from_ready = owed.min(ready.len());
        ready.drain(..from_ready);
        let from_queue = (owed - from_ready).min(self.items.len());
        self.items.drain(..from_queue);
        self.held = ready.len();
        owed > 0
    }
}

/// The bounded queue in front of one sink.
struct SinkQueue {
    name: String,
    state: Mutex<QueueState>,
    capacity: usize,
    on_full: OnFull,
    /// Wakes the sink task: items arrived or the queue closed.
    arrived: Notify,
    /// Wakes publishers waiting for room (replay back-pressure).
    room: Notify,
    counters: Arc<SinkCounters>,
    /// Whether a full queue was already logged since it last had room (log once per
    /// episode, not per dropped reading).
    full_logged: std::sync::atomic::AtomicBool,
    /// The sink is failing (or gone): a replay does not wait for its queue then, but treats
    /// it as a live source does, so that one sink that is down holds up no other.
    failing: std::sync::atomic::AtomicBool,
}

impl SinkQueue {
    fn lock(&self) -> MutexGuard<'_, QueueState> {
        // A panic while holding this lock cannot leave the queue inconsistent (every
        // operation is a single push or drain), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The publishing side: every reading goes to every sink's queue.
#[derive(Clone)]
pub struct Fanout {
    queues: Arc<Vec<Arc<SinkQueue>>>,
    live: Arc<Liveness>,
}

/// How many sinks still have a destination: when the last one's is gone (a closed stdout
/// was the only sink), nothing read can go anywhere, and the daemon stops.
#[derive(Debug)]
pub struct Liveness {
    live: std::sync::atomic::AtomicUsize,
    all_gone: Notify,
}

impl Liveness {
    /// Resolves once every sink's destination is gone (never, for a pipeline without sinks).
    pub async fn all_gone(&self) {
        // One waiter (the daemon): the permit `notify_one` leaves is not lost.
        self.all_gone.notified().await;
    }

    fn gone(&self) {
        if self.live.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.all_gone.notify_one();
        }
    }
}

impl Fanout {
    /// Tells when every sink's destination is gone.
    pub fn liveness(&self) -> Arc<Liveness> {
        self.live.clone()
    }

    /// Hand a reading to every sink. Live sources call this with `wait = false`: a full
    /// queue then applies the sink's `on_full` policy and the reading is counted as dropped
    /// for that sink. Replays call it with `wait = true`: they wait for room instead, since
    /// nothing is lost by reading a file more slowly.
    pub async fn publish(&self, reading: Reading, wait: bool) {
        let n = self.queues.len();
        let mut reading = Some(reading);
        for (i, q) in self.queues.iter().enumerate() {
            let r = if i + 1 == n { reading.take() } else { reading.clone() };
            let Some(r) = r else { return };
            if wait {
                let mut r = Some(r);
                loop {
                    let room = q.room.notified();
                    if q.failing.load(Ordering::Relaxed) {
                        if let Some(r) = r.take() {
                            push_or_drop(q, r);
                        }
                        break;
                    }
                    {
                        let mut st = q.lock();
                        if st.closed {
                            break;
                        }
                        if st.len() < q.capacity {
                            if let Some(r) = r.take() {
                                st.items.push_back(r);
                            }
                            drop(st);
                            q.arrived.notify_one();
                            break;
                        }
                    }
                    room.await;
                }
            } else {
                push_or_drop(q, r);
            }
        }
    }

    /// Hand several readings to every sink at once (one lock and one wake-up per batch
    /// instead of per reading); same policies as [`Fanout::publish`].
    pub async fn publish_all(&self, readings: Vec<Reading>, wait: bool) {
        self.publish_all_until(readings, wait, std::future::pending()).await;
    }

    /// [`Fanout::publish_all`], waiting for room (with `wait`) only until `stop` resolves:
    /// what is left then goes as from a live source, queued where there is room and
    /// counted as dropped where not, so that every reading read is accounted for.
    pub async fn publish_all_until(&self, readings: Vec<Reading>, mut wait: bool, stop: impl Future<Output = ()>) {
        tokio::pin!(stop);
        if readings.is_empty() {
            return;
        }
        let n = self.queues.len();
        let mut readings = Some(readings);
        for (i, q) in self.queues.iter().enumerate() {
            let batch = if i + 1 == n { readings.take() } else { readings.clone() };
            let Some(batch) = batch else { return };
            if !wait {
                for r in batch {
                    push_or_drop(q, r);
                }
                continue;
            }
            let mut rest = batch.into_iter().peekable();
            while rest.peek().is_some() {
                let room = q.room.notified();
                if q.failing.load(Ordering::Relaxed) {
                    for r in rest.by_ref() {
                        push_or_drop(q, r);
                    }
                    break;
                }
                let pushed = {
                    let mut st = q.lock();
                    if st.closed {
                        break;
                    }
                    let free = q.capacity.saturating_sub(st.len());
                    st.items.extend(rest.by_ref().take(free));
                    free > 0
                };
                if pushed {
                    q.arrived.notify_one();
                }
                if rest.peek().is_some() {
                    tokio::select! {
                        _ = room => {}
                        _ = &mut stop => {
                            wait = false;
                            for r in rest.by_ref() {
                                push_or_drop(q, r);
                            }
                        }
                    }
                }
            }
        }
    }
}

fn push_or_drop(q: &SinkQueue, r: Reading) {
    let mut st = q.lock();
    if st.closed {
        return;
    }
    if st.len() >= q.capacity {
        q.counters.dropped.fetch_add(1, Ordering::Relaxed);
        let quiet = st.full_warned_at.is_some_and(|t| t.elapsed() < FULL_WARNING_EVERY);
        if !quiet && !q.full_logged.swap(true, Ordering::Relaxed) {
            let what = match q.on_full {
                OnFull::DropOldest => "dropping the oldest queued readings",
                OnFull::DropNewest => "dropping new readings",
            };
            let before = st.dropped_since_warning;
            if before > 0 {
                tracing::warn!(sink = %q.name, capacity = q.capacity, dropped_since_last_warning = before,
                    "Sink queue is full again; {what} until it catches up.");
            } else {
                tracing::warn!(sink = %q.name, capacity = q.capacity, "Sink queue is full; {what} until it catches up.");
            }
            (st.full_warned_at, st.dropped_since_warning) = (Some(Instant::now()), 0);
        } else {
            // Drops after a warning, not the one it was about.
            st.dropped_since_warning += 1;
        }
        match q.on_full {
            OnFull::DropOldest => {
                // The oldest are those the sink task holds, if it holds any not yet doomed.
                if st.drop_held < st.held {
                    st.drop_held += 1;
                } else {
                    st.items.pop_front();
                }
                st.items.push_back(r);
            }
            OnFull::DropNewest => return,
        }
    } else {
        st.items.push_back(r);
        if st.len() * 2 < q.capacity {
            q.full_logged.store(false, Ordering::Relaxed);
        }
    }
    drop(st);
    q.arrived.notify_one();
}

/// A running sink task.
pub struct SinkTask {
    pub name: String,
    pub counters: Arc<SinkCounters>,
    queue: Arc<SinkQueue>,
    handle: JoinHandle<()>,
}

/// What each sink still holds (queued, held for a retry, in open throttle windows), for a
/// process that must end without waiting for the sinks to say what it leaves undelivered.
#[derive(Clone)]
pub struct Holdings(Vec<(String, Arc<SinkQueue>)>);

impl Holdings {
    pub fn of(tasks: &[SinkTask]) -> Holdings {
        Holdings(tasks.iter().map(|t| (t.name.clone(), t.queue.clone())).collect())
    }

    /// Each sink's name and how many readings it holds.
    pub fn counts(&self) -> Vec<(String, usize)> {
        self.0
            .iter()
            .map(|(name, q)| {
                let st = q.lock();
                (name.clone(), st.len() + st.open_windows)
            })
            .collect()
    }
}

/// Start one task per sink and return the fan-out that feeds them.
pub fn start(sinks: Vec<(String, Box<dyn Sink>, SinkPipeline)>) -> (Fanout, Vec<SinkTask>) {
    let mut queues = Vec::new();
    let mut tasks = Vec::new();
    let live = Arc::new(Liveness { live: sinks.len().into(), all_gone: Notify::new() });
    for (name, sink, cfg) in sinks {
        let counters = Arc::new(SinkCounters::default());
        let queue = Arc::new(SinkQueue {
            name: name.clone(),
            state: Mutex::new(QueueState {
                items: VecDeque::new(),
                held: 0,
                drop_held: 0,
                open_windows: 0,
                closed: false,
                deadline: None,
                full_warned_at: None,
                dropped_since_warning: 0,
            }),
            capacity: cfg.queue,
            on_full: cfg.on_full,
            arrived: Notify::new(),
            room: Notify::new(),
            counters: counters.clone(),
            full_logged: std::sync::atomic::AtomicBool::new(false),
            failing: std::sync::atomic::AtomicBool::new(false),
        });
        let handle = tokio::spawn(run_sink(name.clone(), sink, cfg, queue.clone(), counters.clone(), live.clone()));
        queues.push(queue.clone());
        tasks.push(SinkTask { name, counters, queue, handle });
    }
    (Fanout { queues: Arc::new(queues), live }, tasks)
}

/// Close every queue, give the sinks until `timeout` to deliver what they hold and flush,
/// and wait for them.
pub async fn shutdown(tasks: Vec<SinkTask>, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    for t in &tasks {
        {
            let mut st = t.queue.lock();
            st.closed = true;
            st.deadline = Some(deadline);
        }
        t.queue.arrived.notify_one();
        t.queue.room.notify_waiters();
    }
    for t in tasks {
        // A sink stuck inside a delivery gets a little longer than the deadline, then is
        // cut off: shutdown must finish.
        let abort = t.handle.abort_handle();
        match tokio::time::timeout_at(deadline + Duration::from_secs(1), t.handle).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(sink = %t.name, error = %e, "Sink task ended abnormally."),
            Err(_) => {
                abort.abort();
                let left = {
                    let st = t.queue.lock();
                    st.len() + st.open_windows
                };
                t.counters.dropped.fetch_add(left as u64, Ordering::Relaxed);
                tracing::error!(sink = %t.name, "Sink did not finish within the shutdown timeout; stopped it.");
            }
        }
    }
}

/// How often a queue that keeps filling up is warned of at most.
const FULL_WARNING_EVERY: Duration = Duration::from_secs(60);

/// The longest wait between retries once shutdown has begun.
const STOP_RETRY: Duration = Duration::from_secs(1);

/// Retry delays: 1 s doubling up to the sink's `max_backoff`.
struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    fn new(max: Duration) -> Backoff {
        // Never no delay at all: a sink failing at once would spin and starve the runtime.
        let max = max.max(Duration::from_millis(100));
        Backoff { next: Duration::from_secs(1).min(max), max }
    }

    fn step(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(self.max);
        d
    }

    fn reset(&mut self) {
        self.next = Duration::from_secs(1).min(self.max);
    }
}

async fn run_sink(
    name: String,
    mut sink: Box<dyn Sink>,
    cfg: SinkPipeline,
    queue: Arc<SinkQueue>,
    counters: Arc<SinkCounters>,
    live: Arc<Liveness>,
) {
    let mut window = Throttle::new(cfg.interval, cfg.aggregate);
    let mut ready: VecDeque<Reading> = VecDeque::new();
    let mut backoff = Backoff::new(cfg.max_backoff);
    let mut retry_at: Option<Instant> = None;
    let mut failing = false;
    // Switched off after [`SinkError::Closed`]: what arrives is counted as dropped.
    let mut gone = false;
    // Set once shutdown has begun (the queue has a deadline).
    let mut stopping = false;
    loop {
        let arrived = queue.arrived.notified();
        // Pull only what one batch needs: the rest stays in the queue, so the queue alone
        // bounds memory, a full queue applies `on_full`, and replays feel back-pressure.
        let (closed, deadline) = {
            let mut st = queue.lock();
            let dropped = st.settle(&mut ready);
            let want = BATCH.saturating_sub(ready.len());
            let take = want.min(st.items.len());
            for r in st.items.drain(..take) {
                if let Some(out) = window.push(r) {
                    ready.push_back(out);
                }
            }
            // Closed and drained: close the last throttle windows too, before `held` is
            // taken, so that a sink cut off at the deadline counts them as dropped.
            let closed = st.closed && st.items.is_empty();
            if closed {
                ready.extend(window.finish());
            }
            st.held = ready.len();
            st.open_windows = window.open();
            if take > 0 || dropped {
                queue.room.notify_waiters();
            }
            (closed, st.deadline)
        };
        if deadline.is_some() && !stopping {
            // A sink waiting out a long backoff tries again at once, and then every
            // [`STOP_RETRY`] until the deadline: what it can deliver by then is not lost.
            stopping = true;
            retry_at = retry_at.map(|_| Instant::now());
        }
        if gone {
            let (left, shut) = {
                let mut st = queue.lock();
                (st.give_up(&mut ready) + window.give_up(), st.closed)
            };
            counters.dropped.fetch_add(left as u64, Ordering::Relaxed);
            queue.room.notify_waiters();
            if shut {
                return;
            }
            arrived.await;
            continue;
        }
        let now = Instant::now();
        let may_send = retry_at.is_none_or(|t| now >= t);
        if !ready.is_empty() && may_send {
            let n = ready.len().min(BATCH);
            let batch = &ready.make_contiguous()[..n];
            // Held readings that left without being dropped (delivered, or rejected and
            // counted so), and whether the sink came back with this delivery.
            let (mut left, mut recovered) = (0, false);
            let mut stalled = false;
            let result = {
                let delivery = async {
                    match sink.send(batch).await {
                        Ok(()) => sink.flush().await,
                        Err(e) => Err(e),
                    }
                };
                tokio::pin!(delivery);
                tokio::select! {
                    biased;
                    r = &mut delivery => r,
                    _ = tokio::time::sleep(STALL) => {
                        // Stuck (stdout into a pipe nobody reads): a replay stops waiting
                        // for this sink, so that the others go on.
                        stalled = true;
                        if !failing {
                            tracing::warn!(sink = %name, "Sink is stuck in a delivery; the other sinks go on without it.");
                            queue.failing.store(true, Ordering::Relaxed);
                            queue.room.notify_waiters();
                        }
                        delivery.await
                    }
                }
            };
            if stalled && !failing && !matches!(result, Err(SinkError::Retryable(_) | SinkError::Closed(_))) {
                queue.failing.store(false, Ordering::Relaxed);
                tracing::info!(sink = %name, "Sink is delivering again.");
            }
            match result {
                Ok(()) => {
                    ready.drain(..n);
                    counters.delivered.fetch_add(n as u64, Ordering::Relaxed);
                    left = n;
                    if failing {
                        recovered = true;
                        failing = false;
                        queue.failing.store(false, Ordering::Relaxed);
                    }
                    backoff.reset();
                    retry_at = None;
                }
                Err(SinkError::Retryable(e)) => {
                    counters.failed.fetch_add(1, Ordering::Relaxed);
                    let wait = backoff.step();
                    let wait = if stopping { wait.min(STOP_RETRY) } else { wait };
                    if !failing {
                        tracing::warn!(sink = %name, error = %e, "Sink delivery failed; keeping readings and retrying with backoff.");
                        failing = true;
                        queue.failing.store(true, Ordering::Relaxed);
                    } else {
                        tracing::debug!(sink = %name, error = %e, retry_in = ?wait, "Sink delivery failed again.");
                    }
                    retry_at = Some(Instant::now() + wait);
                }
                Err(SinkError::Fatal(e)) => {
                    ready.drain(..n);
                    // Nothing of that batch is left to retry: no wake-up is due for it.
                    retry_at = None;
                    counters.dropped.fetch_add(n as u64, Ordering::Relaxed);
                    left = n;
                    tracing::error!(sink = %name, error = %e, dropped = n, "Sink rejected readings for good; dropped them.");
                }
                Err(SinkError::Closed(e)) => {
                    tracing::error!(sink = %name, error = %e, "Sink's destination is gone; switched it off (the other sinks go on).");
                    gone = true;
                    counters.closed.store(true, Ordering::Relaxed);
                    queue.failing.store(true, Ordering::Relaxed);
                    live.gone();
                }
            }
            // Drops owed by readings that left anyway (delivered, or rejected and counted)
            // are called off; what is still held is recorded for the queue's bound; and a
            // replay waiting for room is woken, to find room or a sink now failing.
            let (off, pending) = {
                let mut st = queue.lock();
                let off = st.called_off(left);
                st.settle(&mut ready);
                (off, st.len())
            };
            counters.dropped.fetch_sub(off as u64, Ordering::Relaxed);
            queue.room.notify_waiters();
            if recovered {
                // The readings held through the outage went out with this delivery; `queued`
                // are those still waiting behind them.
                tracing::info!(sink = %name, delivered = left, queued = pending, "Sink recovered; the readings it held are delivered.");
            }
            continue;
        }
        if closed && ready.is_empty() {
            if let Err(e) = sink.close().await {
                tracing::error!(sink = %name, error = %e, "Final flush failed.");
            }
            return;
        }
        // The deadline is set at shutdown; past it, what is held or still queued is given up
        // (waiting on would spin: the wake-up below is already due).
        if deadline.is_some_and(|d| Instant::now() >= d) {
            let undelivered = queue.lock().give_up(&mut ready) + window.give_up();
            counters.dropped.fetch_add(undelivered as u64, Ordering::Relaxed);
            tracing::error!(sink = %name, undelivered, "Shutdown timeout reached; readings not delivered.");
            // What the sink took before is still flushed (a CSV file's last sync), within
            // the second that shutdown grants past its deadline.
            if let Ok(Err(e)) = tokio::time::timeout(Duration::from_millis(500), sink.close()).await {
                tracing::error!(sink = %name, error = %e, "Final flush failed.");
            }
            return;
        }
        let wake = match (retry_at, deadline) {
            (Some(r), Some(d)) => Some(r.min(d)),
            (r, d) => r.or(d),
        };
        match wake {
            Some(at) => {
                tokio::select! {
                    _ = arrived => {}
                    _ = tokio::time::sleep_until(at) => {}
                }
            }
            None => arrived.await,
        }
    }
}
