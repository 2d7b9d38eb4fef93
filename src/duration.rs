//! Human durations (`90s`, `15m`, `6h`, `7d`, `1w`, `1h30m`) for config, flags and queries.

use chrono::Duration;
use serde::{Deserialize, Deserializer, Serializer};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid duration {input:?}: {why}; write a number and a unit, like 90s, 15m, 6h, 7d or 1h30m"
)]
pub struct DurationError {
    pub input: String,
    pub why: &'static str,
}

pub fn parse(input: &str) -> Result<Duration, DurationError> {
    let err = |why| DurationError {
        input: input.to_string(),
        why,
    };
    let s = input.trim();
    if s.is_empty() {
        return Err(err("it is empty"));
    }
    let mut total = Duration::zero();
    let mut digits = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        if digits.is_empty() {
            return Err(err("a unit must follow a number"));
        }
        let n: i64 = digits.parse().map_err(|_| err("the number is too large"))?;
        digits.clear();
        let part = match c {
            's' => Duration::try_seconds(n),
            'm' => Duration::try_minutes(n),
            'h' => Duration::try_hours(n),
            'd' => Duration::try_days(n),
            'w' => Duration::try_weeks(n),
            _ => return Err(err("unknown unit (use s, m, h, d or w)")),
        }
        .ok_or_else(|| err("it is too long"))?;
        total = total
            .checked_add(&part)
            .ok_or_else(|| err("it is too long"))?;
    }
    if !digits.is_empty() {
        return Err(err("the last number has no unit"));
    }
    Ok(total)
}

/// The shortest exact spelling, so a parsed duration prints back the same.
pub fn format(d: Duration) -> String {
    let mut secs = d.num_seconds();
    if secs == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    if secs < 0 {
        out.push('-');
        secs = -secs;
    }
    for (unit, size) in [
        ("w", 604_800),
        ("d", 86_400),
        ("h", 3_600),
        ("m", 60),
        ("s", 1),
    ] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    out
}

pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format(*d))
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    parse(&s).map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_compounds() {
        assert_eq!(parse("90s").unwrap(), Duration::seconds(90));
        assert_eq!(parse("15m").unwrap(), Duration::minutes(15));
        assert_eq!(parse("6h").unwrap(), Duration::hours(6));
        assert_eq!(parse("1h30m").unwrap(), Duration::minutes(90));
        assert_eq!(parse("2w").unwrap(), Duration::days(14));
    }

    #[test]
    fn rejects_bad_input_with_a_reason() {
        for bad in ["", "h", "10", "10x", "-5m", "99999999999999999999s", "1.5h"] {
            let e = parse(bad).unwrap_err();
            assert!(e.to_string().contains("like 90s"), "{bad}: {e}");
        }
    }

    #[test]
    fn formats_round_trip() {
        for s in ["0s", "90s", "15m", "6h", "1h30m", "7d", "1w", "1w1d1h1m1s"] {
            let d = parse(s).unwrap();
            assert_eq!(parse(&format(d)).unwrap(), d, "{s}");
        }
        assert_eq!(format(Duration::seconds(90)), "1m30s");
    }
}
