//! Sensitive records on every command-line read path: withheld unless revealed, and every
//! reveal or sensitive export recorded in the trail first.

use super::{Deck, array, fails, parse, s, success, u};

fn first_sensitive(deck: &Deck) -> serde_json::Value {
    let found = array(parse(&deck.ok(&[
        "audit",
        "search",
        "class:sensitive",
        "-o",
        "json",
    ])));
    found
        .into_iter()
        .find(|r| !s(r, "summary").starts_with("revealed"))
        .expect("the 2 h demo has a sensitive record")
}

#[test]
fn search_and_export_withhold_sensitive_details() {
    let deck = Deck::demo();
    let record = first_sensitive(&deck);
    assert_eq!(record["redacted"], true, "{record}");
    assert_eq!(s(&record["details"], "context"), "");
    assert!(record["related_tasks"].as_array().unwrap().is_empty());
    let seq = u(&record, "seq");
    let exported = deck.export();
    let line = exported.iter().find(|r| u(r, "seq") == seq).unwrap();
    assert_eq!(line["redacted"], true);
    assert_eq!(s(&line["details"], "context"), "");
    let csv = deck.ok(&[
        "audit",
        "export",
        "--format",
        "csv",
        "--query",
        "class:sensitive",
    ]);
    assert!(csv.lines().count() >= 2, "{csv}");
    // Nothing withheld is in the trail's own records of public or internal class.
    for r in &exported {
        if s(r, "classification") != "sensitive" {
            assert!(r.get("redacted").is_none(), "{r}");
        }
    }
    // A plain export leaves no trace; nothing was revealed.
    assert_eq!(deck.export().len(), exported.len());
}

#[test]
fn a_reveal_is_recorded_first_and_needs_a_role_of_the_records_domain() {
    let deck = Deck::demo();
    let record = first_sensitive(&deck);
    let (seq, domain) = (u(&record, "seq"), s(&record, "domain").to_string());
    let seq_arg = seq.to_string();
    let other = if domain == "platform" {
        "product"
    } else {
        "platform"
    };
    let before = deck.export().len();
    fails(
        deck.op("victor", "viewer")
            .args(["audit", "reveal", &seq_arg]),
        3,
        &["refused"],
    );
    fails(
        deck.op("olga", &format!("oncall:{other}"))
            .args(["audit", "reveal", &seq_arg]),
        3,
        &[other],
    );
    fails(
        deck.cmd().args(["audit", "reveal", "99999999"]),
        1,
        &["no audit record at seq 99999999"],
    );
    assert_eq!(deck.export().len(), before, "refused reveals write nothing");
    let whole = parse(&success(
        deck.op("lena", &format!("lead:{domain}"))
            .args(["audit", "reveal", &seq_arg, "-o", "json"]),
    ));
    assert!(whole.get("redacted").is_none(), "{whole}");
    assert_ne!(s(&whole["details"], "context"), "", "{whole}");
    assert_eq!(s(&whole, "hash"), s(&record, "hash"));
    let trail = deck.export();
    assert_eq!(trail.len(), before + 1);
    let reveal = trail.last().unwrap();
    assert_eq!(s(reveal, "agent_id"), "operator:lena");
    assert_eq!(
        s(reveal, "domain"),
        domain,
        "recorded in the record's domain"
    );
    assert_eq!(
        s(reveal, "summary"),
        format!("revealed sensitive audit record seq {seq}")
    );
}

#[test]
fn a_sensitive_export_needs_the_flag_and_a_role_and_is_recorded_with_its_query_and_count() {
    let deck = Deck::demo();
    let record = first_sensitive(&deck);
    let before = deck.export().len();
    fails(
        deck.op("victor", "viewer")
            .args(["audit", "export", "--include-sensitive"]),
        3,
        &["viewer"],
    );
    assert_eq!(deck.export().len(), before);
    let whole: Vec<serde_json::Value> = success(deck.cmd().args([
        "audit",
        "export",
        "--include-sensitive",
        "--query",
        "class:sensitive",
    ]))
    .lines()
    .map(parse)
    .collect();
    let n = whole.len();
    assert!(whole.iter().all(|r| r.get("redacted").is_none()));
    let same = whole.iter().find(|r| r["seq"] == record["seq"]).unwrap();
    assert_ne!(s(&same["details"], "context"), "");
    let trail = deck.export();
    assert_eq!(trail.len(), before + 1, "one record per export");
    let note = trail.last().unwrap();
    assert_eq!(
        s(note, "summary"),
        format!("exported the details of {n} sensitive audit records")
    );
    // Its own details are withheld in a plain export: ask for them whole.
    let whole_trail = success(deck.cmd().args(["audit", "export", "--include-sensitive"]));
    let note = whole_trail
        .lines()
        .map(parse)
        .find(|r| r["seq"] == note["seq"])
        .unwrap();
    assert_eq!(s(&note["details"], "context"), "query: class:sensitive");
}

#[test]
fn an_export_with_withheld_records_cannot_be_imported_and_says_why() {
    let deck = Deck::demo();
    let file = deck.path("withheld.jsonl");
    success(
        deck.cmd()
            .args(["audit", "export", "--output-file"])
            .arg(&file),
    );
    let target = deck.path("target.db");
    let (_, stderr) = super::exits(
        assert_cmd::Command::from_std(super::isolated(
            std::process::Command::new(super::BIN),
            deck.dir.path(),
        ))
        .arg("--store")
        .arg(&target)
        .args(["audit", "import"])
        .arg(&file),
        2,
    );
    assert!(
        stderr.contains("\"redacted\": true") && stderr.contains("--include-sensitive"),
        "{stderr}"
    );
    assert!(
        stderr.contains("1 bad line"),
        "only the withheld record: {stderr}"
    );
}
