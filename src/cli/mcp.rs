//! `opsdeck mcp`: the MCP tools on stdin/stdout for an agent framework to start, each call
//! sent to a served orchestrator over the HTTP agent API with the agent token. Stdout carries
//! the protocol alone; every message for people goes to stderr.

use std::sync::Arc;

use futures::future::BoxFuture;
use rmcp::ServiceExt;
use serde_json::{Value, json};

use super::context::Context;
use super::error::CliError;
use crate::link::{AgentLink, LinkError};
use crate::mcp::{self, Call, Door, Tools};
use crate::protocol::{
    Command, Decision, Outcome, PERMISSION_PATH, PermissionAnswer, PermissionAsk, RegisterAgent,
    Reply,
};

pub fn stdio(ctx: &Context, agent: Option<&str>, domain: &str) -> Result<(), CliError> {
    let target = ctx.target()?.ok_or_else(|| {
        CliError::Usage(
            "opsdeck mcp talks to a served orchestrator: give --connect URL (or --context NAME) and an agent token in OPSDECK_TOKEN".into(),
        )
    })?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Runtime(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async move {
        let link = AgentLink::connect(&target).await?;
        let agent = agent_of(&link, agent, domain).await?;
        eprintln!(
            "opsdeck mcp: serving the agent tools on stdio as {agent} (token {}) for {}",
            link.name,
            link.base_url()
        );
        let door: Arc<dyn Door> = Arc::new(LinkDoor { link, agent });
        let running = Tools::new(door)
            .serve(rmcp::transport::stdio())
            .await
            .map_err(|e| CliError::Runtime(format!("the MCP session did not start: {e}")))?;
        running
            .waiting()
            .await
            .map_err(|e| CliError::Runtime(format!("the MCP session failed: {e}")))?;
        Ok(())
    })
}

/// The agent the session acts as: `--agent` (registered under that name on first use), else
/// the token's one agent (or one registered under the token's name).
async fn agent_of(
    link: &AgentLink,
    wanted: Option<&str>,
    domain: &str,
) -> Result<String, CliError> {
    let register = |name: &str| RegisterAgent {
        name: name.to_string(),
        domain: domain.to_string(),
        team: "agents".into(),
        skills: vec![],
        version: concat!("opsdeck-mcp/", env!("CARGO_PKG_VERSION")).into(),
    };
    match wanted {
        None => Ok(link.agent(None, &register(&link.name)).await?.id),
        Some(name) => match link.agent(Some(name), &register(name)).await {
            Ok(a) => Ok(a.id),
            Err(LinkError::NotFound(why)) if crate::protocol::is_agent_id(name) => {
                Err(CliError::Refused(why))
            }
            Err(LinkError::NotFound(_)) => {
                let _: Outcome = link
                    .post(&register(name), &format!("mcp-register:{name}"))
                    .await?;
                Ok(link.agent(Some(name), &register(name)).await?.id)
            }
            Err(e) => Err(e.into()),
        },
    }
}

/// Tries of one request whose answer was lost (each with the same key: it acts once).
const SEND_ATTEMPTS: u32 = 4;

struct LinkDoor {
    link: AgentLink,
    agent: String,
}

impl LinkDoor {
    async fn run(&self, call: Call) -> Result<Value, String> {
        let agent = self.agent.clone();
        Ok(match call {
            Call::Raise(p) => {
                let wait = p.wait_s.unwrap_or(0);
                let raise = Command::RaiseEscalation(mcp::raise_escalation(&agent, p)?);
                let outcome = self
                    .link
                    .send(&raise, SEND_ATTEMPTS)
                    .await
                    .map_err(|e| e.to_string())?;
                let Reply::Created { id } = outcome.reply else {
                    return Err("raising answered no id".into());
                };
                let d: Decision = self
                    .link
                    .decision(&id, wait)
                    .await
                    .map_err(|e| e.to_string())?;
                json!(d)
            }
            Call::Wait { id, wait_s } => json!(
                self.link
                    .decision(&id, wait_s)
                    .await
                    .map_err(|e| e.to_string())?
            ),
            Call::Permission(p) => {
                let input = p.input.clone();
                let ask = PermissionAsk {
                    agent,
                    tool_name: p.tool_name,
                    input: p.input,
                    tool_use_id: p.tool_use_id,
                    session: None,
                    cwd: None,
                    wait_s: None,
                };
                let key = uuid::Uuid::now_v7().to_string();
                let answer: PermissionAnswer = self
                    .link
                    .post_to(PERMISSION_PATH, &ask, &key)
                    .await
                    .map_err(|e| e.to_string())?;
                mcp::prompt_answer(&answer, input)
            }
            other => {
                let Some(command) = mcp::command(&agent, &other) else {
                    unreachable!("raise, wait and permission are answered above")
                };
                let outcome = self
                    .link
                    .send(&command?, SEND_ATTEMPTS)
                    .await
                    .map_err(|e| e.to_string())?;
                mcp::answer(outcome)
            }
        })
    }
}

impl Door for LinkDoor {
    fn call(
        &self,
        _who: Option<axum::http::request::Parts>,
        call: Call,
    ) -> BoxFuture<'_, Result<Value, String>> {
        Box::pin(self.run(call))
    }
}
