//! Escalated decisions: who may decide, quorum, versions, escalation and expiry.

use chrono::Duration;
use opsdeck::authority::{Level, Role};
use opsdeck::config::Config;
use opsdeck::engine::{Clock, Engine, EngineError};
use opsdeck::model::{ActionType, ApprovalState, Category, Classification};
use opsdeck::protocol::{ActOnApproval, Actor, ApprovalAction, Command, Reply};

use super::{advance, audit_count, decide, enterprise, fresh, heartbeat, raise, register, t0};

const VERBS: [ApprovalAction; 3] = [
    ApprovalAction::Approve,
    ApprovalAction::Reject,
    ApprovalAction::Escalate,
];

fn act(
    engine: &mut Engine,
    actor: &Actor,
    id: &str,
    decision: ApprovalAction,
    reason: &str,
) -> Result<Reply, EngineError> {
    let command = Command::ActOnApproval(ActOnApproval {
        id: id.to_string(),
        decision,
        reason: reason.to_string(),
        option: None,
        version: None,
    });
    engine.execute(actor, command).map(|o| o.reply)
}

/// Who wrote each decision record about approval `id`, oldest first (word-bounded: APR-2 is
/// not APR-20).
fn decisions_about(engine: &Engine, id: &str) -> Vec<String> {
    let mark = format!(" {id} (");
    let mut by = Vec::new();
    engine
        .store()
        .each_audit(&mut |r| {
            if r.action_type == ActionType::Decision && r.summary.contains(&mark) {
                by.push(r.agent_id);
            }
            true
        })
        .unwrap();
    by
}

fn assert_says(err: &EngineError, needles: &[&str]) {
    for needle in needles {
        assert!(
            err.to_string().contains(needle),
            "{err} should say {needle}"
        );
    }
}

/// An item at the enterprise level that one operator may decide.
fn enterprise_item(engine: &mut Engine) -> String {
    let agent = register(engine, "platform", "infra", &[]);
    let id = raise(
        engine,
        &agent,
        Category::BudgetAllocation,
        Classification::Internal,
    );
    let a = &engine.state().approvals[&id];
    assert_eq!((a.level, a.quorum), (Level::Enterprise, 1));
    id
}

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
    let Reply::Approval(a) = decide(&mut engine, &oncall, &id, ApprovalAction::Approve).unwrap()
    else {
        panic!()
    };
    assert_eq!((a.state, a.version), (ApprovalState::Approved, 2));
    assert_eq!(audit_count(&engine), before + 1);
    let record = engine.state().audit_tail.last().unwrap();
    assert_eq!(record.agent_id, "operator:omar");
    assert_eq!(record.action_type, ActionType::Decision);
    assert_eq!(record.details.reasoning, "because");
    assert_eq!(record.details.options_considered, vec!["a", "b"]);

    let again = decide(
        &mut engine,
        &enterprise("priya"),
        &id,
        ApprovalAction::Reject,
    )
    .unwrap_err();
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
        let err = decide(&mut engine, &actor, &id, ApprovalAction::Approve).unwrap_err();
        assert!(err.is_refusal(), "{err}");
        assert!(err.to_string().contains(why), "{err} should say {why}");
    }
    let stale = engine
        .execute(
            &enterprise("priya"),
            Command::ActOnApproval(ActOnApproval {
                id: id.clone(),
                decision: ApprovalAction::Approve,
                reason: "x".into(),
                option: None,
                version: Some(7),
            }),
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
            Command::ActOnApproval(ActOnApproval {
                id: id.clone(),
                decision: ApprovalAction::Approve,
                reason: "   ".into(),
                option: None,
                version: None,
            }),
        )
        .unwrap_err();
    assert!(matches!(no_reason, EngineError::Invalid(_)), "{no_reason}");
    let unknown = decide(
        &mut engine,
        &enterprise("priya"),
        "APR-999",
        ApprovalAction::Approve,
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
        let v = engine.state().approvals[&id].version;
        assert_eq!(engine.state().approvals[&id].quorum, 2);
        let first = Actor::operator("kim", who.clone());
        decide(&mut engine, &first, &id, ApprovalAction::Approve).unwrap();
        let a = &engine.state().approvals[&id];
        assert_eq!((a.state, a.votes.len()), (ApprovalState::Pending, 1));
        assert_eq!(a.version, v + 1);
        let twice = decide(&mut engine, &first, &id, ApprovalAction::Approve).unwrap_err();
        assert!(twice.is_refusal(), "{twice}");
        for needle in ["kim", "already approved", "different operator"] {
            assert!(twice.to_string().contains(needle), "{twice}: {needle}");
        }
        decide(
            &mut engine,
            &Actor::operator("ray", who),
            &id,
            ApprovalAction::Approve,
        )
        .unwrap();
        let a = &engine.state().approvals[&id];
        assert_eq!(a.state, ApprovalState::Approved);
        assert_eq!(a.version, v + 2);
        let by: Vec<&str> = a.votes.iter().map(|vote| vote.by.as_str()).collect();
        assert_eq!(by, ["operator:kim", "operator:ray"]);
        assert_eq!(
            decisions_about(&engine, &id),
            ["operator:kim", "operator:ray"]
        );
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
    assert!(decide(&mut engine, &oncall, &id, ApprovalAction::Approve).is_err());
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
        ApprovalAction::Approve,
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
            Command::ActOnApproval(ActOnApproval {
                decision: ApprovalAction::Escalate,
                id: id.clone(),
                reason: "needs budget".into(),
                option: None,
                version: None,
            }),
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

#[test]
fn a_decided_item_refuses_approve_reject_and_escalate_from_anyone() {
    let (_dir, mut engine) = fresh(Config::default());
    let id = enterprise_item(&mut engine);
    act(
        &mut engine,
        &enterprise("alice"),
        &id,
        ApprovalAction::Approve,
        "ok",
    )
    .unwrap();
    let (seq, audits) = (engine.state().seq, audit_count(&engine));
    for verb in VERBS {
        let err = act(&mut engine, &enterprise("bob"), &id, verb, "me too").unwrap_err();
        assert!(
            matches!(err, EngineError::Conflict { .. }),
            "{verb:?}: {err}"
        );
        assert_says(&err, &[&id, "already approved", "operator:alice"]);
    }
    assert_eq!((engine.state().seq, audit_count(&engine)), (seq, audits));
    assert_eq!(decisions_about(&engine, &id), ["operator:alice"]);
}

#[test]
fn a_viewer_may_not_approve_reject_or_escalate() {
    let (_dir, mut engine) = fresh(Config::default());
    let agent = register(&mut engine, "platform", "infra", &[]);
    let id = raise(
        &mut engine,
        &agent,
        Category::ScopeChange,
        Classification::Internal,
    );
    let audits = audit_count(&engine);
    let viewer = Actor::operator("vic", Role::Viewer);
    for verb in VERBS {
        let err = act(&mut engine, &viewer, &id, verb, "x").unwrap_err();
        assert!(err.is_refusal(), "{verb:?}: {err}");
        assert_says(&err, &["viewer", "read-only"]);
    }
    let a = &engine.state().approvals[&id];
    assert_eq!((a.state, a.version), (ApprovalState::Pending, 1));
    assert_eq!(audit_count(&engine), audits);
}

#[test]
fn domain_roles_decide_in_their_own_domain_and_at_the_domain_level_only() {
    let (_dir, mut engine) = fresh(Config::default());
    let agent = register(&mut engine, "platform", "infra", &[]);
    let domain_item = raise(
        &mut engine,
        &agent,
        Category::ScopeChange,
        Classification::Internal,
    );
    assert_eq!(engine.state().approvals[&domain_item].level, Level::Domain);
    let stranger = Actor::operator("olga", Role::Oncall("product".into()));
    let err = act(
        &mut engine,
        &stranger,
        &domain_item,
        ApprovalAction::Approve,
        "x",
    )
    .unwrap_err();
    assert!(err.is_refusal(), "{err}");
    assert_says(&err, &["oncall:product", "belongs to platform"]);
    assert_eq!(
        engine.state().approvals[&domain_item].state,
        ApprovalState::Pending
    );
    let own = Actor::operator("olga", Role::Oncall("platform".into()));
    let Reply::Approval(a) = act(
        &mut engine,
        &own,
        &domain_item,
        ApprovalAction::Approve,
        "mine",
    )
    .unwrap() else {
        panic!("an approval")
    };
    assert_eq!(a.state, ApprovalState::Approved);

    let enterprise_item = enterprise_item(&mut engine);
    let lead = Actor::operator("lee", Role::Lead("platform".into()));
    let err = act(
        &mut engine,
        &lead,
        &enterprise_item,
        ApprovalAction::Approve,
        "x",
    )
    .unwrap_err();
    assert!(err.is_refusal(), "{err}");
    assert_says(&err, &["enterprise level", "domain level"]);
}

#[test]
fn escalating_to_the_executive_level_needs_four_eyes_and_goes_no_further() {
    let (_dir, mut engine) = fresh(Config::default());
    let id = enterprise_item(&mut engine);
    let Reply::Approval(a) = act(
        &mut engine,
        &enterprise("alice"),
        &id,
        ApprovalAction::Escalate,
        "strategic",
    )
    .unwrap() else {
        panic!("an approval")
    };
    assert_eq!(
        (a.state, a.level, a.quorum),
        (ApprovalState::Pending, Level::Executive, 2),
        "executive items need four eyes"
    );
    let erin = Actor::operator("erin", Role::Executive);
    let err = act(&mut engine, &erin, &id, ApprovalAction::Escalate, "higher").unwrap_err();
    assert!(err.is_refusal(), "{err}");
    assert_says(&err, &["executive", "cannot be escalated further"]);
    assert_eq!(engine.state().approvals[&id].level, Level::Executive);
}

#[test]
fn every_verb_needs_a_reason_of_at_most_4000_characters() {
    let (_dir, mut engine) = fresh(Config::default());
    let id = enterprise_item(&mut engine);
    let (seq, audits) = (engine.state().seq, audit_count(&engine));
    let alice = enterprise("alice");
    let long = "x".repeat(4001);
    for verb in VERBS {
        let blank = act(&mut engine, &alice, &id, verb, "  ").unwrap_err();
        assert!(
            matches!(blank, EngineError::Invalid(_)),
            "{verb:?}: {blank}"
        );
        assert_says(&blank, &["reason is required", &id]);
        let too_long = act(&mut engine, &alice, &id, verb, &long).unwrap_err();
        assert!(
            matches!(too_long, EngineError::Invalid(_)),
            "{verb:?}: {too_long}"
        );
        assert_says(&too_long, &["longer than 4000 characters"]);
    }
    assert_eq!((engine.state().seq, audit_count(&engine)), (seq, audits));
    let a = &engine.state().approvals[&id];
    assert_eq!((a.state, a.version), (ApprovalState::Pending, 1));
    let just_fits = "x".repeat(4000);
    act(
        &mut engine,
        &alice,
        &id,
        ApprovalAction::Approve,
        &just_fits,
    )
    .unwrap();
    assert_eq!(engine.state().approvals[&id].state, ApprovalState::Approved);
}

#[test]
fn a_stale_version_is_refused_with_the_current_one_which_is_then_accepted() {
    let (_dir, mut engine) = fresh(Config::default());
    let agent = register(&mut engine, "platform", "infra", &[]);
    let id = raise(
        &mut engine,
        &agent,
        Category::ScopeChange,
        Classification::Internal,
    );
    let seen = engine.state().approvals[&id].version;
    // Someone else moves it on after we looked.
    act(
        &mut engine,
        &enterprise("bob"),
        &id,
        ApprovalAction::Escalate,
        "wider view",
    )
    .unwrap();
    let approve = |version: u64| {
        Command::ActOnApproval(ActOnApproval {
            id: id.clone(),
            decision: ApprovalAction::Approve,
            reason: "ok".into(),
            option: None,
            version: Some(version),
        })
    };
    let stale = engine
        .execute(&enterprise("alice"), approve(seen))
        .unwrap_err();
    assert!(
        matches!(stale, EngineError::Conflict { current_version: Some(v), .. } if v == seen + 1),
        "{stale}"
    );
    assert_says(
        &stale,
        &[
            &id,
            "changed since you saw it",
            &format!("version {seen}"),
            &format!("now {}", seen + 1),
        ],
    );
    let Reply::Approval(a) = engine
        .execute(&enterprise("alice"), approve(seen + 1))
        .unwrap()
        .reply
    else {
        panic!("an approval")
    };
    assert_eq!(a.state, ApprovalState::Approved);
}

/// A person with a dialog open on an item: the demo's simulated colleagues keep off it for the
/// time of the hold, and say who they are (`sim:…`) when they do decide.
#[test]
fn the_demos_colleagues_hold_off_an_item_a_person_has_open() {
    let run = |hold: bool| {
        let mut engine = Engine::open(
            opsdeck::store::Store::open_in_memory().unwrap(),
            Config::default(),
            Clock::manual(t0()),
            Some(7),
        )
        .unwrap();
        let mut sim = opsdeck::sim::Sim::new(7);
        sim.run(&mut engine, t0(), Duration::hours(1)).unwrap();
        let pending: Vec<String> = engine
            .state()
            .approvals
            .values()
            .filter(|a| a.is_pending())
            .map(|a| a.id.clone())
            .collect();
        let at = t0() + Duration::hours(1);
        if hold {
            for id in &pending {
                sim.hold(id, at + Duration::minutes(40));
            }
        }
        sim.run(&mut engine, at, Duration::minutes(30)).unwrap();
        let by_sim: Vec<String> = pending
            .iter()
            .filter(|id| {
                let a = &engine.state().approvals[*id];
                a.votes.iter().any(|v| v.by.starts_with("sim:"))
                    || a.rejection
                        .as_ref()
                        .is_some_and(|v| v.by.starts_with("sim:"))
            })
            .cloned()
            .collect();
        (pending, by_sim)
    };
    let (pending, decided) = run(false);
    assert!(!pending.is_empty());
    assert!(
        !decided.is_empty(),
        "left alone, the colleagues decide some of {pending:?} within 30 minutes"
    );
    let (_, decided) = run(true);
    assert!(decided.is_empty(), "held, none: {decided:?}");
}
