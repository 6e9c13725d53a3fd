//! `dsmrd fields`: the field names dsmrd gives each OBIS code, per version, so users can
//! map their dashboards (the README's field table is this command's output).

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Args;

use crate::spec::{Version, VersionChoice};

#[derive(Debug, Args)]
pub struct FieldsArgs {
    /// Only this version's table (default: all, merged).
    #[arg(long, value_parser = |s: &str| s.parse::<VersionChoice>())]
    pub dsmr_version: Option<VersionChoice>,
    /// Print a Markdown table.
    #[arg(long)]
    pub markdown: bool,
}

/// One line per (code, name): the versions using it, unit and meaning.
pub fn field_rows(only: Option<Version>) -> Vec<(String, &'static str, String, &'static str, Vec<&'static str>)> {
    let versions: Vec<Version> = match only {
        Some(v) => vec![v],
        None => Version::ALL.iter().copied().filter(|v| *v != Version::V3).collect(),
    };
    let mut rows: Vec<(String, &'static str, String, &'static str, Vec<&'static str>)> = Vec::new();
    for v in versions {
        for r in v.spec().all_rows() {
            let code = r.code();
            let unit = r.unit.unwrap_or("").to_string();
            match rows.iter_mut().find(|x| x.0 == code && x.1 == r.name && x.2 == unit) {
                Some(x) => x.4.push(v.code()),
                None => rows.push((code, r.name, unit, r.meaning, vec![v.code()])),
            }
        }
    }
    rows.sort_by(|a, b| a.1.cmp(b.1).then(a.0.cmp(&b.0)));
    rows
}

pub fn run(args: FieldsArgs) -> anyhow::Result<ExitCode> {
    let only = match args.dsmr_version {
        Some(VersionChoice::Fixed(v)) => Some(v),
        _ => None,
    };
    let text = if args.markdown { markdown(only) } else { plain(only) };
    match io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(ExitCode::SUCCESS),
    }
}

/// The field table as Markdown (what README.md carries).
pub fn markdown(only: Option<Version>) -> String {
    let mut out = String::from("| name | OBIS | unit | meaning | versions |\n|---|---|---|---|---|\n");
    for (code, name, unit, meaning, versions) in field_rows(only) {
        let meaning = meaning.replace('|', "\\|");
        out.push_str(&format!("| `{name}` | `{code}` | {unit} | {meaning} | {} |\n", versions.join(", ")));
    }
    out
}

fn plain(only: Option<Version>) -> String {
    let mut out = String::new();
    for (code, name, unit, meaning, versions) in field_rows(only) {
        out.push_str(&format!("{name:<44} {code:<14} {unit:<6} {meaning} [{}]\n", versions.join(",")));
    }
    out
}
