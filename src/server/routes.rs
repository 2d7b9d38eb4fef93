//! The operator side of the API: what consoles and the CLI read and do.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;

use super::auth::{Caller, Operator};
use super::mutation::{Who, command_route};
use super::problem::ApiError;
use super::state::AppState;
use crate::model::Snapshot;
use crate::protocol::*;

/// Who the token says the caller is.
#[utoipa::path(get, path = "/v1/whoami", responses((status = 200, body = Identity), (status = 401, body = Problem)))]
pub async fn whoami(State(state): State<Arc<AppState>>, caller: Caller) -> Json<Identity> {
    let (kind, name, role) = match caller {
        Caller::Operator { name, role } => ("operator", name, role.to_string()),
        Caller::Agent { token } => ("agent", token.name, String::new()),
    };
    Json(Identity {
        server: state.name.clone(),
        kind: kind.into(),
        name,
        role,
        frozen_at: state.orchestrator.frozen_at(),
        demo: state.orchestrator.demo(),
    })
}

/// An operator opened a decision dialog on item `id`: the demo fleet's simulated colleagues do
/// not decide it for a minute. Writes nothing; without a demo fleet it does nothing.
#[utoipa::path(post, path = "/v1/claims/{id}", params(("id" = String, Path, description = "the item's id: APR-…, INC-…, RO-…")), responses((status = 204, description = "held"), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, description = "an agent token", body = Problem)))]
pub async fn claim(
    State(state): State<Arc<AppState>>,
    _operator: Operator,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<axum::http::StatusCode, ApiError> {
    if id.is_empty()
        || id.len() > 64
        || id.chars().any(|c| !(c.is_ascii_alphanumeric() || c == '-'))
    {
        return Err(ApiError::bad_request(
            "the id is an item's id (letters, digits and -, at most 64): APR-5, INC-3, RO-2",
        ));
    }
    state.orchestrator.claim(&id).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// Everything the console shows, at one seq.
#[utoipa::path(get, path = "/v1/snapshot", responses((status = 200, description = "the state at `seq`: agents, queues, incidents, approvals, rollouts, metrics, audit tail", body = Object), (status = 401, body = Problem), (status = 403, description = "an agent token", body = Problem)))]
pub async fn snapshot(
    State(state): State<Arc<AppState>>,
    _operator: Operator,
) -> Result<Json<Snapshot>, ApiError> {
    Ok(Json(state.orchestrator.snapshot().await?))
}

fn query<T>(params: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    params
        .map(|Query(p)| p)
        .map_err(|e| ApiError::bad_request(format!("bad query string: {}", e.body_text())))
}

/// A search query holds no control characters (a NUL, an escape...): 400 naming the 1-based
/// column of the first, before the query reaches the store.
fn plain_query(q: &str) -> Result<(), ApiError> {
    let Some((column, c)) = q.chars().enumerate().find(|(_, c)| c.is_control()) else {
        return Ok(());
    };
    let column = column + 1;
    let mut err = ApiError::new(
        axum::http::StatusCode::BAD_REQUEST,
        "bad-query",
        format!(
            "q: column {column} holds the control character U+{:04X}; a query is plain text, remove it",
            c as u32
        ),
    );
    err.problem.column = Some(column);
    Err(err)
}

/// Searches the audit trail, newest first (the query language of `opsdeck audit search`).
#[utoipa::path(get, path = "/v1/audit", params(AuditParams), responses((status = 200, body = AuditPage), (status = 400, body = Problem), (status = 401, body = Problem)))]
pub async fn audit(
    State(state): State<Arc<AppState>>,
    _operator: Operator,
    params: Result<Query<AuditParams>, QueryRejection>,
) -> Result<Json<AuditPage>, ApiError> {
    let params = query(params)?;
    plain_query(&params.q)?;
    let limit = params.limit.unwrap_or(PAGE_DEFAULT);
    if !(1..=PAGE_MAX).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and {PAGE_MAX}"
        )));
    }
    let records = state
        .orchestrator
        .search_audit(&params.q, params.cursor, limit)
        .await?;
    let next_cursor = (records.len() == limit)
        .then(|| records.last().map(|r| r.seq))
        .flatten();
    Ok(Json(AuditPage {
        records,
        next_cursor,
    }))
}

/// How many audit records match, exactly up to `cap`.
#[utoipa::path(get, path = "/v1/audit/count", params(CountParams), responses((status = 200, body = AuditCount), (status = 400, body = Problem)))]
pub async fn audit_count(
    State(state): State<Arc<AppState>>,
    _operator: Operator,
    params: Result<Query<CountParams>, QueryRejection>,
) -> Result<Json<AuditCount>, ApiError> {
    let params = query(params)?;
    plain_query(&params.q)?;
    let cap = params.cap.unwrap_or(COUNT_CAP).clamp(1, COUNT_CAP);
    let (count, capped) = state.orchestrator.count_audit(&params.q, cap).await?;
    Ok(Json(AuditCount { count, capped }))
}

/// Approve, reject or escalate an approval.
#[utoipa::path(post, path = "/v1/approvals/{id}/decision", request_body = ActOnApproval,
    params(("id" = String, Path, description = "e.g. APR-12"), ("Idempotency-Key" = String, Header, description = "a fresh UUID per action")),
    responses((status = 200, description = "the decision was recorded", body = Object), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, description = "stale version or already decided; `current` holds the approval now", body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn decide(
    State(state): State<Arc<AppState>>,
    operator: Operator,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    operator_route::<ActOnApproval>(&state, &operator, &headers, Some(&id), &body).await
}

/// Declare an incident by hand.
#[utoipa::path(post, path = "/v1/incidents", request_body = DeclareIncident,
    params(("Idempotency-Key" = String, Header, description = "a fresh UUID per action")),
    responses((status = 201, description = "declared", body = Object), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn declare_incident(
    State(state): State<Arc<AppState>>,
    operator: Operator,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    operator_route::<DeclareIncident>(&state, &operator, &headers, None, &body).await
}

/// Acknowledge, escalate, mitigate, resolve or add a note to an incident.
#[utoipa::path(post, path = "/v1/incidents/{id}/actions", request_body = ActOnIncident,
    params(("id" = String, Path, description = "e.g. INC-7"), ("Idempotency-Key" = String, Header, description = "a fresh UUID per action")),
    responses((status = 200, body = Object), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn incident_action(
    State(state): State<Arc<AppState>>,
    operator: Operator,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    operator_route::<ActOnIncident>(&state, &operator, &headers, Some(&id), &body).await
}

/// Promote, pause, resume or abort a rollout.
#[utoipa::path(post, path = "/v1/rollouts/{id}/actions", request_body = ActOnRollout,
    params(("id" = String, Path, description = "e.g. RO-2"), ("Idempotency-Key" = String, Header, description = "a fresh UUID per action")),
    responses((status = 200, body = Object), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn rollout_action(
    State(state): State<Arc<AppState>>,
    operator: Operator,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    operator_route::<ActOnRollout>(&state, &operator, &headers, Some(&id), &body).await
}

/// Take an agent out of rotation, or put it back.
#[utoipa::path(post, path = "/v1/agents/{id}/actions", request_body = ActOnAgent,
    params(("id" = String, Path, description = "e.g. agent-17"), ("Idempotency-Key" = String, Header, description = "a fresh UUID per action")),
    responses((status = 200, body = Object), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn agent_action(
    State(state): State<Arc<AppState>>,
    operator: Operator,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    operator_route::<ActOnAgent>(&state, &operator, &headers, Some(&id), &body).await
}

/// Open a sensitive audit record; the reveal is itself audited.
#[utoipa::path(post, path = "/v1/audit/{seq}/reveal", request_body = RevealRecord,
    params(("seq" = u64, Path, description = "the record's seq"), ("Idempotency-Key" = String, Header, description = "a fresh UUID per action")),
    responses((status = 200, body = Object), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn reveal(
    State(state): State<Arc<AppState>>,
    operator: Operator,
    Path(seq): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    operator_route::<RevealRecord>(&state, &operator, &headers, Some(&seq), &body).await
}

async fn operator_route<T: Request>(
    state: &Arc<AppState>,
    operator: &Operator,
    headers: &HeaderMap,
    segment: Option<&str>,
    body: &Result<Bytes, BytesRejection>,
) -> Response {
    command_route::<T>(
        state,
        Who::Operator(&operator.name),
        headers,
        segment,
        body,
        |_| operator.actor(),
    )
    .await
}
