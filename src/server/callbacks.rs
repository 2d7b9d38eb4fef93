//! Decision callbacks: when an escalation raised with a `callback_url` becomes final, the
//! server POSTs its [`Decision`] there, signed, retrying with backoff, and records how the
//! delivery ended on the approval and in the audit trail. Deliveries left unfinished by a
//! restart start again from the live set, so a receiver dedupes by `X-Opsdeck-Delivery`.
//!
//! Headers: `X-Opsdeck-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed with the
//! server's callback secret>`, `X-Opsdeck-Delivery: <escalation id>`, `X-Opsdeck-Event:
//! decision`.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use tokio::sync::broadcast;

use super::problem::ApiError;
use super::state::AppState;
use crate::model::{Approval, Change, Event};
use crate::protocol::Decision;

pub const SIGNATURE: &str = "x-opsdeck-signature";
pub const DELIVERY: &str = "x-opsdeck-delivery";

/// Tries of one delivery, the first included (backoff 1, 2, 4, 8, 16, 32 s between them).
const ATTEMPTS: u32 = 7;
const TIMEOUT: Duration = Duration::from_secs(10);

pub struct Callbacks {
    secret: Option<Vec<u8>>,
    prefixes: Vec<String>,
    /// Deliveries running now: one POST sequence per escalation.
    running: Mutex<HashSet<String>>,
    client: reqwest::Client,
}

/// The signature header's value for `body`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes any key");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

impl Callbacks {
    /// From `[server] callback_secret_file` and `callback_prefixes`.
    pub fn from_config(config: &crate::config::server::ServerConfig) -> Result<Callbacks, String> {
        let secret = match config.callback_secret_file.as_str() {
            "" => None,
            path => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    format!(
                        "server.callback_secret_file {path}: {e}; write a long random secret there"
                    )
                })?;
                let secret = text.trim().as_bytes().to_vec();
                if secret.len() < 16 {
                    return Err(format!(
                        "server.callback_secret_file {path}: the secret is shorter than 16 bytes; write a long random one (openssl rand -hex 32)"
                    ));
                }
                Some(secret)
            }
        };
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("opsdeck/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot start an HTTP client for callbacks: {e}"))?;
        Ok(Callbacks {
            secret,
            prefixes: config.callback_prefixes.clone(),
            running: Mutex::new(HashSet::new()),
            client,
        })
    }

    /// A callback URL this server will deliver to, checked when an escalation is raised.
    pub fn check(&self, url: &str) -> Result<(), ApiError> {
        if self.secret.is_none() {
            return Err(ApiError::unprocessable(
                "this server sends no callbacks (no server.callback_secret_file): long-poll GET /v1/agent/escalations/{id}?wait=50 instead",
            ));
        }
        if !self.prefixes.iter().any(|p| url.starts_with(p.as_str())) {
            return Err(ApiError::unprocessable(
                "callback_url is outside the server's server.callback_prefixes: ask its operator to add the receiver's URL prefix",
            ));
        }
        Ok(())
    }
}

/// Delivers the decisions of final approvals with a pending callback: those in the live set
/// now (left by a restart), then each one as it becomes final.
pub fn start(state: &Arc<AppState>, events: broadcast::Receiver<Event>) {
    if state.callbacks.secret.is_none() {
        return;
    }
    let weak = Arc::downgrade(state);
    tokio::spawn(async move {
        if let Some(state) = weak.upgrade()
            && let Ok(snapshot) = state.orchestrator.snapshot().await
        {
            for a in snapshot.approvals.iter().filter(|a| due(a)) {
                spawn_delivery(&state, a.clone());
            }
        }
        follow(weak, events).await;
    });
}

async fn follow(weak: Weak<AppState>, mut events: broadcast::Receiver<Event>) {
    loop {
        let event = match events.recv().await {
            Ok(event) => event,
            Err(broadcast::error::RecvError::Lagged(_)) => {
                // Missed events: look at the live set again.
                let Some(state) = weak.upgrade() else { return };
                if let Ok(snapshot) = state.orchestrator.snapshot().await {
                    for a in snapshot.approvals.iter().filter(|a| due(a)) {
                        spawn_delivery(&state, a.clone());
                    }
                }
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let Some(state) = weak.upgrade() else { return };
        for change in &event.changes {
            if let Change::Approval(a) = change
                && due(a)
            {
                spawn_delivery(&state, a.clone());
            }
        }
    }
}

fn due(a: &Approval) -> bool {
    !a.is_pending()
        && a.origin
            .as_ref()
            .and_then(|o| o.callback.as_ref())
            .is_some_and(|c| c.done_at.is_none())
}

fn spawn_delivery(state: &Arc<AppState>, a: Approval) {
    if !state
        .callbacks
        .running
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(a.id.clone())
    {
        return;
    }
    let state = state.clone();
    tokio::spawn(async move {
        let id = a.id.clone();
        deliver(&state, a).await;
        state
            .callbacks
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
    });
}

async fn deliver(state: &Arc<AppState>, a: Approval) {
    let Some(url) = a
        .origin
        .as_ref()
        .and_then(|o| o.callback.as_ref())
        .map(|c| c.url.clone())
    else {
        return;
    };
    let Some(secret) = state.callbacks.secret.clone() else {
        return;
    };
    let body = serde_json::to_vec(&Decision::of(&a)).unwrap_or_default();
    let signature = sign(&secret, &body);
    let mut attempt = 0;
    let (outcome, delivered) = loop {
        attempt += 1;
        let sent = state
            .callbacks
            .client
            .post(&url)
            .header("content-type", "application/json")
            .header(SIGNATURE, &signature)
            .header(DELIVERY, &a.id)
            .header("x-opsdeck-event", "decision")
            .body(body.clone())
            .send()
            .await;
        let (outcome, retry) = match sent {
            Ok(r) if r.status().is_success() => break (r.status().to_string(), true),
            // A receiver that refuses the request will refuse it again; one that is busy or
            // down may not.
            Ok(r) => {
                let s = r.status();
                let retry = s.is_server_error() || s.as_u16() == 408 || s.as_u16() == 429;
                (s.to_string(), retry)
            }
            Err(e) => (format!("no answer: {}", error_kind(&e)), true),
        };
        if !retry || attempt >= ATTEMPTS || *state.closing.borrow() {
            break (outcome, false);
        }
        let wait = Duration::from_secs(1 << (attempt - 1).min(5));
        tokio::time::sleep(wait).await;
    };
    if *state.closing.borrow() && !delivered {
        // Left for the next start, which tries again from the live set.
        return;
    }
    if let Err(e) = state
        .orchestrator
        .record_delivery(&a.id, &outcome, attempt, delivered)
        .await
    {
        tracing::warn!("could not record the callback delivery of {}: {e}", a.id);
    }
}

fn error_kind(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "the request failed"
    }
}
