//! Which key an error is about, and serde's wording put in words a TOML user knows.

use super::*;

/// Where an error lies, as far as the text before it tells: the dotted key it is about,
/// and the start of a string opened before it and never closed, if there is one (the error
/// is then that string's, and its text, which may run to the end of the file and hold any
/// secret, is no part of the key).
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Place {
    pub key: String,
    pub unclosed_string: Option<usize>,
    /// The error is on the line after the key's `=`, which ended its line: the value was
    /// moved to the next line.
    pub value_on_next_line: bool,
}

impl From<String> for Place {
    fn from(key: String) -> Place {
        Place { key, ..Place::default() }
    }
}

/// Name the key an error is about: the key whose text or value holds the error's span.
pub(super) fn key_at(text: &str, path: &str, span: Range<usize>, message: &str) -> Place {
    // "unknown field `x`" and "missing field `x`" name the key themselves.
    for marker in ["unknown field `", "missing field `", "duplicate key `"] {
        if let Some(field) = named_field(message, marker) {
            return join(path, field).into();
        }
    }
    if !path.is_empty() {
        return path.to_string().into();
    }
    // A syntax error: no table is known yet; the text up to the error tells the key.
    let start = span.start.min(text.len());
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let twice = message.starts_with("given twice");
    if let Some(header) = text[line_start..line_end].trim().strip_prefix('[').filter(|_| twice) {
        // A table given twice: the header names it.
        let name = header.trim_start_matches('[').split_once(']').map_or("", |(n, _)| n.trim());
        if !name.is_empty() {
            return name.to_string().into();
        }
    }
    if twice {
        // A key given twice: the error points at its second one (in a dotted key, at its
        // last part); the whole key is what comes before its `=`.
        if let Some(eq) = equals_after(&text[start..line_end]) {
            return key_path_before(text, start + eq);
        }
    }
    key_path_before(text, start)
}

/// The dotted key whose value is being read at `end` of `text`: the last table header,
/// then the keys of the inline tables open there and the key of the value itself.
/// Strings (one-line and multi-line) and comments are skipped, so that an `=` or `[` in
/// them is not taken for TOML's own; a value over several lines (an array) keeps its key.
/// A string still open at `end` ends the search there: the error is in it.
pub(super) fn key_path_before(text: &str, end: usize) -> Place {
    let b = text.as_bytes();
    let mut header = String::new();
    // The keys of the open inline tables and of the current value; `open` holds how many
    // keys were known when each `{` opened.
    let mut keys: Vec<String> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    // A byte-order mark before the first line is no part of it.
    let mut i = if text.starts_with('\u{feff}') { '\u{feff}'.len_utf8() } else { 0 };
    let mut key_start = Some(i);
    let mut arrays = 0usize;
    // A string that holds `end`: where it opens, and whether it closes after `end`.
    let mut open_string: Option<(usize, bool)> = None;
    // The start of the line after a key whose `=` ends its line: what comes there is
    // that key's value, moved to the next line (and may be a secret), not a key.
    let mut value_line: Option<usize> = None;
    while i < end {
        match b[i] {
            b'#' => {
                i = text[i..end].find('\n').map_or(end, |n| i + n);
                continue;
            }
            q @ (b'"' | b'\'') => {
                // Compared as bytes: an escape may step into a character of several.
                let triple = [q; 3];
                let close: &[u8] = if b[i..].starts_with(&triple) { &triple } else { &triple[..1] };
                // Where the closing quotes start, from `from` up to `limit`; `Err(true)` when a
                // one-line string meets its line's end first (it is never closed).
                let seek = |from: usize, limit: usize| -> Result<usize, bool> {
                    let mut j = from;
                    while j < limit {
                        if b[j..].starts_with(close) {
                            return Ok(j);
                        }
                        if close.len() == 1 && b[j] == b'\n' {
                            return Err(true);
                        }
                        j += if q == b'"' && b[j] == b'\\' { 2 } else { 1 };
                    }
                    Err(false)
                };
                let mut j = match seek(i + close.len(), end) {
                    Ok(j) => j,
                    Err(line_end) => {
                        let closes = !line_end && seek(end, b.len()).is_ok();
                        open_string = Some((i, closes));
                        break;
                    }
                };
                // Up to two quotes before a closing triple belong to the string (`'''x''''`).
                if close.len() == 3 {
                    let run = b.get(j..end).map_or(0, |r| r.iter().take(5).take_while(|&&c| c == q).count());
                    j += run.saturating_sub(3);
                }
                i = j + close.len();
                continue;
            }
            b'\n' if arrays == 0 && open.is_empty() => {
                key_start = Some(i + 1);
            }
            b'[' if key_start.is_some_and(|k| text[k..i].trim().is_empty()) && arrays == 0 => {
                // A table header at the start of a line.
                let close = text[i..end].find('\n').map_or(end, |n| i + n);
                let line = text[i..close].trim_start_matches('[');
                header = line.split_once(']').map_or(line, |(n, _)| n).trim().to_string();
                keys.clear();
                key_start = None;
                i = close;
                continue;
            }
            b'[' => arrays += 1,
            b']' => arrays = arrays.saturating_sub(1),
            b'=' => {
                if let Some(k) = key_start.take() {
                    keys.truncate(open.last().copied().unwrap_or(0));
                    keys.push(key_text(&text[k..i]).to_string());
                    let line_end = text[i..].find('\n').map_or(text.len(), |n| i + n);
                    let rest = text[i + 1..line_end].trim();
                    value_line = (rest.is_empty() || rest.starts_with('#')).then_some(line_end + 1);
                }
            }
            b'{' => {
                open.push(keys.len());
                key_start = Some(i + 1);
            }
            b'}' => {
                if let Some(n) = open.pop() {
                    keys.truncate(n);
                }
            }
            b',' if !open.is_empty() && arrays == 0 => key_start = Some(i + 1),
            _ => {}
        }
        i += 1;
    }
    // A string never closed: the error is its (its text, which may run to the end of the
    // file, is no key). Said only for a quote where a key or a value may open: one in the
    // middle of a word (`addres"s = …`) throws the pairing of quotes off, and a later quote
    // that seems to open a string may close one.
    let unclosed_string = open_string.filter(|&(at, closes)| !closes && may_open(text, at)).map(|(at, _)| at);
    let value_on_next_line = key_start.is_some() && key_start == value_line;
    if let Some(k) = key_start.filter(|_| !value_on_next_line) {
        // The error is in a key itself (`fo$o = 1`): the key as far as it goes, before a
        // string left open.
        let stop = open_string.filter(|&(_, closes)| !closes).map_or(end, |(at, _)| at).max(k);
        keys.truncate(open.last().copied().unwrap_or(0));
        keys.push(key_text(&text[k..stop]).to_string());
    }
    let key = std::iter::once(header).chain(keys).filter(|k| !k.is_empty()).map(|k| dotted(&k)).collect::<Vec<_>>();
    Place { key: key.join(".").trim_matches('.').to_string(), unclosed_string, value_on_next_line }
}

/// Whether a string may open at `at`: at the start of a line or after `=`, `[`, `{`, `,` or
/// the `.` of a dotted key (blanks between).
fn may_open(text: &str, at: usize) -> bool {
    let before = text[..at].trim_end_matches([' ', '\t']);
    before.is_empty() || before.ends_with(['\n', '=', '[', '{', ',', '.'])
}

/// The key in `candidate`, the text from where a key may start up to its `=` or to an error:
/// on the last line that is more than blanks and a comment (in an inline table a key may
/// follow lines of those), up to a comment, and up to a quote that opens no quoted part of
/// the key (`authentication_key"…"`, `decryption_key "…"`: a value written without `=`), so
/// that neither a comment nor a value is taken for a key's name.
pub(super) fn key_text(candidate: &str) -> &str {
    let line = candidate
        .rsplit('\n')
        .find(|l| !l.trim_start().is_empty() && !l.trim_start().starts_with('#'))
        .unwrap_or_default();
    let b = line.as_bytes();
    // Whether a part of a dotted key starts here (only blanks since the last `.`).
    let mut part_start = true;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'#' => break,
            // A multi-line string is no key (`"""` where a key belongs).
            q @ (b'"' | b'\'') if part_start && b[i..].starts_with(&[q; 3]) => break,
            q @ (b'"' | b'\'') if part_start => match line[i + 1..].find(char::from(q)) {
                Some(n) => {
                    i += n + 2;
                    part_start = false;
                    continue;
                }
                // The error is in this quoted part: the key as far as it goes.
                None => {
                    i = b.len();
                    break;
                }
            },
            b'"' | b'\'' => break,
            b'.' => part_start = true,
            b' ' | b'\t' => {}
            _ => part_start = false,
        }
        i += 1;
    }
    line[..i].trim()
}

/// A dotted key without the blanks TOML allows around its dots (`sinks . s`).
pub(super) fn dotted(key: &str) -> String {
    key.split('.').map(str::trim).collect::<Vec<_>>().join(".")
}

/// A serde message with Rust's type names said in words (`expected u8` → `expected a
/// whole number from 0 to 255`), as a user writing TOML knows them.
pub(super) fn plain_types(message: &str) -> String {
    if message == "wanted string or table" {
        // What toml says of a number where one of a few words belongs.
        return "expected a string".to_string();
    }
    if message == "duplicate key" {
        return "given twice; each table and key may be given once (and a [table] cannot be added to by dotted keys elsewhere)".to_string();
    }
    const WORDS: [(&str, &str); 7] = [
        ("expected u8", "expected a whole number from 0 to 255"),
        ("expected u16", "expected a whole number from 0 to 65535"),
        ("expected u32", "expected a whole number from 0 to 4294967295"),
        ("expected u64", "expected a whole number of 0 or more"),
        ("expected usize", "expected a whole number of 0 or more"),
        ("expected i64", "expected a whole number"),
        ("expected f64", "expected a number"),
    ];
    let message = match WORDS.iter().find(|(rust, _)| message.ends_with(rust)) {
        Some((rust, words)) => format!("{}{words}", &message[..message.len() - rust.len()]),
        None => message.to_string(),
    };
    if message.starts_with("data did not match any variant of untagged enum PaceToml") {
        return "expected \"fast\", \"realtime\" or a speed factor such as 10.0".to_string();
    }
    // serde's words for TOML's kinds of value.
    const KINDS: [(&str, &str); 7] = [
        ("invalid type: map", "invalid type: table"),
        ("invalid type: sequence", "invalid type: array"),
        ("expected a sequence", "expected an array"),
        ("expected a map", "expected a table"),
        ("expected path string", "expected a string"),
        // toml reads integers too large for 64 bits as i128 or u128, and says so.
        (" as i128", ""),
        (" as u128", ""),
    ];
    KINDS.iter().fold(message, |m, (serde, toml)| m.replace(serde, toml))
}

/// The field a serde message names after `marker` (`unknown field \`x\``, …).
pub(super) fn named_field<'m>(message: &'m str, marker: &str) -> Option<&'m str> {
    message.split_once(marker)?.1.split_once('`').map(|(field, _)| field)
}

/// A table name as TOML writes it: bare when it can be, else quoted (`"my meter"`).
pub(super) fn toml_key(name: &str) -> String {
    let bare = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare { name.to_string() } else { format!("{name:?}") }
}

pub(super) fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

/// Where the first `=` outside quotes is in `line` (`"a=b" = 1`: the second one).
fn equals_after(line: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '=') => return Some(i),
            _ => {}
        }
    }
    None
}

/// Keys whose values are secrets: never shown, even when a value of the wrong type is
/// (an unquoted key is read as a number, and serde's message would show it in decimal).
const SECRET_KEYS: &[&str] = &["decryption_key", "authentication_key"];

/// A config error's key and message with secrets taken out: the value serde quotes in an
/// `invalid type` / `invalid value` message of a secret key, and anywhere a long run of hex
/// digits, the shape of a Smarty key (a syntax error can take a whole line, key and value,
/// for a key's name).
pub(super) fn without_secrets(key: String, message: String) -> (String, String) {
    // A secret key or an address takes a string, no table: what a key names under it is
    // its value mistyped (`authentication_key.'…'`, a `.` for the `=`; `address = {'…'`).
    // A part with an `@` is such a value too, and may hold a password. (Only the keys of a
    // source or sink count: the first two parts are a section and a name, which may be
    // anything.)
    let parts = key_parts(&key);
    let setting = |at: usize, p: &str| {
        let name = p.trim().trim_matches(['"', '\'']);
        at >= 2 && (SECRET_KEYS.contains(&name) || name == "address")
    };
    let mut keep = parts.iter().enumerate().position(|(at, p)| setting(at, p)).map_or(parts.len(), |at| at + 1);
    // A part that holds `user:…@` is an address's value wherever it stands (a value moved
    // to where a key or a table header belongs).
    let userinfo = |p: &str| p.find(':').is_some_and(|c| p[c..].contains('@'));
    if let Some(at) = parts[..keep].iter().enumerate().position(|(at, p)| (at >= 2 && p.contains('@')) || userinfo(p)) {
        keep = at;
    }
    let key = parts[..keep].join(".");
    let message = if is_secret_key(&key) { hide_quoted_value(message) } else { message };
    // Control characters from the file are shown escaped: they must not move the cursor or
    // recolour the terminal the error is printed on.
    (
        crate::table::visible(&hide_hex_runs(&key)).into_owned(),
        crate::table::visible(&hide_hex_runs(&message)).into_owned(),
    )
}

/// The parts of a dotted key, split at the dots outside quotes (a quote left open runs to
/// the end): a password may hold a dot.
fn key_parts(key: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quote) = (0, None);
    for (i, c) in key.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '.') => {
                parts.push(&key[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&key[start..]);
    parts
}

/// Whether the dotted `key` names a secret.
pub(super) fn is_secret_key(key: &str) -> bool {
    SECRET_KEYS.contains(&key.rsplit('.').next().unwrap_or(key))
}

/// `invalid type: integer `282550659412389676855714102454015508872`, expected a string` →
/// `invalid type: integer (hidden), expected a string` (the hint to quote the key is added
/// where every TOML error about a secret key gets it).
fn hide_quoted_value(message: String) -> String {
    let Some(rest) = message.strip_prefix("invalid type: ").or_else(|| message.strip_prefix("invalid value: ")) else {
        return message;
    };
    let head = &message[..message.len() - rest.len()];
    let Some((kind, after)) = rest.split_once('`') else { return message };
    let Some((_, tail)) = after.split_once('`') else { return message };
    format!("{head}{kind}(hidden){tail}")
}

/// `text` with every run of 16 or more hex digits, two or more of them letters, replaced by
/// `(hidden)`: a key as the README allows it to be written, its digits joined or split by
/// blanks, `:` or `-`. Long numbers (a duration's) have no letters or one unit
/// letter; a path component (`/etc/<machine-id>/`) is no key and stays.
pub(super) fn hide_hex_runs(text: &str) -> String {
    const LONGEST_SHOWN: usize = 15;
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    // Copied up to here.
    let mut copied = 0;
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_hexdigit() {
            i += 1;
            continue;
        }
        // The run from `i`: hex digits, and separators between them, any number of them, as
        // a key may be written (`D4 91 …`, `D4 - 91 - …`).
        let (mut end, mut digits, mut letters) = (i, 0, 0);
        while end < b.len() {
            let c = b[end];
            if c.is_ascii_hexdigit() {
                digits += 1;
                letters += usize::from(c.is_ascii_alphabetic());
                end += 1;
                continue;
            }
            let gap = b[end..].iter().take_while(|&&c| matches!(c, b' ' | b':' | b'-')).count();
            if gap > 0 && b.get(end + gap).is_some_and(u8::is_ascii_hexdigit) {
                end += gap;
            } else {
                break;
            }
        }
        // The hex letter ending a word (the `e` of `variable`) stays with its word when a
        // whole key (32 digits or more) follows it; with fewer it may be the key's first.
        let in_word = i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
        let first_piece = b[i..end].iter().take_while(|c| c.is_ascii_hexdigit()).count();
        if in_word && first_piece == 1 && end > i + 1 && digits > 32 {
            i += 1;
            continue;
        }
        let in_path = (i > 0 && b[i - 1] == b'/') || b.get(end) == Some(&b'/');
        if digits > LONGEST_SHOWN && letters >= 2 && !in_path {
            // ASCII bounds: always character boundaries.
            out.push_str(&text[copied..i]);
            out.push_str("(hidden)");
            copied = end;
        }
        i = end;
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_taken_out_and_nothing_else() {
        let hide = |key: &str, message: &str| without_secrets(key.into(), message.into());
        assert_eq!(
            hide("s.m.decryption_key", "invalid type: integer `123`, expected a string"),
            ("s.m.decryption_key".into(), "invalid type: integer (hidden), expected a string".into())
        );
        assert_eq!(hide("s.m.'k = D491470F47126332B07D1923B3504188'", "x").0, "s.m.'k = (hidden)'");
        // In the forms the README allows.
        for key in ["D4:91:47:0F:47:12:63:32:B0:7D:19:23:B3:50:41:88", "D491-470F-4712-6332-B07D-1923-B350-4188"] {
            assert_eq!(hide("s.m.x", &format!("`{key}` = 1")).1, "`(hidden)` = 1");
        }
        assert_eq!(
            hide("s.m.format", "unknown variant `D4 91 47 0F 47 12 63 32 B0 7D 19 23 B3 50 41 88`").1,
            "unknown variant `(hidden)`"
        );
        // The word before a key keeps its last letter; a key run on from a word is hidden.
        assert_eq!(
            hide("s.m.x", "environment variable D491470F47126332B07D1923B3504188 is not set").1,
            "environment variable (hidden) is not set"
        );
        assert_eq!(hide("s.m.x", "key 0xD491470F47126332B07D1923B3504188").1, "key 0x(hidden)");
        assert_eq!(hide("s.m.x", "keyD491470F47126332B07D1923B3504188").1, "key(hidden)");
        // Separators of any length between the digits, as a key may be written.
        assert_eq!(
            hide("s.m.x", "zone `D4 - 91 - 47 - 0F - 47 - 12 - 63 - 32 - B0 - 7D - 19 - 23 - B3 - 50 - 41 - 88`").1,
            "zone `(hidden)`"
        );
        assert_eq!(
            hide("s.m.x", "zone `D4  91  47  0F  47  12  63  32  B0  7D  19  23  B3  50  41  88`").1,
            "zone `(hidden)`"
        );
        // A word's last letter that may be a key's first digit goes with the key.
        assert_eq!(hide("s.m.x", "keyD 49 14 70 F4 71 26 33 2B 07 D1 92 3B 35 04 18 8").1, "key(hidden)");
        // After a blank it is no word's, even with a whole key after it; after a word's `_`
        // it is the word's then.
        assert_eq!(hide("s.m.x", "key D 49 14 70 F4 71 26 33 2B 07 D1 92 3B 35 04 18 8A").1, "key (hidden)");
        assert_eq!(
            hide("s.m.x", "my_key_D 49 14 70 F4 71 26 33 2B 07 D1 92 3B 35 04 18 8A x").1,
            "my_key_D (hidden) x"
        );
        // Up to 15 hex digits are shown (an id, a short hash); from 16 on they may be a key.
        assert_eq!(hide("s.m.x", "`abcdef012345678`").1, "`abcdef012345678`");
        assert_eq!(hide("s.m.x", "`abcdef0123456789`").1, "`(hidden)`");
        // Not secret: a long number, a unit letter, a short hex word, a path component,
        // other text (non-ASCII too).
        for text in [
            "`10000000000000000000s`",
            "99999999999999999d",
            "face cafe",
            "recording `/var/lib/0123456789abcdef0123456789abcdef/r.txt` does not exist",
            "recording `/var/lib/0123456789abcdef0123456789abcdef` does not exist",
            "für Zähler: `ä`",
        ] {
            assert_eq!(hide("s.m.path", text).1, text);
        }
        // A secret key's other messages keep their hints.
        assert_eq!(hide("s.m.decryption_key", "expected `=`").1, "expected `=`");
    }
}
