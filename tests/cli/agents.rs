//! Agents from the command line: pause and resume.

use super::{Deck, fails, find, s, success_json};

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
