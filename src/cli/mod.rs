//! The command line: argument definitions and dispatch to one module per command. The
//! binary only calls [`main`].

/// `eprintln!` without its panic: a message for a stderr that was closed (`2>&1 | head`)
/// is dropped, and the command goes on to its own exit code.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

pub mod check_config_cmd;
pub mod fields_cmd;
mod parse_cmd;
mod port_input;
mod record_cmd;
mod replay_cmd;
pub mod run_cmd;
mod serve_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Read a smart meter's P1 port (DSMR 2.2–5, Belgium, Luxembourg, Sweden and more) and send
/// every reading where you want it.
#[derive(Debug, Parser)]
#[command(name = "dsmrd", version, about, propagate_version = true)]
pub struct Cli {
    /// Log level; RUST_LOG (a full tracing filter) overrides it.
    #[arg(long, global = true, default_value = "info",
          value_parser = clap::builder::PossibleValuesParser::new(["error", "warn", "info", "debug", "trace", "off"]),
          ignore_case = true)]
    pub log_level: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse a raw capture (file or stdin) and print every telegram.
    Parse(parse_cmd::ParseArgs),
    /// Run the service with a configuration file, until SIGINT/SIGTERM.
    Run(run_cmd::RunArgs),
    /// Replay a recording to stdout (no configuration needed).
    Replay(replay_cmd::ReplayArgs),
    /// Capture raw bytes from a serial port or TCP stream into a file.
    Record(record_cmd::RecordArgs),
    /// Play a recording to TCP clients like a ser2net-attached meter.
    Serve(serve_cmd::ServeArgs),
    /// Validate a configuration file and print the resolved pipeline.
    CheckConfig(check_config_cmd::CheckConfigArgs),
    /// List the field names given to each OBIS code, per version.
    Fields(fields_cmd::FieldsArgs),
}

/// Output forms of `parse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// JSON Lines, one object per telegram.
    Json,
    /// An aligned, readable table per telegram.
    Table,
    /// Nothing per telegram; only the summary on stderr.
    None,
}

/// Run the command line; returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.log_level);
    let result = match cli.command {
        Command::Parse(args) => parse_cmd::run(args),
        Command::Run(args) => run_cmd::run(args),
        Command::Replay(args) => replay_cmd::run(args),
        Command::Record(args) => record_cmd::run(args),
        Command::Serve(args) => serve_cmd::run(args),
        Command::CheckConfig(args) => check_config_cmd::run(args),
        Command::Fields(args) => fields_cmd::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            say!("dsmrd: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Logs go to stderr through `tracing`; `RUST_LOG` wins over `--log-level`.
fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        // A log reader that went away must not stop the service: the subscriber's own
        // report of a failed write goes through `eprintln!`, which panics then.
        .log_internal_errors(false)
        .try_init();
}

/// A key from the command line or the environment (`--key`, `--auth-key`): its `Debug`
/// form hides it, so no debug print of the arguments can show it.
#[derive(Clone)]
pub struct SecretArg(String);

impl SecretArg {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for SecretArg {
    fn from(s: String) -> SecretArg {
        SecretArg(s)
    }
}

impl std::fmt::Debug for SecretArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretArg(****)")
    }
}

/// A bad key from the command line or the environment, said to come from there (the key
/// itself is never shown).
fn key_error(e: crate::smarty::BadKey) -> anyhow::Error {
    anyhow::anyhow!("{e} (given by --key/--auth-key or DSMRD_KEY/DSMRD_AUTH_KEY)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_debug_print_of_the_arguments_hides_the_keys() {
        let key = "D491470F47126332B07D1923B3504188";
        let auth = "00112233445566778899AABBCCDDEEFF";
        for command in ["parse", "replay"] {
            let cli = Cli::try_parse_from(["dsmrd", command, "x.txt", "--key", key, "--auth-key", auth]).unwrap();
            let shown = format!("{cli:?}");
            assert!(shown.contains("SecretArg(****)"), "{shown}");
            assert!(!shown.contains(key) && !shown.contains(auth), "{shown}");
        }
    }

    #[test]
    fn every_argument_of_every_command_says_what_it_is_for() {
        use clap::CommandFactory;
        let cli = Cli::command();
        let mut silent = Vec::new();
        for command in cli.get_subcommands() {
            for arg in command.get_arguments() {
                let builtin = matches!(arg.get_id().as_str(), "help" | "version");
                if !builtin && arg.get_help().is_none() {
                    silent.push(format!("{} {}", command.get_name(), arg.get_id()));
                }
            }
        }
        assert!(silent.is_empty(), "arguments without help: {silent:?}");
    }
}
