//! The demo fleet joining a remote orchestrator as real agents would: through the agent
//! endpoints, with an agent token, on the real clock. Proof that agents can join over HTTP.

use futures::StreamExt;
use reqwest::{Method, Url};

use super::Driver;
use crate::config::Config;
use crate::config::context::Target;
use crate::engine::EngineError;
use crate::model::State;
use crate::protocol::{self, Problem};
use crate::protocol::{Actor, Command, Outcome};

/// Requests of one step in flight at once.
const CONCURRENCY: usize = 16;

pub struct RemoteFleet {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
    base: Url,
    token: String,
    state: State,
    config: Config,
}

#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error("{0}")]
    Setup(String),
    #[error("the orchestrator at {url} refused the agent token: {detail}")]
    Token { url: String, detail: String },
    #[error("cannot reach the orchestrator at {url}: {detail}")]
    Unreachable { url: String, detail: String },
}

impl RemoteFleet {
    /// Checks the token is an agent token and takes a first look at the orchestrator.
    pub fn connect(target: &Target) -> Result<RemoteFleet, FleetError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| FleetError::Setup(format!("cannot start the async runtime: {e}")))?;
        let mut base = Url::parse(&target.url)
            .map_err(|e| FleetError::Setup(format!("{:?} is not a URL: {e}", target.url)))?;
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let client = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(5))
            .timeout(std::time::Duration::from_secs(15))
            .build()
            .map_err(|e| FleetError::Setup(e.to_string()))?;
        let mut fleet = RemoteFleet {
            runtime,
            client,
            base,
            token: target.token.clone(),
            state: State::default(),
            config: Config::default(),
        };
        let identity: protocol::Identity = fleet.get("v1/whoami")?;
        if identity.kind != "agent" {
            return Err(FleetError::Token {
                url: target.url.clone(),
                detail: format!(
                    "{} holds an operator token; the fleet needs an agent token (opsdeck token new NAME --agent)",
                    identity.name
                ),
            });
        }
        fleet.refresh()?;
        Ok(fleet)
    }

    fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, FleetError> {
        let url = self
            .base
            .join(path)
            .map_err(|e| FleetError::Setup(e.to_string()))?;
        let unreachable = |detail: String| FleetError::Unreachable {
            url: self.base.to_string(),
            detail,
        };
        self.runtime.block_on(async {
            let response = self
                .client
                .get(url)
                .bearer_auth(&self.token)
                .send()
                .await
                .map_err(|e| unreachable(e.to_string()))?;
            let status = response.status();
            let bytes = response
                .bytes()
                .await
                .map_err(|e| unreachable(e.to_string()))?;
            if !status.is_success() {
                let detail = serde_json::from_slice::<Problem>(&bytes)
                    .map(|p| p.detail)
                    .unwrap_or_else(|_| status.to_string());
                return Err(FleetError::Token {
                    url: self.base.to_string(),
                    detail,
                });
            }
            serde_json::from_slice(&bytes).map_err(|e| unreachable(e.to_string()))
        })
    }

    /// What the token's agents need to know: the agents it registered, their tasks and the
    /// rollouts they are canaries of (an agent token reads nothing else of the orchestrator).
    pub fn refresh(&mut self) -> Result<(), FleetError> {
        let view: protocol::AgentView =
            self.get(protocol::AGENT_STATE_PATH.trim_start_matches('/'))?;
        self.state = State::from_snapshot(crate::model::Snapshot {
            at: chrono::Utc::now(),
            seq: view.seq,
            agents: view.agents,
            tasks: view.tasks,
            queues: Vec::new(),
            incidents: Vec::new(),
            approvals: Vec::new(),
            rollouts: view.rollouts,
            alerts: Vec::new(),
            domains: Vec::new(),
            audit_tail: Vec::new(),
        });
        Ok(())
    }

    async fn post(&self, path: &str, body: serde_json::Value) -> Result<Outcome, EngineError> {
        let url = self
            .base
            .join(path)
            .map_err(|e| EngineError::Invalid(e.to_string()))?;
        let mut request = self
            .client
            .request(Method::POST, url)
            .bearer_auth(&self.token);
        // A heartbeat acts the same however often it arrives: a key would only store an answer
        // (for a day) that no retry will ask for.
        if path.trim_start_matches('/')
            != <protocol::Heartbeat as protocol::Request>::PATH.trim_start_matches('/')
        {
            request = request.header(protocol::IDEMPOTENCY_KEY, uuid::Uuid::now_v7().to_string());
        }
        let response = request
            .json(&body)
            .send()
            .await
            .map_err(|e| EngineError::refused(format!("orchestrator unreachable: {e}")))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| EngineError::refused(format!("answer cut off: {e}")))?;
        if status.is_success() {
            return serde_json::from_slice(&bytes)
                .map_err(|e| EngineError::Invalid(format!("unexpected answer: {e}")));
        }
        let detail = serde_json::from_slice::<Problem>(&bytes)
            .map(|p| p.detail)
            .unwrap_or_else(|_| status.to_string());
        Err(EngineError::refused(detail))
    }
}

impl Driver for RemoteFleet {
    fn state(&self) -> &State {
        &self.state
    }

    fn config(&self) -> &Config {
        &self.config
    }

    fn execute_batch(
        &mut self,
        batch: Vec<(Actor, Command)>,
    ) -> Result<Vec<Result<Outcome, EngineError>>, EngineError> {
        let this = &*self;
        let requests = batch.into_iter().map(|(_, command)| async move {
            match command.path().filter(|_| command.is_agents()) {
                Some(path) => {
                    this.post(path.trim_start_matches('/'), command.body())
                        .await
                }
                None => Err(EngineError::refused(format!(
                    "{} is not an agent endpoint",
                    command.name()
                ))),
            }
        });
        Ok(self.runtime.block_on(
            futures::stream::iter(requests)
                .buffered(CONCURRENCY)
                .collect::<Vec<_>>(),
        ))
    }

    fn tick(&mut self) -> Result<(), EngineError> {
        self.refresh()
            .map_err(|e| EngineError::refused(e.to_string()))
    }

    fn whole_organisation(&self) -> bool {
        false
    }
}
