//! README.md must stay true: its field table is what `dsmrd fields --markdown` prints, CI
//! runs the test command it gives, every recording it names is in `recordings/`, and the
//! configurations it ships load.

use std::fs;
use std::path::Path;

fn readme() -> String {
    fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).expect("README.md")
}

#[test]
fn field_table_matches_the_spec_tables() {
    let text = readme();
    let begin = text.find("<!-- fields:begin -->\n").expect("fields:begin marker") + "<!-- fields:begin -->\n".len();
    let end = text.find("<!-- fields:end -->").expect("fields:end marker");
    let expected = dsmrd::cli::fields_cmd::markdown(None);
    assert!(
        text[begin..end] == expected,
        "README.md field table is stale; regenerate it with `cargo run -- fields --markdown`"
    );
}

#[test]
fn ci_runs_the_readme_test_command() {
    let text = readme();
    let ci = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/run")).expect(".ci/run");
    let cmd = "cargo test --workspace";
    assert!(text.contains(cmd), "README.md gives the test command");
    assert!(ci.lines().any(|l| l.trim() == cmd), ".ci/run runs exactly the README test command");
}

#[test]
fn every_recording_the_readme_names_exists() {
    let text = readme();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("recordings");
    let is_name_char = |c: char| c.is_ascii_alphanumeric() || "._-".contains(c);
    let mut named = 0;
    // `recordings/NAME` in commands, and the file names of the supported-meters table.
    for (at, _) in text.match_indices("recordings/") {
        // (`tests/snapshots/recordings/` holds the snapshots, not recordings.)
        if text[..at].ends_with("snapshots/") {
            continue;
        }
        let name: String = text[at + "recordings/".len()..].chars().take_while(|&c| is_name_char(c)).collect();
        if name.contains('.') {
            assert!(dir.join(&name).is_file(), "README.md names recordings/{name}, which is not there");
            named += 1;
        }
    }
    for name in text.split('`').filter(|w| w.ends_with(".txt") || w.ends_with(".bin")) {
        if name.chars().all(is_name_char) {
            assert!(dir.join(name).is_file(), "README.md names {name}, which is not in recordings/");
            named += 1;
        }
    }
    assert!(named > 20, "README.md names the recordings that test each meter ({named} found)");
}

/// The example configuration and the README's minimal one load as they are (run from the
/// repository's root, where the example's recording is).
#[test]
fn the_shipped_configurations_load() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let example = dsmrd::config::load(&root.join("dsmrd.example.toml")).expect("dsmrd.example.toml loads");
    assert_eq!(example.sources.len(), 1);
    assert_eq!(example.sinks.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["console", "file"]);
    let text = readme();
    let minimal =
        text.split("```toml\n").nth(1).and_then(|block| block.split("```").next()).expect("README.md has a TOML block");
    assert!(minimal.contains("[sources.meter]"), "the first TOML block is the minimal configuration: {minimal}");
    let config = dsmrd::config::parse(minimal, Path::new("README.md"), &|_| None);
    let config = config.unwrap_or_else(|e| panic!("README's minimal configuration: {e}"));
    assert_eq!(config.sinks.len(), 2);
}
