//! `POST /v1/hooks/claude-code`: Claude Code's HTTP hooks, answered from the policy table.
//! PreToolUse and PermissionRequest get a permission decision (an escalated call asks its user
//! at PreToolUse, with the escalation's id in the reason, and waits for people at
//! PermissionRequest); PostToolUse and Stop become execution records in the trail; SessionStart
//! marks the agent seen. Any other event is answered with an empty object.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::AgentCaller;
use super::door::{self, Answer, Ask};
use super::problem::ApiError;
use super::state::AppState;
use crate::model::ToolCall;
use crate::protocol::Problem;

pub const PATH: &str = "/v1/hooks/claude-code";

/// The most bytes one hook's input may hold (a Write's whole file travels in it).
pub const MAX_BODY: usize = 1024 * 1024;

/// `?agent=NAME&domain=DOMAIN`: the agent the session acts as (registered on first use).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HookParams {
    /// The agent's name [default: the token's name]
    pub agent: Option<String>,
    /// The domain it joins on first use [default: operations]
    pub domain: Option<String>,
}

/// The fields of Claude Code's hook input that opsdeck reads; others are ignored.
#[derive(Debug, Deserialize)]
struct HookInput {
    hook_event_name: String,
    #[serde(default)]
    session_id: Option<String>,
    #[serde(default)]
    cwd: Option<String>,
    #[serde(default)]
    permission_mode: Option<String>,
    #[serde(default)]
    tool_name: Option<String>,
    #[serde(default)]
    tool_input: Option<Value>,
    #[serde(default)]
    tool_use_id: Option<String>,
    #[serde(default)]
    tool_response: Option<Value>,
    #[serde(default)]
    source: Option<String>,
}

/// A Claude Code hook event, answered with the hook output Claude Code reads.
#[utoipa::path(post, path = "/v1/hooks/claude-code", params(HookParams), request_body(content = Object, description = "Claude Code's hook input (PreToolUse, PermissionRequest, PostToolUse, Stop, SessionStart)"), responses((status = 200, description = "the hook output: hookSpecificOutput.permissionDecision for PreToolUse, hookSpecificOutput.decision for PermissionRequest, {} otherwise", body = Object), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 413, body = Problem)))]
pub async fn claude_code(
    State(state): State<Arc<AppState>>,
    caller: AgentCaller,
    params: Result<Query<HookParams>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(params) = params
        .map_err(|e| ApiError::bad_request(format!("bad query string: {}", e.body_text())))?;
    state.limits.agent(&caller.token.name)?;
    let body = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    state.limits.agent_bytes(&caller.token.name, body.len())?;
    let input: HookInput = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "not a Claude Code hook input ({e}); the body is the JSON Claude Code sends, with hook_event_name"
        ))
    })?;
    let domain = params.domain.as_deref().unwrap_or("operations");
    let agent = door::agent(&state, &caller, params.agent.as_deref(), domain).await?;
    let event = input.hook_event_name.as_str();
    match event {
        "PreToolUse" | "PermissionRequest" => {
            let tool = tool_call(&input)?;
            let ask = Ask {
                agent,
                tool,
                session: input.session_id.clone(),
                cwd: input.cwd.clone(),
            };
            // PreToolUse answers at once where a user can be asked; PermissionRequest (the
            // dialog about to show) and sessions without a user wait for people.
            let interactive = !matches!(
                input.permission_mode.as_deref(),
                Some("bypassPermissions" | "dontAsk")
            );
            let wait = if event == "PreToolUse" && interactive {
                Duration::ZERO
            } else {
                Duration::from_secs(state.policy.wait_s)
            };
            let (answer, _) = door::permission(&state, &caller, &ask, wait).await?;
            Ok(Json(if event == "PreToolUse" {
                pre_tool_use(answer, interactive)
            } else {
                permission_request(answer)
            }))
        }
        "PostToolUse" => {
            let name = input.tool_name.as_deref().unwrap_or("a tool");
            let tool_input = input
                .tool_input
                .as_ref()
                .map(|v| v.to_string())
                .unwrap_or_default();
            let response = input
                .tool_response
                .as_ref()
                .map(|v| v.to_string())
                .unwrap_or_default();
            door::record(
                &state,
                &caller,
                &agent,
                &format!("ran {name}: {}", door::clip(&tool_input, 300)),
                &format!(
                    "Claude Code session {}; tool_use_id {}; input: {tool_input}",
                    input.session_id.as_deref().unwrap_or("?"),
                    input.tool_use_id.as_deref().unwrap_or("?")
                ),
                &door::clip(&response, 2000),
            )
            .await?;
            Ok(Json(json!({})))
        }
        "Stop" => {
            door::record(
                &state,
                &caller,
                &agent,
                &format!(
                    "Claude Code session {} stopped",
                    input.session_id.as_deref().unwrap_or("?")
                ),
                &format!("cwd {}", input.cwd.as_deref().unwrap_or("?")),
                "stopped",
            )
            .await?;
            Ok(Json(json!({})))
        }
        "SessionStart" => {
            door::seen(&state, &caller, &agent).await?;
            Ok(Json(json!({
                "hookSpecificOutput": {
                    "hookEventName": "SessionStart",
                    "additionalContext": format!(
                        "This session is governed by opsdeck ({}) as agent {agent} ({}). Tool calls its policy escalates wait for a human decision; a denied call is final: do not retry it another way.",
                        state.name,
                        input.source.as_deref().unwrap_or("startup")
                    ),
                }
            })))
        }
        _ => Ok(Json(json!({}))),
    }
}

fn tool_call(input: &HookInput) -> Result<ToolCall, ApiError> {
    let name = input
        .tool_name
        .clone()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "{} without tool_name: nothing to decide",
                input.hook_event_name
            ))
        })?;
    Ok(ToolCall {
        name,
        input: input.tool_input.clone().unwrap_or(Value::Null),
        tool_use_id: input.tool_use_id.clone(),
    })
}

fn pre_tool_use(answer: Answer, interactive: bool) -> Value {
    let (decision, reason) = match answer {
        Answer::Allow(r) => ("allow", r),
        Answer::Deny(r) => ("deny", r),
        Answer::Defer => return json!({}),
        Answer::Pending { reason, .. } if interactive => ("ask", reason),
        // Nobody to ask: not yet is no.
        Answer::Pending { reason, .. } => ("deny", reason),
    };
    json!({
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": decision,
            "permissionDecisionReason": reason,
        }
    })
}

fn permission_request(answer: Answer) -> Value {
    let decision = match answer {
        Answer::Allow(_) => json!({ "behavior": "allow" }),
        Answer::Deny(message) => json!({ "behavior": "deny", "message": message }),
        // Still pending: the dialog shows, and the user sees the escalation's id in it.
        Answer::Defer | Answer::Pending { .. } => return json!({}),
    };
    json!({
        "hookSpecificOutput": {
            "hookEventName": "PermissionRequest",
            "decision": decision,
        }
    })
}

/// The policy table agents' tool calls are answered from (`opsdeck hooks print` turns it into
/// Claude Code permissions).
#[utoipa::path(get, path = "/v1/policy", responses((status = 200, description = "{default, wait_s, rules: [{tool, decision}]}", body = Object), (status = 401, body = Problem)))]
pub async fn policy(
    State(state): State<Arc<AppState>>,
    _caller: super::auth::Caller,
) -> Json<crate::config::policy::PolicyConfig> {
    const _: () = assert!(crate::server::same_path(
        "/v1/policy",
        crate::protocol::POLICY_PATH
    ));
    Json(state.policy_config.clone())
}
