//! Audit integrity checked from outside, with the real binary on real files: a cut tail, a
//! removed body, a purge, signed checkpoints, edited and re-imported exports, plain trails,
//! hostile text in imported files.

use serde_json::Value;

use super::*;

fn sql(deck: &Deck, statement: &str) {
    let conn = rusqlite::Connection::open(&deck.store).expect("open the store with SQLite");
    conn.execute_batch(statement).expect("run the SQL");
}

fn last_seq(deck: &Deck) -> u64 {
    deck.json(&["audit", "verify"])["verified"]
        .as_u64()
        .unwrap()
}

/// `audit verify` exits 1 and names `seq` and `why` in its report.
fn broken(deck: &Deck, seq: u64, why: &str) {
    let (stdout, _) = exits(deck.cmd().args(["-o", "json", "audit", "verify"]), 1);
    let v = parse(&stdout);
    assert_eq!(v["first_bad"]["seq"], seq, "{v}");
    let reason = v["first_bad"]["reason"].as_str().unwrap();
    assert!(reason.contains(why), "{reason}");
}

fn export_lines(deck: &Deck) -> Vec<String> {
    let file = deck.path("export.jsonl");
    deck.ok(&[
        "audit",
        "export",
        "--include-sensitive",
        "--output-file",
        file.to_str().unwrap(),
    ]);
    std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

fn checkpoint(deck: &Deck) -> std::path::PathBuf {
    let file = deck.path("checkpoint.json");
    deck.ok(&[
        "audit",
        "checkpoint",
        "--output-file",
        file.to_str().unwrap(),
    ]);
    file
}

fn verify_checkpoint(deck: &Deck, file: &std::path::Path, code: i32) -> (String, String) {
    exits(
        deck.cmd()
            .args(["audit", "verify", "--checkpoint"])
            .arg(file),
        code,
    )
}

#[test]
fn a_cut_tail_fails_verify_and_new_records_do_not_take_its_seqs() {
    let deck = Deck::demo();
    let last = last_seq(&deck);
    sql(
        &deck,
        &format!("DELETE FROM audit WHERE seq > {}", last - 3),
    );
    broken(&deck, last - 2, "were cut off");
    // A new record follows the highest seq ever written, never a lost one.
    let mut store = opsdeck::store::Store::open(&deck.store).unwrap();
    let at = store.now().unwrap();
    let mut write = store.write().unwrap();
    let record = write
        .append_audit(
            uuid::Uuid::now_v7(),
            at,
            opsdeck::model::AuditDraft {
                agent_id: "operator:tester".into(),
                action_type: opsdeck::model::ActionType::Execution,
                domain: "platform".into(),
                summary: "after the cut".into(),
                details: Default::default(),
                classification: opsdeck::model::Classification::Internal,
                related_tasks: vec![],
                retention: opsdeck::model::Retention::Standard,
            },
        )
        .unwrap();
    write.commit().unwrap();
    drop(store);
    assert_eq!(record.seq, last + 1);
    let conn = rusqlite::Connection::open(&deck.store).unwrap();
    let lost: i64 = conn
        .query_row(
            "SELECT count(*) FROM audit WHERE seq > ?1 AND seq <= ?2",
            [last as i64 - 3, last as i64],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(lost, 0, "no record took a lost seq");
}

#[test]
fn a_signed_checkpoint_catches_a_cut_or_rewritten_tail() {
    let deck = Deck::demo();
    let last = last_seq(&deck);
    let file = checkpoint(&deck);
    let cp: Value = parse(&std::fs::read_to_string(&file).unwrap());
    assert_eq!(cp["seq"], last);
    assert_eq!(cp["format"], "opsdeck-audit-checkpoint/1");
    let key = deck.path("config/opsdeck/audit-signing.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(deck.path("config/opsdeck/audit-signing.pub").exists());
    assert!(
        std::fs::read_dir(deck.path("config/opsdeck/audit-checkpoints"))
            .unwrap()
            .count()
            == 1,
        "a copy is kept in the checkpoint directory"
    );
    let (stdout, _) = (
        success(
            deck.cmd()
                .args(["-o", "table", "audit", "verify", "--checkpoint"])
                .arg(&file),
        ),
        (),
    );
    assert!(
        stdout.contains(&format!("checkpoint seq {last}")),
        "{stdout}"
    );

    // The tail rewritten, the high-water mark rewritten to match: only the checkpoint knows.
    let rewritten = Deck::empty();
    std::fs::copy(&deck.store, &rewritten.store).unwrap();
    let wal = deck.store.with_extension("db-wal");
    if wal.exists() {
        std::fs::copy(&wal, rewritten.store.with_extension("db-wal")).unwrap();
    }
    std::fs::create_dir_all(rewritten.path("config/opsdeck")).unwrap();
    for f in ["audit-signing.key", "audit-signing.pub"] {
        let to = rewritten.path(&format!("config/opsdeck/{f}"));
        std::fs::copy(deck.path(&format!("config/opsdeck/{f}")), &to).unwrap();
    }
    sql(
        &rewritten,
        &format!(
            "UPDATE audit SET hash = 'ab' || substr(hash, 3) WHERE seq = {last};
             UPDATE meta SET value = json_object('seq', {last}, 'hash',
                 (SELECT hash FROM audit WHERE seq = {last})) WHERE key = 'audit_high';"
        ),
    );
    let (_, stderr) = verify_checkpoint(&rewritten, &file, 1);
    assert!(stderr.contains("the trail was rewritten"), "{stderr}");

    // The tail cut, and the high-water mark with it: plain verify is fooled, the checkpoint not.
    sql(
        &deck,
        &format!(
            "DELETE FROM audit WHERE seq > {}; DELETE FROM meta WHERE key = 'audit_high';",
            last - 5
        ),
    );
    deck.ok(&["audit", "verify"]);
    let (_, stderr) = verify_checkpoint(&deck, &file, 1);
    assert!(
        stderr.contains(&format!(
            "the checkpoint names seq {last} but the trail ends at {}: records were cut off",
            last - 5
        )),
        "{stderr}"
    );
}

#[test]
fn a_forged_or_foreign_checkpoint_is_refused() {
    let deck = Deck::demo();
    let file = checkpoint(&deck);
    let mut cp: Value = parse(&std::fs::read_to_string(&file).unwrap());
    cp["seq"] = (cp["seq"].as_u64().unwrap() - 1).into();
    cp["hash"] = "0".repeat(64).into();
    let forged = deck.path("forged.json");
    std::fs::write(&forged, cp.to_string()).unwrap();
    let (_, stderr) = verify_checkpoint(&deck, &forged, 3);
    assert!(stderr.contains("signature does not verify"), "{stderr}");

    // Signed by a key of its own (another config directory): unknown here.
    let other = Deck::demo();
    let foreign = checkpoint(&other);
    let (_, stderr) = verify_checkpoint(&deck, &foreign, 3);
    assert!(stderr.contains("signed by an unknown key"), "{stderr}");
    // Trusted explicitly, it checks out against its own store.
    let public = other.path("config/opsdeck/audit-signing.pub");
    success(
        other
            .cmd()
            .args(["audit", "verify", "--checkpoint"])
            .arg(&foreign)
            .arg("--public-key")
            .arg(&public),
    );
    // Not a checkpoint at all.
    let junk = deck.path("junk.json");
    std::fs::write(&junk, "{\"seq\": \"\u{1b}]0;owned\u{7}\"}").unwrap();
    let (_, stderr) = verify_checkpoint(&deck, &junk, 2);
    assert!(
        !stderr.contains('\u{1b}') && !stderr.contains('\u{7}'),
        "{stderr:?}"
    );
}

#[test]
fn a_removed_body_is_tampering_unless_a_purge_record_covers_it() {
    let deck = Deck::demo();
    sql(&deck, "UPDATE audit SET body = NULL WHERE seq = 42");
    broken(&deck, 42, "no purge record covers it");
}

#[test]
fn a_purge_is_a_chained_record_and_verify_names_what_it_purged() {
    let deck = Deck::empty();
    let mut store = opsdeck::store::Store::open(&deck.store).unwrap();
    let now = chrono::Utc::now();
    let mut write = store.write().unwrap();
    for (days, retention) in [
        (400, opsdeck::model::Retention::Significant),
        (100, opsdeck::model::Retention::Standard),
        (30, opsdeck::model::Retention::Standard),
    ] {
        write
            .append_audit(
                uuid::Uuid::now_v7(),
                now - chrono::Duration::days(days),
                opsdeck::model::AuditDraft {
                    agent_id: "agent-1".into(),
                    action_type: opsdeck::model::ActionType::Execution,
                    domain: "platform".into(),
                    summary: format!("{days} days old"),
                    details: Default::default(),
                    classification: opsdeck::model::Classification::Internal,
                    related_tasks: vec![],
                    retention,
                },
            )
            .unwrap();
    }
    write.commit().unwrap();
    drop(store);
    let purged = deck.json(&["audit", "purge"]);
    assert_eq!(purged["purge_record"], 4, "{purged}");
    let v = deck.json(&["audit", "verify"]);
    assert_eq!(
        (v["purged"].as_u64(), v["verified"].as_u64()),
        (Some(2), Some(4))
    );
    assert_eq!(v["purge_records"], serde_json::json!([4]));
    let line = deck.ok(&["-o", "table", "audit", "verify"]);
    assert!(line.contains("purge records at seq 4"), "{line}");
    let record = &deck.export()[3];
    assert_eq!(record["details"]["decision"], "retention purge");
    assert!(
        record["summary"]
            .as_str()
            .unwrap()
            .contains("standard 1 in seq 2..2"),
        "{record}"
    );
    // A body removed that the purge did not name (too young) is still tampering.
    sql(&deck, "UPDATE audit SET body = NULL WHERE seq = 3");
    broken(&deck, 3, "no purge record covers it");
}

#[test]
fn an_edited_export_is_refused_naming_its_line_and_the_store_is_unchanged() {
    let deck = Deck::demo();
    let mut lines = export_lines(&deck);
    let mut record: Value = parse(&lines[9]);
    record["summary"] = format!("{} (edited)", record["summary"].as_str().unwrap()).into();
    lines[9] = record.to_string();
    let edited = deck.path("edited.jsonl");
    std::fs::write(&edited, lines.join("\n") + "\n").unwrap();
    let target = Deck::empty();
    let (_, stderr) = exits(target.cmd().args(["audit", "import"]).arg(&edited), 2);
    assert!(
        stderr.contains("line 10: its hash does not match its contents"),
        "{stderr}"
    );
    assert_eq!(target.json(&["audit", "verify"])["verified"], 0);
}

#[test]
fn re_imports_never_duplicate_a_record() {
    let deck = Deck::demo();
    let lines = export_lines(&deck);
    let file = deck.path("trail.jsonl");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let target = Deck::empty();
    let first = success_json(target.cmd().args(["audit", "import"]).arg(&file));
    assert_eq!(first["records"].as_u64(), Some(lines.len() as u64));
    assert_eq!(first["source"], "chain");
    // One newline more: nothing new.
    std::fs::write(&file, lines.join("\n") + "\n\n").unwrap();
    let again = success_json(target.cmd().args(["audit", "import"]).arg(&file));
    assert_eq!(
        (again["records"].as_u64(), again["duplicates"].as_u64()),
        (Some(0), Some(lines.len() as u64))
    );
    // One byte changed in a plain copy: the id is known with other content.
    let plain: Vec<String> = lines.iter().map(|l| unchained(l)).collect();
    let mut changed = plain.clone();
    changed[20] = changed[20].replacen("\"domain\":\"", "\"domain\":\"x", 1);
    std::fs::write(&file, changed.join("\n")).unwrap();
    let (_, stderr) = exits(target.cmd().args(["audit", "import"]).arg(&file), 3);
    assert!(
        stderr.contains("line 21: the trail already holds a record with this id"),
        "{stderr}"
    );
    let v = target.json(&["audit", "verify"]);
    assert_eq!(v["verified"].as_u64(), Some(lines.len() as u64 + 1));
}

/// An exported line as a plain public-schema record: without `seq`, `prev_hash` and `hash`.
fn unchained(line: &str) -> String {
    let mut v: Value = parse(line);
    for key in ["seq", "prev_hash", "hash"] {
        v.as_object_mut().unwrap().remove(key);
    }
    v.to_string()
}

#[test]
fn a_plain_trail_in_the_public_schema_is_imported_and_chained() {
    let deck = Deck::demo();
    let plain: Vec<String> = export_lines(&deck)
        .iter()
        .take(30)
        .map(|l| unchained(l))
        .collect();
    let file = deck.path("plain.jsonl");
    std::fs::write(&file, plain.join("\n")).unwrap();
    let target = Deck::empty();
    let done = success_json(target.cmd().args(["audit", "import"]).arg(&file));
    assert_eq!(
        (done["records"].as_u64(), done["source"].as_str()),
        (Some(30), Some("plain"))
    );
    let v = target.json(&["audit", "verify"]);
    assert_eq!(
        (v["verified"].as_u64(), &v["first_bad"]),
        (Some(31), &Value::Null)
    );
    // The provenance is kept beside the trail, not in the public fields.
    let conn = rusqlite::Connection::open(&target.store).unwrap();
    let (sha, line): (String, i64) = conn
        .query_row(
            "SELECT file_sha256, first_line + (7 - first_seq) FROM audit_origin
             WHERE first_seq <= 7 AND last_seq >= 7",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((sha.as_str(), line), (done["sha256"].as_str().unwrap(), 7));
    let exported = target.export();
    assert!(exported[6].get("file_sha256").is_none());
}

#[test]
fn hostile_text_in_an_imported_file_breaks_nothing_and_is_never_shown_raw() {
    let deck = Deck::demo();
    let hostile = format!(
        "\u{1b}]0;owned\u{7}\u{1b}P+q\u{1b}\\\u{1b}c\u{9b}31m\u{202e}{}",
        "x".repeat(40_000)
    );
    let mut plain: Vec<Value> = export_lines(&deck)
        .iter()
        .take(5)
        .map(|l| {
            let mut v: Value = parse(l);
            for key in ["seq", "prev_hash", "hash"] {
                v.as_object_mut().unwrap().remove(key);
            }
            v
        })
        .collect();
    plain[1]["summary"] = hostile.clone().into();
    plain[2]["details"]["reasoning"] = hostile.clone().into();
    plain[3]["agent_id"] = hostile.clone().into();
    let file = deck.path("hostile\u{1b}]0;x\u{7}.jsonl");
    let text: Vec<String> = plain.iter().map(|v| v.to_string()).collect();
    std::fs::write(&file, text.join("\n")).unwrap();
    let target = Deck::empty();
    let out = run(target
        .cmd()
        .args(["-o", "table", "audit", "import"])
        .arg(&file));
    assert_eq!(out.status.code(), Some(0), "{}", text_of(&out.stderr));
    for stream in [&out.stdout, &out.stderr] {
        assert!(
            !stream.contains(&0x1b) && !stream.contains(&0x07),
            "{}",
            text_of(stream)
        );
    }
    target.ok(&["audit", "verify"]);
    // Bad lines with hostile text: the messages are made safe before a terminal sees them.
    let mut bad = text.clone();
    bad[0] = bad[0].replacen("\"id\":\"", &format!("\"id\":\"{}", "\u{1b}]0;id\u{7}"), 1);
    bad[1] = format!("{{\"{hostile}\": 1}}");
    bad[2] = format!("\u{1b}]52;c;{}\u{7}", "A".repeat(40_000));
    std::fs::write(&file, bad.join("\n")).unwrap();
    let out = run(target.cmd().args(["audit", "import"]).arg(&file));
    assert_eq!(out.status.code(), Some(2));
    let stderr = text_of(&out.stderr);
    assert!(
        !stderr.contains('\u{1b}') && !stderr.contains('\u{7}') && !stderr.contains('\u{9b}'),
        "{stderr:?}"
    );
    assert!(
        stderr.contains("line 1:") && stderr.contains("line 3:"),
        "{stderr}"
    );
    assert!(
        stderr.len() < 200_000,
        "a bounded report: {} bytes",
        stderr.len()
    );
}

fn text_of(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
