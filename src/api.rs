//! The HTTP API's bodies, shared by the server (`opsdeck serve`) and the remote link, so the two
//! sides cannot drift apart. Model types travel as their public JSON (see `model`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::engine::{Decision, IncidentAction, RolloutAction, TaskOutcome};
use crate::model::{Category, Classification, Severity};

/// Where problem types are described (RFC 9457 `type`), relative to the server.
pub const PROBLEM_BASE: &str = "/problems/";

/// The header that makes a mutation safe to retry.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// An RFC 9457 problem document: every error the API returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// A relative URI naming the kind of problem, e.g. `/problems/conflict`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// What was wrong and what to do about it.
    pub detail: String,
    /// On a conflict: the thing as it is now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub current: Option<serde_json::Value>,
    /// On a conflict: the version it has now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_version: Option<u64>,
    /// On a bad audit query: the 1-based column of the error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

/// Who the token says the caller is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Identity {
    /// The orchestrator's name (`[server] name`).
    pub server: String,
    /// `operator` or `agent`.
    pub kind: String,
    pub name: String,
    /// The operator's role (empty for agents).
    pub role: String,
    /// Set when the orchestrator's time stands still (a store written on a simulated clock).
    #[schema(value_type = Option<String>)]
    pub frozen_at: Option<crate::model::Timestamp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalVerb {
    Approve,
    Reject,
    Escalate,
}

impl From<Decision> for ApprovalVerb {
    fn from(d: Decision) -> Self {
        match d {
            Decision::Approve => ApprovalVerb::Approve,
            Decision::Reject => ApprovalVerb::Reject,
        }
    }
}

/// `POST /v1/approvals/{id}/decision`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    pub decision: ApprovalVerb,
    /// Why: mandatory, it goes into the audit trail.
    pub reason: String,
    /// The approval's version the operator saw; a newer one is a 409.
    pub version: u64,
}

/// `POST /v1/incidents/{id}/actions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentActionRequest {
    #[schema(value_type = String, example = "ack")]
    pub action: IncidentAction,
    #[serde(default)]
    pub note: Option<String>,
    pub version: u64,
}

/// `POST /v1/incidents`: declare an incident by hand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclareIncidentRequest {
    #[schema(value_type = String, example = "SEV2")]
    pub severity: Severity,
    pub title: String,
    pub domain: String,
}

/// `POST /v1/rollouts/{id}/actions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RolloutActionRequest {
    #[schema(value_type = String, example = "promote")]
    pub action: RolloutAction,
    #[serde(default)]
    pub reason: Option<String>,
    pub version: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AgentVerb {
    Pause,
    Resume,
}

/// `POST /v1/agents/{id}/actions`: an operator takes an agent out of rotation or back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentActionRequest {
    pub action: AgentVerb,
    /// Why (required to pause).
    #[serde(default)]
    pub reason: Option<String>,
}

/// `POST /v1/audit/{seq}/reveal`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevealRequest {
    /// The record's domain (the reveal is recorded there).
    pub domain: String,
}

/// `GET /v1/audit` query string.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    /// The audit query language, e.g. `domain:platform type:decision since:24h budget`.
    #[serde(default)]
    pub q: String,
    /// Only records older than this seq (the previous page's `next_cursor`).
    #[serde(default)]
    pub cursor: Option<u64>,
    /// Records per page, 1 to 500 (default 50).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// `GET /v1/audit` answer: newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditPage {
    #[schema(value_type = Vec<Object>)]
    pub records: Vec<crate::model::AuditRecord>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<u64>,
}

/// `GET /v1/audit/count` query string.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CountParams {
    #[serde(default)]
    pub q: String,
    /// Count exactly up to this many (default and maximum 10,000).
    #[serde(default)]
    pub cap: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditCount {
    pub count: u64,
    /// More records match than `count`.
    pub capped: bool,
}

// The agent side. The agent is named in the body; the token must be an agent token.

/// `POST /v1/agent/register`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    pub name: String,
    pub domain: String,
    pub team: String,
    #[serde(default)]
    pub skills: Vec<String>,
    pub version: String,
}

/// `POST /v1/agent/heartbeat` and `POST /v1/agent/lease`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentRef {
    pub agent: String,
}

/// `POST /v1/agent/complete`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteRequest {
    pub agent: String,
    pub task: String,
    #[schema(value_type = Object)]
    pub outcome: TaskOutcome,
}

/// `POST /v1/agent/escalations`: a decision beyond the agent's authority.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalationRequest {
    pub agent: String,
    #[schema(value_type = String, example = "budget_exception")]
    pub category: Category,
    pub summary: String,
    pub context: String,
    #[serde(default)]
    pub options_considered: Vec<String>,
    pub recommendation: String,
    #[schema(value_type = String, example = "internal")]
    pub classification: Classification,
    #[serde(default)]
    pub related_tasks: Vec<String>,
}

/// `POST /v1/agent/incidents`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    pub agent: String,
    #[schema(value_type = String, example = "SEV3")]
    pub severity: Severity,
    pub title: String,
}

/// `POST /v1/agent/tasks`: work enters the system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitRequest {
    pub title: String,
    pub domain: String,
    pub team: String,
    pub priority: u8,
    #[serde(default)]
    pub skills: Vec<String>,
    #[serde(default)]
    pub depends_on: Vec<String>,
}

/// `POST /v1/agent/executions`: a notable execution for the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecutionRequest {
    pub agent: String,
    pub summary: String,
    #[serde(default)]
    pub context: String,
    #[serde(default)]
    pub outcome: String,
    #[serde(default)]
    pub related_tasks: Vec<String>,
}
