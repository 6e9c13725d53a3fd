//! The commands as a user runs them: exit codes, `record` from `serve` byte for byte,
//! `replay`, `check-config` with secrets masked, and rate-limited logging of bad telegrams.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

fn dsmrd_cmd() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dsmrd"))
}

/// `dsmrd parse - --format none` on `bytes`.
fn parse_stdin(bytes: &[u8]) -> std::process::Output {
    let mut child = dsmrd_cmd()
        .args(["parse", "-", "--format", "none"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run");
    child.stdin.take().expect("stdin").write_all(bytes).expect("write");
    child.wait_with_output().expect("wait")
}

/// `dsmrd ARGS` with its stdout into a file that may not grow past 64 bytes (a full disk).
fn output_into_a_full_file(args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = dsmrd_cmd();
    cmd.args(args).stdout(std::fs::File::create(dir.path().join("out")).expect("file"));
    limit_file_size(&mut cmd, 64);
    cmd.output().expect("run")
}

/// A configuration `c.toml` in `dir` that reads stdin into the CSV file `r.csv` there:
/// the paths of both.
fn stdin_to_csv_config(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let csv = dir.join("r.csv");
    let config = dir.join("c.toml");
    let text = format!("[sources.meter]\ntype = \"stdin\"\n\n[sinks.file]\ntype = \"csv\"\npath = {csv:?}\n");
    std::fs::write(&config, text).expect("config");
    (csv, config)
}

/// A configuration `c.toml` in `dir` that replays the 566-telegram Iskra recording into
/// the CSV file `r.csv` there, followed by `more` (other sections): the paths of both.
fn replay_to_csv_config(dir: &std::path::Path, more: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let csv = dir.join("r.csv");
    let config = dir.join("c.toml");
    let rec = recording("Iskra-AM550-M550T-1012-recording_dsmr5.0_dsmrtools.txt");
    let text = format!(
        "[sources.r]\ntype = \"replay\"\npath = {rec:?}\n\n[sinks.file]\ntype = \"csv\"\npath = {csv:?}\n\n{more}"
    );
    std::fs::write(&config, text).expect("config");
    (csv, config)
}

/// `dsmrd run` with a stdin source and a CSV sink writing `r.csv` in `dir`: the CSV file
/// and the running process, its stdin and stderr piped.
fn run_stdin_to_csv(dir: &std::path::Path) -> (std::path::PathBuf, std::process::Child) {
    let (csv, config) = stdin_to_csv_config(dir);
    let child = dsmrd_cmd()
        .args(["run", "--config"])
        .arg(&config)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run");
    (csv, child)
}

/// `dsmrd serve FILE --pace PACE` on a free loopback port, listening: the server and its address.
fn serve(file: &std::path::Path, pace: &str) -> (Proc, String) {
    let addr = format!("127.0.0.1:{}", free_port());
    let server = dsmrd(&["serve", file.to_str().expect("utf-8"), "--listen", &addr, "--pace", pace], None);
    assert!(wait_for(Duration::from_secs(10), || std::net::TcpStream::connect(&addr).is_ok()), "serve did not listen");
    (server, addr)
}

/// A DSMR 2.2 meter's 7E1 line read as 8N1: no telegram, and a hint at the line settings;
/// the same bytes with the parity bit cleared parse.
#[test]
fn parse_hints_at_a_7e1_line_read_as_8n1() {
    let text = std::fs::read(recording("Iskra-MT382-1003-issue54a_dsmr2.2_dsmrtools.txt")).expect("read");
    let with_parity: Vec<u8> = text.iter().map(|&b| if b.count_ones() % 2 == 1 { b | 0x80 } else { b }).collect();
    let out = parse_stdin(&with_parity);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let high = with_parity.iter().filter(|&&b| b >= 0x80).count();
    assert!(stderr.contains(&format!("{high} of the {} bytes received have the high bit set", text.len())), "{stderr}");
    assert!(stderr.contains("9600 baud 7E1 (data_bits = 7, parity = \"even\""), "{stderr}");
    // Said once, in the summary: a capture is not a port, whose hint comes as soon as it shows.
    assert_eq!(stderr.matches("high bit set").count(), 1, "{stderr}");
    let out = parse_stdin(&text);
    assert_eq!(out.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("high bit"));
}

/// A port that sends text but no telegram (a console, a wrong device): one hint says so.
#[test]
fn parse_says_when_text_holds_no_telegram() {
    let text = "login: Password incorrect (try again)\r\n".repeat(2000);
    let out = parse_stdin(text.as_bytes());
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("{} bytes received and no telegram found in them", text.len())), "{stderr}");
}

/// A 9600-baud meter read at 115200 baud: each character becomes NULs with a few other
/// bytes between them. The hint names the NULs and the baud rates.
#[test]
fn parse_hints_at_a_baud_rate_mismatch() {
    let noise: Vec<u8> = (0..3000u32)
        .map(|i| {
            if i % 7 == 0 {
                0xF0
            } else if i % 5 == 0 {
                b'~'
            } else {
                0
            }
        })
        .collect();
    let nul = noise.iter().filter(|&&b| b == 0).count();
    let out = parse_stdin(&noise);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("{nul} of the 3000 bytes received are NUL (a wrong baud rate")), "{stderr}");
    assert!(stderr.contains("later meters 115200 baud 8N1"), "{stderr}");
}

/// A live stream piped in (`socat /dev/ttyUSB0,... - | dsmrd parse -`): each telegram is
/// printed as soon as it is read, not when 8 KiB of output have built up or the input ends.
#[test]
fn parse_prints_each_telegram_of_a_live_stream_as_it_comes() {
    use std::io::BufRead;
    let telegram = std::fs::read(recording("Iskra-AM550-M550E-1012_dsmr5.0_dsmr5rs.txt")).expect("read");
    let mut child = dsmrd_cmd()
        .args(["parse", "-", "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run");
    let mut stdin = child.stdin.take().expect("stdin");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    for _ in 0..2 {
        // The input stays open: the meter sends its next telegram in ten seconds.
        stdin.write_all(&telegram).expect("write");
        stdin.flush().expect("flush");
        let line = rx.recv_timeout(Duration::from_secs(20)).expect("a line before the input ends").expect("line");
        let json: serde_json::Value = serde_json::from_str(&line).expect("json");
        assert_eq!(json["crc"], "67B1");
        assert_eq!(json["objects"][3]["value"], 576.239);
    }
    drop(stdin);
    assert!(child.wait().expect("wait").success());
}

/// `socat ... | dsmrd parse - | head -n 1`: once the reader has gone, `parse` stops at the
/// next telegram instead of reading the live stream forever.
#[test]
fn parse_stops_when_its_reader_has_gone() {
    use std::io::BufRead;
    let telegram = std::fs::read(recording("Iskra-AM550-M550E-1012_dsmr5.0_dsmr5rs.txt")).expect("read");
    let mut child = dsmrd_cmd()
        .args(["parse", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    stdin.write_all(&telegram).expect("write");
    stdin.flush().expect("flush");
    let mut line = String::new();
    stdout.read_line(&mut line).expect("first telegram");
    assert!(line.contains("\"crc\":\"67B1\""), "{line}");
    drop(stdout);
    // The next telegram finds no reader; the input stays open.
    stdin.write_all(&telegram).expect("write");
    stdin.flush().expect("flush");
    let status = exit_within(&mut child, Duration::from_secs(20)).expect("parse still reads after its reader has gone");
    assert!(status.success(), "{status}");
    drop(stdin);
}

/// dsmrd with `args` on the 566-telegram recording, its stdout read up to the first line
/// break and then closed, as `| head -n 1` does: the running process and that line.
fn first_line_then_close(args: &[&str]) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = dsmrd_cmd()
        .args(args)
        .arg(recording("Iskra-AM550-M550T-1012-recording_dsmr5.0_dsmrtools.txt"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run");
    let mut stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("first line");
    (child, line)
}

/// `dsmrd parse capture | head -n 1`, in both output forms: the reader going away is no
/// failure (exit 0), and the telegram being read when it went is not called truncated.
#[test]
fn parse_into_head_exits_0_and_reports_nothing_false() {
    for format in ["json", "table"] {
        let (child, line) = first_line_then_close(&["parse", "--format", format]);
        assert!(!line.is_empty());
        let out = child.wait_with_output().expect("wait");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{format}: {err}");
        assert!(!err.contains("rejected") && err.contains(" 0 other errors"), "{format}: {err}");
    }
}

/// `dsmrd parse capture 2>&1 | head -n 1`: messages for a stderr nobody reads any more are
/// dropped, and the exit code is still the one the input earns (1: no valid telegram).
#[test]
fn parse_with_a_closed_stderr_exits_with_its_own_code() {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let out = dsmrd_cmd()
        .args(["parse", "--format", "none"])
        .arg(recording("Iskra-AM550-short-badcrc_dsmr5.0_dsmrtools.txt"))
        .stdout(Stdio::null())
        .stderr(writer)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1), "{:?}", out.status);
}

/// `dsmrd replay --loop | head -n 1`: once stdout, the only sink, has gone, nothing read
/// can go anywhere, and the looping replay stops instead of reading forever.
#[test]
fn a_looping_replay_stops_when_its_only_sink_has_gone() {
    let (mut child, line) = first_line_then_close(&["replay", "--loop", "--format", "json"]);
    assert!(line.contains("electricity_used_tariff_1"), "{line}");
    let Some(status) = exit_within(&mut child, Duration::from_secs(20)) else {
        let _ = child.kill();
        panic!("the replay still loops after its only sink has gone");
    };
    let mut logs = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut logs).expect("logs");
    assert!(logs.contains("Every sink's destination is gone"), "{logs}");
    assert!(status.success(), "{status}");
}

#[test]
fn parse_exit_codes() {
    let ok = dsmrd_cmd()
        .args(["parse", "--format", "none"])
        .arg(recording("Kaifa-KFM5_dsmr4.2_athombv.txt"))
        .output()
        .expect("run");
    assert_eq!(ok.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&ok.stderr);
    assert!(stderr.contains("1 telegrams, 0 CRC failures, 0 other errors"), "{stderr}");

    let bad = dsmrd_cmd()
        .args(["parse", "--format", "none"])
        .arg(recording("Kaifa-KFM5-crcinvalid_dsmr4.2_smeterd.txt"))
        .output()
        .expect("run");
    assert_eq!(bad.status.code(), Some(1), "no valid telegram");
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("CRC mismatch: telegram says 656A, content gives E17D"), "{stderr}");

    // Let through with `--no-crc`, it is counted as a telegram, and said to have a bad CRC.
    let passed = dsmrd_cmd()
        .args(["parse", "--format", "none", "--no-crc"])
        .arg(recording("Kaifa-KFM5-crcinvalid_dsmr4.2_smeterd.txt"))
        .output()
        .expect("run");
    assert_eq!(passed.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&passed.stderr);
    assert!(stderr.contains("1 telegrams (1 of them with a CRC that does not match), 0 CRC failures"), "{stderr}");

    // Text that holds a `/` and a `!` frames like a telegram but has no data line: refused
    // with its reason, and the input held no telegram.
    let noise = parse_stdin(b"$ /bin/echo hi!\r\n");
    assert_eq!(noise.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&noise.stderr);
    assert!(stderr.contains("no OBIS data line between `/bin/echo hi` and `!`: not a telegram"), "{stderr}");
    assert!(stderr.contains("0 telegrams, 0 CRC failures, 1 other errors"), "{stderr}");

    let missing = dsmrd_cmd().args(["parse", "no/such/capture.txt"]).output().expect("run");
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot open no/such/capture.txt"));

    // A directory opens but cannot be read: said at once, not retried.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = dsmrd_cmd().arg("parse").arg(dir.path()).stderr(Stdio::piped()).spawn().expect("run");
    let status = exit_within(&mut child, Duration::from_secs(10));
    if status.is_none() {
        let _ = child.kill();
    }
    let mut stderr = String::new();
    let _ = std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr);
    assert_eq!(status.and_then(|s| s.code()), Some(2), "{stderr}");
    assert!(stderr.contains("cannot read") && stderr.contains("Is a directory"), "{stderr}");

    // Output into a file on a full disk: an error, said (a closed pipe is none).
    let kaifa = recording("Kaifa-KFM5_dsmr4.2_athombv.txt");
    let out = output_into_a_full_file(&["parse", "--format", "json", kaifa.to_str().expect("utf-8")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("dsmrd: cannot write output: File too large"), "{stderr}");
}

#[test]
fn parse_reads_stdin_and_writes_json_lines() {
    let mut child = dsmrd_cmd()
        .args(["parse", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run");
    let bytes = std::fs::read(recording("Iskra-AM550-M550T-1012-recording-mini_dsmr5.0_dsmrtools.txt")).expect("rec");
    child.stdin.take().expect("stdin").write_all(&bytes).expect("write");
    let out = child.wait_with_output().expect("wait");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).expect("json line")).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["timestamp"], "2019-03-24T14:05:20Z");
}

#[test]
fn record_captures_what_serve_sends_byte_for_byte() {
    let source = recording("Iskra-AM550-M550T-1012-recording-mini_dsmr5.0_dsmrtools.txt");
    let (_server, addr) = serve(&source, "fast");
    let dir = tempfile::tempdir().expect("tempdir");
    // `--duration 0s` records nothing, though the bytes come at once (whether they are
    // there before the first read is up to timing: tried five times), and says so by exit 1.
    let none = dir.path().join("none.txt");
    for _ in 0..5 {
        let status = dsmrd_cmd()
            .args(["record", "--from", &format!("tcp:{addr}"), "--out"])
            .arg(&none)
            .args(["--duration", "0s"])
            .stderr(Stdio::null())
            .status()
            .expect("record");
        assert_eq!(status.code(), Some(1));
        assert_eq!(std::fs::read(&none).expect("capture").len(), 0);
    }
    let out = dir.path().join("capture.txt");
    let status = dsmrd_cmd()
        .args(["record", "--from", &format!("tcp:{addr}"), "--out"])
        .arg(&out)
        .args(["--duration", "20s"])
        .stderr(Stdio::null())
        .status()
        .expect("record");
    assert!(status.success());
    assert_eq!(std::fs::read(&out).expect("capture"), std::fs::read(&source).expect("source"));
}

/// A server that sends `bytes`, waits, and then resets the connection (RST, not an
/// orderly end), as a bridge that restarts does.
#[allow(unsafe_code)]
fn resetting_server(bytes: Vec<u8>) -> (std::thread::JoinHandle<()>, std::net::SocketAddr) {
    use std::os::fd::AsRawFd;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().expect("accept");
        conn.write_all(&bytes).expect("send");
        std::thread::sleep(Duration::from_millis(500));
        // A zero linger time makes the close a reset.
        let linger = libc::linger { l_onoff: 1, l_linger: 0 };
        // SAFETY: the option value is a `linger` on this stack, its size given; the socket
        // is open for the call.
        let set = unsafe {
            libc::setsockopt(
                conn.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&raw const linger).cast(),
                std::mem::size_of::<libc::linger>() as libc::socklen_t,
            )
        };
        assert_eq!(set, 0, "SO_LINGER");
    });
    (server, addr)
}

/// A connection reset while recording (a bridge restarting) ends the capture like the end of
/// the stream: every byte that came is kept, the summary is said, and the exit is a success.
/// A reset before any byte came is a failed capture.
#[test]
fn record_keeps_the_capture_when_the_connection_is_reset() {
    // Two good telegrams, counted apart from two rejected: one cut short (the short capture
    // ends inside a telegram, which the next one's start cuts) and one whose CRC does not
    // match.
    let bytes = [
        std::fs::read(recording("Iskra-AM550-M550T-1012-recording-mini_dsmr5.0_dsmrtools.txt")).expect("rec"),
        std::fs::read(recording("Kaifa-KFM5-crcinvalid_dsmr4.2_smeterd.txt")).expect("rec"),
    ]
    .concat();
    let (server, addr) = resetting_server(bytes.clone());
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("capture.txt");
    let record = |addr: std::net::SocketAddr| {
        dsmrd_cmd()
            .args(["record", "--from", &format!("tcp:{addr}"), "--out"])
            .arg(&out)
            .args(["--duration", "20s"])
            .output()
            .expect("record")
    };
    let result = record(addr);
    server.join().expect("server");
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(result.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("tcp:{addr} went away (Connection reset")), "{stderr}");
    assert!(
        stderr.contains(&format!("recorded {} bytes", bytes.len()))
            && stderr.contains("(2 valid telegrams, 2 rejected)"),
        "{stderr}"
    );
    assert!(std::fs::read(&out).expect("capture") == bytes, "the capture differs from what was sent");

    let (server, addr) = resetting_server(Vec::new());
    let result = record(addr);
    server.join().expect("server");
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("Connection reset") && stderr.contains("nothing was recorded"), "{stderr}");
}

/// A capture that got no byte fails with exit 1, whatever ended it (the peer closing, the
/// time limit), so that a script does not keep an empty file as a recording.
#[test]
fn record_of_nothing_exits_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("capture.txt");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    // One peer that closes at once, then one that stays silent.
    let server = std::thread::spawn(move || {
        drop(listener.accept().expect("accept"));
        let (silent, _) = listener.accept().expect("accept");
        std::thread::sleep(Duration::from_secs(3));
        drop(silent);
    });
    for duration in ["20s", "1s"] {
        let result = dsmrd_cmd()
            .args(["record", "--from", &format!("tcp:{addr}"), "--out"])
            .arg(&out)
            .args(["--duration", duration])
            .output()
            .expect("record");
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(result.status.code(), Some(1), "{duration}: {stderr}");
        assert!(stderr.contains(&format!("nothing was recorded from tcp:{addr}")), "{duration}: {stderr}");
        assert_eq!(std::fs::metadata(&out).expect("capture").len(), 0);
    }
    server.join().expect("server");
}

/// A serial port that is not there: `record` says so and what to do, and writes nothing.
#[test]
fn record_from_a_missing_serial_port_says_what_to_do() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("capture.txt");
    let port = dir.path().join("ttyUSB7");
    let result = dsmrd_cmd()
        .args(["record", "--from", &format!("serial:{}", port.display()), "--out"])
        .arg(&out)
        .output()
        .expect("record");
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(!result.status.success());
    assert!(
        stderr
            .contains(&format!("cannot open {}: No such file or directory; is the cable plugged in?", port.display())),
        "{stderr}"
    );
    assert!(stderr.contains("a path under /dev/serial/by-id/ stays the same"), "{stderr}");
    assert!(!out.exists());
}

#[test]
fn replay_prints_a_table_with_the_telegram_time() {
    let out = dsmrd_cmd()
        .args(["--log-level", "warn", "replay"])
        .arg(recording("Iskra-AM550-M550T-1012_dsmr5.0_dsmrtools.txt"))
        .output()
        .expect("run");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("2019-03-24T14:05:41Z"), "{text}");
    assert!(
        text.lines().any(|l| l.contains("electricity_used_tariff_1") && l.contains("3432.829") && l.contains("kWh")),
        "{text}"
    );
    // The meter's local time read in the zone given (winter time in London is UTC), and
    // the table of the version given (DSMR 2.2 has no version line: a code of its own).
    let out = dsmrd_cmd()
        .args(["--log-level", "warn", "replay", "--timezone", "Europe/London", "--dsmr-version", "2.2"])
        .args(["--format", "json"])
        .arg(recording("Iskra-AM550-M550T-1012_dsmr5.0_dsmrtools.txt"))
        .output()
        .expect("run");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("\"obis_1_3_0_2_8\":50") && !text.contains("p1_message_header"), "{text}");
    assert!(text.contains("\"electricity_used_tariff_1\":3432.829"), "{text}");
    let out = dsmrd_cmd()
        .args(["--log-level", "warn", "replay", "--timezone", "Europe/London"])
        .arg(recording("Iskra-AM550-M550T-1012_dsmr5.0_dsmrtools.txt"))
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("2019-03-24T15:05:41Z  replay  E0044007131650618\n"));

    // An encrypted recording with a meter's own authentication key (here the spec example's,
    // ffeedd...): read with it, and a failure with any other.
    let replay = |auth: &str| {
        dsmrd_cmd()
            .args(["--log-level", "warn", "replay", "--format", "json", "--key", "0123456789abcdef0123456789abcdef"])
            .args(["--auth-key", auth])
            .arg(recording("spec-example-LU-Smarty-encrypted-with-aad_smarty_athombv.bin"))
            .output()
            .expect("run")
    };
    let ok = replay("ffeeddccbbaa99887766554433221100");
    assert_eq!(ok.status.code(), Some(0), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("\"electricity_imported_total\":25.653"));
    let wrong = replay("00112233445566778899aabbccddeeff");
    assert_eq!(wrong.status.code(), Some(1), "no telegram: the exit code says so");
    assert!(String::from_utf8_lossy(&wrong.stdout).is_empty());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("the recording holds no valid telegram"));
}

#[test]
fn check_config_prints_the_pipeline_and_masks_secrets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        "[sources.meter]\ntype = \"tcp\"\naddress = \"p1.local:2001\"\ndecryption_key = \"${TEST_SMARTY_KEY}\"\n\n\
         [sinks.file]\ntype = \"csv\"\npath = \"r.csv\"\ninterval = \"10s\"\naggregate = \"mean\"\n\n\
         [daemon]\nshutdown_timeout = \"3s\"\n",
    )
    .expect("config");
    let key = "0123456789ABCDEF0123456789ABCDEF";
    let out = dsmrd_cmd().arg("check-config").arg(&config).env("TEST_SMARTY_KEY", key).output().expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("source meter: tcp p1.local:2001"), "{text}");
    assert!(text.contains("decryption_key ****"), "{text}");
    assert!(text.contains("sink file: csv") && text.contains("every 10s (mean)"), "{text}");
    assert!(text.contains("daemon: counters logged every 5m, sinks flushed within 3s at shutdown"), "{text}");
    assert!(!text.contains(key) && !String::from_utf8_lossy(&out.stderr).contains(key));

    let unset = dsmrd_cmd().arg("check-config").arg(&config).env_remove("TEST_SMARTY_KEY").output().expect("run");
    assert_eq!(unset.status.code(), Some(78));
    let err = String::from_utf8_lossy(&unset.stderr);
    assert!(
        err.contains("c.toml:4:18: sources.meter.decryption_key: environment variable TEST_SMARTY_KEY is not set"),
        "{err}"
    );
}

/// `dsmrd run` reading `copies` copies of `bad` and then `good` from stdin into CSV, which
/// must exit 0: its log, and the CSV's `electricity_used_tariff_1` column.
fn copies_then_good_into_csv(bad: &[u8], copies: usize, good: &[u8]) -> (String, Vec<String>) {
    let mut input = bad.repeat(copies);
    input.extend_from_slice(good);
    let dir = tempfile::tempdir().expect("tempdir");
    let (csv, mut child) = run_stdin_to_csv(dir.path());
    child.stdin.take().expect("stdin").write_all(&input).expect("write");
    let out = child.wait_with_output().expect("wait");
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{log}");
    (log, csv_column(&csv, "electricity_used_tariff_1"))
}

#[test]
fn a_flood_of_bad_telegrams_is_logged_as_a_summary() {
    // 2000 telegrams with a wrong CRC, as a bad cable would deliver them, then one good one.
    let good = std::fs::read(recording("Iskra-AM550-M550T-1012_dsmr5.0_dsmrtools.txt")).expect("rec");
    let text = String::from_utf8(good.clone()).expect("ascii");
    let bad = text.replace("3432.829", "3432.828");
    let (log, tariff_1) = copies_then_good_into_csv(bad.as_bytes(), 2000, &good);
    let one_by_one = log.lines().filter(|l| l.contains("Telegram rejected")).count();
    assert_eq!(one_by_one, 5, "{log}");
    assert!(log.contains("1995 more telegrams rejected"), "{log}");
    assert!(log.contains("crc_failures=2000"), "{log}");
    assert_eq!(tariff_1, vec!["3432.829".to_string()]);
}

/// A telegram with one line that is no value (DSMR 2.2, so no CRC to catch it): the line
/// is counted in the source's counters and the rest of the telegram is delivered.
#[test]
fn a_broken_line_is_counted_and_the_rest_delivered() {
    let good = std::fs::read_to_string(recording("Iskra-ME382-1003_dsmr2.2_smeterd.txt")).expect("rec");
    let broken = good.replace("(00490.342*kWh)", "(0049x.342*kWh)");
    assert_ne!(broken, good);
    let (log, tariff_1) = copies_then_good_into_csv(broken.as_bytes(), 1, b"");
    assert!(log.contains("line_errors=1 "), "{log}");
    assert!(log.contains("telegrams=1 "), "{log}");
    assert_eq!(tariff_1, ["608.4"]);
}

/// `socat ... | dsmrd run` stopped while a telegram is in its CRC: the digits that came
/// are no error of the meter's (nothing is reported), and a telegram whose CRC is whole
/// but whose line end has not come yet is still read.
#[test]
fn a_stop_inside_a_telegrams_crc_reports_nothing_and_a_whole_crc_is_read() {
    let telegram = std::fs::read(recording("Iskra-AM550-M550E-1012_dsmr5.0_dsmr5rs.txt")).expect("read");
    let bang = telegram.iter().rposition(|&b| b == b'!').expect("end marker");
    for (keep, rows) in [(2, 0), (4, 1)] {
        let (status, logs, dir) = run_then_signal(&telegram[..=bang + keep], "TERM", false);
        assert!(status.is_some_and(|s| s.success()), "{status:?}: {logs}");
        assert!(!logs.contains("rejected"), "{keep} CRC digits: {logs}");
        assert_eq!(csv_lines(&dir.path().join("r.csv")).len().saturating_sub(1), rows, "{keep} CRC digits: {logs}");
    }
}

/// `dsmrd run` from stdin into CSV (`r.csv` in the directory returned), sent `bytes` once
/// its sink is ready (a slow machine, or one emulated, takes a while to start) and then
/// `signal` half a second later: its exit status within 10 s (2 s under `nohup`; `None`:
/// still running then, and stopped) and its log as the signal left it.
fn run_then_signal(
    bytes: &[u8],
    signal: &str,
    under_nohup: bool,
) -> (Option<std::process::ExitStatus>, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, config) = stdin_to_csv_config(dir.path());
    let log = dir.path().join("log");
    let mut cmd = if under_nohup {
        let mut c = Command::new("nohup");
        c.arg(env!("CARGO_BIN_EXE_dsmrd"));
        c
    } else {
        dsmrd_cmd()
    };
    let mut child = cmd
        .args(["run", "--config"])
        .arg(&config)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("run");
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
    assert!(wait_for(Duration::from_secs(30), || read_log().contains("Sink ready")), "{}", read_log());
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(bytes).expect("write");
    stdin.flush().expect("flush");
    std::thread::sleep(Duration::from_millis(500));
    let _ = Command::new("kill").arg(format!("-{signal}")).arg(child.id().to_string()).status();
    let status = exit_within(&mut child, Duration::from_secs(if under_nohup { 2 } else { 10 }));
    // The log as the signal left it (a run still going is stopped below).
    let logged = read_log();
    if status.is_none() {
        let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
        let _ = exit_within(&mut child, Duration::from_secs(10));
        let _ = child.kill();
        let _ = child.wait();
    }
    drop(stdin);
    (status, logged, dir)
}

/// A closed terminal (SIGHUP) stops the service as SIGTERM does, flushing its sinks; under
/// `nohup` SIGHUP stays ignored and the service runs on.
#[test]
fn a_hangup_stops_the_service_unless_under_nohup() {
    let telegram = std::fs::read(recording("Iskra-AM550-M550E-1012_dsmr5.0_dsmr5rs.txt")).expect("rec");
    let tariff_1 = |dir: &tempfile::TempDir| csv_column(&dir.path().join("r.csv"), "electricity_used_tariff_1");
    let (status, log, dir) = run_then_signal(&telegram, "HUP", false);
    assert!(status.is_some_and(|s| s.success()), "{status:?}: {log}");
    assert!(log.contains("Shutting down: stopping sources, flushing sinks"), "{log}");
    assert_eq!(tariff_1(&dir), ["576.239"], "{log}");
    if !require_tool("nohup") {
        return;
    }
    let (status, log, dir) = run_then_signal(&telegram, "HUP", true);
    assert_eq!(status, None, "a hangup under nohup ended the service: {log}");
    assert!(!log.contains("Shutting down"), "{log}");
    assert_eq!(tariff_1(&dir), ["576.239"], "{log}");
}

/// A CSV file on a disk that fills up while a recording is replayed into it, and is freed
/// again while the sink retries: every reading ends up in the file, once, each row whole
/// (the failed batch is taken back from the file and written again).
#[test]
fn a_csv_file_on_a_disk_that_fills_up_and_is_freed_loses_no_reading() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (csv, config) = replay_to_csv_config(dir.path(), "[daemon]\nshutdown_timeout = \"60s\"\n");
    let log = dir.path().join("log");
    let mut cmd = dsmrd_cmd();
    cmd.args(["run", "--config"]).arg(&config).stdout(Stdio::null());
    cmd.stderr(std::fs::File::create(&log).expect("log"));
    limit_file_size(&mut cmd, 50_000);
    let mut child = cmd.spawn().expect("run");
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
    // Full: a write failed at the limit.
    let full = wait_for(Duration::from_secs(20), || read_log().contains("File too large"));
    assert!(full, "{}", read_log());
    assert!(lift_file_size_limit(child.id()), "prlimit");
    let status = exit_within(&mut child, Duration::from_secs(30));
    if status.is_none() {
        let _ = child.kill();
    }
    let logged = read_log();
    assert!(status.is_some_and(|s| s.success()), "{status:?}: {logged}");
    let text = std::fs::read_to_string(&csv).expect("csv");
    let commas = text.lines().next().expect("header").matches(',').count();
    assert!(text.ends_with('\n') && text.lines().all(|l| l.matches(',').count() == commas), "rows not whole");
    let times = csv_column(&csv, "time");
    assert_eq!(times.len(), 566, "{logged}");
    assert!(times.windows(2).all(|w| w[0] < w[1]), "rows twice or out of order");
    assert!(logged.contains("Sink recovered; the readings it held are delivered."), "{logged}");
    assert!(logged.contains("sink=file delivered=566 dropped=0"), "{logged}");
}

/// A replay into a CSV sink that cannot write (its file may not grow past 64 bytes)
/// ends with the recording, gives up at the shutdown timeout, and exits 1 naming the sink
/// and the count, so a CI job that replays a capture into a file does not pass on an empty
/// file.
#[test]
fn a_run_whose_input_ended_with_readings_lost_exits_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("c.toml");
    let rec = recording("Iskra-AM550-M550T-1012-recording-mini_dsmr5.0_dsmrtools.txt");
    let text = format!(
        "[sources.r]\ntype = \"replay\"\npath = {rec:?}\npace = \"fast\"\n\n\
         [sinks.full]\ntype = \"csv\"\npath = {csv:?}\n\n[daemon]\nshutdown_timeout = \"1s\"\n",
        csv = dir.path().join("r.csv")
    );
    std::fs::write(&config, text).expect("config");
    // A full disk, made by a file size limit (no device file is written to): every write
    // past 64 bytes fails with EFBIG, which the ignored SIGXFSZ lets through as an error.
    let mut cmd = dsmrd_cmd();
    cmd.args(["run", "--config"]).arg(&config);
    limit_file_size(&mut cmd, 64);
    let out = cmd.output().expect("run");
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("readings were not delivered: sink full lost 2"), "{log}");
    assert!(log.contains("Some readings were not delivered (see the sink counters above)."), "{log}");
    assert!(std::fs::metadata(dir.path().join("r.csv")).is_ok_and(|m| m.len() <= 64));
}

/// A log level that is no level is refused: tracing would read `verbose` as a target name
/// and log nothing at all, not even the warnings of a failing sink.
#[test]
fn an_unknown_log_level_is_refused() {
    let out = dsmrd_cmd()
        .args(["--log-level", "verbose", "parse", "--format", "none"])
        .arg(recording("MCS5-unknown_dsmr5.0_dsmr5rs.txt"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("possible values: error, warn, info, debug, trace, off"));
}

/// `dsmrd parse capture 2>&1`: a telegram's line error comes after the telegrams before it
/// and before its own, in stream order, though stdout is buffered; the summary's rate is
/// the telegrams over the time.
#[test]
fn parse_keeps_stream_order_between_output_and_errors() {
    let good = std::fs::read_to_string(recording("Iskra-MT382-1003-issue54a_dsmr2.2_dsmrtools.txt")).expect("read");
    let broken = good.replace("1-0:1.8.2(19403.220*kWh)", "1-0:1.8.2(19403.2x0*kWh)");
    assert_ne!(good, broken);
    let dir = tempfile::tempdir().expect("tempdir");
    let capture = dir.path().join("c.txt");
    std::fs::write(&capture, format!("{good}{broken}")).expect("capture");
    let both = dir.path().join("both.txt");
    let file = std::fs::File::create(&both).expect("out");
    let status = dsmrd_cmd()
        .args(["parse", "--format", "json"])
        .arg(&capture)
        .stdout(file.try_clone().expect("clone"))
        .stderr(file)
        .status()
        .expect("run");
    assert_eq!(status.code(), Some(0));
    let text = std::fs::read_to_string(&both).expect("read");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[0].starts_with('{') && lines[0].contains("19403.22"), "{text}");
    assert!(lines[1].contains("telegram 2, line 5: `1-0:1.8.2(19403.2x0*kWh)`: expected a number"), "{text}");
    assert!(lines[2].starts_with('{') && !lines[2].contains("19403.22"), "{text}");
    // `2 telegrams, ... S s, R telegrams/s`: R is 2 / S, within the rounding of S.
    let summary = lines[3];
    let number_before = |unit: &str| -> f64 {
        let head = summary.split(unit).next().unwrap_or_default();
        head.rsplit(' ').find(|w| !w.is_empty()).and_then(|w| w.parse().ok()).unwrap_or(f64::NAN)
    };
    let (secs, rate) = (number_before(" s, "), number_before(" telegrams/s"));
    assert!(summary.contains(": 2 telegrams, 0 CRC failures, 0 other errors, 1 line errors"), "{summary}");
    assert!(rate >= 1.0 && (rate * secs - 2.0).abs() <= rate * 0.0005 + 0.5, "{summary}");
}

/// `parse --dsmr-version` reads every telegram as that version (named in the output), and
/// an unknown one is refused with the list of those known.
#[test]
fn parse_reads_as_the_version_it_is_given() {
    let version_of = |v: &str| {
        let out = dsmrd_cmd()
            .args(["parse", "--dsmr-version", v])
            .arg(recording("Iskra-AM550-M550E-1012_dsmr5.0_dsmr5rs.txt"))
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON line");
        json["dsmr_version"].as_str().unwrap_or_default().to_string()
    };
    assert_eq!(version_of("auto"), "5");
    assert_eq!(version_of("4"), "4");
    assert_eq!(version_of("5B"), "5B");
    let out = dsmrd_cmd().args(["parse", "--dsmr-version", "6", "x.txt"]).output().expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("unknown DSMR version `6`; expected auto or one of 2.2, 3, 4, 5, 5B, 5L, 5S"), "{stderr}");
}

/// `replay --format` takes `table` or `json` and names them when given another word, one
/// with a control character included (it once reached a TOML parser and got its message).
#[test]
fn replay_names_its_formats_when_given_another() {
    for word in ["csv", "ta\u{1b}ble"] {
        let out = dsmrd_cmd()
            .args(["replay", "--format", word])
            .arg(recording("MCS5-unknown_dsmr5.0_dsmr5rs.txt"))
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("possible values: table, json"), "{stderr}");
        assert!(!stderr.contains("TOML"), "{stderr}");
        assert!(out.stdout.is_empty());
    }
}

/// `cat capture | dsmrd run` into a CSV file and a stdout that is read only after a pause:
/// a pipe waits for the sinks as a replay does, so neither sink loses a reading (as a live
/// source, stdin dropped thousands, from the CSV sink's queue too).
#[test]
fn a_piped_capture_loses_no_reading_to_a_slow_sink() {
    let one = std::fs::read(recording("Iskra-AM550-M550T-1012-recording_dsmr5.0_dsmrtools.txt")).expect("rec");
    let input = one.repeat(5);
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("r.csv");
    let config = dir.path().join("c.toml");
    let text = format!(
        "[sources.pipe]\ntype = \"stdin\"\n\n[sinks.file]\ntype = \"csv\"\npath = {csv:?}\n\n\
         [sinks.out]\ntype = \"stdout\"\nformat = \"json\"\n"
    );
    std::fs::write(&config, text).expect("config");
    let mut child = dsmrd_cmd()
        .args(["run", "--config"])
        .arg(&config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    // Nobody reads stdout for a while: its pipe fills and the stdout sink stalls.
    std::thread::sleep(Duration::from_millis(1500));
    let out = child.wait_with_output().expect("wait");
    writer.join().expect("writer").expect("write");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2830, "{log}");
    assert_eq!(csv_lines(&csv).len(), 2831, "{log}");
    assert!(log.contains("sink=file delivered=2830 dropped=0"), "{log}");
}

/// An input that ends without one valid telegram (a wrong file, a wrong key) makes `run`
/// exit 1, as `parse` and `replay` do; one telegram is enough for 0.
#[test]
fn a_run_whose_input_held_no_telegram_exits_1() {
    let good = std::fs::read(recording("Iskra-AM550-M550E-1012_dsmr5.0_dsmr5rs.txt")).expect("rec");
    for (input, code) in [(b"no meter here\r\n".to_vec(), 1), (good, 0)] {
        let dir = tempfile::tempdir().expect("tempdir");
        let (_, mut child) = run_stdin_to_csv(dir.path());
        child.stdin.take().expect("stdin").write_all(&input).expect("write");
        let out = child.wait_with_output().expect("wait");
        let log = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{log}");
        assert_eq!(log.contains("the input ended without one valid telegram"), code == 1, "{log}");
    }
}

/// `dsmrd run | head -1` with a CSV sink too: the stdout reader went away by choice, so
/// the readings stdout could not take are no loss; the CSV file gets them all, exit 0.
#[test]
fn a_closed_stdout_is_no_lost_reading() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (csv, config) = replay_to_csv_config(dir.path(), "[sinks.out]\ntype = \"stdout\"\nformat = \"json\"\n");
    let mut child = dsmrd_cmd()
        .args(["run", "--config"])
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run");
    let mut first = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().expect("stdout")), &mut first)
        .expect("line");
    assert!(first.contains("\"electricity_used_tariff_1\""), "{first}");
    let out = child.wait_with_output().expect("wait");
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert_eq!(csv_lines(&csv).len(), 567, "{log}");
}

/// `serve --pace N` sends each telegram whole after its gap, also one that crosses the
/// server's 64 KiB reads: after every pause the next bytes start a telegram.
#[test]
fn serve_sends_each_telegram_whole_after_its_gap() {
    use std::io::Read;
    // Telegrams 1 s apart at 100×: a 10 ms pause before each.
    let (_server, addr) = serve(&recording("Iskra-AM550-M550T-1012-recording_dsmr5.0_dsmrtools.txt"), "100");
    let mut stream = std::net::TcpStream::connect(&addr).expect("connect");
    let mut buf = [0u8; 65536];
    // The first bytes (the recording starts inside a telegram) come after the server's start.
    let n = stream.read(&mut buf).expect("read");
    let mut got: Vec<u8> = buf[..n].to_vec();
    let mut after_pause = Vec::new();
    let mut last = std::time::Instant::now();
    // Past the first 64 KiB read of the server, and the telegram that crosses it.
    while got.len() < 72 * 1024 {
        let n = stream.read(&mut buf).expect("read");
        assert!(n > 0, "the server closed early");
        if last.elapsed() >= Duration::from_millis(6) {
            after_pause.push(got.len());
        }
        got.extend_from_slice(&buf[..n]);
        last = std::time::Instant::now();
    }
    assert!(after_pause.len() > 50, "{} pauses", after_pause.len());
    for at in after_pause {
        assert_eq!(got[at], b'/', "bytes after a pause at {at} do not start a telegram");
    }
}

/// `serve --loop` of a recording that is moved away: the client it was playing to is told
/// nothing false (no "client disconnected"), the log names the file, and the connection ends.
#[test]
fn serve_says_when_its_looped_recording_has_gone() {
    use std::io::Read;
    let dir = tempfile::tempdir().expect("tempdir");
    let copy = dir.path().join("copy.txt");
    std::fs::copy(recording("Iskra-AM550-M550T-1012-recording-mini_dsmr5.0_dsmrtools.txt"), &copy).expect("copy");
    let addr = format!("127.0.0.1:{}", free_port());
    let log = dir.path().join("log");
    let _server =
        dsmrd(&["serve", copy.to_str().expect("utf-8"), "--listen", &addr, "--pace", "1000", "--loop"], Some(&log));
    assert!(wait_for(Duration::from_secs(10), || std::net::TcpStream::connect(&addr).is_ok()), "serve did not listen");
    let mut stream = std::net::TcpStream::connect(&addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let mut buf = [0u8; 4096];
    assert!(stream.read(&mut buf).expect("first bytes") > 0);
    std::fs::remove_file(&copy).expect("remove");
    // Read on until the server closes the connection.
    let mut closed = false;
    for _ in 0..100_000 {
        match stream.read(&mut buf) {
            Ok(0) => {
                closed = true;
                break;
            }
            Ok(_) => {}
            Err(e) => panic!("read: {e}"),
        }
    }
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
    assert!(closed, "{}", read_log());
    assert!(wait_for(Duration::from_secs(5), || read_log().contains("cannot open the recording")), "{}", read_log());
    let logged = read_log();
    let me = stream.local_addr().expect("addr").to_string();
    let mine: Vec<&str> = logged.lines().filter(|l| l.contains(&me)).collect();
    assert_eq!(mine.len(), 1, "{logged}");
    assert!(
        mine[0].ends_with("copy.txt; stopped serving this client: No such file or directory (os error 2)"),
        "{logged}"
    );
}

/// A client of `serve` that hangs up is said to have left (not logged as an error), and
/// the recording, not looped, ends the connection once played.
#[test]
fn serve_tells_a_client_that_left_from_a_recording_played_out() {
    use std::io::Read;
    let dir = tempfile::tempdir().expect("tempdir");
    let rec = recording("Iskra-AM550-M550T-1012-recording_dsmr5.0_dsmrtools.txt");
    let addr = format!("127.0.0.1:{}", free_port());
    let log = dir.path().join("log");
    let _server = dsmrd(&["serve", rec.to_str().expect("utf-8"), "--listen", &addr, "--pace", "1000"], Some(&log));
    assert!(wait_for(Duration::from_secs(10), || std::net::TcpStream::connect(&addr).is_ok()), "serve did not listen");
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
    // One client reads a little and hangs up; another reads the whole recording.
    let mut leaving = std::net::TcpStream::connect(&addr).expect("connect");
    let left = leaving.local_addr().expect("addr").to_string();
    let mut buf = [0u8; 4096];
    assert!(leaving.read(&mut buf).expect("read") > 0);
    drop(leaving);
    let mut staying = std::net::TcpStream::connect(&addr).expect("connect");
    staying.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    let stayed = staying.local_addr().expect("addr").to_string();
    let bytes = std::fs::read(&rec).expect("rec");
    // Read to the end, or to more than the recording holds (a serve that does not stop).
    let mut all = Vec::new();
    while all.len() <= bytes.len() {
        match staying.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => all.extend_from_slice(&buf[..n]),
            Err(e) => panic!("read: {e}"),
        }
    }
    assert!(all == bytes, "{} bytes read of {}, then the end", all.len(), bytes.len());
    let said = |peer: &str, words: &str| read_log().lines().any(|l| l.contains(peer) && l.ends_with(words));
    assert!(wait_for(Duration::from_secs(5), || said(&left, ": client disconnected")), "{}", read_log());
    assert!(wait_for(Duration::from_secs(5), || said(&stayed, ": recording played")), "{}", read_log());
}

/// A looping replay of a recording with no valid telegram (one with a bad CRC) waits
/// between passes instead of spinning: fast, a second; paced, the 10 s default spacing.
#[test]
fn a_loop_over_a_recording_without_a_telegram_does_not_spin() {
    let rec = recording("Iskra-AM550-short-badcrc_dsmr5.0_dsmrtools.txt");
    for pace in ["fast", "realtime"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("log");
        let mut p = dsmrd(&["replay", rec.to_str().expect("utf-8"), "--loop", "--pace", pace], Some(&log));
        std::thread::sleep(Duration::from_millis(2500));
        // Stopped; `replay` exits 1, as the recording held no telegram.
        assert_eq!(p.terminate(Duration::from_secs(10)).and_then(|s| s.code()), Some(1));
        let text = std::fs::read_to_string(&log).expect("log");
        let failures: u64 = text
            .split("crc_failures=")
            .nth(1)
            .and_then(|t| t.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .expect("counters in the log");
        // A pass a second at most (it was 75,000 in 3 s).
        assert!((1..=4).contains(&failures), "{pace}: {failures} CRC failures: {text}");
    }
}

/// Two replays, one of them with a wrong Smarty key: the good one is read, and the run
/// still exits 1, naming the source that read nothing.
#[test]
fn a_source_that_read_nothing_fails_the_run_though_another_read_well() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("c.toml");
    let good = recording("Iskra-AM550-M550E-1012_dsmr5.0_dsmr5rs.txt");
    let lux = recording("Sagemcom-Smarty-Lux5-encrypted_smarty-LU_openhab.bin");
    let text = format!(
        "[sources.good]\ntype = \"replay\"\npath = {good:?}\n\n[sources.lux]\ntype = \"replay\"\npath = {lux:?}\n\
         decryption_key = \"00112233445566778899AABBCCDDEEFF\"\n\n[sinks.file]\ntype = \"csv\"\npath = {:?}\n",
        dir.path().join("r.csv")
    );
    std::fs::write(&config, text).expect("config");
    let out = dsmrd_cmd().args(["run", "--config"]).arg(&config).output().expect("run");
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("the input ended without one valid telegram (source lux)"), "{log}");
    assert_eq!(csv_lines(&dir.path().join("r.csv")).len(), 2, "{log}");
}

/// A paced replay stopped between telegrams counts as read what it played: the source's
/// telegrams and the sink's delivered agree (it decodes a little ahead).
#[test]
fn a_stopped_paced_replay_counts_what_it_played() {
    let rec = recording("Iskra-AM550-M550T-1012-recording_dsmr5.0_dsmrtools.txt");
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("log");
    let mut p = dsmrd(&["replay", rec.to_str().expect("utf-8"), "--pace", "realtime", "--format", "json"], Some(&log));
    std::thread::sleep(Duration::from_millis(2500));
    assert!(p.terminate(Duration::from_secs(10)).is_some());
    let text = std::fs::read_to_string(&log).expect("log");
    let count = |key: &str| -> u64 {
        let stopped = text.lines().filter(|l| l.contains("Stopped:")).collect::<Vec<_>>().join(" ");
        stopped.split(key).nth(1).and_then(|t| t.split_whitespace().next()).and_then(|n| n.parse().ok()).expect(key)
    };
    assert!(count("telegrams=") >= 2, "{text}");
    assert_eq!(count("telegrams="), count("delivered="), "{text}");
}

/// A replay that has ended while its stdout sink is stuck (a pipe nobody reads): the sinks
/// flush for up to `shutdown_timeout`, and a stop signal then is still heard, a second one
/// ending the process at once (130) instead of at the timeout.
#[test]
fn a_second_stop_while_the_sinks_flush_after_the_input_ended_exits_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("c.toml");
    let rec = recording("Iskra-AM550-M550T-1012-recording_dsmr5.0_dsmrtools.txt");
    let text = format!(
        "[sources.r]\ntype = \"replay\"\npath = {rec:?}\n\n[sinks.out]\ntype = \"stdout\"\nformat = \"json\"\nqueue = 5000\n\n[sinks.file]\ntype = \"csv\"\npath = {csv:?}\nqueue = 5000\n\n[daemon]\nshutdown_timeout = \"60s\"\n",
        csv = dir.path().join("r.csv")
    );
    std::fs::write(&config, text).expect("config");
    let (reader, writer) = std::io::pipe().expect("pipe");
    let mut child =
        dsmrd_cmd().args(["run", "--config"]).arg(&config).stdout(writer).stderr(Stdio::piped()).spawn().expect("run");
    // The replay queues its 566 readings at once and ends; stdout fills and stays full.
    std::thread::sleep(Duration::from_secs(2));
    let _ = Command::new("kill").arg("-INT").arg(child.id().to_string()).status();
    std::thread::sleep(Duration::from_millis(1500));
    let _ = Command::new("kill").arg("-INT").arg(child.id().to_string()).status();
    let status = exit_within(&mut child, Duration::from_secs(10));
    drop(reader);
    let status = status.unwrap_or_else(|| {
        let _ = child.kill();
        panic!("still flushing 10 s after the second stop signal")
    });
    let mut log = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut log).expect("log");
    assert_eq!(status.code(), Some(130), "{status}: {log}");
    // The first signal came after the input had ended (not a stop of a running replay).
    assert!(log.contains("Stop requested while the sinks flush"), "{log}");
    // What the stuck sink still held is said, with a count (some of the 566 left).
    let undelivered: usize = log
        .lines()
        .find(|l| l.contains("Exiting without waiting: readings not delivered.") && l.contains("sink=out"))
        .and_then(|l| l.split("undelivered=").nth(1)?.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no undelivered count: {log}"));
    assert!((1..=566).contains(&undelivered), "{log}");
    // The CSV sink, which had delivered everything, is not named.
    assert_eq!(csv_column(&dir.path().join("r.csv"), "time").len(), 566, "{log}");
    assert!(!log.lines().any(|l| l.contains("Exiting without waiting") && l.contains("sink=file")), "{log}");
}

/// A stream that starts mid-telegram forgives that one cut-off telegram, not the ones after
/// it: those are logged and counted, even before the first good telegram.
#[test]
fn only_the_first_cut_off_telegram_of_a_stream_is_forgiven() {
    let good = std::fs::read(recording("Iskra-AM550-M550T-1012_dsmr5.0_dsmrtools.txt")).expect("rec");
    let (log, tariff_1) = copies_then_good_into_csv(&good[..good.len() / 2], 3, &good);
    let reported = log.lines().filter(|l| l.contains("Telegram rejected") && l.contains("truncated")).count();
    assert_eq!(reported, 2, "{log}");
    assert!(log.contains("other_errors=3"), "{log}");
    assert_eq!(tariff_1, vec!["3432.829".to_string()]);
}

/// A character device that is not a terminal (`/dev/null`) is read as a file, not opened
/// as a serial port: no telegram, exit 1.
#[test]
fn parse_reads_a_device_that_is_no_terminal_as_a_file() {
    let out = dsmrd_cmd().args(["parse", "/dev/null"]).output().expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("/dev/null: 0 telegrams") && !stderr.contains("serial port"), "{stderr}");
}

/// `--max-telegram-bytes` bounds a telegram by its bytes before the end marker `!` (770 in
/// this recording): one byte fewer and it is refused as too long (the input then held no
/// telegram), at 770 it is read; under 64 the flag itself is refused.
#[test]
fn parse_bounds_a_telegram_by_max_telegram_bytes() {
    let file = recording("Iskra-AM550-M550E-1012_dsmr5.0_dsmr5rs.txt");
    let run = |max: &str| {
        dsmrd_cmd().args(["parse", "--format", "none", "--max-telegram-bytes", max]).arg(&file).output().expect("run")
    };
    let small = run("769");
    assert_eq!(small.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&small.stderr);
    assert!(stderr.contains("longer than 769 bytes"), "{stderr}");
    assert!(stderr.contains("0 telegrams, 0 CRC failures, 1 other errors"), "{stderr}");
    let fits = run("770");
    assert_eq!(fits.status.code(), Some(0), "{}", String::from_utf8_lossy(&fits.stderr));
    let tiny = run("63");
    assert_eq!(tiny.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&tiny.stderr).contains("must be at least 64"));
    assert_eq!(run("64").status.code(), Some(1));
}

/// `dsmrd fields`: one line per field with its code, unit, meaning and versions; with
/// `--dsmr-version`, that version's table alone, each line naming only it, and every field
/// of the full list that names it.
#[test]
fn fields_lists_every_name_and_narrows_to_one_version() {
    let fields = |args: &[&str]| {
        let out = dsmrd_cmd().arg("fields").args(args).output().expect("run");
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8(out.stdout).expect("utf-8")
    };
    let all = fields(&[]);
    let line = all.lines().find(|l| l.starts_with("electricity_used_tariff_1 ")).expect("tariff 1");
    assert!(
        line.contains(" 1-0:1.8.1 ")
            && line.contains(" kWh ")
            && line.ends_with("[2.2,4,5,5B,5L,5S,EON_HU,ISKRA_IE,ESO_LT]"),
        "{line}"
    );
    assert!(
        all.lines()
            .any(|l| l.starts_with("electricity_used_tariff_1 ") && l.contains(" Wh ") && l.ends_with("[T210D_AT]"))
    );
    // M-Bus lines under each device's name.
    assert!(all.lines().any(|l| l.starts_with("water_meter_reading ") && l.contains("0-n:24.2.1")), "{all}");
    let belgian = fields(&["--dsmr-version", "5B"]);
    let names = |text: &str| {
        text.lines().map(|l| l.split_whitespace().next().unwrap_or_default().to_string()).collect::<Vec<_>>()
    };
    assert!(belgian.lines().all(|l| l.ends_with("[5B]")), "{belgian}");
    assert!(belgian.lines().any(|l| l.starts_with("belgium_maximum_demand_13_months ")));
    assert!(!belgian.contains("cosem_logical_device_name "), "a Hungarian name in the Belgian table");
    assert!(all.contains("cosem_logical_device_name "));
    let in_all: Vec<String> = names(&all.lines().filter(|l| l.contains("5B")).collect::<Vec<_>>().join("\n"));
    assert_eq!(names(&belgian), in_all);
    let markdown = fields(&["--dsmr-version", "5B", "--markdown"]);
    assert_eq!(markdown.lines().count(), belgian.lines().count() + 2);
    assert!(markdown.contains("| `belgium_maximum_demand_13_months` | `0-0:98.1.0` |"), "{markdown}");
    // `dsmrd fields | head -n 1`, the reader gone before the table is written: no error.
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let out = dsmrd_cmd().arg("fields").stdout(writer).stderr(Stdio::piped()).output().expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    // Into a file on a full disk: an error, said.
    let out = output_into_a_full_file(&["fields"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("dsmrd: cannot write the field table: File too large"), "{stderr}");
}

/// A replay reads its file again on every loop, so a FIFO (or any file that is no regular
/// file) is refused at once, with the way to read one, instead of waiting on it.
#[test]
fn replay_and_serve_refuse_a_fifo() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("p1.fifo");
    let path = std::ffi::CString::new(fifo.to_str().expect("utf-8")).expect("path");
    // SAFETY: a valid NUL-terminated path; mkfifo only creates the node.
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0, "mkfifo");
    for command in ["replay", "serve"] {
        let mut child = dsmrd_cmd()
            .arg(command)
            .arg(&fifo)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run");
        let status = exit_within(&mut child, Duration::from_secs(10));
        if status.is_none() {
            let _ = child.kill();
        }
        let mut stderr = String::new();
        let _ = std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr);
        assert_eq!(status.and_then(|s| s.code()), Some(2), "{command}: {stderr}");
        assert!(stderr.contains("p1.fifo is no regular file (a replay reads a file again on every loop"), "{stderr}");
    }
}
