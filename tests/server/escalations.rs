//! An agent waits on its escalation: the long poll, woken by the commit.

use std::time::{Duration, Instant};

use crate::support::orchestrator::{ALICE, FLEET, PLATFORM_FLEET, server_config};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Fixture, answer, fixture};

/// Registers an agent with `token` and raises an escalation as it: the escalation's id.
pub(super) async fn raise(f: &Fixture, token: &str, domain: &str, key: &str) -> String {
    let (status, body) = answer(
        f.post("/v1/agent/register", token, &format!("{key}-r"))
            .json(&json!({"name": "waiter", "domain": domain, "team": "gate", "version": "1.0.0"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let agent = body["reply"]["value"]["id"].as_str().unwrap().to_string();
    let (status, body) = answer(
        f.post("/v1/agent/escalations", token, key)
            .json(&json!({
                "agent": agent, "category": "scope_change", "summary": "deploy 4.2 to prod",
                "context": "CI is green", "options_considered": ["deploy", "wait"],
                "recommendation": "deploy", "classification": "internal",
                "tool_call": {"name": "Bash", "input": {"command": "git push origin main"}, "tool_use_id": "toolu_01"},
                "session": "run-42"
            }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["reply"]["value"]["id"].as_str().unwrap().to_string()
}

async fn wait(f: &Fixture, token: &str, id: &str, seconds: u64) -> (StatusCode, Value) {
    answer(
        f.get(
            &format!("/v1/agent/escalations/{id}?wait={seconds}"),
            Some(token),
        )
        .send()
        .await
        .unwrap(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_waiters_are_released_together_with_the_same_decision() {
    let f = fixture().await;
    let id = raise(&f, FLEET, "platform", "w16").await;
    let (status, pending) = wait(&f, FLEET, &id, 0).await;
    assert_eq!(status, StatusCode::OK, "{pending}");
    assert_eq!(pending["state"], "pending");
    assert_eq!(pending["quorum"], json!({"needed": 1, "have": 0}));
    let mut waiters = Vec::new();
    for _ in 0..16 {
        let http = f.http.clone();
        let url = format!("{}/v1/agent/escalations/{id}?wait=30", f.base);
        waiters.push(tokio::spawn(async move {
            let body: Value = http
                .get(url)
                .bearer_auth(FLEET)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            (body, Instant::now())
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    for w in &waiters {
        assert!(!w.is_finished(), "a waiter answered before the decision");
    }
    let (status, body) = answer(
        f.post(&format!("/v1/approvals/{id}/decision"), ALICE, "d16")
            .json(
                &json!({"decision": "approve", "reason": "the window is open", "option": "deploy", "version": 1}),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    let decided = Instant::now();
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut answers = Vec::new();
    for w in waiters {
        let (body, at) = w.await.unwrap();
        assert!(
            at.saturating_duration_since(decided) <= Duration::from_secs(1),
            "a waiter was released {:?} after the decision",
            at.saturating_duration_since(decided)
        );
        answers.push(body);
    }
    assert!(answers.iter().all(|a| a == &answers[0]), "{answers:?}");
    let d = &answers[0];
    assert_eq!(d["escalation_id"], id.as_str());
    assert_eq!(d["state"], "approved");
    assert_eq!(d["chosen_option"], "deploy");
    assert_eq!(d["quorum"], json!({"needed": 1, "have": 1}));
    assert_eq!(d["votes"][0]["by"], "operator:alice");
    assert_eq!(d["votes"][0]["reason"], "the window is open");
    // A final decision answers at once, whatever the wait.
    let started = Instant::now();
    let (_, again) = wait(&f, FLEET, &id, 50).await;
    assert_eq!(&again, d);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_raising_token_waits_and_bad_waits_are_told_why() {
    let f = fixture().await;
    let id = raise(&f, FLEET, "platform", "wo").await;
    // Another agent token, an operator token, no token.
    let (status, body) = wait(&f, PLATFORM_FLEET, &id, 0).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) = wait(&f, ALICE, &id, 0).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = answer(
        f.get(&format!("/v1/agent/escalations/{id}"), None)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for bad in ["?wait=soon", "?wait=-1"] {
        let (status, body) = answer(
            f.get(&format!("/v1/agent/escalations/{id}{bad}"), Some(FLEET))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    let (status, _) = wait(&f, FLEET, "APR-999999", 0).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The tool call travels with the item, for the card, and an option must be one of its own.
    let item: Value = f
        .get(&format!("/v1/items/approvals/{id}"), Some(ALICE))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(item["origin"]["tool_call"]["name"], "Bash");
    assert_eq!(item["origin"]["session"], "run-42");
    let (status, body) = answer(
        f.post(&format!("/v1/approvals/{id}/decision"), ALICE, "dx")
            .json(&json!({"decision": "approve", "reason": "ok", "option": "rm -rf", "version": 1}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("\"deploy\""),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_past_fifty_seconds_answers_pending_at_fifty() {
    let f = fixture().await;
    let id = raise(&f, FLEET, "platform", "w50").await;
    let started = Instant::now();
    let (status, body) = wait(&f, FLEET, &id, 3600).await;
    let took = started.elapsed();
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"], "pending");
    assert!(
        took >= Duration::from_secs(49) && took < Duration::from_secs(58),
        "the wait took {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_escalation_is_expired_with_nobody_named() {
    let mut config = opsdeck::config::Config::default();
    config.approvals.expiry = chrono::Duration::seconds(2);
    let f = super::fixture_with_engine(server_config(), config).await;
    let id = raise(&f, FLEET, "platform", "we").await;
    let (status, body) = wait(&f, FLEET, &id, 20).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"], "expired", "{body}");
    assert_eq!(body["votes"], json!([]));
    assert!(body.get("chosen_option").is_none());
}
