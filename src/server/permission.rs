//! `POST /v1/agent/permission`: the policy's answer to one tool call, for agents that ask over
//! HTTP (`opsdeck mcp` on stdio asks here for `permission_prompt`).

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;

use super::auth::AgentCaller;
use super::door::{self, Answer, Ask};
use super::problem::ApiError;
use super::state::AppState;
use crate::model::ToolCall;
use crate::protocol::{PermissionAnswer, PermissionAsk, Problem, WAIT_MAX_S};

/// May this tool call run? Allow, deny, defer, or pending with the escalation people decide.
#[utoipa::path(post, path = "/v1/agent/permission", request_body = PermissionAsk, responses((status = 200, body = PermissionAnswer), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn permission(
    State(state): State<Arc<AppState>>,
    caller: AgentCaller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<PermissionAnswer>, ApiError> {
    const _: () = assert!(crate::server::same_path(
        "/v1/agent/permission",
        crate::protocol::PERMISSION_PATH
    ));
    state.limits.agent(&caller.token.name)?;
    let body = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    state.limits.agent_bytes(&caller.token.name, body.len())?;
    let ask: PermissionAsk = serde_json::from_slice(&body)
        .map_err(|e| ApiError::unprocessable(format!("not a permission request: {e}")))?;
    Ok(Json(answer(&state, &caller, ask).await?))
}

/// The answer for `ask`, as this route and `/mcp` give it.
pub async fn answer(
    state: &Arc<AppState>,
    caller: &AgentCaller,
    ask: PermissionAsk,
) -> Result<PermissionAnswer, ApiError> {
    let wait = ask.wait_s.unwrap_or(state.policy.wait_s).min(WAIT_MAX_S);
    let door_ask = Ask {
        agent: ask.agent,
        tool: ToolCall {
            name: ask.tool_name,
            input: ask.input,
            tool_use_id: ask.tool_use_id,
        },
        session: ask.session,
        cwd: ask.cwd,
    };
    let (answer, ruling) =
        door::permission(state, caller, &door_ask, Duration::from_secs(wait)).await?;
    let (behavior, message, decision) = match answer {
        Answer::Allow(m) => ("allow", m, None),
        Answer::Deny(m) => ("deny", m, None),
        Answer::Defer => (
            "defer",
            "opsdeck's policy has no rule for this call: the agent's own permissions decide".into(),
            None,
        ),
        Answer::Pending { decision, reason } => ("pending", reason, Some(decision)),
    };
    Ok(PermissionAnswer {
        behavior: behavior.into(),
        message,
        rule: ruling.rule,
        decision,
    })
}
