//! Replays: the 566-telegram Iskra capture into a CSV through the real binary, and the
//! realtime pacing under paused tokio time.

mod common;

use std::time::Duration;

use common::*;

#[test]
fn iskra_recording_replayed_fast_into_csv_gives_566_rows() {
    replay_into_csv(&["run", "--config"]);
}

/// `dsmrd run FILE`, the configuration given without `--config`, does the same.
#[test]
fn run_takes_the_configuration_without_its_flag() {
    replay_into_csv(&["run"]);
}

/// Replay the Iskra capture through `dsmrd ARGS CONFIG` into a CSV and check its rows.
fn replay_into_csv(args: &[&str]) {
    let (_dir, config, csv) = replay_config("meter", "Iskra-AM550-M550T-1012-recording_dsmr5.0_dsmrtools.txt", "");
    let status =
        std::process::Command::new(env!("CARGO_BIN_EXE_dsmrd")).args(args).arg(&config).status().expect("run dsmrd");
    assert!(status.success(), "dsmrd run failed: {status}");
    let t1 = csv_column(&csv, "electricity_used_tariff_1");
    assert_eq!(t1.len(), 566);
    assert_eq!(t1.last().map(String::as_str), Some("3432.921"));
    let times = csv_column(&csv, "time");
    // The telegrams' own times, not the wall clock: the capture is from 24 March 2019.
    assert!(times[0].starts_with("2019-03-24T"), "{}", times[0]);
    assert!(times.windows(2).all(|w| w[0] < w[1]), "rows in telegram order");
}

/// A configuration that replays recording `name` fast, as source `source`, into a CSV sink
/// with `csv_keys` added: (its directory, the configuration, the CSV file).
fn replay_config(
    source: &str,
    name: &str,
    csv_keys: &str,
) -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, csv) = replay_config_in(dir.path(), source, &recording(name), csv_keys);
    (dir, config, csv)
}

/// [`replay_config`] of the capture at `path`, its files in `dir`: (the configuration, the
/// CSV file).
fn replay_config_in(
    dir: &std::path::Path,
    source: &str,
    path: &std::path::Path,
    csv_keys: &str,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let csv = dir.join("readings.csv");
    let config = dir.join("dsmrd.toml");
    let text = format!(
        "[sources.{source}]\ntype = \"replay\"\npath = {path:?}\npace = \"fast\"\n\n[sinks.file]\ntype = \"csv\"\npath = {csv:?}\n{csv_keys}"
    );
    std::fs::write(&config, text).expect("config");
    (config, csv)
}

/// A capture whose last telegram lacks only its final line end (stopped right after the
/// CRC) replays every telegram: the last is read when the file ends, without an error.
#[test]
fn a_replay_reads_a_last_telegram_that_lacks_its_line_end() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bytes = std::fs::read(recording("Iskra-AM550-M550T-1012-recording_dsmr5.0_dsmrtools.txt")).expect("read");
    let capture = dir.path().join("cut.txt");
    std::fs::write(&capture, bytes.strip_suffix(b"\r\n").expect("ends in a line end")).expect("write");
    let (config, csv) = replay_config_in(dir.path(), "meter", &capture, "");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dsmrd"))
        .args(["run", "--config"])
        .arg(&config)
        .output()
        .expect("run dsmrd");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    let t1 = csv_column(&csv, "electricity_used_tariff_1");
    assert_eq!(t1.len(), 566);
    assert_eq!(t1.last().map(String::as_str), Some("3432.921"));
    assert!(!log.contains("WARN") && !log.contains("ERROR"), "{log}");
}

/// A listed field that this meter gives under a longer name: its column stays empty, and
/// the log says which name to list instead, once.
#[test]
fn a_listed_field_that_the_meter_names_otherwise_is_pointed_out() {
    let (_dir, config, csv) = replay_config(
        "fluvius",
        "Fluvius-FLU5-anon-3phase_e-MUCS-P1-1.7.x-BE_openhab.txt",
        "fields = [\"equipment_identifier\", \"electricity_used_tariff_1\"]\n",
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dsmrd"))
        .args(["run", "--config"])
        .arg(&config)
        .output()
        .expect("run dsmrd");
    assert!(out.status.success(), "dsmrd run failed: {}", out.status);
    let log = String::from_utf8_lossy(&out.stderr);
    let hint = "The CSV column `equipment_identifier` stays empty: readings of source `fluvius` have no such field, but they have `belgium_equipment_identifier`";
    assert_eq!(log.matches(hint).count(), 1, "{log}");
    let ids = csv_column(&csv, "equipment_identifier");
    assert!(!ids.is_empty() && ids.iter().all(String::is_empty), "{ids:?}");
    let t1 = csv_column(&csv, "electricity_used_tariff_1");
    assert_eq!(t1.len(), ids.len());
    assert!(t1.iter().all(|v| v.parse::<f64>().is_ok_and(|x| x > 0.0)), "{t1:?}");
}

mod paced {
    use std::sync::{Arc, Mutex};

    use dsmrd::config::{DecodeSettings, Pace, ReplayConfig, SinkPipeline, SourceConfig, SourceKind};
    use dsmrd::pipeline;
    use dsmrd::source::{self, SourceCounters};
    use dsmrd_sinks::{Reading, Sink, SinkError};
    use tokio::time::Instant;

    use super::*;

    /// Records when (in tokio time) each reading arrived.
    struct Clock(Arc<Mutex<Vec<(Instant, i64)>>>);

    #[async_trait::async_trait]
    impl Sink for Clock {
        async fn send(&mut self, batch: &[Reading]) -> Result<(), SinkError> {
            let now = Instant::now();
            let mut seen = self.0.lock().expect("lock");
            seen.extend(batch.iter().map(|r| (now, r.time.as_millisecond())));
            Ok(())
        }
    }

    async fn replay(pace: Pace, path: std::path::PathBuf) -> Vec<(Instant, i64)> {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (fanout, tasks) =
            pipeline::start(vec![("clock".into(), Box::new(Clock(seen.clone())), SinkPipeline::default())]);
        let cfg = SourceConfig {
            name: "replay".into(),
            kind: SourceKind::Replay(ReplayConfig { path, pace, looped: false }),
            decode: DecodeSettings::default(),
        };
        let (_stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        source::run(cfg, fanout, Arc::new(SourceCounters::default()), stop_rx).await;
        pipeline::shutdown(tasks, Duration::from_secs(5)).await;
        let guard = seen.lock().expect("lock");
        guard.clone()
    }

    #[tokio::test(start_paused = true)]
    async fn realtime_replay_is_spaced_as_the_telegram_timestamps_say() {
        let start = Instant::now();
        let seen = replay(Pace::Speed(1.0), recording("Iskra-AM550-M550T-1012-recording_dsmr5.0_dsmrtools.txt")).await;
        assert_eq!(seen.len(), 566);
        let span = (seen.last().expect("some").1 - seen[0].1) / 1000;
        let elapsed = seen.last().expect("some").0 - start;
        // Virtual time passed exactly as the capture's own clock did.
        assert_eq!(elapsed.as_secs() as i64, span, "elapsed {elapsed:?} vs telegram span {span}s");
        for w in seen.windows(2) {
            assert_eq!((w[1].0 - w[0].0).as_millis() as i64, w[1].1 - w[0].1);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_speed_factor_divides_the_gaps() {
        let start = Instant::now();
        let seen = replay(Pace::Speed(10.0), recording("Iskra-AM550-M550T-1012-recording_dsmr5.0_dsmrtools.txt")).await;
        let span = (seen.last().expect("some").1 - seen[0].1) as f64 / 1000.0;
        let elapsed = (seen.last().expect("some").0 - start).as_secs_f64();
        assert!((elapsed - span / 10.0).abs() < 0.5, "elapsed {elapsed} vs {}", span / 10.0);
    }

    #[tokio::test(start_paused = true)]
    async fn telegrams_without_timestamps_are_ten_seconds_apart() {
        // Three DSMR 2.2 telegrams, which carry no timestamp.
        let one = std::fs::read(recording("Iskra-ME382-1004_dsmr2.2_smeterd.txt")).expect("recording");
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("three.txt");
        std::fs::write(&path, [one.clone(), one.clone(), one].concat()).expect("write");
        let start = Instant::now();
        let seen = replay(Pace::Speed(1.0), path).await;
        let offsets: Vec<u64> = seen.iter().map(|(t, _)| (*t - start).as_secs()).collect();
        assert_eq!(offsets, vec![0, 10, 20]);
    }

    #[tokio::test]
    async fn telegrams_without_timestamps_are_stamped_when_played() {
        // As a live meter's are when they arrive, not all at the moment their chunk was read.
        let one = std::fs::read(recording("Iskra-ME382-1004_dsmr2.2_smeterd.txt")).expect("recording");
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("three.txt");
        std::fs::write(&path, [one.clone(), one.clone(), one].concat()).expect("write");
        // Ten seconds apart, a hundred times as fast: 100 ms.
        let seen = replay(Pace::Speed(100.0), path).await;
        let stamps: Vec<i64> = seen.iter().map(|(_, ms)| *ms).collect();
        assert_eq!(stamps.len(), 3);
        for w in stamps.windows(2) {
            assert!((80..1000).contains(&(w[1] - w[0])), "{stamps:?}");
        }
    }

    /// Counts the readings it gets and says when it has seen `enough`.
    struct Counter(Arc<Mutex<Vec<i64>>>, usize, Option<tokio::sync::oneshot::Sender<()>>);

    #[async_trait::async_trait]
    impl Sink for Counter {
        async fn send(&mut self, batch: &[Reading]) -> Result<(), SinkError> {
            let mut seen = self.0.lock().expect("lock");
            seen.extend(batch.iter().map(|r| r.time.as_second()));
            if seen.len() >= self.1 {
                if let Some(tx) = self.2.take() {
                    let _ = tx.send(());
                }
            }
            Ok(())
        }
    }

    /// A looping fast replay starts over at the end of the file, keeps going until shutdown,
    /// then stops; everything it decoded reaches the sink, in order within each pass.
    #[tokio::test(flavor = "current_thread")]
    async fn a_looping_fast_replay_runs_until_shutdown() {
        let path = recording("Iskra-AM550-M550T-1012-recording_dsmr5.0_dsmrtools.txt");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (enough_tx, enough_rx) = tokio::sync::oneshot::channel();
        let sink = Counter(seen.clone(), 3 * 566, Some(enough_tx));
        let (fanout, tasks) = pipeline::start(vec![("count".into(), Box::new(sink), SinkPipeline::default())]);
        let cfg = SourceConfig {
            name: "replay".into(),
            kind: SourceKind::Replay(ReplayConfig { path, pace: Pace::Fast, looped: true }),
            decode: DecodeSettings::default(),
        };
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let counters = Arc::new(SourceCounters::default());
        let source = tokio::spawn(source::run(cfg, fanout, counters.clone(), stop_rx));
        tokio::time::timeout(Duration::from_secs(30), enough_rx).await.expect("three passes in 30 s").expect("sink");
        stop_tx.send(true).expect("stop");
        tokio::time::timeout(Duration::from_secs(5), source).await.expect("the source stops").expect("join");
        pipeline::shutdown(tasks, Duration::from_secs(5)).await;
        let seen = seen.lock().expect("lock");
        assert!(seen.len() >= 3 * 566, "{} readings", seen.len());
        // Each pass replays the recording from its first telegram: time goes back exactly
        // at the start of a pass.
        let restarts: Vec<usize> =
            seen.windows(2).enumerate().filter(|(_, w)| w[1] < w[0]).map(|(i, _)| i + 1).collect();
        assert!(restarts.len() >= 2, "{restarts:?}");
        assert!(restarts.iter().all(|i| i % 566 == 0), "passes of 566 readings: {restarts:?}");
        assert_eq!(seen[0], seen[566]);
    }
}

/// A configuration in `dir` that replays the 566-telegram Iskra capture with `pace` (and
/// `source_extra` keys) into the sinks and daemon settings of `rest`.
fn iskra_config(dir: &std::path::Path, pace: &str, rest: &str) -> std::path::PathBuf {
    let config = dir.join("dsmrd.toml");
    let recording = recording("Iskra-AM550-M550T-1012-recording_dsmr5.0_dsmrtools.txt");
    std::fs::write(
        &config,
        format!("[sources.meter]\ntype = \"replay\"\npath = {recording:?}\npace = {pace}\n\n{rest}"),
    )
    .expect("config");
    config
}

/// `dsmrd run --config CONFIG` with these stdout and stderr.
fn start(config: &std::path::Path, stdout: std::process::Stdio, stderr: std::process::Stdio) -> Proc {
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_dsmrd"))
        .args(["run", "--config"])
        .arg(config)
        .stdin(std::process::Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .expect("start dsmrd");
    Proc { child, name: "dsmrd".into() }
}

/// The daemon's log reader goes away (`dsmrd run c.toml 2>&1 | head`): the service goes on
/// logging into the closed pipe without stopping, and still stops cleanly on SIGTERM with
/// every reading in its CSV.
#[test]
fn a_closed_log_pipe_does_not_stop_the_service() {
    use std::io::Read;
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("readings.csv");
    let rest = format!("[sinks.file]\ntype = \"csv\"\npath = {csv:?}\n\n[daemon]\nstats_interval = \"1s\"\n");
    let config = iskra_config(dir.path(), "20.0", &rest);
    let mut proc = start(&config, std::process::Stdio::null(), std::process::Stdio::piped());
    let mut first = [0u8; 16];
    proc.child.stderr.take().expect("stderr").read_exact(&mut first).expect("a first log line");
    // The pipe is closed now; the stats line due every second finds no reader.
    std::thread::sleep(Duration::from_millis(2500));
    assert!(proc.child.try_wait().expect("wait").is_none(), "dsmrd stopped when its log pipe closed");
    let rows = csv_column(&csv, "time").len();
    assert!(rows > 0, "readings arrive while the log pipe is closed");
    let status = proc.terminate(Duration::from_secs(10));
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
    assert!(csv_column(&csv, "time").len() >= rows);
}

/// `dsmrd run c.toml | head -c 100`: the stdout sink's reader goes away. That sink is
/// switched off with one error, not one per telegram, and the CSV sink gets every reading.
#[test]
fn a_closed_stdout_switches_its_sink_off_and_the_others_go_on() {
    use std::io::Read;
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("readings.csv");
    let rest = format!(
        "[sinks.console]\ntype = \"stdout\"\nformat = \"json\"\n\n[sinks.file]\ntype = \"csv\"\npath = {csv:?}\n"
    );
    let config = iskra_config(dir.path(), "200.0", &rest);
    let log = dir.path().join("dsmrd.log");
    let log_file = std::fs::File::create(&log).expect("log");
    let mut proc = start(&config, std::process::Stdio::piped(), log_file.into());
    let mut first = [0u8; 100];
    proc.child.stdout.take().expect("stdout").read_exact(&mut first).expect("the first reading");
    let done = wait_for(Duration::from_secs(60), || matches!(proc.child.try_wait(), Ok(Some(_))));
    let logs = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(done, "the replay did not end:\n{logs}");
    assert_eq!(csv_column(&csv, "time").len(), 566, "{logs}");
    assert_eq!(logs.matches("destination is gone").count(), 1, "{logs}");
    assert!(!logs.contains("rejected readings for good"), "{logs}");
}

/// A looping replay of a recording that ends inside a telegram rejects that telegram on
/// every pass: the log still says so at most five times a minute, then in one summary a
/// minute (it wrote a summary line per pass, hundreds of thousands in seconds).
#[test]
fn a_looping_replay_with_a_cut_telegram_keeps_to_the_log_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("dsmrd.toml");
    let recording = recording("Iskra-AM550-M550T-1012-recording-mini_dsmr5.0_dsmrtools.txt");
    let csv = dir.path().join("readings.csv");
    std::fs::write(
        &config,
        format!(
            "[sources.meter]\ntype = \"replay\"\npath = {recording:?}\npace = \"fast\"\nloop = true\n\n\
             [sinks.file]\ntype = \"csv\"\npath = {csv:?}\ninterval = \"1h\"\n"
        ),
    )
    .expect("config");
    let log = dir.path().join("dsmrd.log");
    let log_file = std::fs::File::create(&log).expect("log");
    let mut proc = start(&config, std::process::Stdio::null(), log_file.into());
    std::thread::sleep(Duration::from_secs(2));
    let status = proc.terminate(Duration::from_secs(15));
    let logs = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
    let one_by_one = logs.matches("Telegram rejected").count();
    let summaries = logs.matches("more telegrams rejected").count();
    assert_eq!(one_by_one, 5, "{logs}");
    // One at the stop (and one more should a minute have ended on a slow host).
    assert!((1..=2).contains(&summaries), "{summaries} summaries:\n{}", &logs[..logs.len().min(3000)]);
}

/// `dsmrd run c.toml | sleep 600`: stdout fills and its writes block. A stop still ends the
/// process within the shutdown timeout (plus a little), with the CSV sink flushed, instead
/// of waiting for the reader.
#[test]
fn a_blocked_stdout_does_not_hold_up_the_stop() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("readings.csv");
    let rest = format!(
        "[sinks.console]\ntype = \"stdout\"\nformat = \"json\"\n\n[sinks.file]\ntype = \"csv\"\npath = {csv:?}\n\n\
         [daemon]\nshutdown_timeout = \"2s\"\n"
    );
    let config = iskra_config(dir.path(), "\"fast\"\nloop = true", &rest);
    let log = dir.path().join("dsmrd.log");
    let log_file = std::fs::File::create(&log).expect("log");
    let mut proc = start(&config, std::process::Stdio::piped(), log_file.into());
    let _unread = proc.child.stdout.take();
    assert!(wait_for(Duration::from_secs(30), || !csv_column(&csv, "time").is_empty()));
    std::thread::sleep(Duration::from_millis(500));
    let asked = std::time::Instant::now();
    let status = proc.terminate(Duration::from_secs(15));
    let logs = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(status.is_some(), "still running 15 s after SIGTERM:\n{logs}");
    assert!(asked.elapsed() < Duration::from_secs(8), "{:?}\n{logs}", asked.elapsed());
    assert!(logs.contains("Stopped: sink counters"), "{logs}");
}

/// The disk fills while the CSV sink writes (a tmpfs of 16 KiB, then grown): the batches
/// that failed are taken back whole and written again, so the file ends with every reading
/// once, in order, and no partial row. Needs root to mount the tmpfs; says so and passes
/// where it cannot.
#[test]
fn a_full_disk_leaves_no_partial_or_doubled_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let disk = dir.path().join("disk");
    std::fs::create_dir(&disk).expect("mount point");
    let mount = |opts: &str| {
        std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", opts, "tmpfs"])
            .arg(&disk)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !mount("size=16k") {
        eprintln!("skipped: cannot mount a tmpfs here (not root?)");
        return;
    }
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(disk.clone());
    // Full before the first row: the new file's header cannot be written either.
    let filler = disk.join("filler");
    let _ = std::fs::write(&filler, vec![0u8; 64 * 1024]);
    let csv = disk.join("r.csv");
    let rest = format!("[sinks.file]\ntype = \"csv\"\npath = {csv:?}\nmax_backoff = \"1s\"\n");
    let config = iskra_config(dir.path(), "\"fast\"", &rest);
    let log = dir.path().join("dsmrd.log");
    let mut proc = dsmrd(&["run", "--config", config.to_str().expect("utf-8")], Some(&log));
    assert!(wait_for(Duration::from_secs(20), || std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("No space left")));
    std::thread::sleep(Duration::from_millis(2500));
    std::fs::remove_file(&filler).expect("filler");
    let remounted = std::process::Command::new("mount")
        .args(["-o", "remount,size=4m"])
        .arg(&disk)
        .status()
        .is_ok_and(|s| s.success());
    assert!(remounted);
    let done = wait_for(Duration::from_secs(30), || matches!(proc.child.try_wait(), Ok(Some(_))));
    let logs = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(done, "{logs}");
    let text = std::fs::read_to_string(&csv).expect("csv");
    let lines: Vec<&str> = text.lines().collect();
    let columns = lines[0].split(',').count();
    assert!(lines.iter().all(|l| l.split(',').count() == columns), "a partial row:\n{logs}");
    let times = csv_column(&csv, "time");
    assert_eq!(times.len(), 566, "{logs}");
    assert!(times.windows(2).all(|w| w[0] < w[1]), "rows doubled or out of order");
    assert!(text.ends_with('\n'));
    // The failed attempts left no file behind (a header they could not finish used to make
    // the next attempt move the file aside, one file per retry).
    let files: Vec<String> = std::fs::read_dir(&disk)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into())
        .collect();
    assert_eq!(files, ["r.csv"], "{logs}");
}

/// A replay into a sink with a small queue: the readings the sink holds count against the
/// queue, and each delivery makes room for the replay waiting on it (a queue of 10 stalled
/// the replay for good once the sink had taken every queued reading).
#[test]
fn a_replay_into_a_small_queue_delivers_everything() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("readings.csv");
    let config =
        iskra_config(dir.path(), "\"fast\"", &format!("[sinks.file]\ntype = \"csv\"\npath = {csv:?}\nqueue = 10\n"));
    let mut proc = start(&config, std::process::Stdio::null(), std::process::Stdio::null());
    let done = wait_for(Duration::from_secs(30), || matches!(proc.child.try_wait(), Ok(Some(_))));
    assert!(done, "the replay stalled at {} rows", csv_column(&csv, "time").len());
    assert_eq!(csv_column(&csv, "time").len(), 566);
}
