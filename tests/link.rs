//! The link's suite: every test runs unchanged against the embedded orchestrator and against
//! `opsdeck serve` on 127.0.0.1:0 through the remote link.

use std::time::Duration;

use crate::support::orchestrator::{
    ALICE, ONCALL, VIEWER, Variant, console, runs, sensitive_escalation,
};
use opsdeck::link::{Link, LinkError, LinkEvent};
use opsdeck::model::{ApprovalState, Change, Snapshot};
use opsdeck::protocol::{
    ActOnApproval, ActOnIncident, ApprovalAction, Command, IncidentAction, Reply, RevealRecord,
};
use tokio::sync::mpsc;

/// Runs one async test body against every variant: embedded and remote, on SQLite and on
/// PostgreSQL.
macro_rules! both {
    ($name:ident, $body:ident) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn embedded() {
                $body(Variant::Embedded).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn remote() {
                $body(Variant::Remote).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn embedded_postgres() {
                if runs(Variant::EmbeddedPostgres) {
                    $body(Variant::EmbeddedPostgres).await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn remote_postgres() {
                if runs(Variant::RemotePostgres) {
                    $body(Variant::RemotePostgres).await;
                }
            }
        }
    };
}

fn pending(snapshot: &Snapshot) -> (String, u64) {
    let a = snapshot
        .approvals
        .iter()
        .find(|a| a.is_pending())
        .expect("the seeded hour leaves a pending approval");
    (a.id.clone(), a.version)
}

fn approve(id: &str, version: Option<u64>) -> Command {
    Command::ActOnApproval(ActOnApproval {
        id: id.into(),
        decision: ApprovalAction::Approve,
        reason: "capacity checked with the platform lead".into(),
        option: None,
        version,
    })
}

/// The next event, skipping heartbeats and notices.
async fn next_event(rx: &mut mpsc::Receiver<LinkEvent>) -> LinkEvent {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("an event within 10 s")
            .expect("the subscription is open");
        match event {
            LinkEvent::Heartbeat | LinkEvent::Notice(_) => continue,
            other => return other,
        }
    }
}

async fn a_decision_arrives_as_the_next_event(variant: Variant) {
    let console_ = console(variant, ALICE, false).await;
    let link = &console_.link;
    let snapshot = link.snapshot().await.unwrap();
    let mut rx = link.subscribe(snapshot.seq).await.unwrap();
    let (id, version) = pending(&snapshot);
    let outcome = link.send(approve(&id, Some(version))).await.unwrap();
    let Reply::Approval(approval) = &outcome.reply else {
        panic!("an approval reply, got {:?}", outcome.reply)
    };
    assert_eq!(approval.state, ApprovalState::Approved);
    assert_eq!(outcome.event_seq, snapshot.seq + 1);
    let LinkEvent::Event(event) = next_event(&mut rx).await else {
        panic!("an event")
    };
    assert_eq!(event.seq, snapshot.seq + 1, "no gap, no duplicate");
    assert_eq!(event.cause, "approval.decide");
    let audited = event.changes.iter().any(|c| {
        matches!(c, Change::Audit(r) if r.agent_id == "operator:alice" && r.details.reasoning.contains("capacity checked"))
    });
    assert!(
        audited,
        "the decision's audit record names alice: {event:?}"
    );
}
both!(
    a_decision_arrives_as_the_next_event,
    a_decision_arrives_as_the_next_event
);

async fn a_stale_version_is_a_conflict_with_the_current_one(variant: Variant) {
    let console_ = console(variant, ALICE, false).await;
    let link = &console_.link;
    let snapshot = link.snapshot().await.unwrap();
    let (id, version) = pending(&snapshot);
    match link.send(approve(&id, Some(version + 7))).await {
        Err(LinkError::Conflict {
            current_version, ..
        }) => assert_eq!(current_version, Some(version)),
        other => panic!("a conflict, got {other:?}"),
    }
    link.send(approve(&id, Some(version))).await.unwrap();
    match link.send(approve(&id, Some(version + 1))).await {
        Err(LinkError::Conflict { message, .. }) => {
            assert!(message.contains("already approved"), "{message}")
        }
        other => panic!("already decided is a conflict, got {other:?}"),
    }
}
both!(
    a_stale_version_is_a_conflict_with_the_current_one,
    a_stale_version_is_a_conflict_with_the_current_one
);

async fn unknown_ids_and_empty_reasons_are_refused_clearly(variant: Variant) {
    let console_ = console(variant, ALICE, false).await;
    let link = &console_.link;
    match link.send(approve("APR-99999", Some(1))).await {
        Err(LinkError::NotFound(message)) => assert!(message.contains("APR-99999"), "{message}"),
        other => panic!("not found, got {other:?}"),
    }
    let snapshot = link.snapshot().await.unwrap();
    let incident = snapshot.incidents.iter().find(|i| i.is_open()).unwrap();
    let note = Command::ActOnIncident(ActOnIncident {
        id: incident.id.clone(),
        action: IncidentAction::Note,
        note: Some("  ".into()),
        version: Some(incident.version),
    });
    assert!(
        matches!(link.send(note).await, Err(LinkError::Invalid(_))),
        "an empty note is invalid"
    );
}
both!(
    unknown_ids_and_empty_reasons_are_refused_clearly,
    unknown_ids_and_empty_reasons_are_refused_clearly
);

async fn a_viewer_and_a_read_only_console_do_not_act(variant: Variant) {
    let console_ = console(variant, VIEWER, false).await;
    let link = &console_.link;
    let snapshot = link.snapshot().await.unwrap();
    let (id, version) = pending(&snapshot);
    match link.send(approve(&id, Some(version))).await {
        Err(LinkError::Refused(message)) => assert!(message.contains("read"), "{message}"),
        other => panic!("a viewer is refused, got {other:?}"),
    }
    let console_ = console(variant, ALICE, true).await;
    let link = &console_.link;
    assert!(matches!(
        link.send(approve(&id, Some(version))).await,
        Err(LinkError::Refused(_))
    ));
    assert!(link.info().read_only);
}
both!(
    a_viewer_and_a_read_only_console_do_not_act,
    a_viewer_and_a_read_only_console_do_not_act
);

async fn audit_search_pages_and_counts(variant: Variant) {
    let console_ = console(variant, ALICE, false).await;
    let link = &console_.link;
    let first = link.search_audit("type:decision", None, 20).await.unwrap();
    assert_eq!(first.len(), 20);
    assert!(
        first.windows(2).all(|w| w[0].seq > w[1].seq),
        "newest first"
    );
    let second = link
        .search_audit("type:decision", Some(first[19].seq), 20)
        .await
        .unwrap();
    assert!(
        second[0].seq < first[19].seq,
        "the next page starts below the cursor"
    );
    let (count, capped) = link.count_audit("type:decision", 10_000).await.unwrap();
    assert!(count >= 40 && !capped, "{count}");
    let (few, capped) = link.count_audit("type:decision", 5).await.unwrap();
    assert_eq!((few, capped), (5, true));
    match link.search_audit("domain:", None, 10).await {
        Err(LinkError::Invalid(message)) => assert!(message.contains("column 8"), "{message}"),
        other => panic!("a bad query names its column, got {other:?}"),
    }
}
both!(audit_search_pages_and_counts, audit_search_pages_and_counts);

async fn following_from_beyond_the_store_resets(variant: Variant) {
    let console_ = console(variant, ALICE, false).await;
    let link = &console_.link;
    let snapshot = link.snapshot().await.unwrap();
    let mut rx = link.subscribe(snapshot.seq + 100).await.unwrap();
    assert_eq!(next_event(&mut rx).await, LinkEvent::Reset);
}
both!(
    following_from_beyond_the_store_resets,
    following_from_beyond_the_store_resets
);

async fn a_resumed_subscription_replays_exactly_what_came_after(variant: Variant) {
    let console_ = console(variant, ALICE, false).await;
    let link = &console_.link;
    let snapshot = link.snapshot().await.unwrap();
    let from = snapshot.seq - 5;
    let mut rx = link.subscribe(from).await.unwrap();
    for expected in from + 1..=snapshot.seq {
        let event = match next_event(&mut rx).await {
            LinkEvent::Event(event) => event,
            other => panic!("event {expected} expected, got {other:?}"),
        };
        assert_eq!(event.seq, expected);
    }
}
both!(
    a_resumed_subscription_replays_exactly_what_came_after,
    a_resumed_subscription_replays_exactly_what_came_after
);

async fn revealing_a_sensitive_record_is_audited(variant: Variant) {
    let console_ = console(variant, ALICE, false).await;
    sensitive_escalation(&console_.store, "platform");
    let link = &console_.link;
    // Read paths withhold a sensitive record's details, and say so.
    let found = link
        .search_audit("class:sensitive", None, 20)
        .await
        .unwrap();
    let record = found
        .iter()
        .find(|r| !r.summary.starts_with("revealed"))
        .expect("the seeded hour has sensitive records");
    assert!(record.redacted, "{record:?}");
    assert_eq!(record.details, Default::default());
    assert!(record.related_tasks.is_empty());
    let snapshot = link.snapshot().await.unwrap();
    for r in &snapshot.audit_tail {
        if r.classification == opsdeck::model::Classification::Sensitive {
            assert!(r.redacted && r.details.context.is_empty(), "{r:?}");
        }
    }
    // The reveal returns the record whole, once recorded in the record's own domain.
    let outcome = link
        .send(Command::RevealRecord(RevealRecord { seq: record.seq }))
        .await
        .unwrap();
    let Reply::Record(whole) = outcome.reply else {
        panic!("{:?}", outcome.reply)
    };
    assert!(!whole.redacted);
    assert!(!whole.details.context.is_empty(), "{whole:?}");
    assert_eq!((whole.seq, &whole.hash), (record.seq, &record.hash));
    let reveals = link
        .search_audit(
            &format!("\"revealed sensitive audit record seq {}\"", record.seq),
            None,
            5,
        )
        .await
        .unwrap();
    assert_eq!(reveals.len(), 1);
    assert_eq!(reveals[0].agent_id, "operator:alice");
    assert_eq!(reveals[0].domain, record.domain);
    // Only an existing, sensitive record.
    let public = link.search_audit("class:public", None, 1).await.unwrap();
    let err = link
        .send(Command::RevealRecord(RevealRecord { seq: public[0].seq }))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not sensitive"), "{err}");
    let err = link
        .send(Command::RevealRecord(RevealRecord { seq: 9_999_999 }))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("no audit record at seq 9999999"),
        "{err}"
    );
    let after = link.search_audit("", None, 1).await.unwrap();
    assert_eq!(
        after[0].seq, reveals[0].seq,
        "refused reveals write nothing"
    );
}
both!(
    revealing_a_sensitive_record_is_audited,
    revealing_a_sensitive_record_is_audited
);

async fn a_reveal_needs_a_role_that_may_act_in_the_records_domain(variant: Variant) {
    let oncall = console(variant, ONCALL, false).await;
    sensitive_escalation(&oncall.store, "platform");
    let found = oncall
        .link
        .search_audit("class:sensitive", None, 50)
        .await
        .unwrap();
    let elsewhere = found
        .iter()
        .find(|r| r.domain != "product")
        .expect("a sensitive record outside product");
    let err = oncall
        .link
        .send(Command::RevealRecord(RevealRecord { seq: elsewhere.seq }))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("product"), "{err}");
    let viewer = console(variant, VIEWER, false).await;
    sensitive_escalation(&viewer.store, "platform");
    let theirs = viewer
        .link
        .search_audit("class:sensitive", None, 1)
        .await
        .unwrap();
    let err = viewer
        .link
        .send(Command::RevealRecord(RevealRecord { seq: theirs[0].seq }))
        .await
        .unwrap_err();
    assert!(!err.to_string().is_empty());
    let reveals = oncall
        .link
        .search_audit("revealed sensitive audit record", None, 50)
        .await
        .unwrap();
    assert!(reveals.is_empty(), "{reveals:?}");
}
both!(
    a_reveal_needs_a_role_that_may_act_in_the_records_domain,
    a_reveal_needs_a_role_that_may_act_in_the_records_domain
);

#[tokio::test]
async fn the_remote_link_names_the_server_and_the_tokens_operator() {
    let console_ = console(Variant::Remote, ALICE, false).await;
    let link = &console_.link;
    let info = link.info();
    assert_eq!(info.name, "test-orchestrator");
    assert_eq!(
        (info.operator.as_str(), info.role.as_str()),
        ("alice", "enterprise")
    );
    assert!(info.remote && info.frozen_at.is_some());
    assert!(matches!(link, Link::Remote(_)));
    // The console keeps the server (and its store directory) alive as long as it needs them.
    assert!(console_.server.is_some() && console_.dir.path().exists());
}
