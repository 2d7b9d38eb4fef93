//! Audit search end to end: the query language over a fixed trail, keyset pagination while new
//! records arrive, import of good and bad files, retention then verify; each on SQLite and on
//! PostgreSQL, with the same queries and the same answers.

use std::process::Command;

use chrono::{DateTime, Duration, Utc};
use opsdeck::model::{ActionType, AuditDetails, AuditDraft, Classification, Retention};
use opsdeck::store::Store;

const BIN: &str = env!("CARGO_BIN_EXE_opsdeck");

fn end() -> DateTime<Utc> {
    "2026-11-20T12:00:00Z".parse().unwrap()
}

struct Spec {
    agent: &'static str,
    kind: ActionType,
    domain: &'static str,
    class: Classification,
    summary: &'static str,
    reasoning: &'static str,
    tasks: &'static [&'static str],
    hours_ago: i64,
}

/// Ten records with known fields, oldest first (seq 1..=10).
fn specs() -> Vec<Spec> {
    use ActionType::*;
    use Classification::*;
    let s = |agent, kind, domain, class, summary, reasoning, tasks, hours_ago| Spec {
        agent,
        kind,
        domain,
        class,
        summary,
        reasoning,
        tasks,
        hours_ago,
    };
    vec![
        s(
            "agent-1",
            Escalation,
            "platform",
            Internal,
            "budget exception raised for inference",
            "spend at 92%",
            &["T-1"],
            200,
        ),
        s(
            "operator:priya",
            Decision,
            "platform",
            Sensitive,
            "approved budget exception for inference",
            "within the quarter plan",
            &["T-1"],
            100,
        ),
        s(
            "agent-2",
            Execution,
            "product",
            Public,
            "completed checkout fix",
            "tests green",
            &["T-2"],
            50,
        ),
        s(
            "operator:dana",
            Decision,
            "product",
            Internal,
            "rejected scope change for legacy clients",
            "out of scope this quarter",
            &["T-3"],
            30,
        ),
        s(
            "agent-3",
            Execution,
            "operations",
            Internal,
            "reconciled daily invoices",
            "all matched",
            &["T-4", "T-5"],
            20,
        ),
        s(
            "operator:omar",
            Decision,
            "platform",
            Internal,
            "approved change freeze exception",
            "security fix",
            &["T-6"],
            10,
        ),
        s(
            "agent-1",
            Execution,
            "platform",
            Internal,
            "rotated signing keys",
            "scheduled",
            &[],
            5,
        ),
        s(
            "operator:priya",
            Decision,
            "operations",
            Sensitive,
            "approved budget increase for support",
            "ticket backlog",
            &["T-7"],
            3,
        ),
        s(
            "agent-4",
            Escalation,
            "product",
            Public,
            "customer outage notice drafted",
            "legacy clients affected",
            &["T-2"],
            2,
        ),
        s(
            "operator:kim",
            Decision,
            "platform",
            Internal,
            "rejected budget exception for research",
            "draft numbers only",
            &["T-8"],
            1,
        ),
    ]
}

/// The store a test of this suite runs on: every test runs on SQLite and on PostgreSQL.
#[derive(Clone, Copy)]
enum Backend {
    Sqlite,
    Postgres,
}

/// Runs one test body on both backends.
macro_rules! on_both {
    ($name:ident) => {
        mod $name {
            #[test]
            fn sqlite() {
                super::$name(super::Backend::Sqlite);
            }

            #[test]
            fn postgres() {
                if crate::support::postgres::Postgres::shared().is_some() {
                    super::$name(super::Backend::Postgres);
                }
            }
        }
    };
}

/// A new, empty store named `name` on `backend`: its `--store` argument.
fn fresh(backend: Backend, dir: &std::path::Path, name: &str) -> String {
    match backend {
        Backend::Sqlite => dir.join(format!("{name}.db")).to_str().unwrap().to_string(),
        Backend::Postgres => {
            static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let pg = crate::support::postgres::Postgres::shared().expect("a cluster");
            pg.database(&format!("audit_{name}_{n}"), None)
        }
    }
}

/// Opens the store a `--store` argument names.
fn open(at: &str) -> Store {
    if at.starts_with("postgres://") {
        Store::connect(at, None).unwrap()
    } else {
        Store::open(std::path::Path::new(at)).unwrap()
    }
}

fn fixed_trail(at: &str) -> Store {
    let mut store = open(at);
    let mut write = store.write().unwrap();
    for (n, spec) in specs().into_iter().enumerate() {
        let at = end() - Duration::hours(spec.hours_ago);
        let id =
            uuid::Builder::from_unix_timestamp_millis(at.timestamp_millis() as u64, &[n as u8; 10])
                .into_uuid();
        write
            .append_audit(
                id,
                at,
                AuditDraft {
                    agent_id: spec.agent.into(),
                    action_type: spec.kind,
                    domain: spec.domain.into(),
                    summary: spec.summary.into(),
                    details: AuditDetails {
                        reasoning: spec.reasoning.into(),
                        ..Default::default()
                    },
                    classification: spec.class,
                    related_tasks: spec.tasks.iter().map(|t| t.to_string()).collect(),
                    retention: Retention::Significant,
                },
            )
            .unwrap();
    }
    write.commit().unwrap();
    store
}

/// Appends one plain execution record at `at`.
fn append_plain(store: &mut Store, summary: &str, at: DateTime<Utc>) {
    let mut write = store.write().unwrap();
    let draft = AuditDraft {
        agent_id: "agent-9".into(),
        action_type: ActionType::Execution,
        domain: "product".into(),
        summary: summary.into(),
        details: AuditDetails::default(),
        classification: Classification::Internal,
        related_tasks: vec![],
        retention: Retention::Standard,
    };
    write.append_audit(uuid::Uuid::now_v7(), at, draft).unwrap();
    write.commit().unwrap();
}

fn seqs(store: &Store, query: &str) -> Vec<u64> {
    let filter = opsdeck::query::parse(query, end()).unwrap_or_else(|e| panic!("{query}: {e}"));
    store
        .search_audit(&filter, None, 100)
        .unwrap()
        .iter()
        .map(|r| r.seq)
        .collect()
}

on_both!(every_operator_of_the_query_language_selects_the_right_records);
fn every_operator_of_the_query_language_selects_the_right_records(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let store = fixed_trail(&fresh(backend, dir.path(), "a"));
    let cases: &[(&str, &[u64])] = &[
        ("", &[10, 9, 8, 7, 6, 5, 4, 3, 2, 1]),
        ("domain:platform", &[10, 7, 6, 2, 1]),
        ("type:decision", &[10, 8, 6, 4, 2]),
        ("agent:operator:priya", &[8, 2]),
        ("agent:agent-1", &[7, 1]),
        ("class:sensitive", &[8, 2]),
        ("task:T-2", &[9, 3]),
        ("task:T-5", &[5]),
        ("since:4h", &[10, 9, 8]),
        ("until:2026-11-20T10:00:00Z", &[8, 7, 6, 5, 4, 3, 2, 1]),
        ("since:24h until:4h", &[7, 6, 5]),
        ("budget", &[10, 8, 2, 1]),
        ("budget exception", &[10, 2, 1]),
        ("\"budget exception for\"", &[10, 2]),
        ("budget -research", &[8, 2, 1]),
        ("budget -\"budget exception\"", &[8]),
        ("legacy", &[9, 4]),
        ("quarter", &[4, 2]),
        ("domain:platform type:decision budget", &[10, 2]),
        ("domain:product class:public -outage", &[3]),
        ("type:escalation since:100h", &[9]),
        // Each driver (a task, the text index, the table) with what it does not cover itself.
        ("task:T-1 budget", &[2, 1]),
        ("task:T-1 approved", &[2]),
        ("task:T-2 -outage", &[3]),
        ("task:T-2 legacy -outage", &[]),
        ("task:T-2 since:4h", &[9]),
        ("task:T-1 since:150h", &[2]),
        ("task:T-1 type:decision budget -research", &[2]),
        ("budget since:24h", &[10, 8]),
        ("budget until:2026-11-20T10:00:00Z", &[8, 2, 1]),
        ("budget since:150h until:2h", &[8, 2]),
        ("budget -research since:150h", &[8, 2]),
        ("domain:platform \"budget exception\" since:150h", &[10, 2]),
        ("type:decision -budget", &[6, 4]),
        ("-budget", &[9, 7, 6, 5, 4, 3]),
        ("-legacy -budget", &[7, 6, 5, 3]),
    ];
    for (query, want) in cases {
        assert_eq!(seqs(&store, query), want.to_vec(), "{query}");
        let filter = opsdeck::query::parse(query, end()).unwrap();
        let (n, _) = store.count_audit(&filter, 100).unwrap();
        assert_eq!(n as usize, want.len(), "count of {query}");
        // The next page starts strictly after the first record, whatever drives the query.
        if let Some((first, rest)) = want.split_first() {
            let page: Vec<u64> = store
                .search_audit(&filter, Some(*first), 100)
                .unwrap()
                .iter()
                .map(|r| r.seq)
                .collect();
            assert_eq!(page, rest.to_vec(), "page after {first} of {query}");
        }
    }
    let (n, capped) = store
        .count_audit(&opsdeck::query::parse("budget", end()).unwrap(), 3)
        .unwrap();
    assert_eq!((n, capped), (3, true), "counts stop at the cap and say so");
    let (n, capped) = store
        .count_audit(&opsdeck::query::parse("legacy", end()).unwrap(), 3)
        .unwrap();
    assert_eq!((n, capped), (2, false));
}

on_both!(pages_stay_stable_while_new_records_arrive);
fn pages_stay_stable_while_new_records_arrive(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = fixed_trail(&fresh(backend, dir.path(), "a"));
    let filter = opsdeck::query::parse("", end()).unwrap();
    let first = store.search_audit(&filter, None, 4).unwrap();
    assert_eq!(
        first.iter().map(|r| r.seq).collect::<Vec<_>>(),
        vec![10, 9, 8, 7]
    );
    // A new record lands between two page requests.
    append_plain(&mut store, "late arrival", end());
    let second = store
        .search_audit(&filter, Some(first.last().unwrap().seq), 4)
        .unwrap();
    assert_eq!(
        second.iter().map(|r| r.seq).collect::<Vec<_>>(),
        vec![6, 5, 4, 3]
    );
    let third = store.search_audit(&filter, Some(3), 4).unwrap();
    assert_eq!(third.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![2, 1]);
    // The newcomer is searchable at once: the text index catches up before a word search.
    assert_eq!(seqs(&store, "arrival"), vec![11]);
}

fn run(args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .env("HOME", "/nonexistent")
        .output()
        .unwrap()
}

on_both!(import_checks_every_line_first_and_chains_what_it_imports);
fn import_checks_every_line_first_and_chains_what_it_imports(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let source = fresh(backend, dir.path(), "source");
    drop(fixed_trail(&source));
    let export = dir.path().join("trail.jsonl");
    let out = run(&[
        "--store",
        &source,
        "audit",
        "export",
        "--include-sensitive",
        "--output-file",
        export.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let good = std::fs::read_to_string(&export).unwrap();
    assert_eq!(good.lines().count(), 10);

    // A file with two bad lines imports nothing and names both lines.
    let mut lines: Vec<String> = good.lines().map(String::from).collect();
    lines[3] = lines[3].replace("\"decision\"", "\"verdict\"");
    lines[6] = "{not json".into();
    lines[8] = lines[8].replace("\"timestamp\":\"2026-", "\"timestamp\":\"yesterday-");
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, lines.join("\n")).unwrap();
    let target = fresh(backend, dir.path(), "target");
    let t = target.as_str();
    let out = run(&["--store", t, "audit", "import", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 4: unknown variant `verdict`"), "{err}");
    assert!(
        err.contains("line 7: not valid JSON: key must be a string at column 2"),
        "{err}"
    );
    assert!(
        err.contains("line 9: timestamp \"yesterday-") && err.contains("is not an RFC 3339 time"),
        "{err}"
    );
    assert!(
        !err.contains("line 1 column"),
        "serde_json's own line misleads: {err}"
    );
    assert!(err.contains("nothing was imported"), "{err}");
    let empty = open(&target);
    assert_eq!(empty.head().unwrap().audit_seq, 0, "not half a file");
    drop(empty);

    // The good file imports whole, joins the chain, and importing it again adds nothing.
    let out = run(&[
        "--store",
        t,
        "-o",
        "json",
        "audit",
        "import",
        export.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["records"], 10);
    assert_eq!(report["source"], "chain");
    let again = run(&[
        "--store",
        t,
        "-o",
        "json",
        "audit",
        "import",
        export.to_str().unwrap(),
    ]);
    assert_eq!(again.status.code(), Some(0));
    let again: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(
        (again["records"].as_u64(), again["duplicates"].as_u64()),
        (Some(0), Some(10))
    );
    let store = open(&target);
    let v = store.verify_audit().unwrap();
    assert_eq!(
        (v.verified, v.first_bad),
        (11, None),
        "ten imported and the import's own record"
    );
    assert_eq!(seqs(&store, "\"legacy clients\""), vec![9, 4]);
}

#[test]
fn an_import_killed_midway_leaves_nothing_and_the_store_opens() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let (source, trail, target) = (path("source.db"), path("trail.jsonl"), path("target.db"));
    // Large enough for the bulk journal (imports of 100,000 records or more).
    for args in [
        vec!["--store", &source, "demo", "audit", "--records", "120000"],
        vec![
            "--store",
            &source,
            "audit",
            "export",
            "--include-sensitive",
            "--output-file",
            &trail,
        ],
        vec![
            "--store",
            &target,
            "demo",
            "audit",
            "--records",
            "10",
            "--seed",
            "3",
        ],
    ] {
        let out = run(&args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let journal = std::path::PathBuf::from(format!("{target}-journal"));
    let mut import = Command::new(BIN)
        .args(["--store", &target, "audit", "import", &trail])
        .env("HOME", "/nonexistent")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Killed once the second pass writes through the journal and has written records into
    // the database file itself (the page cache spills past 32 MB).
    let size = |p: &str| std::fs::metadata(p).map_or(0, |m| m.len());
    let before = size(&target);
    let began = std::time::Instant::now();
    while !(journal.metadata().is_ok_and(|m| m.len() > 0) && size(&target) > before + (8 << 20)) {
        assert!(
            import.try_wait().unwrap().is_none(),
            "the import ended before it was killed"
        );
        assert!(began.elapsed() < std::time::Duration::from_secs(300));
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    import.kill().unwrap();
    assert!(!import.wait().unwrap().success());

    let store = Store::open(std::path::Path::new(&target)).unwrap();
    let v = store.verify_audit().unwrap();
    assert_eq!(
        (v.verified, v.first_bad),
        (10, None),
        "nothing of the file was kept"
    );
    assert_eq!(store.as_sqlite().unwrap().journal_mode().unwrap(), "wal");
    assert!(!journal.exists(), "the journal was rolled back and removed");
    drop(store);

    let out = run(&["--store", &target, "-o", "json", "audit", "import", &trail]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (report["first_seq"].as_u64(), report["last_seq"].as_u64()),
        (Some(11), Some(120_010))
    );
    let store = Store::open(std::path::Path::new(&target)).unwrap();
    assert_eq!(store.verify_audit().unwrap().verified, 120_011);
}

on_both!(retention_purges_bodies_and_verify_still_passes);
fn retention_purges_bodies_and_verify_still_passes(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let path = fresh(backend, dir.path(), "old");
    let mut store = open(&path);
    let now = Utc::now();
    let mut write = store.write().unwrap();
    for (days, retention) in [
        (400, Retention::Significant),
        (100, Retention::Standard),
        (30, Retention::Standard),
        (100, Retention::Compliance),
    ] {
        let at = now - Duration::days(days);
        write
            .append_audit(
                uuid::Uuid::now_v7(),
                at,
                AuditDraft {
                    agent_id: "agent-1".into(),
                    action_type: ActionType::Execution,
                    domain: "platform".into(),
                    summary: format!("kept for {} days, {days} old", retention.days()),
                    details: AuditDetails::default(),
                    classification: Classification::Internal,
                    related_tasks: vec!["T-1".into()],
                    retention,
                },
            )
            .unwrap();
    }
    write.commit().unwrap();
    drop(store);
    let p = path.as_str();
    let dry = run(&["--store", p, "-o", "json", "audit", "prune", "--dry-run"]);
    let dry: serde_json::Value = serde_json::from_slice(&dry.stdout).unwrap();
    assert_eq!(dry["by_class"]["standard"], 1);
    assert_eq!(dry["by_class"]["significant"], 1);
    assert_eq!(dry["by_class"]["compliance"], 0);
    let out = run(&["--store", p, "-o", "json", "audit", "verify"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["purged"], 0, "a dry run changes nothing");
    let out = run(&["--store", p, "audit", "prune"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["--store", p, "-o", "json", "audit", "verify"]);
    assert!(out.status.success(), "verify passes after a purge");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["purged"], 2);
    assert_eq!(v["purged_by_class"]["standard"], 1);
    assert_eq!(v["purged_by_class"]["significant"], 1);
    assert!(v["first_bad"].is_null());
    assert_eq!(
        v["purge_records"],
        serde_json::json!([5]),
        "the purge is a chained record"
    );
    let store = open(&path);
    assert_eq!(
        seqs_now(&store, "kept"),
        vec![4, 3],
        "purged bodies leave the text index"
    );
    assert_eq!(seqs_now(&store, "task:T-1"), vec![4, 3]);
}

fn seqs_now(store: &Store, query: &str) -> Vec<u64> {
    let filter = opsdeck::query::parse(query, Utc::now()).unwrap();
    let mut got: Vec<u64> = store
        .search_audit(&filter, None, 100)
        .unwrap()
        .iter()
        .map(|r| r.seq)
        .collect();
    got.retain(|s| *s <= 4);
    got
}

on_both!(time_windows_stay_right_when_older_records_arrive_late);
fn time_windows_stay_right_when_older_records_arrive_late(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = fixed_trail(&fresh(backend, dir.path(), "a"));
    assert!(store.head().unwrap().ts_monotone);
    let old = end() - Duration::hours(300);
    append_plain(&mut store, "imported from an older trail", old);
    assert!(
        !store.head().unwrap().ts_monotone,
        "the late arrival is noticed"
    );
    assert_eq!(seqs(&store, "until:2026-11-13T00:00:00Z"), vec![11, 1]);
    assert_eq!(seqs(&store, "since:24h until:4h"), vec![7, 6, 5]);
    assert_eq!(seqs(&store, "since:4h"), vec![10, 9, 8]);
}
