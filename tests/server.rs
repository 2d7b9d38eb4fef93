//! `opsdeck serve` from the outside, on 127.0.0.1:0: who may call what, retries and races,
//! bad input, limits, the event stream, agents, and a restart in the middle of a stream.

use std::time::Duration;

use crate::support::orchestrator::{
    ALICE, FLEET, ONCALL, VIEWER, seeded_store, serve, server_config, target,
};
use opsdeck::engine::{Command, Decision, IncidentAction};
use opsdeck::link::{Link, LinkError, LinkEvent, Remote};
use opsdeck::server::{Server, ServerConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};

struct Fixture {
    server: Server,
    base: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

async fn fixture_with(config: ServerConfig) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded_store(dir.path());
    let server = serve(&store, &config, "127.0.0.1:0").await;
    Fixture {
        base: server.url(),
        server,
        http: reqwest::Client::new(),
        _dir: dir,
    }
}

async fn fixture() -> Fixture {
    fixture_with(server_config()).await
}

impl Fixture {
    fn get(&self, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        let request = self.http.get(format!("{}{path}", self.base));
        match token {
            Some(t) => request.bearer_auth(t),
            None => request,
        }
    }

    fn post(&self, path: &str, token: &str, key: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .header("idempotency-key", key)
            .header("content-type", "application/json")
    }

    async fn snapshot(&self) -> Value {
        self.get("/v1/snapshot", Some(ALICE))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The first pending approval of `domain` (any domain when `None`): id and version.
    async fn pending(&self, domain: Option<&str>) -> (String, u64) {
        let snapshot = self.snapshot().await;
        let a = snapshot["approvals"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["state"] == "pending" && domain.is_none_or(|d| a["domain"] == d))
            .expect("a pending approval in the seeded hour")
            .clone();
        (
            a["id"].as_str().unwrap().to_string(),
            a["version"].as_u64().unwrap(),
        )
    }
}

/// Status and body, checking every error is a problem document with a detail.
async fn answer(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        assert_eq!(content_type, "application/problem+json", "{status} {body}");
        assert_eq!(body["status"], status.as_u16(), "{body}");
        assert!(
            body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{body}"
        );
        assert!(
            body["type"].as_str().unwrap().starts_with("/problems/"),
            "{body}"
        );
    }
    (status, body)
}

fn decision(verb: &str, version: u64) -> Value {
    json!({ "decision": verb, "reason": "checked the budget with finance", "version": version })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_may_call_what() {
    let f = fixture().await;
    let (status, body) = answer(f.get("/v1/snapshot", None).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["detail"].as_str().unwrap().contains("Bearer"));
    let (status, _) = answer(
        f.get("/v1/snapshot", Some("opsd_wrong"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let basic = f
        .http
        .get(format!("{}/v1/snapshot", f.base))
        .header("authorization", "Basic YWxpY2U6eA==");
    assert_eq!(
        answer(basic.send().await.unwrap()).await.0,
        StatusCode::UNAUTHORIZED
    );

    // An agent token on operator routes, and an operator token on agent routes: 403.
    let (status, body) = answer(f.get("/v1/audit", Some(FLEET)).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body["detail"].as_str().unwrap().contains("agent token"));
    let (id, version) = f.pending(None).await;
    let as_agent = f
        .post(&format!("/v1/approvals/{id}/decision"), FLEET, "k-agent")
        .json(&decision("approve", version));
    assert_eq!(
        answer(as_agent.send().await.unwrap()).await.0,
        StatusCode::FORBIDDEN
    );
    let register = f
        .post("/v1/agent/register", ALICE, "k-op")
        .json(&json!({"name": "x", "domain": "platform", "team": "data", "version": "1"}));
    assert_eq!(
        answer(register.send().await.unwrap()).await.0,
        StatusCode::FORBIDDEN
    );

    // A role that may not: a viewer, and on-call for another domain. 403 with the reason.
    let (status, body) = answer(
        f.post(&format!("/v1/approvals/{id}/decision"), VIEWER, "k-viewer")
            .json(&decision("approve", version))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("read"), "{body}");
    let (other, other_version) = f.pending(Some("platform")).await;
    let (status, body) = answer(
        f.post(
            &format!("/v1/approvals/{other}/decision"),
            ONCALL,
            "k-oncall",
        )
        .json(&decision("approve", other_version))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    // Whatever the body claims, the audit names the token's operator; a claim is refused.
    let claim = f
        .post(&format!("/v1/approvals/{id}/decision"), ALICE, "k-claim")
        .json(&json!({"decision": "approve", "reason": "x", "version": version, "operator": "mallory"}));
    assert_eq!(
        answer(claim.send().await.unwrap()).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let (status, body) = answer(
        f.post(&format!("/v1/approvals/{id}/decision"), ALICE, "k-alice")
            .json(&decision("approve", version))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let seq = body["audit_seqs"][0].as_u64().unwrap();
    let (_, page) = answer(
        f.get(
            &format!("/v1/audit?q=type:decision&cursor={}&limit=1", seq + 1),
            Some(ALICE),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(page["records"][0]["seq"], seq);
    assert_eq!(page["records"][0]["agent_id"], "operator:alice");
    f.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_request_replays_and_a_reused_key_is_refused() {
    let f = fixture().await;
    let (id, version) = f.pending(None).await;
    let path = format!("/v1/approvals/{id}/decision");
    let first = f
        .post(&path, ALICE, "key-1")
        .json(&decision("approve", version));
    let (status, first) = answer(first.send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let again = f
        .post(&path, ALICE, "key-1")
        .json(&decision("approve", version))
        .send()
        .await
        .unwrap();
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let (status, replayed) = answer(again).await;
    assert_eq!(
        (status, &replayed),
        (StatusCode::OK, &first),
        "the first answer, again"
    );
    let other = f
        .post(&path, ALICE, "key-1")
        .json(&decision("reject", version));
    assert_eq!(
        answer(other.send().await.unwrap()).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // A fresh key on a decided item: 409 with the approval as it is now.
    let (status, body) = answer(
        f.post(&path, ALICE, "key-2")
            .json(&decision("reject", version + 1))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["current"]["state"], "approved");
    assert_eq!(body["current_version"], version + 1);
    let missing = f
        .http
        .post(format!("{}{path}", f.base))
        .bearer_auth(ALICE)
        .json(&decision("approve", version));
    let (status, body) = answer(missing.send().await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["detail"].as_str().unwrap().contains("Idempotency-Key"));
    f.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_consoles_deciding_one_approval_make_one_decision() {
    // Enough burst for 32 mutations in a moment: the race is the point here, not the limit.
    let f = fixture_with(ServerConfig {
        operator_burst: 100,
        ..server_config()
    })
    .await;
    let (id, version) = f.pending(None).await;
    let mut consoles = Vec::new();
    for _ in 0..16 {
        let remote = Remote::connect(&target(&f.base, ALICE), false)
            .await
            .unwrap();
        consoles.push(Link::Remote(remote));
    }
    let racing = consoles.into_iter().map(|link| {
        let id = id.clone();
        tokio::spawn(async move {
            link.send(Command::DecideApproval {
                id,
                decision: Decision::Approve,
                reason: "the race".into(),
                expected_version: Some(version),
            })
            .await
        })
    });
    let results = futures::future::join_all(racing).await;
    let won = results.iter().filter(|r| matches!(r, Ok(Ok(_)))).count();
    let conflicts = results
        .iter()
        .filter(|r| matches!(r, Ok(Err(LinkError::Conflict { .. }))))
        .count();
    assert_eq!((won, conflicts), (1, 15), "{results:?}");

    // The same key from sixteen clients at once: one decision, the rest replays or "in progress".
    let (id, version) = f.pending(None).await;
    let path = format!("/v1/approvals/{id}/decision");
    let same_key = (0..16).map(|_| {
        f.post(&path, ALICE, "one-key-for-all")
            .json(&decision("reject", version))
            .send()
    });
    let answers = futures::future::join_all(same_key).await;
    let statuses: Vec<u16> = answers
        .iter()
        .map(|r| r.as_ref().unwrap().status().as_u16())
        .collect();
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 409),
        "{statuses:?}"
    );
    assert!(statuses.contains(&200));

    let decided = |phrase: &str| {
        let request = f
            .get("/v1/audit/count", Some(ALICE))
            .query(&[("q", phrase)]);
        async move {
            answer(request.send().await.unwrap()).await.1["count"]
                .as_u64()
                .unwrap()
        }
    };
    assert_eq!(
        decided("type:decision \"the race\"").await,
        1,
        "one audit record"
    );
    f.server.stop().await;
}

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
                .json(&json!({"domain":"platform"})),
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

/// Reads SSE lines until `until` says stop (or 10 s pass).
async fn read_sse(response: reqwest::Response, until: impl Fn(&[String]) -> bool) -> Vec<String> {
    use futures::StreamExt;
    let mut lines = Vec::new();
    let mut buffer = String::new();
    let mut stream = response.bytes_stream();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !until(&lines) {
        let Ok(Some(chunk)) = tokio::time::timeout_at(deadline, stream.next()).await else {
            break;
        };
        buffer.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        while let Some(end) = buffer.find('\n') {
            lines.push(buffer[..end].to_string());
            buffer.drain(..=end);
        }
    }
    lines
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_stream_resumes_after_last_event_id_and_resets_when_it_cannot() {
    let f = fixture().await;
    let seq = f.snapshot().await["seq"].as_u64().unwrap();
    let response = f
        .get("/v1/events", Some(ALICE))
        .header("last-event-id", (seq - 3).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let ids = |lines: &[String]| -> Vec<u64> {
        lines
            .iter()
            .filter_map(|l| l.strip_prefix("id: ").or_else(|| l.strip_prefix("id:")))
            .map(|id| id.trim().parse().unwrap())
            .collect()
    };
    let lines = read_sse(response, |lines| ids(lines).len() >= 3).await;
    assert_eq!(ids(&lines), vec![seq - 2, seq - 1, seq]);

    let response = f
        .get("/v1/events", Some(ALICE))
        .header("last-event-id", (seq + 50).to_string())
        .send()
        .await
        .unwrap();
    let lines = read_sse(response, |lines| {
        lines.iter().any(|l| l.starts_with("data"))
    })
    .await;
    assert!(
        lines.iter().any(|l| l.trim() == "event: reset"),
        "{lines:?}"
    );
    f.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_join_and_work_with_an_agent_token() {
    let f = fixture().await;
    let (status, body) = answer(
        f.post("/v1/agent/register", FLEET, "r1")
            .json(&json!({"name": "newcomer", "domain": "platform", "team": "data", "skills": ["sql"], "version": "3.0.0"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = body["reply"]["value"]["id"].as_str().unwrap().to_string();
    let agent = json!({ "agent": id });
    for route in ["/v1/agent/heartbeat", "/v1/agent/lease"] {
        let (status, body) = answer(
            f.http
                .post(format!("{}{route}", f.base))
                .bearer_auth(FLEET)
                .json(&agent)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{route}: {body}");
    }
    let (status, body) = answer(
        f.post("/v1/agent/escalations", FLEET, "e1")
            .json(&json!({
                "agent": id, "category": "budget_allocation", "summary": "buy more disks",
                "context": "the data team is at 91 %", "options_considered": ["wait", "buy"],
                "recommendation": "buy", "classification": "internal"
            }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // An agent that does not exist, and a body for another route.
    let (status, _) = answer(
        f.post("/v1/agent/heartbeat", FLEET, "h2")
            .json(&json!({"agent": "agent-99999"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = answer(
        f.post("/v1/agent/heartbeat", FLEET, "h3")
            .json(&json!({"agent": id, "task": "T-1"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, page) = answer(
        f.get("/v1/audit", Some(ALICE))
            .query(&[("q", format!("agent:{id} type:escalation"))])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(page["records"].as_array().unwrap().len(), 1);
    f.server.stop().await;
}

/// The fault test: a console follows the stream while notes are written; the server stops in
/// the middle and starts again on the same store and port. What the console applied is
/// contiguous by seq, and everything acknowledged is there after the restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_mid_stream_loses_nothing_and_skips_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded_store(dir.path());
    let config = server_config();
    let server = serve(&store, &config, "127.0.0.1:0").await;
    let addr = server.addr().to_string();
    let url = server.url();
    let console = Remote::connect(&target(&url, ALICE), false).await.unwrap();
    let writer = Remote::connect(&target(&url, ALICE), false).await.unwrap();
    let snapshot = console.snapshot().await.unwrap();
    let incident = snapshot
        .incidents
        .iter()
        .find(|i| i.is_open())
        .unwrap()
        .id
        .clone();
    let mut rx = console.subscribe(snapshot.seq).await.unwrap();

    let note = |n: usize| Command::IncidentAction {
        id: incident.clone(),
        action: IncidentAction::Note,
        note: Some(format!("note {n}")),
        expected_version: None,
    };
    let mut acknowledged = Vec::new();
    for n in 0..10 {
        acknowledged.push(writer.send(note(n)).await.unwrap().event_seq);
    }
    server.stop().await;
    // While it is down nothing is acknowledged, and nothing is sent blind.
    assert!(matches!(
        writer.send(note(99)).await,
        Err(LinkError::Unavailable(_))
    ));
    let server = serve(&store, &config, &addr).await;
    for n in 10..20 {
        acknowledged.push(writer.send(note(n)).await.unwrap().event_seq);
    }
    let last = *acknowledged.last().unwrap();

    let mut applied = Vec::new();
    let mut reconnected = false;
    while applied.last().is_none_or(|s| *s < last) {
        let event = tokio::time::timeout(Duration::from_secs(30), rx.recv())
            .await
            .expect("the console catches up within 30 s")
            .expect("the subscription stays open across the restart");
        match event {
            LinkEvent::Event(e) => applied.push(e.seq),
            LinkEvent::Reconnecting { .. } => reconnected = true,
            LinkEvent::Heartbeat | LinkEvent::Notice(_) => {}
            LinkEvent::Reset => panic!("a resume within the window needs no reset"),
        }
    }
    assert!(reconnected, "the console saw the link go down");
    let expected: Vec<u64> = (snapshot.seq + 1..=last).collect();
    assert_eq!(applied, expected, "contiguous: no gap, no duplicate");
    let after = console.snapshot().await.unwrap();
    let kept = after.incidents.iter().find(|i| i.id == incident).unwrap();
    for n in 0..20 {
        let text = format!("note {n}");
        assert!(
            kept.timeline.iter().any(|entry| entry.text.contains(&text)),
            "{text} was acknowledged and must survive the restart"
        );
    }
    server.stop().await;
}
