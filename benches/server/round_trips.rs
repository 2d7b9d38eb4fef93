//! Decision round trips: sequential notes and approvals, each timed from send to the whole
//! response read.

use std::time::Duration;

use crate::BenchResult;
use crate::api::Api;
use crate::decisions::{Notepad, approve, note, pending_approvals, raise_escalations};

/// Sequential decisions per round-trip set, paced like a busy room of operators, not a flood.
const ROUND_TRIPS: usize = 200;
const ROUND_TRIP_INTERVAL: Duration = Duration::from_millis(50);

/// One approval among this many round trips, while pending ones last.
const APPROVAL_EVERY: usize = 10;

#[derive(Default)]
pub struct RoundTrips {
    pub notes: Vec<Duration>,
    pub approvals: Vec<Duration>,
    /// Approvals answered other than 200 (decided or expired meanwhile, quorum rules...).
    pub approvals_refused: usize,
}

impl RoundTrips {
    pub fn extend(&mut self, other: RoundTrips) {
        self.notes.extend(other.notes);
        self.approvals.extend(other.approvals);
        self.approvals_refused += other.approvals_refused;
    }
}

/// Sequential decisions at `ROUND_TRIP_INTERVAL`: notes, and an approval every `APPROVAL_EVERY`
/// (of escalations raised for the purpose, or the demo fleet's own).
pub async fn measure_round_trips(api: &Api, pad: &mut Notepad) -> BenchResult<RoundTrips> {
    raise_escalations(api, ROUND_TRIPS / APPROVAL_EVERY).await?;
    let mut pending = pending_approvals(api).await?;
    let mut trips = RoundTrips::default();
    let mut pace = tokio::time::interval(ROUND_TRIP_INTERVAL);
    for i in 0..ROUND_TRIPS {
        pace.tick().await;
        if i % APPROVAL_EVERY == APPROVAL_EVERY / 2
            && let Some((id, version)) = pending.pop()
        {
            let posted = approve(api, &id, version).await?;
            match posted.status {
                200 => trips.approvals.push(posted.took),
                _ => trips.approvals_refused += 1,
            }
            continue;
        }
        trips.notes.push(note(api, pad).await?.took);
    }
    Ok(trips)
}
