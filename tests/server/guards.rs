//! The server's guards: the connection cap and the header timeout, the agents' byte budget,
//! field lengths, control characters in queries, refusals logged and counted, /metrics behind a
//! token, and every record written over HTTP naming its token and client.

use std::time::Duration;

use crate::support::orchestrator::{ALICE, FLEET, VIEWER, server_config};
use opsdeck::server::ServerConfig;
use reqwest::StatusCode;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{answer, decision, fixture_with};

/// Room for 1,100 client sockets and the server's own in this one process.
fn raise_fd_limit(want: u64) {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    let hard = limit.maximum.unwrap_or(u64::MAX);
    if limit.current.is_some_and(|c| c < want) {
        limit.current = Some(want.min(hard));
        setrlimit(Resource::Nofile, limit).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eleven_hundred_idle_half_sent_connections_do_not_lock_a_client_out() {
    raise_fd_limit(4096);
    let f = fixture_with(ServerConfig {
        max_connections: 256,
        // Far longer than the test: the cap, not the timeout, makes room.
        header_read_timeout_secs: 120,
        ..server_config()
    })
    .await;
    let addr = f.server.addr();
    let mut idle = Vec::with_capacity(1_100);
    for _ in 0..1_100 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /v1/whoami HTTP/1.1\r\nHost: x\r\nAuthor")
            .await
            .unwrap();
        idle.push(s);
    }
    let started = std::time::Instant::now();
    let healthy = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let response = healthy
        .get(format!("{}/v1/whoami", f.base))
        .bearer_auth(ALICE)
        .send()
        .await
        .expect("a healthy client is served");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // The oldest half-sent connection was closed to make room.
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(5), idle[0].read(&mut buf)).await;
    assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "{read:?}");
    drop(idle);
    f.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_slow_to_send_its_header_is_cut_off() {
    let f = fixture_with(ServerConfig {
        header_read_timeout_secs: 1,
        ..server_config()
    })
    .await;
    let mut s = TcpStream::connect(f.server.addr()).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHo").await.unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(6), s.read_to_end(&mut buf)).await;
    assert!(
        read.is_ok(),
        "the server still holds the connection after 6 s"
    );
    f.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_token_over_its_byte_budget_gets_429_with_retry_after() {
    let f = fixture_with(ServerConfig {
        max_body_bytes: 4096,
        agent_bytes_per_minute: 4096,
        ..server_config()
    })
    .await;
    let (_, body) = answer(
        f.post("/v1/agent/register", FLEET, "bb-reg")
            .json(&json!({"name": "chatty", "domain": "platform", "team": "data", "version": "1"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let agent = body["reply"]["value"]["id"].as_str().unwrap().to_string();
    let mut refused = None;
    for i in 0..10 {
        let response = f
            .post("/v1/agent/executions", FLEET, &format!("bb-{i}"))
            .json(&json!({"agent": agent, "summary": "bulk", "context": "x".repeat(1_000)}))
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            let retry: u64 = response.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            refused = Some((i, retry, answer(response).await.1));
            break;
        }
        assert_eq!(response.status(), StatusCode::OK);
    }
    let (i, retry, problem) = refused.expect("429 within 10 requests of 1 KB");
    assert!((2..=4).contains(&i), "refused at request {i}");
    assert!((1..=60).contains(&retry), "{retry}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("agent_bytes_per_minute"),
        "{problem}"
    );
    f.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_field_over_its_length_gets_422_naming_it() {
    let f = fixture_with(server_config()).await;
    let (_, body) = answer(
        f.post("/v1/agent/register", FLEET, "fl-reg")
            .json(&json!({"name": "wordy", "domain": "platform", "team": "data", "version": "1"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let agent = body["reply"]["value"]["id"].as_str().unwrap().to_string();
    let cases = [
        (
            "/v1/agent/executions",
            json!({"agent": agent, "summary": "s".repeat(501)}),
            "summary",
        ),
        (
            "/v1/agent/escalations",
            json!({"agent": agent, "category": "scope_change", "summary": "s", "context": "c",
                   "options_considered": vec!["o"; 21], "recommendation": "r", "classification": "internal"}),
            "options_considered",
        ),
        (
            "/v1/agent/tasks",
            json!({"title": "t", "domain": "d".repeat(81), "team": "data", "priority": 3}),
            "domain",
        ),
        (
            "/v1/agent/register",
            json!({"name": "n".repeat(81), "domain": "platform", "team": "data", "version": "1"}),
            "name",
        ),
    ];
    for (i, (route, body, field)) in cases.into_iter().enumerate() {
        let (status, problem) = answer(
            f.post(route, FLEET, &format!("fl-{i}"))
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{route}: {problem}"
        );
        assert_eq!(problem["field"], field, "{route}: {problem}");
        assert!(problem["detail"].as_str().unwrap().starts_with(field));
    }
    let (id, version) = f.pending(None).await;
    let mut long = decision("approve", version);
    long["reason"] = json!("r".repeat(4_001));
    let (status, problem) = answer(
        f.post(&format!("/v1/approvals/{id}/decision"), ALICE, "fl-op")
            .json(&long)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["field"], "reason");
    f.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_control_character_in_a_query_is_a_400_naming_its_column() {
    let f = fixture_with(server_config()).await;
    for route in ["/v1/audit", "/v1/audit/count"] {
        for (q, column) in [("budget%00x", 7), ("a%1Bb", 2), ("%C2%9B", 1)] {
            let (status, problem) = answer(
                f.get(&format!("{route}?q={q}"), Some(ALICE))
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{route} {q}: {problem}");
            assert_eq!(problem["column"], column, "{problem}");
            let detail = problem["detail"].as_str().unwrap();
            assert!(detail.contains(&format!("column {column}")), "{detail}");
            assert!(
                !detail.contains(".db") && !detail.contains("/tmp"),
                "{detail}"
            );
        }
    }
    f.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_need_a_token_and_count_refusals_by_reason() {
    let f = fixture_with(server_config()).await;
    let (status, _) = answer(f.get("/metrics", None).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, problem) = answer(f.get("/metrics", Some(FLEET)).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(problem["detail"].as_str().unwrap().contains("scope"));
    for path in ["/v1/snapshot", "/v1/events", "/v1/audit", "/v1/audit/count"] {
        let (status, problem) = answer(f.get(path, Some(FLEET)).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert!(
            problem["detail"].as_str().unwrap().contains("scope: agent"),
            "{problem}"
        );
    }
    let _ = f
        .get("/v1/whoami", Some("opsd_nobody"))
        .send()
        .await
        .unwrap();
    let text = f
        .get("/metrics", Some(VIEWER))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for reason in ["no-token", "agent-scope", "unknown-token"] {
        assert!(
            text.lines()
                .any(|l| l.starts_with("opsdeck_http_denied_total")
                    && l.contains(&format!("reason=\"{reason}\""))),
            "{reason} not counted:\n{text}"
        );
    }
    f.server.stop().await;

    let open = fixture_with(ServerConfig {
        metrics_open: true,
        ..server_config()
    })
    .await;
    let (status, _) = answer(open.get("/metrics", None).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    open.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_written_over_http_name_their_token_and_client() {
    let f = fixture_with(server_config()).await;
    let (id, version) = f.pending(None).await;
    let (status, outcome) = answer(
        f.post(&format!("/v1/approvals/{id}/decision"), ALICE, "via-op")
            .json(&decision("approve", version))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    let op_seq = outcome["audit_seqs"][0].as_u64().unwrap();
    let (_, body) = answer(
        f.post("/v1/agent/register", FLEET, "via-reg")
            .json(&json!({"name": "traced", "domain": "platform", "team": "data", "version": "1"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let agent = body["reply"]["value"]["id"].as_str().unwrap().to_string();
    let (_, outcome) = answer(
        f.post("/v1/agent/executions", FLEET, "via-exec")
            .json(&json!({"agent": agent, "summary": "rotated the keys"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let agent_seq = outcome["audit_seqs"][0].as_u64().unwrap();
    let record = |seq: u64| {
        let f = &f;
        async move {
            let (_, page) = answer(
                f.get(
                    &format!("/v1/audit?cursor={}&limit=1", seq + 1),
                    Some(ALICE),
                )
                .send()
                .await
                .unwrap(),
            )
            .await;
            assert_eq!(page["records"][0]["seq"], seq);
            page["records"][0].clone()
        }
    };
    let op = record(op_seq).await;
    assert_eq!(op["via"]["token"], "alice", "{op}");
    assert!(
        op["via"]["client"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );
    let by_agent = record(agent_seq).await;
    assert_eq!(by_agent["via"]["token"], "fleet", "{by_agent}");
    assert!(!by_agent.to_string().contains(FLEET), "never the secret");
    // Written in process (the seeded demo hour): no `via` at all.
    let embedded = record(1).await;
    assert!(embedded.get("via").is_none(), "{embedded}");
    f.server.stop().await;
    let store = opsdeck::store::Store::open(&f._dir.path().join("opsdeck.db")).unwrap();
    let verification = store.verify_audit().unwrap();
    assert_eq!(verification.first_bad, None, "old and new records verify");
}
