//! Idempotency keys in the engine: an answer is recorded with its effect, in the store, replayed
//! to a retry after a restart, refused to another request, forgotten after the window.

use chrono::Duration;
use opsdeck::config::Config;
use opsdeck::engine::{Engine, EngineError};
use opsdeck::model::Severity;
use opsdeck::protocol::{
    Command, DeclareIncident, Executed, IDEMPOTENCY_WINDOW_HOURS, IdempotencyKey, KEY_REUSED,
    answer_body,
};

use super::{advance, enterprise, open};

fn declare(title: &str) -> Command {
    Command::DeclareIncident(DeclareIncident {
        severity: Severity::Sev2,
        title: title.into(),
        domain: "platform".into(),
    })
}

fn key(key: &str, fingerprint: &str) -> IdempotencyKey {
    IdempotencyKey {
        caller: "operator:alice".into(),
        key: key.into(),
        fingerprint: fingerprint.into(),
    }
}

fn incidents(engine: &Engine, title: &str) -> usize {
    engine
        .state()
        .incidents
        .values()
        .filter(|i| i.title == title)
        .count()
}

/// Rows in the store's idempotency table, read from the file itself.
fn recorded(path: &std::path::Path) -> i64 {
    rusqlite::Connection::open(path)
        .unwrap()
        .query_row("SELECT count(*) FROM idempotency", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn an_answer_survives_a_restart_and_a_reused_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.db");
    let alice = enterprise("alice");
    let first = {
        let mut engine = open(&path, Config::default());
        match engine
            .execute_once(&alice, declare("disk full"), Some(key("k1", "f1")))
            .unwrap()
        {
            Executed::Fresh(outcome) => outcome,
            other => panic!("a fresh run expected, got {other:?}"),
        }
    };
    let mut engine = open(&path, Config::default());
    let audit = engine.store().head().unwrap().audit_seq;
    match engine
        .execute_once(&alice, declare("disk full"), Some(key("k1", "f1")))
        .unwrap()
    {
        Executed::Replayed(answer) => {
            assert_eq!(
                answer.body,
                answer_body(&first),
                "the first answer, unchanged"
            );
            assert_eq!(answer.status, 201);
        }
        other => panic!("a replay expected, got {other:?}"),
    }
    let reused = engine.execute_once(&alice, declare("disk full"), Some(key("k1", "f2")));
    assert!(
        matches!(&reused, Err(EngineError::Invalid(why)) if why == KEY_REUSED),
        "{reused:?}"
    );
    assert_eq!(incidents(&engine, "disk full"), 1, "declared once");
    assert_eq!(
        engine.store().head().unwrap().audit_seq,
        audit,
        "nothing audited"
    );
    // Keys belong to their caller.
    let bob = IdempotencyKey {
        caller: "operator:bob".into(),
        ..key("k1", "f1")
    };
    assert!(matches!(
        engine.execute_once(&alice, declare("disk full"), Some(bob)),
        Ok(Executed::Fresh(_))
    ));
    assert_eq!(incidents(&engine, "disk full"), 2);
}

#[test]
fn a_failed_command_records_nothing_and_a_retry_runs_it_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.db");
    let mut engine = open(&path, Config::default());
    let before = engine.store().head().unwrap();
    let bad = Command::DeclareIncident(DeclareIncident {
        severity: Severity::Sev2,
        title: "t".into(),
        domain: "nowhere".into(),
    });
    let refused = engine.execute_once(&enterprise("alice"), bad, Some(key("k", "f")));
    assert!(
        matches!(refused, Err(EngineError::Invalid(_))),
        "{refused:?}"
    );
    assert_eq!(recorded(&path), 0);
    let after = engine.store().head().unwrap();
    assert_eq!(
        (after.event_seq, after.audit_seq),
        (before.event_seq, before.audit_seq)
    );
    // Nothing was recorded, so the same key may carry the corrected request.
    assert!(matches!(
        engine.execute_once(&enterprise("alice"), declare("t"), Some(key("k", "g"))),
        Ok(Executed::Fresh(_))
    ));
    assert_eq!(recorded(&path), 1);
}

#[test]
fn answers_are_kept_for_the_window_then_pruned() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.db");
    let mut engine = open(&path, Config::default());
    let alice = enterprise("alice");
    let once = |engine: &mut Engine| {
        engine
            .execute_once(&alice, declare("slow"), Some(key("k", "f")))
            .unwrap()
    };
    assert!(matches!(once(&mut engine), Executed::Fresh(_)));
    advance(
        &engine,
        Duration::hours(IDEMPOTENCY_WINDOW_HOURS) - Duration::minutes(1),
    );
    engine.tick().unwrap();
    assert_eq!(recorded(&path), 1, "kept within the window");
    assert!(matches!(once(&mut engine), Executed::Replayed(_)));
    advance(&engine, Duration::minutes(2));
    engine.tick().unwrap();
    assert_eq!(recorded(&path), 0, "pruned by the clock after the window");
    // Forgotten: the key is new again.
    assert!(matches!(once(&mut engine), Executed::Fresh(_)));
    assert_eq!(incidents(&engine, "slow"), 2);
}
