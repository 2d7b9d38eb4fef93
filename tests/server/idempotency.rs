//! Idempotency keys across a restart: the answer to a keyed mutation is in the store, so the
//! same key and body sent to a new server on the same store get the first answer, byte for
//! byte, and nothing runs twice; the key with another body is refused.

use crate::support::orchestrator::{ALICE, FLEET, seeded_store, serve, server_config};
use serde_json::{Value, json};

/// Status, whether the server says it replayed, and the body's exact bytes.
async fn send(base: &str, path: &str, token: &str, key: &str, body: &Value) -> (u16, bool, String) {
    let response = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    let replayed = response
        .headers()
        .get("idempotent-replayed")
        .is_some_and(|v| v == "true");
    (
        response.status().as_u16(),
        replayed,
        response.text().await.unwrap(),
    )
}

async fn snapshot(base: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{base}/v1/snapshot"))
        .bearer_auth(ALICE)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn audit_count(base: &str, q: &str) -> u64 {
    let body: Value = reqwest::Client::new()
        .get(format!("{base}/v1/audit/count"))
        .bearer_auth(ALICE)
        .query(&[("q", q)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["count"].as_u64().unwrap()
}

/// How many of the snapshot's `list` have `field` equal to `value`.
fn count(snapshot: &Value, list: &str, field: &str, value: &str) -> usize {
    snapshot[list]
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| item[field] == value)
        .count()
}

struct Effects {
    incidents: usize,
    agents: usize,
    escalations: usize,
    declared_records: u64,
    executions: u64,
    escalation_records: u64,
    registrations: u64,
}

async fn effects(base: &str) -> Effects {
    let s = snapshot(base).await;
    Effects {
        incidents: count(&s, "incidents", "title", "restart-proof outage"),
        agents: count(&s, "agents", "name", "restart-proof-agent"),
        escalations: count(&s, "approvals", "summary", "restart-proof disks"),
        declared_records: audit_count(base, "\"restart-proof outage\"").await,
        executions: audit_count(base, "type:execution \"rotated the restart-proof keys\"").await,
        escalation_records: audit_count(base, "type:escalation \"restart-proof disks\"").await,
        registrations: audit_count(base, "\"restart-proof-agent\"").await,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_resent_after_a_restart_gets_the_first_answer_and_acts_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded_store(dir.path());
    let config = server_config();
    let server = serve(&store, &config, "127.0.0.1:0").await;
    let base = server.url();

    let register = json!({"name": "restart-proof-agent", "domain": "platform", "team": "data", "version": "1.0"});
    let (status, _, registered) =
        send(&base, "/v1/agent/register", FLEET, "reg-1", &register).await;
    assert_eq!(status, 200, "{registered}");
    let agent: Value = serde_json::from_str(&registered).unwrap();
    let agent = agent["reply"]["value"]["id"].as_str().unwrap().to_string();
    let requests = [
        (
            "/v1/incidents",
            ALICE,
            "declare-1",
            json!({"severity": "SEV2", "title": "restart-proof outage", "domain": "platform"}),
            201,
        ),
        (
            "/v1/agent/executions",
            FLEET,
            "exec-1",
            json!({"agent": agent, "summary": "rotated the restart-proof keys"}),
            200,
        ),
        (
            "/v1/agent/escalations",
            FLEET,
            "esc-1",
            json!({"agent": agent, "category": "budget_allocation", "summary": "restart-proof disks",
                   "context": "at 91 %", "recommendation": "buy", "classification": "internal"}),
            200,
        ),
    ];
    let mut first = vec![(200, registered.clone())];
    for (path, token, key, body, expected) in &requests {
        let (status, replayed, text) = send(&base, path, token, key, body).await;
        assert_eq!(status, *expected, "{path}: {text}");
        assert!(!replayed);
        first.push((status, text));
    }
    let once = effects(&base).await;
    assert_eq!(
        (once.incidents, once.agents, once.escalations),
        (1, 1, 1),
        "each effect once before the restart"
    );
    server.stop().await;

    let server = serve(&store, &config, "127.0.0.1:0").await;
    let base = server.url();
    let mut again = vec![send(&base, "/v1/agent/register", FLEET, "reg-1", &register).await];
    for (path, token, key, body, _) in &requests {
        again.push(send(&base, path, token, key, body).await);
    }
    for ((status, replayed, text), (first_status, first_text)) in again.iter().zip(&first) {
        assert!(replayed, "a replay says so: {text}");
        assert_eq!(
            (status, text),
            (first_status, first_text),
            "the first answer, unchanged"
        );
    }
    let after = effects(&base).await;
    assert_eq!(
        (after.incidents, after.agents, after.escalations),
        (1, 1, 1),
        "nothing ran twice"
    );
    assert_eq!(
        (
            after.declared_records,
            after.executions,
            after.escalation_records,
            after.registrations
        ),
        (
            once.declared_records,
            once.executions,
            once.escalation_records,
            once.registrations
        ),
        "no audit record twice"
    );
    assert_eq!(
        (after.executions, after.escalation_records),
        (1, 1),
        "one record each"
    );

    // The same keys with other bodies are refused, and write nothing.
    let other =
        json!({"name": "someone-else", "domain": "platform", "team": "data", "version": "1.0"});
    let (status, _, text) = send(&base, "/v1/agent/register", FLEET, "reg-1", &other).await;
    assert_eq!(status, 422, "{text}");
    assert!(
        text.contains("already used for a different request"),
        "{text}"
    );
    for (path, token, key, body, _) in &requests {
        // The same request but one word: well-formed, so only the key can refuse it.
        let changed: Value =
            serde_json::from_str(&body.to_string().replace("restart-proof", "changed")).unwrap();
        let (status, _, text) = send(&base, path, token, key, &changed).await;
        assert_eq!(status, 422, "{path}: {text}");
        assert!(
            text.contains("already used for a different request"),
            "{text}"
        );
    }
    let refused = snapshot(&base).await;
    assert_eq!(count(&refused, "agents", "name", "someone-else"), 0);
    assert_eq!(count(&refused, "incidents", "title", "changed outage"), 0);
    assert_eq!(count(&refused, "approvals", "summary", "changed disks"), 0);
    assert_eq!(audit_count(&base, "\"rotated the changed keys\"").await, 0);
    // A key is the caller's own: another caller's same key is a new request.
    let (status, replayed, _) = send(&base, "/v1/incidents", ALICE, "exec-1", &requests[0].3).await;
    assert_eq!((status, replayed), (201, false));
    server.stop().await;
}
