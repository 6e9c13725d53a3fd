//! A table of broken configuration files, each with the exact message a user gets (file,
//! line, column, key, what to do), pinned by an insta snapshot.

use std::path::Path;

fn errors(text: &str) -> String {
    let env = |name: &str| match name {
        "SMARTY_KEY" => Some("00112233445566778899AABBCCDDEEFF".to_string()),
        _ => None,
    };
    match dsmrd::config::parse(text, Path::new("dsmrd.toml"), &env) {
        Ok(_) => "OK".to_string(),
        // A relative path not found is said to be read from the working directory, which
        // differs from machine to machine.
        Err(e) => match std::env::current_dir() {
            Ok(dir) => e.to_string().replace(&format!("`{}`", dir.display()), "`<cwd>`"),
            Err(_) => e.to_string(),
        },
    }
}

const GOOD_SINK: &str = "\n[sinks.console]\ntype = \"stdout\"\n";
const GOOD_SOURCE: &str = "[sources.meter]\ntype = \"stdin\"\n";

#[test]
fn broken_configs_get_precise_messages() {
    let cases: &[(&str, String)] = &[
        ("toml syntax error", "[sources.meter]\ntype = \"serial\npath = \"/dev/ttyUSB0\"\n".into()),
        ("unknown section", format!("{GOOD_SOURCE}{GOOD_SINK}[sink.extra]\ntype = \"stdout\"\n")),
        ("no source at all", GOOD_SINK.trim_start().into()),
        ("no sink at all", GOOD_SOURCE.into()),
        ("source without type", format!("[sources.meter]\npath = \"/dev/ttyUSB0\"\n{GOOD_SINK}")),
        ("no time to flush at shutdown", format!("{GOOD_SOURCE}{GOOD_SINK}\n[daemon]\nshutdown_timeout = \"0s\"\n")),
        ("sink written as a list of tables", format!("{GOOD_SOURCE}\n[[sinks.c]]\ntype = \"stdout\"\n")),
        ("sinks written as a list of tables", format!("{GOOD_SOURCE}\n[[sinks]]\ntype = \"stdout\"\n")),
        ("sink with a misspelt type", format!("{GOOD_SOURCE}\n[sinks.c]\ntyp = \"stdout\"\n\n[sinks.d]\nType = \"csv\"\n")),
        ("unknown source type", format!("[sources.meter]\ntype = \"usb\"\n{GOOD_SINK}")),
        ("two sources reading stdin", format!("[sources.a]\ntype = \"stdin\"\n\n[sources.b]\ntype = \"stdin\"\n{GOOD_SINK}")),
        ("misspelled source key", format!("[sources.meter]\ntype = \"serial\"\npaht = \"/dev/ttyUSB0\"\n{GOOD_SINK}")),
        ("wrong value type", format!("[sources.meter]\ntype = \"serial\"\npath = \"/dev/ttyUSB0\"\nbaud = \"fast\"\n{GOOD_SINK}")),
        ("unknown dsmr version", format!("[sources.meter]\ntype = \"stdin\"\ndsmr_version = \"6\"\n{GOOD_SINK}")),
        ("unknown time zone", format!("[sources.meter]\ntype = \"stdin\"\ntimezone = \"Europe/Amsterdm\"\n{GOOD_SINK}")),
        ("bad tcp address", format!("[sources.meter]\ntype = \"tcp\"\naddress = \"192.168.1.20\"\n{GOOD_SINK}")),
        ("tcp address as a url with a password (never echoed)", format!("[sources.meter]\ntype = \"tcp\"\naddress = \"tcp://admin:s3cret@p1:2001\"\n{GOOD_SINK}")),
        ("tcp address with a bare ipv6 address", format!("[sources.meter]\ntype = \"tcp\"\naddress = \"fd00::20:2001\"\n{GOOD_SINK}")),
        ("bad tcp timeout", format!("[sources.meter]\ntype = \"tcp\"\naddress = \"p1:2001\"\nread_timeout = \"soon\"\n{GOOD_SINK}")),
        ("zero read timeout and backoff", "[sources.meter]\ntype = \"tcp\"\naddress = \"p1:2001\"\nread_timeout = \"0s\"\nmax_backoff = \"500ms\"\n[sinks.console]\ntype = \"stdout\"\nmax_backoff = \"0s\"\n".into()),
        ("bad parity and stop bits, both said", format!("[sources.meter]\ntype = \"serial\"\npath = \"/dev/ttyUSB0\"\nparity = \"mark\"\nstop_bits = 3\n{GOOD_SINK}")),
        ("bad policy with other errors, all said", format!("{GOOD_SOURCE}\n[sinks.a]\ntype = \"stdout\"\non_full = \"drop_all\"\naggregate = \"median\"\nqueue = 0\ninterval = \"5 parsecs\"\n")),
        ("serial path that is a file", format!("[sources.meter]\ntype = \"serial\"\npath = \"Cargo.toml\"\nread_timeout = \"500ms\"\n{GOOD_SINK}")),
        ("baud rate zero", format!("[sources.meter]\ntype = \"serial\"\npath = \"/dev/ttyUSB0\"\nbaud = 0\n{GOOD_SINK}")),
        ("missing recording", format!("[sources.meter]\ntype = \"replay\"\npath = \"no/such/file.txt\"\n{GOOD_SINK}")),
        ("missing recording at an absolute path", format!("[sources.meter]\ntype = \"replay\"\npath = \"/no/such/file.txt\"\n{GOOD_SINK}")),
        ("recording that is a directory", format!("[sources.meter]\ntype = \"replay\"\npath = \"/\"\n{GOOD_SINK}")),
        ("bad replay pace", format!("[sources.meter]\ntype = \"stdin\"\n{GOOD_SINK}[sources.old]\ntype = \"replay\"\npath = \"Cargo.toml\"\npace = \"slow\"\n")),
        ("missing environment variable", format!("[sources.meter]\ntype = \"stdin\"\ndecryption_key = \"${{LUX_KEY}}\"\n{GOOD_SINK}")),
        ("short decryption key (never echoed)", format!("[sources.meter]\ntype = \"stdin\"\ndecryption_key = \"0011223344556677\"\n{GOOD_SINK}")),
        ("key from the environment is fine", format!("[sources.meter]\ntype = \"stdin\"\ndecryption_key = \"${{SMARTY_KEY}}\"\n{GOOD_SINK}")),
        ("two csv sinks on one file", format!("{GOOD_SOURCE}\n[sinks.a]\ntype = \"csv\"\npath = \"same.csv\"\n\n[sinks.b]\ntype = \"csv\"\npath = \"./same.csv\"\n")),
        ("misspelled field name", format!("{GOOD_SOURCE}\n[sinks.a]\ntype = \"csv\"\npath = \"a.csv\"\nfields = [\"electricity_used_tariff_1\", \"electricity_used_tarif_2\", \"hourly_gas_meter_readng_2\", \"my_column\"]\n")),
        ("the clock as a csv field", format!("{GOOD_SOURCE}\n[sinks.a]\ntype = \"csv\"\npath = \"a.csv\"\nfields = [\"p1_message_timestamp\", \"electricity_used_tariff_1\", \"p1_message_timestamp_time\", \"P1_message_timestamps\", \"local_tme\"]\n")),
        ("misspelled sink key", format!("{GOOD_SOURCE}\n[sinks.a]\ntype = \"csv\"\npath = \"a.csv\"\nintervall = \"10s\"\n")),
        ("unknown sink type", format!("{GOOD_SOURCE}\n[sinks.db]\ntype = \"influx\"\n")),
        ("bad interval", format!("{GOOD_SOURCE}\n[sinks.console]\ntype = \"stdout\"\ninterval = \"10 seconds\"\n")),
        ("bad aggregate", format!("{GOOD_SOURCE}\n[sinks.console]\ntype = \"stdout\"\naggregate = \"median\"\n")),
        ("zero queue", format!("{GOOD_SOURCE}\n[sinks.console]\ntype = \"stdout\"\nqueue = 0\n")),
        ("queue without a bound", format!("{GOOD_SOURCE}\n[sinks.console]\ntype = \"stdout\"\nqueue = 100000000000\n")),
        ("misspelled sink key", format!("{GOOD_SOURCE}\n[sinks.file]\ntype = \"csv\"\npath = \"r.csv\"\nrotation = \"daily\"\n")),
        ("csv without path", format!("{GOOD_SOURCE}\n[sinks.file]\ntype = \"csv\"\n")),
        ("every mistake in one table, after an unknown key and a wrong type", "[sources.meter]\ntype = \"serial\"\npath = \"/dev/ttyUSB0\"\nbaudrate = 115200\nstop_bits = \"one\"\ndata_bits = \"seven\"\n\n[sinks.file]\ntype = \"csv\"\npath = \"r.csv\"\ninterval = \"10 parsecs\"\nqueue = \"big\"\nbogus = 1\n\n[sinks.c]\ntype = \"stdout\"\nformat = 5\n".into()),
        ("missing variable in a required key, said once", format!("[sources.meter]\ntype = \"replay\"\npath = \"${{REC_DIR}}/x.txt\"\n{GOOD_SINK}")),
        ("csv file in a directory that does not exist", format!("{GOOD_SOURCE}\n[sinks.file]\ntype = \"csv\"\npath = \"no/such/dir/r.csv\"\n")),
        ("csv file in an absolute directory that does not exist", format!("{GOOD_SOURCE}\n[sinks.file]\ntype = \"csv\"\npath = \"/no/such/dir/r.csv\"\n")),
        ("syntax error in a sink names its table", format!("{GOOD_SOURCE}\n[sinks.c]\ntype = stdout\n")),
        ("unknown types with other mistakes in their tables, all said", "[sources.m]\ntype = \"serail\"\ntimezone = \"Mars/X\"\ncheck_crc = \"no\"\n\n[sinks.s]\ntype = \"influx\"\ninterval = \"10 sec\"\nqueue = -1\n\n[sinks.t]\ntype = 5\non_full = \"never\"\n".into()),
        ("unset variable as the type, said once", format!("[sources.n]\ntype = \"${{NOPE}}\"\n{GOOD_SINK}")),
        ("empty sections", "[sources]\n[sinks]\n[daemon]\n".into()),
        ("csv path that is a directory, or empty", format!("{GOOD_SOURCE}\n[sinks.a]\ntype = \"csv\"\npath = \"tests/\"\n\n[sinks.b]\ntype = \"csv\"\npath = \"\"\n")),
        ("csv keys on a stdout sink are only unknown", format!("{GOOD_SOURCE}\n[sinks.o]\ntype = \"stdout\"\npath = \"/nonexistent/x.csv\"\nfields = [\"electricity_used_tarif_1\"]\n")),
        ("the same csv file by another name", format!("{GOOD_SOURCE}\n[sinks.a]\ntype = \"csv\"\npath = \"tests/../same.csv\"\n\n[sinks.b]\ntype = \"csv\"\npath = \"same.csv\"\n")),
        ("table given twice", format!("{GOOD_SOURCE}{GOOD_SINK}{GOOD_SINK}")),
        ("table given twice right after a key", "[sinks.c]\ntype = \"stdout\"\n[sinks.c]\ntype = \"stdout\"\n".into()),
        ("key given twice", format!("[sources.m]\ntype = \"stdin\"\ntype = \"tcp\"\n{GOOD_SINK}")),
        ("dotted key given twice", format!("sources.m.type = \"stdin\"\nsources.m.type = \"tcp\"\n{GOOD_SINK}")),
        ("quoted key with = given twice", format!("[sources.m]\ntype = \"stdin\"\n\"a=b\" = 1\n\"a=b\" = 2\n{GOOD_SINK}")),
        ("key given twice in an inline table", format!("{GOOD_SOURCE}\n[sinks.o]\ntype = \"stdout\"\nformat = {{a = 1, a = 2}}\n")),
        ("dotted keys, inline tables and arrays over lines name the key", "sources.m.type = \"stdin\"\nsources.m.timezone = 5\n[sinks]\ns = { type = \"stdout\", format = \"bad\" }\n[sinks.f]\ntype = \"csv\"\npath = \"a.csv\"\nfields = [\n \"electricity_used_tariff_1\",\n 5,\n]\n".into()),
        ("keys of a stdin source and of the daemon", "[sources.s]\ntype = \"stdin\"\nbogus = 1\n[daemon]\nnope = 1\n[sinks.c]\ntype = \"stdout\"\n".into()),
        ("numbers and durations out of range", "[sources.m]\ntype = \"replay\"\npath = \"Cargo.toml\"\npace = 1e-300\nmax_telegram_bytes = 0\n[sinks.c]\ntype = \"stdout\"\ninterval = \"10000000000000000000s10000000000000000000m\"\nmax_backoff = \"5m5m\"\n[daemon]\nshutdown_timeout = \"0.0001ms\"\nstats_interval = \"4000000000000000h\"\n".into()),
        ("columns count characters", format!("{GOOD_SOURCE}\n[sinks]\ns = {{ \"ñññññ\" = 1, type = \"stdout\", queue = 0 }}\n")),
        ("bad decryption and authentication keys, both said (never echoed)", format!("[sources.meter]\ntype = \"stdin\"\ndecryption_key = \"0011223344556677\"\nauthentication_key = \"XYZ\"\n{GOOD_SINK}")),
        ("a table where a word belongs", format!("{GOOD_SOURCE}\n[sinks.c]\ntype = \"stdout\"\nformat = {{ a = 1 }}\n")),
        ("a quoted table name is quoted", "[sources.\"my meter\"]\ntype = \"stdin\"\nbogus = 1\n[sinks.c]\ntype = \"stdout\"\n".into()),
        ("a section that is no table, said once", format!("sources = 5\n{GOOD_SINK}")),
        ("rotate none is the same file as no rotate", format!("{GOOD_SOURCE}\n[sinks.a]\ntype = \"csv\"\npath = \"same.csv\"\nrotate = \"none\"\n\n[sinks.b]\ntype = \"csv\"\npath = \"same.csv\"\n")),
        ("minutes given twice by two names", format!("{GOOD_SOURCE}\n[sinks.c]\ntype = \"stdout\"\ninterval = \"5m5min\"\n")),
        ("csv file under a file", format!("{GOOD_SOURCE}\n[sinks.c]\ntype = \"csv\"\npath = \"Cargo.toml/r.csv\"\n")),
        ("keys named through strings, comments, arrays and dotted keys", "[sources.m]\ntype = \"stdin\"\n[sinks]\nout.type = \"stdout\"\nout.format = 5\n[sinks.c]\ntype = \"csv\"\npath = \"a.csv\"\nfields = [\"a=b\", # note: x = y\n  [\"x\"],\n]\n".into()),
        ("syntax errors after strings that hold `=` and `[`", "[sources.m]\ntype = \"stdin\"\n[sinks.c]\ntype = \"stdout\"\ns = \'\'\'\n[fake]\n\'\'\'\nformat = \"a=b\" x\n".into()),
        ("unset variables in quoted tables, said once each", "[sources.\"my meter\"]\ntype = \"${NOPE}\"\n[sinks.\"my file\"]\ntype = \"csv\"\npath = \"${NOPE}/r.csv\"\n".into()),
        ("syntax errors inside arrays, multi-line strings and keys", "[sources.m]\ntype = \"stdin\"\npath = \"\"\"\n[sinks.zzz] \\q\n\"\"\"\n[sinks.c]\ntype = \"csv\"\npath = \"a.csv\"\nfields = [\n  [\"electricity_used_tariff_1\"], oops\n]\n".into()),
        ("a literal string ending in a quote, then a key with a bad character", "[sources.m]\ntype = \"stdin\"\n[sinks.c]\ntype = \"stdout\"\nformat = \'\'\'x\'\'\'\'\n[sinks.d]\ntype = \"stdout\"\nfo$o = 1\n".into()),
        ("blanks around dots, and a byte-order mark", "\u{feff}[sources.m]\ntype = \"stdin\"\n[ sinks . s ]\ntype = \"stdout\"\nformat . x = !\n".into()),
        ("an unset variable inside an array", format!("{GOOD_SOURCE}\n[sinks.c]\ntype = \"csv\"\npath = \"a.csv\"\nfields = [\"electricity_used_tariff_1\", \"${{NOPE}}\"]\n")),
        ("a syntax error on the line after an inline table", format!("{GOOD_SOURCE}\n[sinks.s]\nopts = {{ a = 1 }}\ntype = \"stdout\n")),
        ("a bare word as the first value of an inline table", format!("{GOOD_SOURCE}\n[sinks]\ns = {{ format = json }}\n")),
        ("a string not closed after a quoted part of a dotted key", format!("{GOOD_SOURCE}\n[sinks]\nc.'my file'.type = \"csv\"\nc. 'my file'.path = \"a.csv\n")),
        ("the largest queue, and one more", format!("{GOOD_SOURCE}\n[sinks.a]\ntype = \"stdout\"\nqueue = 1000000\n\n[sinks.b]\ntype = \"stdout\"\nqueue = 1000001\n")),
        ("replay paces as numbers and words, in and out of range", format!("{GOOD_SINK}[sources.a]\ntype = \"replay\"\npath = \"Cargo.toml\"\npace = 10\n[sources.b]\ntype = \"replay\"\npath = \"Cargo.toml\"\npace = \"0.5\"\n[sources.c]\ntype = \"replay\"\npath = \"Cargo.toml\"\npace = \"0\"\n[sources.d]\ntype = \"replay\"\npath = \"Cargo.toml\"\npace = 2000000\n")),
        ("an error on the first line after a byte-order mark", format!("\u{feff}sources.m.timezone = 5\nsources.m.type = \"stdin\"\n{GOOD_SINK}")),
        ("data bits 9, and 7 taken", format!("[sources.a]\ntype = \"serial\"\npath = \"/dev/ttyUSB0\"\ndata_bits = 9\n[sources.b]\ntype = \"serial\"\npath = \"/dev/ttyUSB1\"\ndata_bits = 7\n{GOOD_SINK}")),
        ("a recording under a file", format!("[sources.meter]\ntype = \"replay\"\npath = \"Cargo.toml/r.txt\"\n{GOOD_SINK}")),
        ("csv paths through a file or naming a directory", format!("{GOOD_SOURCE}\n[sinks.c]\ntype = \"csv\"\npath = \"Cargo.toml/../x.csv\"\n\n[sinks.d]\ntype = \"csv\"\npath = \"tests/c.csv/.\"\n\n[sinks.e]\ntype = \"csv\"\npath = \".\"\n")),
        ("a word without quotes that starts like true", format!("{GOOD_SOURCE}\n[sinks.c]\ntype = \"stdout\"\nformat = table # live\n")),
        ("a word without quotes that starts like false, in an inline table", format!("{GOOD_SOURCE}\n[sinks]\nd = {{ type = \"stdout\", format = fast }}\n")),
        ("a boolean cut short", format!("{GOOD_SINK}[sources.r]\ntype = \"replay\"\npath = \"Cargo.toml\"\nloop = tru\n")),
        ("a key without quotes that starts like false (never echoed)", format!("[sources.meter]\ntype = \"stdin\"\ndecryption_key = fa0011223344556677889900aabbccdd\n{GOOD_SINK}")),
        ("a secret key with a doubled = is not told to be quoted (it is)", format!("[sources.meter]\ntype = \"stdin\"\nauthentication_key == \"00112233445566778899AABBCCDDEEFF\"\n{GOOD_SINK}")),
        ("comments holding quotes, brackets and = before a syntax error", "[sources.m]\ntype = \"stdin\"\n# the meter's port, [\"old\"] = 1\n[sinks.c]\ntype = \"stdout\"\n# don't \"quote\" [this]\nqueue = 5\nformat = \"json\" x\n".into()),
        ("a multi-line string closed before a syntax error", "[sinks.c]\ntype = \"stdout\"\nt = \"\"\"a=[b]\n\"\"\"\nformat = \"json\" x\n".into()),
        ("an escaped quote, and quotes that end a literal string, before a syntax error", "[sources.m]\ntype = \"stdin\"\n[sinks.c]\ntype = \"stdout\"\nt = \"a\\\"b[c]\"\ns = '''x'''''\nformat = \"json\" x\n".into()),
        ("a syntax error after an array on one line", "[sources.m]\ntype = \"stdin\"\n[sinks.c]\ntype = \"csv\"\npath = \"a.csv\"\nfields = [\"a\", [\"b\"]]\nqueue = 5 x\n".into()),
        ("a syntax error inside an array over lines", "[sources.m]\ntype = \"stdin\"\n[sinks.c]\ntype = \"csv\"\npath = \"a.csv\"\nfields = [\n  \"a\",\n  oops,\n]\n".into()),
        ("sections given as arrays of no tables", "sources = []\nsinks = [1, 2]\n".into()),
        ("a key without its value, then a comment", format!("{GOOD_SOURCE}\n[sinks.c]\ntype = \"stdout\"\nformat # json or table\n")),
        ("a quoted sink name holding a dot and an @", format!("{GOOD_SOURCE}\n[sinks.\"me.x@home\"]\ntype = \"stdout\"\nbogus = 1\n")),
        ("several mistakes at once", "[sources.meter]\ntype = \"serial\"\npath = \"/dev/ttyUSB0\"\nbaud = 115200.5\n\n[sinks.file]\ntype = \"csv\"\npath = \"r.csv\"\ninterval = \"1x\"\n\n[sinks.db]\ntype = \"nosql\"\n".into()),
    ];
    let mut report = String::new();
    for (what, text) in cases {
        report.push_str(&format!("== {what}\n{}\n\n", errors(text)));
    }
    insta::assert_snapshot!(report);
}

#[test]
fn secrets_never_appear_in_messages() {
    let key = "0011223344556677889";
    let out = errors(&format!("[sources.meter]\ntype = \"stdin\"\ndecryption_key = \"{key}\"\n{GOOD_SINK}"));
    assert!(!out.contains(key), "{out}");
    assert!(out.contains("decryption_key"), "{out}");
    // Unquoted, a key reads as a number, which serde's message would show in decimal.
    let out = errors(&format!(
        "[sources.meter]\ntype = \"stdin\"\ndecryption_key = 0xD491470F47126332B07D1923B3504188\n\
         authentication_key = 12345678901234567890\n{GOOD_SINK}"
    ));
    for shown in ["282550659412389676855714102454015508872", "12345678901234567890", "D491470F"] {
        assert!(!out.contains(shown), "{out}");
    }
    assert!(
        out.contains(
            "sources.meter.decryption_key: invalid type: integer (hidden), expected a string; write the key in quotes"
        ),
        "{out}"
    );
    assert!(out.contains("sources.meter.authentication_key: invalid type: integer (hidden)"), "{out}");
    // A syntax error can take a line for a key's name: the key, pasted whole or bare.
    for line in ["'decryption_key = D491470F47126332B07D1923B3504188'", "D491470F47126332B07D1923B3504188"] {
        let out = errors(&format!("[sources.meter]\ntype = \"stdin\"\n{line}\n{GOOD_SINK}"));
        assert!(!out.contains("D491470F"), "{out}");
        assert!(out.contains("sources.meter.") && out.contains("(hidden)"), "{out}");
    }
    // In the forms the README allows, wherever it lands.
    let key = "D4:91:47:0F:47:12:63:32:B0:7D:19:23:B3:50:41:88";
    for line in [key.to_string(), format!("\"{key}\" = 1"), format!("dsmr_version = \"{}\"", key.replace(':', "-"))] {
        let out = errors(&format!("[sources.meter]\ntype = \"stdin\"\n{line}\n{GOOD_SINK}"));
        assert!(!out.contains("0F") && out.contains("(hidden)"), "{out}");
    }
    // An unquoted key that is no number either still asks for quotes.
    let out = errors(&format!(
        "[sources.meter]\ntype = \"stdin\"\ndecryption_key = 00112233445566778899AABBCCDDEEFF\n{GOOD_SINK}"
    ));
    assert!(
        out.contains(
            "sources.meter.decryption_key: unexpected leading zero, expected nothing; write the key in quotes"
        ),
        "{out}"
    );
    // A quoted key that fails for another reason is not told to be quoted: on one line,
    // over several, or in an inline table after other keys.
    for text in [
        "[sources.meter]\ntype = \"stdin\"\ndecryption_key = \"00112233445566778899AABBCCDDEEFF\n",
        "[sources.meter]\ntype = \"stdin\"\ndecryption_key = \"00112233445566778899AABBCCDDEEFF\"x\n",
        "[sources.meter]\ntype = \"stdin\"\ndecryption_key = '00112233445566778899AABBCCDDEEFF\\B\n",
        "[sources.meter]\ntype = \"stdin\"\ndecryption_key = \"0011223344556677\\B8899AABBCCDDEEFF\"\n",
        "[sources.meter]\ntype = \"stdin\"\ndecryption_key = \"\"\"\n0011223344556677\\q8899AABBCCDDEEFF\"\"\"\n",
        "[sources.meter]\ntype = \"stdin\"\ndecryption_key = \"\"\"\n00112233445566778899AABBCCDDEEFF\n\"\"\"  x\n",
        "[sources]\nmeter = { type = \"stdin\", decryption_key = \"0011223344556677\\q8899AABBCCDDEEFF\" }\n",
    ] {
        let out = errors(&format!("{text}{GOOD_SINK}"));
        assert!(!out.contains("in quotes") && !out.contains("8899AABB"), "{text}: {out}");
        assert!(out.contains("decryption_key"), "{text}: {out}");
    }
    // What is no secret stays: the syntax hint, the valid keys of a table.
    let out = errors(&format!("[sources.meter]\ntype = \"stdin\"\nauthentication_key \"0011\"\n{GOOD_SINK}"));
    assert!(out.contains("sources.meter.authentication_key: key with no value, expected `=`"), "{out}");
    // A string opened where a key belongs and never closed runs to the end of the file,
    // over every secret after it (found by fuzzing the loader): the error says where it
    // opened, and none of its text is taken for a key's name. A value written without its
    // `=` is no part of the key's name either.
    for (opener, line) in [("\"\"\"", 3), ("'''", 3), ("\"\"\"", 1)] {
        let text = if line == 1 {
            format!("{opener}\n[sources.meter]\ntype = \"tcp\"\naddress = \"tcp://admin:s3cret@p1:2001\"\n")
        } else {
            format!(
                "[sources.meter]\ntype = \"stdin\"\n{opener}\ndecryption_key = \"0011223344556677\"\n\n[sources.x]\n\
                 type = \"tcp\"\naddress = \"tcp://u:hunter2@h:1\"\n{GOOD_SINK}"
            )
        };
        let out = errors(&text);
        for secret in ["s3cret", "hunter2", "0011223344556677"] {
            assert!(!out.contains(secret), "{opener}: {out}");
        }
        let opened = format!("the string opened with `{opener}` at line {line}, column 1 is never closed");
        assert!(out.contains(&opened), "{opener}: {out}");
    }
    let out =
        errors(&format!("[sources.meter]\ntype = \"stdin\"\ndecryption_key 0011 \"0011223344556677\"\n{GOOD_SINK}"));
    assert!(!out.contains("0011223344556677"), "{out}");
    // A key in a list or a table is told to be one string, not to be quoted (it is).
    for value in ["[\"00112233445566778899AABBCCDDEEFF\"]", "{ k = \"00112233445566778899AABBCCDDEEFF\" }"] {
        let out = errors(&format!("[sources.meter]\ntype = \"stdin\"\ndecryption_key = {value}\n{GOOD_SINK}"));
        assert!(
            out.contains("expected a string; write the key as one string in quotes, not in a list or table"),
            "{out}"
        );
        assert!(!out.contains("8899AABB"), "{out}");
    }
    let out = errors(&format!("[sources.m]\ntype = \"stdin\"\nauthentication_key =\n  'hunter2hunter2'\n{GOOD_SINK}"));
    assert!(out.contains("sources.m.authentication_key: key with no value, expected `=`; a value starts on the line of its key and `=`"), "{out}");
    // A source or sink may be named anything, `address` and `c@x` too.
    let out = errors("[sources.address]\ntype = \"stdin\"\nfoo = 1\n[sinks.\"c@x\"]\ntype = \"stdout\"\nbar = 2\n");
    assert!(
        out.contains("sources.address.foo: unknown field") && out.contains("sinks.\"c@x\".bar: unknown field"),
        "{out}"
    );
    // Control characters in the file are shown escaped, never sent to the terminal.
    let out = errors(&format!("[sources.meter]\ntype = \"stdin\"\nfo\u{1b}]0;title\u{7}o = 1\n{GOOD_SINK}"));
    assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out:?}");
    assert!(out.contains("sources.meter.fo\\x1B"), "{out:?}");
    // A commented-out line in an inline table, a value written straight after its key, or
    // a secret key taken for a table: neither the comment nor the value is a key's name.
    for text in [
        "[sources]\nm = { type = \"tcp\",\n      # address = \"admin:hunter2@h:1\",\n      address = \"p1:2001\"\n      timezone = \"UTC\" }\n",
        "[sources.m]\ntype = \"stdin\"\nauthentication_key\"hunter2hunter2\"\n",
        "[sources.m]\ntype = \"stdin\"\nauthentication_key.'hunter2hunter2'\n",
        "[sources]\nm = { type = \"stdin\", decr#yption_key = \"hunter2hunter2\" }\n",
        "[sources.t]\ntype = \"tcp\"\naddress = {'tcp://u:hunter2@h:1'\n",
        "[sources.t]\ntype = \"tcp\"\n'u:hunter2@h:1' 1\n",
        "[sources.m]\ntype = \"stdin\"\nauthentication_key =\n  'hunter2hunter2'\n",
        // A password moved to where a key or a header belongs, wherever the tables are.
        "[sources]\nmeter.type = \"tcp\"\nmeter.address = \\\n  \"admin:hunter2@p1:2001\"\n",
        "sources.meter.type = \"tcp\"\nsources.meter.address =\n# was 192.168.1.20:2001\n\"admin:hunter2@p1:2001\"\n",
        "sources.meter.type = \"tcp\"\n\"tcp://admin:hunter2@p1:2001\"\n",
        "[sources.meter]\ntype = \"tcp\"\naddress =\n[ \"admin:hunter2@p1:2001\", \"x\" ]\n",
        "[sources.meter]\ntype = \"tcp\"\n\"admin:p4ss.hunter2@p1:2001\"\n",
        "[sources.meter]\ntype = \"tcp\"\naddress = \"127.0.0.1:1\"\n\"authentication_key\" = { hunter2hunter2 }\n",
    ] {
        let out = errors(&format!("{text}{GOOD_SINK}"));
        assert!(!out.contains("hunter2"), "{text}: {out}");
    }
}
