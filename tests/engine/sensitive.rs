//! Sensitive records leave the engine withheld: on the event stream, in snapshots, in a replay
//! from the store. Only a reveal returns one whole.

use opsdeck::model::{Category, Change, Classification};
use opsdeck::orchestrator::Orchestrator;
use opsdeck::protocol::{Command, Reply, RevealRecord};

use super::{enterprise, fresh, raise, register};

#[tokio::test]
async fn sensitive_records_are_withheld_on_every_way_out_of_the_engine() {
    let (_dir, mut engine) = fresh(Default::default());
    let agent = register(&mut engine, "platform", "infra", &["deploy"]);
    let mut events = engine.subscribe();
    raise(
        &mut engine,
        &agent,
        Category::ExternalCommunication,
        Classification::Sensitive,
    );
    let mut seen = 0;
    while let Ok(event) = events.try_recv() {
        for change in &event.changes {
            if let Change::Audit(r) = change
                && r.classification == Classification::Sensitive
            {
                assert!(r.redacted && r.details == Default::default(), "{r:?}");
                seen += 1;
            }
        }
    }
    assert!(seen > 0, "the escalation wrote a sensitive record");
    let tail = engine.snapshot().audit_tail;
    let sensitive = tail
        .iter()
        .find(|r| r.classification == Classification::Sensitive)
        .expect("in the tail");
    assert!(sensitive.redacted && sensitive.details.context.is_empty());
    let seq = sensitive.seq;

    let orchestrator = Orchestrator::idle(engine);
    let replay = orchestrator.events_since(0).await.unwrap().unwrap();
    let replayed: Vec<_> = replay
        .iter()
        .flat_map(|e| &e.changes)
        .filter_map(|c| match c {
            Change::Audit(r) if r.classification == Classification::Sensitive => Some(r),
            _ => None,
        })
        .collect();
    assert!(!replayed.is_empty());
    assert!(replayed.iter().all(|r| r.redacted));
    let found = orchestrator
        .search_audit("class:sensitive", None, 10)
        .await
        .unwrap();
    assert!(found.iter().all(|r| r.redacted));

    let outcome = orchestrator
        .execute(
            enterprise("erin"),
            Command::RevealRecord(RevealRecord { seq }),
        )
        .await
        .unwrap();
    let Reply::Record(whole) = outcome.reply else {
        panic!("{:?}", outcome.reply)
    };
    assert!(!whole.redacted && !whole.details.context.is_empty());
    assert_eq!(outcome.audit_seqs.len(), 1, "the reveal itself is recorded");
    orchestrator.stop().await;
}
