//! `demo run`: only into an empty store, and the same seed gives byte-identical stores.

use std::process::Stdio;

use serde_json::Value;

use super::{BIN, Deck, array, fails, isolated, parse, text, usage_error};

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
