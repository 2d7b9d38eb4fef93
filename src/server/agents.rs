//! The agent side of the API: agents join, report and take work with an agent token. The agent
//! named in a body is the one that acts, and the engine checks it belongs to the calling token
//! (an agent token acts only for the agents it registered), exists and is in a state to.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::HeaderMap;
use axum::response::Response;

use super::auth::AgentCaller;
use super::mutation::{Who, command_route};
use super::problem::ApiError;
use super::state::AppState;
use crate::model::Snapshot;
use crate::protocol::*;

/// What the calling token's agents need to work: the agents it registered, the tasks they
/// hold and the rollouts they are canaries of. Nothing else of the control plane.
#[utoipa::path(get, path = "/v1/agent/state", responses((status = 200, body = AgentView), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn view(
    State(state): State<Arc<AppState>>,
    caller: AgentCaller,
) -> Result<Json<AgentView>, ApiError> {
    const _: () = assert!(crate::server::same_path(
        "/v1/agent/state",
        AGENT_STATE_PATH
    ));
    let snapshot = state.orchestrator.snapshot().await?;
    Ok(Json(agent_view(snapshot, &caller.token)))
}

fn agent_view(s: Snapshot, token: &TokenScope) -> AgentView {
    let agents: Vec<_> = s
        .agents
        .into_iter()
        .filter(|a| token.acts_for(&a.id, a.owner.as_deref()))
        .collect();
    let ours = |id: &Option<String>| {
        id.as_ref()
            .is_some_and(|id| agents.iter().any(|a| &a.id == id))
    };
    let tasks = s.tasks.into_iter().filter(|t| ours(&t.agent)).collect();
    let rollouts = s
        .rollouts
        .into_iter()
        .filter(|r| agents.iter().any(|a| a.rollout.as_ref() == Some(&r.id)))
        .collect();
    AgentView {
        seq: s.seq,
        agents,
        tasks,
        rollouts,
    }
}

/// One agent route: its OpenAPI description, and who acts (the agent the body names, or the
/// token that brought the agent in). Every route answers the command's outcome, or a problem
/// document; the body is the command's own struct.
macro_rules! agent_route {
    ($(#[doc = $doc:literal])* $name:ident, $path:literal, $body:ty, |$r:ident, $token:ident| $actor:expr) => {
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
            const _: () = assert!(crate::server::same_path($path, <$body as Request>::PATH));
            let actor = |$r: &$body| {
                let $token = &caller;
                $actor
            };
            command_route::<$body>(&state, Who::Agent(&caller.token.name), &headers, None, &body, |r| {
                actor(r)
            })
            .await
        }
    };
}

agent_route!(
    /// Register an agent; the answer holds its id. The registration is recorded as the token
    /// that brought the agent in.
    register, "/v1/agent/register", RegisterAgent,
    |_r, token| token.actor(&token.token.name)
);

agent_route!(
    /// The agent is alive.
    heartbeat, "/v1/agent/heartbeat", Heartbeat,
    |r, token| token.actor(&r.agent)
);

agent_route!(
    /// Take the best-fitting waiting task, if any (`reply.value` is the task or null).
    lease, "/v1/agent/lease", LeaseTask,
    |r, token| token.actor(&r.agent)
);

agent_route!(
    /// The leased task succeeded or failed.
    complete, "/v1/agent/complete", CompleteTask,
    |r, token| token.actor(&r.agent)
);

agent_route!(
    /// Raise a decision beyond the agent's authority to the people who may take it; wait on
    /// it with `GET /v1/agent/escalations/{id}?wait=50`, or give a `callback_url` (within the
    /// server's `callback_prefixes`) to have the final decision POSTed there, signed.
    raise, "/v1/agent/escalations", RaiseEscalation,
    |r, token| token.actor(&r.agent)
);

/// The raise route, with its callback checked against the server's first: a callback it will
/// not send is refused before anything is raised.
pub async fn escalate(
    state: State<Arc<AppState>>,
    caller: AgentCaller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    use axum::response::IntoResponse;
    if let Ok(bytes) = &body
        && let Ok(r) = serde_json::from_slice::<RaiseEscalation>(bytes)
        && let Some(url) = &r.callback_url
        && let Err(e) = state.callbacks.check(url)
    {
        return e.into_response();
    }
    raise(state, caller, headers, body).await
}

agent_route!(
    /// Report an incident the agent sees.
    report, "/v1/agent/incidents", ReportIncident,
    |r, token| token.actor(&r.agent)
);

agent_route!(
    /// Submit work to a team's queue (recorded as the token that submitted it).
    submit, "/v1/agent/tasks", SubmitTask,
    |_r, token| token.actor(&token.token.name)
);

agent_route!(
    /// Record a notable execution in the audit trail.
    execution, "/v1/agent/executions", RecordExecution,
    |r, token| token.actor(&r.agent)
);
