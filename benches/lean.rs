//! What history costs: start-up, snapshots and one-shot listings on stores after 1 h, 24 h and
//! 72 h of demo history, and on a fleet of 5,000 agents with 30,000 finished tasks. Each row
//! stands beside its floor in the same run: `sqlite3` answering the same listing from the same
//! file, and the console's first frame beside the bytes of the snapshot it is drawn from.
//!
//! `cargo bench --bench lean`. `OPSDECK_LEAN_DIR` names a directory that already holds
//! `h1.db`, `h24.db` and `h72.db` (`opsdeck demo run --seed 7 --duration 72h`); without it they
//! are made in a temporary directory (the 72 h store takes minutes).
//! Targets: first complete frame ≤ 50 ms, `approvals --state pending` ≤ 20 ms as a process,
//! snapshot bytes independent of the finished-task count. Decisions beside readers:
//! `benches/readers.rs`.

#[path = "../tests/support/pty.rs"]
mod pty;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use opsdeck::config::Config;
use opsdeck::engine::{Clock, Engine};
use opsdeck::protocol::{
    Actor, Command as Cmd, CompleteTask, LeaseTask, RegisterAgent, Reply, SubmitTask, TaskOutcome,
};
use opsdeck::store::Store;

const BIN: &str = env!("CARGO_BIN_EXE_opsdeck");
const RUNS: usize = 15;
const AGENTS: usize = 5_000;
const FINISHED: usize = 30_000;

fn median(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[v.len() - 1])
}

fn timed(mut run: impl FnMut()) -> (f64, f64) {
    run();
    median(
        (0..RUNS)
            .map(|_| {
                let start = Instant::now();
                run();
                start.elapsed().as_secs_f64() * 1000.0
            })
            .collect(),
    )
}

fn process(program: &str, args: &[&str], home: &Path) {
    let out = Command::new(program)
        .args(args)
        .env("HOME", home)
        .env("XDG_STATE_HOME", home.join("state"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn demo_store(dir: &Path, hours: u32) -> PathBuf {
    let path = dir.join(format!("h{hours}.db"));
    if !path.exists() {
        eprintln!("making {} ({hours} h of demo history)", path.display());
        process(
            BIN,
            &[
                "--store",
                path.to_str().unwrap(),
                "demo",
                "run",
                "--seed",
                "7",
                "--duration",
                &format!("{hours}h"),
            ],
            dir,
        );
    }
    path
}

/// 5,000 agents and 30,000 tasks, every one finished within the last few minutes.
fn fleet_store(dir: &Path) -> PathBuf {
    let path = dir.join("fleet5k.db");
    if path.exists() {
        return path;
    }
    eprintln!(
        "making {} ({AGENTS} agents, {FINISHED} finished tasks)",
        path.display()
    );
    let start: chrono::DateTime<chrono::Utc> = "2026-11-02T00:00:00Z".parse().unwrap();
    let mut engine = Engine::open(
        Store::open(&path).unwrap(),
        Config::default(),
        Clock::manual(start),
        Some(1),
    )
    .unwrap();
    let domain = "platform";
    let orchestrator = Actor::Orchestrator {
        domain: Some(domain.into()),
    };
    let register: Vec<(Actor, Cmd)> = (0..AGENTS)
        .map(|i| {
            (
                orchestrator.clone(),
                Cmd::RegisterAgent(RegisterAgent {
                    name: format!("a{i}"),
                    domain: domain.into(),
                    team: "infra".into(),
                    skills: vec![],
                    version: "1".into(),
                }),
            )
        })
        .collect();
    let agents: Vec<String> = engine
        .execute_batch(register)
        .unwrap()
        .into_iter()
        .map(|r| match r.unwrap().reply {
            Reply::Created { id } => id,
            other => panic!("{other:?}"),
        })
        .collect();
    for round in 0..FINISHED / AGENTS {
        let submit = (0..AGENTS)
            .map(|_| {
                (
                    orchestrator.clone(),
                    Cmd::SubmitTask(SubmitTask {
                        title: "work".into(),
                        domain: domain.into(),
                        team: "infra".into(),
                        priority: 2,
                        skills: vec![],
                        depends_on: vec![],
                    }),
                )
            })
            .collect();
        engine.execute_batch(submit).unwrap();
        let lease = agents
            .iter()
            .map(|a| {
                (
                    Actor::agent(a),
                    Cmd::LeaseTask(LeaseTask { agent: a.clone() }),
                )
            })
            .collect();
        let leased: Vec<Option<String>> = engine
            .execute_batch(lease)
            .unwrap()
            .into_iter()
            .map(|r| match r.unwrap().reply {
                Reply::Lease(t) => t.map(|t| t.id),
                other => panic!("{other:?}"),
            })
            .collect();
        let complete = agents
            .iter()
            .zip(leased)
            .filter_map(|(a, t)| Some((a, t?)))
            .map(|(a, t)| {
                (
                    Actor::agent(a),
                    Cmd::CompleteTask(CompleteTask {
                        agent: a.clone(),
                        task: t,
                        outcome: TaskOutcome::Succeeded,
                    }),
                )
            })
            .collect();
        engine.execute_batch(complete).unwrap();
        engine
            .clock()
            .set(start + chrono::Duration::seconds(30 * (round as i64 + 1)));
    }
    path
}

struct Row {
    name: String,
    finished: i64,
    snapshot_kib: f64,
    snapshot_ms: f64,
    approvals_ms: (f64, f64),
    sqlite_ms: (f64, f64),
    first_frame_ms: f64,
}

fn finished_tasks(path: &Path) -> i64 {
    rusqlite::Connection::open(path)
        .unwrap()
        .query_row(
            "SELECT count(*) FROM tasks WHERE state IN ('succeeded','failed','cancelled')",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

fn first_frame_ms(home: &Path, store: &str) -> f64 {
    let samples = (0..5)
        .map(|_| {
            let start = Instant::now();
            let mut pty =
                pty::Pty::spawn(BIN, &["--store", store, "--no-demo"], 120, 36, home, &[]);
            pty.wait_for("Audit tail", Duration::from_secs(60));
            let ms = start.elapsed().as_secs_f64() * 1000.0;
            pty.send("q");
            pty.wait_exit(Duration::from_secs(30));
            ms
        })
        .collect();
    median(samples).0
}

fn measure(name: &str, path: &Path, home: &Path, sqlite3: bool) -> Row {
    let store = path.to_str().unwrap();
    // Opened once first so the migrations are behind us and every row times the same schema.
    process(BIN, &["--store", store, "agents", "-o", "json"], home);
    let mut engine = Engine::open(
        Store::open(path).unwrap(),
        Config::default(),
        Clock::System,
        None,
    )
    .unwrap();
    let _ = engine.tick();
    let (snapshot_ms, _) = timed(|| {
        let _ = serde_json::to_vec(&engine.snapshot()).unwrap();
    });
    let snapshot_kib = serde_json::to_vec(&engine.snapshot()).unwrap().len() as f64 / 1024.0;
    drop(engine);
    let approvals_ms = timed(|| {
        process(
            BIN,
            &[
                "--store",
                store,
                "approvals",
                "--state",
                "pending",
                "-o",
                "json",
            ],
            home,
        )
    });
    let sqlite_ms = if sqlite3 {
        timed(|| {
            process(
                "sqlite3",
                &[
                    store,
                    "SELECT body FROM approvals WHERE state = 'pending' ORDER BY at DESC LIMIT 200",
                ],
                home,
            )
        })
    } else {
        (f64::NAN, f64::NAN)
    };
    Row {
        name: name.into(),
        finished: finished_tasks(path),
        snapshot_kib,
        snapshot_ms,
        approvals_ms,
        sqlite_ms,
        first_frame_ms: first_frame_ms(home, store),
    }
}

fn main() {
    let temp = tempfile::tempdir().unwrap();
    let dir = std::env::var_os("OPSDECK_LEAN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| temp.path().to_path_buf());
    let home = temp.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let sqlite3 = Command::new("sqlite3").arg("--version").output().is_ok();
    if !sqlite3 {
        eprintln!("sqlite3 is missing (apt-get install sqlite3): no floor column");
    }
    let mut rows = Vec::new();
    for hours in [1, 24, 72] {
        let path = demo_store(&dir, hours);
        rows.push(measure(&format!("demo {hours} h"), &path, &home, sqlite3));
    }
    let fleet = fleet_store(&dir);
    rows.push(measure("5,000 agents, 30,000 done", &fleet, &home, sqlite3));

    println!(
        "{:<26} {:>9} {:>12} {:>12} {:>18} {:>18} {:>12}",
        "store",
        "finished",
        "snapshot",
        "snapshot ms",
        "approvals ms p50/max",
        "sqlite3 ms p50/max",
        "1st frame ms"
    );
    for r in &rows {
        println!(
            "{:<26} {:>9} {:>9.1} KiB {:>12.2} {:>9.1} / {:>6.1} {:>9.1} / {:>6.1} {:>12.1}",
            r.name,
            r.finished,
            r.snapshot_kib,
            r.snapshot_ms,
            r.approvals_ms.0,
            r.approvals_ms.1,
            r.sqlite_ms.0,
            r.sqlite_ms.1,
            r.first_frame_ms
        );
    }
    let verdict = |ok: bool| if ok { "PASS" } else { "MISS" };
    println!(
        "target first frame ≤ 50 ms at every size: {}",
        verdict(rows.iter().all(|r| r.first_frame_ms <= 50.0))
    );
    println!(
        "target approvals --state pending ≤ 20 ms at every size: {}",
        verdict(rows.iter().all(|r| r.approvals_ms.0 <= 20.0))
    );
    let demo_snapshots: Vec<f64> = rows[..3].iter().map(|r| r.snapshot_kib).collect();
    println!(
        "snapshot across 1 h / 24 h / 72 h of history: {:.0} / {:.0} / {:.0} KiB",
        demo_snapshots[0], demo_snapshots[1], demo_snapshots[2]
    );
}
