//! Listings: agents, queues, incidents, approvals and rollouts in table, json and jsonl.

use assert_cmd::Command;
use serde_json::Value;

use super::{
    BIN, DOMAINS, Deck, array, check_listing, fails, isolated, parse, run, s, success, text, u,
};

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
        &["ID", "NAME", "STATE", "PHASE", "PERCENT", "PAUSES"],
    );
    // The gate the engine applies: the larger of ratio × baseline and baseline + 10 points.
    let table = deck.ok(&["rollouts", "-o", "table"]);
    for r in &rollouts {
        let base = r["health"]["baseline_error_rate"].as_f64().unwrap();
        let ratio = r["max_error_ratio"].as_f64().unwrap();
        let gate = format!("{:.1}%", (base * ratio).max(base + 0.10) * 100.0);
        let row = table
            .lines()
            .find(|l| l.split_whitespace().next() == Some(s(r, "id")))
            .unwrap_or_else(|| panic!("{} missing from\n{table}", s(r, "id")));
        assert!(
            row.split_whitespace().any(|c| c == gate),
            "{gate} not in {row}"
        );
    }
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

#[test]
fn incidents_list_newest_first_as_their_help_says() {
    let deck = Deck::demo();
    let list = array(parse(&deck.ok(&["incidents", "-o", "json"])));
    assert!(list.len() > 2);
    let opened: Vec<&str> = list.iter().map(|i| s(i, "opened_at")).collect();
    let mut newest_first = opened.clone();
    newest_first.sort_by(|a, b| b.cmp(a));
    assert_eq!(opened, newest_first);
}

#[test]
fn a_json_search_cut_at_its_limit_says_so_on_stderr() {
    let deck = Deck::demo();
    let out = run(deck.cmd().args([
        "audit",
        "search",
        "type:decision",
        "--limit",
        "3",
        "-o",
        "json",
    ]));
    assert!(out.status.success());
    assert_eq!(array(parse(&text(&out.stdout))).len(), 3);
    let err = text(&out.stderr);
    assert!(
        err.contains("showing the newest 3") && err.contains("--limit"),
        "{err}"
    );
}
