//! Decision callbacks: one signed POST to a local receiver when the decision is final, retried
//! when the receiver is down for a moment, its delivery on the approval and in the trail.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use opsdeck::server::callbacks::sign;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Fixture, answer, fixture_with};
use crate::support::orchestrator::{ALICE, FLEET, server_config};

const SECRET: &str = "a-long-random-secret-for-callbacks";

#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    /// Answers 503 to this many requests first.
    refuse: Arc<Mutex<u32>>,
}

async fn receiver() -> (String, Receiver) {
    let r = Receiver::default();
    let app = axum::Router::new()
        .route(
            "/hook/decision",
            axum::routing::post(
                |axum::extract::State(r): axum::extract::State<Receiver>,
                 headers: HeaderMap,
                 body: Bytes| async move {
                    r.got.lock().unwrap().push((headers, body));
                    let mut refuse = r.refuse.lock().unwrap();
                    if *refuse > 0 {
                        *refuse -= 1;
                        return AxumStatus::SERVICE_UNAVAILABLE;
                    }
                    AxumStatus::NO_CONTENT
                },
            ),
        )
        .with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, r)
}

async fn server(dir: &std::path::Path, prefix: &str) -> Fixture {
    let secret = dir.join("callback.secret");
    std::fs::write(&secret, format!("{SECRET}\n")).unwrap();
    let mut config = server_config();
    config.callback_secret_file = secret.display().to_string();
    config.callback_prefixes = vec![format!("{prefix}/hook/")];
    fixture_with(config).await
}

async fn raise(f: &Fixture, callback: &str, key: &str) -> (StatusCode, Value) {
    let (status, body) = answer(
        f.post("/v1/agent/register", FLEET, &format!("{key}-r"))
            .json(&json!({"name": "cb", "domain": "platform", "team": "t", "version": "1"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let agent = body["reply"]["value"]["id"].as_str().unwrap().to_string();
    answer(
        f.post("/v1/agent/escalations", FLEET, key)
            .json(&json!({
                "agent": agent, "category": "scope_change", "summary": "call me back",
                "context": "", "recommendation": "", "classification": "internal",
                "callback_url": callback
            }))
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn decide(f: &Fixture, id: &str) {
    let (status, body) = answer(
        f.post(
            &format!("/v1/approvals/{id}/decision"),
            ALICE,
            &format!("d-{id}"),
        )
        .json(&json!({"decision": "reject", "reason": "not in this window", "version": 1}))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// The approval, once its callback delivery is recorded.
async fn delivered(f: &Fixture, id: &str) -> Value {
    for _ in 0..150 {
        let item: Value = f
            .get(&format!("/v1/items/approvals/{id}"), Some(ALICE))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if item["origin"]["callback"]["done_at"].is_string() {
            return item;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the delivery of {id} was never recorded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_final_decision_is_posted_once_signed_and_its_delivery_audited() {
    let dir = tempfile::tempdir().unwrap();
    let (url, r) = receiver().await;
    let f = server(dir.path(), &url).await;
    let (status, body) = raise(&f, &format!("{url}/hook/decision"), "cb1").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = body["reply"]["value"]["id"].as_str().unwrap().to_string();
    assert!(
        r.got.lock().unwrap().is_empty(),
        "nothing is sent while pending"
    );
    decide(&f, &id).await;
    let item = delivered(&f, &id).await;
    assert_eq!(item["origin"]["callback"]["attempts"], 1);
    assert_eq!(item["origin"]["callback"]["outcome"], "204 No Content");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = r.got.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "exactly one POST");
    let (headers, body) = &got[0];
    let decision: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(decision["escalation_id"], id.as_str());
    assert_eq!(decision["state"], "rejected");
    assert_eq!(decision["votes"][0]["reason"], "not in this window");
    assert_eq!(headers["x-opsdeck-delivery"], id.as_str());
    let signature = headers["x-opsdeck-signature"].to_str().unwrap();
    assert_eq!(signature, sign(SECRET.as_bytes(), body));
    // A changed body, or another secret, does not match: a forgery is detectable.
    let mut forged = body.to_vec();
    forged[10] ^= 1;
    assert_ne!(signature, sign(SECRET.as_bytes(), &forged));
    assert_ne!(signature, sign(b"another-secret-of-some-length", body));
    // The delivery is in the trail.
    let page: Value = f
        .get(&format!("/v1/audit?q={id}%20callback"), Some(ALICE))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let summaries: Vec<_> = page["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["summary"].as_str().unwrap().to_string())
        .collect();
    assert!(
        summaries.iter().any(|s| s.contains("sent to its callback")),
        "{summaries:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_down_for_a_moment_gets_it_on_a_retry() {
    let dir = tempfile::tempdir().unwrap();
    let (url, r) = receiver().await;
    *r.refuse.lock().unwrap() = 1;
    let f = server(dir.path(), &url).await;
    let (_, body) = raise(&f, &format!("{url}/hook/decision"), "cb2").await;
    let id = body["reply"]["value"]["id"].as_str().unwrap().to_string();
    decide(&f, &id).await;
    let item = delivered(&f, &id).await;
    assert_eq!(item["origin"]["callback"]["attempts"], 2, "{item}");
    assert_eq!(r.got.lock().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_the_server_will_not_send_is_refused_when_raised() {
    let dir = tempfile::tempdir().unwrap();
    let f = server(dir.path(), "https://ci.example.com").await;
    let (status, body) = raise(&f, "http://169.254.169.254/latest/meta-data", "cb3").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("callback_prefixes")
    );
    let f = fixture_with(server_config()).await;
    let (status, body) = raise(&f, "https://ci.example.com/hook/x", "cb4").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("no server.callback_secret_file")
    );
}
