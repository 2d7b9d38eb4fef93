//! `GET /v1/items/{kind}` and `GET /v1/items/{kind}/{id}`: listings and items read from the
//! store by index, history included; bad kinds, states and ids get a problem, never a path.

use reqwest::StatusCode;

use super::{answer, fixture};
use crate::support::orchestrator::{ALICE, FLEET, VIEWER};

#[tokio::test]
async fn listings_read_the_store_newest_first_with_filters() {
    let f = fixture().await;
    let (status, tasks) = answer(
        f.get("/v1/items/tasks?state=succeeded&limit=5", Some(VIEWER))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tasks}");
    let tasks = tasks.as_array().unwrap();
    assert_eq!(tasks.len(), 5);
    assert!(tasks.iter().all(|t| t["state"] == "succeeded"));
    let finished: Vec<&str> = tasks
        .iter()
        .map(|t| t["finished_at"].as_str().unwrap())
        .collect();
    assert!(finished.windows(2).all(|w| w[0] >= w[1]), "{finished:?}");
    // The oldest task, by id, wherever it is in its life.
    let (status, one) = answer(
        f.get("/v1/items/tasks/T-1", Some(ALICE))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["id"], "T-1");
    // Domain filter.
    let (status, platform) = answer(
        f.get("/v1/items/approvals?domain=platform&limit=50", Some(ALICE))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        platform
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["domain"] == "platform")
    );
}

#[tokio::test]
async fn bad_listings_are_problems() {
    let f = fixture().await;
    for (path, status, needle) in [
        ("/v1/items/secrets", StatusCode::NOT_FOUND, "unknown kind"),
        (
            "/v1/items/tasks?state=done",
            StatusCode::BAD_REQUEST,
            "succeeded",
        ),
        ("/v1/items/tasks?since=soon", StatusCode::BAD_REQUEST, "2h"),
        ("/v1/items/tasks?limit=0", StatusCode::BAD_REQUEST, "limit"),
        ("/v1/items/tasks?bogus=1", StatusCode::BAD_REQUEST, "bogus"),
        (
            "/v1/items/queues?state=open",
            StatusCode::BAD_REQUEST,
            "no state",
        ),
        ("/v1/items/tasks/T-999999", StatusCode::NOT_FOUND, "no task"),
        (
            "/v1/items/tasks/%1B%5D2%3Bowned",
            StatusCode::NOT_FOUND,
            "no task",
        ),
    ] {
        let (got, body) = answer(f.get(path, Some(ALICE)).send().await.unwrap()).await;
        assert_eq!(got, status, "{path}: {body}");
        let detail = body["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(needle), "{path}: {body}");
        assert!(
            !detail.contains('\u{1b}') && !detail.contains("/tmp"),
            "{body}"
        );
    }
    let (got, _) = answer(f.get("/v1/items/tasks", Some(FLEET)).send().await.unwrap()).await;
    assert_eq!(got, StatusCode::FORBIDDEN, "agent tokens read no listings");
    let (got, _) = answer(f.get("/v1/items/tasks", None).send().await.unwrap()).await;
    assert_eq!(got, StatusCode::UNAUTHORIZED);
}
