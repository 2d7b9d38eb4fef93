use serde::{Deserialize, Serialize};

/// A domain orchestrator's view of its agents, refreshed with the metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainStats {
    pub name: String,
    /// Mean utilization of the agents in rotation, 0–1.
    pub utilization: f64,
    pub agents: u32,
    pub in_rotation: u32,
    pub busy: u32,
    /// Failed share of the tasks finished in the metrics window.
    pub error_rate: f64,
    pub finished: u64,
    /// Utilization in percent at each refresh, oldest first, for sparklines.
    pub history: Vec<u8>,
}

/// One queue per domain and team, with metrics the engine refreshes on its clock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Queue {
    /// `domain/team`.
    pub name: String,
    pub domain: String,
    pub team: String,
    /// Tasks waiting: queued (including retries in backoff) and blocked.
    pub depth: u32,
    pub blocked: u32,
    pub oldest_age_s: u64,
    /// Tasks per minute entering and leaving the queue, smoothed.
    pub enqueue_rate: f64,
    pub dequeue_rate: f64,
    pub wait_p50_s: f64,
    pub wait_p95_s: f64,
    /// Depth at each metrics refresh, oldest first, for sparklines.
    pub history: Vec<u32>,
    /// Tasks that entered (including retries) and left for an agent, since the queue began.
    pub enqueued_total: u64,
    pub dequeued_total: u64,
    /// Recent waits (seconds from enqueue to lease), newest last; the source of p50/p95.
    pub recent_waits: Vec<f64>,
}

impl Queue {
    pub const HISTORY_LEN: usize = 60;
    pub const WAITS_LEN: usize = 100;

    pub fn new(domain: &str, team: &str) -> Self {
        Queue {
            name: format!("{domain}/{team}"),
            domain: domain.to_string(),
            team: team.to_string(),
            depth: 0,
            blocked: 0,
            oldest_age_s: 0,
            enqueue_rate: 0.0,
            dequeue_rate: 0.0,
            wait_p50_s: 0.0,
            wait_p95_s: 0.0,
            history: Vec::new(),
            enqueued_total: 0,
            dequeued_total: 0,
            recent_waits: Vec::new(),
        }
    }
}
