//! `opsdeck serve` from the outside, on 127.0.0.1:0: who may call what, retries and races,
//! bad input, limits, the event stream, agents, and a restart in the middle of a stream. This
//! module holds the fixture and the helpers; the tests are in one submodule per topic.

use std::time::Duration;

use crate::support::orchestrator::{ALICE, seeded_store, serve, server_config};
use opsdeck::server::{Server, ServerConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};

mod access;
mod agents;
mod callbacks;
mod escalations;
mod events;
mod guards;
mod idempotency;
mod items;
mod limits;
mod matrix;
mod operations;

struct Fixture {
    server: Server,
    base: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

async fn fixture_with(config: ServerConfig) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded_store(dir.path());
    let server = serve(&store, &config, "127.0.0.1:0").await;
    Fixture {
        base: server.url(),
        server,
        http: reqwest::Client::new(),
        _dir: dir,
    }
}

/// A server whose engine runs with `engine` (short deadlines, say).
/// The store is new (the seeded one's clock is frozen at its end), so time runs.
async fn fixture_with_engine(config: ServerConfig, engine: opsdeck::config::Config) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("fresh.db");
    let engine = opsdeck::engine::Engine::open(
        opsdeck::store::Store::open(&store).unwrap(),
        engine,
        opsdeck::engine::Clock::System,
        None,
    )
    .unwrap();
    let orchestrator = opsdeck::orchestrator::Orchestrator::start(engine, None);
    let server = Server::start(orchestrator, &config, "127.0.0.1:0", None)
        .await
        .unwrap();
    Fixture {
        base: server.url(),
        server,
        http: reqwest::Client::new(),
        _dir: dir,
    }
}

async fn fixture() -> Fixture {
    fixture_with(server_config()).await
}

impl Fixture {
    fn get(&self, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        let request = self.http.get(format!("{}{path}", self.base));
        match token {
            Some(t) => request.bearer_auth(t),
            None => request,
        }
    }

    fn post(&self, path: &str, token: &str, key: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .header("idempotency-key", key)
            .header("content-type", "application/json")
    }

    async fn snapshot(&self) -> Value {
        self.get("/v1/snapshot", Some(ALICE))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The first pending approval of `domain` (any domain when `None`): id and version.
    async fn pending(&self, domain: Option<&str>) -> (String, u64) {
        let snapshot = self.snapshot().await;
        let a = snapshot["approvals"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["state"] == "pending" && domain.is_none_or(|d| a["domain"] == d))
            .expect("a pending approval in the seeded hour")
            .clone();
        (
            a["id"].as_str().unwrap().to_string(),
            a["version"].as_u64().unwrap(),
        )
    }
}

/// Status and body, checking every error is a problem document with a detail.
async fn answer(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        assert_eq!(content_type, "application/problem+json", "{status} {body}");
        assert_eq!(body["status"], status.as_u16(), "{body}");
        assert!(
            body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{body}"
        );
        assert!(
            body["type"].as_str().unwrap().starts_with("/problems/"),
            "{body}"
        );
    }
    (status, body)
}

fn decision(verb: &str, version: u64) -> Value {
    json!({ "decision": verb, "reason": "checked the budget with finance", "version": version })
}

/// Reads SSE lines until `until` says stop (or 10 s pass).
async fn read_sse(response: reqwest::Response, until: impl Fn(&[String]) -> bool) -> Vec<String> {
    use futures::StreamExt;
    let mut lines = Vec::new();
    let mut buffer = String::new();
    let mut stream = response.bytes_stream();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !until(&lines) {
        let Ok(Some(chunk)) = tokio::time::timeout_at(deadline, stream.next()).await else {
            break;
        };
        buffer.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        while let Some(end) = buffer.find('\n') {
            lines.push(buffer[..end].to_string());
            buffer.drain(..=end);
        }
    }
    lines
}
