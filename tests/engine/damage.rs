//! A store that turns out damaged while the engine runs: the write that finds it fails with a
//! clear error, and the engine (and the orchestrator around it) stops instead of going on.

use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use opsdeck::config::Config;
use opsdeck::engine::{Engine, EngineError};
use opsdeck::orchestrator::{Orchestrator, OrchestratorError};
use opsdeck::protocol::{Actor, Command, RecordExecution};

use super::{fresh, register};

fn record(agent: &str, n: u32) -> Command {
    Command::RecordExecution(RecordExecution {
        agent: agent.into(),
        summary: format!("step {n}"),
        context: "x".repeat(500),
        outcome: "done".into(),
        related_tasks: vec![],
    })
}

/// Overwrites every page after the first with garbage, once the engine's log is in the file and
/// its page cache is empty: its next read of any table then meets a broken page, every time.
fn damage_under(engine: &Engine, path: &Path) {
    engine
        .store()
        .as_sqlite()
        .unwrap()
        .settle_to_file()
        .unwrap();
    let len = std::fs::metadata(path).unwrap().len();
    assert!(len >= 4 * 4096, "a store of several pages ({len} bytes)");
    let mut file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    file.seek(SeekFrom::Start(4096)).unwrap();
    let garbage: Vec<u8> = (0..len - 4096).map(|i| (i * 7 + 13) as u8).collect();
    file.write_all(&garbage).unwrap();
    file.sync_all().unwrap();
}

#[test]
fn a_write_that_meets_a_damaged_page_stops_the_engine() {
    let (dir, mut engine) = fresh(Config::default());
    let agent = register(&mut engine, "platform", "infra", &[]);
    for n in 0..20 {
        engine
            .execute(&Actor::agent(&agent), record(&agent, n))
            .unwrap();
    }
    damage_under(&engine, &dir.path().join("o.db"));

    let err = engine
        .execute(&Actor::agent(&agent), record(&agent, 99))
        .unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(&err, EngineError::Store(e) if e.is_damage()),
        "a damage error, not {err:?}"
    );
    assert!(
        message.contains("damaged") && message.contains("opsdeck doctor"),
        "{message}"
    );
    assert!(engine.halted().is_some(), "the engine stops");

    // Nothing more is tried on the file: every later command, and the clock, are refused.
    let again = engine
        .execute(&Actor::agent(&agent), record(&agent, 100))
        .unwrap_err();
    assert!(matches!(again, EngineError::Halted(_)), "{again:?}");
    assert!(again.to_string().contains("damaged"), "{again}");
    assert!(matches!(engine.tick(), Err(EngineError::Halted(_))));
}

#[test]
fn a_full_disk_does_not_stop_the_engine() {
    let (_dir, mut engine) = fresh(Config::default());
    let agent = register(&mut engine, "platform", "infra", &[]);
    let sqlite = engine.store().as_sqlite().unwrap();
    sqlite.limit_growth(Some(0)).unwrap();
    let big = Command::RecordExecution(RecordExecution {
        agent: agent.clone(),
        summary: "big".into(),
        context: "y".repeat(200_000),
        outcome: String::new(),
        related_tasks: vec![],
    });
    let err = engine.execute(&Actor::agent(&agent), big).unwrap_err();
    assert!(err.to_string().contains("full"), "{err}");
    assert!(engine.halted().is_none(), "a full disk is not damage");
    engine
        .store()
        .as_sqlite()
        .unwrap()
        .limit_growth(None)
        .unwrap();
    engine
        .execute(&Actor::agent(&agent), record(&agent, 1))
        .expect("the next write goes through once there is room");
}

#[test]
fn the_orchestrator_stops_when_its_engine_finds_the_store_damaged() {
    let (dir, mut engine) = fresh(Config::default());
    let agent = register(&mut engine, "platform", "infra", &[]);
    engine
        .execute(&Actor::agent(&agent), record(&agent, 0))
        .unwrap();
    damage_under(&engine, &dir.path().join("o.db"));
    let orchestrator = Orchestrator::idle(engine);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        assert_eq!(orchestrator.halt_reason(), None);
        let err = orchestrator
            .execute(Actor::agent(&agent), record(&agent, 1))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("damaged"), "{err}");
        let why = tokio::time::timeout(std::time::Duration::from_secs(10), orchestrator.halted())
            .await
            .expect("the orchestrator says it stopped");
        assert!(why.contains("damaged"), "{why}");
        assert_eq!(orchestrator.halt_reason().as_deref(), Some(why.as_str()));
        let after = orchestrator
            .execute(Actor::agent(&agent), record(&agent, 2))
            .await
            .unwrap_err();
        assert!(
            matches!(&after, OrchestratorError::Halted(w) if w.contains("damaged")),
            "{after:?}"
        );
    });
}
