//! Approvals from the command line: approve, reject, escalate, their output, exit codes
//! and audit records, and sixteen processes racing for one item.

use std::process::{Output, Stdio};

use super::{
    BIN, Deck, assert_mentions, assert_no_panic, decisions_about, fails, isolated, other_domain,
    parse, s, success, success_json, text, u, usage_error,
};

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
fn a_decision_on_a_frozen_demo_store_says_when_the_person_really_acted() {
    let deck = Deck::demo();
    let a = deck.pending("enterprise", 1);
    let id = s(&a, "id");
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let got = success_json(deck.op("alice", "enterprise").args([
        "approve",
        id,
        "--reason",
        "checked by hand",
    ]));
    // The store's world is frozen where the simulation ended: the vote is stamped there...
    let at = got["votes"][0]["at"].as_str().unwrap();
    assert!(!at.starts_with(&today), "{at}");
    // ...and its audit record says so, with the real time the person acted.
    let trail = deck.list(&["audit", "search", id, "agent:operator:alice"]);
    let context = trail[0]["details"]["context"].as_str().unwrap();
    assert!(
        context.contains("simulated time is frozen")
            && context.contains(&format!("the operator acted at {today}")),
        "{context}"
    );
    // What the simulation itself recorded carries no such note.
    let sim = deck.list(&["audit", "search", "type:decision", "--limit", "50"]);
    assert!(sim.iter().all(|r| {
        r["agent_id"] == "operator:alice"
            || !r["details"]["context"]
                .as_str()
                .unwrap_or("")
                .contains("frozen")
    }));
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
    for verb in ["approve", "reject"] {
        usage_error(
            deck.op("alice", "enterprise").args([verb, &id]),
            &["--reason"],
        );
    }
    // `escalate` also raises (as an agent), so its flags are checked after parsing: the same
    // exit code, the same advice.
    fails(
        deck.op("alice", "enterprise").args(["escalate", &id]),
        2,
        &["--reason", &id],
    );
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

#[test]
fn sixteen_concurrent_approvals_decide_once() {
    let deck = Deck::demo();
    let a = deck.approval_where("pending, quorum 1, domain or enterprise level", |a| {
        a["state"] == "pending"
            && a["quorum"] == 1
            && (a["level"] == "domain" || a["level"] == "enterprise")
    });
    let id = s(&a, "id");
    // Sixteen operators, each with a config of their own (one OS user is one operator).
    let configs: Vec<_> = (0..16)
        .map(|i| deck.config(&format!("op{i}"), "enterprise"))
        .collect();
    let children: Vec<std::process::Child> = (0..16)
        .map(|i| {
            isolated(std::process::Command::new(BIN), deck.dir.path())
                .arg("--store")
                .arg(&deck.store)
                .arg("--config")
                .arg(&configs[i])
                .args(["approve", id])
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
    let (i, winner) = outputs
        .iter()
        .enumerate()
        .find(|(_, o)| o.status.success())
        .map(|(i, o)| (i, parse(&text(&o.stdout))))
        .expect("a winner");
    let by = s(&winner["votes"][0], "by").to_string();
    assert_eq!(by, format!("operator:op{i}"), "--as names who decided");
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
