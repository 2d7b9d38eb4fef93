//! One client count's measurements: warm-up round trips, memory, delivery, loaded round trips.

use std::time::{Duration, Instant};

use crate::BenchResult;
use crate::api::Api;
use crate::clients::Fleet;
use crate::decisions::open_notepad;
use crate::delivery::{delivery, send_paced_notes, stream_rate};
use crate::memory::{kib_per_client, rss_kib};
use crate::round_trips::{RoundTrips, measure_round_trips};
use crate::server::Setup;
use crate::stats::{Spread, spread};

/// Everything measured at one client count.
pub struct Phase {
    pub clients: usize,
    pub rss_idle_kib: u64,
    pub rss_clients_kib: u64,
    pub rss_loaded_kib: u64,
    pub delivery: Option<Spread>,
    pub first_reader: Option<Spread>,
    pub pairs: usize,
    pub missing: usize,
    pub resets: usize,
    pub gaps: usize,
    pub errors: Vec<String>,
    pub events_per_second: f64,
    pub notes_per_second: f64,
    pub mean_event_bytes: usize,
    pub round_trips: RoundTrips,
}

impl Phase {
    pub fn kib_per_client(&self) -> f64 {
        kib_per_client(self.rss_idle_kib, self.rss_clients_kib, self.clients)
    }
}

/// Warm-up (the no-client round trips), memory, delivery, then round trips with `clients`.
pub async fn measure_phase(
    setup: &Setup,
    api: &Api,
    pid: u32,
    clients: usize,
    idle_trips: &mut RoundTrips,
) -> BenchResult<Phase> {
    let mut pad = open_notepad(api).await?;
    idle_trips.extend(measure_round_trips(api, &mut pad).await?);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_idle_kib = rss_kib(pid)?;

    let mut fleet = Fleet::new()?;
    fleet.connect(clients, setup.addr(), &setup.token).await?;
    fleet.wait_heard(Duration::from_secs(30)).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_clients_kib = rss_kib(pid)?;

    let window_start = Instant::now();
    let sent = send_paced_notes(api, &mut pad).await?;
    let window_end = Instant::now();
    // Let the last note reach every client before the next figures start.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let round_trips = measure_round_trips(api, &mut pad).await?;
    let rss_loaded_kib = rss_kib(pid)?;
    let logs = fleet.stop().await;

    let found = delivery(&sent, &logs);
    let (events_per_second, mean_event_bytes) = stream_rate(&logs[0], window_start, window_end);
    let window = window_end.duration_since(window_start).as_secs_f64();
    Ok(Phase {
        clients,
        rss_idle_kib,
        rss_clients_kib,
        rss_loaded_kib,
        pairs: sent.len() * logs.len(),
        missing: found.missing,
        delivery: spread(found.latencies),
        first_reader: spread(found.first_reader),
        resets: logs.iter().map(|l| l.resets).sum(),
        gaps: logs.iter().map(|l| l.gaps).sum(),
        errors: logs.iter().filter_map(|l| l.error.clone()).collect(),
        events_per_second,
        notes_per_second: sent.len() as f64 / window,
        mean_event_bytes,
        round_trips,
    })
}
