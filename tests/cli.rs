//! End-to-end tests of the `opsdeck` command line: the real binary, real SQLite files in temp
//! dirs, exit codes (0 ok, 1 runtime, 2 usage, 3 refused) and the words of every error.
//!
//! Most tests start from one demo store (`demo run --seed 7 --duration 2h`), built once per test
//! process and copied into each test's own directory. A demo store lives on its simulated clock,
//! frozen at its end, so nothing in it expires while a test runs.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::OnceLock;

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

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
// Listings.
// ---------------------------------------------------------------------------------------------

#[test]
fn agents_are_listed_as_json_jsonl_and_table() {
    let deck = Deck::demo();
    let agents = check_listing(
        &deck,
        &["agents"],
        &["id", "name", "domain", "team", "status", "utilization"],
        &["ID", "NAME", "DOMAIN", "TEAM", "STATUS", "UTIL"],
    );
    for a in &agents {
        assert!(
            ["idle", "busy", "paused", "down"].contains(&s(a, "status")),
            "{a}"
        );
        assert!(DOMAINS.contains(&s(a, "domain")), "{a}");
        let util = a["utilization"].as_f64().expect("utilization is a number");
        assert!((0.0..=1.0).contains(&util), "{a}");
    }
    let mut ids: Vec<&str> = agents.iter().map(|a| s(a, "id")).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), agents.len(), "agent ids are unique");
}

#[test]
fn queues_are_listed_as_json_jsonl_and_table() {
    let deck = Deck::demo();
    let queues = check_listing(
        &deck,
        &["queues"],
        &["name", "domain", "depth", "oldest_age_s"],
        &["NAME", "DEPTH", "OLDEST"],
    );
    for q in &queues {
        assert!(
            s(q, "name").starts_with(&format!("{}/", s(q, "domain"))),
            "{q}"
        );
        u(q, "depth");
        u(q, "oldest_age_s");
    }
}

#[test]
fn incidents_are_listed_and_filtered_by_state() {
    let deck = Deck::demo();
    let all = check_listing(
        &deck,
        &["incidents"],
        &[
            "id",
            "severity",
            "state",
            "domain",
            "title",
            "opened_at",
            "target_at",
            "version",
        ],
        &["ID", "SEV", "STATE", "DOMAIN", "TITLE"],
    );
    for i in &all {
        assert!(
            ["SEV1", "SEV2", "SEV3", "SEV4"].contains(&s(i, "severity")),
            "{i}"
        );
        assert!(
            ["open", "acknowledged", "mitigated", "resolved"].contains(&s(i, "state")),
            "{i}"
        );
    }
    let acked = check_listing(
        &deck,
        &["incidents", "--state", "acknowledged"],
        &["id", "state"],
        &["ID", "STATE"],
    );
    let expected: Vec<Value> = all
        .iter()
        .filter(|i| i["state"] == "acknowledged")
        .cloned()
        .collect();
    assert_eq!(acked, expected);
    assert!(acked.len() < all.len(), "the filter filtered nothing");
}

#[test]
fn approvals_are_listed_and_filtered_by_state() {
    let deck = Deck::demo();
    let all = check_listing(
        &deck,
        &["approvals"],
        &[
            "id",
            "state",
            "category",
            "level",
            "domain",
            "requested_by",
            "classification",
            "quorum",
            "votes",
            "expires_at",
            "version",
        ],
        &["ID", "STATE", "LEVEL", "CATEGORY", "QUORUM", "VER"],
    );
    for a in &all {
        assert!(
            ["pending", "approved", "rejected", "expired", "cancelled"].contains(&s(a, "state")),
            "{a}"
        );
        let quorum = u(a, "quorum");
        assert!(quorum == 1 || quorum == 2, "{a}");
        assert!(a["votes"].as_array().expect("votes").len() as u64 <= quorum);
        assert!(u(a, "version") >= 1);
    }
    let pending = deck.list(&["approvals", "--state", "pending"]);
    let expected: Vec<Value> = all
        .iter()
        .filter(|a| a["state"] == "pending")
        .cloned()
        .collect();
    assert!(!pending.is_empty());
    assert_eq!(pending, expected);
}

#[test]
fn rollouts_are_listed_with_their_phases() {
    let deck = Deck::demo();
    let rollouts = check_listing(
        &deck,
        &["rollouts"],
        &["id", "name", "state", "current_phase", "phases", "version"],
        &["ID", "NAME", "STATE", "PHASE", "PERCENT"],
    );
    for r in &rollouts {
        let phases: Vec<(String, u64)> = r["phases"]
            .as_array()
            .expect("phases")
            .iter()
            .map(|p| {
                assert!(
                    ["pending", "active", "done"].contains(&s(p, "state")),
                    "{p}"
                );
                (s(p, "name").to_string(), u(p, "percent"))
            })
            .collect();
        let want = [
            ("canary", 1),
            ("early_majority", 25),
            ("majority", 75),
            ("complete", 100),
        ]
        .map(|(n, p)| (n.to_string(), p));
        assert_eq!(phases, want, "{}", s(r, "id"));
        assert!(want.iter().any(|(n, _)| n == s(r, "current_phase")));
    }
}

#[test]
fn listing_an_unknown_state_is_a_usage_error() {
    let deck = Deck::demo();
    fails(
        deck.cmd().args(["incidents", "--state", "bogus"]),
        2,
        &["\"bogus\"", "open, acknowledged, mitigated, resolved"],
    );
    fails(
        deck.cmd().args(["approvals", "--state", "closed"]),
        2,
        &["\"closed\"", "pending, approved"],
    );
}

#[test]
fn an_ephemeral_store_lists_nothing() {
    let deck = Deck::empty();
    let mut cmd = Command::from_std(isolated(std::process::Command::new(BIN), deck.dir.path()));
    let out = success(cmd.args(["--ephemeral", "agents", "-o", "json"]));
    assert_eq!(parse(&out), Value::Array(vec![]));
    let mut cmd = Command::from_std(isolated(std::process::Command::new(BIN), deck.dir.path()));
    assert_eq!(
        success(cmd.args(["--ephemeral", "approvals", "-o", "table"])).trim(),
        "(none)"
    );
    assert!(!deck.store.exists(), "--ephemeral wrote a file");
}

// ---------------------------------------------------------------------------------------------
// Approvals: approve, reject, escalate.
// ---------------------------------------------------------------------------------------------

#[test]
fn approve_moves_a_pending_item_to_approved_and_bumps_its_version() {
    let deck = Deck::demo();
    let a = deck.pending("enterprise", 1);
    let id = s(&a, "id");
    let got = success_json(deck.op("alice", "enterprise").args([
        "approve",
        id,
        "--reason",
        "capacity is fine",
    ]));
    assert_eq!(got["id"], id);
    assert_eq!(got["state"], "approved");
    assert_eq!(u(&got, "version"), u(&a, "version") + 1);
    assert_eq!(got["votes"][0]["by"], "operator:alice");
    assert_eq!(got["votes"][0]["reason"], "capacity is fine");
    assert_eq!(
        deck.approval(id)["state"],
        "approved",
        "the decision was stored"
    );
}

#[test]
fn reject_moves_a_pending_item_to_rejected() {
    let deck = Deck::demo();
    let a = deck.pending("domain", 1);
    let id = s(&a, "id");
    let got =
        success_json(
            deck.op("alice", "enterprise")
                .args(["reject", id, "-r", "not this sprint"]),
        );
    assert_eq!(got["state"], "rejected");
    assert_eq!(u(&got, "version"), u(&a, "version") + 1);
    assert_eq!(deck.approval(id)["state"], "rejected");
}

#[test]
fn the_table_form_of_a_decision_is_one_readable_line() {
    let deck = Deck::demo();
    let a = deck.pending("enterprise", 1);
    let id = s(&a, "id");
    let line = success(
        deck.op("alice", "enterprise")
            .args(["approve", id, "--reason", "ok", "-o", "table"]),
    );
    assert_eq!(line.lines().count(), 1, "{line}");
    assert_mentions(&line, &[id, "approved", "operator:alice"]);
}

#[test]
fn escalate_moves_a_pending_item_one_level_up() {
    let deck = Deck::demo();
    let a = deck.pending("domain", 1);
    let id = s(&a, "id");
    let got = success_json(deck.op("alice", "enterprise").args([
        "escalate",
        id,
        "--reason",
        "needs budget",
    ]));
    assert_eq!(got["state"], "pending");
    assert_eq!(got["level"], "enterprise");
    assert_eq!(u(&got, "version"), u(&a, "version") + 1);
    let records = deck.export();
    let last = records.last().expect("a record");
    assert_eq!(last["action_type"], "escalation");
    assert_eq!(last["agent_id"], "operator:alice");
    assert_eq!(last["details"]["reasoning"], "needs budget");
    assert!(s(last, "summary").contains(id), "{last}");
}

#[test]
fn escalate_stops_at_the_executive_level() {
    let deck = Deck::demo();
    let a = deck.pending("enterprise", 1);
    let id = s(&a, "id");
    let got = success_json(deck.op("alice", "enterprise").args([
        "escalate",
        id,
        "--reason",
        "strategic",
    ]));
    assert_eq!(got["level"], "executive");
    assert_eq!(u(&got, "quorum"), 2, "executive items need four eyes");
    fails(
        deck.op("erin", "executive")
            .args(["escalate", id, "--reason", "higher"]),
        3,
        &["executive", "cannot be escalated further"],
    );
}

#[test]
fn deciding_an_unknown_approval_names_the_id() {
    let deck = Deck::demo();
    for verb in ["approve", "reject", "escalate"] {
        fails(
            deck.op("alice", "enterprise")
                .args([verb, "APR-9999", "--reason", "x"]),
            1,
            &["\"APR-9999\"", "opsdeck approvals"],
        );
    }
}

#[test]
fn deciding_without_a_reason_is_a_usage_error() {
    let deck = Deck::demo();
    let id = s(&deck.pending("enterprise", 1), "id").to_string();
    for verb in ["approve", "reject", "escalate"] {
        usage_error(
            deck.op("alice", "enterprise").args([verb, &id]),
            &["--reason"],
        );
    }
    assert_eq!(deck.approval(&id)["state"], "pending");
}

#[test]
fn a_blank_reason_is_a_usage_error() {
    let deck = Deck::demo();
    let id = s(&deck.pending("enterprise", 1), "id").to_string();
    for verb in ["approve", "reject", "escalate"] {
        fails(
            deck.op("alice", "enterprise")
                .args([verb, &id, "--reason", "  "]),
            2,
            &["reason is required", &id],
        );
    }
    assert_eq!(deck.approval(&id)["state"], "pending");
}

#[test]
fn a_reason_longer_than_4000_characters_is_a_usage_error() {
    let deck = Deck::demo();
    let id = s(&deck.pending("enterprise", 1), "id").to_string();
    let long = "x".repeat(4001);
    fails(
        deck.op("alice", "enterprise")
            .args(["approve", &id, "--reason", &long]),
        2,
        &["longer than 4000 characters"],
    );
    assert_eq!(deck.approval(&id)["state"], "pending");
}

#[test]
fn a_stale_version_is_refused_and_the_current_one_accepted() {
    let deck = Deck::demo();
    let a = deck.pending("domain", 1);
    let (id, seen) = (s(&a, "id"), u(&a, "version"));
    // Someone else moves it on after we looked.
    success(
        deck.op("bob", "enterprise")
            .args(["escalate", id, "--reason", "wider view"]),
    );
    let line = fails(
        deck.op("alice", "enterprise").args([
            "approve",
            id,
            "--reason",
            "ok",
            "--version",
            &seen.to_string(),
        ]),
        3,
        &[id, "changed since you saw it"],
    );
    assert_mentions(
        &line,
        &[&format!("version {seen}"), &format!("now {}", seen + 1)],
    );
    let got = success_json(deck.op("alice", "enterprise").args([
        "approve",
        id,
        "--reason",
        "ok",
        "--version",
        &(seen + 1).to_string(),
    ]));
    assert_eq!(got["state"], "approved");
}

#[test]
fn an_approval_is_decided_once() {
    let deck = Deck::demo();
    let id = s(&deck.pending("enterprise", 1), "id").to_string();
    success(
        deck.op("alice", "enterprise")
            .args(["approve", &id, "--reason", "ok"]),
    );
    for verb in ["approve", "reject", "escalate"] {
        fails(
            deck.op("bob", "enterprise")
                .args([verb, &id, "--reason", "me too"]),
            3,
            &[&id, "already approved", "operator:alice"],
        );
    }
    assert_eq!(decisions_about(&deck.export(), &id).len(), 1);
}

#[test]
fn a_viewer_may_not_decide() {
    let deck = Deck::demo();
    let id = s(&deck.pending("domain", 1), "id").to_string();
    for verb in ["approve", "reject", "escalate"] {
        fails(
            deck.op("vic", "viewer").args([verb, &id, "--reason", "x"]),
            3,
            &["viewer", "read-only"],
        );
    }
    assert_eq!(deck.approval(&id)["state"], "pending");
}

#[test]
fn an_oncall_role_decides_its_own_domain_only() {
    let deck = Deck::demo();
    let a = deck.pending("domain", 1);
    let (id, domain) = (s(&a, "id"), s(&a, "domain"));
    let stranger = format!("oncall:{}", other_domain(domain));
    fails(
        deck.op("olga", &stranger)
            .args(["approve", id, "--reason", "x"]),
        3,
        &[&stranger, &format!("belongs to {domain}")],
    );
    assert_eq!(deck.approval(id)["state"], "pending");
    let got = success_json(
        deck.op("olga", &format!("oncall:{domain}"))
            .args(["approve", id, "--reason", "mine"]),
    );
    assert_eq!(got["state"], "approved");
}

#[test]
fn a_domain_role_may_not_decide_an_enterprise_item() {
    let deck = Deck::demo();
    let a = deck.pending("enterprise", 1);
    let (id, domain) = (s(&a, "id"), s(&a, "domain"));
    fails(
        deck.op("lee", &format!("lead:{domain}"))
            .args(["approve", id, "--reason", "x"]),
        3,
        &["enterprise level", "domain level"],
    );
}

#[test]
fn a_quorum_of_two_needs_two_distinct_operators() {
    let deck = Deck::demo();
    let a = deck.approval_where("pending with quorum 2", |a| {
        a["state"] == "pending" && a["quorum"] == 2
    });
    let (id, v) = (s(&a, "id"), u(&a, "version"));
    let first = success_json(deck.op("alice", "enterprise").args([
        "--as",
        "alice",
        "approve",
        id,
        "--reason",
        "looks right",
    ]));
    assert_eq!(first["state"], "pending", "one approval of two");
    assert_eq!(first["votes"].as_array().expect("votes").len(), 1);
    assert_eq!(u(&first, "version"), v + 1);
    fails(
        deck.op("alice", "enterprise")
            .args(["--as", "alice", "approve", id, "--reason", "again"]),
        3,
        &["alice", "already approved", "different operator"],
    );
    let second = success_json(
        deck.op("alice", "enterprise")
            .args(["--as", "bob", "approve", id, "--reason", "agreed"]),
    );
    assert_eq!(second["state"], "approved");
    assert_eq!(u(&second, "version"), v + 2);
    let by: Vec<&str> = second["votes"]
        .as_array()
        .expect("votes")
        .iter()
        .map(|vote| s(vote, "by"))
        .collect();
    assert_eq!(by, ["operator:alice", "operator:bob"]);
    assert_eq!(decisions_about(&deck.export(), id).len(), 2);
}

#[test]
fn a_decision_is_in_the_audit_trail_with_operator_and_reason() {
    let deck = Deck::demo();
    let before = deck.export().len();
    let id = s(&deck.pending("enterprise", 1), "id").to_string();
    let reason = "quarterly capacity review agreed";
    success(
        deck.op("alice", "enterprise")
            .args(["approve", &id, "--reason", reason]),
    );

    let found = deck.list(&["audit", "search", "type:decision", "quarterly", "capacity"]);
    assert_eq!(found.len(), 1, "{found:?}");
    let record = &found[0];
    assert_eq!(record["agent_id"], "operator:alice");
    assert_eq!(record["details"]["reasoning"], reason);
    assert_eq!(record["details"]["decision"], "approve");
    assert!(s(record, "summary").contains(&id), "{record}");

    let trail = deck.export();
    assert_eq!(trail.len(), before + 1, "one record per decision");
    let mine = decisions_about(&trail, &id);
    assert_eq!(mine.len(), 1);
    assert_eq!(&mine[0], record, "search and export agree");
    assert_eq!(&trail[before], record, "the decision is the newest record");
    let verify = parse(&success(deck.cmd().args(["audit", "verify", "-o", "json"])));
    assert_eq!(u(&verify, "verified") as usize, before + 1);
}

#[test]
fn a_rejection_reads_rejected_in_the_audit_trail() {
    let deck = Deck::demo();
    let id = s(&deck.pending("domain", 1), "id").to_string();
    success(
        deck.op("alice", "enterprise")
            .args(["reject", &id, "--reason", "no"]),
    );
    let mine = decisions_about(&deck.export(), &id);
    assert_eq!(mine.len(), 1);
    let summary = s(&mine[0], "summary");
    assert!(summary.starts_with(&format!("rejected {id} ")), "{summary}");
}

// ---------------------------------------------------------------------------------------------
// Incidents.
// ---------------------------------------------------------------------------------------------

fn open_incident(deck: &Deck) -> Value {
    deck.incident_where("open", |i| i["state"] == "open" && i["severity"] != "SEV1")
}

#[test]
fn incident_ack_acknowledges_once() {
    let deck = Deck::demo();
    let i = open_incident(&deck);
    let id = s(&i, "id");
    let got = success_json(deck.op("alice", "enterprise").args(["incident", "ack", id]));
    assert_eq!(got["state"], "acknowledged");
    assert_eq!(got["acked_by"], "operator:alice");
    assert_eq!(u(&got, "version"), u(&i, "version") + 1);
    fails(
        deck.op("bob", "enterprise").args(["incident", "ack", id]),
        3,
        &[id, "already acknowledged"],
    );
}

#[test]
fn incident_escalate_raises_the_severity_one_step() {
    let deck = Deck::demo();
    let i = open_incident(&deck);
    let id = s(&i, "id");
    let from: u8 = s(&i, "severity")[3..].parse().expect("SEVn");
    let got = success_json(
        deck.op("alice", "enterprise")
            .args(["incident", "escalate", id]),
    );
    assert_eq!(got["severity"], format!("SEV{}", from - 1));
    assert_eq!(u(&got, "version"), u(&i, "version") + 1);
    assert_eq!(deck.incident(id)["severity"], format!("SEV{}", from - 1));
}

#[test]
fn incident_note_needs_text_and_lands_on_the_timeline() {
    let deck = Deck::demo();
    let id = s(&open_incident(&deck), "id").to_string();
    fails(
        deck.op("alice", "enterprise")
            .args(["incident", "note", &id]),
        2,
        &["--note"],
    );
    fails(
        deck.op("alice", "enterprise")
            .args(["incident", "note", &id, "--note", "   "]),
        2,
        &["--note"],
    );
    let got = success_json(deck.op("alice", "enterprise").args([
        "incident",
        "note",
        &id,
        "--note",
        "disk on db-3 is full",
    ]));
    let last = got["timeline"]
        .as_array()
        .and_then(|t| t.last())
        .cloned()
        .expect("a timeline");
    assert_eq!(last["kind"], "note");
    assert_eq!(last["text"], "disk on db-3 is full");
    assert_eq!(last["by"], "operator:alice");
}

#[test]
fn incident_mitigate_then_resolve_and_a_resolved_incident_refuses_more() {
    let deck = Deck::demo();
    let id = s(&open_incident(&deck), "id").to_string();
    let op = || deck.op("alice", "enterprise");
    let got = success_json(op().args(["incident", "mitigate", &id]));
    assert_eq!(got["state"], "mitigated");
    let got = success_json(op().args(["incident", "resolve", &id, "--note", "rolled back"]));
    assert_eq!(got["state"], "resolved");
    assert_eq!(got["resolved_by"], "operator:alice");
    for action in ["ack", "escalate", "mitigate", "resolve"] {
        fails(
            op().args(["incident", action, &id]),
            3,
            &[&id, "already resolved"],
        );
    }
    let resolved = deck.list(&["incidents", "--state", "resolved"]);
    assert!(resolved.iter().any(|i| i["id"] == id.as_str()));
}

#[test]
fn incident_declare_opens_a_new_incident() {
    let deck = Deck::demo();
    let before = deck.list(&["incidents"]).len();
    let got = success_json(deck.op("alice", "enterprise").args([
        "incident",
        "declare",
        "--severity",
        "sev2",
        "--domain",
        "platform",
        "--title",
        "database latency doubled",
    ]));
    let id = s(&got, "id");
    assert_eq!(got["state"], "open");
    assert_eq!(got["severity"], "SEV2");
    assert_eq!(got["domain"], "platform");
    assert_eq!(got["title"], "database latency doubled");
    assert_eq!(deck.list(&["incidents"]).len(), before + 1);
    assert_eq!(deck.incident(id)["title"], "database latency doubled");
    let last = deck.export().pop().expect("a record");
    assert_eq!(last["agent_id"], "operator:alice");
    assert!(s(&last, "summary").contains(id), "{last}");
}

#[test]
fn incident_declare_checks_severity_domain_and_title() {
    let deck = Deck::demo();
    let declare = |sev: &str, domain: &str, title: &str| {
        let mut cmd = deck.op("alice", "enterprise");
        cmd.args([
            "incident",
            "declare",
            "--severity",
            sev,
            "--domain",
            domain,
            "--title",
            title,
        ]);
        cmd
    };
    usage_error(
        &mut declare("SEV9", "platform", "x"),
        &["SEV9", "SEV1, SEV2, SEV3 or SEV4"],
    );
    fails(&mut declare("SEV2", "nowhere", "x"), 2, &["\"nowhere\""]);
    fails(&mut declare("SEV2", "platform", "  "), 2, &["title"]);
}

#[test]
fn incident_actions_on_an_unknown_id_name_it() {
    let deck = Deck::demo();
    fails(
        deck.op("alice", "enterprise")
            .args(["incident", "ack", "INC-999"]),
        1,
        &["\"INC-999\"", "opsdeck incidents"],
    );
}

#[test]
fn incident_actions_respect_roles() {
    let deck = Deck::demo();
    let i = open_incident(&deck);
    let (id, domain) = (s(&i, "id"), s(&i, "domain"));
    fails(
        deck.op("vic", "viewer").args(["incident", "ack", id]),
        3,
        &["viewer"],
    );
    fails(
        deck.op("olga", &format!("oncall:{}", other_domain(domain)))
            .args(["incident", "ack", id]),
        3,
        &[&format!("belongs to {domain}")],
    );
    let got = success_json(
        deck.op("olga", &format!("oncall:{domain}"))
            .args(["incident", "ack", id]),
    );
    assert_eq!(got["acked_by"], "operator:olga");
}

// ---------------------------------------------------------------------------------------------
// Rollouts.
// ---------------------------------------------------------------------------------------------

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

#[test]
fn rollout_resume_then_pause_with_a_reason() {
    let deck = Deck::demo();
    let r = healthy_paused_rollout(&deck);
    let (id, v) = (s(&r, "id"), u(&r, "version"));
    let op = || deck.op("alice", "enterprise");
    let got = success_json(op().args(["rollout", "resume", id]));
    assert_eq!(got["state"], "progressing");
    assert_eq!(u(&got, "version"), v + 1);
    fails(op().args(["rollout", "resume", id]), 3, &[id, "not paused"]);
    let got = success_json(op().args(["rollout", "pause", id, "--reason", "error budget"]));
    assert_eq!(got["state"], "paused");
    assert_eq!(got["paused_reason"], "error budget");
    assert_eq!(u(&got, "version"), v + 2);
    assert_eq!(deck.rollout(id)["state"], "paused");
}

#[test]
fn rollout_pause_and_abort_need_a_reason() {
    let deck = Deck::demo();
    let id = s(&healthy_paused_rollout(&deck), "id").to_string();
    success(
        deck.op("alice", "enterprise")
            .args(["rollout", "resume", &id]),
    );
    for verb in ["pause", "abort"] {
        fails(
            deck.op("alice", "enterprise").args(["rollout", verb, &id]),
            2,
            &["reason is required", "rollout"],
        );
        fails(
            deck.op("alice", "enterprise")
                .args(["rollout", verb, &id, "--reason", " "]),
            2,
            &["reason is required"],
        );
    }
    assert_eq!(deck.rollout(&id)["state"], "progressing");
}

#[test]
fn rollout_abort_rolls_back() {
    let deck = Deck::demo();
    let r = healthy_paused_rollout(&deck);
    let id = s(&r, "id");
    let got = success_json(deck.op("alice", "enterprise").args([
        "rollout",
        "abort",
        id,
        "--reason",
        "customer reports",
    ]));
    assert_eq!(got["state"], "rolling_back");
    assert_eq!(u(&got, "version"), u(&r, "version") + 1);
    let last = deck.export().pop().expect("a record");
    assert_eq!(last["details"]["reasoning"], "customer reports");
    assert_eq!(last["agent_id"], "operator:alice");
}

#[test]
fn rollout_promote_advances_a_healthy_rollout_one_phase() {
    let deck = Deck::demo();
    let r = healthy_paused_rollout(&deck);
    let id = s(&r, "id");
    let names = ["canary", "early_majority", "majority", "complete"];
    let at = |phase: &str| names.iter().position(|n| *n == phase).expect("known phase");
    let from = at(s(&r, "current_phase"));
    let got = success_json(
        deck.op("alice", "enterprise")
            .args(["rollout", "promote", id]),
    );
    assert_eq!(at(s(&got, "current_phase")), from + 1, "{got}");
    let want = if from + 1 == names.len() - 1 {
        "completed"
    } else {
        "progressing"
    };
    assert_eq!(got["state"], want);
}

#[test]
fn rollout_promote_refuses_a_bad_canary_and_a_finished_rollout() {
    let deck = Deck::demo();
    let sick = deck.rollout_where("paused with a bad canary", |r| {
        r["state"] == "paused"
            && r["health"]["error_rate"].as_f64().unwrap_or(0.0)
                > r["health"]["baseline_error_rate"].as_f64().unwrap_or(0.0) + 0.10
    });
    let id = s(&sick, "id");
    fails(
        deck.op("alice", "enterprise")
            .args(["rollout", "promote", id]),
        3,
        &[id, "unhealthy canary"],
    );
    let done = deck.rollout_where("completed", |r| r["state"] == "completed");
    let id = s(&done, "id");
    fails(
        deck.op("alice", "enterprise")
            .args(["rollout", "promote", id]),
        3,
        &[id, "completed"],
    );
}

#[test]
fn rollout_unknown_id_or_action() {
    let deck = Deck::demo();
    fails(
        deck.op("alice", "enterprise")
            .args(["rollout", "promote", "RO-99"]),
        1,
        &["\"RO-99\"", "opsdeck rollouts"],
    );
    usage_error(
        deck.op("alice", "enterprise")
            .args(["rollout", "explode", "RO-1"]),
        &["explode", "promote, pause, resume, abort"],
    );
}

#[test]
fn rollout_with_a_stale_version_is_refused() {
    let deck = Deck::demo();
    let r = healthy_paused_rollout(&deck);
    let (id, v) = (s(&r, "id"), u(&r, "version"));
    fails(
        deck.op("alice", "enterprise").args([
            "rollout",
            "resume",
            id,
            "--version",
            &(v + 7).to_string(),
        ]),
        3,
        &[id, "changed since you saw it"],
    );
    assert_eq!(deck.rollout(id)["state"], "paused");
}

// ---------------------------------------------------------------------------------------------
// Agents.
// ---------------------------------------------------------------------------------------------

#[test]
fn agent_pause_then_resume() {
    let deck = Deck::demo();
    let agent = deck
        .list(&["agents"])
        .into_iter()
        .find(|a| a["status"] == "busy" || a["status"] == "idle")
        .expect("a working agent");
    let id = s(&agent, "id");
    let op = || deck.op("alice", "enterprise");
    let got = success_json(op().args(["agent", "pause", id, "--reason", "noisy"]));
    assert_eq!(got["status"], "paused");
    assert_eq!(got["paused_reason"], "noisy");
    fails(
        op().args(["agent", "pause", id, "--reason", "again"]),
        3,
        &[id, "already paused"],
    );
    let listed = find(&deck.list(&["agents"]), id);
    assert_eq!(listed["status"], "paused");
    let got = success_json(op().args(["agent", "resume", id]));
    assert_ne!(got["status"], "paused");
    fails(op().args(["agent", "resume", id]), 3, &[id, "not paused"]);
}

#[test]
fn agent_pause_needs_a_reason_and_a_known_agent() {
    let deck = Deck::demo();
    fails(
        deck.op("alice", "enterprise")
            .args(["agent", "pause", "agent-1"]),
        2,
        &["--reason"],
    );
    fails(
        deck.op("alice", "enterprise")
            .args(["agent", "resume", "agent-999"]),
        1,
        &["\"agent-999\"", "opsdeck agents"],
    );
}

// ---------------------------------------------------------------------------------------------
// Read-only.
// ---------------------------------------------------------------------------------------------

#[test]
fn read_only_refuses_every_change_and_still_lists() {
    let deck = Deck::demo();
    let before = deck.export().len();
    let approval = s(&deck.pending("enterprise", 1), "id").to_string();
    let incident = s(&open_incident(&deck), "id").to_string();
    let rollout = s(&healthy_paused_rollout(&deck), "id").to_string();
    let changes: Vec<Vec<&str>> = vec![
        vec!["approve", &approval, "--reason", "x"],
        vec!["reject", &approval, "--reason", "x"],
        vec!["escalate", &approval, "--reason", "x"],
        vec!["incident", "ack", &incident],
        vec![
            "incident",
            "declare",
            "--severity",
            "SEV3",
            "--domain",
            "product",
            "--title",
            "x",
        ],
        vec!["rollout", "resume", &rollout],
        vec!["agent", "pause", "agent-1", "--reason", "x"],
    ];
    for args in changes {
        fails(
            deck.op("alice", "enterprise")
                .arg("--read-only")
                .args(&args),
            3,
            &["read-only", "drop --read-only"],
        );
    }
    assert_eq!(deck.export().len(), before, "nothing was written");
    assert_eq!(deck.approval(&approval)["state"], "pending");
    let listed = parse(&success(deck.cmd().args([
        "--read-only",
        "approvals",
        "-o",
        "json",
    ])));
    assert!(!array(listed).is_empty());
    success(deck.cmd().args(["--read-only", "audit", "verify"]));
}

#[test]
fn read_only_refuses_a_demo_run() {
    let deck = Deck::empty();
    fails(
        deck.cmd()
            .args(["--read-only", "demo", "run", "--duration", "10m"]),
        3,
        &["read-only"],
    );
}

// ---------------------------------------------------------------------------------------------
// The audit trail.
// ---------------------------------------------------------------------------------------------

#[test]
fn audit_verify_reports_the_count_on_a_demo_store() {
    let deck = Deck::demo();
    let n = deck.export().len();
    assert!(n > 100, "a 2 h demo writes a real trail");
    let v = parse(&success(deck.cmd().args(["audit", "verify", "-o", "json"])));
    assert_eq!(u(&v, "verified") as usize, n);
    assert!(v["first_bad"].is_null(), "{v}");
    let line = success(deck.cmd().args(["audit", "verify", "-o", "table"]));
    assert_mentions(&line, &["intact", &format!("{n} records verified")]);
}

/// Changes the store behind opsdeck's back.
fn tamper(deck: &Deck, sql: &str) {
    let conn = rusqlite::Connection::open(&deck.store).expect("open the store");
    let changed = conn.execute(sql, []).expect("tamper");
    assert_eq!(changed, 1, "{sql} changed {changed} rows");
}

fn assert_verify_breaks_at(deck: &Deck, seq: u64) {
    let (stdout, stderr) = exits(deck.cmd().args(["audit", "verify", "-o", "json"]), 1);
    let v = parse(&stdout);
    assert_eq!(u(&v["first_bad"], "seq"), seq, "{v}");
    assert_eq!(u(&v, "verified"), seq - 1);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert_mentions(&stderr, &[&format!("seq {seq}"), "backup"]);
    let (table, _) = exits(deck.cmd().args(["audit", "verify", "-o", "table"]), 1);
    assert_mentions(&table, &[&format!("BROKEN at seq {seq}")]);
}

#[test]
fn audit_verify_names_a_record_whose_body_was_changed() {
    let deck = Deck::demo();
    tamper(
        &deck,
        "UPDATE audit SET body = replace(body, 'a', 'b') WHERE seq = 42",
    );
    assert_verify_breaks_at(&deck, 42);
}

#[test]
fn audit_verify_names_a_record_whose_header_was_changed() {
    let deck = Deck::demo();
    tamper(&deck, "UPDATE audit SET domain = 'x' WHERE seq = 7");
    assert_verify_breaks_at(&deck, 7);
}

#[test]
fn audit_verify_names_a_gap_in_the_sequence() {
    let deck = Deck::demo();
    tamper(&deck, "DELETE FROM audit WHERE seq = 100");
    assert_verify_breaks_at(&deck, 100);
}

#[test]
fn audit_export_writes_the_public_schema_with_a_gapless_chain() {
    let deck = Deck::demo();
    let records = deck.export();
    assert!(!records.is_empty());
    let keys = [
        "action_type",
        "agent_id",
        "classification",
        "details",
        "domain",
        "hash",
        "id",
        "prev_hash",
        "related_tasks",
        "retention",
        "seq",
        "summary",
        "timestamp",
    ];
    let detail_keys = [
        "context",
        "decision",
        "options_considered",
        "outcome",
        "reasoning",
    ];
    let mut prev_hash = "0".repeat(64);
    for (i, r) in records.iter().enumerate() {
        let obj = r.as_object().expect("an object");
        let mut have: Vec<&str> = obj.keys().map(String::as_str).collect();
        have.sort();
        assert_eq!(have, keys, "record {i}");
        let mut have: Vec<&str> = r["details"]
            .as_object()
            .expect("details")
            .keys()
            .map(String::as_str)
            .collect();
        have.sort();
        assert_eq!(have, detail_keys, "record {i}");
        assert_eq!(u(r, "seq"), i as u64 + 1, "seqs are 1..N without gaps");
        assert_eq!(
            s(r, "prev_hash"),
            prev_hash,
            "seq {} links to the one before",
            i + 1
        );
        prev_hash = s(r, "hash").to_string();
        assert_eq!(prev_hash.len(), 64);
        assert!(
            ["decision", "execution", "escalation"].contains(&s(r, "action_type")),
            "{r}"
        );
        assert!(["public", "internal", "sensitive"].contains(&s(r, "classification")));
        assert!(["standard", "significant", "compliance"].contains(&s(r, "retention")));
        assert!(DOMAINS.contains(&s(r, "domain")), "{r}");
        let ts = s(r, "timestamp");
        assert!(
            chrono::DateTime::parse_from_rfc3339(ts).is_ok() && ts.ends_with('Z'),
            "RFC 3339 UTC: {ts}"
        );
        assert!(uuid::Uuid::parse_str(s(r, "id")).is_ok(), "{r}");
        assert!(r["related_tasks"].is_array());
        assert!(r["details"]["options_considered"].is_array());
    }
}

#[test]
fn audit_export_to_a_file_says_how_many() {
    let deck = Deck::demo();
    let n = deck.export().len();
    let file = deck.path("trail.jsonl");
    let out = run(deck
        .cmd()
        .args(["audit", "export", "--output-file"])
        .arg(&file));
    assert!(out.status.success());
    assert!(
        out.stdout.is_empty(),
        "the trail went to the file, not stdout"
    );
    assert_mentions(
        &text(&out.stderr),
        &[&format!("exported {n} audit records")],
    );
    let written = std::fs::read_to_string(&file).expect("the file");
    assert_eq!(written.lines().count(), n);
    assert_eq!(written, deck.ok(&["audit", "export"]));
    fails(
        deck.cmd()
            .args(["audit", "export", "--output-file"])
            .arg(deck.path("no/such/dir/trail.jsonl")),
        1,
        &["cannot create"],
    );
}

#[test]
fn audit_search_filters_by_domain_and_type() {
    let deck = Deck::demo();
    let found = deck.list(&["audit", "search", "domain:platform", "type:escalation"]);
    assert!(!found.is_empty());
    for r in &found {
        assert_eq!(r["domain"], "platform");
        assert_eq!(r["action_type"], "escalation");
    }
    let seqs: Vec<u64> = found.iter().map(|r| u(r, "seq")).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] > w[1]),
        "newest first: {seqs:?}"
    );
    let limited = deck.list(&["audit", "search", "type:decision", "--limit", "5"]);
    assert_eq!(limited.len(), 5);
    let expected: usize = deck
        .export()
        .iter()
        .filter(|r| r["domain"] == "platform" && r["action_type"] == "escalation")
        .count();
    assert_eq!(found.len(), expected.min(50), "default limit 50");
}

#[test]
fn audit_search_matches_free_words() {
    let deck = Deck::demo();
    let found = deck.list(&["audit", "search", "legacy", "clients", "--limit", "1000"]);
    assert!(!found.is_empty());
    for r in &found {
        let all = r.to_string().to_lowercase();
        assert!(all.contains("legacy") && all.contains("clients"), "{r}");
    }
    let table = deck.ok(&["audit", "search", "legacy", "-o", "table", "--limit", "3"]);
    let header: Vec<&str> = table
        .lines()
        .next()
        .expect("header")
        .split_whitespace()
        .collect();
    assert_eq!(header[..3], ["SEQ", "TIME", "ACTOR"]);
    assert_eq!(table.lines().count(), 5, "header, three rows, the count");
    assert!(
        table.lines().last().unwrap().starts_with("showing 3 of "),
        "{table}"
    );
    let nothing = deck.list(&["audit", "search", "zzzqqqxxx"]);
    assert!(nothing.is_empty());
}

#[test]
fn audit_search_rejects_unknown_fields_and_types() {
    let deck = Deck::demo();
    fails(
        deck.cmd().args(["audit", "search", "owner:x"]),
        2,
        &["unknown field owner", "domain:", "type:"],
    );
    fails(
        deck.cmd().args(["audit", "search", "type:bogus"]),
        2,
        &["type:bogus", "decision", "column"],
    );
    fails(
        deck.cmd().args(["audit", "search", "x", "--limit", "0"]),
        2,
        &["--limit"],
    );
    usage_error(deck.cmd().args(["audit", "search"]), &["QUERY"]);
}

#[test]
fn audit_search_minus_word_does_not_return_that_word() {
    let deck = Deck::demo();
    let out = run(deck
        .cmd()
        .args(["audit", "search", "-o", "json", "--", "-legacy"]));
    match out.status.code() {
        // Refusing the term until exclusion exists is fine too.
        Some(2) => {}
        Some(0) => {
            for r in array(parse(&text(&out.stdout))) {
                assert!(!r.to_string().to_lowercase().contains("legacy"), "{r}");
            }
        }
        other => panic!("exit {other:?}: {}", text(&out.stderr)),
    }
}

#[test]
fn audit_search_domain_without_a_value_says_what_is_missing() {
    let deck = Deck::demo();
    let line = fails(
        deck.cmd().args(["audit", "search", "domain:"]),
        2,
        &["domain"],
    );
    assert!(!line.contains("unknown field"), "{line}");
}

// ---------------------------------------------------------------------------------------------
// Text from outside reaches the terminal only through SafeText.
// ---------------------------------------------------------------------------------------------

#[test]
fn control_and_bidi_characters_are_shown_not_sent_to_the_terminal() {
    let deck = Deck::demo();
    let title = "evil\u{1b}[2Jtitle\u{202E}";
    let line = success(deck.op("alice", "enterprise").args([
        "incident",
        "declare",
        "--severity",
        "SEV3",
        "--domain",
        "product",
        "--title",
        title,
        "-o",
        "table",
    ]));
    let listing = deck.ok(&["incidents", "-o", "table"]);
    let trail = deck.ok(&["audit", "search", "evil", "-o", "table"]);
    for out in [&line, &listing, &trail] {
        assert!(
            !out.contains('\u{1b}'),
            "raw ESC reached the terminal: {out:?}"
        );
        assert!(!out.contains('\u{202E}'), "raw bidi override: {out:?}");
        assert_mentions(out, &["evil^[[2Jtitle<U+202E>"]);
    }
    // JSON keeps the real text for scripts.
    let json = deck.list(&["incidents"]);
    assert!(json.iter().any(|i| i["title"] == title));
    // Errors echo what they were given, escaped.
    let err = fails(
        deck.op("alice", "enterprise")
            .args(["approve", "APR-\u{1b}[31m", "--reason", "x"]),
        1,
        &["no approval with id"],
    );
    assert!(!err.contains('\u{1b}'), "{err:?}");
}

// ---------------------------------------------------------------------------------------------
// Bad input and bad files.
// ---------------------------------------------------------------------------------------------

#[test]
fn an_unknown_flag_is_a_usage_error() {
    let deck = Deck::demo();
    usage_error(deck.cmd().args(["agents", "--bogus"]), &["'--bogus'"]);
    usage_error(
        deck.cmd().args(["-o", "yaml", "agents"]),
        &["yaml", "table, json, jsonl"],
    );
    usage_error(deck.cmd().args(["frobnicate"]), &["frobnicate"]);
}

#[test]
fn no_command_without_a_terminal_does_not_start_the_console() {
    let deck = Deck::demo();
    let out = run(&mut deck.cmd());
    assert_ne!(out.status.code(), Some(0));
    let stderr = text(&out.stderr);
    assert_no_panic(&stderr);
    assert!(!stderr.trim().is_empty());
    assert!(
        !out.stdout.contains(&0x1b),
        "terminal escapes written to a pipe"
    );
}

#[test]
fn a_text_file_is_not_an_opsdeck_database() {
    let deck = Deck::empty();
    std::fs::write(&deck.store, "hello\n").expect("write");
    fails(
        deck.cmd().arg("agents"),
        1,
        &["not an opsdeck database", "--store"],
    );
    assert_eq!(
        std::fs::read(&deck.store).expect("read"),
        b"hello\n",
        "left alone"
    );
}

fn foreign_sqlite(deck: &Deck) {
    let conn = rusqlite::Connection::open(&deck.store).expect("create");
    conn.execute_batch("CREATE TABLE notes(body TEXT); INSERT INTO notes VALUES ('mine');")
        .expect("fill");
}

#[test]
fn another_sqlite_database_is_not_an_opsdeck_database() {
    let deck = Deck::empty();
    foreign_sqlite(&deck);
    fails(deck.cmd().arg("approvals"), 1, &["not an opsdeck database"]);
    fails(
        deck.op("alice", "enterprise")
            .args(["demo", "run", "--duration", "10m"]),
        1,
        &["not an opsdeck database"],
    );
    let conn = rusqlite::Connection::open(&deck.store).expect("reopen");
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .and_then(|mut st| st.query_map([], |r| r.get(0))?.collect())
        .expect("tables");
    assert_eq!(tables, ["notes"], "no opsdeck tables were added");
}

#[test]
fn another_sqlite_database_is_left_byte_for_byte_unchanged() {
    let deck = Deck::empty();
    foreign_sqlite(&deck);
    let before = std::fs::read(&deck.store).expect("read");
    fails(deck.cmd().arg("approvals"), 1, &["not an opsdeck database"]);
    let conn = rusqlite::Connection::open(&deck.store).expect("reopen");
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("mode");
    drop(conn);
    assert_eq!(mode, "delete", "the journal mode was changed");
    assert!(
        std::fs::read(&deck.store).expect("read") == before,
        "the file was modified"
    );
}

#[test]
fn a_store_from_a_newer_opsdeck_is_refused() {
    let deck = Deck::demo();
    rusqlite::Connection::open(&deck.store)
        .and_then(|c| c.pragma_update(None, "user_version", 99))
        .expect("bump the schema version");
    fails(
        deck.cmd().arg("agents"),
        1,
        &["newer opsdeck", "schema 99", "upgrade"],
    );
}

#[cfg(unix)]
#[test]
fn a_read_only_store_file_still_lists_but_cannot_be_changed() {
    use std::os::unix::fs::PermissionsExt;
    let deck = Deck::demo();
    let id = s(&deck.pending("enterprise", 1), "id").to_string();
    std::fs::set_permissions(&deck.store, std::fs::Permissions::from_mode(0o444)).expect("chmod");
    let listed = deck.list(&["approvals"]);
    assert!(!listed.is_empty());
    // Root writes through 0444, so the refusal can only be seen as an ordinary user.
    let writes_anyway = std::fs::OpenOptions::new()
        .write(true)
        .open(&deck.store)
        .is_ok();
    if !writes_anyway {
        fails(
            deck.op("alice", "enterprise")
                .args(["approve", &id, "--reason", "x"]),
            1,
            &["read-only", "make it writable"],
        );
        assert_eq!(deck.approval(&id)["state"], "pending");
    }
    std::fs::set_permissions(&deck.store, std::fs::Permissions::from_mode(0o644)).expect("chmod");
}

#[test]
fn a_config_with_an_unknown_key_names_it_and_its_line() {
    let deck = Deck::demo();
    let config = deck.path("bad.toml");
    std::fs::write(&config, "[operator]\nname = \"alice\"\nshoe_size = 42\n").expect("write");
    let (_, stderr) = exits(deck.cmd().arg("--config").arg(&config).arg("agents"), 2);
    assert!(stderr.starts_with("opsdeck: config file"), "{stderr}");
    assert_mentions(
        &stderr,
        &["bad.toml", "line 3", "shoe_size", "config.example.toml"],
    );
}

#[test]
fn a_config_with_a_wrong_type_names_the_line() {
    let deck = Deck::demo();
    let config = deck.path("bad.toml");
    std::fs::write(&config, "[operator]\nname = 5\n").expect("write");
    let (_, stderr) = exits(deck.cmd().arg("--config").arg(&config).arg("agents"), 2);
    assert_mentions(&stderr, &["bad.toml", "line 2", "key name", "invalid type"]);
    std::fs::write(&config, "[operator]\nrole = \"king\"\n").expect("write");
    let (_, stderr) = exits(deck.cmd().arg("--config").arg(&config).arg("agents"), 2);
    assert_mentions(
        &stderr,
        &["line 2", "unknown role \"king\"", "oncall:<domain>"],
    );
}

#[test]
fn a_missing_explicit_config_is_an_error() {
    let deck = Deck::demo();
    fails(
        deck.cmd()
            .arg("--config")
            .arg(deck.path("nowhere.toml"))
            .arg("agents"),
        2,
        &["cannot read config file", "nowhere.toml"],
    );
}

#[test]
fn an_operator_name_with_a_colon_is_refused() {
    let deck = Deck::demo();
    fails(
        deck.cmd().args(["--as", "operator:root", "agents"]),
        2,
        &["not usable", "no colons"],
    );
}

#[test]
fn demo_run_into_a_store_with_data_is_refused() {
    let deck = Deck::demo();
    let before = deck.export().len();
    fails(
        deck.cmd().args(["demo", "run", "--duration", "10m"]),
        3,
        &["already holds data", "empty store"],
    );
    assert_eq!(deck.export().len(), before);
    usage_error(
        Deck::empty()
            .cmd()
            .args(["demo", "run", "--duration", "0s"]),
        &["between 1s and 30d"],
    );
}

// ---------------------------------------------------------------------------------------------
// Help, version, completions.
// ---------------------------------------------------------------------------------------------

#[test]
fn help_and_version_exit_zero() {
    let deck = Deck::empty();
    let help = deck.ok(&["--help"]);
    assert_mentions(&help, &["Usage: opsdeck", "approve", "audit", "Exit codes"]);
    let approve = deck.ok(&["approve", "--help"]);
    assert_mentions(&approve, &["--reason", "--version"]);
    let version = deck.ok(&["--version"]);
    assert_eq!(
        version.trim(),
        format!("opsdeck {}", env!("CARGO_PKG_VERSION"))
    );
    assert!(!deck.store.exists(), "help touched the store");
}

#[test]
fn completions_print_a_script_for_each_shell() {
    let deck = Deck::empty();
    for (shell, marker) in [
        ("bash", "_opsdeck()"),
        ("zsh", "#compdef opsdeck"),
        ("fish", "complete -c opsdeck"),
    ] {
        let script = deck.ok(&["completions", shell]);
        assert_mentions(&script, &[marker, "approve", "rollout"]);
    }
    usage_error(deck.cmd().args(["completions", "cmd.exe"]), &["cmd.exe"]);
}

// ---------------------------------------------------------------------------------------------
// Determinism and concurrency.
// ---------------------------------------------------------------------------------------------

#[test]
fn the_same_seed_gives_byte_identical_stores() {
    let decks = [Deck::empty(), Deck::empty()];
    let runs: Vec<std::process::Child> = decks
        .iter()
        .map(|d| {
            isolated(std::process::Command::new(BIN), d.dir.path())
                .arg("--store")
                .arg(&d.store)
                .args([
                    "demo",
                    "run",
                    "--seed",
                    "3",
                    "--duration",
                    "1h",
                    "-o",
                    "json",
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn demo run")
        })
        .collect();
    let summaries: Vec<Value> = runs
        .into_iter()
        .map(|child| {
            let out = child.wait_with_output().expect("demo run");
            assert!(out.status.success(), "{}", text(&out.stderr));
            let mut summary = parse(&text(&out.stdout));
            summary["wall_seconds"] = Value::Null;
            summary
        })
        .collect();
    assert_eq!(summaries[0], summaries[1]);
    assert_eq!(summaries[0]["seed"], 3);
    for what in ["agents", "queues", "incidents", "approvals", "rollouts"] {
        let [a, b] = [0, 1].map(|i| decks[i].ok(&[what, "-o", "json"]));
        assert!(!array(parse(&a)).is_empty(), "{what} is empty");
        assert!(a == b, "{what} differs between two runs of seed 3");
    }
    let [a, b] = [0, 1].map(|i| decks[i].ok(&["audit", "export"]));
    assert!(a.lines().count() > 100);
    assert!(a == b, "the audit trails differ between two runs of seed 3");
}

#[test]
fn sixteen_concurrent_approvals_decide_once() {
    let deck = Deck::demo();
    let a = deck.approval_where("pending, quorum 1, domain or enterprise level", |a| {
        a["state"] == "pending"
            && a["quorum"] == 1
            && (a["level"] == "domain" || a["level"] == "enterprise")
    });
    let id = s(&a, "id");
    let config = deck.config("ops", "enterprise");
    let children: Vec<std::process::Child> = (0..16)
        .map(|i| {
            isolated(std::process::Command::new(BIN), deck.dir.path())
                .arg("--store")
                .arg(&deck.store)
                .arg("--config")
                .arg(&config)
                .args(["--as", &format!("op{i}"), "approve", id])
                .args(["--reason", &format!("vote {i}"), "-o", "json"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn approve")
        })
        .collect();
    let outputs: Vec<Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().expect("approve"))
        .collect();
    let codes: Vec<Option<i32>> = outputs.iter().map(|o| o.status.code()).collect();
    assert_eq!(
        codes.iter().filter(|c| **c == Some(0)).count(),
        1,
        "exactly one winner: {codes:?}"
    );
    assert_eq!(
        codes.iter().filter(|c| **c == Some(3)).count(),
        15,
        "everyone else is refused: {codes:?}"
    );
    for out in outputs.iter().filter(|o| o.status.code() == Some(3)) {
        let stderr = text(&out.stderr);
        assert_no_panic(&stderr);
        assert_mentions(&stderr, &[id, "already approved"]);
    }
    let winner = outputs
        .iter()
        .find(|o| o.status.success())
        .map(|o| parse(&text(&o.stdout)))
        .expect("a winner");
    let by = s(&winner["votes"][0], "by").to_string();
    let trail = deck.export();
    let decisions = decisions_about(&trail, id);
    assert_eq!(decisions.len(), 1, "{decisions:?}");
    assert_eq!(decisions[0]["agent_id"], by.as_str());
    let stored = deck.approval(id);
    assert_eq!(stored["state"], "approved");
    assert_eq!(stored["votes"].as_array().expect("votes").len(), 1);
    let v = parse(&success(deck.cmd().args(["audit", "verify", "-o", "json"])));
    assert_eq!(u(&v, "verified") as usize, trail.len());
}
