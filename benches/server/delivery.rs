//! Event delivery: notes posted at a steady pace, and when each client read each one's event.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::BenchResult;
use crate::api::Api;
use crate::decisions::{Notepad, event_seq, note};
use crate::stream::ClientLog;

/// Notes posted while the clients listen: 5 a second.
const NOTE_INTERVAL: Duration = Duration::from_millis(200);

fn delivery_window() -> Duration {
    let seconds = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    Duration::from_secs(seconds)
}

/// A note whose event every client should see.
pub struct Sent {
    seq: u64,
    at: Instant,
}

/// Notes at `NOTE_INTERVAL` for the delivery window.
pub async fn send_paced_notes(api: &Api, pad: &mut Notepad) -> BenchResult<Vec<Sent>> {
    let window = delivery_window();
    let started = Instant::now();
    let mut pace = tokio::time::interval(NOTE_INTERVAL);
    pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut sent = Vec::new();
    while started.elapsed() < window {
        pace.tick().await;
        let posted = note(api, pad).await?;
        sent.push(Sent {
            seq: event_seq(&posted)?,
            at: posted.sent,
        });
    }
    Ok(sent)
}

pub struct Delivery {
    pub latencies: Vec<Duration>,
    /// Per note, its first reader's latency: the server's own part (commit, publish, first
    /// write), without the fan-out to the other clients.
    pub first_reader: Vec<Duration>,
    /// (client, note) pairs never seen.
    pub missing: usize,
}

pub fn delivery(sent: &[Sent], logs: &[ClientLog]) -> Delivery {
    let sent_at: HashMap<u64, Instant> = sent.iter().map(|s| (s.seq, s.at)).collect();
    let mut first: HashMap<u64, Duration> = HashMap::new();
    let mut latencies = Vec::with_capacity(sent.len() * logs.len());
    for log in logs {
        for (seq, at) in &log.events {
            if let Some(sent) = sent_at.get(seq) {
                let latency = at.saturating_duration_since(*sent);
                latencies.push(latency);
                let earliest = first.entry(*seq).or_insert(latency);
                *earliest = latency.min(*earliest);
            }
        }
    }
    let missing = sent.len() * logs.len() - latencies.len();
    Delivery {
        latencies,
        first_reader: first.into_values().collect(),
        missing,
    }
}

/// Events a second that one client read during the window, and their mean size on the wire.
pub fn stream_rate(log: &ClientLog, from: Instant, to: Instant) -> (f64, usize) {
    let seen = log
        .events
        .iter()
        .filter(|(_, at)| *at >= from && *at <= to)
        .count();
    let rate = seen as f64 / to.duration_since(from).as_secs_f64();
    let mean_bytes = log.payload_bytes / log.events.len().max(1);
    (rate, mean_bytes)
}
