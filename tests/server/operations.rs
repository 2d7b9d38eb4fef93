//! `/healthz`, `/metrics` and `/openapi.json`.

use crate::support::orchestrator::ALICE;
use serde_json::Value;

use super::fixture;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_metrics_and_the_openapi_document() {
    let f = fixture().await;
    let health: Value = f
        .get("/healthz", None)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    f.get("/v1/snapshot", Some(ALICE)).send().await.unwrap();
    let metrics = f
        .get("/metrics", None)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for name in [
        "opsdeck_http_requests_total",
        "opsdeck_http_request_duration_seconds",
        "opsdeck_queue_depth",
        "opsdeck_approvals_pending",
        "opsdeck_incidents_open{severity=\"SEV1\"}",
        "route=\"/v1/snapshot\"",
    ] {
        assert!(metrics.contains(name), "{name} missing from /metrics");
    }
    let spec: Value = f
        .get("/openapi.json", None)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/v1/snapshot",
        "/v1/events",
        "/v1/approvals/{id}/decision",
        "/v1/incidents/{id}/actions",
        "/v1/rollouts/{id}/actions",
        "/v1/audit",
        "/v1/agent/register",
        "/v1/agent/lease",
    ] {
        assert!(
            spec["paths"].get(path).is_some(),
            "{path} missing from the spec"
        );
    }
    f.server.stop().await;
}
