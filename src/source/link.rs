//! One rule, for the tcp and serial sources alike, on how a link is read and what a link
//! that drops is told in the log and how long it waits: an outage is warned of once when it
//! starts and told once when telegrams come back, a link that flaps is warned of once a
//! minute, and only telegrams reset the delay before the next attempt.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::time::Instant;

use super::{Ingest, Shutdown, sleep_or_stop, stopped};

/// How long after a warning of a lost link the next loss is only counted, when the link
/// came back in between.
const FLAP_WINDOW: Duration = Duration::from_secs(60);

/// How long attempts may fail, within [`FLAP_WINDOW`], before the failures are warned of:
/// a USB adapter that is replugged is gone for a second or two, a restarted ser2net too.
const FLAP_GRACE: Duration = Duration::from_secs(10);

/// Logs at `level` under the source's module (as it did before this rule was shared), with
/// the source and the link's place under its kind's field name (`address=` or `path=`),
/// then the given fields and message.
macro_rules! at_place {
    ($level:ident, $link:expr, $($rest:tt)*) => {
        match $link.kind {
            LinkKind::Tcp => tracing::$level!(target: "dsmrd::source::tcp",
                source = %$link.source, address = %$link.place, $($rest)*),
            LinkKind::Serial => tracing::$level!(target: "dsmrd::source::serial",
                source = %$link.source, path = %$link.place, $($rest)*),
        }
    };
}

/// What kind of link, for the words of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// A TCP connection (ser2net, a network dongle); its place is `address=`.
    Tcp,
    /// A serial port; its place is `path=`.
    Serial,
}

/// How a link was lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loss {
    /// Closed or failed; `brought_telegrams`: telegrams had come on it.
    Dropped { brought_telegrams: bool },
    /// No data for the read timeout: never a flap (it lasted the whole timeout), and
    /// reopened after the first delay, as the timeout already spaces the attempts.
    Silent,
}

/// What [`Link`] told the log of a loss or a failed attempt: the test of the rule, without
/// reading the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Told {
    /// A warning; `also_lost` losses were only counted since the last one.
    Warned { also_lost: u32 },
    /// At debug level only: within an outage already warned of, or a flap.
    Quiet,
}

/// The state of one source's link across its losses and attempts.
#[derive(Debug)]
pub struct Link {
    kind: LinkKind,
    /// The source's name and the link's place (address or path), for the log.
    source: String,
    place: String,
    first_delay: Duration,
    max_delay: Duration,
    delay: Duration,
    /// An outage (no link, or links that bring no telegram: a peer that answers and hangs
    /// up, a port that opens and stays silent) was warned of and has not ended.
    outage_logged: bool,
    last_warning: Option<Instant>,
    quiet_losses: u32,
    /// Attempts since telegrams last came.
    attempts: u32,
    /// When the attempts that are failing now began to fail.
    failing_since: Option<Instant>,
    ever_open: bool,
    /// A telegram came on some link since the start.
    ever_telegram: bool,
}

impl Link {
    pub fn new(kind: LinkKind, source: &str, place: &str, first_delay: Duration, max_delay: Duration) -> Link {
        Link {
            kind,
            source: source.to_string(),
            place: place.to_string(),
            first_delay,
            max_delay,
            delay: first_delay,
            outage_logged: false,
            last_warning: None,
            quiet_losses: 0,
            attempts: 0,
            failing_since: None,
            ever_open: false,
            ever_telegram: false,
        }
    }

    /// The wait before the next attempt; each call doubles the next one, up to the cap.
    fn next_delay(&mut self) -> Duration {
        let d = self.delay;
        self.delay = (self.delay * 2).min(self.max_delay);
        d
    }

    /// A warning of a loss or of failing attempts was given lately: a link that comes back
    /// and is lost again within the window flaps.
    fn warned_lately(&self) -> bool {
        self.last_warning.is_some_and(|t| t.elapsed() < FLAP_WINDOW)
    }

    /// An attempt to connect or open failed. The outage is warned of when it starts; in a
    /// flap (a loss warned of lately, and telegrams since), only once the attempts have
    /// failed for [`FLAP_GRACE`], whose end is then the latest next attempt. Returns what was
    /// told and how long to wait before the next attempt.
    pub fn open_failed(&mut self, error: &str) -> (Told, Duration) {
        self.attempts += 1;
        let failing_for = self.failing_since.get_or_insert_with(Instant::now).elapsed();
        let what = self.words().cannot;
        let in_grace = !self.outage_logged && self.warned_lately() && failing_for < FLAP_GRACE;
        if self.outage_logged || in_grace {
            at_place!(debug, self, error = %error, "{what}.");
            let delay = self.next_delay();
            // Within a flap's grace, the next attempt falls on its end at the latest.
            return (Told::Quiet, if in_grace { delay.min(FLAP_GRACE - failing_for) } else { delay });
        }
        // The last loss, counted as a flap, turned out to start this outage.
        self.quiet_losses = self.quiet_losses.saturating_sub(1);
        let also_lost = self.warn_outage(&format!("{what}; retrying with backoff"), Cause::Error(error));
        (Told::Warned { also_lost }, self.next_delay())
    }

    /// Warns that an outage starts, with `message`, its cause, and the losses counted
    /// quietly since the last warning, which it resets. Returns that count.
    fn warn_outage(&mut self, message: &str, cause: Cause<'_>) -> u32 {
        let also_lost = self.quiet_losses;
        let since = if also_lost > 0 {
            " (also lost that many times since the last warning, each time back at once)"
        } else {
            ""
        };
        let also_lost_field = (also_lost > 0).then_some(also_lost);
        match cause {
            Cause::Error(error) => {
                at_place!(warn, self, error = %error, also_lost = also_lost_field, "{message}{since}.")
            }
            Cause::Reason(reason) => {
                at_place!(warn, self, reason = %reason, also_lost = also_lost_field, "{message}{since}.")
            }
        }
        (self.last_warning, self.quiet_losses, self.outage_logged) = (Some(Instant::now()), 0, true);
        also_lost
    }

    /// Connected or opened. On a reopen, `ingest` drops what the last link left half-read,
    /// and the reopen is told at debug level (at info level only once telegrams come,
    /// [`Link::telegrams_arrive`]). True on the first open, which the caller logs with its
    /// settings.
    pub fn opened(&mut self, ingest: &mut Ingest) -> bool {
        let first = !self.ever_open;
        self.ever_open = true;
        self.failing_since = None;
        if !first {
            ingest.reconnected();
            let what = self.words().opened;
            at_place!(debug, self, attempts = self.attempts, "{what}.");
        }
        first
    }

    /// Telegrams arrive on this link: it works. Resets the delay, and ends an outage
    /// warned of with one line.
    pub fn telegrams_arrive(&mut self) {
        self.delay = self.first_delay;
        self.ever_telegram = true;
        if self.outage_logged {
            let what = self.words().opened;
            at_place!(info, self, attempts = self.attempts, "{what}; telegrams arrive again.");
            self.outage_logged = false;
        }
        self.attempts = 0;
    }

    /// The link was lost. A loss is warned of, unless it falls in an outage already warned
    /// of, or the link flaps: it was dropped after it brought telegrams, within a minute of
    /// the last warning. Those are counted and said with the next warning (`also_lost=`).
    /// Returns what was told and how long to wait before the next attempt.
    pub fn lost(&mut self, reason: &str, loss: Loss) -> (Told, Duration) {
        self.attempts += 1;
        let flapping = loss == (Loss::Dropped { brought_telegrams: true }) && self.warned_lately();
        let told = if self.outage_logged || flapping {
            self.quiet_losses += u32::from(!self.outage_logged);
            let what = self.words().link;
            at_place!(debug, self, reason = %reason, "{what} lost again.");
            Told::Quiet
        } else {
            let Words { link, again, .. } = self.words();
            Told::Warned { also_lost: self.warn_outage(&format!("{link} lost; {again}"), Cause::Reason(reason)) }
        };
        let delay = if loss == Loss::Silent { self.first_delay } else { self.next_delay() };
        (told, delay)
    }

    fn words(&self) -> Words {
        match self.kind {
            LinkKind::Tcp => Words {
                link: "Connection",
                again: "reconnecting",
                opened: "Connected",
                cannot: "Cannot connect",
                closed: "the peer closed the connection",
                silent_hint: "",
            },
            LinkKind::Serial => Words {
                link: "Serial port",
                again: "reopening",
                opened: "Serial port open",
                cannot: "Cannot open the serial port",
                closed: "the port was closed",
                silent_hint: "; is the cable in the meter's P1 port?",
            },
        }
    }
}

/// Why an outage starts, under the field name the log has always given it.
enum Cause<'a> {
    /// An attempt to open failed: `error=`.
    Error(&'a str),
    /// The link was lost: `reason=`.
    Reason(&'a str),
}

/// The words a kind of link is told with.
struct Words {
    link: &'static str,
    again: &'static str,
    opened: &'static str,
    cannot: &'static str,
    /// Why a read of nothing (end of file) ended it.
    closed: &'static str,
    /// Said with a silence on a link that never brought a telegram.
    silent_hint: &'static str,
}

/// Reads an open link into `ingest` until it is lost or the service stops; a silence of
/// `read_timeout` counts as lost. At a loss, the link is closed, what the loss cut off is
/// read, the loss told, and the delay waited. False when the service stopped.
pub async fn read_until_lost<R: AsyncRead + Unpin>(
    mut reader: R,
    read_timeout: Duration,
    link: &mut Link,
    ingest: &mut Ingest,
    shutdown: &mut Shutdown,
) -> bool {
    let mut buf = vec![0u8; 16 * 1024];
    let (reason, loss) = loop {
        let read = tokio::select! {
            r = tokio::time::timeout(read_timeout, reader.read(&mut buf)) => r,
            _ = stopped(shutdown) => {
                ingest.stop_reading(shutdown).await;
                return false;
            }
        };
        let brought_telegrams = ingest.telegram_since_connect();
        match read {
            Ok(Ok(0)) => break (link.words().closed.to_string(), Loss::Dropped { brought_telegrams }),
            Ok(Ok(n)) => {
                ingest.feed(&buf[..n]).await;
                // Only telegrams prove the link: a banner alone does not.
                if ingest.telegram_since_connect() {
                    link.telegrams_arrive();
                }
            }
            Ok(Err(e)) => break (e.to_string(), Loss::Dropped { brought_telegrams }),
            Err(_) => {
                let hint = if link.ever_telegram { "" } else { link.words().silent_hint };
                break (format!("no data for {read_timeout:?}{hint}"), Loss::Silent);
            }
        }
    };
    // Closed before the wait: another program (or the same adapter, replugged) can have it.
    drop(reader);
    // A telegram whose line end the loss took is still read, and proves the link as well
    // as one read before (a peer that sends one telegram to its `!CRC` and hangs up).
    let before = ingest.telegram_since_connect();
    ingest.lost().await;
    let mut loss = loss;
    if !before && ingest.telegram_since_connect() {
        link.telegrams_arrive();
        if let Loss::Dropped { brought_telegrams } = &mut loss {
            *brought_telegrams = true;
        }
    }
    let (_, delay) = link.lost(&reason, loss);
    sleep_or_stop(delay, shutdown).await
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::task::{Context, Poll};

    use tokio::io::ReadBuf;

    use super::*;
    use crate::config::DecodeSettings;

    /// An ingest into no sink: the rule only calls its reconnect and loss hooks.
    fn ingest() -> Ingest {
        let (fanout, _) = crate::pipeline::start(Vec::new());
        Ingest::new("meter", &DecodeSettings::default(), fanout, false, Arc::default())
    }

    fn tcp() -> Link {
        Link::new(LinkKind::Tcp, "meter", "127.0.0.1:2001", Duration::from_millis(250), Duration::from_secs(4))
    }

    /// One connection: opened, `telegrams` or not, then dropped; what the loss told.
    fn session(link: &mut Link, telegrams: bool) -> (Told, Duration) {
        link.opened(&mut ingest());
        if telegrams {
            link.telegrams_arrive();
        }
        link.lost("the peer closed the connection", Loss::Dropped { brought_telegrams: telegrams })
    }

    #[tokio::test(start_paused = true)]
    async fn attempts_that_fail_wait_longer_each_time_up_to_the_cap() {
        let mut link = tcp();
        let waits: Vec<u64> = (0..7).map(|_| link.open_failed("refused").1.as_millis() as u64).collect();
        assert_eq!(waits, [250, 500, 1000, 2000, 4000, 4000, 4000]);
        // Each failed attempt is counted, for the comeback's `attempts=`.
        assert_eq!(link.attempts, 7);
        // Telegrams reset the delay; a connection without them does not.
        assert_eq!(session(&mut link, false).1, Duration::from_secs(4));
        assert_eq!(session(&mut link, true).1, Duration::from_millis(250));
        assert_eq!(session(&mut link, false).1, Duration::from_millis(500));
        // A silence is followed by the first delay, and leaves the next one as it was.
        assert_eq!(link.lost("no data for 60s", Loss::Silent).1, Duration::from_millis(250));
        assert_eq!(session(&mut link, false).1, Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_link_that_flaps_is_warned_of_once_a_minute_with_the_count_since() {
        let mut link = tcp();
        assert!(link.opened(&mut ingest()), "the first open");
        link.telegrams_arrive();
        assert_eq!(link.lost("reset", Loss::Dropped { brought_telegrams: true }).0, Told::Warned { also_lost: 0 });
        for _ in 0..10 {
            tokio::time::advance(Duration::from_secs(5)).await;
            assert_eq!(session(&mut link, true).0, Told::Quiet);
        }
        tokio::time::advance(Duration::from_secs(11)).await;
        assert_eq!(session(&mut link, true).0, Told::Warned { also_lost: 10 });
        // The count starts again after each warning.
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(session(&mut link, true).0, Told::Quiet);
        tokio::time::advance(Duration::from_secs(60)).await;
        assert_eq!(session(&mut link, true).0, Told::Warned { also_lost: 1 });
    }

    /// A flap in which the link is gone for a moment each time (a USB adapter replugged,
    /// ser2net restarted): failed attempts are quiet for `FLAP_GRACE`, and an attempt falls
    /// on its end, which warns of the outage with the flaps before it (not the loss that
    /// began it).
    #[tokio::test(start_paused = true)]
    async fn failed_attempts_within_a_flap_are_warned_of_when_the_grace_ends() {
        let mut link = tcp();
        assert_eq!(session(&mut link, true).0, Told::Warned { also_lost: 0 });
        for _ in 0..3 {
            tokio::time::advance(Duration::from_secs(1)).await;
            assert_eq!(link.open_failed("refused").0, Told::Quiet);
            tokio::time::advance(Duration::from_secs(1)).await;
            assert_eq!(session(&mut link, true).0, Told::Quiet);
        }
        // Now gone for good: the attempts back off, the last wait cut to the grace's end.
        let start = Instant::now();
        let mut waits = Vec::new();
        let warned = loop {
            match link.open_failed("refused") {
                (Told::Quiet, wait) => {
                    waits.push(wait.as_millis());
                    tokio::time::advance(wait).await;
                }
                (told, _) => break told,
            }
        };
        assert_eq!(waits, [500, 1000, 2000, 4000, 2500]);
        assert_eq!(start.elapsed(), FLAP_GRACE);
        // Three losses were counted; the third began this outage, so two were back at once.
        assert_eq!(warned, Told::Warned { also_lost: 2 });
        assert_eq!(link.open_failed("refused").0, Told::Quiet);
        // Back: a loss long after the last warning is warned of at once.
        link.opened(&mut ingest());
        link.telegrams_arrive();
        tokio::time::advance(FLAP_WINDOW).await;
        assert_eq!(link.lost("reset", Loss::Dropped { brought_telegrams: true }).0, Told::Warned { also_lost: 0 });
    }

    #[tokio::test(start_paused = true)]
    async fn an_outage_right_after_a_flap_is_warned_of_at_once_and_only_once() {
        let mut link = tcp();
        assert_eq!(session(&mut link, true).0, Told::Warned { also_lost: 0 });
        assert_eq!(session(&mut link, true).0, Told::Quiet);
        // Back, but without telegrams (a banner, then hung up): not a flap, an outage.
        assert_eq!(session(&mut link, false).0, Told::Warned { also_lost: 1 });
        // Within that outage, neither failed attempts nor empty connections warn again,
        // nor are they counted for the next warning.
        assert_eq!(link.open_failed("refused").0, Told::Quiet);
        for _ in 0..3 {
            assert_eq!(session(&mut link, false).0, Told::Quiet);
        }
        // Telegrams end it.
        link.opened(&mut ingest());
        link.telegrams_arrive();
        assert!(!link.outage_logged);
        assert_eq!(link.attempts, 0);
        tokio::time::advance(FLAP_WINDOW).await;
        assert_eq!(link.lost("reset", Loss::Dropped { brought_telegrams: true }).0, Told::Warned { also_lost: 0 });
    }

    /// A silence lasted the whole read timeout: it is an outage, warned of at once, even
    /// right after a warning of a flap.
    #[tokio::test(start_paused = true)]
    async fn a_silence_is_never_taken_for_a_flap() {
        let mut link = tcp();
        assert_eq!(session(&mut link, true).0, Told::Warned { also_lost: 0 });
        link.opened(&mut ingest());
        link.telegrams_arrive();
        tokio::time::advance(Duration::from_secs(3)).await;
        assert_eq!(link.lost("no data for 3s", Loss::Silent).0, Told::Warned { also_lost: 0 });
        assert_eq!(link.lost("no data for 3s", Loss::Silent).0, Told::Quiet);
    }

    #[tokio::test(start_paused = true)]
    async fn a_port_that_never_opened_is_warned_of_once() {
        let mut link =
            Link::new(LinkKind::Serial, "meter", "/dev/ttyUSB0", Duration::from_millis(500), Duration::from_secs(30));
        let told: Vec<Told> = (0..21).map(|_| link.open_failed("No such file or directory").0).collect();
        assert_eq!(told[0], Told::Warned { also_lost: 0 });
        assert!(told[1..].iter().all(|t| *t == Told::Quiet), "{told:?}");
        assert!(link.opened(&mut ingest()), "its first open");
        link.telegrams_arrive();
        assert!(!link.outage_logged);
    }

    /// A link that ends at once (read of nothing), and says when it was closed.
    struct Ends(Arc<AtomicBool>);

    impl AsyncRead for Ends {
        fn poll_read(self: Pin<&mut Self>, _: &mut Context<'_>, _: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    impl Drop for Ends {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    /// The link is closed before the wait, not after: the port is free meanwhile.
    #[tokio::test(start_paused = true)]
    async fn a_lost_link_is_closed_before_the_wait() {
        let closed = Arc::new(AtomicBool::new(false));
        let (_stop, mut shutdown) = tokio::sync::watch::channel(false);
        let handle = tokio::spawn({
            let closed = closed.clone();
            async move {
                let mut link = tcp();
                let mut ingest = ingest();
                read_until_lost(Ends(closed), Duration::from_secs(60), &mut link, &mut ingest, &mut shutdown).await
            }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!handle.is_finished(), "still in its 250 ms wait");
        assert!(closed.load(Ordering::SeqCst), "closed during the wait");
        assert!(handle.await.expect("task"), "not stopped");
    }
}
