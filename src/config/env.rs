//! `${NAME}` in string values replaced from the environment, so secrets stay out of the file.

use super::*;

/// Replace `${NAME}` in every string value; a variable that is not set is an error that
/// names it (and never prints the value of one that is).
pub(super) fn expand_env_table<'i>(
    t: &mut DeTable<'i>,
    path: &str,
    env: &dyn Fn(&str) -> Option<String>,
    cx: &mut Cx<'_>,
) {
    let mut failed = Vec::new();
    for (k, v) in t.iter_mut() {
        let p = join(path, &toml_key(k.get_ref()));
        let before = cx.errors.len();
        expand_env_value(v, &p, env, cx);
        if cx.errors.len() > before && !matches!(v.get_ref(), DeValue::Table(_)) {
            failed.push(k.clone());
        }
    }
    // A value that could not be expanded is reported once, not again by later checks.
    for k in failed {
        cx.set_aside.push(join(path, &toml_key(k.get_ref())));
        t.remove(&k);
    }
}

pub(super) fn expand_env_value<'i>(
    v: &mut Spanned<DeValue<'i>>,
    path: &str,
    env: &dyn Fn(&str) -> Option<String>,
    cx: &mut Cx<'_>,
) {
    let span = v.span();
    match v.get_mut() {
        DeValue::String(s) if s.contains("${") => match expand(s, env) {
            Ok(out) => *s = DeString::Owned(out),
            Err(msg) => cx.at(span, path, msg),
        },
        DeValue::Table(t) => expand_env_table(t, path, env, cx),
        DeValue::Array(items) => {
            for item in items.iter_mut() {
                expand_env_value(item, path, env, cx);
            }
        }
        _ => {}
    }
}

/// Expand `${NAME}` references; `$${` is a literal `${`.
pub fn expand(s: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    let mut missing = BTreeSet::new();
    while let Some(i) = rest.find("${") {
        if rest[..i].ends_with('$') {
            out.push_str(&rest[..i - 1]);
            out.push_str("${");
            rest = &rest[i + 2..];
            continue;
        }
        out.push_str(&rest[..i]);
        let Some(end) = rest[i + 2..].find('}') else {
            return Err("unclosed `${` in value; write `${NAME}`".into());
        };
        let name = &rest[i + 2..i + 2 + end];
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("`${{{name}}}` is not a valid environment variable reference"));
        }
        match env(name) {
            Some(v) => out.push_str(&v),
            None => {
                missing.insert(name.to_string());
            }
        }
        rest = &rest[i + 2 + end + 1..];
    }
    out.push_str(rest);
    if missing.is_empty() {
        Ok(out)
    } else {
        let names: Vec<String> = missing.into_iter().collect();
        Err(format!("environment variable {} is not set", names.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_expansion() {
        let env = |n: &str| (n == "KEY").then(|| "abc".to_string());
        assert_eq!(expand("x${KEY}y", &env), Ok("xabcy".into()));
        assert_eq!(expand("$${KEY}", &env), Ok("${KEY}".into()));
        assert!(expand("${NOPE}", &env).unwrap_err().contains("NOPE"));
        // A name that is empty or holds other characters is no reference (not a variable
        // that is not set).
        for bad in ["${}", "${KEY-1}"] {
            let inner = &bad[2..bad.len() - 1];
            assert_eq!(expand(bad, &env), Err(format!("`${{{inner}}}` is not a valid environment variable reference")));
        }
    }
}
