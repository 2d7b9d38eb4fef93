//! The operator side of the API: what consoles and the CLI read and do.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::auth::{Caller, Operator};
use super::mutation::{Who, execute, mutate, parse};
use super::problem::ApiError;
use super::state::AppState;
use crate::api::*;
use crate::engine::{Command, Decision};
use crate::model::Snapshot;
use crate::orchestrator::Entity;

const PAGE_MAX: usize = 500;
const COUNT_CAP: u64 = 10_000;

/// Who the token says the caller is.
#[utoipa::path(get, path = "/v1/whoami", responses((status = 200, body = Identity), (status = 401, body = Problem)))]
pub async fn whoami(State(state): State<Arc<AppState>>, caller: Caller) -> Json<Identity> {
    let (kind, name, role) = match caller {
        Caller::Operator { name, role } => ("operator", name, role.to_string()),
        Caller::Agent { name } => ("agent", name, String::new()),
    };
    Json(Identity {
        server: state.name.clone(),
        kind: kind.into(),
        name,
        role,
        frozen_at: state.orchestrator.frozen_at(),
    })
}

/// Everything the console shows, at one seq.
#[utoipa::path(get, path = "/v1/snapshot", responses((status = 200, description = "the state at `seq`: agents, queues, incidents, approvals, rollouts, metrics, audit tail", body = Object), (status = 401, body = Problem)))]
pub async fn snapshot(
    State(state): State<Arc<AppState>>,
    _caller: Caller,
) -> Result<Json<Snapshot>, ApiError> {
    Ok(Json(state.orchestrator.snapshot().await?))
}

fn query<T>(params: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    params
        .map(|Query(p)| p)
        .map_err(|e| ApiError::bad_request(format!("bad query string: {}", e.body_text())))
}

/// Searches the audit trail, newest first (the query language of `opsdeck audit search`).
#[utoipa::path(get, path = "/v1/audit", params(AuditParams), responses((status = 200, body = AuditPage), (status = 400, body = Problem), (status = 401, body = Problem)))]
pub async fn audit(
    State(state): State<Arc<AppState>>,
    _operator: Operator,
    params: Result<Query<AuditParams>, QueryRejection>,
) -> Result<Json<AuditPage>, ApiError> {
    let params = query(params)?;
    let limit = params.limit.unwrap_or(50);
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
    let cap = params.cap.unwrap_or(COUNT_CAP).clamp(1, COUNT_CAP);
    let (count, capped) = state.orchestrator.count_audit(&params.q, cap).await?;
    Ok(Json(AuditCount { count, capped }))
}

fn reason(text: &str) -> Result<String, ApiError> {
    if text.trim().is_empty() {
        return Err(ApiError::unprocessable(
            "reason is empty: every decision needs a reason for the audit trail",
        ));
    }
    Ok(text.to_string())
}

/// Approve, reject or escalate an escalated decision.
#[utoipa::path(post, path = "/v1/approvals/{id}/decision", request_body = DecisionRequest,
    params(("id" = String, Path, description = "e.g. APR-12"), ("Idempotency-Key" = String, Header, description = "a fresh UUID per action")),
    responses((status = 200, description = "the decision was recorded", body = Object), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, description = "stale version or already decided; `current` holds the approval now", body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn decide(
    State(state): State<Arc<AppState>>,
    operator: Operator,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (state, id, operator) = (&state, &id, &operator);
    let route = format!("POST /v1/approvals/{id}/decision");
    mutate(
        state,
        Who::Operator(&operator.name),
        &headers,
        &route,
        &body,
        |body| async move {
            let request: DecisionRequest = parse(&body)?;
            let reason = reason(&request.reason)?;
            let version = Some(request.version);
            let command = match request.decision {
                ApprovalVerb::Approve | ApprovalVerb::Reject => Command::DecideApproval {
                    id: id.clone(),
                    decision: if request.decision == ApprovalVerb::Approve {
                        Decision::Approve
                    } else {
                        Decision::Reject
                    },
                    reason,
                    expected_version: version,
                },
                ApprovalVerb::Escalate => Command::EscalateApproval {
                    id: id.clone(),
                    reason,
                    expected_version: version,
                },
            };
            execute(
                state,
                operator.actor(),
                command,
                Some((Entity::Approval, id.as_str())),
            )
            .await
        },
    )
    .await
}

/// Declare an incident by hand.
#[utoipa::path(post, path = "/v1/incidents", request_body = DeclareIncidentRequest,
    params(("Idempotency-Key" = String, Header, description = "a fresh UUID per action")),
    responses((status = 201, description = "declared", body = Object), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn declare_incident(
    State(state): State<Arc<AppState>>,
    operator: Operator,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (state, operator) = (&state, &operator);
    mutate(
        state,
        Who::Operator(&operator.name),
        &headers,
        "POST /v1/incidents",
        &body,
        |body| async move {
            let request: DeclareIncidentRequest = parse(&body)?;
            let command = Command::DeclareIncident {
                severity: request.severity,
                title: request.title,
                domain: request.domain,
            };
            let (_, outcome) = execute(state, operator.actor(), command, None).await?;
            Ok((StatusCode::CREATED, outcome))
        },
    )
    .await
}

/// Acknowledge, escalate, mitigate, resolve or add a note to an incident.
#[utoipa::path(post, path = "/v1/incidents/{id}/actions", request_body = IncidentActionRequest,
    params(("id" = String, Path, description = "e.g. INC-7"), ("Idempotency-Key" = String, Header, description = "a fresh UUID per action")),
    responses((status = 200, body = Object), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn incident_action(
    State(state): State<Arc<AppState>>,
    operator: Operator,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (state, id, operator) = (&state, &id, &operator);
    let route = format!("POST /v1/incidents/{id}/actions");
    mutate(
        state,
        Who::Operator(&operator.name),
        &headers,
        &route,
        &body,
        |body| async move {
            let request: IncidentActionRequest = parse(&body)?;
            let command = Command::IncidentAction {
                id: id.clone(),
                action: request.action,
                note: request.note,
                expected_version: Some(request.version),
            };
            execute(
                state,
                operator.actor(),
                command,
                Some((Entity::Incident, id.as_str())),
            )
            .await
        },
    )
    .await
}

/// Promote, pause, resume or abort a rollout.
#[utoipa::path(post, path = "/v1/rollouts/{id}/actions", request_body = RolloutActionRequest,
    params(("id" = String, Path, description = "e.g. RO-2"), ("Idempotency-Key" = String, Header, description = "a fresh UUID per action")),
    responses((status = 200, body = Object), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn rollout_action(
    State(state): State<Arc<AppState>>,
    operator: Operator,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (state, id, operator) = (&state, &id, &operator);
    let route = format!("POST /v1/rollouts/{id}/actions");
    mutate(
        state,
        Who::Operator(&operator.name),
        &headers,
        &route,
        &body,
        |body| async move {
            let request: RolloutActionRequest = parse(&body)?;
            let command = Command::RolloutAction {
                id: id.clone(),
                action: request.action,
                reason: request.reason,
                expected_version: Some(request.version),
            };
            execute(
                state,
                operator.actor(),
                command,
                Some((Entity::Rollout, id.as_str())),
            )
            .await
        },
    )
    .await
}

/// Take an agent out of rotation, or put it back.
#[utoipa::path(post, path = "/v1/agents/{id}/actions", request_body = AgentActionRequest,
    params(("id" = String, Path, description = "e.g. agent-17"), ("Idempotency-Key" = String, Header, description = "a fresh UUID per action")),
    responses((status = 200, body = Object), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn agent_action(
    State(state): State<Arc<AppState>>,
    operator: Operator,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (state, id, operator) = (&state, &id, &operator);
    let route = format!("POST /v1/agents/{id}/actions");
    mutate(
        state,
        Who::Operator(&operator.name),
        &headers,
        &route,
        &body,
        |body| async move {
            let request: AgentActionRequest = parse(&body)?;
            let command = match request.action {
                AgentVerb::Pause => Command::PauseAgent {
                    id: id.clone(),
                    reason: reason(request.reason.as_deref().unwrap_or(""))?,
                },
                AgentVerb::Resume => Command::ResumeAgent { id: id.clone() },
            };
            execute(
                state,
                operator.actor(),
                command,
                Some((Entity::Agent, id.as_str())),
            )
            .await
        },
    )
    .await
}

/// Open a sensitive audit record; the reveal is itself audited.
#[utoipa::path(post, path = "/v1/audit/{seq}/reveal", request_body = RevealRequest,
    params(("seq" = u64, Path, description = "the record's seq"), ("Idempotency-Key" = String, Header, description = "a fresh UUID per action")),
    responses((status = 200, body = Object), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn reveal(
    State(state): State<Arc<AppState>>,
    operator: Operator,
    Path(seq): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (state, seq, operator) = (&state, &seq, &operator);
    let route = format!("POST /v1/audit/{seq}/reveal");
    mutate(
        state,
        Who::Operator(&operator.name),
        &headers,
        &route,
        &body,
        |body| async move {
            let seq: u64 = seq
                .parse()
                .map_err(|_| ApiError::bad_request("the seq in the path must be a whole number"))?;
            let request: RevealRequest = parse(&body)?;
            let command = Command::RevealAudit {
                seq,
                domain: request.domain,
            };
            execute(state, operator.actor(), command, None).await
        },
    )
    .await
}
