//! Agents join and work with an agent token.

use crate::support::orchestrator::{ALICE, FLEET, LISTED_FLEET, PLATFORM_FLEET};
use reqwest::StatusCode;
use serde_json::json;

use super::{answer, fixture};

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

/// One fleet's token cannot speak for another fleet's agents, nor for the orchestrator's own:
/// every agent route refuses with 403 naming the token's scope, and nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_token_acts_only_for_the_agents_it_registered() {
    let f = fixture().await;
    let register = |token: &'static str, key: &'static str, domain: &'static str| {
        f.post("/v1/agent/register", token, key).json(&json!({
            "name": format!("{key}-agent"), "domain": domain, "team": "data", "version": "1.0"
        }))
    };
    let (status, body) = answer(register(FLEET, "r-own", "platform").send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let theirs = body["reply"]["value"]["id"].as_str().unwrap().to_string();
    let (status, body) = answer(
        register(PLATFORM_FLEET, "r-mine", "platform")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mine = body["reply"]["value"]["id"].as_str().unwrap().to_string();
    // The demo fleet's agents belong to no token.
    let snapshot = answer(f.get("/v1/snapshot", Some(ALICE)).send().await.unwrap())
        .await
        .1;
    let demo = snapshot["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .find(|id| *id != theirs && *id != mine)
        .expect("a demo agent");
    let head = || async {
        let s = answer(f.get("/v1/snapshot", Some(ALICE)).send().await.unwrap())
            .await
            .1;
        (s["seq"].as_u64().unwrap(), s["audit_tail"].clone())
    };
    for victim in [&theirs, &demo] {
        let bodies = [
            ("/v1/agent/heartbeat", json!({"agent": victim})),
            ("/v1/agent/lease", json!({"agent": victim})),
            (
                "/v1/agent/complete",
                json!({"agent": victim, "task": "T-1", "outcome": {"result": "failed", "error": "x"}}),
            ),
            (
                "/v1/agent/incidents",
                json!({"agent": victim, "severity": "SEV1", "title": "fake outage"}),
            ),
            (
                "/v1/agent/escalations",
                json!({"agent": victim, "category": "budget_allocation", "summary": "s",
                       "context": "c", "recommendation": "r", "classification": "internal"}),
            ),
            (
                "/v1/agent/executions",
                json!({"agent": victim, "summary": "deleted the prod database"}),
            ),
        ];
        for (i, (route, body)) in bodies.into_iter().enumerate() {
            let before = head().await;
            let key = format!("imp-{victim}-{i}");
            let (status, problem) = answer(
                f.http
                    .post(format!("{}{route}", f.base))
                    .bearer_auth(PLATFORM_FLEET)
                    .header("idempotency-key", key)
                    .json(&body)
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            assert_eq!(
                status,
                StatusCode::FORBIDDEN,
                "{route} for {victim}: {problem}"
            );
            let detail = problem["detail"].as_str().unwrap();
            assert!(
                detail.contains("platform-fleet") && detail.contains("agents it registered"),
                "{detail}"
            );
            assert_eq!(head().await, before, "{route} for {victim} wrote something");
        }
    }
    // Its own agent it may drive; outside its domain it may neither register nor submit.
    let (status, body) = answer(
        f.post("/v1/agent/heartbeat", PLATFORM_FLEET, "hb-mine")
            .json(&json!({"agent": mine}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = answer(
        register(PLATFORM_FLEET, "r-product", "product")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("limited to platform"),
        "{body}"
    );
    let (status, body) = answer(
        f.post("/v1/agent/tasks", PLATFORM_FLEET, "t-product")
            .json(&json!({"title": "t", "domain": "product", "team": "search", "priority": 2}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    f.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_token_also_acts_for_the_agents_the_config_lists_for_it() {
    let f = fixture().await;
    // agent-1 is the seeded store's own (no token registered it); the config lists it for
    // listed-fleet, and only it.
    let beat = |token: &'static str, key: &'static str, agent: &'static str| {
        f.post("/v1/agent/heartbeat", token, key)
            .json(&json!({"agent": agent}))
    };
    let (status, body) = answer(beat(LISTED_FLEET, "l-1", "agent-1").send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = answer(beat(LISTED_FLEET, "l-2", "agent-2").send().await.unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("config lists"),
        "{body}"
    );
    let (status, _) = answer(beat(FLEET, "l-3", "agent-1").send().await.unwrap()).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "another token is refused agent-1"
    );
    let (status, view) = answer(
        f.get("/v1/agent/state", Some(LISTED_FLEET))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    let ids: Vec<&str> = view["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["agent-1"]);
    f.server.stop().await;
}
