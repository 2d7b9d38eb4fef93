//! What operators ask for: act on an approval, an incident, a rollout or an agent; declare an
//! incident; start a rollout; open a sensitive record. Each struct is the body of its route.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::model::{
    Agent, AgentStatus, Incident, IncidentState, Rollout, RolloutKind, RolloutState, Severity,
    Timestamp,
};

/// What an operator does to an approval: decide it (approve, reject) or escalate it one level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalAction {
    Approve,
    Reject,
    Escalate,
}

impl ApprovalAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalAction::Approve => "approve",
            ApprovalAction::Reject => "reject",
            ApprovalAction::Escalate => "escalate",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IncidentAction {
    Ack,
    /// Raise the severity one step, so the incident pages one level further up.
    Escalate,
    Mitigate,
    Resolve,
    Note,
}

impl IncidentAction {
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentAction::Ack => "ack",
            IncidentAction::Escalate => "escalate",
            IncidentAction::Mitigate => "mitigate",
            IncidentAction::Resolve => "resolve",
            IncidentAction::Note => "note",
        }
    }

    /// Why this action cannot succeed on `incident`, or None when it can (engine and console
    /// alike; a note's text is checked where it is typed).
    pub fn refusal(self, incident: &Incident) -> Option<String> {
        let id = &incident.id;
        let state = incident.state;
        if state == IncidentState::Resolved && self != IncidentAction::Note {
            return Some(format!("{id} is already resolved"));
        }
        match self {
            IncidentAction::Ack if state != IncidentState::Open => {
                Some(format!("{id} is already {}", state.as_str()))
            }
            IncidentAction::Escalate if incident.severity == Severity::Sev1 => {
                Some(format!("{id} is already SEV1, the highest severity"))
            }
            IncidentAction::Mitigate if state == IncidentState::Mitigated => {
                Some(format!("{id} is already mitigated"))
            }
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RolloutAction {
    Promote,
    Pause,
    Resume,
    Abort,
}

impl RolloutAction {
    pub fn as_str(self) -> &'static str {
        match self {
            RolloutAction::Promote => "promote",
            RolloutAction::Pause => "pause",
            RolloutAction::Resume => "resume",
            RolloutAction::Abort => "abort",
        }
    }

    /// Why this action cannot succeed on `r` at `now`, or None when it can. The engine
    /// refuses with this text and the console shows it before anyone types a reason.
    pub fn refusal(self, r: &Rollout, now: Timestamp) -> Option<String> {
        let id = &r.id;
        let state = r.state.as_str();
        let live = matches!(r.state, RolloutState::Progressing | RolloutState::Paused);
        match self {
            RolloutAction::Promote if !live => {
                Some(format!("{id} is {state} and cannot be promoted"))
            }
            RolloutAction::Promote => {
                let left = r.phase_time_left(now);
                if left > chrono::Duration::zero() {
                    let phase = r.current();
                    let s = left.num_seconds();
                    let ran = (phase.min_duration_s as i64 - s) / 60;
                    return Some(format!(
                        "{id} has been in {} for {ran}m of its {}m minimum; promote again in {}m{:02}s",
                        phase.name,
                        phase.min_duration_s / 60,
                        s / 60,
                        s % 60
                    ));
                }
                r.unhealthy().then(|| {
                    format!(
                        "{id} has an unhealthy canary (errors {:.1}% over {} tasks; the gate pauses above {}); investigate, then resume or abort",
                        r.health.error_rate * 100.0,
                        r.health.samples,
                        r.error_gate()
                    )
                })
            }
            RolloutAction::Pause => (r.state != RolloutState::Progressing)
                .then(|| format!("{id} is {state}, not progressing")),
            RolloutAction::Resume => {
                (r.state != RolloutState::Paused).then(|| format!("{id} is {state}, not paused"))
            }
            RolloutAction::Abort if !live => Some(format!("{id} is {state} and cannot be aborted")),
            RolloutAction::Abort => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AgentAction {
    Pause,
    Resume,
}

impl AgentAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentAction::Pause => "pause",
            AgentAction::Resume => "resume",
        }
    }

    /// Why this action cannot succeed on `agent`, or None when it can (engine and console alike).
    pub fn refusal(self, agent: &Agent) -> Option<String> {
        let id = &agent.id;
        match self {
            AgentAction::Pause => {
                (agent.status == AgentStatus::Paused).then(|| format!("{id} is already paused"))
            }
            AgentAction::Resume => (agent.status != AgentStatus::Paused)
                .then(|| format!("{id} is not paused (it is {})", agent.status.as_str())),
        }
    }
}

/// `POST /v1/approvals/{id}/decision`: approve, reject or escalate an approval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActOnApproval {
    /// From the path.
    #[serde(skip)]
    pub id: String,
    pub decision: ApprovalAction,
    /// Why: mandatory, it goes into the audit trail.
    pub reason: String,
    /// The approval's version the operator saw; a newer one is a conflict.
    #[serde(default)]
    pub version: Option<u64>,
    /// On approve: which of the item's `options_considered` the operator chose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option: Option<String>,
}

/// `POST /v1/incidents/{id}/actions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActOnIncident {
    /// From the path.
    #[serde(skip)]
    pub id: String,
    #[schema(example = "ack")]
    pub action: IncidentAction,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub version: Option<u64>,
}

/// `POST /v1/incidents`: declare an incident by hand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclareIncident {
    #[schema(value_type = String, example = "SEV2")]
    pub severity: Severity,
    pub title: String,
    pub domain: String,
}

/// `POST /v1/rollouts/{id}/actions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActOnRollout {
    /// From the path.
    #[serde(skip)]
    pub id: String,
    #[schema(example = "promote")]
    pub action: RolloutAction,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub version: Option<u64>,
}

/// A new rollout (the demo's orchestrators start them; there is no route yet).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartRollout {
    pub name: String,
    #[schema(value_type = String, example = "agent_version")]
    pub kind: RolloutKind,
    pub target_version: String,
    pub domain: String,
    #[serde(default)]
    pub auto_promote: bool,
}

/// `POST /v1/agents/{id}/actions`: take an agent out of rotation by hand, or put it back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActOnAgent {
    /// From the path.
    #[serde(skip)]
    pub id: String,
    pub action: AgentAction,
    /// Why (required to pause).
    #[serde(default)]
    pub reason: Option<String>,
}

/// `POST /v1/audit/{seq}/reveal` (an empty object as body): open a sensitive record; the
/// access is itself audited, in the record's own domain, before the record is returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevealRecord {
    /// From the path.
    #[serde(skip)]
    pub seq: u64,
}
