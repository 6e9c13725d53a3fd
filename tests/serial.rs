//! The serial source against a real pseudo-terminal pair made by socat: telegrams written
//! into one end arrive in a CSV; when the pty disappears and comes back, the source
//! reopens it and the next telegrams arrive too.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

fn socat(dir: &Path) -> Proc {
    let a = dir.join("meter");
    let b = dir.join("ttyDSMR");
    let child = Command::new("socat")
        .arg(format!("pty,raw,echo=0,link={}", a.display()))
        .arg(format!("pty,raw,echo=0,link={}", b.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start socat");
    assert!(wait_for(Duration::from_secs(5), || a.exists() && b.exists()), "socat made no ptys");
    Proc { child, name: "socat".into() }
}

fn send(dir: &Path, bytes: &[u8]) {
    let mut f = std::fs::OpenOptions::new().write(true).open(dir.join("meter")).expect("open pty");
    for chunk in bytes.chunks(64) {
        f.write_all(chunk).expect("write pty");
        f.flush().expect("flush");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// A config that reads the pty `ttyDSMR` in `dir` into a CSV, with `extra` lines in the
/// source's table; returns both paths.
fn serial_to_csv(dir: &Path, extra: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let csv = dir.join("serial.csv");
    let config = dir.join("dsmrd.toml");
    std::fs::write(
        &config,
        format!(
            "[sources.meter]\ntype = \"serial\"\npath = {:?}\n{extra}\n[sinks.file]\ntype = \"csv\"\npath = {csv:?}\n",
            dir.join("ttyDSMR")
        ),
    )
    .expect("config");
    (config, csv)
}

/// A DSMR 2.2 meter's telegram (9600 7E1) as a port at 8N1 reads it: the parity bit of
/// every byte of odd parity arrives as its high bit.
fn seven_e_one_read_as_eight_n_one() -> Vec<u8> {
    let text = std::fs::read(recording("Iskra-MT382-1003-issue54a_dsmr2.2_dsmrtools.txt")).expect("rec");
    text.iter().map(|&b| if b.count_ones() % 2 == 1 { b | 0x80 } else { b }).collect()
}

/// Send `bytes` into the pty in `dir` again and again (at most ten times) until `done`;
/// returns how many times they were sent, and whether `done` came.
fn send_until(dir: &Path, bytes: &[u8], done: impl Fn() -> bool) -> (usize, bool) {
    for sent in 1..=10 {
        send(dir, bytes);
        if wait_for(Duration::from_millis(700), &done) {
            return (sent, true);
        }
    }
    (10, false)
}

/// dsmrd started with `args`, its stderr in a file in `dir`.
struct Run {
    child: std::process::Child,
    err: std::path::PathBuf,
}

impl Run {
    fn start(dir: &Path, args: &[std::ffi::OsString], stdout: Stdio) -> Run {
        let err = dir.join("err.txt");
        let child = Command::new(env!("CARGO_BIN_EXE_dsmrd"))
            .args(args)
            .stdout(stdout)
            .stderr(std::fs::File::create(&err).expect("err"))
            .spawn()
            .expect("start dsmrd");
        Run { child, err }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.err).unwrap_or_default()
    }

    /// The exit status within `timeout`; a run still going then is killed.
    fn exit_within(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let status = exit_within(&mut self.child, timeout);
        if status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        status
    }
}

/// `dsmrd parse --format FORMAT` on the pty `ttyDSMR` in `dir`, once it says it reads the
/// port (bytes that come before the port is set raw are read with the settings they met).
fn parse_port(dir: &Path, format: &str, stdout: Stdio) -> Run {
    let args = ["parse".into(), "--format".into(), format.into(), dir.join("ttyDSMR").into_os_string()];
    let parse = Run::start(dir, &args, stdout);
    let reading = wait_for(Duration::from_secs(10), || parse.stderr().contains("reading the serial port"));
    assert!(reading, "{}", parse.stderr());
    parse
}

#[test]
fn serial_source_reads_a_pty_and_survives_it_going_away() {
    if !require_tool("socat") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, csv) = serial_to_csv(dir.path(), "");
    let recording =
        std::fs::read(recording("Iskra-AM550-M550T-1012-recording-mini_dsmr5.0_dsmrtools.txt")).expect("rec");
    let mut pty = socat(dir.path());
    let log = dir.path().join("dsmrd.log");
    let mut proc = dsmrd(&["run", "--config", config.to_str().expect("utf-8")], Some(&log));
    std::thread::sleep(Duration::from_millis(500));

    // The mini capture holds two complete telegrams (LF-only, CRCs valid once CRs are restored).
    send(dir.path(), &recording);
    let first = wait_for(Duration::from_secs(15), || csv_column(&csv, "time").len() >= 2);
    assert!(
        first,
        "telegrams did not arrive: {:?}\n{}",
        csv_lines(&csv),
        std::fs::read_to_string(&log).unwrap_or_default()
    );

    // Unplug: the pty pair disappears; then comes back under the same name.
    let _ = pty.terminate(Duration::from_secs(5));
    let _ = std::fs::remove_file(dir.path().join("meter"));
    let _ = std::fs::remove_file(dir.path().join("ttyDSMR"));
    std::thread::sleep(Duration::from_millis(1500));
    pty = socat(dir.path());
    let one = std::fs::read(common::recording("Iskra-AM550-M550T-1012_dsmr5.0_dsmrtools.txt")).expect("rec");
    let mut back = false;
    for _ in 0..20 {
        send(dir.path(), &one);
        if wait_for(Duration::from_millis(700), || csv_column(&csv, "time").len() >= 3) {
            back = true;
            break;
        }
    }
    let status = proc.terminate(Duration::from_secs(10));
    let logs = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(back, "source did not recover after the pty came back\n{logs}");
    // The loss is warned of once, its end told once telegrams come.
    assert_eq!(logs.matches("Serial port lost; reopening").count(), 1, "{logs}");
    assert_eq!(logs.matches("Serial port open; telegrams arrive again").count(), 1, "{logs}");
    assert!(status.is_some_and(|s| s.success()), "{status:?}\n{logs}");
    let t1 = csv_column(&csv, "electricity_used_tariff_1");
    assert_eq!(&t1[..3], &["3432.827".to_string(), "3432.827".to_string(), "3432.829".to_string()], "{t1:?}");
    assert!(logs.contains("Serial port"), "{logs}");
    drop(pty);
}

/// A DSMR 2.2 meter (9600 7E1) on a port left at the `auto` default, 8N1: the parity bit
/// arrives as the high bit of every byte of odd parity, no telegram frames, and the log
/// says which settings to set.
#[test]
fn a_7e1_meter_read_as_8n1_gets_a_line_settings_warning() {
    if !require_tool("socat") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, csv) = serial_to_csv(dir.path(), "");
    let pty = socat(dir.path());
    let log = dir.path().join("dsmrd.log");
    let mut proc = dsmrd(&["run", "--config", config.to_str().expect("utf-8")], Some(&log));
    std::thread::sleep(Duration::from_millis(500));
    let hinted = || std::fs::read_to_string(&log).unwrap_or_default().contains("have the high bit set");
    let (_, warned) = send_until(dir.path(), &seven_e_one_read_as_eight_n_one(), hinted);
    let _ = proc.terminate(Duration::from_secs(10));
    let logs = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(warned, "no line-settings warning\n{logs}");
    assert!(logs.contains("9600 baud 7E1"), "{logs}");
    // In the words of the configuration, where the settings are chosen.
    assert!(logs.contains(r#"dsmr_version = "2.2""#) && !logs.contains("--dsmr-version"), "{logs}");
    assert_eq!(logs.matches("have the high bit set").count(), 1, "warned once\n{logs}");
    assert!(csv_lines(&csv).is_empty(), "{:?}", csv_lines(&csv));
    drop(pty);
}

/// The same meter read by `dsmrd parse` on the port: the hint comes while it reads, and
/// names the flag that sets the port, not configuration keys.
#[test]
fn parse_of_a_7e1_meter_at_8n1_names_the_flag_that_sets_the_port() {
    if !require_tool("socat") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let _pty = socat(dir.path());
    let mut parse = parse_port(dir.path(), "none", Stdio::null());
    let stderr = || parse.stderr();
    let (_, hinted) =
        send_until(dir.path(), &seven_e_one_read_as_eight_n_one(), || stderr().contains("have the high bit set"));
    // Said live, before the summary.
    let live = stderr();
    let _ = Command::new("kill").arg("-INT").arg(parse.child.id().to_string()).status();
    let status = parse.exit_within(Duration::from_secs(10));
    let stderr = || parse.stderr();
    assert!(hinted, "no hint while reading\n{live}");
    assert!(!live.contains("0 CRC failures"), "the hint came only with the summary\n{live}");
    assert!(live.contains("(`--dsmr-version 2.2` reads the port so)"), "{live}");
    assert!(!live.contains("data_bits"), "{live}");
    // No telegram: exit 1, and the summary says the hint again.
    assert_eq!(status.and_then(|s| s.code()), Some(1), "{}", stderr());
    assert_eq!(stderr().matches("`--dsmr-version 2.2`").count(), 2, "{}", stderr());
}

/// A port that opens but stays silent (the cable not in the meter, P1 output off) is
/// warned of once, with a hint at the cable, reopened quietly while it stays so, and told
/// of again once telegrams come, which are then read. A silence after telegrams is warned
/// of again, without the hint.
#[test]
fn a_silent_port_is_warned_of_once_and_reopened_until_telegrams_come() {
    if !require_tool("socat") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, csv) = serial_to_csv(dir.path(), "read_timeout = \"1s\"\n");
    let pty = socat(dir.path());
    let log = dir.path().join("dsmrd.log");
    let mut proc = dsmrd(&["run", "--log-level", "debug", "--config", config.to_str().expect("utf-8")], Some(&log));
    let logs = || std::fs::read_to_string(&log).unwrap_or_default();
    // Silent for 1 s, reopened after 0.5 s, silent again for 1 s (at debug level now), ...
    let warned = wait_for(Duration::from_secs(15), || logs().contains("Serial port lost again"));
    assert!(warned, "{}", logs());
    let one = std::fs::read(recording("Iskra-AM550-M550T-1012_dsmr5.0_dsmrtools.txt")).expect("rec");
    let mut read = false;
    for _ in 0..20 {
        send(dir.path(), &one);
        if wait_for(Duration::from_millis(700), || !csv_column(&csv, "time").is_empty()) {
            read = true;
            break;
        }
    }
    assert!(read, "no telegram read after the silence\n{}", logs());
    let silent_again = || logs().matches("Serial port lost; reopening").count() == 2;
    let warned_again = wait_for(Duration::from_secs(10), silent_again);
    let status = proc.terminate(Duration::from_secs(10));
    let logs = logs();
    assert!(warned_again, "{logs}");
    assert!(status.is_some_and(|s| s.success()), "{status:?}\n{logs}");
    assert_eq!(csv_column(&csv, "electricity_used_tariff_1")[0], "3432.829", "{logs}");
    let warnings: Vec<&str> = logs.lines().filter(|l| l.contains("Serial port lost; reopening")).collect();
    assert!(
        warnings[0].contains("WARN dsmrd::source::serial: Serial port lost; reopening.")
            && warnings[0].contains(" reason=no data for 1s; is the cable in the meter's P1 port?"),
        "{logs}"
    );
    assert!(warnings[1].ends_with(" reason=no data for 1s"), "{logs}");
    assert_eq!(logs.matches("Serial port open; telegrams arrive again").count(), 1, "{logs}");
    drop(pty);
}

/// A port that flaps, gone for a moment each time (a loose USB plug): the first loss is
/// warned of, the others and the failed reopens between them only counted, and every
/// telegram sent while the port was there arrives.
#[test]
fn a_port_that_flaps_is_warned_of_once_and_loses_nothing() {
    if !require_tool("socat") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, csv) = serial_to_csv(dir.path(), "");
    let log = dir.path().join("dsmrd.log");
    let one = std::fs::read(recording("Iskra-AM550-M550T-1012_dsmr5.0_dsmrtools.txt")).expect("rec");
    let mut pty = socat(dir.path());
    let mut proc = dsmrd(&["run", "--config", config.to_str().expect("utf-8")], Some(&log));
    let logs = || std::fs::read_to_string(&log).unwrap_or_default();
    let cycles = 4;
    for cycle in 0..cycles {
        if cycle > 0 {
            pty = socat(dir.path());
        }
        for k in 1..=3 {
            send(dir.path(), &one);
            let rows = cycle * 3 + k;
            let arrived = wait_for(Duration::from_secs(10), || csv_column(&csv, "time").len() >= rows);
            assert!(arrived, "telegram {rows} did not arrive\n{}", logs());
        }
        // Unplugged for a moment.
        let _ = pty.terminate(Duration::from_secs(5));
        let _ = std::fs::remove_file(dir.path().join("meter"));
        let _ = std::fs::remove_file(dir.path().join("ttyDSMR"));
        std::thread::sleep(Duration::from_millis(1200));
    }
    let status = proc.terminate(Duration::from_secs(10));
    let logs = logs();
    assert!(status.is_some_and(|s| s.success()), "{status:?}\n{logs}");
    assert_eq!(csv_column(&csv, "time").len(), cycles * 3, "{logs}");
    assert_eq!(logs.matches("Serial port lost; reopening").count(), 1, "{logs}");
    assert_eq!(logs.matches("Cannot open the serial port").count(), 0, "{logs}");
    assert_eq!(logs.matches("telegrams arrive again").count(), 1, "{logs}");
}

/// `dsmrd parse /dev/ttyUSB0`, the first thing a user tries with a new cable: the port is
/// opened raw at the version's line settings (read as a plain file it keeps whatever the
/// terminal had: here canonical lines, echo and CR translation), read as telegrams come,
/// and ended by Ctrl-C or by the port going away, with the summary either way.
fn parse_a_pty_until(end: &str) {
    if !require_tool("socat") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut pty = socat(dir.path());
    let tty = dir.path().join("ttyDSMR");
    let stty = Command::new("stty").arg("-F").arg(&tty).args(["icanon", "echo", "icrnl", "isig"]).status();
    assert!(stty.is_ok_and(|s| s.success()), "stty");
    let out = std::fs::File::create(dir.path().join("out.json")).expect("out");
    let err = std::fs::File::create(dir.path().join("err.txt")).expect("err");
    let mut parse = Command::new(env!("CARGO_BIN_EXE_dsmrd"))
        .args(["parse", "--format", "json"])
        .arg(&tty)
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("start dsmrd parse");
    let json = || std::fs::read_to_string(dir.path().join("out.json")).unwrap_or_default();
    let stderr = || std::fs::read_to_string(dir.path().join("err.txt")).unwrap_or_default();
    // Bytes that come before the port is set raw are read with the settings they met.
    assert!(wait_for(Duration::from_secs(10), || stderr().contains("reading the serial port")), "{}", stderr());
    // A second of silence (four read ticks) is no silent cable yet: that is said after 30 s.
    std::thread::sleep(Duration::from_secs(1));
    assert!(!stderr().contains("no data from"), "{}", stderr());
    let one = std::fs::read(recording("Iskra-AM550-M550T-1012_dsmr5.0_dsmrtools.txt")).expect("rec");
    send(dir.path(), &one);
    // Printed while the port is still there: read live, not at the end.
    assert!(wait_for(Duration::from_secs(10), || json().lines().count() >= 1), "{}\n{}", json(), stderr());
    if end == "unplug" {
        let _ = pty.terminate(Duration::from_secs(5));
    } else {
        let _ = Command::new("kill").arg("-INT").arg(parse.id().to_string()).status();
    }
    let status = exit_within(&mut parse, Duration::from_secs(10));
    let stderr = stderr();
    assert!(status.is_some_and(|s| s.success()), "{status:?}\n{stderr}");
    assert!(stderr.contains("ttyDSMR at 115200 baud 8N1"), "{stderr}");
    assert!(stderr.contains("ttyDSMR: 1 telegrams, 0 CRC failures"), "{stderr}");
    assert_eq!(stderr.contains("ttyDSMR went away"), end == "unplug", "{stderr}");
    let first: serde_json::Value = serde_json::from_str(json().lines().next().unwrap_or_default()).expect("json");
    let tariff_1 = first["objects"].as_array().and_then(|o| o.iter().find(|o| o["obis"] == "1-0:1.8.1"));
    assert_eq!(tariff_1.map(|o| o["value"].clone()), Some(serde_json::json!(3432.829)), "{first}");
}

#[test]
fn parse_reads_a_serial_port_live_until_it_goes_away() {
    parse_a_pty_until("unplug");
}

#[test]
fn parse_reads_a_serial_port_live_until_ctrl_c() {
    parse_a_pty_until("interrupt");
}

/// `dsmrd record --from serial:PORT`, as recordings are made: it says when it reads, keeps
/// the bytes exactly, counts the telegram, and ends at Ctrl-C; a line whose bytes have the
/// high bit set (a 7E1 meter read at 8N1) is said at once, with the flag that fixes it.
#[test]
fn record_captures_a_serial_port_byte_for_byte() {
    if !require_tool("socat") {
        return;
    }
    let telegram = std::fs::read(recording("Iskra-AM550-M550T-1012_dsmr5.0_dsmrtools.txt")).expect("rec");
    for (bytes, words) in [
        (telegram.clone(), "(1 valid telegrams, 0 rejected)"),
        (seven_e_one_read_as_eight_n_one(), "have the high bit set and no telegram was found"),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let _pty = socat(dir.path());
        let out = dir.path().join("capture.txt");
        let from = format!("serial:{}", dir.path().join("ttyDSMR").display());
        let args = ["record".into(), "--from".into(), from.into(), "--out".into(), out.clone().into_os_string()];
        let mut record = Run::start(dir.path(), &args, Stdio::null());
        let reading = wait_for(Duration::from_secs(10), || record.stderr().contains("; Ctrl-C stops."));
        assert!(reading, "{}", record.stderr());
        assert!(record.stderr().contains("dsmrd: recording serial:"), "{}", record.stderr());
        send(dir.path(), &bytes);
        // The hint comes while recording, before the end.
        let said = wait_for(Duration::from_secs(5), || record.stderr().contains(words) || words.contains("valid"));
        assert!(said, "{}", record.stderr());
        std::thread::sleep(Duration::from_millis(300));
        let _ = Command::new("kill").arg("-INT").arg(record.child.id().to_string()).status();
        let status = record.exit_within(Duration::from_secs(10));
        let stderr = record.stderr();
        assert!(status.is_some_and(|s| s.success()), "{status:?}: {stderr}");
        assert_eq!(std::fs::read(&out).expect("capture"), bytes, "{stderr}");
        assert!(stderr.contains(words), "{stderr}");
        assert_eq!(stderr.matches("--seven-e-one").count(), usize::from(!words.contains("valid")), "{stderr}");
    }
}

/// `dsmrd parse PORT 2>&-`-like: a stderr nobody reads takes none of the port's messages
/// (the one that says the port is read comes first) and stops nothing: the telegram is
/// printed, and unplugging the port ends the run with success.
#[test]
fn parse_of_a_port_with_a_closed_stderr_reads_on() {
    if !require_tool("socat") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut pty = socat(dir.path());
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let out_path = dir.path().join("out.json");
    let mut parse = Command::new(env!("CARGO_BIN_EXE_dsmrd"))
        .args(["parse", "--format", "json"])
        .arg(dir.path().join("ttyDSMR"))
        .stdout(std::fs::File::create(&out_path).expect("out"))
        .stderr(writer)
        .spawn()
        .expect("start dsmrd parse");
    let json = || std::fs::read_to_string(&out_path).unwrap_or_default();
    let one = std::fs::read(recording("Iskra-AM550-M550T-1012_dsmr5.0_dsmrtools.txt")).expect("rec");
    // Sent until it is printed: bytes that come before the port is set raw may be lost.
    let printed = (0..20).any(|_| {
        send(dir.path(), &one);
        wait_for(Duration::from_millis(500), || json().contains(r#""obis":"1-0:1.8.1""#))
    });
    let _ = pty.terminate(Duration::from_secs(5));
    let status = exit_within(&mut parse, Duration::from_secs(10));
    if status.is_none() {
        let _ = parse.kill();
        let _ = parse.wait();
    }
    assert!(printed, "{status:?}: {}", json());
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{}", json());
}

/// `dsmrd parse PORT | head -n 1`: once the reader has its line and is gone, parse ends with
/// its summary, although the port stays silent and no write fails to tell it.
#[test]
fn parse_of_a_port_ends_when_its_reader_goes_while_the_port_is_silent() {
    use std::io::BufRead;
    if !require_tool("socat") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let _pty = socat(dir.path());
    let mut parse = parse_port(dir.path(), "json", Stdio::piped());
    send(dir.path(), &std::fs::read(recording("Iskra-AM550-M550T-1012_dsmr5.0_dsmrtools.txt")).expect("rec"));
    let mut first = String::new();
    let mut out = std::io::BufReader::new(parse.child.stdout.take().expect("stdout"));
    out.read_line(&mut first).expect("first line");
    assert!(first.contains(r#""obis":"1-0:1.8.1""#), "{first}");
    // `head` has its line and exits.
    drop(out);
    let status = parse.exit_within(Duration::from_secs(5));
    let stderr = parse.stderr();
    assert!(status.is_some_and(|s| s.success()), "still reading, or failed: {status:?}\n{stderr}");
    assert!(stderr.contains("ttyDSMR: 1 telegrams, 0 CRC failures"), "{stderr}");
}

/// `dsmrd record` from a port: a 7E1 meter recorded at the 8N1 default gets the hint, in
/// record's own flag, while recording; a port that goes away ends the capture, which keeps
/// every byte that came, exactly.
#[test]
fn record_from_a_port_hints_at_wrong_settings_and_keeps_all_when_it_goes_away() {
    if !require_tool("socat") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut pty = socat(dir.path());
    let out = dir.path().join("capture.txt");
    let from = format!("serial:{}", dir.path().join("ttyDSMR").display());
    let args = ["record".into(), "--from".into(), from.into(), "--out".into(), out.clone().into_os_string()];
    let mut record = Run::start(dir.path(), &args, Stdio::null());
    let stderr = || record.stderr();
    let size = || std::fs::metadata(&out).map_or(0, |m| m.len() as usize);
    assert!(wait_for(Duration::from_secs(10), || out.exists()), "{}", stderr());
    std::thread::sleep(Duration::from_millis(300));
    let with_parity = seven_e_one_read_as_eight_n_one();
    let (times, _) = send_until(dir.path(), &with_parity, || stderr().contains("have the high bit set"));
    let mut sent = with_parity.repeat(times);
    assert!(stderr().contains("(`--seven-e-one`)") && !stderr().contains("data_bits"), "{}", stderr());
    let telegram = std::fs::read(recording("Iskra-AM550-M550T-1012_dsmr5.0_dsmrtools.txt")).expect("rec");
    send(dir.path(), &telegram);
    sent.extend_from_slice(&telegram);
    assert!(wait_for(Duration::from_secs(5), || size() == sent.len()), "{} of {} bytes", size(), sent.len());
    // Unplugged.
    let _ = pty.terminate(Duration::from_secs(5));
    let status = record.exit_within(Duration::from_secs(5));
    let stderr = record.stderr();
    assert!(status.is_some_and(|s| s.success()), "{status:?}\n{stderr}");
    // (A pty's hangup reads as the end of the stream, a USB port's removal as an error.)
    assert!(stderr.contains("the stream ended") || stderr.contains("went away"), "{stderr}");
    assert!(
        stderr.contains(&format!("recorded {} bytes", sent.len())) && stderr.contains("(1 valid telegrams"),
        "{stderr}"
    );
    assert!(std::fs::read(&out).expect("capture") == sent, "the capture differs from what was sent");
}
