//! The command line: argument definitions and dispatch to one module per command. The
//! binary only calls [`main`].

pub mod fields_cmd;
mod parse_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Read a smart meter's P1 port (DSMR 2.2–5, Belgium, Luxembourg, Sweden and more) and send
/// every reading where you want it.
#[derive(Debug, Parser)]
#[command(name = "dsmrd", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse a raw capture (file or stdin) and print every telegram.
    Parse(parse_cmd::ParseArgs),
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
    let result = match cli.command {
        Command::Parse(args) => parse_cmd::run(args),
        Command::Fields(args) => fields_cmd::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("dsmrd: {e:#}");
            ExitCode::from(2)
        }
    }
}
