//! Bad input and bad files: errors name what was wrong and what to do, never a panic; text
//! from outside reaches the terminal only through SafeText.

use super::{Deck, assert_mentions, exits, fails, s, success};

#[test]
fn control_and_bidi_characters_are_shown_not_sent_to_the_terminal() {
    let deck = Deck::demo();
    let title = "evil\u{1b}[2Jtitle\u{202E}";
    let line = success(deck.op("alice", "enterprise").args([
        "incident",
        "declare",
        "--severity",
        "SEV3",
        "--domain",
        "product",
        "--title",
        title,
        "-o",
        "table",
    ]));
    let listing = deck.ok(&["incidents", "-o", "table"]);
    let trail = deck.ok(&["audit", "search", "evil", "-o", "table"]);
    for out in [&line, &listing, &trail] {
        assert!(
            !out.contains('\u{1b}'),
            "raw ESC reached the terminal: {out:?}"
        );
        assert!(!out.contains('\u{202E}'), "raw bidi override: {out:?}");
        assert_mentions(out, &["evil^[[2Jtitle<U+202E>"]);
    }
    // JSON keeps the real text for scripts.
    let json = deck.list(&["incidents"]);
    assert!(json.iter().any(|i| i["title"] == title));
    // Errors echo what they were given, escaped.
    let err = fails(
        deck.op("alice", "enterprise")
            .args(["approve", "APR-\u{1b}[31m", "--reason", "x"]),
        1,
        &["no approval with id"],
    );
    assert!(!err.contains('\u{1b}'), "{err:?}");
}

#[test]
fn a_text_file_is_not_an_opsdeck_database() {
    let deck = Deck::empty();
    std::fs::write(&deck.store, "hello\n").expect("write");
    fails(
        deck.cmd().arg("agents"),
        1,
        &["not an opsdeck database", "--store"],
    );
    assert_eq!(
        std::fs::read(&deck.store).expect("read"),
        b"hello\n",
        "left alone"
    );
}

fn foreign_sqlite(deck: &Deck) {
    let conn = rusqlite::Connection::open(&deck.store).expect("create");
    conn.execute_batch("CREATE TABLE notes(body TEXT); INSERT INTO notes VALUES ('mine');")
        .expect("fill");
}

#[test]
fn another_sqlite_database_is_not_an_opsdeck_database() {
    let deck = Deck::empty();
    foreign_sqlite(&deck);
    fails(deck.cmd().arg("approvals"), 1, &["not an opsdeck database"]);
    fails(
        deck.op("alice", "enterprise")
            .args(["demo", "run", "--duration", "10m"]),
        1,
        &["not an opsdeck database"],
    );
    let conn = rusqlite::Connection::open(&deck.store).expect("reopen");
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .and_then(|mut st| st.query_map([], |r| r.get(0))?.collect())
        .expect("tables");
    assert_eq!(tables, ["notes"], "no opsdeck tables were added");
}

#[test]
fn another_sqlite_database_is_left_byte_for_byte_unchanged() {
    let deck = Deck::empty();
    foreign_sqlite(&deck);
    let before = std::fs::read(&deck.store).expect("read");
    fails(deck.cmd().arg("approvals"), 1, &["not an opsdeck database"]);
    let conn = rusqlite::Connection::open(&deck.store).expect("reopen");
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("mode");
    drop(conn);
    assert_eq!(mode, "delete", "the journal mode was changed");
    assert!(
        std::fs::read(&deck.store).expect("read") == before,
        "the file was modified"
    );
}

#[test]
fn a_store_from_a_newer_opsdeck_is_refused() {
    let deck = Deck::demo();
    rusqlite::Connection::open(&deck.store)
        .and_then(|c| c.pragma_update(None, "user_version", 99))
        .expect("bump the schema version");
    fails(
        deck.cmd().arg("agents"),
        1,
        &["newer opsdeck", "schema 99", "upgrade"],
    );
}

#[cfg(unix)]
#[test]
fn a_read_only_store_file_still_lists_but_cannot_be_changed() {
    use std::os::unix::fs::PermissionsExt;
    let deck = Deck::demo();
    let id = s(&deck.pending("enterprise", 1), "id").to_string();
    std::fs::set_permissions(&deck.store, std::fs::Permissions::from_mode(0o444)).expect("chmod");
    let listed = deck.list(&["approvals"]);
    assert!(!listed.is_empty());
    // Root writes through 0444, so the refusal can only be seen as an ordinary user.
    let writes_anyway = std::fs::OpenOptions::new()
        .write(true)
        .open(&deck.store)
        .is_ok();
    if !writes_anyway {
        fails(
            deck.op("alice", "enterprise")
                .args(["approve", &id, "--reason", "x"]),
            1,
            &["read-only", "make it writable"],
        );
        assert_eq!(deck.approval(&id)["state"], "pending");
    }
    std::fs::set_permissions(&deck.store, std::fs::Permissions::from_mode(0o644)).expect("chmod");
}

#[test]
fn a_config_with_an_unknown_key_names_it_and_its_line() {
    let deck = Deck::demo();
    let config = deck.path("bad.toml");
    std::fs::write(&config, "[operator]\nname = \"alice\"\nshoe_size = 42\n").expect("write");
    let (_, stderr) = exits(deck.cmd().arg("--config").arg(&config).arg("agents"), 2);
    assert!(stderr.starts_with("opsdeck: config file"), "{stderr}");
    assert_mentions(
        &stderr,
        &["bad.toml", "line 3", "shoe_size", "config.example.toml"],
    );
}

#[test]
fn a_config_with_a_wrong_type_names_the_line() {
    let deck = Deck::demo();
    let config = deck.path("bad.toml");
    std::fs::write(&config, "[operator]\nname = 5\n").expect("write");
    let (_, stderr) = exits(deck.cmd().arg("--config").arg(&config).arg("agents"), 2);
    assert_mentions(&stderr, &["bad.toml", "line 2", "key name", "invalid type"]);
    std::fs::write(&config, "[operator]\nrole = \"king\"\n").expect("write");
    let (_, stderr) = exits(deck.cmd().arg("--config").arg(&config).arg("agents"), 2);
    assert_mentions(
        &stderr,
        &["line 2", "unknown role \"king\"", "oncall:<domain>"],
    );
}

#[test]
fn a_missing_explicit_config_is_an_error() {
    let deck = Deck::demo();
    fails(
        deck.cmd()
            .arg("--config")
            .arg(deck.path("nowhere.toml"))
            .arg("agents"),
        2,
        &["cannot read config file", "nowhere.toml"],
    );
}

#[test]
fn an_operator_name_with_a_colon_is_refused() {
    let deck = Deck::demo();
    fails(
        deck.cmd().args(["--as", "operator:root", "agents"]),
        2,
        &["not usable", "no colons"],
    );
}

#[test]
fn as_names_only_the_operator_bound_to_this_os_user() {
    let deck = Deck::demo();
    let me = crate::support::os_user();
    // Without a binding, --as cannot make up a second operator for a second vote.
    fails(
        deck.cmd()
            .args(["--as", "alice2", "approve", "APR-1", "--reason", "x"]),
        2,
        &["--as alice2", "one OS user is one operator"],
    );
    let config = deck.path("bound.toml");
    std::fs::write(
        &config,
        format!("[[operators]]\nname = \"alice\"\nos_user = \"{me}\"\nrole = \"lead:platform\"\n"),
    )
    .unwrap();
    let who = super::parse(&success(
        deck.cmd()
            .arg("--config")
            .arg(&config)
            .args(["--as", "alice", "config", "show", "-o", "json"]),
    ));
    assert_eq!(who["operator"]["name"], "alice");
    fails(
        deck.cmd()
            .arg("--config")
            .arg(&config)
            .args(["--as", "alice2", "agents"]),
        2,
        &["alice2", "you act as alice"],
    );
    // Two operators bound to one OS user is a config error.
    std::fs::write(
        &config,
        format!(
            "[[operators]]\nname = \"alice\"\nos_user = \"{me}\"\nrole = \"enterprise\"\n\n[[operators]]\nname = \"alice2\"\nos_user = \"{me}\"\nrole = \"enterprise\"\n"
        ),
    )
    .unwrap();
    fails(
        deck.cmd().arg("--config").arg(&config).arg("agents"),
        2,
        &["one OS user is one operator"],
    );
}
