//! Latency statistics: nearest-rank percentiles, median and maximum.

use std::time::Duration;

/// p50 and p99 of a set of durations (nearest rank).
#[derive(Clone, Copy)]
pub struct Spread {
    pub n: usize,
    pub p50: Duration,
    pub p99: Duration,
}

pub fn spread(mut samples: Vec<Duration>) -> Option<Spread> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_unstable();
    let rank = |p: f64| {
        let index = (p / 100.0 * samples.len() as f64).ceil() as usize;
        samples[index.clamp(1, samples.len()) - 1]
    };
    Some(Spread {
        n: samples.len(),
        p50: rank(50.0),
        p99: rank(99.0),
    })
}

pub fn median_and_max(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort_unstable();
    let median = samples.get(samples.len() / 2).copied().unwrap_or_default();
    (median, samples.last().copied().unwrap_or_default())
}
