//! The agent side of the API: agents join, report and take work with an agent token. The agent
//! named in a body is the one that acts (the engine checks it exists and is in a state to).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::de::DeserializeOwned;

use super::auth::AgentCaller;
use super::mutation::{Who, execute, mutate, parse};
use super::state::AppState;
use crate::api::*;
use crate::engine::{Actor, Command};

/// Parses the body into a command and runs it as the agent it names.
async fn agent_command<T: DeserializeOwned>(
    state: Arc<AppState>,
    caller: AgentCaller,
    headers: HeaderMap,
    route: &str,
    body: Result<Bytes, BytesRejection>,
    command: impl FnOnce(T, &str) -> (Actor, Command),
) -> Response {
    let (state, caller) = (&state, &caller);
    mutate(
        state,
        Who::Agent(&caller.name),
        &headers,
        route,
        &body,
        |body| async move {
            let request: T = parse(&body)?;
            let (actor, command) = command(request, &caller.name);
            execute(state, actor, command, None).await
        },
    )
    .await
}

/// Register an agent; the answer holds its id.
#[utoipa::path(post, path = "/v1/agent/register", request_body = RegisterRequest, responses((status = 200, body = Object), (status = 403, body = crate::api::Problem), (status = 422, body = crate::api::Problem)))]
pub async fn register(
    State(state): State<Arc<AppState>>,
    caller: AgentCaller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    agent_command(
        state,
        caller,
        headers,
        "POST /v1/agent/register",
        body,
        |r: RegisterRequest, token| {
            // The registration is recorded as the token that brought the agent in.
            (
                Actor::agent(token),
                Command::RegisterAgent {
                    name: r.name,
                    domain: r.domain,
                    team: r.team,
                    skills: r.skills,
                    version: r.version,
                },
            )
        },
    )
    .await
}

#[utoipa::path(post, path = "/v1/agent/heartbeat", request_body = AgentRef, responses((status = 200, body = Object), (status = 404, body = crate::api::Problem)))]
pub async fn heartbeat(
    State(state): State<Arc<AppState>>,
    caller: AgentCaller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    agent_command(
        state,
        caller,
        headers,
        "POST /v1/agent/heartbeat",
        body,
        |r: AgentRef, _| {
            (
                Actor::agent(&r.agent),
                Command::Heartbeat { agent: r.agent },
            )
        },
    )
    .await
}

/// Take the best-fitting waiting task, if any (`reply.value` is the task or null).
#[utoipa::path(post, path = "/v1/agent/lease", request_body = AgentRef, responses((status = 200, body = Object), (status = 409, body = crate::api::Problem)))]
pub async fn lease(
    State(state): State<Arc<AppState>>,
    caller: AgentCaller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    agent_command(
        state,
        caller,
        headers,
        "POST /v1/agent/lease",
        body,
        |r: AgentRef, _| {
            (
                Actor::agent(&r.agent),
                Command::LeaseTask { agent: r.agent },
            )
        },
    )
    .await
}

#[utoipa::path(post, path = "/v1/agent/complete", request_body = CompleteRequest, responses((status = 200, body = Object), (status = 409, body = crate::api::Problem)))]
pub async fn complete(
    State(state): State<Arc<AppState>>,
    caller: AgentCaller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    agent_command(
        state,
        caller,
        headers,
        "POST /v1/agent/complete",
        body,
        |r: CompleteRequest, _| {
            (
                Actor::agent(&r.agent),
                Command::CompleteTask {
                    agent: r.agent,
                    task: r.task,
                    outcome: r.outcome,
                },
            )
        },
    )
    .await
}

/// Raise a decision beyond the agent's authority to the people who may take it.
#[utoipa::path(post, path = "/v1/agent/escalations", request_body = EscalationRequest, responses((status = 200, body = Object), (status = 422, body = crate::api::Problem)))]
pub async fn escalate(
    State(state): State<Arc<AppState>>,
    caller: AgentCaller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    agent_command(
        state,
        caller,
        headers,
        "POST /v1/agent/escalations",
        body,
        |r: EscalationRequest, _| {
            (
                Actor::agent(&r.agent),
                Command::RaiseEscalation {
                    agent: r.agent,
                    category: r.category,
                    summary: r.summary,
                    context: r.context,
                    options_considered: r.options_considered,
                    recommendation: r.recommendation,
                    classification: r.classification,
                    related_tasks: r.related_tasks,
                },
            )
        },
    )
    .await
}

#[utoipa::path(post, path = "/v1/agent/incidents", request_body = ReportRequest, responses((status = 200, body = Object), (status = 422, body = crate::api::Problem)))]
pub async fn report(
    State(state): State<Arc<AppState>>,
    caller: AgentCaller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    agent_command(
        state,
        caller,
        headers,
        "POST /v1/agent/incidents",
        body,
        |r: ReportRequest, _| {
            (
                Actor::agent(&r.agent),
                Command::ReportIncident {
                    agent: r.agent,
                    severity: r.severity,
                    title: r.title,
                },
            )
        },
    )
    .await
}

/// Submit work to a team's queue.
#[utoipa::path(post, path = "/v1/agent/tasks", request_body = SubmitRequest, responses((status = 200, body = Object), (status = 422, body = crate::api::Problem)))]
pub async fn submit(
    State(state): State<Arc<AppState>>,
    caller: AgentCaller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    agent_command(
        state,
        caller,
        headers,
        "POST /v1/agent/tasks",
        body,
        |r: SubmitRequest, token| {
            (
                Actor::agent(token),
                Command::SubmitTask {
                    title: r.title,
                    domain: r.domain,
                    team: r.team,
                    priority: r.priority,
                    skills: r.skills,
                    depends_on: r.depends_on,
                },
            )
        },
    )
    .await
}

/// Record a notable execution in the audit trail.
#[utoipa::path(post, path = "/v1/agent/executions", request_body = ExecutionRequest, responses((status = 200, body = Object), (status = 422, body = crate::api::Problem)))]
pub async fn execution(
    State(state): State<Arc<AppState>>,
    caller: AgentCaller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    agent_command(
        state,
        caller,
        headers,
        "POST /v1/agent/executions",
        body,
        |r: ExecutionRequest, _| {
            (
                Actor::agent(&r.agent),
                Command::RecordExecution {
                    agent: r.agent,
                    summary: r.summary,
                    context: r.context,
                    outcome: r.outcome,
                    related_tasks: r.related_tasks,
                },
            )
        },
    )
    .await
}
