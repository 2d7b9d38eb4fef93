//! `--read-only`: every change refused, every read still served.

use super::{Deck, array, fails, healthy_paused_rollout, open_incident, parse, s, success};

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
