//! Tasks: placement by skill, retries with backoff, dependencies, leases, the breaker.

use chrono::Duration;
use opsdeck::config::Config;
use opsdeck::engine::EngineError;
use opsdeck::model::{AgentStatus, Circuit, Severity, TaskState};
use opsdeck::protocol::{Command, SubmitTask};

use super::{advance, complete, fresh, heartbeat, lease, orchestrator, register, submit};

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
        Command::SubmitTask(SubmitTask {
            title: "x".into(),
            domain: "product".into(),
            team: "growth".into(),
            priority: 2,
            skills: vec![],
            depends_on: vec!["T-999".into()],
        }),
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

/// The engine, not only the server, binds an agent to the token that registered it: whoever
/// calls, a token acts for its own agents only and within its domains, and a refusal writes
/// nothing.
#[test]
fn an_agent_token_acts_only_for_its_own_agents_in_its_domains() {
    use opsdeck::protocol::{Actor, Heartbeat, LeaseTask, RegisterAgent, TokenScope};
    let (_dir, mut engine) = fresh(Config::default());
    let token = |name: &str, domains: &[&str]| TokenScope {
        name: name.into(),
        domains: domains.iter().map(|d| d.to_string()).collect(),
        agents: vec![],
    };
    let join = |engine: &mut opsdeck::engine::Engine, scope: TokenScope, domain: &str| {
        engine.execute(
            &Actor::agent_with(&scope.name.clone(), scope),
            Command::RegisterAgent(RegisterAgent {
                name: "joiner".into(),
                domain: domain.into(),
                team: "infra".into(),
                skills: vec![],
                version: "1.0".into(),
            }),
        )
    };
    let a = super::created(join(&mut engine, token("fleet-a", &[]), "platform"));
    assert_eq!(engine.state().agents[&a].owner.as_deref(), Some("fleet-a"));
    let demo = register(&mut engine, "platform", "infra", &[]);
    assert_eq!(engine.state().agents[&demo].owner, None);
    let b = token("fleet-b", &["platform"]);
    for victim in [&a, &demo] {
        let (seq, audits) = (engine.state().seq, super::audit_count(&engine));
        for command in [
            Command::Heartbeat(Heartbeat {
                agent: victim.clone(),
            }),
            Command::LeaseTask(LeaseTask {
                agent: victim.clone(),
            }),
        ] {
            let err = engine
                .execute(&Actor::agent_with(victim, b.clone()), command)
                .unwrap_err();
            assert!(matches!(err, EngineError::Refused { .. }), "{err}");
            assert!(err.to_string().contains("fleet-b may act only"), "{err}");
        }
        assert_eq!(engine.state().seq, seq);
        assert_eq!(super::audit_count(&engine), audits);
    }
    // In process, without a token, the orchestrator's own fleet drives its agents as before.
    heartbeat(&mut engine, &demo);
    // A domain-limited token may not bring agents or work into another domain.
    let err = join(&mut engine, b.clone(), "product").unwrap_err();
    assert!(err.to_string().contains("limited to platform"), "{err}");
    let err = engine
        .execute(
            &Actor::agent_with("fleet-b", b.clone()),
            Command::SubmitTask(SubmitTask {
                title: "t".into(),
                domain: "product".into(),
                team: "search".into(),
                priority: 2,
                skills: vec![],
                depends_on: vec![],
            }),
        )
        .unwrap_err();
    assert!(err.to_string().contains("product is outside it"), "{err}");
    let own = super::created(join(&mut engine, b.clone(), "platform"));
    engine
        .execute(
            &Actor::agent_with(&own, b),
            Command::Heartbeat(Heartbeat { agent: own.clone() }),
        )
        .unwrap();
}
