//! `dsmrd fields`: the field names dsmrd gives each OBIS code, per version, so users can
//! map their dashboards (the README's field table is this command's output).

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Args;

use crate::parse::mbus_name;
use crate::spec::{Channel, Medium, Version, VersionChoice};

#[derive(Debug, Args)]
pub struct FieldsArgs {
    /// Only this version's table (default: all, merged).
    #[arg(long, value_parser = |s: &str| s.parse::<VersionChoice>())]
    pub dsmr_version: Option<VersionChoice>,
    /// Print a Markdown table.
    #[arg(long)]
    pub markdown: bool,
}

/// One field: code, name, unit, meaning and the versions that use it.
type FieldRow = (String, &'static str, String, String, Vec<&'static str>);

/// One line per (code, name): the versions using it, unit and meaning. M-Bus lines are
/// listed under every name the device on their channel can give them (`water_meter_reading`
/// for a water meter's 24.2.1), as `dsmrd parse` names them.
pub fn field_rows(only: Option<Version>) -> Vec<FieldRow> {
    let versions: Vec<Version> = match only {
        Some(v) => vec![v],
        None => Version::ALL.iter().copied().filter(|v| *v != Version::V3).collect(),
    };
    let mut rows: Vec<FieldRow> = Vec::new();
    let mut add = |code: String, name: &'static str, unit: String, meaning: String, v: Version| match rows
        .iter_mut()
        .find(|x| x.0 == code && x.1 == name && x.2 == unit)
    {
        Some(x) if !x.4.contains(&v.code()) => x.4.push(v.code()),
        Some(_) => {}
        None => rows.push((code, name, unit, meaning, vec![v.code()])),
    };
    for v in versions {
        for r in v.spec().all_rows() {
            let code = r.code();
            add(code.clone(), r.name, r.unit.unwrap_or("").to_string(), r.meaning.to_string(), v);
            if r.b != Channel::MBus {
                continue;
            }
            for medium in Medium::ALL {
                let Some(name) = mbus_name((r.c, r.d, r.e), medium) else { continue };
                if name == r.name {
                    continue;
                }
                // Only gas is read in the table's unit; other devices send their own.
                let unit = if medium == Medium::Gas { r.unit.unwrap_or("") } else { "" };
                let device = match medium.word() {
                    _ if name == "valve_position_mbus" => "an M-Bus device other than a gas or water meter".to_string(),
                    "mbus" => "an M-Bus device of another type".to_string(),
                    "electricity" => "an electricity meter".to_string(),
                    word => format!("a {} meter", word.replace('_', " ")),
                };
                let meaning = match (r.c, r.d) {
                    (96, _) => format!("Serial number of {device} on the channel"),
                    (24, 4) => format!("Valve position of {device} on the channel"),
                    _ => format!("Reading of {device} on the channel, with its capture time, in the unit it sends"),
                };
                add(code.clone(), name, unit.to_string(), meaning, v);
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
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(anyhow::Error::new(e).context("cannot write the field table"))
        }
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
