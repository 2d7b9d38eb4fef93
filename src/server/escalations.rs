//! An agent waits on its escalation: `GET /v1/agent/escalations/{id}?wait=SECONDS` answers the
//! [`Decision`] once it is final, or as it stands when the wait runs out.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};

use super::auth::AgentCaller;
use super::problem::ApiError;
use super::state::AppState;
use super::waiters::Wake;
use crate::model::{Agent, Approval};
use crate::protocol::{Decision, Problem, TokenScope, WAIT_MAX_S, WaitParams};
use crate::query::ItemKind;

/// Where an escalation stands; with `wait`, held until it is final (at most 50 s).
#[utoipa::path(get, path = "/v1/agent/escalations/{id}", params(("id" = String, Path, description = "the escalation's id, APR-…"), WaitParams), responses((status = 200, description = "the decision, final or as it stands when the wait ran out", body = Decision), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, description = "an operator token", body = Problem), (status = 404, description = "no escalation of this token's agents by that id", body = Problem)))]
pub async fn wait(
    State(state): State<Arc<AppState>>,
    caller: AgentCaller,
    Path(id): Path<String>,
    params: Result<Query<WaitParams>, QueryRejection>,
) -> Result<Json<Decision>, ApiError> {
    const _: () = assert!(crate::server::same_path(
        "/v1/agent/escalations/{id}",
        crate::protocol::ESCALATION_PATH
    ));
    let Query(params) = params
        .map_err(|e| ApiError::bad_request(format!("bad query string: {}", e.body_text())))?;
    let wait = Duration::from_secs(params.wait.unwrap_or(0).min(WAIT_MAX_S));
    Ok(Json(wait_for(&state, &caller.token, &id, wait).await?))
}

/// The decision on `id` once final, or as it stands after `wait`; only for the token's agents.
pub async fn wait_for(
    state: &Arc<AppState>,
    token: &TokenScope,
    id: &str,
    wait: Duration,
) -> Result<Decision, ApiError> {
    check_id(id)?;
    // Subscribed before the first read: a decision committed in between still wakes us.
    let mut woken = state.waiters.watch(id);
    let mut latest = read(state, token, id).await?;
    if latest.is_final() || wait.is_zero() {
        return Ok(latest);
    }
    let deadline = tokio::time::Instant::now() + wait;
    let mut closing = state.closing.clone();
    loop {
        tokio::select! {
            changed = woken.changed() => {
                if changed.is_err() {
                    return Ok(latest);
                }
            }
            _ = tokio::time::sleep_until(deadline) => return Ok(latest),
            _ = closing.wait_for(|c| *c) => return Ok(latest),
        }
        let wake = woken.borrow_and_update().clone();
        match wake {
            Wake::Nothing => {}
            Wake::Changed(d) => latest = (*d).clone(),
            Wake::LookAgain => latest = read(state, token, id).await?,
        }
        if latest.is_final() {
            return Ok(latest);
        }
    }
}

fn check_id(id: &str) -> Result<(), ApiError> {
    if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(ApiError::bad_request(
            "the id is an escalation's id (letters, digits and -, at most 64), as raising it answered: APR-12",
        ));
    }
    Ok(())
}

/// The escalation as committed, if one of the token's agents raised it.
pub async fn read(
    state: &Arc<AppState>,
    token: &TokenScope,
    id: &str,
) -> Result<Decision, ApiError> {
    let missing = || {
        ApiError::not_found(format!(
            "no escalation {id} raised by this token's agents (ids come from raising one)"
        ))
    };
    let approval: Approval = state
        .orchestrator
        .item_json(ItemKind::Approvals, id)
        .await?
        .and_then(|v| serde_json::from_value(v).ok())
        .ok_or_else(missing)?;
    let agent: Option<Agent> = state
        .orchestrator
        .item_json(ItemKind::Agents, &approval.requested_by)
        .await?
        .and_then(|v| serde_json::from_value(v).ok());
    let ours = agent.is_some_and(|a| token.acts_for(&a.id, a.owner.as_deref()));
    if !ours {
        return Err(missing());
    }
    Ok(Decision::of(&approval))
}
