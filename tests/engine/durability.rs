//! What survives: restarts, determinism, racing engines and processes, events, a full disk.

use chrono::Duration;
use opsdeck::config::Config;
use opsdeck::engine::{Clock, Engine, EngineError};
use opsdeck::model::{ActionType, ApprovalState, Category, Classification};
use opsdeck::protocol::{Actor, ApprovalAction, Command, RaiseEscalation};
use opsdeck::store::Store;

use super::{
    audit_count, decide, enterprise, fresh, heartbeat, open, open_seeded, raise, register, t0,
};

#[test]
fn restarting_restores_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.db");
    let before = {
        let mut engine = open(&path, Config::default());
        opsdeck::sim::Sim::new(11)
            .run(&mut engine, t0(), Duration::minutes(90))
            .unwrap();
        serde_json::to_value(engine.snapshot()).unwrap()
    };
    let engine = open(&path, Config::default());
    let after = serde_json::to_value(engine.snapshot()).unwrap();
    assert_eq!(before, after);
    assert!(after["approvals"].as_array().unwrap().len() > 3);
    assert!(after["seq"].as_u64().unwrap() > 100);
    let v = engine.store().verify_audit().unwrap();
    assert!(v.first_bad.is_none());
    assert_eq!(v.verified, engine.store().head().unwrap().audit_seq);
}

#[test]
fn the_demo_is_deterministic() {
    let run = || {
        let mut engine = Engine::open(
            Store::open_in_memory().unwrap(),
            Config::default(),
            Clock::manual(t0()),
            Some(5),
        )
        .unwrap();
        opsdeck::sim::Sim::new(5)
            .run(&mut engine, t0(), Duration::minutes(60))
            .unwrap();
        let mut trail = Vec::new();
        engine
            .store()
            .each_audit(&mut |r| {
                trail.push(r);
                true
            })
            .unwrap();
        (
            serde_json::to_string(&engine.snapshot()).unwrap(),
            serde_json::to_string(&trail).unwrap(),
        )
    };
    let (a, trail_a) = run();
    let (b, trail_b) = run();
    assert!(a == b, "snapshots differ");
    assert!(trail_a == trail_b, "audit trails differ");
    assert!(trail_a.len() > 10_000);
}

#[test]
fn sixteen_engines_deciding_one_approval_make_one_decision() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.db");
    let id = {
        let mut engine = open(&path, Config::default());
        let agent = register(&mut engine, "platform", "infra", &[]);
        raise(
            &mut engine,
            &agent,
            Category::PolicyException,
            Classification::Internal,
        )
    };
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(16));
    let handles: Vec<_> = (0..16)
        .map(|i| {
            let (path, id, barrier) = (path.clone(), id.clone(), barrier.clone());
            std::thread::spawn(move || {
                let mut engine = open_seeded(&path, Config::default(), 100 + i);
                barrier.wait();
                let decision = if i % 2 == 0 {
                    ApprovalAction::Approve
                } else {
                    ApprovalAction::Reject
                };
                decide(&mut engine, &enterprise(&format!("op{i}")), &id, decision)
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let wins = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(wins, 1, "{results:?}");
    for r in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(matches!(r, EngineError::Conflict { .. }), "{r}");
    }
    let engine = open(&path, Config::default());
    let mut decisions = 0;
    engine
        .store()
        .each_audit(&mut |r| {
            if r.action_type == ActionType::Decision && r.summary.contains(&id) {
                decisions += 1;
            }
            true
        })
        .unwrap();
    assert_eq!(decisions, 1);
    assert_eq!(engine.state().approvals[&id].version, 2);
}

#[test]
fn another_process_writing_first_is_seen_before_deciding() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.db");
    let mut a = open(&path, Config::default());
    let agent = register(&mut a, "platform", "infra", &[]);
    let id = raise(
        &mut a,
        &agent,
        Category::ScopeChange,
        Classification::Internal,
    );
    let mut b = open_seeded(&path, Config::default(), 2);
    decide(&mut b, &enterprise("bea"), &id, ApprovalAction::Approve).unwrap();
    let late = decide(&mut a, &enterprise("cyd"), &id, ApprovalAction::Approve).unwrap_err();
    assert!(
        late.to_string()
            .contains("already approved by operator:bea"),
        "{late}"
    );
    assert_eq!(a.state().approvals[&id].state, ApprovalState::Approved);
}

#[test]
fn events_are_gapless_and_reach_subscribers() {
    let (_dir, mut engine) = fresh(Config::default());
    let mut rx = engine.subscribe();
    let agent = register(&mut engine, "platform", "infra", &[]);
    raise(
        &mut engine,
        &agent,
        Category::ScopeChange,
        Classification::Internal,
    );
    heartbeat(&mut engine, &agent);
    let seqs: Vec<u64> = std::iter::from_fn(|| rx.try_recv().ok())
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs, vec![1, 2, 3]);
    let replay = engine.store().events_since(1, 10).unwrap().unwrap();
    assert_eq!(replay.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![2, 3]);
}

#[test]
fn a_full_disk_fails_the_whole_command_and_keeps_the_state_whole() {
    let (_dir, mut engine) = fresh(Config::default());
    let agent = register(&mut engine, "platform", "infra", &[]);
    engine
        .store()
        .as_sqlite()
        .unwrap()
        .limit_growth(Some(1))
        .unwrap();
    let seq = engine.state().seq;
    let audits = audit_count(&engine);
    let batch: Vec<_> = (0..200)
        .map(|i| {
            (
                Actor::agent(&agent),
                Command::RaiseEscalation(RaiseEscalation {
                    agent: agent.clone(),
                    category: Category::ScopeChange,
                    summary: format!("item {i} {}", "x".repeat(200)),
                    context: "y".repeat(2000),
                    options_considered: vec![],
                    recommendation: String::new(),
                    classification: Classification::Internal,
                    related_tasks: vec![],
                    tool_call: None,
                    session: None,
                    callback_url: None,
                    policy_rule: None,
                }),
            )
        })
        .collect();
    let err = engine.execute_batch(batch).unwrap_err();
    assert!(err.to_string().contains("full"), "{err}");
    assert_eq!(engine.state().seq, seq);
    assert!(
        engine.state().approvals.is_empty(),
        "nothing half-applied in memory"
    );
    assert_eq!(audit_count(&engine), audits);
    let reopened = serde_json::to_value(engine.snapshot()).unwrap();
    assert_eq!(reopened["approvals"].as_array().unwrap().len(), 0);
}

#[test]
fn a_group_commits_what_succeeded_inside_it_and_a_refused_command_leaves_no_trace() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.db");
    let (before, audit_before) = {
        let mut engine = open(&path, Config::default());
        let agent = register(&mut engine, "platform", "infra", &[]);
        let audit_at_start = audit_count(&engine);
        let failed = engine.grouped(|engine| {
            raise(
                engine,
                &agent,
                Category::PolicyException,
                Classification::Internal,
            );
            // Refused inside the group: its savepoint is undone, the raise before it stays.
            let refused = decide(
                engine,
                &enterprise("alice"),
                "APR-404",
                ApprovalAction::Approve,
            );
            assert!(refused.is_err(), "deciding a missing approval must fail");
            raise(
                engine,
                &agent,
                Category::PolicyException,
                Classification::Internal,
            );
            Err::<(), EngineError>(EngineError::Refused {
                reason: "stopped part way".into(),
            })
        });
        assert!(
            failed.is_err(),
            "the group's own failure reaches the caller"
        );
        assert_eq!(audit_count(&engine), audit_at_start + 2);
        (
            serde_json::to_value(engine.snapshot()).unwrap(),
            audit_count(&engine),
        )
    };
    // Reopened: the group reached the disk whole, and the chain holds.
    let engine = open(&path, Config::default());
    assert_eq!(serde_json::to_value(engine.snapshot()).unwrap(), before);
    assert_eq!(audit_count(&engine), audit_before);
    let v = engine.store().verify_audit().unwrap();
    assert!(v.first_bad.is_none());
    assert_eq!(v.verified, audit_before);
}
