//! `/mcp`: the MCP tools over the streamable HTTP transport, each call run by this server's
//! own handlers as the agent whose bearer token came with the request (`?agent=NAME` picks
//! one of the token's agents; by default the token's own, registered on first use).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use futures::future::BoxFuture;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::{Value, json};

use super::auth::AgentCaller;
use super::door;
use super::escalations::wait_for;
use super::problem::ApiError;
use super::state::AppState;
use crate::mcp::{Call, Door, Tools};
use crate::protocol::{Command, PermissionAsk, Reply, WAIT_MAX_S};

pub const PATH: &str = "/mcp";

pub type Service = StreamableHttpService<Tools, LocalSessionManager>;

pub fn service(state: &Arc<AppState>) -> Service {
    let door: Arc<dyn Door> = Arc::new(ServerDoor {
        state: Arc::downgrade(state),
    });
    let mut config = StreamableHttpServerConfig::default();
    // Sessions end with the server; long waits send no keep-alive of their own.
    config.sse_keep_alive = Some(Duration::from_secs(15));
    StreamableHttpService::new(
        move || Ok(Tools::new(door.clone())),
        Arc::new(LocalSessionManager::default()),
        config,
    )
}

/// Admits only agent tokens (401/403 as problem documents, as every route) before the MCP
/// transport sees the request.
pub async fn admit(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    if let Err(e) = AgentCaller::from_request_parts(&mut parts, &state).await {
        return e.into_response();
    }
    next.run(Request::from_parts(parts, body)).await
}

struct ServerDoor {
    /// Weak: the router holds this service, and the state must not outlive the server.
    state: std::sync::Weak<AppState>,
}

#[derive(Default)]
struct Who {
    agent: Option<String>,
    domain: Option<String>,
}

impl Door for ServerDoor {
    fn call(&self, who: Option<Parts>, call: Call) -> BoxFuture<'_, Result<Value, String>> {
        Box::pin(async move {
            let mut parts = who.ok_or("this tool call came without its HTTP request")?;
            let state = self.state.upgrade().ok_or("the server is stopping")?;
            run(&state, &mut parts, call)
                .await
                .map_err(|e| e.problem.detail.clone())
        })
    }
}

async fn run(state: &Arc<AppState>, parts: &mut Parts, call: Call) -> Result<Value, ApiError> {
    let caller = AgentCaller::from_request_parts(parts, state).await?;
    state.limits.agent(&caller.token.name)?;
    let who = parts.uri.query().map(who).unwrap_or_default();
    let domain = who.domain.as_deref().unwrap_or("operations");
    let agent = door::agent(state, &caller, who.agent.as_deref(), domain).await?;
    let execute = |command: Command| {
        let actor = caller.actor(&agent);
        async move { state.orchestrator.execute(actor, command).await }
    };
    Ok(match call {
        Call::Raise(p) => {
            let raise =
                crate::mcp::raise_escalation(&agent, p.clone()).map_err(ApiError::unprocessable)?;
            let wait = p.wait_s.unwrap_or(0).min(WAIT_MAX_S);
            let outcome = execute(Command::RaiseEscalation(raise)).await?;
            let Reply::Created { id } = outcome.reply else {
                return Err(ApiError::unprocessable("raising answered no id"));
            };
            json!(wait_for(state, &caller.token, &id, Duration::from_secs(wait)).await?)
        }
        Call::Wait { id, wait_s } => json!(
            wait_for(
                state,
                &caller.token,
                &id,
                Duration::from_secs(wait_s.min(WAIT_MAX_S))
            )
            .await?
        ),
        Call::Permission(p) => {
            let input = p.input.clone();
            let answer = super::permission::answer(
                state,
                &caller,
                PermissionAsk {
                    agent: agent.clone(),
                    tool_name: p.tool_name,
                    input: p.input,
                    tool_use_id: p.tool_use_id,
                    session: None,
                    cwd: None,
                    wait_s: None,
                },
            )
            .await?;
            crate::mcp::prompt_answer(&answer, input)
        }
        other => {
            let Some(command) = crate::mcp::command(&agent, &other) else {
                unreachable!("raise, wait and permission are answered above")
            };
            let command = command.map_err(ApiError::unprocessable)?;
            crate::mcp::answer(execute(command).await?)
        }
    })
}

/// `agent=…&domain=…` from a query string.
fn who(query: &str) -> Who {
    let mut who = Who::default();
    let Ok(url) = reqwest::Url::parse(&format!("http://x/?{query}")) else {
        return who;
    };
    for (k, v) in url.query_pairs() {
        match k.as_ref() {
            "agent" => who.agent = Some(v.into_owned()),
            "domain" => who.domain = Some(v.into_owned()),
            _ => {}
        }
    }
    who
}
