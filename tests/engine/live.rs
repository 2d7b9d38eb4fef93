//! The live set: closed items leave memory and the snapshot after the horizon (or past the
//! count kept), the store keeps them for listings and lookups, and nothing the engine decides by
//! is lost with them.

use chrono::Duration;
use opsdeck::config::Config;
use opsdeck::model::{Change, Task, TaskState};
use opsdeck::query::{ItemKind, Listing};

use super::{advance, complete, fresh, heartbeat, lease, open, register, submit};

fn short_window() -> Config {
    let mut config = Config::default();
    config.engine.live_horizon = Duration::minutes(10);
    config.engine.live_closed = 3;
    config
}

/// Runs one task through to success and returns its id.
fn finish_one(engine: &mut opsdeck::engine::Engine, agent: &str) -> String {
    let task = submit(engine, "platform", "infra", &["k8s"], vec![]);
    engine.tick().unwrap();
    assert_eq!(lease(engine, agent).as_deref(), Some(task.as_str()));
    complete(engine, agent, &task, true);
    task
}

fn listing(state: Option<&str>, limit: usize) -> Listing {
    Listing::new(
        ItemKind::Tasks,
        state,
        None,
        None,
        Some(limit),
        chrono::Utc::now(),
    )
    .unwrap()
}

#[test]
fn closed_tasks_leave_memory_after_the_horizon_and_stay_in_the_store() {
    let (dir, mut engine) = fresh(short_window());
    let agent = register(&mut engine, "platform", "infra", &["k8s"]);
    let first = finish_one(&mut engine, &agent);
    advance(&engine, Duration::minutes(11));
    heartbeat(&mut engine, &agent);
    let event = engine.tick().unwrap().expect("the tick changed something");
    assert!(
        event
            .changes
            .iter()
            .any(|c| matches!(c, Change::Retire(r) if r.tasks == vec![first.clone()])),
        "the retirement travels as a change consoles apply: {:?}",
        event.changes
    );
    assert!(!engine.state().tasks.contains_key(&first));
    assert!(engine.snapshot().tasks.iter().all(|t| t.id != first));
    // The store keeps it: a lookup by id and a listing by state find it.
    let stored: Task = engine.store().item(&first).unwrap().expect("kept");
    assert_eq!(stored.state, TaskState::Succeeded);
    let listed: Vec<Task> = engine
        .store()
        .list(&listing(Some("succeeded"), 10))
        .unwrap();
    assert_eq!(
        listed.iter().map(|t| &t.id).collect::<Vec<_>>(),
        vec![&first]
    );
    // A restart loads the live set only.
    drop(engine);
    let engine = open(&dir.path().join("o.db"), short_window());
    assert!(!engine.state().tasks.contains_key(&first));
    assert!(engine.state().agents.contains_key(&agent));
}

#[test]
fn only_the_newest_closed_items_stay_within_the_horizon() {
    let (dir, mut engine) = fresh(short_window());
    let agent = register(&mut engine, "platform", "infra", &["k8s"]);
    let done: Vec<String> = (0..5)
        .map(|_| {
            advance(&engine, Duration::seconds(5));
            heartbeat(&mut engine, &agent);
            finish_one(&mut engine, &agent)
        })
        .collect();
    advance(&engine, Duration::minutes(1));
    heartbeat(&mut engine, &agent);
    engine.tick().unwrap();
    let live: Vec<&String> = engine.state().tasks.keys().collect();
    assert_eq!(
        live,
        vec![&done[2], &done[3], &done[4]],
        "the 3 newest stay"
    );
    // The store lists all five, newest first; a restart loads the same three.
    let listed: Vec<Task> = engine.store().list(&listing(None, 10)).unwrap();
    let ids: Vec<&String> = listed.iter().map(|t| &t.id).collect();
    assert_eq!(ids, done.iter().rev().collect::<Vec<_>>());
    drop(engine);
    let engine = open(&dir.path().join("o.db"), short_window());
    let live: Vec<&String> = engine.state().tasks.keys().collect();
    assert_eq!(live, vec![&done[2], &done[3], &done[4]]);
}

#[test]
fn a_task_waits_on_a_dependency_that_left_memory() {
    let (_dir, mut engine) = fresh(short_window());
    let agent = register(&mut engine, "platform", "infra", &["k8s"]);
    let old = finish_one(&mut engine, &agent);
    advance(&engine, Duration::minutes(30));
    heartbeat(&mut engine, &agent);
    engine.tick().unwrap();
    assert!(!engine.state().tasks.contains_key(&old), "retired");
    // A new task naming it is decided by the stored task: it succeeded, so no waiting.
    let next = submit(
        &mut engine,
        "platform",
        "infra",
        &["k8s"],
        vec![old.clone()],
    );
    assert_eq!(engine.state().tasks[&next].state, TaskState::Queued);
    // A dependency nobody ever had is still refused.
    let missing = engine.execute(
        &super::orchestrator("platform"),
        opsdeck::protocol::Command::SubmitTask(opsdeck::protocol::SubmitTask {
            title: "x".into(),
            domain: "platform".into(),
            team: "infra".into(),
            priority: 2,
            skills: vec![],
            depends_on: vec!["T-999".into()],
        }),
    );
    assert!(missing.is_err());
}

#[test]
fn a_closed_task_a_blocked_one_waits_on_stays() {
    let (dir, mut engine) = fresh(short_window());
    let agent = register(&mut engine, "platform", "infra", &["k8s"]);
    let slow = submit(&mut engine, "platform", "infra", &["gpu"], vec![]);
    let quick = finish_one(&mut engine, &agent);
    let waiting = submit(
        &mut engine,
        "platform",
        "infra",
        &["k8s"],
        vec![quick.clone(), slow.clone()],
    );
    assert_eq!(engine.state().tasks[&waiting].state, TaskState::Blocked);
    advance(&engine, Duration::minutes(30));
    heartbeat(&mut engine, &agent);
    engine.tick().unwrap();
    assert!(
        engine.state().tasks.contains_key(&quick),
        "a live task still waits on it"
    );
    drop(engine);
    let engine = open(&dir.path().join("o.db"), short_window());
    assert!(
        engine.state().tasks.contains_key(&quick),
        "and after a restart"
    );
}

/// A plain heartbeat writes its time and its task's lease, not the two bodies; every read (a
/// restart's load, a lookup) sees the latest of both.
#[test]
fn a_heartbeat_writes_a_beat_not_the_bodies() {
    let (dir, mut engine) = fresh(Config::default());
    let agent = register(&mut engine, "platform", "infra", &["k8s"]);
    let task = submit(&mut engine, "platform", "infra", &["k8s"], vec![]);
    engine.tick().unwrap();
    assert_eq!(lease(&mut engine, &agent).as_deref(), Some(task.as_str()));
    let body_before: String = rusqlite::Connection::open(dir.path().join("o.db"))
        .unwrap()
        .query_row("SELECT body FROM agents WHERE id = ?1", [&agent], |r| {
            r.get(0)
        })
        .unwrap();
    advance(&engine, Duration::seconds(20));
    let mut events = engine.subscribe();
    heartbeat(&mut engine, &agent);
    let event = events.try_recv().unwrap();
    assert_eq!(event.cause, "agent.heartbeat");
    let [Change::Beat(beat)] = event.changes.as_slice() else {
        panic!("one beat, nothing else: {:?}", event.changes)
    };
    let now = engine.now();
    let expires = now + engine.config().engine.lease_ttl;
    assert_eq!(beat.agent, agent);
    assert_eq!(beat.at, now);
    assert_eq!(beat.lease, Some((task.clone(), expires)));
    let conn = rusqlite::Connection::open(dir.path().join("o.db")).unwrap();
    let body_after: String = conn
        .query_row("SELECT body FROM agents WHERE id = ?1", [&agent], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(body_before, body_after, "the body is not written again");
    drop(engine);
    let engine = open(&dir.path().join("o.db"), Config::default());
    assert_eq!(engine.state().agents[&agent].last_heartbeat, now);
    assert_eq!(engine.state().tasks[&task].lease_expires_at, Some(expires));
    let stored: opsdeck::model::Agent = engine.store().item(&agent).unwrap().unwrap();
    assert_eq!(stored.last_heartbeat, now);
}
