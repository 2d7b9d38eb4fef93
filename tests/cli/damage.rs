//! A damaged store file: refused at open with exit 1 and what to do, and `doctor` names the
//! damage and every missing table and index.

use std::io::{Seek, SeekFrom, Write};

use super::{Deck, assert_mentions, exits, fails, parse};

/// Writes the demo's log into the file, so that the file alone is the store.
fn settle(deck: &Deck) {
    let conn = rusqlite::Connection::open(&deck.store).unwrap();
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
}

/// A demo store with one page of garbage in the middle of the file.
fn garbage_page() -> Deck {
    let deck = Deck::demo();
    settle(&deck);
    let len = std::fs::metadata(&deck.store).unwrap().len();
    let page = len / 4096 / 2;
    assert!(page > 1, "a store of many pages ({len} bytes)");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .open(&deck.store)
        .unwrap();
    file.seek(SeekFrom::Start(page * 4096)).unwrap();
    let garbage: Vec<u8> = (0..4096u32).map(|i| (i * 31 + 7) as u8).collect();
    file.write_all(&garbage).unwrap();
    file.sync_all().unwrap();
    deck
}

#[test]
fn a_store_with_a_garbage_page_is_refused_at_open() {
    let deck = garbage_page();
    let before = std::fs::read(&deck.store).unwrap();
    for args in [
        &["approvals"][..],
        &["incidents"],
        &["audit", "search", "domain:platform"],
        &["audit", "export"],
        &[
            "incident",
            "declare",
            "--severity",
            "SEV3",
            "--domain",
            "platform",
            "--title",
            "x",
        ],
    ] {
        let line = fails(
            deck.cmd().args(args),
            1,
            &["damaged", "opsdeck doctor", "backup"],
        );
        assert!(line.contains("x.db"), "names the file: {line}");
    }
    assert_eq!(
        std::fs::read(&deck.store).unwrap(),
        before,
        "nothing was written to the damaged file"
    );
}

#[test]
fn doctor_reports_a_garbage_page() {
    let deck = garbage_page();
    let (stdout, stderr) = exits(deck.cmd().args(["doctor", "-o", "json"]), 1);
    let report = parse(&stdout);
    let damage = report["store"]["damage"]
        .as_array()
        .unwrap_or_else(|| panic!("damage listed: {report}"));
    assert!(!damage.is_empty(), "{report}");
    assert!(
        report["store"]["audit_intact"].is_null(),
        "no verdict on a broken file"
    );
    assert_mentions(&report["problems"].to_string(), &["damaged", "backup"]);
    assert_mentions(&stderr, &["problem"]);
}

#[test]
fn doctor_names_a_dropped_table_and_a_dropped_index() {
    let deck = Deck::demo();
    let conn = rusqlite::Connection::open(&deck.store).unwrap();
    conn.execute_batch("DROP TABLE alerts; DROP INDEX audit_agent;")
        .unwrap();
    drop(conn);
    let (stdout, _) = exits(deck.cmd().args(["doctor", "-o", "json"]), 1);
    let report = parse(&stdout);
    assert_eq!(
        report["store"]["missing"],
        serde_json::json!(["index audit_agent", "table alerts"])
    );
    assert_eq!(report["store"]["damage"], serde_json::json!([]));
    let problems = report["problems"].to_string();
    assert_mentions(
        &problems,
        &["lacks table alerts", "lacks index audit_agent"],
    );
    let (text, _) = exits(deck.cmd().args(["doctor", "-o", "table"]), 1);
    assert_mentions(&text, &["missing", "table alerts", "index audit_agent"]);
    // And the store is refused at open rather than failing half-way later.
    fails(
        deck.cmd().arg("approvals"),
        1,
        &["damaged", "table alerts", "opsdeck doctor"],
    );
}

#[test]
fn doctor_says_a_whole_store_is_whole() {
    let deck = Deck::demo();
    let report = parse(&super::success(deck.cmd().args(["doctor", "-o", "json"])));
    assert_eq!(report["store"]["damage"], serde_json::json!([]));
    assert_eq!(report["store"]["missing"], serde_json::json!([]));
    assert_eq!(report["store"]["audit_intact"], true);
}
