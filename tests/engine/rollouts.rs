//! Rollouts: phases and their minimum durations, the canary gate, abort and roll back.

use chrono::Duration;
use opsdeck::authority::Role;
use opsdeck::config::Config;
use opsdeck::engine::{Actor, Command, Engine, EngineError, Reply, RolloutAction};
use opsdeck::model::{RolloutKind, RolloutState};

use super::{advance, complete, fresh, heartbeat, lease, orchestrator, register, submit};

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
