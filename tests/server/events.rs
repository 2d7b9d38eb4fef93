//! The event stream: resuming after `Last-Event-ID`, a reset when it cannot, and a restart in
//! the middle of a stream.

use std::time::Duration;

use crate::support::orchestrator::{ALICE, seeded_store, serve, server_config, target};
use opsdeck::link::{LinkError, LinkEvent, Remote};
use opsdeck::protocol::{ActOnIncident, Command, IncidentAction};

use super::{fixture, read_sse};

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

    let note = |n: usize| {
        Command::ActOnIncident(ActOnIncident {
            id: incident.clone(),
            action: IncidentAction::Note,
            note: Some(format!("note {n}")),
            version: None,
        })
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
            LinkEvent::Heartbeat | LinkEvent::Notice(_) | LinkEvent::Replica(_) => {}
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
