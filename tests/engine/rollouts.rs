//! Rollouts: phases and their minimum durations, the canary gate, abort and roll back.

use chrono::Duration;
use opsdeck::authority::Role;
use opsdeck::config::Config;
use opsdeck::engine::{Engine, EngineError};
use opsdeck::model::{RolloutKind, RolloutState};
use opsdeck::protocol::{ActOnRollout, Actor, Command, Reply, RolloutAction, StartRollout};

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
            Command::StartRollout(StartRollout {
                name: "runtime 2".into(),
                kind: RolloutKind::AgentVersion,
                target_version: "2.0".into(),
                domain: "platform".into(),
                auto_promote: false,
            }),
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
            Command::ActOnRollout(ActOnRollout {
                id: id.into(),
                action,
                reason: reason.map(String::from),
                version: None,
            }),
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
    let finished = rollout(&mut engine, &id, RolloutAction::Promote, None).unwrap_err();
    assert!(finished.is_refusal(), "{finished}");
    for needle in [id.as_str(), "completed"] {
        assert!(
            finished.to_string().contains(needle),
            "{finished}: {needle}"
        );
    }
    assert!(rollout(&mut engine, &id, RolloutAction::Abort, Some("late")).is_err());
}

/// Makes the canary fail every task it runs while the baseline succeeds, then ticks: the
/// canary's health is now measured.
fn fail_the_canary(engine: &mut Engine, agents: &[String]) {
    let canary = agents
        .iter()
        .find(|a| engine.state().agents[*a].rollout.is_some())
        .unwrap()
        .clone();
    let other = agents.iter().find(|a| **a != canary).unwrap().clone();
    for i in 0..24 {
        let task = submit(engine, "platform", "infra", &[], vec![]);
        let (agent, ok) = if i % 2 == 0 {
            (&canary, false)
        } else {
            (&other, true)
        };
        assert_eq!(lease(engine, agent), Some(task.clone()));
        complete(engine, agent, &task, ok);
    }
    for a in agents {
        heartbeat(engine, a);
    }
    engine.tick().unwrap();
}

#[test]
fn a_bad_canary_pauses_itself_and_abort_rolls_back() {
    let (_dir, mut engine, agents, id) = rollout_fixture();
    fail_the_canary(&mut engine, &agents);
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
fn promote_refuses_an_unhealthy_canary() {
    let (_dir, mut engine, agents, id) = rollout_fixture();
    fail_the_canary(&mut engine, &agents);
    assert_eq!(engine.state().rollouts[&id].state, RolloutState::Paused);
    // Past the canary's minimum, so only its health stands in the way.
    advance(&engine, Duration::minutes(20));
    let sick = rollout(&mut engine, &id, RolloutAction::Promote, None).unwrap_err();
    assert!(sick.is_refusal(), "{sick}");
    for needle in [id.as_str(), "unhealthy canary"] {
        assert!(sick.to_string().contains(needle), "{sick}: {needle}");
    }
    let r = &engine.state().rollouts[&id];
    assert_eq!(
        (r.state, r.current_phase.as_str()),
        (RolloutState::Paused, "canary")
    );
}

#[test]
fn pause_and_abort_need_a_reason() {
    let (_dir, mut engine, _agents, id) = rollout_fixture();
    for action in [RolloutAction::Pause, RolloutAction::Abort] {
        for reason in [None, Some(" ")] {
            let err = rollout(&mut engine, &id, action, reason).unwrap_err();
            assert!(matches!(err, EngineError::Invalid(_)), "{err}");
            for needle in ["reason is required", "rollout"] {
                assert!(err.to_string().contains(needle), "{err}: {needle}");
            }
        }
    }
    assert_eq!(
        engine.state().rollouts[&id].state,
        RolloutState::Progressing
    );
}

#[test]
fn an_action_on_a_stale_version_is_refused() {
    let (_dir, mut engine, _agents, id) = rollout_fixture();
    rollout(&mut engine, &id, RolloutAction::Pause, Some("error budget")).unwrap();
    let v = engine.state().rollouts[&id].version;
    let stale = engine
        .execute(
            &Actor::operator("lin", Role::Lead("platform".into())),
            Command::ActOnRollout(ActOnRollout {
                id: id.clone(),
                action: RolloutAction::Resume,
                reason: None,
                version: Some(v + 7),
            }),
        )
        .unwrap_err();
    assert!(
        matches!(stale, EngineError::Conflict { current_version: Some(now), .. } if now == v),
        "{stale}"
    );
    for needle in [id.as_str(), "changed since you saw it"] {
        assert!(stale.to_string().contains(needle), "{stale}: {needle}");
    }
    let r = &engine.state().rollouts[&id];
    assert_eq!((r.state, r.version), (RolloutState::Paused, v));
}

/// Runs `tasks` tasks on `agent`, the first `failures` of them failing.
fn run_tasks(engine: &mut Engine, agent: &str, tasks: usize, failures: usize) {
    for i in 0..tasks {
        let task = submit(engine, "platform", "infra", &[], vec![]);
        assert_eq!(lease(engine, agent), Some(task.clone()));
        complete(engine, agent, &task, i >= failures);
    }
}

/// Gives the rollout a baseline of `baseline_failures` in 20 and a canary of `canary_failures`
/// in 20, then ticks; returns the rollout as the engine left it.
fn judged_rollout(baseline_failures: usize, canary_failures: usize) -> opsdeck::model::Rollout {
    let (_dir, mut engine, agents, id) = rollout_fixture();
    let canary = agents
        .iter()
        .find(|a| engine.state().agents[*a].rollout.is_some())
        .unwrap()
        .clone();
    let other = agents.iter().find(|a| **a != canary).unwrap().clone();
    run_tasks(&mut engine, &other, 20, baseline_failures);
    run_tasks(&mut engine, &canary, 20, canary_failures);
    for a in &agents {
        heartbeat(&mut engine, a);
    }
    engine.tick().unwrap();
    engine.state().rollouts[&id].clone()
}

/// The threshold the console shows (`Rollout::error_gate`) is the one the engine pauses at, on
/// both sides of `max(ratio × baseline, baseline + 10 points)`: a canary just above it pauses,
/// one just below keeps going.
#[test]
fn the_gate_shown_is_the_gate_applied_for_every_baseline() {
    // (baseline failures in 20, the threshold the screen must show, in %)
    let table = [
        (0, 10.0),
        (1, 15.0),
        (2, 20.0),
        (3, 30.0),
        (5, 50.0),
        (8, 80.0),
    ];
    for (baseline_failures, expected) in table {
        let below_at = ((expected / 5.0) as usize) - 1;
        let below = judged_rollout(baseline_failures, below_at);
        let gate = below.error_gate();
        assert!(
            (gate.threshold() * 100.0 - expected).abs() < 0.05,
            "baseline {baseline_failures}/20 shows {gate}, expected {expected}%"
        );
        assert!(
            gate.to_string().starts_with(&format!("{expected:.1}% ")),
            "{gate}"
        );
        assert!(!gate.trips(below.health.error_rate), "{:?}", below.health);
        assert_eq!(
            below.state,
            RolloutState::Progressing,
            "canary {:.1}% under the shown {gate} must keep going",
            below.health.error_rate * 100.0
        );

        let above = judged_rollout(baseline_failures, below_at + 2);
        assert_eq!(above.error_gate(), gate, "same baseline, same gate");
        assert!(gate.trips(above.health.error_rate), "{:?}", above.health);
        assert_eq!(
            above.state,
            RolloutState::Paused,
            "canary {:.1}% over the shown {gate} must pause",
            above.health.error_rate * 100.0
        );
        let why = above.paused_reason.unwrap();
        assert!(why.contains(&gate.to_string()), "{why} should name {gate}");
    }
}

/// What the console shows as the reason a promote is not offered (`RolloutAction::refusal` on
/// the rollout it holds) is word for word what the engine refuses with: before the minimum,
/// and on an unhealthy canary once the minimum has passed.
#[test]
fn the_refusal_shown_is_the_refusal_applied() {
    let (_dir, mut engine, agents, id) = rollout_fixture();
    advance(&engine, Duration::minutes(7));
    let shown = |engine: &Engine| {
        RolloutAction::Promote
            .refusal(&engine.state().rollouts[&id], engine.clock().now())
            .expect("a promote the console does not offer")
    };
    let early = shown(&engine);
    assert!(
        early.contains("7m of its 20m minimum; promote again in 13m00s"),
        "{early}"
    );
    let refused = rollout(&mut engine, &id, RolloutAction::Promote, None).unwrap_err();
    assert!(refused.to_string().contains(&early), "{refused} / {early}");

    fail_the_canary(&mut engine, &agents);
    advance(&engine, Duration::minutes(20));
    let sick = shown(&engine);
    assert!(sick.contains("unhealthy canary"), "{sick}");
    let refused = rollout(&mut engine, &id, RolloutAction::Promote, None).unwrap_err();
    assert!(refused.to_string().contains(&sick), "{refused} / {sick}");
    // Resume is offered on the paused rollout, and the engine agrees.
    let r = engine.state().rollouts[&id].clone();
    assert_eq!(
        RolloutAction::Resume.refusal(&r, engine.clock().now()),
        None
    );
    rollout(&mut engine, &id, RolloutAction::Resume, None).unwrap();
}
