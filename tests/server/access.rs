//! Who may call what, retried requests and reused keys, and sixteen consoles racing.

use crate::support::orchestrator::{ALICE, FLEET, ONCALL, VIEWER, server_config, target};
use opsdeck::link::{Link, LinkError, Remote};
use opsdeck::protocol::{ActOnApproval, ApprovalAction, Command};
use opsdeck::server::ServerConfig;
use reqwest::StatusCode;
use serde_json::json;

use super::{answer, decision, fixture, fixture_with};

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
            link.send(Command::ActOnApproval(ActOnApproval {
                id,
                decision: ApprovalAction::Approve,
                reason: "the race".into(),
                option: None,
                version: Some(version),
            }))
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
