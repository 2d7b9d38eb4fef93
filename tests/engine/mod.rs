//! The control plane through its public API, on real SQLite files. This module holds the helpers
//! that drive an engine; the tests are in one submodule per topic.

use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use opsdeck::authority::Role;
use opsdeck::config::Config;
use opsdeck::engine::{Clock, Engine, EngineError};
use opsdeck::model::{Category, Classification};
use opsdeck::protocol::{
    ActOnApproval, Actor, ApprovalAction, Command, CompleteTask, Heartbeat, LeaseTask, Outcome,
    RaiseEscalation, RegisterAgent, Reply, SubmitTask, TaskOutcome,
};
use opsdeck::store::Store;

mod alerts;
mod approvals;
mod damage;
mod durability;
mod idempotency;
mod incidents;
mod live;
mod rollouts;
mod sensitive;
mod tasks;

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

fn created(result: Result<Outcome, EngineError>) -> String {
    match result.expect("command succeeds").reply {
        Reply::Created { id } => id,
        other => panic!("expected an id, got {other:?}"),
    }
}

fn register(engine: &mut Engine, domain: &str, team: &str, skills: &[&str]) -> String {
    created(engine.execute(
        &orchestrator(domain),
        Command::RegisterAgent(RegisterAgent {
            name: format!("{team}-{}", skills.join("-")),
            domain: domain.into(),
            team: team.into(),
            skills: skills.iter().map(|s| s.to_string()).collect(),
            version: "1.0".into(),
        }),
    ))
}

fn raise(engine: &mut Engine, agent: &str, category: Category, class: Classification) -> String {
    created(engine.execute(
        &Actor::agent(agent),
        Command::RaiseEscalation(RaiseEscalation {
            agent: agent.into(),
            category,
            summary: format!("{} please", category.as_str()),
            context: "context".into(),
            options_considered: vec!["a".into(), "b".into()],
            recommendation: "a".into(),
            classification: class,
            related_tasks: vec![],
            tool_call: None,
            session: None,
            callback_url: None,
            policy_rule: None,
        }),
    ))
}

fn decide(
    engine: &mut Engine,
    actor: &Actor,
    id: &str,
    decision: ApprovalAction,
) -> Result<Reply, EngineError> {
    engine
        .execute(
            actor,
            Command::ActOnApproval(ActOnApproval {
                id: id.into(),
                decision,
                reason: "because".into(),
                option: None,
                version: None,
            }),
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
        Command::SubmitTask(SubmitTask {
            title: "work".into(),
            domain: domain.into(),
            team: team.into(),
            priority: 2,
            skills: skills.iter().map(|s| s.to_string()).collect(),
            depends_on: deps,
        }),
    ))
}

fn heartbeat(engine: &mut Engine, agent: &str) {
    engine
        .execute(
            &Actor::agent(agent),
            Command::Heartbeat(Heartbeat {
                agent: agent.into(),
            }),
        )
        .unwrap();
}

fn lease(engine: &mut Engine, agent: &str) -> Option<String> {
    match engine
        .execute(
            &Actor::agent(agent),
            Command::LeaseTask(LeaseTask {
                agent: agent.into(),
            }),
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
            Command::CompleteTask(CompleteTask {
                agent: agent.into(),
                task: task.into(),
                outcome,
            }),
        )
        .unwrap();
}
