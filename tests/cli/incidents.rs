//! Incidents from the command line: ack, escalate, note, mitigate, resolve, declare.

use super::{Deck, fails, open_incident, s, success_json, u, usage_error};

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
    fails(
        op().args(["incident", "resolve", &id]),
        3,
        &[&id, "already resolved"],
    );
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
