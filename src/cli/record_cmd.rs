//! `dsmrd record`: capture the raw bytes of a serial port or TCP stream exactly as received,
//! which is what `recordings/` is made of.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio_serial::SerialPortBuilderExt;

use crate::config::parse_duration;
use crate::decoder::{Decoded, Decoder, DecoderOptions, SettingsSetBy};
use crate::source::serial::{default_line, open_problem, port_builder};
use crate::spec::{Version, VersionChoice};

#[derive(Debug, Args)]
pub struct RecordArgs {
    /// Where to read: `serial:/dev/ttyUSB0` (optionally `serial:/dev/ttyUSB0@9600`) or
    /// `tcp:HOST:PORT`.
    #[arg(long)]
    pub from: String,
    /// The file to write (created or truncated).
    #[arg(long)]
    pub out: PathBuf,
    /// Stop after this long (e.g. `10m`); default: until Ctrl-C or the stream ends.
    #[arg(long)]
    pub duration: Option<String>,
    /// Use 7E1 line settings (DSMR 2.2/3.0 meters) instead of 8N1.
    #[arg(long)]
    pub seven_e_one: bool,
}

pub fn run(args: RecordArgs) -> anyhow::Result<ExitCode> {
    let limit = args.duration.as_deref().map(parse_duration).transpose().map_err(anyhow::Error::msg)?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(record(args, limit))
}

async fn record(args: RecordArgs, limit: Option<Duration>) -> anyhow::Result<ExitCode> {
    let serial = args.from.starts_with("serial:");
    let mut input: Box<dyn AsyncRead + Unpin + Send> = if let Some(rest) = args.from.strip_prefix("serial:") {
        let version = if args.seven_e_one { Version::V2_2 } else { Version::V5 };
        let (baud, bits, parity) = default_line(VersionChoice::Fixed(version));
        let (path, baud) = match rest.rsplit_once('@') {
            Some((p, b)) => (p, b.parse::<u32>().map_err(|_| anyhow::anyhow!("bad baud rate `{b}`"))?),
            None => (rest, baud),
        };
        let port = port_builder(path, (baud, bits, parity), 1).open_native_async();
        Box::new(port.map_err(|e| anyhow::anyhow!("cannot open {path}: {}", open_problem(&e, path)))?)
    } else if let Some(addr) = args.from.strip_prefix("tcp:") {
        Box::new(
            tokio::net::TcpStream::connect(addr).await.map_err(|e| anyhow::anyhow!("cannot connect to {addr}: {e}"))?,
        )
    } else {
        anyhow::bail!("--from must be serial:PATH or tcp:HOST:PORT, not `{}`", args.from);
    };
    let mut out = tokio::fs::File::create(&args.out)
        .await
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", args.out.display()))?;
    let until = match limit {
        Some(d) => format!(" for {}", crate::config::format_duration(d)),
        None => String::new(),
    };
    say!("dsmrd: recording {} to {}{until}; Ctrl-C stops.", args.from, args.out.display());
    let mut decoder = Decoder::new(DecoderOptions::default());
    let (mut telegrams, mut rejected, mut bytes, mut hinted) = (0u64, 0u64, 0u64, false);
    let deadline = limit.map(|d| tokio::time::Instant::now() + d);
    let mut buf = vec![0u8; 16 * 1024];
    let stop = super::run_cmd::shutdown_signal(None);
    tokio::pin!(stop);
    loop {
        // Checked before each read: a timer that is already due is not ready on its first
        // poll, so `--duration 0s` would still record the first chunk.
        if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
            break;
        }
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        // The time limit and a stop come first.
        let n = tokio::select! {
            biased;
            _ = &mut stop => break,
            _ = sleep => break,
            r = input.read(&mut buf) => match r {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                // Nothing came: the capture failed.
                Err(e) if bytes == 0 => {
                    say!("dsmrd: {}: {e}; nothing was recorded", args.from);
                    return Ok(ExitCode::from(1));
                }
                // A port unplugged, a connection reset: what came so far is kept.
                Err(e) => {
                    say!("dsmrd: {} went away ({e}); stopped recording.", args.from);
                    break;
                }
            },
        };
        if n == 0 {
            say!("dsmrd: the stream ended");
            break;
        }
        out.write_all(&buf[..n]).await?;
        bytes += n as u64;
        decoder.feed(&buf[..n], |d| match d {
            Decoded::Telegram(_) => telegrams += 1,
            Decoded::Error { .. } => rejected += 1,
        });
        // A capture at the wrong line settings is of no use: said as soon as it shows.
        if serial && !hinted {
            if let Some(hint) = decoder.stats().line_settings_hint(SettingsSetBy::RecordFlag) {
                say!("dsmrd: {}: {hint}", args.from);
                hinted = true;
            }
        }
    }
    out.flush().await?;
    out.sync_all().await?;
    // An empty capture is a failed one, whatever ended it: a script must not keep it.
    if bytes == 0 {
        say!("dsmrd: nothing was recorded from {}; {} is empty", args.from, args.out.display());
        return Ok(ExitCode::from(1));
    }
    say!("dsmrd: recorded {bytes} bytes to {} ({telegrams} valid telegrams, {rejected} rejected)", args.out.display());
    Ok(ExitCode::SUCCESS)
}
