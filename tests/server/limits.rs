//! Bad input gets a 4xx problem document, never a 5xx; mutations are rate-limited.

use crate::support::orchestrator::{ALICE, ONCALL, server_config};
use opsdeck::server::ServerConfig;
use reqwest::StatusCode;
use serde_json::json;

use super::{answer, decision, fixture_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_4xx_problem_never_a_5xx() {
    let config = ServerConfig {
        max_body_bytes: 4096,
        ..server_config()
    };
    let f = fixture_with(config).await;
    let (id, version) = f.pending(None).await;
    let path = format!("/v1/approvals/{id}/decision");
    let cases: Vec<(&str, reqwest::RequestBuilder, StatusCode)> = vec![
        (
            "malformed JSON",
            f.post(&path, ALICE, "b1").body("{\"decision\":"),
            StatusCode::BAD_REQUEST,
        ),
        (
            "not JSON at all",
            f.post(&path, ALICE, "b2").body("approve please"),
            StatusCode::BAD_REQUEST,
        ),
        (
            "unknown field",
            f.post(&path, ALICE, "b3")
                .json(&json!({"decision":"approve","reason":"x","version":version,"force":true})),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "wrong type",
            f.post(&path, ALICE, "b4")
                .json(&json!({"decision":"approve","reason":"x","version":"two"})),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "unknown verb",
            f.post(&path, ALICE, "b5")
                .json(&json!({"decision":"maybe","reason":"x","version":version})),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "missing reason",
            f.post(&path, ALICE, "b6")
                .json(&json!({"decision":"approve","version":version})),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "oversized body",
            f.post(&path, ALICE, "b7")
                .body(format!("{{\"reason\":\"{}\"}}", "x".repeat(10_000))),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            "form content type",
            f.http
                .post(format!("{}{path}", f.base))
                .bearer_auth(ALICE)
                .header("idempotency-key", "b8")
                .header("content-type", "application/x-www-form-urlencoded")
                .body("a=b"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "bad idempotency key",
            f.post(&path, ALICE, "has space")
                .json(&decision("approve", version)),
            StatusCode::BAD_REQUEST,
        ),
        (
            "unknown approval",
            f.post("/v1/approvals/APR-424242/decision", ALICE, "b9")
                .json(&decision("approve", 1)),
            StatusCode::NOT_FOUND,
        ),
        (
            "non-numeric seq",
            f.post("/v1/audit/abc/reveal", ALICE, "b10")
                .json(&json!({})),
            StatusCode::BAD_REQUEST,
        ),
        (
            "bad query",
            f.get("/v1/audit?q=since:yesterdayish", Some(ALICE)),
            StatusCode::BAD_REQUEST,
        ),
        (
            "bad limit",
            f.get("/v1/audit?limit=-1", Some(ALICE)),
            StatusCode::BAD_REQUEST,
        ),
        (
            "huge limit",
            f.get("/v1/audit?limit=100000", Some(ALICE)),
            StatusCode::BAD_REQUEST,
        ),
        (
            "unknown parameter",
            f.get("/v1/audit?q=x&sort=asc", Some(ALICE)),
            StatusCode::BAD_REQUEST,
        ),
        (
            "bad Last-Event-ID",
            f.get("/v1/events", Some(ALICE))
                .header("last-event-id", "yesterday"),
            StatusCode::BAD_REQUEST,
        ),
        (
            "unknown route",
            f.get("/v1/nothing-here", Some(ALICE)),
            StatusCode::NOT_FOUND,
        ),
        (
            "wrong method",
            f.get(&path, Some(ALICE)),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            "control characters",
            f.post(&path, ALICE, "b11")
                .body("{\"decision\":\"approve\",\"reason\":\"\u{1b}[2J\",\"version\":\u{7}}"),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (what, request, expected) in cases {
        let response = request.send().await.unwrap();
        let (status, body) = answer(response).await;
        assert_eq!(status, expected, "{what}: {body}");
        assert!(
            !body["detail"].as_str().unwrap().contains('\u{1b}'),
            "{what}: no control characters echoed"
        );
    }
    // The approval is untouched by all of that.
    let (_, still) = f.pending(None).await;
    assert_eq!(still, version);
    f.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutations_are_rate_limited_per_operator_with_retry_after() {
    let config = ServerConfig {
        operator_rate_per_minute: 2,
        operator_burst: 2,
        ..server_config()
    };
    let f = fixture_with(config).await;
    let snapshot = f.snapshot().await;
    let incident = snapshot["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["state"] != "resolved")
        .unwrap()
        .clone();
    let path = format!("/v1/incidents/{}/actions", incident["id"].as_str().unwrap());
    let mut version = incident["version"].as_u64().unwrap();
    for n in 0..2 {
        let note = json!({"action": "note", "note": format!("note {n}"), "version": version});
        let (status, body) = answer(
            f.post(&path, ALICE, &format!("n{n}"))
                .json(&note)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        version = body["reply"]["value"]["version"].as_u64().unwrap();
    }
    let note = json!({"action": "note", "note": "one too many", "version": version});
    let response = f.post(&path, ALICE, "n3").json(&note).send().await.unwrap();
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(answer(response).await.0, StatusCode::TOO_MANY_REQUESTS);
    // Another operator is not held back by alice's bucket; reads are not limited.
    assert_eq!(
        f.get("/v1/snapshot", Some(ALICE))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let note = json!({"action": "note", "note": "olga's own", "version": version});
    let (status, _) = answer(
        f.post(&path, ONCALL, "o1")
            .json(&note)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_ne!(status, StatusCode::TOO_MANY_REQUESTS);
    f.server.stop().await;
}
