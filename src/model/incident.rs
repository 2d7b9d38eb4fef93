use chrono::Duration;
use serde::{Deserialize, Serialize};

use super::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Severity {
    #[serde(rename = "SEV1")]
    Sev1,
    #[serde(rename = "SEV2")]
    Sev2,
    #[serde(rename = "SEV3")]
    Sev3,
    #[serde(rename = "SEV4")]
    Sev4,
}

impl Severity {
    pub const ALL: [Severity; 4] = [
        Severity::Sev1,
        Severity::Sev2,
        Severity::Sev3,
        Severity::Sev4,
    ];

    /// The resolution target: SEV1 1 h, SEV2 4 h, SEV3 24 h, SEV4 one week.
    pub fn target(self) -> Duration {
        match self {
            Severity::Sev1 => Duration::hours(1),
            Severity::Sev2 => Duration::hours(4),
            Severity::Sev3 => Duration::hours(24),
            Severity::Sev4 => Duration::weeks(1),
        }
    }

    /// One step more severe; SEV1 stays SEV1.
    pub fn raised(self) -> Severity {
        match self {
            Severity::Sev1 | Severity::Sev2 => Severity::Sev1,
            Severity::Sev3 => Severity::Sev2,
            Severity::Sev4 => Severity::Sev3,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Sev1 => "SEV1",
            Severity::Sev2 => "SEV2",
            Severity::Sev3 => "SEV3",
            Severity::Sev4 => "SEV4",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentState {
    Open,
    Acknowledged,
    Mitigated,
    Resolved,
}

impl IncidentState {
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentState::Open => "open",
            IncidentState::Acknowledged => "acknowledged",
            IncidentState::Mitigated => "mitigated",
            IncidentState::Resolved => "resolved",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum IncidentSource {
    AlertRule { rule: String },
    Agent { agent_id: String },
    Operator { name: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub at: Timestamp,
    pub by: String,
    /// `opened`, `acknowledged`, `escalated`, `mitigated`, `resolved`, `note`.
    pub kind: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub id: String,
    pub severity: Severity,
    pub title: String,
    pub domain: String,
    pub state: IncidentState,
    pub source: IncidentSource,
    pub opened_at: Timestamp,
    pub opened_by: String,
    pub acked_at: Option<Timestamp>,
    pub acked_by: Option<String>,
    pub mitigated_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
    pub resolved_by: Option<String>,
    /// opened_at plus the severity's resolution target.
    pub target_at: Timestamp,
    pub timeline: Vec<TimelineEntry>,
    /// Alert rules open at most one incident per key while it is unresolved.
    pub dedup_key: Option<String>,
    pub version: u64,
    /// The open incident of the same domain this one arrived under (an alert or a breaker
    /// firing while that domain already had one as severe or more): its card lists this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
}

impl Incident {
    pub fn is_open(&self) -> bool {
        self.state != IncidentState::Resolved
    }
}
