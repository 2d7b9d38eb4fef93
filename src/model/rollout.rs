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
    /// A canary whose error rate exceeds the baseline by this factor (and by
    /// [`ErrorGate::MARGIN`]) pauses itself: see [`Rollout::error_gate`].
    pub max_error_ratio: f64,
    /// Canary tasks needed before the gate judges (fewer say nothing either way).
    #[serde(default = "default_min_samples")]
    pub min_samples: u64,
    /// Advance by itself once a phase's minimum duration has passed and health holds.
    pub auto_promote: bool,
    pub paused_reason: Option<String>,
    /// Paused by its own error gate (not by an operator): until someone acts on it, it needs
    /// a person, and the console's "needs me" list says so.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub gate_paused: bool,
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

    /// The health gate this rollout is judged by, at its current baseline.
    pub fn error_gate(&self) -> ErrorGate {
        ErrorGate {
            baseline: self.health.baseline_error_rate,
            ratio: self.max_error_ratio,
        }
    }

    /// Enough canary tasks ran for the gate to judge, and the canary is past it.
    pub fn unhealthy(&self) -> bool {
        self.health.samples >= self.min_samples && self.error_gate().trips(self.health.error_rate)
    }

    /// How long the current phase still has to run before it may be promoted (zero: it may).
    pub fn phase_time_left(&self, now: Timestamp) -> chrono::Duration {
        let phase = self.current();
        let elapsed = phase.started_at.map(|s| now - s).unwrap_or_default();
        let min = chrono::Duration::seconds(phase.min_duration_s as i64);
        (min - elapsed).max(chrono::Duration::zero())
    }

    pub fn percent(&self) -> u8 {
        if self.state == RolloutState::Aborted {
            0
        } else {
            self.current().percent
        }
    }
}

/// What `min_samples` was before rollouts carried it: the config's default.
fn default_min_samples() -> u64 {
    10
}

/// The canary error rate above which a rollout pauses itself. The engine decides with it and
/// every screen describes it with it, so the number shown is the number applied.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ErrorGate {
    /// The error rate of the domain's agents outside the cohort (0.0–1.0).
    pub baseline: f64,
    /// How many times the baseline a canary may reach.
    pub ratio: f64,
}

impl ErrorGate {
    /// A canary must also exceed its baseline by this much in absolute terms: a small cohort is
    /// noisy, and three failures in twenty tasks should not stop a healthy rollout.
    pub const MARGIN: f64 = 0.10;

    /// The error rate (0.0–1.0) a canary may reach without pausing.
    pub fn threshold(&self) -> f64 {
        (self.baseline * self.ratio).max(self.baseline + Self::MARGIN)
    }

    /// Whether a canary erring at `error_rate` is past the gate.
    pub fn trips(&self, error_rate: f64) -> bool {
        error_rate > self.threshold()
    }
}

/// `12.9% (max of 2.0× baseline 2.9%, baseline + 10 points)`: the threshold, then how it is made.
impl std::fmt::Display for ErrorGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.1}% (max of {:.1}× baseline {:.1}%, baseline + {:.0} points)",
            self.threshold() * 100.0,
            self.ratio,
            self.baseline * 100.0,
            Self::MARGIN * 100.0
        )
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorGate;

    #[test]
    fn the_gate_is_the_larger_of_ratio_and_margin() {
        let low = ErrorGate {
            baseline: 0.029,
            ratio: 2.0,
        };
        assert!((low.threshold() - 0.129).abs() < 1e-9);
        assert_eq!(
            low.to_string(),
            "12.9% (max of 2.0× baseline 2.9%, baseline + 10 points)"
        );
        let high = ErrorGate {
            baseline: 0.3,
            ratio: 2.0,
        };
        assert!((high.threshold() - 0.6).abs() < 1e-9);
        assert!(high.trips(0.61) && !high.trips(0.59));
    }
}
