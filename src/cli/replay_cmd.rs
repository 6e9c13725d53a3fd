//! `dsmrd replay FILE`: the zero-config shortcut, a recording replayed to stdout.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::config::{
    Config, DaemonConfig, DecodeSettings, Pace, ReplayConfig, SinkPipeline, SinkSpec, SourceConfig, SourceKind,
};
use crate::smarty::Keys;
use crate::spec::VersionChoice;
use crate::time::{DEFAULT_TIMEZONE, zone};

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The recording to replay.
    pub file: PathBuf,
    /// `fast`, `realtime`, or a speed factor (10 = ten times real time).
    #[arg(long, default_value = "fast")]
    pub pace: String,
    /// Start again at the end.
    #[arg(long = "loop")]
    pub looped: bool,
    /// `table` or `json`.
    #[arg(long, default_value = "table", value_parser = ["table", "json"])]
    pub format: String,
    /// Telegram format: auto, 2.2, 3, 4, 5, 5B, 5L, 5S, Q3D, EON_HU, ISKRA_IE, T210D_AT, ESO_LT.
    #[arg(long, default_value = "auto", value_parser = |s: &str| s.parse::<VersionChoice>())]
    pub dsmr_version: VersionChoice,
    /// Time zone of the meter's clock (IANA name).
    #[arg(long, default_value = DEFAULT_TIMEZONE)]
    pub timezone: String,
    /// Smarty decryption key (32 hex digits); also from DSMRD_KEY.
    #[arg(long, env = "DSMRD_KEY", hide_env_values = true)]
    pub key: Option<super::SecretArg>,
    /// Authentication key, when it is not the Smarty default (32 hex digits; an Austrian
    /// T210-D has its own); also from DSMRD_AUTH_KEY.
    #[arg(long, env = "DSMRD_AUTH_KEY", hide_env_values = true)]
    pub auth_key: Option<super::SecretArg>,
}

pub fn run(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let pace: Pace = args.pace.parse().map_err(|e: String| anyhow::anyhow!("--{e}"))?;
    if let Some(problem) = crate::source::replay::recording_problem(&args.file) {
        anyhow::bail!("recording {} {problem}", args.file.display());
    }
    let decode = DecodeSettings {
        version: args.dsmr_version,
        timezone: zone(&args.timezone).map_err(anyhow::Error::msg)?,
        timezone_name: args.timezone.clone(),
        keys: args
            .key
            .as_ref()
            .map(|k| Keys::from_hex(k.expose(), args.auth_key.as_ref().map(super::SecretArg::expose)))
            .transpose()
            .map_err(super::key_error)?,
        ..DecodeSettings::default()
    };
    let table = toml::Table::from_iter([("format".to_string(), toml::Value::String(args.format))]);
    let sink = dsmrd_sinks::SinkConfig::deserialize("stdout", table)
        .ok_or_else(|| anyhow::anyhow!("no stdout sink"))?
        .map_err(|e| anyhow::anyhow!("--format: {}", e.message()))?;
    let cfg = Config {
        file: PathBuf::from("(replay)"),
        daemon: DaemonConfig::default(),
        sources: vec![SourceConfig {
            name: "replay".into(),
            kind: SourceKind::Replay(ReplayConfig { path: args.file, pace, looped: args.looped }),
            decode,
        }],
        sinks: vec![SinkSpec { name: "stdout".into(), config: sink, pipeline: SinkPipeline::default() }],
    };
    // As `parse`: a recording that held no telegram (every frame rejected, or the wrong
    // key) is a failure.
    let summary = super::run_cmd::run_config_summary(cfg)?;
    if summary.telegrams() == 0 {
        say!("dsmrd: the recording holds no valid telegram");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
