//! What every request handler shares.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use tokio::sync::{broadcast, watch};

use super::auth::Tokens;
use super::events::Frame;
use super::idempotency::InFlight;
use super::limits::Limits;
use crate::orchestrator::Orchestrator;

pub struct AppState {
    pub name: String,
    pub orchestrator: Orchestrator,
    pub tokens: Tokens,
    /// Idempotency keys in flight (their answers are in the store).
    pub idempotency: InFlight,
    pub limits: Limits,
    /// Each event serialised once, for every console.
    pub frames: broadcast::Sender<Arc<Frame>>,
    /// Turns true when the server is stopping: event streams end so clients reconnect.
    pub closing: watch::Receiver<bool>,
    pub consoles: AtomicI64,
    /// `/metrics` without a token (`[server] metrics_open`).
    pub metrics_open: bool,
    /// Every open connection, for the cap.
    pub connections: Arc<super::conn::Connections>,
    /// Agents' long polls on their escalations.
    pub waiters: Arc<super::waiters::Waiters>,
    /// What agents' tool calls get.
    pub policy: crate::config::policy::Policy,
    /// Agents the doors found or registered, by token and name.
    pub known: super::door::Known,
    /// Escalations raised for tool calls lately.
    pub recent: super::door::Recent,
    /// The table as configured, for `GET /v1/policy`.
    pub policy_config: crate::config::policy::PolicyConfig,
    /// Decision callbacks: the secret, the allowed prefixes, deliveries running.
    pub callbacks: super::callbacks::Callbacks,
}

impl AppState {
    /// Counts a console in; the guard counts it out.
    pub fn console_connected(self: &Arc<Self>) -> ConsoleGuard {
        let now = self.consoles.fetch_add(1, Ordering::Relaxed) + 1;
        metrics::gauge!("opsdeck_consoles_connected").set(now as f64);
        ConsoleGuard(self.clone())
    }
}

pub struct ConsoleGuard(Arc<AppState>);

impl Drop for ConsoleGuard {
    fn drop(&mut self) {
        let now = self.0.consoles.fetch_sub(1, Ordering::Relaxed) - 1;
        metrics::gauge!("opsdeck_consoles_connected").set(now as f64);
    }
}
