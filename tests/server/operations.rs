//! `/healthz`, `/metrics` and `/openapi.json`.

use crate::support::orchestrator::ALICE;
use opsdeck::protocol::*;
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
    // /metrics needs an operator token (any role) unless [server] metrics_open.
    let metrics = f
        .get("/metrics", Some(ALICE))
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
    // Every command's route, as the protocol names it, is in the spec with its body's schema.
    let commands = [
        ActOnApproval::PATH,
        ActOnIncident::PATH,
        DeclareIncident::PATH,
        ActOnRollout::PATH,
        ActOnAgent::PATH,
        RevealRecord::PATH,
        RegisterAgent::PATH,
        Heartbeat::PATH,
        LeaseTask::PATH,
        CompleteTask::PATH,
        RaiseEscalation::PATH,
        ReportIncident::PATH,
        SubmitTask::PATH,
        RecordExecution::PATH,
    ];
    for path in commands {
        assert!(
            spec["paths"][path]["post"]["requestBody"].is_object(),
            "{path} has no POST with a body in the spec"
        );
    }
    for path in ["/v1/snapshot", "/v1/events", "/v1/audit"]
        .into_iter()
        .chain(commands)
    {
        assert!(
            spec["paths"].get(path).is_some(),
            "{path} missing from the spec"
        );
    }
    f.server.stop().await;
}
