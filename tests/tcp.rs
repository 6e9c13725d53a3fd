//! The TCP source against a real socket that drops mid-telegram, goes silent, and comes
//! back: every complete telegram sent while connected must arrive.

mod common;

use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::time::Duration;

use common::*;
use dsmrd::frame::{Event, Frame, Framer};

/// The first `n` telegrams of the Iskra capture, as sent (from `/` through the CRC line).
fn telegrams(n: usize) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(recording("Iskra-AM550-M550T-1012-recording_dsmr5.0_dsmrtools.txt")).expect("recording");
    let mut framer = Framer::default();
    let mut out = Vec::new();
    let mut rest = &bytes[..];
    while !rest.is_empty() && out.len() < n {
        let (used, ev) = framer.feed(rest);
        rest = &rest[used..];
        if let Some(Event::Frame(Frame::Plain { bytes, .. })) = ev {
            let mut t = bytes.to_vec();
            t.extend_from_slice(b"\r\n");
            out.push(t);
        }
    }
    out
}

/// [`run_tcp_to_csv`] with `max_backoff = "1s"` until `rows` rows are in the CSV, then
/// stopped, which must end it cleanly: the CSV's times and the log.
fn rows_and_log(addr: std::net::SocketAddr, rows: usize) -> (Vec<String>, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (csv, log, mut proc) = run_tcp_to_csv(dir.path(), addr, "max_backoff = \"1s\"\n");
    let complete = wait_for(Duration::from_secs(30), || csv_column(&csv, "time").len() >= rows);
    let status = proc.terminate(Duration::from_secs(10));
    let logs = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(complete && status.is_some_and(|s| s.success()), "{status:?}\n{logs}");
    (csv_column(&csv, "time"), logs)
}

/// `dsmrd run` with a TCP source on `addr` (and `source_extra` keys) and a CSV sink, its
/// files in `dir`, logging at debug level (every loss, not only those warned of): (the
/// CSV, the log, the process).
fn run_tcp_to_csv(dir: &std::path::Path, addr: std::net::SocketAddr, source_extra: &str) -> (PathBuf, PathBuf, Proc) {
    let csv = dir.join("tcp.csv");
    let config = dir.join("dsmrd.toml");
    let text = format!(
        "[sources.meter]\ntype = \"tcp\"\naddress = \"{addr}\"\n{source_extra}\n[sinks.file]\ntype = \"csv\"\npath = {csv:?}\n"
    );
    std::fs::write(&config, text).expect("config");
    let log = dir.join("dsmrd.log");
    let proc = dsmrd(&["run", "--log-level", "debug", "--config", config.to_str().expect("utf-8")], Some(&log));
    (csv, log, proc)
}

/// Where a test server cuts a telegram off.
enum Cut {
    Half,
    AfterBang,
    LineEnd,
}

#[test]
fn tcp_source_reconnects_and_loses_no_complete_telegram() {
    let t = telegrams(12);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    // (complete telegrams, then this one cut short, then how the connection ends)
    type Connection = (Vec<usize>, Option<(usize, Cut)>, &'static str);
    let plan: Vec<Connection> = vec![
        (vec![0, 1], Some((2, Cut::Half)), "close"),
        // Cut right after its `!`: not read (a CRC cut off could pass as none), and sent
        // again whole on the next connection.
        (vec![2, 3, 4], Some((5, Cut::AfterBang)), "close"),
        // Only its CR LF missing: read when the connection is lost.
        (vec![5, 6, 7, 8], Some((9, Cut::LineEnd)), "close"),
        (vec![10], None, "silent"),
        (vec![11], None, "hold"),
    ];
    let server = std::thread::spawn(move || {
        let mut held = Vec::new();
        for (i, (full, half, end)) in plan.into_iter().enumerate() {
            let (mut s, _) = listener.accept().expect("accept");
            if i == 1 {
                // What a ser2net v4 banner looks like; it even contains a `/`.
                let _ =
                    s.write_all(b"\r\nser2net port 2001 device /dev/ttyUSB0 [115200N81] (Debian GNU/Linux)\r\n\r\n");
            }
            for k in full {
                let _ = s.write_all(&t[k]);
                std::thread::sleep(Duration::from_millis(30));
            }
            if let Some((k, cut)) = half {
                let keep = match cut {
                    Cut::Half => t[k].len() / 2,
                    Cut::AfterBang => t[k].len() - "XXXX\r\n".len(),
                    Cut::LineEnd => t[k].len() - 2,
                };
                let _ = s.write_all(&t[k][..keep]);
                std::thread::sleep(Duration::from_millis(30));
            }
            match end {
                "close" => drop(s),
                "silent" => {
                    // Stay connected but send nothing: the client must notice by itself
                    // and connect again, which the next accept serves.
                    held.push(s);
                }
                _ => {
                    held.push(s);
                    std::thread::sleep(Duration::from_secs(30));
                }
            }
        }
    });

    let dir = tempfile::tempdir().expect("tempdir");
    let (csv, log, mut proc) = run_tcp_to_csv(dir.path(), addr, "read_timeout = \"1s\"\nmax_backoff = \"1s\"\n");
    let complete = wait_for(Duration::from_secs(30), || csv_column(&csv, "time").len() >= 12);
    let status = proc.terminate(Duration::from_secs(10));
    let logs = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(complete, "not all telegrams arrived; rows: {:?}\nlog:\n{logs}", csv_column(&csv, "time"));
    assert!(status.is_some_and(|s| s.success()), "dsmrd did not exit cleanly on SIGTERM: {status:?}\n{logs}");

    let times = csv_column(&csv, "time");
    assert_eq!(times.len(), 12, "{times:?}");
    assert!(times.windows(2).all(|w| w[0] < w[1]), "in order, no duplicates: {times:?}");
    assert_eq!(times[0], "2019-03-24T14:05:19Z");
    // Detected, warned of under the source's own target, the reason unquoted.
    let silence = logs.lines().find(|l| l.contains(" reason=no data for 1s")).unwrap_or_default();
    assert!(silence.contains("WARN dsmrd::source::tcp: Connection lost; reconnecting"), "{logs}");
    assert!(logs.matches("Connection lost").count() >= 4, "{logs}");
    assert!(!logs.contains("Telegram rejected"), "cut-off telegrams after a reconnect are not errors:\n{logs}");
    assert!(logs.contains("crc_failures=0"), "{logs}");
    drop(server);
}

/// A burst of bad telegrams: five are logged one by one, and the rest are summed up, here
/// when the source stops (before, the sum waited for a rejection in a later minute).
#[test]
fn rejections_held_back_are_summed_up_when_the_source_stops() {
    let t = telegrams(3);
    let bad: Vec<u8> = {
        let text = String::from_utf8(t[1].clone()).expect("text");
        text.replacen("1-0:1.8.1(00", "1-0:1.8.1(99", 1).into_bytes()
    };
    assert_ne!(bad, t[1]);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        let _ = s.write_all(&t[0]);
        for _ in 0..20 {
            let _ = s.write_all(&bad);
        }
        let _ = s.write_all(&t[2]);
        std::thread::sleep(Duration::from_secs(20));
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let (csv, log, mut proc) = run_tcp_to_csv(dir.path(), addr, "");
    assert!(wait_for(Duration::from_secs(30), || csv_column(&csv, "time").len() >= 2));
    let status = proc.terminate(Duration::from_secs(10));
    let logs = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(status.is_some_and(|s| s.success()), "{logs}");
    assert_eq!(logs.matches("Telegram rejected: CRC mismatch").count(), 5, "{logs}");
    assert!(logs.contains("15 more telegrams rejected"), "{logs}");
    drop(server);
}

/// A link that flaps (each connection brings a telegram and is lost again) is warned of
/// once a minute, not twice per reconnect; every telegram still arrives.
#[test]
fn a_flapping_link_is_warned_of_once_a_minute() {
    let t = telegrams(12);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = std::thread::spawn(move || {
        for (i, telegram) in t.iter().enumerate() {
            let (mut s, _) = listener.accept().expect("accept");
            let _ = s.write_all(telegram);
            if i + 1 < t.len() {
                // Cut off in the next telegram, as a link that drops does.
                let _ = s.write_all(&telegram[..telegram.len() / 3]);
                std::thread::sleep(Duration::from_millis(30));
            } else {
                // The last connection stays open until dsmrd stops.
                std::thread::sleep(Duration::from_secs(20));
            }
        }
    });
    let (rows, logs) = rows_and_log(addr, 12);
    assert_eq!(rows.len(), 12);
    assert!(logs.contains("reconnects=11"), "{logs}");
    assert_eq!(logs.matches("Connection lost; reconnecting").count(), 1, "{logs}");
    assert_eq!(logs.matches("Connection lost again").count(), 10, "{logs}");
    assert_eq!(logs.matches("telegrams arrive again").count(), 1, "{logs}");
    drop(server);
}

/// A telegram that the close completes (sent to its `!CRC`, without the line end, then the
/// peer hangs up) proves the link as one read before the close does: the recovery is told,
/// and the losses count as a flap, not as an outage.
#[test]
fn a_telegram_completed_by_the_close_proves_the_link() {
    let t = telegrams(5);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = std::thread::spawn(move || {
        for telegram in &t {
            let (mut s, _) = listener.accept().expect("accept");
            let _ = s.write_all(&telegram[..telegram.len() - 2]);
            std::thread::sleep(Duration::from_millis(30));
        }
        // Kept until dsmrd stops: it finds no server then.
        std::thread::sleep(Duration::from_secs(20));
    });
    let (rows, logs) = rows_and_log(addr, 5);
    assert_eq!(rows.len(), 5);
    assert_eq!(logs.matches("Connection lost; reconnecting").count(), 1, "{logs}");
    assert_eq!(logs.matches("telegrams arrive again").count(), 1, "{logs}");
    drop(server);
}

/// After a flap, connections that bring no telegram (ser2net whose device is missing) are
/// an outage, warned of at once, not counted as more flaps.
#[test]
fn an_outage_right_after_a_flap_is_still_warned_of() {
    let t = telegrams(3);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = std::thread::spawn(move || {
        // Two connections that each bring a telegram and drop.
        for telegram in &t[..2] {
            let (mut s, _) = listener.accept().expect("accept");
            let _ = s.write_all(telegram);
            std::thread::sleep(Duration::from_millis(30));
        }
        // Three that answer with a banner only.
        for _ in 0..3 {
            let (mut s, _) = listener.accept().expect("accept");
            let _ = s.write_all(b"\r\nser2net port 2001 device /dev/ttyUSB0 not available\r\n");
        }
        let (mut s, _) = listener.accept().expect("accept");
        let _ = s.write_all(&t[2]);
        std::thread::sleep(Duration::from_secs(20));
    });
    let (rows, logs) = rows_and_log(addr, 3);
    assert_eq!(rows.len(), 3);
    // The first loss, and the outage (the first banner-only connection), which also says
    // that the second loss, a flap, went unwarned.
    let warned: Vec<&str> = logs.lines().filter(|l| l.contains("Connection lost; reconnecting")).collect();
    assert_eq!(warned.len(), 2, "{logs}");
    assert!(
        warned[1].contains("also lost that many times since the last warning") && warned[1].contains("also_lost=1"),
        "{logs}"
    );
    assert!(!warned[0].contains("also lost") && !warned[0].contains("also_lost"), "{logs}");
    assert_eq!(logs.matches("telegrams arrive again").count(), 2, "{logs}");
    // Each comeback says how many connections it took: the losses count as attempts.
    for line in logs.lines().filter(|l| l.contains("telegrams arrive again")) {
        let attempts = line.split("attempts=").nth(1).and_then(|a| a.split(|c: char| !c.is_ascii_digit()).next());
        assert!(attempts.and_then(|a| a.parse::<u32>().ok()).is_some_and(|a| a >= 1), "{line}");
    }
    drop(server);
}

/// A bridge that is not listening yet when dsmrd starts (ser2net starting after it, as at
/// boot): the refused connection is warned of and retried, and once the bridge listens,
/// its telegrams arrive.
#[test]
fn a_bridge_that_listens_only_later_is_connected_to_when_it_does() {
    let t = telegrams(2);
    let addr = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr");
    // Nothing listens on `addr` now; the port is bound again after dsmrd's first attempts.
    let dir = tempfile::tempdir().expect("tempdir");
    let (csv, log, mut proc) = run_tcp_to_csv(dir.path(), addr, "max_backoff = \"1s\"\n");
    let logs = || std::fs::read_to_string(&log).unwrap_or_default();
    assert!(wait_for(Duration::from_secs(10), || logs().contains("Cannot connect")), "{}", logs());
    let listener = TcpListener::bind(addr).expect("bind again");
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        for telegram in &t {
            s.write_all(telegram).expect("write");
        }
        std::thread::sleep(Duration::from_secs(5));
    });
    let rows = wait_for(Duration::from_secs(15), || csv_column(&csv, "time").len() >= 2);
    let status = proc.terminate(Duration::from_secs(10));
    assert!(rows && status.is_some_and(|s| s.success()), "{status:?}\n{}", logs());
    assert_eq!(csv_column(&csv, "electricity_used_tariff_1").len(), 2);
    drop(server);
}
