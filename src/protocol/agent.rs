//! What agents ask for: join, report in, take and finish work, raise an escalation, report an
//! incident, record an execution. Each struct is the body of its `/v1/agent/…` route; the agent
//! named in a body is the one that acts.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::model::{Category, Classification, Severity, ToolCall};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum TaskOutcome {
    Succeeded,
    Failed { error: String },
}

/// `POST /v1/agent/register`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterAgent {
    pub name: String,
    pub domain: String,
    pub team: String,
    #[serde(default)]
    pub skills: Vec<String>,
    pub version: String,
}

/// `POST /v1/agent/heartbeat`: the agent is alive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Heartbeat {
    pub agent: String,
}

/// `POST /v1/agent/lease`: take the best-fitting waiting task, if any.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeaseTask {
    pub agent: String,
}

/// `POST /v1/agent/complete`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteTask {
    pub agent: String,
    pub task: String,
    pub outcome: TaskOutcome,
}

/// `POST /v1/agent/escalations`: a decision beyond the agent's authority; it becomes an
/// approval at the level its category requires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RaiseEscalation {
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
    /// The tool call the agent wants to make, when it asks about one: `{name, input,
    /// tool_use_id}`. People see it on the decision card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub tool_call: Option<Box<ToolCall>>,
    /// The agent's session or trace id, shown beside the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// Where the final decision is POSTed once, signed with the server's callback secret
    /// (`X-Opsdeck-Signature: sha256=<hex HMAC-SHA256 of the body>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
    /// The policy rule that escalated it: set by the server's own policy (the hook endpoint,
    /// `permission_prompt`), never read from a body.
    #[serde(skip)]
    pub policy_rule: Option<String>,
}

/// `POST /v1/agent/incidents`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportIncident {
    pub agent: String,
    #[schema(value_type = String, example = "SEV3")]
    pub severity: Severity,
    pub title: String,
}

/// `POST /v1/agent/tasks`: work enters the system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitTask {
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
pub struct RecordExecution {
    pub agent: String,
    pub summary: String,
    #[serde(default)]
    pub context: String,
    #[serde(default)]
    pub outcome: String,
    #[serde(default)]
    pub related_tasks: Vec<String>,
}
