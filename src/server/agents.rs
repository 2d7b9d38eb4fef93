//! The agent side of the API: agents join, report and take work with an agent token. The agent
//! named in a body is the one that acts, and the engine checks it belongs to the calling token
//! (an agent token acts only for the agents it registered), exists and is in a state to.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::HeaderMap;
use axum::response::Response;

use super::auth::AgentCaller;
use super::mutation::{Who, command_route};
use super::state::AppState;
use crate::protocol::*;

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
    /// Raise a decision beyond the agent's authority to the people who may take it.
    escalate, "/v1/agent/escalations", RaiseEscalation,
    |r, token| token.actor(&r.agent)
);

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
