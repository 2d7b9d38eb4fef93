//! Health, metrics and the API description: what the people running the server need.

use crate::protocol::Problem;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::Json;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use utoipa::OpenApi;

use super::problem::{ApiError, Denial};
use super::state::AppState;

/// The process-wide Prometheus recorder (one per process, however many servers run in it).
fn recorder() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets(&[
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ])
            .expect("the bucket list is not empty")
            .build_recorder();
        let handle = recorder.handle();
        // Another recorder installed first (a library user's own) keeps working; ours then
        // only renders what it saw.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

pub fn init_metrics() {
    recorder();
}

/// Counts every request and its latency, by route template and status; logs and counts every
/// refusal (401, 403) by reason, with the route and the client's address (never the token).
pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.to_string())
        .unwrap_or_else(|| "unknown".into());
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    if matches!(
        response.status(),
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
    ) {
        // A replayed refusal (same Idempotency-Key) carries no label of its own.
        let reason = response
            .extensions()
            .get::<Denial>()
            .map_or("replayed", |d| d.0);
        let status = response.status().as_u16();
        tracing::warn!(%method, %route, %client, status, reason, "request refused");
        metrics::counter!("opsdeck_http_denied_total", "status" => status.to_string(), "reason" => reason)
            .increment(1);
    }
    let status = response.status().as_u16().to_string();
    metrics::counter!("opsdeck_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("opsdeck_http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// Alive, and the orchestrator answers.
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "ok"), (status = 503, body = Problem)))]
pub async fn healthz(
    State(state): State<Arc<AppState>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let seq = state.orchestrator.seq().await?;
    let replica = state.orchestrator.replica();
    if !replica.shared {
        return Ok(Json(serde_json::json!({ "status": "ok", "seq": seq })));
    }
    // A replica that cannot reach its database is taken out of the load balancer's rotation:
    // what it would answer could be stale, and nothing it was asked to do could commit.
    if !replica.reachable {
        let mut err = ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "database-unreachable",
            "this replica cannot reach its database; its consoles should move to another replica",
        );
        err.retry_after = Some(1);
        return Err(err);
    }
    Ok(Json(serde_json::json!({
        "status": "ok",
        "seq": seq,
        "database": "reachable",
        "clock": replica.clock,
    })))
}

/// Prometheus text: requests, latencies, refusals by reason, connections, connected consoles,
/// queue depth, pending approvals, open incidents by severity. Needs an operator token unless
/// `[server] metrics_open`.
#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text format", content_type = "text/plain"), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn metrics_text(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let snapshot = state.orchestrator.snapshot().await?;
    let s = &snapshot;
    for queue in &s.queues {
        metrics::gauge!("opsdeck_queue_depth", "domain" => queue.domain.clone(), "queue" => queue.name.clone())
            .set(queue.depth as f64);
    }
    let pending = s
        .approvals
        .iter()
        .filter(|a| a.state == crate::model::ApprovalState::Pending)
        .count();
    metrics::gauge!("opsdeck_approvals_pending").set(pending as f64);
    for severity in crate::model::Severity::ALL {
        let open = s
            .incidents
            .iter()
            .filter(|i| i.severity == severity && i.state != crate::model::IncidentState::Resolved)
            .count();
        metrics::gauge!("opsdeck_incidents_open", "severity" => severity.as_str()).set(open as f64);
    }
    metrics::gauge!("opsdeck_event_seq").set(snapshot.seq as f64);
    let mut response = (StatusCode::OK, recorder().render()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    Ok(response)
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "opsdeck",
        description = "The orchestrator's API: consoles and the CLI on the operator side (bearer operator tokens), agents on /v1/agent/ (bearer agent tokens). Errors are RFC 9457 problem documents. Mutations need an Idempotency-Key header and the version the operator saw."
    ),
    paths(
        super::routes::whoami,
        super::routes::snapshot,
        super::events::events,
        super::routes::audit,
        super::routes::audit_count,
        super::items::items,
        super::items::item,
        super::routes::claim,
        super::routes::reveal,
        super::routes::decide,
        super::routes::declare_incident,
        super::routes::incident_action,
        super::routes::rollout_action,
        super::routes::agent_action,
        super::agents::view,
        super::agents::register,
        super::agents::heartbeat,
        super::agents::lease,
        super::agents::complete,
        super::agents::raise,
        super::escalations::wait,
        super::hooks::claude_code,
        super::hooks::policy,
        super::permission::permission,
        super::agents::report,
        super::agents::submit,
        super::agents::execution,
        healthz,
        metrics_text,
        openapi,
    ),
    components(schemas(Problem))
)]
pub struct ApiDoc;

/// This document.
#[utoipa::path(get, path = "/openapi.json", responses((status = 200, description = "OpenAPI 3.1")))]
pub async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
