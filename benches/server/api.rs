//! The HTTP API as the bench uses it: timed requests with the operator or agent token.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::BenchResult;
use crate::server::Setup;

/// The operator side of the API, as the bench uses it.
pub struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
    pub agent_token: String,
}

/// One timed request.
pub struct Posted {
    pub sent: Instant,
    pub took: Duration,
    pub status: u16,
    pub body: Value,
}

impl Api {
    pub fn new(setup: &Setup) -> BenchResult<Api> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Api {
            http,
            base: setup.base_url(),
            token: setup.token.clone(),
            agent_token: setup.agent_token.clone(),
        })
    }

    pub async fn get(&self, path: &str) -> BenchResult<Value> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| format!("GET {path}: {e}"))?;
        let status = response.status();
        let body: Value = response
            .json()
            .await
            .map_err(|e| format!("GET {path}: {e}"))?;
        if !status.is_success() {
            return Err(format!("GET {path}: {status} {body}"));
        }
        Ok(body)
    }

    /// A mutation with a fresh idempotency key, timed from send to the last byte of the answer.
    pub async fn post(&self, path: &str, body: &Value) -> BenchResult<Posted> {
        self.post_as(&self.token, path, body).await
    }

    pub async fn post_as(&self, token: &str, path: &str, body: &Value) -> BenchResult<Posted> {
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .header("idempotency-key", uuid::Uuid::now_v7().to_string())
            .json(body);
        let sent = Instant::now();
        let response = request
            .send()
            .await
            .map_err(|e| format!("POST {path}: {e}"))?;
        let status = response.status().as_u16();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| format!("POST {path}: {e}"))?;
        let took = sent.elapsed();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Posted {
            sent,
            took,
            status,
            body,
        })
    }

    /// Polls /healthz until the server answers; returns when it did.
    pub async fn wait_healthy(&self, limit: Duration) -> BenchResult<Instant> {
        let started = Instant::now();
        loop {
            let answer = self
                .http
                .get(format!("{}/healthz", self.base))
                .timeout(Duration::from_millis(500))
                .send()
                .await;
            if answer.is_ok_and(|r| r.status().is_success()) {
                return Ok(Instant::now());
            }
            if started.elapsed() > limit {
                return Err(format!("no /healthz answer within {limit:?}"));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}
