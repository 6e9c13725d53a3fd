//! README.md must stay true: its field table is what `dsmrd fields --markdown` prints, and
//! the commands it gives exist.

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
