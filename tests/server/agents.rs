//! Agents join and work with an agent token.

use crate::support::orchestrator::{ALICE, FLEET};
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
