//! `dsmrd parse`: decode a raw capture and print each telegram, for checking a new meter
//! model or a capture in CI.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;

use super::{Format, port_input};
use crate::decoder::{DecodeStats, Decoded, Decoder, DecoderOptions, SettingsSetBy};
use crate::json::{JsonContext, telegram_json};
use crate::smarty::Keys;
use crate::spec::VersionChoice;
use crate::table::{telegram_table, visible};
use crate::time::{DEFAULT_TIMEZONE, zone};

#[derive(Debug, Args)]
pub struct ParseArgs {
    /// The capture to read; `-` or nothing reads stdin; a serial port (/dev/ttyUSB0) is read
    /// live at the version's line settings until Ctrl-C.
    pub file: Option<PathBuf>,
    /// Telegram format: auto, 2.2, 3, 4, 5, 5B, 5L, 5S, Q3D, EON_HU, ISKRA_IE, T210D_AT, ESO_LT.
    #[arg(long, default_value = "auto", value_parser = parse_version)]
    pub dsmr_version: VersionChoice,
    /// Time zone of the meter's clock (IANA name).
    #[arg(long, default_value = DEFAULT_TIMEZONE)]
    pub timezone: String,
    /// Decryption key for encrypted Smarty frames (32 hex digits). Also read from
    /// DSMRD_KEY.
    #[arg(long, env = "DSMRD_KEY", hide_env_values = true)]
    pub key: Option<super::SecretArg>,
    /// Authentication key, when it is not the Smarty default (32 hex digits). Also read
    /// from DSMRD_AUTH_KEY.
    #[arg(long, env = "DSMRD_AUTH_KEY", hide_env_values = true)]
    pub auth_key: Option<super::SecretArg>,
    /// Output form.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    pub format: Format,
    /// Do not reject telegrams whose CRC does not match (diagnosis only).
    #[arg(long)]
    pub no_crc: bool,
    /// Largest telegram accepted, in bytes (at least 64).
    #[arg(long, default_value_t = crate::frame::DEFAULT_MAX_TELEGRAM, value_parser = at_least_64)]
    pub max_telegram_bytes: usize,
}

fn parse_version(s: &str) -> Result<VersionChoice, String> {
    s.parse()
}

/// How long a serial port read by `parse` may stay silent, before its first telegram,
/// before that is said.
const SILENT_PORT: Duration = Duration::from_secs(30);

pub fn run(args: ParseArgs) -> anyhow::Result<ExitCode> {
    let tz = zone(&args.timezone).map_err(anyhow::Error::msg)?;
    let keys = match &args.key {
        Some(k) => Some(
            Keys::from_hex(k.expose(), args.auth_key.as_ref().map(super::SecretArg::expose))
                .map_err(super::key_error)?,
        ),
        None => None,
    };
    let opts = DecoderOptions {
        version: args.dsmr_version,
        check_crc: !args.no_crc,
        keys,
        max_telegram_bytes: args.max_telegram_bytes,
    };
    // A serial port is read as the serial source reads it, until Ctrl-C (`port_input`).
    let mut stop = None;
    let (mut input, name): (Box<dyn Read>, String) = match &args.file {
        Some(p) if port_input::is_port(p) => {
            let port = port_input::open(p, args.dsmr_version)?;
            stop = Some(port_input::stop_flag());
            (port, p.display().to_string())
        }
        Some(p) if p.as_os_str() != "-" => {
            let f = File::open(p).with_context(|| format!("cannot open {}", p.display()))?;
            (Box::new(f), p.display().to_string())
        }
        _ => (Box::new(io::stdin().lock()), "stdin".to_string()),
    };
    let stopped = || stop.as_ref().is_some_and(|s| s.load(Ordering::SeqCst));
    let started = Instant::now();
    let mut decoder = Decoder::new(opts);
    let stdout = io::stdout();
    let mut printer = Printer {
        out: BufWriter::new(stdout.lock()),
        format: args.format,
        cx: JsonContext { tz },
        name,
        ordinal: 0,
        write_err: None,
    };
    let mut buf = vec![0u8; 64 * 1024];
    let (mut silent_since, mut silence_told, mut hinted) = (Instant::now(), false, false);
    while !stopped() {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // A port's read waits a tick at most, for the stop to be seen.
            Err(e) if stop.is_some() && e.kind() == io::ErrorKind::TimedOut => {
                // The reader has gone while the port is silent: nothing written would say so.
                if port_input::output_gone() {
                    break;
                }
                let silent = silent_since.elapsed() >= SILENT_PORT;
                if silent && decoder.stats().telegrams == 0 && !silence_told {
                    say!(
                        "dsmrd: no data from {} for {}s; is the cable in the meter's P1 port? (still reading)",
                        printer.name,
                        SILENT_PORT.as_secs()
                    );
                    silence_told = true;
                }
                continue;
            }
            // A port unplugged ends its input, as the end of a file does.
            Err(e) if stop.is_some() => {
                say!("dsmrd: {} went away ({e}); stopped reading.", printer.name);
                break;
            }
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", printer.name)),
        };
        silent_since = Instant::now();
        decoder.feed(&buf[..n], |d| printer.print(d));
        // Shown as soon as it is read: a live stream (`socat ... | dsmrd parse -`) comes in
        // reads of a telegram or less; a file in reads of 64 KiB, flushed as seldom.
        printer.flush();
        if printer.write_err.is_some() {
            // The reader has gone (`| head`): a live stream would never end otherwise.
            break;
        }
        // On a port, wrong line settings are said as soon as they show (the summary, at
        // Ctrl-C, says it again).
        if stop.is_some() && !hinted {
            if let Some(hint) = decoder.stats().line_settings_hint(SettingsSetBy::ParseFlag) {
                say!("dsmrd: {}: {hint}", printer.name);
                hinted = true;
            }
        }
    }
    // A telegram cut off by the end of the input is reported; one cut off because the
    // reader went away and reading stopped is not the input's fault.
    if printer.write_err.is_none() {
        decoder.finish(|d| printer.print(d));
        printer.flush();
    }
    let name = printer.name;
    match printer.write_err {
        // A closed pipe (`| head`) is not a failure.
        Some(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
        Some(e) => return Err(e).context("cannot write output"),
        None => {}
    }
    let stats = decoder.stats();
    // A port read here was set by `--dsmr-version`; a capture's settings were chosen by
    // whatever made it, most often a configured source.
    let set = if stop.is_some() { SettingsSetBy::ParseFlag } else { SettingsSetBy::Config };
    summary(&name, &stats, set, started.elapsed().as_secs_f64());
    Ok(if stats.telegrams == 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// Writes each telegram to stdout in the chosen form, and each error to stderr (after what
/// came before it on stdout, so that a terminal shows them in stream order).
struct Printer<W: Write> {
    out: W,
    format: Format,
    cx: JsonContext,
    name: String,
    /// Telegrams so far, to name them in messages.
    ordinal: u64,
    /// The first error writing to stdout; writing stops being tried after it.
    write_err: Option<io::Error>,
}

impl<W: Write> Printer<W> {
    fn print(&mut self, d: Decoded<'_>) {
        match d {
            Decoded::Telegram(t) => {
                self.ordinal += 1;
                if !t.errors.is_empty() {
                    self.flush();
                }
                for e in &t.errors {
                    let (text, reason) = (visible(e.text), visible(&e.reason));
                    say!("dsmrd: {}: telegram {}, line {}: `{text}`: {reason}", self.name, self.ordinal, e.line);
                }
                if self.write_err.is_some() {
                    return;
                }
                let res = match self.format {
                    Format::Json => serde_json::to_writer(&mut self.out, &telegram_json(&t, &self.cx))
                        // (`From` keeps an I/O error's kind: a closed pipe stays one.)
                        .map_err(io::Error::from)
                        .and_then(|()| self.out.write_all(b"\n")),
                    Format::Table => self.out.write_all(telegram_table(&t, self.ordinal, &self.cx).as_bytes()),
                    Format::None => Ok(()),
                };
                if let Err(e) = res {
                    self.write_err = Some(e);
                }
            }
            Decoded::Error { error, offset } => {
                self.flush();
                say!("dsmrd: {}: rejected, ending at byte {offset}: {}", self.name, visible(&error.to_string()));
            }
        }
    }

    fn flush(&mut self) {
        if self.write_err.is_none() {
            if let Err(e) = self.out.flush() {
                self.write_err = Some(e);
            }
        }
    }
}

fn summary(name: &str, s: &DecodeStats, set: SettingsSetBy, secs: f64) {
    let rate = if secs > 0.0 { s.telegrams as f64 / secs } else { 0.0 };
    // Telegrams let through with a wrong CRC are said apart from the failures, which were
    // not let through.
    let passed = match s.crc_mismatches_passed {
        0 => String::new(),
        n => format!(" ({n} of them with a CRC that does not match)"),
    };
    say!(
        "dsmrd: {name}: {} telegrams{passed}, {} CRC failures, {} other errors, {} line errors, {} bytes skipped, {:.3} s, {:.0} telegrams/s",
        s.telegrams,
        s.crc_failures,
        s.other_errors,
        s.line_errors,
        s.skipped_bytes,
        secs,
        rate
    );
    if let Some(hint) = s.line_settings_hint(set) {
        say!("dsmrd: {name}: {hint}");
    }
}

/// `--max-telegram-bytes`: no telegram is shorter than 64 bytes, as the configuration says too.
fn at_least_64(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 64 => Ok(n),
        Ok(_) => Err("must be at least 64: no telegram is that short".into()),
        Err(e) => Err(e.to_string()),
    }
}
