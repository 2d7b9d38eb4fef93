//! The agent side of a remote orchestrator, for agents that are programs of ours: the gate
//! command (`opsdeck escalate`) and the MCP server on stdio. Every mutation carries an
//! idempotency key kept across retries, so a request whose answer was lost acts once.

use std::time::Duration;

use reqwest::{Method, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::LinkError;
use super::remote::{http_client, read, unreachable_error};
use crate::config::context::Target;
use crate::model::Agent;
use crate::protocol::{self, AgentView, Decision, Outcome, Request};

const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

pub struct AgentLink {
    client: reqwest::Client,
    base: Url,
    token: String,
    /// The token's name, as the server knows it.
    pub name: String,
    /// `agent` or `operator`.
    pub kind: String,
}

impl AgentLink {
    /// Connects and checks the token is an agent token.
    pub async fn connect(target: &Target) -> Result<AgentLink, LinkError> {
        let link = AgentLink::connect_any(target).await?;
        if link.kind != "agent" {
            return Err(LinkError::Invalid(format!(
                "{} holds an operator token; agents need an agent token (opsdeck token new NAME --agent)",
                link.name
            )));
        }
        Ok(link)
    }

    /// Connects with any token (to read what both kinds may read).
    pub async fn connect_any(target: &Target) -> Result<AgentLink, LinkError> {
        let (client, base) = http_client(target)?;
        let mut link = AgentLink {
            client,
            base,
            token: target.token.clone(),
            name: String::new(),
            kind: String::new(),
        };
        let identity: protocol::Identity = link.get("v1/whoami", REQUEST_TIMEOUT).await?;
        link.name = identity.name;
        link.kind = identity.kind;
        Ok(link)
    }

    /// The server's policy table for agents' tool calls.
    pub async fn policy(&self) -> Result<crate::config::policy::PolicyConfig, LinkError> {
        self.get(protocol::POLICY_PATH, REQUEST_TIMEOUT).await
    }

    pub fn base_url(&self) -> &Url {
        &self.base
    }

    fn url(&self, path: &str) -> Result<Url, LinkError> {
        self.base
            .join(path.trim_start_matches('/'))
            .map_err(|e| LinkError::Invalid(format!("bad path {path}: {e}")))
    }

    async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        timeout: Duration,
    ) -> Result<T, LinkError> {
        let response = self
            .client
            .request(Method::GET, self.url(path)?)
            .bearer_auth(&self.token)
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| unreachable_error(&self.base, &e))?;
        read(response).await
    }

    /// Posts `body` to its route under `key` (the same key on every retry of one request).
    pub async fn post<B: Request + Serialize, T: DeserializeOwned>(
        &self,
        body: &B,
        key: &str,
    ) -> Result<T, LinkError> {
        self.post_to(B::PATH, body, key).await
    }

    pub async fn post_to<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        key: &str,
    ) -> Result<T, LinkError> {
        let response = self
            .client
            .request(Method::POST, self.url(path)?)
            .bearer_auth(&self.token)
            .header(protocol::IDEMPOTENCY_KEY, key)
            .timeout(REQUEST_TIMEOUT)
            .json(body)
            .send()
            .await
            .map_err(|e| unreachable_error(&self.base, &e))?;
        read(response).await
    }

    /// Sends an agent command under one fresh key, asking again (same key, so it acts once)
    /// when the answer was lost on the way, up to `attempts` times.
    pub async fn send(
        &self,
        command: &crate::protocol::Command,
        attempts: u32,
    ) -> Result<Outcome, LinkError> {
        let path = command
            .path()
            .filter(|_| command.is_agents())
            .ok_or_else(|| {
                LinkError::Invalid(format!("{} is not an agent command", command.name()))
            })?;
        let key = uuid::Uuid::now_v7().to_string();
        let mut attempt = 1;
        loop {
            match self.post_to(&path, &command.body(), &key).await {
                Err(LinkError::Unavailable(why)) if attempt < attempts => {
                    tracing::info!("{why}; asking again with the same key");
                    tokio::time::sleep(super::backoff(attempt)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// What the token's agents hold.
    pub async fn view(&self) -> Result<AgentView, LinkError> {
        self.get(protocol::AGENT_STATE_PATH, REQUEST_TIMEOUT).await
    }

    /// Where escalation `id` stands, waiting up to `wait_s` (at most 50) for it to be final.
    pub async fn decision(&self, id: &str, wait_s: u64) -> Result<Decision, LinkError> {
        let wait_s = wait_s.min(protocol::WAIT_MAX_S);
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|_| LinkError::Invalid(format!("{} cannot be a base URL", self.base)))?
            .pop_if_empty()
            .extend(["v1", "agent", "escalations", id]);
        url.query_pairs_mut()
            .append_pair("wait", &wait_s.to_string());
        let response = self
            .client
            .request(Method::GET, url)
            .bearer_auth(&self.token)
            .timeout(REQUEST_TIMEOUT + Duration::from_secs(wait_s))
            .send()
            .await
            .map_err(|e| unreachable_error(&self.base, &e))?;
        read(response).await
    }

    /// The agent this link acts as: `wanted` (an id or a name among the token's agents), else
    /// the token's one agent, else a new one registered under the token's name.
    pub async fn agent(
        &self,
        wanted: Option<&str>,
        register: &protocol::RegisterAgent,
    ) -> Result<Agent, LinkError> {
        let view = self.view().await?;
        if let Some(w) = wanted {
            return view
                .agents
                .into_iter()
                .find(|a| a.id == w || a.name == w)
                .ok_or_else(|| {
                    LinkError::NotFound(format!(
                        "this token ({}) has no agent {w:?}; leave out --agent to use (or register) the token's own",
                        self.name
                    ))
                });
        }
        match view.agents.len() {
            1 => return Ok(view.agents.into_iter().next().expect("one agent")),
            0 => {}
            n => {
                let names: Vec<_> = view.agents.iter().map(|a| a.id.as_str()).collect();
                if let Some(a) = view.agents.iter().find(|a| a.name == self.name) {
                    return Ok(a.clone());
                }
                return Err(LinkError::Invalid(format!(
                    "this token acts for {n} agents ({}); name one with --agent",
                    names.join(", ")
                )));
            }
        }
        let key = format!("register:{}", self.name);
        let outcome: Outcome = self.post(register, &key).await?;
        let id = match outcome.reply {
            protocol::Reply::Created { id } => id,
            protocol::Reply::Agent(a) => a.id,
            other => {
                return Err(LinkError::Unavailable(format!(
                    "unexpected answer to a registration: {other:?}"
                )));
            }
        };
        self.view()
            .await?
            .agents
            .into_iter()
            .find(|a| a.id == id)
            .ok_or_else(|| LinkError::Unavailable(format!("agent {id} registered but not listed")))
    }
}
