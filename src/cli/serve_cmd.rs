//! `dsmrd serve FILE --listen ADDR`: play a recording to TCP clients like a ser2net-attached
//! meter, so a setup can be tried without a meter (and so tests have a real peer).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::config::Pace;
use crate::frame::{DEFAULT_MAX_TELEGRAM, Event, Frame, Framer};
use crate::parse::parse;
use crate::source::replay::{Pacer, empty_pass_wait};
use crate::spec::VersionChoice;
use crate::time::{DEFAULT_TIMEZONE, to_utc, zone};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The recording to play.
    pub file: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:2001")]
    pub listen: SocketAddr,
    /// `realtime` (as the telegram timestamps say; 10 s apart without them), `fast`, or a
    /// speed factor.
    #[arg(long, default_value = "realtime")]
    pub pace: String,
    /// Start again at the end of the recording instead of closing the connection.
    #[arg(long = "loop")]
    pub looped: bool,
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let pace: Pace = args.pace.parse().map_err(|e: String| anyhow::anyhow!("--{e}"))?;
    if let Some(problem) = crate::source::replay::recording_problem(&args.file) {
        anyhow::bail!("recording {} {problem}", args.file.display());
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async move {
        let listener = TcpListener::bind(args.listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.listen))?;
        say!("dsmrd: serving {} on {}", args.file.display(), listener.local_addr()?);
        let file = Arc::new(args.file);
        let stop = super::run_cmd::shutdown_signal(None);
        tokio::pin!(stop);
        loop {
            let (stream, peer) = tokio::select! {
                r = listener.accept() => r?,
                _ = &mut stop => break,
            };
            let file = file.clone();
            let looped = args.looped;
            tokio::spawn(async move {
                match play(&file, stream, pace, looped).await {
                    Ok(()) => say!("dsmrd: {peer}: recording played"),
                    Err(e) if client_left(&e) => say!("dsmrd: {peer}: client disconnected"),
                    Err(e) => say!("dsmrd: {peer}: {e:#}"),
                }
            });
        }
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Whether `e` says the client closed its end, which is how a client stops listening.
fn client_left(e: &anyhow::Error) -> bool {
    e.downcast_ref::<std::io::Error>()
        .is_some_and(|e| matches!(e.kind(), std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset))
}

/// Send the recording's bytes exactly, one telegram at a time, paced.
async fn play(path: &std::path::Path, mut stream: TcpStream, pace: Pace, looped: bool) -> anyhow::Result<()> {
    let tz = zone(DEFAULT_TIMEZONE).map_err(anyhow::Error::msg)?;
    // Kept over passes: a loop starting over waits as long as a telegram gap.
    let mut pacer = Pacer::default();
    loop {
        // Opened again on every pass: a recording moved away while looped is said by name.
        let mut file = tokio::fs::File::open(path)
            .await
            .with_context(|| format!("cannot open the recording {}; stopped serving this client", path.display()))?;
        let mut framer = Framer::default().with_crc_check(false);
        let mut buf = vec![0u8; 64 * 1024];
        // Bytes read but not sent yet: the start of a telegram that goes on in the next read.
        let mut held: Vec<u8> = Vec::new();
        let mut any = false;
        loop {
            let n = file.read(&mut buf).await?;
            if n == 0 {
                stream.write_all(&held).await?;
                break;
            }
            let mut sent = 0;
            let mut pos = 0;
            while pos < n {
                let (used, ev) = framer.feed(&buf[pos..n]);
                pos += used;
                let Some(Event::Frame(frame)) = ev else { continue };
                any = true;
                let time = match frame {
                    Frame::Plain { bytes, crc } => parse(bytes, crc, VersionChoice::Auto)
                        .ok()
                        .and_then(|t| t.timestamp())
                        .and_then(|m| to_utc(m, &tz, false)),
                    Frame::Smarty(_) => None,
                };
                // Each telegram waits for its time on the schedule (its gap after the one
                // before), then goes out whole.
                if let Pace::Speed(f) = pace {
                    tokio::time::sleep_until(pacer.due(time, f)).await;
                }
                // One write: a client sees the telegram arrive at once.
                held.extend_from_slice(&buf[sent..pos]);
                stream.write_all(&held).await?;
                held.clear();
                sent = pos;
            }
            held.extend_from_slice(&buf[sent..n]);
            // More than a telegram can be without one ending: noise, sent as it is.
            if held.len() > DEFAULT_MAX_TELEGRAM {
                stream.write_all(&held).await?;
                held.clear();
            }
        }
        if !looped {
            stream.shutdown().await?;
            return Ok(());
        }
        if !any {
            // A recording without a telegram, looped: not as fast as the client reads.
            tokio::time::sleep(empty_pass_wait(pace)).await;
        }
    }
}
