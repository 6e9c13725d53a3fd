//! One rule, for the tcp and serial sources alike, on what a link that drops is told in the
//! log and how long it waits: an outage is warned of once when it starts and told once when
//! telegrams come back, a link that flaps is warned of once a minute, and only telegrams
//! reset the delay before the next attempt.

use std::time::Duration;

use tokio::time::Instant;

/// How long after a warning of a lost link the next loss is only counted, when the link
/// came back in between.
const FLAP_WINDOW: Duration = Duration::from_secs(60);

/// Logs at `level` with the source and the link's place under its kind's field name
/// (`address=` or `path=`), then the given fields and message.
macro_rules! at_place {
    ($level:ident, $link:expr, $($rest:tt)*) => {
        match $link.kind {
            LinkKind::Tcp => tracing::$level!(source = %$link.source, address = %$link.place, $($rest)*),
            LinkKind::Serial => tracing::$level!(source = %$link.source, path = %$link.place, $($rest)*),
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

/// What [`Link::lost`] told the log: the test of the rule, without reading the log.
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
    ever_open: bool,
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
            ever_open: false,
        }
    }

    /// The wait before the next attempt; each call doubles the next one, up to the cap.
    fn next_delay(&mut self) -> Duration {
        let d = self.delay;
        self.delay = (self.delay * 2).min(self.max_delay);
        d
    }

    /// An attempt to connect or open failed: the outage is warned of when it starts.
    /// Returns how long to wait before the next attempt.
    pub fn open_failed(&mut self, error: &str) -> Duration {
        self.attempts += 1;
        if !self.outage_logged {
            let what = self.words().cannot;
            at_place!(warn, self, error, "{what}; retrying with backoff.");
            self.outage_logged = true;
        }
        self.next_delay()
    }

    /// Connected or opened. True when it is a reopen (not the first): the caller then
    /// drops what the last link left half-read. The first open is the caller's to log,
    /// with its settings; a reopen is told at debug level, and at info level only once
    /// telegrams come ([`Link::telegrams_arrive`]).
    pub fn opened(&mut self) -> bool {
        let again = self.ever_open;
        self.ever_open = true;
        if again {
            let what = self.words().opened;
            at_place!(debug, self, attempts = self.attempts, "{what}.");
        }
        again
    }

    /// Telegrams arrive on this link: it works. Resets the delay, and ends an outage
    /// warned of with one line.
    pub fn telegrams_arrive(&mut self) {
        self.delay = self.first_delay;
        if self.outage_logged {
            let what = self.words().opened;
            at_place!(info, self, attempts = self.attempts, "{what}; telegrams arrive again.");
            self.outage_logged = false;
        }
        self.attempts = 0;
    }

    /// The link was lost (`brought_telegrams`: telegrams had come on it). A loss is warned
    /// of, unless it falls in an outage already warned of, or the link flaps: it brought
    /// telegrams and a loss was warned of within the last minute. Those are counted and
    /// said with the next warning (`also_lost=`). Returns what was told and how long to
    /// wait before the next attempt.
    pub fn lost(&mut self, reason: &str, brought_telegrams: bool) -> (Told, Duration) {
        self.attempts += 1;
        let flapping = brought_telegrams && self.last_warning.is_some_and(|t| t.elapsed() < FLAP_WINDOW);
        let told = if self.outage_logged || flapping {
            self.quiet_losses += u32::from(!self.outage_logged);
            let what = self.words().link;
            at_place!(debug, self, reason, "{what} lost again.");
            Told::Quiet
        } else {
            let also_lost = self.quiet_losses;
            let Words { link, again, .. } = self.words();
            if also_lost > 0 {
                at_place!(
                    warn,
                    self,
                    reason,
                    also_lost,
                    "{link} lost; {again} (also lost that many times since the last warning, each time back at once)."
                );
            } else {
                at_place!(warn, self, reason, "{link} lost; {again}.");
            }
            (self.last_warning, self.quiet_losses, self.outage_logged) = (Some(Instant::now()), 0, true);
            Told::Warned { also_lost }
        };
        (told, self.next_delay())
    }

    fn words(&self) -> Words {
        match self.kind {
            LinkKind::Tcp => {
                Words { link: "Connection", again: "reconnecting", opened: "Connected", cannot: "Cannot connect" }
            }
            LinkKind::Serial => Words {
                link: "Serial port",
                again: "reopening",
                opened: "Serial port open",
                cannot: "Cannot open the serial port",
            },
        }
    }
}

/// The words a kind of link is told with.
struct Words {
    link: &'static str,
    again: &'static str,
    opened: &'static str,
    cannot: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp() -> Link {
        Link::new(LinkKind::Tcp, "meter", "127.0.0.1:2001", Duration::from_millis(250), Duration::from_secs(4))
    }

    /// One connection: opened, `telegrams` or not, then lost; what the loss told.
    fn session(link: &mut Link, telegrams: bool) -> (Told, Duration) {
        link.opened();
        if telegrams {
            link.telegrams_arrive();
        }
        link.lost("the peer closed the connection", telegrams)
    }

    #[test]
    fn attempts_that_fail_wait_longer_each_time_up_to_the_cap() {
        let mut link = tcp();
        let waits: Vec<u64> = (0..7).map(|_| link.open_failed("refused").as_millis() as u64).collect();
        assert_eq!(waits, [250, 500, 1000, 2000, 4000, 4000, 4000]);
        // Telegrams reset the delay; a connection without them does not.
        assert_eq!(session(&mut link, false).1, Duration::from_secs(4));
        assert_eq!(session(&mut link, true).1, Duration::from_millis(250));
        assert_eq!(session(&mut link, false).1, Duration::from_millis(500));
    }

    #[tokio::test(start_paused = true)]
    async fn a_link_that_flaps_is_warned_of_once_a_minute_with_the_count_since() {
        let mut link = tcp();
        assert!(!link.opened(), "the first open is no reopen");
        link.telegrams_arrive();
        assert_eq!(link.lost("reset", true).0, Told::Warned { also_lost: 0 });
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

    #[tokio::test(start_paused = true)]
    async fn an_outage_right_after_a_flap_is_warned_of_at_once_and_only_once() {
        let mut link = tcp();
        link.opened();
        link.telegrams_arrive();
        assert_eq!(link.lost("reset", true).0, Told::Warned { also_lost: 0 });
        assert_eq!(session(&mut link, true).0, Told::Quiet);
        // Back, but without telegrams (a banner, then hung up): not a flap, an outage.
        assert_eq!(session(&mut link, false).0, Told::Warned { also_lost: 1 });
        // Within that outage, neither failed attempts nor empty connections warn again.
        link.open_failed("refused");
        assert_eq!(session(&mut link, false).0, Told::Quiet);
        assert!(link.outage_logged);
        // Telegrams end it.
        link.opened();
        link.telegrams_arrive();
        assert!(!link.outage_logged);
        assert_eq!(link.attempts, 0);
    }

    #[test]
    fn a_port_that_never_opened_is_warned_of_once() {
        let mut link =
            Link::new(LinkKind::Serial, "meter", "/dev/ttyUSB0", Duration::from_millis(500), Duration::from_secs(30));
        link.open_failed("No such file or directory");
        assert!(link.outage_logged);
        for _ in 0..20 {
            link.open_failed("No such file or directory");
        }
        assert_eq!(link.attempts, 21);
        assert!(!link.opened(), "its first open is no reopen");
        link.telegrams_arrive();
        assert!(!link.outage_logged);
    }
}
