//! End-to-end tests of the `opsdeck` command line: the real binary, real SQLite files in temp
//! dirs, exit codes (0 ok, 1 runtime, 2 usage, 3 refused) and the words of every error.
//!
//! Most tests start from one demo store (`demo run --seed 7 --duration 2h`), built once per test
//! process and copied into each test's own directory. A demo store lives on its simulated clock,
//! frozen at its end, so nothing in it expires while a test runs.
//!
//! This module holds that fixture and the helpers that run and judge commands; the tests are in
//! one submodule per topic. The rules the engine decides (who may act, four eyes, stale versions,
//! already decided, reasons) are tested on the engine itself (`engine::approvals` and beside it);
//! here one test per concern shows what the command line adds: the exit code, the line on stderr
//! and the `-o` output.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::OnceLock;

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

mod agents;
mod approvals;
mod audit;
mod damage;
mod demo;
mod errors;
mod history;
mod incidents;
mod integrity;
mod listings;
mod output;
mod read_only;
mod rollouts;
mod sensitive;
mod usage;

const BIN: &str = env!("CARGO_BIN_EXE_opsdeck");
const DOMAINS: [&str; 3] = ["product", "platform", "operations"];

// ---------------------------------------------------------------------------------------------
// Fixture: one demo store per test process.
// ---------------------------------------------------------------------------------------------

/// The demo store every `Deck::demo()` copies; written once, by a process that has exited.
fn template() -> &'static Path {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR"));
        remove_stale_templates(root);
        let dir = root.join(format!("cli-fixture-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the fixture dir");
        let store = dir.join("x.db");
        let out = isolated(std::process::Command::new(BIN), &dir)
            .arg("--store")
            .arg(&store)
            .args([
                "demo",
                "run",
                "--seed",
                "7",
                "--duration",
                "2h",
                "-o",
                "json",
            ])
            .output()
            .expect("run opsdeck demo run");
        assert!(
            out.status.success(),
            "demo run failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        store
    })
}

/// Templates of test processes that are gone (Linux: their /proc entry is missing).
fn remove_stale_templates(root: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix("cli-fixture-")
            && !Path::new("/proc").join(pid).exists()
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Points every XDG directory and HOME into `dir` and clears opsdeck's own variables.
fn isolated(mut cmd: std::process::Command, dir: &Path) -> std::process::Command {
    cmd.env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("HOME", dir)
        .env("USER", "tester")
        .env_remove("OPSDECK_STORE")
        .env_remove("OPSDECK_CONFIG")
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .stdin(Stdio::null());
    cmd
}

/// One test's world: a temp dir holding the store, the XDG dirs and config files.
struct Deck {
    dir: TempDir,
    store: PathBuf,
}

impl Deck {
    /// No store file yet.
    fn empty() -> Deck {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = dir.path().join("x.db");
        Deck { dir, store }
    }

    /// A copy of the demo store (seed 7, 2 h).
    fn demo() -> Deck {
        let deck = Deck::empty();
        let template = template();
        std::fs::copy(template, &deck.store).expect("copy the demo store");
        let wal = template.with_extension("db-wal");
        if wal.exists() {
            std::fs::copy(&wal, deck.store.with_extension("db-wal")).expect("copy the WAL");
        }
        deck
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `opsdeck --store <store>`, isolated, with the default config (role enterprise).
    fn cmd(&self) -> Command {
        let mut cmd = Command::from_std(isolated(std::process::Command::new(BIN), self.dir.path()));
        cmd.arg("--store").arg(&self.store);
        cmd
    }

    /// As operator `name` holding `role`, through a config file.
    fn op(&self, name: &str, role: &str) -> Command {
        let mut cmd = self.cmd();
        cmd.arg("--config").arg(self.config(name, role));
        cmd
    }

    fn config(&self, name: &str, role: &str) -> PathBuf {
        let path = self.path(&format!("{name}-{}.toml", role.replace(':', "-")));
        std::fs::write(
            &path,
            format!("[operator]\nname = \"{name}\"\nrole = \"{role}\"\n"),
        )
        .expect("write config");
        path
    }

    /// stdout of a read command that must succeed.
    fn ok(&self, args: &[&str]) -> String {
        success(self.cmd().args(args))
    }

    /// The JSON of a read command that must succeed.
    fn json(&self, args: &[&str]) -> Value {
        parse(&self.ok(&[args, &["-o", "json"]].concat()))
    }

    fn list(&self, args: &[&str]) -> Vec<Value> {
        array(self.json(args))
    }

    fn approval(&self, id: &str) -> Value {
        find(&self.list(&["approvals"]), id)
    }

    fn incident(&self, id: &str) -> Value {
        find(&self.list(&["incidents"]), id)
    }

    fn rollout(&self, id: &str) -> Value {
        find(&self.list(&["rollouts"]), id)
    }

    /// The whole trail in the public schema, one record per line.
    fn export(&self) -> Vec<Value> {
        self.ok(&["audit", "export"]).lines().map(parse).collect()
    }

    /// The first approval that satisfies `want`.
    fn approval_where(&self, what: &str, want: impl Fn(&Value) -> bool) -> Value {
        self.list(&["approvals"])
            .into_iter()
            .find(|a| want(a))
            .unwrap_or_else(|| panic!("the demo store has no approval that is {what}"))
    }

    /// A pending approval at `level` needing `quorum` approvers.
    fn pending(&self, level: &str, quorum: u64) -> Value {
        self.approval_where(&format!("pending at {level} with quorum {quorum}"), |a| {
            s(a, "state") == "pending" && s(a, "level") == level && a["quorum"] == quorum
        })
    }

    fn incident_where(&self, what: &str, want: impl Fn(&Value) -> bool) -> Value {
        self.list(&["incidents"])
            .into_iter()
            .find(|i| want(i))
            .unwrap_or_else(|| panic!("the demo store has no incident that is {what}"))
    }

    fn rollout_where(&self, what: &str, want: impl Fn(&Value) -> bool) -> Value {
        self.list(&["rollouts"])
            .into_iter()
            .find(|r| want(r))
            .unwrap_or_else(|| panic!("the demo store has no rollout that is {what}"))
    }
}

// ---------------------------------------------------------------------------------------------
// Running and judging commands.
// ---------------------------------------------------------------------------------------------

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run opsdeck")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8 output")
}

/// Runs a command that must exit 0; returns its stdout.
fn success(cmd: &mut Command) -> String {
    let out = run(cmd);
    let stderr = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "expected success, got {:?}\nstderr: {stderr}",
        out.status
    );
    assert_no_panic(&stderr);
    text(&out.stdout)
}

/// The JSON printed by a command that must succeed.
fn success_json(cmd: &mut Command) -> Value {
    parse(&success(cmd.args(["-o", "json"])))
}

fn assert_no_panic(stderr: &str) {
    for bad in ["panicked", "RUST_BACKTRACE", "stack backtrace", "Location:"] {
        assert!(
            !stderr.contains(bad),
            "stderr shows a crash ({bad}): {stderr}"
        );
    }
}

/// Runs a command that must exit with `code`; returns (stdout, stderr).
fn exits(cmd: &mut Command, code: i32) -> (String, String) {
    let out = run(cmd);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(
        out.status.code(),
        Some(code),
        "expected exit {code}\nstdout: {stdout}\nstderr: {stderr}"
    );
    assert_no_panic(&stderr);
    assert!(
        !stderr.trim().is_empty(),
        "exit {code} with nothing on stderr"
    );
    (stdout, stderr)
}

/// An error from opsdeck itself: exit `code` and exactly one line, `opsdeck: …`, that mentions
/// every needle. Returns that line.
fn fails(cmd: &mut Command, code: i32, needles: &[&str]) -> String {
    let (_, stderr) = exits(cmd, code);
    assert_eq!(
        stderr.lines().count(),
        1,
        "want one line on stderr: {stderr}"
    );
    assert!(
        stderr.starts_with("opsdeck: "),
        "unprefixed error: {stderr}"
    );
    assert_mentions(&stderr, needles);
    stderr
}

/// An error found by the argument parser: exit 2, `error: …` naming every needle.
fn usage_error(cmd: &mut Command, needles: &[&str]) -> String {
    let (stdout, stderr) = exits(cmd, 2);
    assert!(stdout.is_empty(), "usage error wrote to stdout: {stdout}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert_mentions(&stderr, needles);
    stderr
}

fn assert_mentions(haystack: &str, needles: &[&str]) {
    for needle in needles {
        assert!(
            haystack.contains(needle),
            "expected {needle:?} in: {haystack}"
        );
    }
}

fn parse(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

fn array(v: Value) -> Vec<Value> {
    match v {
        Value::Array(items) => items,
        other => panic!("expected a JSON array, got {other}"),
    }
}

/// A string field.
fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a string in {v}"))
}

fn u(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} is not an unsigned number in {v}"))
}

fn find(items: &[Value], id: &str) -> Value {
    items
        .iter()
        .find(|i| i["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("no {id} in the listing"))
}

/// Decision records about approval `id` (word-bounded: APR-2 is not APR-20).
fn decisions_about(records: &[Value], id: &str) -> Vec<Value> {
    let mark = format!(" {id} (");
    records
        .iter()
        .filter(|r| r["action_type"] == "decision" && s(r, "summary").contains(&mark))
        .cloned()
        .collect()
}

/// A domain other than `domain`.
fn other_domain(domain: &str) -> &'static str {
    DOMAINS
        .into_iter()
        .find(|d| *d != domain)
        .expect("3 domains")
}

/// Checks one listing in all three formats; returns its items.
fn check_listing(deck: &Deck, args: &[&str], fields: &[&str], headers: &[&str]) -> Vec<Value> {
    let items = deck.list(args);
    assert!(!items.is_empty(), "{args:?} listed nothing");
    for item in &items {
        for field in fields {
            assert!(item.get(field).is_some(), "{field} missing in {item}");
        }
    }
    let jsonl = deck.ok(&[args, &["-o", "jsonl"]].concat());
    let lines: Vec<Value> = jsonl.lines().map(parse).collect();
    assert_eq!(lines, items, "jsonl differs from json for {args:?}");
    let table = deck.ok(&[args, &["-o", "table"]].concat());
    let header = table.lines().next().expect("a header row");
    let columns: Vec<&str> = header.split_whitespace().collect();
    for h in headers {
        assert!(columns.contains(h), "no {h} column in {header:?}");
    }
    assert_eq!(
        table.lines().count(),
        items.len() + 1,
        "one row per item plus the header:\n{table}"
    );
    items
}

// ---------------------------------------------------------------------------------------------
// Items the demo store has, shared by several topics.
// ---------------------------------------------------------------------------------------------

fn open_incident(deck: &Deck) -> Value {
    deck.incident_where("open", |i| i["state"] == "open" && i["severity"] != "SEV1")
}

/// A paused rollout whose canary is within bounds (the demo pauses one of them by hand).
fn healthy_paused_rollout(deck: &Deck) -> Value {
    deck.rollout_where("paused with a healthy canary", |r| {
        let h = &r["health"];
        let (rate, base) = (
            h["error_rate"].as_f64().unwrap_or(1.0),
            h["baseline_error_rate"].as_f64().unwrap_or(0.0),
        );
        r["state"] == "paused" && rate <= base + 0.10
    })
}
