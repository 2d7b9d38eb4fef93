//! What the store keeps beyond the live set: `tasks` with `--state`/`--since`/`--limit`, and
//! `show ID` for an item that left memory long ago.

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use super::{Deck, exits, fails, s, success};

fn time(v: &Value, key: &str) -> DateTime<Utc> {
    s(v, key)
        .parse()
        .unwrap_or_else(|e| panic!("{key} of {v}: {e}"))
}

/// Counts straight from the file, to hold the listing to.
fn stored(deck: &Deck, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(&deck.store).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn tasks_lists_the_whole_history_by_state_newest_first() {
    let deck = Deck::demo();
    let want = stored(
        &deck,
        "SELECT count(*) FROM tasks WHERE state = 'succeeded'",
    );
    assert!(want > 50, "the demo finished work: {want}");
    let tasks = deck.list(&["tasks", "--state", "succeeded", "--limit", "10000"]);
    assert_eq!(
        tasks.len() as i64,
        want,
        "every succeeded task the store holds"
    );
    assert!(tasks.iter().all(|t| s(t, "state") == "succeeded"));
    let finished: Vec<DateTime<Utc>> = tasks.iter().map(|t| time(t, "finished_at")).collect();
    assert!(finished.windows(2).all(|w| w[0] >= w[1]), "newest first");
    // Older than the live set's hour: the listing reaches what memory no longer holds.
    let end = finished[0];
    assert!(end - *finished.last().unwrap() > Duration::hours(1));
}

#[test]
fn since_and_limit_narrow_the_listing() {
    let deck = Deck::demo();
    let all = deck.list(&["tasks", "--state", "succeeded", "--limit", "10000"]);
    let end = time(&all[0], "finished_at");
    let recent = deck.list(&[
        "tasks",
        "--state",
        "succeeded",
        "--since",
        "30m",
        "--limit",
        "10000",
    ]);
    // The demo store's clock stands at its end: 30m before it.
    let want = all
        .iter()
        .filter(|t| time(t, "finished_at") >= end - Duration::minutes(30))
        .count();
    assert!(want > 0 && want < all.len(), "{want} of {}", all.len());
    assert_eq!(recent.len(), want);
    let three = deck.list(&["tasks", "--limit", "3"]);
    assert_eq!(three.len(), 3);
    let (table, stderr) = {
        let out = deck
            .cmd()
            .args(["tasks", "--limit", "3", "-o", "table"])
            .output()
            .unwrap();
        (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    assert_eq!(
        table.lines().count(),
        4,
        "a header and three rows:\n{table}"
    );
    assert!(stderr.contains("--limit"), "says more are there: {stderr}");
}

#[test]
fn show_finds_an_item_long_gone_from_memory() {
    let deck = Deck::demo();
    let first: Value =
        serde_json::from_str(&success(deck.cmd().args(["show", "T-1", "-o", "json"]))).unwrap();
    assert_eq!(s(&first, "id"), "T-1");
    let table = success(deck.cmd().args(["show", "T-1", "-o", "table"]));
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("id") && l.contains("T-1")),
        "{table}"
    );
    let apr = success(deck.cmd().args(["show", "APR-1", "-o", "json"]));
    assert!(apr.contains("\"APR-1\""), "{apr}");
    fails(
        deck.cmd().args(["show", "T-999999"]),
        1,
        &["no item", "T-999999"],
    );
    fails(deck.cmd().args(["show", "\u{1b}]2;owned"]), 1, &["no item"]);
}

#[test]
fn bad_listings_say_what_is_expected() {
    let deck = Deck::demo();
    fails(
        deck.cmd().args(["tasks", "--state", "done"]),
        2,
        &["done", "succeeded", "queued"],
    );
    fails(
        deck.cmd().args(["tasks", "--since", "soon"]),
        2,
        &["soon", "2h"],
    );
    fails(
        deck.cmd().args(["approvals", "--limit", "0"]),
        2,
        &["limit", "10000"],
    );
    fails(
        deck.cmd().args(["incidents", "--state", "pending"]),
        2,
        &["open", "resolved"],
    );
    let (_, stderr) = exits(deck.cmd().args(["tasks", "--limit", "x"]), 2);
    assert!(stderr.contains("--limit"), "{stderr}");
}
