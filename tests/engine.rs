//! The control plane through its public API, on real SQLite files.

use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use opsdeck::authority::{Level, Role};
use opsdeck::config::Config;
use opsdeck::engine::{
    Actor, Clock, Command, Decision, Engine, EngineError, IncidentAction, Reply, RolloutAction,
    TaskOutcome,
};
use opsdeck::model::{
    ActionType, AgentStatus, ApprovalState, Category, Circuit, Classification, IncidentSource,
    IncidentState, RolloutKind, RolloutState, Severity, TaskState,
};
use opsdeck::store::Store;

fn t0() -> DateTime<Utc> {
    "2026-11-02T00:00:00Z".parse().unwrap()
}

fn open(path: &Path, config: Config) -> Engine {
    open_seeded(path, config, 1)
}

/// Engines sharing a store must not share a seed: it drives their audit record ids.
fn open_seeded(path: &Path, config: Config, seed: u64) -> Engine {
    let store = Store::open(path).unwrap();
    Engine::open(store, config, Clock::manual(t0()), Some(seed)).unwrap()
}

fn fresh(config: Config) -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(&dir.path().join("o.db"), config);
    (dir, engine)
}

fn orchestrator(domain: &str) -> Actor {
    Actor::Orchestrator {
        domain: Some(domain.into()),
    }
}

fn enterprise(name: &str) -> Actor {
    Actor::operator(name, Role::Enterprise)
}

fn advance(engine: &Engine, by: Duration) {
    let now = engine.clock().now();
    engine.clock().set(now + by);
}

fn created(result: Result<opsdeck::engine::Outcome, EngineError>) -> String {
    match result.expect("command succeeds").reply {
        Reply::Created { id } => id,
        other => panic!("expected an id, got {other:?}"),
    }
}

fn register(engine: &mut Engine, domain: &str, team: &str, skills: &[&str]) -> String {
    created(engine.execute(
        &orchestrator(domain),
        Command::RegisterAgent {
            name: format!("{team}-{}", skills.join("-")),
            domain: domain.into(),
            team: team.into(),
            skills: skills.iter().map(|s| s.to_string()).collect(),
            version: "1.0".into(),
        },
    ))
}

fn raise(engine: &mut Engine, agent: &str, category: Category, class: Classification) -> String {
    created(engine.execute(
        &Actor::agent(agent),
        Command::RaiseEscalation {
            agent: agent.into(),
            category,
            summary: format!("{} please", category.as_str()),
            context: "context".into(),
            options_considered: vec!["a".into(), "b".into()],
            recommendation: "a".into(),
            classification: class,
            related_tasks: vec![],
        },
    ))
}

fn decide(
    engine: &mut Engine,
    actor: &Actor,
    id: &str,
    decision: Decision,
) -> Result<Reply, EngineError> {
    engine
        .execute(
            actor,
            Command::DecideApproval {
                id: id.into(),
                decision,
                reason: "because".into(),
                expected_version: None,
            },
        )
        .map(|o| o.reply)
}

fn audit_count(engine: &Engine) -> u64 {
    engine.store().head().unwrap().audit_seq
}

fn submit(
    engine: &mut Engine,
    domain: &str,
    team: &str,
    skills: &[&str],
    deps: Vec<String>,
) -> String {
    created(engine.execute(
        &orchestrator(domain),
        Command::SubmitTask {
            title: "work".into(),
            domain: domain.into(),
            team: team.into(),
            priority: 2,
            skills: skills.iter().map(|s| s.to_string()).collect(),
            depends_on: deps,
        },
    ))
}

fn heartbeat(engine: &mut Engine, agent: &str) {
    engine
        .execute(
            &Actor::agent(agent),
            Command::Heartbeat {
                agent: agent.into(),
            },
        )
        .unwrap();
}

fn lease(engine: &mut Engine, agent: &str) -> Option<String> {
    match engine
        .execute(
            &Actor::agent(agent),
            Command::LeaseTask {
                agent: agent.into(),
            },
        )
        .unwrap()
        .reply
    {
        Reply::Lease(task) => task.map(|t| t.id),
        other => panic!("{other:?}"),
    }
}

fn complete(engine: &mut Engine, agent: &str, task: &str, ok: bool) {
    let outcome = if ok {
        TaskOutcome::Succeeded
    } else {
        TaskOutcome::Failed {
            error: "boom".into(),
        }
    };
    engine
        .execute(
            &Actor::agent(agent),
            Command::CompleteTask {
                agent: agent.into(),
                task: task.into(),
                outcome,
            },
        )
        .unwrap();
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

#[test]
fn tasks_go_to_the_best_fit_agent_and_retry_with_backoff() {
    let (_dir, mut engine) = fresh(Config::default());
    let generalist = register(&mut engine, "platform", "infra", &["k8s"]);
    let specialist = register(&mut engine, "platform", "infra", &["k8s", "terraform"]);
    let task = submit(&mut engine, "platform", "infra", &["terraform"], vec![]);
    engine.tick().unwrap();
    let t = &engine.state().tasks[&task];
    assert_eq!(t.state, TaskState::Leased);
    assert_eq!(
        t.agent.as_deref(),
        Some(specialist.as_str()),
        "only the specialist has the skill"
    );
    assert_eq!(lease(&mut engine, &generalist), None);
    assert_eq!(
        lease(&mut engine, &specialist).as_deref(),
        Some(task.as_str())
    );
    assert_eq!(engine.state().tasks[&task].state, TaskState::Running);
    assert_eq!(engine.state().agents[&specialist].status, AgentStatus::Busy);

    let base = engine.config().engine.retry_base;
    let now = engine.now();
    complete(&mut engine, &specialist, &task, false);
    let t = &engine.state().tasks[&task];
    assert_eq!((t.state, t.attempts), (TaskState::Queued, 1));
    let wait = t.not_before.unwrap() - now;
    assert!(wait >= base / 2 && wait <= base, "{wait}");
    engine.tick().unwrap();
    assert_eq!(
        engine.state().tasks[&task].state,
        TaskState::Queued,
        "still backing off"
    );
    for attempt in 2..=4 {
        advance(&engine, Duration::minutes(10));
        heartbeat(&mut engine, &specialist);
        heartbeat(&mut engine, &generalist);
        engine.tick().unwrap();
        assert_eq!(
            lease(&mut engine, &specialist).as_deref(),
            Some(task.as_str()),
            "attempt {attempt}"
        );
        complete(&mut engine, &specialist, &task, false);
    }
    let t = &engine.state().tasks[&task];
    assert_eq!((t.state, t.attempts), (TaskState::Failed, 4));
}

#[test]
fn dependencies_block_then_release_or_cancel() {
    let (_dir, mut engine) = fresh(Config::default());
    let agent = register(&mut engine, "product", "growth", &["sql"]);
    let first = submit(&mut engine, "product", "growth", &[], vec![]);
    let second = submit(&mut engine, "product", "growth", &[], vec![first.clone()]);
    assert_eq!(engine.state().tasks[&second].state, TaskState::Blocked);
    assert_eq!(lease(&mut engine, &agent).as_deref(), Some(first.as_str()));
    complete(&mut engine, &agent, &first, true);
    engine.tick().unwrap();
    assert_ne!(engine.state().tasks[&second].state, TaskState::Blocked);

    let mut config = Config::default();
    config.engine.max_attempts = 1;
    let (_dir2, mut engine) = fresh(config);
    let agent = register(&mut engine, "product", "growth", &[]);
    let first = submit(&mut engine, "product", "growth", &[], vec![]);
    let second = submit(&mut engine, "product", "growth", &[], vec![first.clone()]);
    lease(&mut engine, &agent);
    complete(&mut engine, &agent, &first, false);
    engine.tick().unwrap();
    let t = &engine.state().tasks[&second];
    assert_eq!(t.state, TaskState::Cancelled);
    assert!(t.last_error.as_deref().unwrap().contains(&first));
    let unknown = engine.execute(
        &orchestrator("product"),
        Command::SubmitTask {
            title: "x".into(),
            domain: "product".into(),
            team: "growth".into(),
            priority: 2,
            skills: vec![],
            depends_on: vec!["T-999".into()],
        },
    );
    assert!(matches!(unknown, Err(EngineError::NotFound { .. })));
}

#[test]
fn a_silent_agent_goes_down_and_its_lease_returns_the_task() {
    let (_dir, mut engine) = fresh(Config::default());
    let agent = register(&mut engine, "platform", "infra", &[]);
    let task = submit(&mut engine, "platform", "infra", &[], vec![]);
    assert_eq!(lease(&mut engine, &agent).as_deref(), Some(task.as_str()));
    advance(&engine, Duration::seconds(31));
    engine.tick().unwrap();
    assert_eq!(engine.state().agents[&agent].status, AgentStatus::Down);
    advance(&engine, Duration::minutes(2));
    engine.tick().unwrap();
    let t = &engine.state().tasks[&task];
    assert_eq!(t.state, TaskState::Queued);
    assert!(t.last_error.as_deref().unwrap().contains("lease expired"));
    assert_eq!(engine.state().agents[&agent].current_task, None);
    heartbeat(&mut engine, &agent);
    assert_eq!(engine.state().agents[&agent].status, AgentStatus::Idle);
}

#[test]
fn an_agent_that_keeps_failing_is_taken_out_of_rotation_with_an_incident() {
    let (_dir, mut engine) = fresh(Config::default());
    let agent = register(&mut engine, "operations", "support", &[]);
    for _ in 0..3 {
        let task = submit(&mut engine, "operations", "support", &[], vec![]);
        let leased = lease(&mut engine, &agent).expect("work");
        assert_eq!(leased, task);
        complete(&mut engine, &agent, &task, false);
    }
    let a = &engine.state().agents[&agent];
    assert!(matches!(a.circuit, Circuit::Open { .. }), "{:?}", a.circuit);
    let incident = engine
        .state()
        .incidents
        .values()
        .find(|i| i.dedup_key.as_deref() == Some(&format!("breaker:{agent}")))
        .expect("an incident for the broken agent");
    assert_eq!(incident.severity, Severity::Sev3);
    assert_eq!(lease(&mut engine, &agent), None, "out of rotation");
    advance(&engine, Duration::minutes(11));
    heartbeat(&mut engine, &agent);
    engine.tick().unwrap();
    assert_eq!(engine.state().agents[&agent].circuit, Circuit::HalfOpen);
}

fn by_rule(engine: &Engine, rule: &str) -> Option<opsdeck::model::Incident> {
    engine
        .state()
        .incidents
        .values()
        .find(|i| matches!(&i.source, IncidentSource::AlertRule { rule: r } if r == rule))
        .cloned()
}

#[test]
fn alert_rules_fire_from_live_metrics_with_configured_thresholds() {
    let mut config = Config::default();
    config.alerts.queue_depth = 3;
    config.alerts.error_rate_min_samples = 4;
    config.alerts.latency_sla = Duration::seconds(60);
    // Keep the breaker from taking the worker out before the rule has its samples.
    config.engine.breaker_failures = 100;
    let (_dir, mut engine) = fresh(config);
    let worker = register(&mut engine, "platform", "infra", &[]);
    // Queue depth: five tasks wait with nobody free in product.
    for _ in 0..5 {
        submit(&mut engine, "product", "checkout", &[], vec![]);
    }
    // Error rate: four of five platform tasks fail.
    for i in 0..5 {
        let task = submit(&mut engine, "platform", "infra", &[], vec![]);
        assert_eq!(lease(&mut engine, &worker), Some(task.clone()));
        complete(&mut engine, &worker, &task, i == 0);
    }
    engine.tick().unwrap();
    let page = by_rule(&engine, "error_rate").expect("error rate pages");
    assert_eq!(
        page.severity,
        Severity::Sev1,
        "80% is over twice the 25% threshold"
    );
    let warn = by_rule(&engine, "queue_depth").expect("queue depth warns");
    assert_eq!(warn.severity, Severity::Sev4);
    assert!(engine.state().alerts["queue_depth:product/checkout"].firing);
    // The same reading does not open a second incident.
    advance(&engine, Duration::seconds(31));
    heartbeat(&mut engine, &worker);
    engine.tick().unwrap();
    let warnings = engine
        .state()
        .incidents
        .values()
        .filter(|i| i.dedup_key.as_deref() == Some("queue_depth:product/checkout"))
        .count();
    assert_eq!(warnings, 1);

    // Latency: a checkout agent arrives and leases work that waited past the SLA.
    let late = register(&mut engine, "product", "checkout", &[]);
    advance(&engine, Duration::minutes(3));
    heartbeat(&mut engine, &late);
    heartbeat(&mut engine, &worker);
    engine.tick().unwrap();
    advance(&engine, Duration::seconds(31));
    heartbeat(&mut engine, &late);
    heartbeat(&mut engine, &worker);
    engine.tick().unwrap();
    let slow = by_rule(&engine, "latency").expect("latency over the SLA escalates");
    assert_eq!(slow.severity, Severity::Sev3);
}

#[test]
fn utilization_over_the_limit_plans_scaling() {
    let mut config = Config::default();
    config.alerts.utilization = 0.5;
    config.engine.metrics_window = Duration::minutes(1);
    let (_dir, mut engine) = fresh(config);
    let agent = register(&mut engine, "operations", "billing", &[]);
    let task = submit(&mut engine, "operations", "billing", &[], vec![]);
    assert_eq!(lease(&mut engine, &agent), Some(task));
    for _ in 0..4 {
        advance(&engine, Duration::seconds(30));
        heartbeat(&mut engine, &agent);
        engine.tick().unwrap();
    }
    let request = engine
        .state()
        .approvals
        .values()
        .find(|a| a.category == Category::ResourceRequest)
        .expect("a capacity request");
    assert_eq!(request.requested_by, "orchestrator:operations");
    assert!(engine.state().alerts["utilization:operations"].firing);
}

fn rollout_fixture() -> (tempfile::TempDir, Engine, Vec<String>, String) {
    let mut config = Config::default();
    config.engine.breaker_failures = 100;
    let (dir, mut engine) = fresh(config);
    let agents: Vec<String> = (0..4)
        .map(|_| register(&mut engine, "platform", "infra", &[]))
        .collect();
    let Reply::Rollout(r) = engine
        .execute(
            &orchestrator("platform"),
            Command::StartRollout {
                name: "runtime 2".into(),
                kind: RolloutKind::AgentVersion,
                target_version: "2.0".into(),
                domain: "platform".into(),
                auto_promote: false,
            },
        )
        .unwrap()
        .reply
    else {
        panic!()
    };
    (dir, engine, agents, r.id)
}

fn rollout(
    engine: &mut Engine,
    id: &str,
    action: RolloutAction,
    reason: Option<&str>,
) -> Result<Reply, EngineError> {
    engine
        .execute(
            &Actor::operator("lin", Role::Lead("platform".into())),
            Command::RolloutAction {
                id: id.into(),
                action,
                reason: reason.map(String::from),
                expected_version: None,
            },
        )
        .map(|o| o.reply)
}

#[test]
fn rollouts_respect_minimum_phase_durations_and_complete() {
    let (_dir, mut engine, agents, id) = rollout_fixture();
    let canaries = agents
        .iter()
        .filter(|a| engine.state().agents[*a].rollout.is_some())
        .count();
    assert_eq!(canaries, 1, "1% of four agents is one canary");
    let early = rollout(&mut engine, &id, RolloutAction::Promote, None).unwrap_err();
    assert!(early.to_string().contains("minimum"), "{early}");
    for (wait, phase) in [(20, "early_majority"), (30, "majority"), (30, "complete")] {
        advance(&engine, Duration::minutes(wait));
        let Reply::Rollout(r) = rollout(&mut engine, &id, RolloutAction::Promote, None).unwrap()
        else {
            panic!()
        };
        assert_eq!(r.current_phase, phase);
    }
    let r = &engine.state().rollouts[&id];
    assert_eq!(r.state, RolloutState::Completed);
    assert!(
        agents
            .iter()
            .all(|a| engine.state().agents[a].version == "2.0")
    );
    assert!(rollout(&mut engine, &id, RolloutAction::Abort, Some("late")).is_err());
}

#[test]
fn a_bad_canary_pauses_itself_and_abort_rolls_back() {
    let (_dir, mut engine, agents, id) = rollout_fixture();
    let canary = agents
        .iter()
        .find(|a| engine.state().agents[*a].rollout.is_some())
        .unwrap()
        .clone();
    let other = agents.iter().find(|a| **a != canary).unwrap().clone();
    // The canary fails every task it runs; the baseline succeeds.
    for i in 0..24 {
        let task = submit(&mut engine, "platform", "infra", &[], vec![]);
        let (agent, ok) = if i % 2 == 0 {
            (&canary, false)
        } else {
            (&other, true)
        };
        assert_eq!(lease(&mut engine, agent), Some(task.clone()));
        complete(&mut engine, agent, &task, ok);
    }
    for a in &agents {
        heartbeat(&mut engine, a);
    }
    engine.tick().unwrap();
    let r = engine.state().rollouts[&id].clone();
    assert_eq!(r.state, RolloutState::Paused, "{:?}", r.health);
    assert!(
        r.paused_reason.as_deref().unwrap().contains("exceeds"),
        "{:?}",
        r.paused_reason
    );
    let no_reason = rollout(&mut engine, &id, RolloutAction::Abort, None).unwrap_err();
    assert!(matches!(no_reason, EngineError::Invalid(_)));
    rollout(
        &mut engine,
        &id,
        RolloutAction::Abort,
        Some("canary fails half its tasks"),
    )
    .unwrap();
    assert_eq!(
        engine.state().rollouts[&id].state,
        RolloutState::RollingBack
    );
    engine.tick().unwrap();
    assert_eq!(engine.state().rollouts[&id].state, RolloutState::Aborted);
    assert!(
        agents
            .iter()
            .all(|a| engine.state().agents[a].rollout.is_none())
    );
    assert!(
        agents
            .iter()
            .all(|a| engine.state().agents[a].version == "1.0")
    );
}

#[test]
fn incidents_move_through_their_states_on_the_timeline() {
    let (_dir, mut engine) = fresh(Config::default());
    let oncall = Actor::operator("omar", Role::Oncall("platform".into()));
    let Reply::Incident(i) = engine
        .execute(
            &oncall,
            Command::DeclareIncident {
                severity: Severity::Sev3,
                title: "disk filling".into(),
                domain: "platform".into(),
            },
        )
        .unwrap()
        .reply
    else {
        panic!()
    };
    assert_eq!(i.target_at - i.opened_at, Duration::hours(24));
    let act = |engine: &mut Engine, action, note: Option<&str>| {
        engine.execute(
            &oncall,
            Command::IncidentAction {
                id: i.id.clone(),
                action,
                note: note.map(String::from),
                expected_version: None,
            },
        )
    };
    act(&mut engine, IncidentAction::Ack, None).unwrap();
    assert!(
        act(&mut engine, IncidentAction::Ack, None)
            .unwrap_err()
            .is_refusal()
    );
    act(&mut engine, IncidentAction::Escalate, Some("spreading")).unwrap();
    let now = &engine.state().incidents[&i.id];
    assert_eq!(now.severity, Severity::Sev2);
    assert_eq!(now.target_at - now.opened_at, Duration::hours(4));
    assert!(matches!(
        act(&mut engine, IncidentAction::Note, None),
        Err(EngineError::Invalid(_))
    ));
    act(&mut engine, IncidentAction::Note, Some("found the culprit")).unwrap();
    act(&mut engine, IncidentAction::Mitigate, None).unwrap();
    act(&mut engine, IncidentAction::Resolve, Some("cleaned up")).unwrap();
    let done = &engine.state().incidents[&i.id];
    assert_eq!(done.state, IncidentState::Resolved);
    let kinds: Vec<&str> = done.timeline.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "opened",
            "acknowledged",
            "escalated",
            "note",
            "mitigated",
            "resolved"
        ]
    );
    assert!(
        act(&mut engine, IncidentAction::Resolve, None)
            .unwrap_err()
            .is_refusal()
    );
    let other = Actor::operator("dana", Role::Lead("product".into()));
    let err = engine
        .execute(
            &other,
            Command::IncidentAction {
                id: i.id.clone(),
                action: IncidentAction::Note,
                note: Some("x".into()),
                expected_version: None,
            },
        )
        .unwrap_err();
    assert!(err.to_string().contains("domain product only"), "{err}");
}

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
                    Decision::Approve
                } else {
                    Decision::Reject
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
    decide(&mut b, &enterprise("bea"), &id, Decision::Approve).unwrap();
    let late = decide(&mut a, &enterprise("cyd"), &id, Decision::Approve).unwrap_err();
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
                Command::RaiseEscalation {
                    agent: agent.clone(),
                    category: Category::ScopeChange,
                    summary: format!("item {i} {}", "x".repeat(200)),
                    context: "y".repeat(2000),
                    options_considered: vec![],
                    recommendation: String::new(),
                    classification: Classification::Internal,
                    related_tasks: vec![],
                },
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
