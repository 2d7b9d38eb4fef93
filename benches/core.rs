//! The control plane's figures: `cargo bench --bench core`.
//!
//! Every measurement runs on real files in a fresh temporary directory (under `$TMPDIR`, or under
//! `$OPSDECK_BENCH_DIR` when set), all in one run, and ends in one table:
//!
//! 1. the demo: 6 h of the seeded fleet on the simulated clock, as `opsdeck demo run` does it;
//! 2. durable decisions per second (WAL, `synchronous=FULL`): one per transaction, batched, and a
//!    bare rusqlite loop with the same settings on the same filesystem as the yardstick;
//! 3. `audit verify` over a trail of 1,000,000 records.
//!
//! `cargo bench --bench core -- decisions` runs only the measurements whose name contains a word
//! given after `--` (`demo`, `decisions`, `verify`).

use std::error::Error;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use opsdeck::authority::Role;
use opsdeck::config::Config;
use opsdeck::engine::{Clock, Engine};
use opsdeck::model::{
    ActionType, AuditDetails, AuditDraft, Category, Classification, Retention, Timestamp,
};
use opsdeck::protocol::{
    ActOnApproval, Actor, ApprovalAction, Command, RaiseEscalation, RegisterAgent, Reply,
};
use opsdeck::sim::Sim;
use opsdeck::store::Store;

type Res<T> = Result<T, Box<dyn Error>>;

/// The demo's defaults (`opsdeck demo run --seed 7 --duration 6h`).
const DEMO_SEED: u64 = 7;
const DEMO_START: &str = "2026-11-02T00:00:00Z";
const DEMO_TARGET: Duration = Duration::from_secs(20);

/// Decisions timed per variant, and how many go into one batch for the batched variant.
const DECISIONS: usize = 3_000;
const DECISION_BATCH: usize = 100;
/// Pending approvals raised per `execute_batch` while preparing.
const RAISE_BATCH: usize = 500;
/// One decision per transaction must reach this share of a bare SQLite loop's commits per second.
const DECISION_RATIO_TARGET: f64 = 0.60;
/// Size of the row the bare loop inserts per transaction.
const BARE_ROW_BYTES: usize = 500;

const TRAIL_RECORDS: u64 = 1_000_000;
const TRAIL_TX: u64 = 50_000;
const VERIFY_RUNS: usize = 3;
const VERIFY_TARGET: f64 = 500_000.0;

fn main() -> Res<()> {
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wanted = |name: &str| only.is_empty() || only.iter().any(|w| name.contains(w.as_str()));

    let base = std::env::var_os("OPSDECK_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    if cfg!(debug_assertions) {
        eprintln!("warning: debug build; run `cargo bench --bench core` for release figures");
    }
    eprintln!(
        "opsdeck core bench: temporary stores under {}",
        base.display()
    );

    let load_before = load_average();
    let mut table = Table::default();
    if wanted("demo") {
        demo(&base, &mut table)?;
    }
    if wanted("decisions") {
        decisions(&base, &mut table)?;
    }
    if wanted("verify") {
        verify(&base, &mut table)?;
    }
    table.print();
    // Other work on the machine skews every figure here; say how busy it was.
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "load average (1 min): {} at start, {} at end; {cores} cores",
        load_before,
        load_average()
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 1. The demo
// ---------------------------------------------------------------------------------------------

fn demo(base: &Path, table: &mut Table) -> Res<()> {
    let dir = temp_dir(base)?;
    let start = timestamp(DEMO_START)?;
    let path = dir.path().join("demo.db");
    let store = Store::open(&path)?;
    // As `cli/demo.rs` opens it: the manual clock at the start, the engine seed derived from the
    // demo seed the same way.
    let mut engine = Engine::open(
        store,
        Config::default(),
        Clock::manual(start),
        Some(DEMO_SEED ^ 0x6f70_7364_6563_6b21),
    )?;
    let grown_from = store_bytes(&path);
    eprintln!("demo: 6h of the fleet, seed {DEMO_SEED} ...");
    let written_before = bytes_written()?;
    let (totals, wall) = timed(|| Sim::new(DEMO_SEED).run(&mut engine, start, TimeDelta::hours(6)));
    let totals = totals?;
    let head = engine.store().head()?;
    // Closing checkpoints the log into the file: its writes count too.
    drop(engine);
    let written = bytes_written()? - written_before;
    let grown = store_bytes(&path) - grown_from;
    eprintln!("demo: the bare loop beside it, {DECISIONS} commits ...");
    let bare = bare_sqlite_loop(&dir.path().join("bare-demo.db"), DECISIONS)?;
    let bare_rate = DECISIONS as f64 / bare.as_secs_f64();
    let records_rate = head.audit_seq as f64 / wall.as_secs_f64();

    table.section("1. demo run --seed 7 --duration 6h (file store, simulated clock)");
    table.check(
        "wall time",
        format!("{:.2} s", wall.as_secs_f64()),
        format!("< {} s", DEMO_TARGET.as_secs()),
        wall < DEMO_TARGET,
    );
    table.info(
        "steps / commands / refused",
        format!(
            "{} / {} / {}",
            totals.steps, totals.commands, totals.refused
        ),
    );
    table.info("audit records", head.audit_seq.to_string());
    table.info("events", head.event_seq.to_string());
    table.info(
        "commands per second",
        rate(totals.commands as f64, wall, "/s"),
    );
    table.check(
        "bytes written / store growth",
        format!(
            "{:.1} MB / {:.1} MB = {:.2}× ({:.0} B per audit record)",
            written as f64 / 1e6,
            grown as f64 / 1e6,
            written as f64 / grown as f64,
            written as f64 / head.audit_seq as f64
        ),
        "≤ 4×".into(),
        written as f64 <= 4.0 * grown as f64,
    );
    table.check(
        "audit records/s vs bare loop commits/s",
        format!(
            "{records_rate:.0} / {bare_rate:.0} = {:.0} %",
            100.0 * records_rate / bare_rate
        ),
        "≥ 60 %".into(),
        records_rate >= 0.6 * bare_rate,
    );
    Ok(())
}

/// Bytes this process has handed to write calls so far (`wchar` in /proc/self/io): the log,
/// the checkpoints, temporary files, everything.
fn bytes_written() -> Res<u64> {
    let io = std::fs::read_to_string("/proc/self/io")?;
    io.lines()
        .find_map(|l| l.strip_prefix("wchar: "))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| "no wchar in /proc/self/io".into())
}

/// The store's file and its log.
fn store_bytes(path: &Path) -> u64 {
    ["", "-wal"]
        .iter()
        .filter_map(|s| std::fs::metadata(format!("{}{s}", path.display())).ok())
        .map(|m| m.len())
        .sum()
}

// ---------------------------------------------------------------------------------------------
// 2. Durable decisions per second
// ---------------------------------------------------------------------------------------------

fn decisions(base: &Path, table: &mut Table) -> Res<()> {
    let dir = temp_dir(base)?;
    let start = timestamp(DEMO_START)?;
    let store = Store::open(&dir.path().join("decisions.db"))?;
    let mut engine = Engine::open(store, Config::default(), Clock::manual(start), Some(1))?;

    eprintln!("decisions: raising {} pending approvals ...", 2 * DECISIONS);
    let (ids, prep) = timed(|| raise_pending(&mut engine, 2 * DECISIONS));
    let ids = ids?;
    let (one_by_one, batched) = ids.split_at(DECISIONS);
    let operator = Actor::operator("bench", Role::Enterprise);
    let decide = |id: &str| {
        Command::ActOnApproval(ActOnApproval {
            id: id.to_string(),
            decision: ApprovalAction::Approve,
            reason: "within the team's remit; scope change accepted for this sprint".into(),
            option: None,
            version: None,
        })
    };

    // The bare loop runs before and after (a), so a drift in the disk's fsync time shows, and
    // (a) is compared with the mean of the two.
    eprintln!("decisions: bare rusqlite loop, {DECISIONS} commits ...");
    let bare_before = bare_sqlite_loop(&dir.path().join("bare-1.db"), DECISIONS)?;

    eprintln!("decisions: (a) {DECISIONS} decisions, one per transaction ...");
    let (result, single) = timed(|| -> Res<()> {
        for id in one_by_one {
            engine.execute(&operator, decide(id))?;
        }
        Ok(())
    });
    result?;

    eprintln!("decisions: bare rusqlite loop again ...");
    let bare_after = bare_sqlite_loop(&dir.path().join("bare-2.db"), DECISIONS)?;

    eprintln!("decisions: (b) {DECISIONS} decisions, {DECISION_BATCH} per transaction ...");
    let (result, batch) = timed(|| -> Res<()> {
        for chunk in batched.chunks(DECISION_BATCH) {
            let commands = chunk
                .iter()
                .map(|id| (operator.clone(), decide(id)))
                .collect();
            for outcome in engine.execute_batch(commands)? {
                outcome?;
            }
        }
        Ok(())
    });
    result?;

    let decided = engine
        .state()
        .approvals
        .values()
        .filter(|a| !a.is_pending())
        .count();
    assert_eq!(decided, 2 * DECISIONS, "every decision went through");

    let per_sec = |d: Duration| DECISIONS as f64 / d.as_secs_f64();
    let bare = (per_sec(bare_before) + per_sec(bare_after)) / 2.0;
    let ratio = per_sec(single) / bare;

    table.section(&format!(
        "2. durable decisions (WAL, synchronous=FULL, {DECISIONS} each, same filesystem)"
    ));
    table.info(
        "prepare: pending approvals raised",
        format!(
            "{} in {:.2} s ({} per batch)",
            2 * DECISIONS,
            prep.as_secs_f64(),
            RAISE_BATCH
        ),
    );
    table.info(
        "bare rusqlite loop, before (a)",
        rate(DECISIONS as f64, bare_before, " commits/s"),
    );
    table.info(
        "bare rusqlite loop, after (a)",
        rate(DECISIONS as f64, bare_after, " commits/s"),
    );
    table.info(
        "(a) decide, 1 per transaction",
        rate(DECISIONS as f64, single, " decisions/s"),
    );
    table.info(
        &format!("(b) decide, {DECISION_BATCH} per execute_batch"),
        rate(DECISIONS as f64, batch, " decisions/s"),
    );
    table.check(
        "(a) / bare loop (mean of both)",
        format!("{:.0} %", ratio * 100.0),
        format!(">= {:.0} %", DECISION_RATIO_TARGET * 100.0),
        ratio >= DECISION_RATIO_TARGET,
    );
    Ok(())
}

/// Registers one agent and has it raise `n` scope changes (domain level, quorum 1).
fn raise_pending(engine: &mut Engine, n: usize) -> Res<Vec<String>> {
    let orchestrator = Actor::Orchestrator {
        domain: Some("platform".into()),
    };
    let register = Command::RegisterAgent(RegisterAgent {
        name: "bench-agent".into(),
        domain: "platform".into(),
        team: "infra".into(),
        skills: vec!["terraform".into(), "kubernetes".into()],
        version: "1.0.0".into(),
    });
    let Reply::Created { id: agent } = engine.execute(&orchestrator, register)?.reply else {
        return Err("RegisterAgent did not reply with the agent's id".into());
    };
    let actor = Actor::agent(&agent);
    let mut ids = Vec::with_capacity(n);
    while ids.len() < n {
        let batch = RAISE_BATCH.min(n - ids.len());
        let commands = (ids.len()..ids.len() + batch)
            .map(|i| (actor.clone(), escalation(&agent, i)))
            .collect();
        for outcome in engine.execute_batch(commands)? {
            match outcome?.reply {
                Reply::Created { id } => ids.push(id),
                other => return Err(format!("RaiseEscalation replied {other:?}").into()),
            }
        }
    }
    Ok(ids)
}

fn escalation(agent: &str, i: usize) -> Command {
    Command::RaiseEscalation(RaiseEscalation {
        agent: agent.to_string(),
        category: Category::ScopeChange,
        summary: format!(
            "Extend the cache migration of service {} to the read replicas",
            i % 97
        ),
        context: format!(
            "Task T-{i} asked for the primary only; the replicas show the same stale-read errors \
             (p95 {} ms) and share the schema, so migrating them now avoids a second window.",
            120 + i % 80
        ),
        options_considered: vec![
            "migrate the primary only, as planned".into(),
            "migrate primary and replicas in one window".into(),
        ],
        recommendation: "migrate primary and replicas in one window".into(),
        classification: Classification::Internal,
        related_tasks: vec![format!("T-{i}")],
        tool_call: None,
        session: None,
        callback_url: None,
        policy_rule: None,
    })
}

/// The yardstick: what SQLite itself commits per second with the store's durability settings,
/// one ~500-byte row per `BEGIN IMMEDIATE … COMMIT`.
fn bare_sqlite_loop(path: &Path, n: usize) -> Res<Duration> {
    let conn = rusqlite::Connection::open(path)?;
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    assert!(mode.eq_ignore_ascii_case("wal"), "journal mode {mode}");
    conn.execute_batch(
        "PRAGMA synchronous=FULL;
         CREATE TABLE rows(id INTEGER PRIMARY KEY, at TEXT NOT NULL, body TEXT NOT NULL);",
    )?;
    let body: String = "decision approved by operator:bench; "
        .chars()
        .cycle()
        .take(BARE_ROW_BYTES)
        .collect();
    let (result, elapsed) = timed(|| -> rusqlite::Result<()> {
        for i in 0..n {
            conn.execute_batch("BEGIN IMMEDIATE")?;
            conn.prepare_cached("INSERT INTO rows(id, at, body) VALUES (?1, ?2, ?3)")?
                .execute(rusqlite::params![
                    i as i64,
                    "2026-11-02T00:00:00.000Z",
                    body
                ])?;
            conn.execute_batch("COMMIT")?;
        }
        Ok(())
    });
    result?;
    Ok(elapsed)
}

// ---------------------------------------------------------------------------------------------
// 3. audit verify
// ---------------------------------------------------------------------------------------------

fn verify(base: &Path, table: &mut Table) -> Res<()> {
    let dir = temp_dir(base)?;
    let path = dir.path().join("trail.db");
    let start = timestamp(DEMO_START)?;
    let mut store = Store::open(&path)?;

    eprintln!("verify: building a trail of {TRAIL_RECORDS} audit records ...");
    let (built, build) = timed(|| -> Res<()> {
        let mut seq = 0u64;
        while seq < TRAIL_RECORDS {
            let mut tx = store.write()?;
            let end = (seq + TRAIL_TX).min(TRAIL_RECORDS);
            while seq < end {
                seq += 1;
                let at = start + TimeDelta::milliseconds(seq as i64 * 250);
                tx.append_audit(trail_id(seq, at), at, trail_draft(seq))?;
            }
            tx.commit()?;
        }
        Ok(())
    });
    built?;
    let db_bytes = std::fs::metadata(&path)?.len();

    let mut runs = Vec::with_capacity(VERIFY_RUNS);
    for run in 1..=VERIFY_RUNS {
        eprintln!("verify: audit verify, run {run} of {VERIFY_RUNS} ...");
        let (verification, elapsed) = timed(|| store.verify_audit());
        let verification = verification?;
        assert_eq!(
            verification.first_bad, None,
            "the freshly built trail verifies"
        );
        assert_eq!(
            verification.verified, TRAIL_RECORDS,
            "verify checked every record"
        );
        runs.push(elapsed);
    }
    runs.sort();
    let best = runs[0];
    let median = runs[runs.len() / 2];
    let per_sec = |d: Duration| TRAIL_RECORDS as f64 / d.as_secs_f64();

    table.section(&format!(
        "3. audit verify ({TRAIL_RECORDS} records, {VERIFY_RUNS} runs)"
    ));
    table.info(
        "build: append_audit, 50k per transaction",
        format!(
            "{} ({:.1} s)",
            rate(TRAIL_RECORDS as f64, build, " records/s"),
            build.as_secs_f64()
        ),
    );
    table.info("database size", format!("{:.0} MB", db_bytes as f64 / 1e6));
    for (label, d) in [("verify, best", best), ("verify, median", median)] {
        table.check(
            label,
            format!(
                "{} ({:.2} s)",
                rate(TRAIL_RECORDS as f64, d, " records/s"),
                d.as_secs_f64()
            ),
            format!(">= {} records/s", thousands(VERIFY_TARGET)),
            per_sec(d) >= VERIFY_TARGET,
        );
    }
    Ok(())
}

/// A UUIDv7 at the record's time, unique by its seq: reproducible, like the engine's ids.
fn trail_id(seq: u64, at: Timestamp) -> uuid::Uuid {
    let mut bytes = [0u8; 10];
    bytes[2..].copy_from_slice(&seq.to_be_bytes());
    uuid::Builder::from_unix_timestamp_millis(at.timestamp_millis() as u64, &bytes).into_uuid()
}

/// Record `seq` of a trail shaped like the demo's: mostly executions, some decisions and
/// escalations, across the three domains.
fn trail_draft(seq: u64) -> AuditDraft {
    const DOMAINS: [&str; 3] = ["product", "platform", "operations"];
    let domain = DOMAINS[(seq % 3) as usize];
    let agent = seq % 48 + 1;
    let task = seq / 3;
    match seq % 10 {
        0 => AuditDraft {
            agent_id: "operator:alice".into(),
            action_type: ActionType::Decision,
            domain: domain.into(),
            summary: format!(
                "A-{} approved: raise the {domain} worker pool to 24",
                seq / 10
            ),
            details: AuditDetails {
                context: format!(
                    "queue {domain}/core held {} tasks for 14 minutes; utilisation 0.93",
                    200 + seq % 300
                ),
                options_considered: vec!["keep 16 workers".into(), "raise to 24 workers".into()],
                decision: "approve".into(),
                reasoning: "the backlog clears within the SLA only with the larger pool".into(),
                outcome: "approved (1 of 1)".into(),
            },
            classification: Classification::Internal,
            related_tasks: vec![format!("T-{task}")],
            retention: Retention::Significant,
        },
        1 => AuditDraft {
            agent_id: format!("agent-{agent}"),
            action_type: ActionType::Escalation,
            domain: domain.into(),
            summary: format!(
                "A-{} raised to domain: extend the migration to the replicas",
                seq / 10
            ),
            details: AuditDetails {
                context: "the replicas show the same stale-read errors and share the schema".into(),
                options_considered: vec!["primary only".into(), "primary and replicas".into()],
                decision: "escalate scope_change to domain".into(),
                reasoning: "one maintenance window instead of two".into(),
                outcome: "pending".into(),
            },
            classification: Classification::Internal,
            related_tasks: vec![format!("T-{task}")],
            retention: Retention::Significant,
        },
        _ => AuditDraft {
            agent_id: format!("agent-{agent}"),
            action_type: ActionType::Execution,
            domain: domain.into(),
            summary: format!(
                "T-{task} succeeded: rebuild search index shard {}",
                seq % 64
            ),
            details: AuditDetails {
                context: format!(
                    "leased from {domain}/core after {} s in the queue",
                    seq % 90
                ),
                options_considered: vec![],
                decision: "run the task".into(),
                reasoning: "the agent holds the skills the task asks for".into(),
                outcome: format!("succeeded in {} ms, attempt 1", 800 + seq % 4000),
            },
            classification: Classification::Internal,
            related_tasks: vec![format!("T-{task}")],
            retention: Retention::Standard,
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers: timing, temporary directories, the table
// ---------------------------------------------------------------------------------------------

fn timed<T>(work: impl FnOnce() -> T) -> (T, Duration) {
    let began = Instant::now();
    let out = work();
    (out, began.elapsed())
}

/// The 1-minute load average, where the system tells it (Linux).
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".into())
}

fn temp_dir(base: &Path) -> Res<tempfile::TempDir> {
    Ok(tempfile::Builder::new()
        .prefix("opsdeck-bench-")
        .tempdir_in(base)?)
}

fn timestamp(text: &str) -> Res<DateTime<Utc>> {
    Ok(DateTime::parse_from_rfc3339(text)?.with_timezone(&Utc))
}

fn rate(count: f64, elapsed: Duration, unit: &str) -> String {
    format!("{}{unit}", thousands(count / elapsed.as_secs_f64()))
}

/// 1234567.8 → "1 234 568".
fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

enum Line {
    Section(String),
    Figure {
        name: String,
        figure: String,
        target: String,
        pass: Option<bool>,
    },
}

#[derive(Default)]
struct Table {
    lines: Vec<Line>,
}

impl Table {
    fn section(&mut self, title: &str) {
        self.lines.push(Line::Section(title.to_string()));
    }

    fn info(&mut self, name: &str, figure: String) {
        self.lines.push(Line::Figure {
            name: name.to_string(),
            figure,
            target: String::new(),
            pass: None,
        });
    }

    fn check(&mut self, name: &str, figure: String, target: String, pass: bool) {
        self.lines.push(Line::Figure {
            name: name.to_string(),
            figure,
            target,
            pass: Some(pass),
        });
    }

    fn print(&self) {
        let (mut w_name, mut w_fig, mut w_target) = (11, 6, 6);
        for line in &self.lines {
            if let Line::Figure {
                name,
                figure,
                target,
                ..
            } = line
            {
                w_name = w_name.max(name.chars().count());
                w_fig = w_fig.max(figure.chars().count());
                w_target = w_target.max(target.chars().count());
            }
        }
        let rule = "-".repeat(w_name + w_fig + w_target + 14);
        println!();
        println!(
            "  {:<w_name$}  {:<w_fig$}  {:<w_target$}  result",
            "measurement", "figure", "target"
        );
        for line in &self.lines {
            match line {
                Line::Section(title) => {
                    println!("{rule}");
                    println!("{title}");
                }
                Line::Figure {
                    name,
                    figure,
                    target,
                    pass,
                } => {
                    let verdict = match pass {
                        Some(true) => "PASS",
                        Some(false) => "MISS",
                        None => "",
                    };
                    println!("  {name:<w_name$}  {figure:<w_fig$}  {target:<w_target$}  {verdict}");
                }
            }
        }
        println!("{rule}");
        let checks: Vec<bool> = self
            .lines
            .iter()
            .filter_map(|l| match l {
                Line::Figure { pass, .. } => *pass,
                Line::Section(_) => None,
            })
            .collect();
        let passed = checks.iter().filter(|p| **p).count();
        println!("{passed} of {} targets met", checks.len());
    }
}
