//! What an agent waiting on an escalation is told: one shape for the long poll, the MCP tools,
//! the gate command and the callback.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::model::{Approval, ApprovalState, Timestamp, Vote};

/// The longest one long poll waits (MCP clients cut a tool call at about 60 s).
pub const WAIT_MAX_S: u64 = 50;

/// `GET /v1/policy`: the server's policy table for agents' tool calls.
pub const POLICY_PATH: &str = "/v1/policy";

/// `GET /v1/agent/escalations/{id}?wait=SECONDS`.
pub const ESCALATION_PATH: &str = "/v1/agent/escalations/{id}";

/// Where an escalation stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Decision {
    pub escalation_id: String,
    /// `pending`, `approved`, `rejected`, `expired` (nobody decided in time) or `cancelled`.
    #[schema(value_type = String, example = "approved")]
    pub state: ApprovalState,
    /// The approving votes, then the rejection if one decided it: `{by, role, at, reason}`.
    #[schema(value_type = Vec<Object>)]
    pub votes: Vec<Vote>,
    pub quorum: Quorum,
    #[schema(value_type = String)]
    pub expires_at: Timestamp,
    /// When it became final.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub decided_at: Option<Timestamp>,
    /// Which of the options the approver chose, when they chose one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chosen_option: Option<String>,
}

/// Distinct eligible approvals needed, and cast so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Quorum {
    pub needed: u8,
    pub have: u8,
}

impl Decision {
    pub fn of(a: &Approval) -> Decision {
        let mut votes = a.votes.clone();
        votes.extend(a.rejection.clone());
        Decision {
            escalation_id: a.id.clone(),
            state: a.state,
            quorum: Quorum {
                needed: a.quorum,
                have: u8::try_from(a.votes.len()).unwrap_or(u8::MAX),
            },
            votes,
            expires_at: a.expires_at,
            decided_at: a.decided_at,
            chosen_option: a.chosen_option.clone(),
        }
    }

    /// Final: nothing will change it any more.
    pub fn is_final(&self) -> bool {
        self.state != ApprovalState::Pending
    }

    /// The reason people gave for the outcome: the rejection's, else the last approval's.
    pub fn reason(&self) -> Option<&str> {
        match self.state {
            ApprovalState::Expired | ApprovalState::Pending => None,
            _ => self.votes.last().map(|v| v.reason.as_str()),
        }
    }
}

/// `?wait=SECONDS` on the long poll.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct WaitParams {
    /// Seconds to wait for a final decision (0 answers at once; at most 50).
    pub wait: Option<u64>,
}

/// `POST /v1/agent/permission`: may this tool call run? (the policy table, and people where it
/// escalates).
pub const PERMISSION_PATH: &str = "/v1/agent/permission";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PermissionAsk {
    /// The agent that wants to call the tool (one of the token's).
    pub agent: String,
    pub tool_name: String,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub input: serde_json::Value,
    #[serde(default)]
    pub tool_use_id: Option<String>,
    /// The agent's session or trace id.
    #[serde(default)]
    pub session: Option<String>,
    /// The directory relative paths in the input are relative to.
    #[serde(default)]
    pub cwd: Option<String>,
    /// Seconds to wait for people when the policy escalates (at most 50; default: the
    /// server's policy wait).
    #[serde(default)]
    pub wait_s: Option<u64>,
}

/// The answer to a [`PermissionAsk`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PermissionAnswer {
    /// `allow`, `deny`, `defer` (no rule decides: the framework's own permissions do) or
    /// `pending` (people have not decided yet: ask again with the escalation's id).
    pub behavior: String,
    /// Why, for the agent and its user.
    pub message: String,
    /// The policy rule that decided, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The escalation people decide, where the policy escalated the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
}
