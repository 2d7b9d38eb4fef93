use serde::{Deserialize, Serialize};

use super::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RolloutKind {
    AgentVersion,
    SkillPack,
    PolicyBundle,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RolloutState {
    Progressing,
    Paused,
    Aborted,
    RollingBack,
    Completed,
}

impl RolloutState {
    pub fn as_str(self) -> &'static str {
        match self {
            RolloutState::Progressing => "progressing",
            RolloutState::Paused => "paused",
            RolloutState::Aborted => "aborted",
            RolloutState::RollingBack => "rolling_back",
            RolloutState::Completed => "completed",
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, RolloutState::Aborted | RolloutState::Completed)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseState {
    Pending,
    Active,
    Done,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    pub name: String,
    pub percent: u8,
    pub min_duration_s: u64,
    pub state: PhaseState,
    pub started_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
}

/// Canary against baseline: the error rate and p95 latency of tasks run by agents in the
/// rollout's cohort, beside those of the domain's other agents.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RolloutHealth {
    pub error_rate: f64,
    pub baseline_error_rate: f64,
    pub latency_p95_ms: f64,
    pub baseline_latency_p95_ms: f64,
    pub samples: u64,
    pub baseline_samples: u64,
    /// Recent task durations, newest last: the source of the p95 figures.
    pub latency_samples_ms: Vec<u64>,
    pub baseline_latency_samples_ms: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rollout {
    pub id: String,
    pub name: String,
    pub kind: RolloutKind,
    /// What is rolled out: the version or bundle the cohort receives.
    pub target_version: String,
    pub domain: String,
    pub state: RolloutState,
    /// Name of the active phase (`canary`, `early_majority`, `majority`, `complete`).
    pub current_phase: String,
    pub phases: Vec<Phase>,
    pub health: RolloutHealth,
    /// A canary whose error rate exceeds the baseline by this factor pauses itself.
    pub max_error_ratio: f64,
    /// Advance by itself once a phase's minimum duration has passed and health holds.
    pub auto_promote: bool,
    pub paused_reason: Option<String>,
    pub started_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: u64,
}

impl Rollout {
    pub const PHASES: [(&'static str, u8); 4] = [
        ("canary", 1),
        ("early_majority", 25),
        ("majority", 75),
        ("complete", 100),
    ];

    pub fn phase_index(&self) -> usize {
        self.phases
            .iter()
            .position(|p| p.name == self.current_phase)
            .unwrap_or(0)
    }

    pub fn current(&self) -> &Phase {
        &self.phases[self.phase_index()]
    }

    pub fn percent(&self) -> u8 {
        if self.state == RolloutState::Aborted {
            0
        } else {
            self.current().percent
        }
    }
}
