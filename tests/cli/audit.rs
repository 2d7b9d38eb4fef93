//! The audit trail from the command line: verify, export, search.

use super::{
    DOMAINS, Deck, array, assert_mentions, exits, fails, parse, run, s, success, text, u,
    usage_error,
};

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
    let records: Vec<_> = deck
        .ok(&["audit", "export", "--include-sensitive"])
        .lines()
        .map(parse)
        .collect();
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
fn audit_search_a_free_word_finds_what_that_actor_did() {
    let deck = Deck::demo();
    let decisions = deck.list(&["audit", "search", "type:decision", "--limit", "1000"]);
    let actor = decisions
        .iter()
        .filter_map(|r| r["agent_id"].as_str())
        .find(|a| a.starts_with("operator:") || a.starts_with("sim:"))
        .expect("a colleague decided something in the demo")
        .to_string();
    let name = actor.split(':').next_back().unwrap();
    let found = deck.list(&["audit", "search", name, "--limit", "1000"]);
    assert!(
        found.iter().any(|r| r["agent_id"] == actor.as_str()),
        "`audit search {name}` finds what {actor} did"
    );
    for r in &found {
        assert!(r.to_string().to_lowercase().contains(name), "{r}");
    }
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
