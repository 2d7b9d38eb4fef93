//! `opsdeck serve`: the orchestrator behind an HTTP API (axum) for many consoles and agents.
//! Routes, auth and limits follow DESIGN §3; every error is an RFC 9457 problem document.

mod access;
mod agents;
mod auth;
pub mod callbacks;
mod conn;
mod door;
mod escalations;
mod events;
mod hooks;
mod idempotency;
mod items;
mod limits;
mod mcp;
mod mutation;
mod ops;
mod permission;
mod problem;
mod routes;
mod state;
mod waiters;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicI64;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tokio::sync::{broadcast, watch};

pub use crate::config::server::ServerConfig;
pub use access::{Access, CallerKind, ROUTES, RouteRule, Verdict, verdict};
pub use ops::ApiDoc;

use crate::orchestrator::Orchestrator;
use crate::protocol::{self, Request};
use state::AppState;

/// How long stopping waits for requests in flight.
const DRAIN: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
    #[error("cannot load TLS certificate {cert} and key {key}: {source}")]
    Tls {
        cert: String,
        key: String,
        source: std::io::Error,
    },
    #[error("the server failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Config(String),
}

/// HTTPS material, when the server terminates TLS itself.
#[derive(Debug, Clone)]
pub struct Tls {
    pub cert: std::path::PathBuf,
    pub key: std::path::PathBuf,
}

/// The doc literal of a route equals the protocol's path (checked when the crate compiles).
pub(crate) const fn same_path(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

fn router(state: Arc<AppState>, max_body: usize) -> Router {
    let api = Router::new()
        .route("/v1/whoami", get(routes::whoami))
        .route(protocol::AGENT_STATE_PATH, get(agents::view))
        .route("/v1/snapshot", get(routes::snapshot))
        .route("/v1/events", get(events::events))
        .route("/v1/audit", get(routes::audit))
        .route("/v1/audit/count", get(routes::audit_count))
        .route(protocol::ITEMS_PATH, get(items::items))
        .route(protocol::ITEM_PATH, get(items::item))
        .route(protocol::CLAIM_PATH, post(routes::claim))
        .route(protocol::RevealRecord::PATH, post(routes::reveal))
        .route(protocol::ActOnApproval::PATH, post(routes::decide))
        .route(
            protocol::DeclareIncident::PATH,
            post(routes::declare_incident),
        )
        .route(protocol::ActOnIncident::PATH, post(routes::incident_action))
        .route(protocol::ActOnRollout::PATH, post(routes::rollout_action))
        .route(protocol::ActOnAgent::PATH, post(routes::agent_action))
        .route(protocol::RegisterAgent::PATH, post(agents::register))
        .route(protocol::Heartbeat::PATH, post(agents::heartbeat))
        .route(protocol::LeaseTask::PATH, post(agents::lease))
        .route(protocol::CompleteTask::PATH, post(agents::complete))
        .route(protocol::RaiseEscalation::PATH, post(agents::escalate))
        .route(protocol::ESCALATION_PATH, get(escalations::wait))
        .route(protocol::POLICY_PATH, get(hooks::policy))
        .route(protocol::PERMISSION_PATH, post(permission::permission))
        .route(
            hooks::PATH,
            post(hooks::claude_code).layer(DefaultBodyLimit::max(hooks::MAX_BODY)),
        )
        .route(protocol::ReportIncident::PATH, post(agents::report))
        .route(protocol::SubmitTask::PATH, post(agents::submit))
        .route(protocol::RecordExecution::PATH, post(agents::execution))
        .route("/healthz", get(ops::healthz))
        .route("/metrics", get(ops::metrics_text))
        .route("/openapi.json", get(ops::openapi));
    let mcp = Router::new()
        .route_service(mcp::PATH, mcp::service(&state))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            mcp::admit,
        ));
    api.merge(mcp)
        .fallback(problem::no_route)
        .method_not_allowed_fallback(|| async {
            problem::ApiError::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "this route does not take that method: see /openapi.json",
            )
        })
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            access::authorize,
        ))
        .layer(axum::middleware::from_fn(ops::track))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            conn::hold,
        ))
        .with_state(state)
}

/// A client has `timeout` to send a request's headers (hyper's timer makes the limit real).
fn limit_headers<A: axum_server::Address, Acc>(
    server: &mut axum_server::Server<A, Acc>,
    timeout: Duration,
) {
    server
        .http_builder()
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(timeout);
}

/// A running server.
pub struct Server {
    addr: SocketAddr,
    tls: bool,
    handle: axum_server::Handle<SocketAddr>,
    closing: watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    orchestrator: Orchestrator,
}

impl Server {
    /// Serves `orchestrator` on `listen` (port 0: any free port; see `addr`).
    pub async fn start(
        orchestrator: Orchestrator,
        config: &ServerConfig,
        listen: &str,
        tls: Option<Tls>,
    ) -> Result<Server, ServeError> {
        ops::init_metrics();
        // One process-wide crypto provider for rustls; a second install is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let listen_err = |source| ServeError::Listen {
            addr: listen.to_string(),
            source,
        };
        let listener = std::net::TcpListener::bind(listen).map_err(listen_err)?;
        listener.set_nonblocking(true).map_err(listen_err)?;
        let addr = listener.local_addr().map_err(listen_err)?;
        let (frames, _) = broadcast::channel(config.client_buffer);
        let (closing_tx, closing) = watch::channel(false);
        events::fan_out(orchestrator.subscribe(), frames.clone());
        let waiters = Arc::new(waiters::Waiters::default());
        waiters.clone().dispatch(orchestrator.subscribe());
        let connections = conn::Connections::new(config.max_connections);
        let state = Arc::new(AppState {
            name: config.name.clone(),
            orchestrator: orchestrator.clone(),
            tokens: auth::Tokens::from_config(config),
            idempotency: Default::default(),
            limits: limits::Limits::from_config(config),
            frames,
            closing,
            consoles: AtomicI64::new(0),
            metrics_open: config.metrics_open,
            connections: connections.clone(),
            waiters,
            policy: crate::config::policy::Policy::from_config(&config.policy)
                .map_err(ServeError::Config)?,
            known: Default::default(),
            recent: Default::default(),
            policy_config: config.policy.clone(),
            callbacks: callbacks::Callbacks::from_config(config).map_err(ServeError::Config)?,
        });
        callbacks::start(&state, orchestrator.subscribe());
        if state.tokens.is_empty() {
            tracing::warn!(
                "no tokens in [server]: every request will be refused; run `opsdeck token new NAME --role ROLE`"
            );
        }
        let app = router(state, config.max_body_bytes)
            .into_make_service_with_connect_info::<SocketAddr>();
        let handle = axum_server::Handle::new();
        let header_timeout = Duration::from_secs(config.header_read_timeout_secs);
        let cap = |plain| conn::CapAcceptor {
            connections: connections.clone(),
            plain,
        };
        let task = match &tls {
            None => {
                let mut server = axum_server::from_tcp(listener)?
                    .handle(handle.clone())
                    .acceptor(cap(true));
                limit_headers(&mut server, header_timeout);
                tokio::spawn(server.serve(app))
            }
            Some(tls) => {
                let rustls =
                    axum_server::tls_rustls::RustlsConfig::from_pem_file(&tls.cert, &tls.key)
                        .await
                        .map_err(|source| ServeError::Tls {
                            cert: tls.cert.display().to_string(),
                            key: tls.key.display().to_string(),
                            source,
                        })?;
                let acceptor =
                    axum_server::tls_rustls::RustlsAcceptor::new(rustls).acceptor(cap(false));
                let mut server = axum_server::from_tcp(listener)?
                    .handle(handle.clone())
                    .acceptor(acceptor);
                limit_headers(&mut server, header_timeout);
                tokio::spawn(server.serve(app))
            }
        };
        Ok(Server {
            addr,
            tls: tls.is_some(),
            handle,
            closing: closing_tx,
            task,
            orchestrator,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL consoles connect to.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Ends every event stream (consoles reconnect elsewhere or later), lets requests in flight
    /// finish, then stops the orchestrator and closes the store.
    pub async fn stop(self) {
        let _ = self.closing.send(true);
        self.handle.graceful_shutdown(Some(DRAIN));
        let _ = self.task.await;
        self.orchestrator.stop().await;
    }

    /// Runs until SIGTERM or SIGINT (then stops cleanly) or until the server fails.
    pub async fn until_signal(mut self) -> Result<(), ServeError> {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: stopping"),
            _ = int.recv() => tracing::info!("SIGINT: stopping"),
            ended = &mut self.task => {
                self.orchestrator.stop().await;
                return match ended {
                    Ok(result) => Ok(result?),
                    Err(e) => Err(ServeError::Io(std::io::Error::other(e))),
                };
            }
        }
        self.stop().await;
        Ok(())
    }
}
