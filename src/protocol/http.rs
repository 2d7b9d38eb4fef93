//! The HTTP API's answers and query strings, shared by the server (`opsdeck serve`) and the
//! remote link, so the two sides cannot drift apart. Model types travel as their public JSON.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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
    /// On a field over its length limit: the field, as named in the body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
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
    /// The demo fleet runs on this orchestrator: simulated colleagues (`sim:…`) act too.
    #[serde(default)]
    pub demo: bool,
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

/// `GET /v1/items/{kind}` query string: a listing read from the store, history included.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ItemParams {
    /// Only items in this state (tasks: queued, blocked, leased, running, succeeded, failed,
    /// cancelled; incidents: open, acknowledged, mitigated, resolved; approvals: pending,
    /// approved, rejected, expired, cancelled; rollouts: progressing, paused, rolling_back,
    /// aborted, completed).
    #[serde(default)]
    pub state: Option<String>,
    /// Only items that reached their state at or after this time: `2h`, `2026-11-20` or an RFC
    /// 3339 time.
    #[serde(default)]
    pub since: Option<String>,
    /// Only items of this domain.
    #[serde(default)]
    pub domain: Option<String>,
    /// Items to return, newest first: 1 to 10000 (default 200; agents and queues: all).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// Where listings and single items are read.
pub const ITEMS_PATH: &str = "/v1/items/{kind}";
pub const ITEM_PATH: &str = "/v1/items/{kind}/{id}";

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

/// The route of [`AgentView`].
pub const AGENT_STATE_PATH: &str = "/v1/agent/state";

/// `POST`: an operator opened a dialog on the item `{id}`; the demo fleet's simulated
/// colleagues leave it alone for a minute. Nothing is written.
pub const CLAIM_PATH: &str = "/v1/claims/{id}";

/// `GET /v1/agent/state`: what an agent token may see, namely its own agents, the tasks they
/// hold, and the rollouts they are canaries of (never approvals, incidents or the audit trail).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AgentView {
    /// The last event included.
    pub seq: u64,
    #[schema(value_type = Vec<Object>)]
    pub agents: Vec<crate::model::Agent>,
    #[schema(value_type = Vec<Object>)]
    pub tasks: Vec<crate::model::Task>,
    #[schema(value_type = Vec<Object>)]
    pub rollouts: Vec<crate::model::Rollout>,
}
