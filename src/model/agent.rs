use serde::{Deserialize, Serialize};

use super::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentStatus {
    Idle,
    Busy,
    Paused,
    Down,
}

impl AgentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentStatus::Idle => "idle",
            AgentStatus::Busy => "busy",
            AgentStatus::Paused => "paused",
            AgentStatus::Down => "down",
        }
    }
}

/// The circuit breaker that takes an agent that keeps failing out of rotation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Circuit {
    #[default]
    Closed,
    /// Out of rotation until `until`; then one trial task decides.
    Open { since: Timestamp, until: Timestamp },
    /// One task on trial: success closes the circuit, failure opens it again.
    HalfOpen,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    pub id: String,
    pub name: String,
    pub domain: String,
    pub team: String,
    pub skills: Vec<String>,
    pub status: AgentStatus,
    pub current_task: Option<String>,
    /// Share of recent time spent busy, 0–1 (an exponentially weighted rolling window).
    pub utilization: f64,
    pub tasks_done: u64,
    pub errors: u64,
    pub consecutive_failures: u32,
    pub circuit: Circuit,
    pub version: String,
    /// The rollout this agent is a canary of, if any.
    pub rollout: Option<String>,
    pub registered_at: Timestamp,
    pub last_heartbeat: Timestamp,
    /// Why an operator paused it, when paused.
    pub paused_reason: Option<String>,
    /// The agent token that registered it; only that token acts for it. `None`: an agent of the
    /// orchestrator's own (the embedded demo fleet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

impl Agent {
    pub fn in_rotation(&self) -> bool {
        !matches!(self.circuit, Circuit::Open { .. })
            && matches!(self.status, AgentStatus::Idle | AgentStatus::Busy)
    }

    pub fn has_skills(&self, wanted: &[String]) -> bool {
        wanted.iter().all(|s| self.skills.contains(s))
    }
}
