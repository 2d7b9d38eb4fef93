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

/// One agent route: its OpenAPI description, and how its body becomes a command. Every route
/// answers the command's outcome, or a problem document.
macro_rules! agent_route {
    ($(#[doc = $doc:literal])* $name:ident, $path:literal, $body:ty, |$r:ident, $token:ident| $make:expr) => {
        $(#[doc = $doc])*
        #[utoipa::path(post, path = $path, request_body = $body, responses(
            (status = 200, description = "the outcome: reply, event_seq, audit_seqs", body = Object),
            (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
            (status = 422, body = Problem), (status = 429, body = Problem)))]
        pub async fn $name(
            State(state): State<Arc<AppState>>,
            caller: AgentCaller,
            headers: HeaderMap,
            body: Result<Bytes, BytesRejection>,
        ) -> Response {
            let route = concat!("POST ", $path);
            agent_command(state, caller, headers, route, body, |$r: $body, $token: &str| $make).await
        }
    };
}

agent_route!(
    /// Register an agent; the answer holds its id. The registration is recorded as the token
    /// that brought the agent in.
    register, "/v1/agent/register", RegisterRequest,
    |r, token| (
        Actor::agent(token),
        Command::RegisterAgent {
            name: r.name,
            domain: r.domain,
            team: r.team,
            skills: r.skills,
            version: r.version,
        },
    )
);

agent_route!(
    /// The agent is alive.
    heartbeat, "/v1/agent/heartbeat", AgentRef,
    |r, _token| (Actor::agent(&r.agent), Command::Heartbeat { agent: r.agent })
);

agent_route!(
    /// Take the best-fitting waiting task, if any (`reply.value` is the task or null).
    lease, "/v1/agent/lease", AgentRef,
    |r, _token| (Actor::agent(&r.agent), Command::LeaseTask { agent: r.agent })
);

agent_route!(
    /// The leased task succeeded or failed.
    complete, "/v1/agent/complete", CompleteRequest,
    |r, _token| (
        Actor::agent(&r.agent),
        Command::CompleteTask {
            agent: r.agent,
            task: r.task,
            outcome: r.outcome,
        },
    )
);

agent_route!(
    /// Raise a decision beyond the agent's authority to the people who may take it.
    escalate, "/v1/agent/escalations", EscalationRequest,
    |r, _token| (
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
);

agent_route!(
    /// Report an incident the agent sees.
    report, "/v1/agent/incidents", ReportRequest,
    |r, _token| (
        Actor::agent(&r.agent),
        Command::ReportIncident {
            agent: r.agent,
            severity: r.severity,
            title: r.title,
        },
    )
);

agent_route!(
    /// Submit work to a team's queue (recorded as the token that submitted it).
    submit, "/v1/agent/tasks", SubmitRequest,
    |r, token| (
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
);

agent_route!(
    /// Record a notable execution in the audit trail.
    execution, "/v1/agent/executions", ExecutionRequest,
    |r, _token| (
        Actor::agent(&r.agent),
        Command::RecordExecution {
            agent: r.agent,
            summary: r.summary,
            context: r.context,
            outcome: r.outcome,
            related_tasks: r.related_tasks,
        },
    )
);
