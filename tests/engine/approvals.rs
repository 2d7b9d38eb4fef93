//! Escalated decisions: who may decide, quorum, versions, escalation and expiry.

use chrono::Duration;
use opsdeck::authority::{Level, Role};
use opsdeck::config::Config;
use opsdeck::engine::{Actor, Command, Decision, Engine, EngineError, Reply};
use opsdeck::model::{ActionType, ApprovalState, Category, Classification};

use super::{advance, audit_count, decide, enterprise, fresh, heartbeat, raise, register};

#[test]
fn an_approval_is_decided_once_with_its_audit_record() {
    let (_dir, mut engine) = fresh(Config::default());
    let agent = register(&mut engine, "platform", "infra", &["k8s"]);
    let id = raise(
        &mut engine,
        &agent,
        Category::ScopeChange,
        Classification::Internal,
    );
    let a = &engine.state().approvals[&id];
    assert_eq!((a.level, a.quorum, a.version), (Level::Domain, 1, 1));
    let before = audit_count(&engine);
    let oncall = Actor::operator("omar", Role::Oncall("platform".into()));
    let Reply::Approval(a) = decide(&mut engine, &oncall, &id, Decision::Approve).unwrap() else {
        panic!()
    };
    assert_eq!((a.state, a.version), (ApprovalState::Approved, 2));
    assert_eq!(audit_count(&engine), before + 1);
    let record = engine.state().audit_tail.last().unwrap();
    assert_eq!(record.agent_id, "operator:omar");
    assert_eq!(record.action_type, ActionType::Decision);
    assert_eq!(record.details.reasoning, "because");
    assert_eq!(record.details.options_considered, vec!["a", "b"]);

    let again = decide(&mut engine, &enterprise("priya"), &id, Decision::Reject).unwrap_err();
    assert!(matches!(again, EngineError::Conflict { .. }), "{again}");
    assert!(
        again
            .to_string()
            .contains("already approved by operator:omar"),
        "{again}"
    );
    assert_eq!(audit_count(&engine), before + 1);
}

#[test]
fn refused_decisions_leave_no_trace() {
    let (_dir, mut engine) = fresh(Config::default());
    let agent = register(&mut engine, "platform", "infra", &["k8s"]);
    let id = raise(
        &mut engine,
        &agent,
        Category::BudgetAllocation,
        Classification::Internal,
    );
    let seq = engine.state().seq;
    let audits = audit_count(&engine);
    let cases: Vec<(Actor, &str)> = vec![
        (Actor::operator("v", Role::Viewer), "read-only"),
        (
            Actor::operator("o", Role::Oncall("platform".into())),
            "enterprise level",
        ),
        (
            Actor::operator("p", Role::Lead("product".into())),
            "enterprise level",
        ),
        (Actor::agent(&agent), "only operators"),
    ];
    for (actor, why) in cases {
        let err = decide(&mut engine, &actor, &id, Decision::Approve).unwrap_err();
        assert!(err.is_refusal(), "{err}");
        assert!(err.to_string().contains(why), "{err} should say {why}");
    }
    let stale = engine
        .execute(
            &enterprise("priya"),
            Command::DecideApproval {
                id: id.clone(),
                decision: Decision::Approve,
                reason: "x".into(),
                expected_version: Some(7),
            },
        )
        .unwrap_err();
    assert!(
        matches!(
            stale,
            EngineError::Conflict {
                current_version: Some(1),
                ..
            }
        ),
        "{stale}"
    );
    let no_reason = engine
        .execute(
            &enterprise("priya"),
            Command::DecideApproval {
                id: id.clone(),
                decision: Decision::Approve,
                reason: "   ".into(),
                expected_version: None,
            },
        )
        .unwrap_err();
    assert!(matches!(no_reason, EngineError::Invalid(_)), "{no_reason}");
    let unknown = decide(
        &mut engine,
        &enterprise("priya"),
        "APR-999",
        Decision::Approve,
    )
    .unwrap_err();
    assert!(unknown.to_string().contains("APR-999"), "{unknown}");
    assert_eq!(engine.state().seq, seq);
    assert_eq!(audit_count(&engine), audits);
    assert_eq!(engine.state().approvals[&id].version, 1);
}

#[test]
fn sensitive_and_executive_items_need_two_distinct_approvers() {
    let (_dir, mut engine) = fresh(Config::default());
    let agent = register(&mut engine, "product", "search", &["python"]);
    for (category, class, who) in [
        (
            Category::ScopeChange,
            Classification::Sensitive,
            Role::Lead("product".into()),
        ),
        (
            Category::ComplianceIssue,
            Classification::Internal,
            Role::Executive,
        ),
    ] {
        let id = raise(&mut engine, &agent, category, class);
        assert_eq!(engine.state().approvals[&id].quorum, 2);
        let first = Actor::operator("kim", who.clone());
        decide(&mut engine, &first, &id, Decision::Approve).unwrap();
        let a = &engine.state().approvals[&id];
        assert_eq!((a.state, a.approvals.len()), (ApprovalState::Pending, 1));
        let twice = decide(&mut engine, &first, &id, Decision::Approve).unwrap_err();
        assert!(twice.to_string().contains("different operator"), "{twice}");
        decide(
            &mut engine,
            &Actor::operator("ray", who),
            &id,
            Decision::Approve,
        )
        .unwrap();
        assert_eq!(engine.state().approvals[&id].state, ApprovalState::Approved);
    }
}

#[test]
fn pending_approvals_escalate_themselves_then_expire() {
    let (_dir, mut engine) = fresh(Config::default());
    let agent = register(&mut engine, "operations", "billing", &["sql"]);
    let id = raise(
        &mut engine,
        &agent,
        Category::ResourceRequest,
        Classification::Internal,
    );
    advance(&engine, Duration::minutes(31));
    // Agents keep reporting so the tick is about the approval.
    heartbeat(&mut engine, &agent);
    engine.tick().unwrap();
    let a = &engine.state().approvals[&id];
    assert_eq!((a.level, a.version), (Level::Enterprise, 2));
    let record = engine
        .state()
        .audit_tail
        .iter()
        .rev()
        .find(|r| r.summary.contains(&id))
        .unwrap();
    assert_eq!(record.action_type, ActionType::Escalation);
    assert!(
        record
            .summary
            .contains("escalated itself from domain to enterprise"),
        "{}",
        record.summary
    );
    // The domain on-call may no longer decide it.
    let oncall = Actor::operator("lee", Role::Oncall("operations".into()));
    assert!(decide(&mut engine, &oncall, &id, Decision::Approve).is_err());
    advance(&engine, Duration::hours(2));
    engine.tick().unwrap();
    let a = &engine.state().approvals[&id];
    assert_eq!((a.level, a.quorum), (Level::Executive, 2));
    advance(&engine, Duration::hours(22));
    engine.tick().unwrap();
    assert_eq!(engine.state().approvals[&id].state, ApprovalState::Expired);
    let late = decide(
        &mut engine,
        &Actor::operator("kim", Role::Executive),
        &id,
        Decision::Approve,
    )
    .unwrap_err();
    assert!(late.to_string().contains("already expired"), "{late}");
}

#[test]
fn operators_escalate_one_level_with_a_reason() {
    let (_dir, mut engine) = fresh(Config::default());
    let agent = register(&mut engine, "platform", "data", &["sql"]);
    let id = raise(
        &mut engine,
        &agent,
        Category::TaskPrioritisation,
        Classification::Public,
    );
    let lead = Actor::operator("lin", Role::Lead("platform".into()));
    let escalate = |engine: &mut Engine, actor: &Actor| {
        engine.execute(
            actor,
            Command::EscalateApproval {
                id: id.clone(),
                reason: "needs budget".into(),
                expected_version: None,
            },
        )
    };
    escalate(&mut engine, &lead).unwrap();
    assert_eq!(engine.state().approvals[&id].level, Level::Enterprise);
    assert!(
        escalate(&mut engine, &lead).is_err(),
        "a domain lead cannot act at enterprise level"
    );
    escalate(&mut engine, &enterprise("sam")).unwrap();
    let top = escalate(&mut engine, &Actor::operator("kim", Role::Executive)).unwrap_err();
    assert!(
        top.to_string().contains("cannot be escalated further"),
        "{top}"
    );
}
