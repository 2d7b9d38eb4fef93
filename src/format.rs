//! Durations and text, worded the same in the CLI and the console.

use chrono::Duration;

/// `45s`, `12m`, `3h05m`, `2d4h`.
pub fn span(d: Duration) -> String {
    let s = d.num_seconds().abs();
    match s {
        0..60 => format!("{s}s"),
        60..3_600 => format!("{}m", s / 60),
        3_600..86_400 => format!("{}h{:02}m", s / 3_600, (s % 3_600) / 60),
        _ => format!("{}d{}h", s / 86_400, (s % 86_400) / 3_600),
    }
}

/// Like `span`, but never finer than a minute: for displays that should not change every second.
pub fn coarse(d: Duration) -> String {
    if d.num_seconds().abs() < 60 {
        "<1m".to_string()
    } else {
        span(d)
    }
}

/// Time left until a deadline: `in 42m`, or `overdue 5m`.
pub fn left(d: Duration) -> String {
    if d >= Duration::zero() {
        format!("in {}", span(d))
    } else {
        format!("overdue {}", span(d))
    }
}

pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_naturally() {
        assert_eq!(span(Duration::seconds(45)), "45s");
        assert_eq!(span(Duration::minutes(12)), "12m");
        assert_eq!(span(Duration::minutes(185)), "3h05m");
        assert_eq!(span(Duration::hours(52)), "2d4h");
        assert_eq!(left(Duration::minutes(-5)), "overdue 5m");
        assert_eq!(coarse(Duration::seconds(59)), "<1m");
        assert_eq!(truncate("abcdef", 4), "abc…");
    }
}
