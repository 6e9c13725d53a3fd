//! Durations as the configuration writes them (`500ms`, `10s`, `1h30m`).

use super::*;

/// Parse `250ms`, `10s`, `5m`, `1h`, `1h30m`, `0s`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("`{s}` is not a duration; write e.g. \"10s\", \"500ms\", \"5m\" or \"1h\"");
    let t = s.trim();
    if t.is_empty() {
        return Err(bad());
    }
    let mut total = Duration::ZERO;
    let mut rest = t;
    let mut units = Vec::new();
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(rest.len());
        if digits == 0 {
            return Err(bad());
        }
        let n: f64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let secs = match &rest[..unit_len] {
            "ms" => n / 1000.0,
            "s" => n,
            "m" | "min" => n * 60.0,
            "h" => n * 3600.0,
            "d" => n * 86400.0,
            _ => return Err(bad()),
        };
        // `5m5m` is more likely a slip than ten minutes.
        let unit = match &rest[..unit_len] {
            "min" => "m",
            unit => unit,
        };
        if units.contains(&unit) {
            return Err(format!("`{s}` gives `{unit}` twice"));
        }
        units.push(unit);
        rest = &rest[unit_len..];
        total = Duration::try_from_secs_f64(secs).ok().and_then(|d| total.checked_add(d)).ok_or_else(bad)?;
    }
    // No setting needs more, and timers set further out than the clock can count would fail.
    if total > Duration::from_secs(365 * 86_400) {
        return Err(format!("`{s}` is longer than a year"));
    }
    if !total.is_zero() && total < Duration::from_millis(1) {
        return Err(format!("`{s}` is shorter than 1ms; write \"0s\" for none"));
    }
    Ok(total)
}

/// Format a duration the way the config writes it.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if d.subsec_nanos() % 1_000_000 != 0 {
        // A fraction of a millisecond (`1.5ms`), as written.
        return format!("{}ms", d.as_nanos() as f64 / 1e6);
    }
    if ms == 0 {
        "0s".into()
    } else if ms % 3_600_000 == 0 {
        format!("{}h", ms / 3_600_000)
    } else if ms % 60_000 == 0 {
        format!("{}m", ms / 60_000)
    } else if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("ten seconds").is_err());
        assert_eq!(format_duration(Duration::from_secs(90)), "90s");
        assert_eq!(format_duration(Duration::from_secs(120)), "2m");
        assert_eq!(format_duration(Duration::from_secs(7200)), "2h");
        assert_eq!(format_duration(Duration::from_millis(2500)), "2500ms");
        // What is shown reads back as the same duration.
        for text in ["1.5ms", "0.25s", "1h30m", "2500ms", "1d"] {
            let d = parse_duration(text).expect(text);
            assert_eq!(parse_duration(&format_duration(d)), Ok(d), "{text} shown as {}", format_duration(d));
        }
        assert_eq!(format_duration(Duration::from_micros(1500)), "1.5ms");
        // From 1 ms to a year.
        assert_eq!(parse_duration("365d"), Ok(Duration::from_secs(365 * 86_400)));
        assert_eq!(parse_duration("366d"), Err("`366d` is longer than a year".into()));
        assert_eq!(parse_duration("1ms"), Ok(Duration::from_millis(1)));
        assert_eq!(parse_duration("0.5ms"), Err("`0.5ms` is shorter than 1ms; write \"0s\" for none".into()));
    }
}
