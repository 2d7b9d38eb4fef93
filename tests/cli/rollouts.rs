//! Rollouts from the command line: promote, pause, resume, abort.

use super::{Deck, fails, healthy_paused_rollout, s, success, success_json, u, usage_error};

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
