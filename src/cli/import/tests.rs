//! Import against real stores: all or nothing, the file's own chain verified before anything
//! is written, duplicates by record id, provenance, a file changed between the passes, the
//! bulk journal.

use super::*;
use crate::model::{AuditRecord, Timestamp};

fn at(ms_ago: i64) -> Timestamp {
    crate::model::truncate(chrono::Utc::now()) - chrono::Duration::milliseconds(ms_ago)
}

fn draft(word: &str, i: usize) -> AuditDraft {
    AuditDraft {
        agent_id: format!("agent-{}", i % 7),
        action_type: ActionType::Decision,
        domain: "platform".into(),
        summary: format!("{word} record {i}"),
        details: AuditDetails {
            context: format!("{word} context {}", "x".repeat(300)),
            ..Default::default()
        },
        classification: Classification::Internal,
        related_tasks: vec![format!("T-{i}")],
        retention: Retention::Standard,
    }
}

/// A store holding `n` records whose text says `word`, fully indexed.
fn store_with(path: &Path, word: &str, n: usize) -> Store {
    let mut store = Store::open(path).unwrap();
    let mut write = store.write().unwrap();
    for i in 0..n {
        write
            .append_audit(
                uuid::Uuid::now_v7(),
                at((n - i) as i64 * 10),
                draft(word, i),
            )
            .unwrap();
    }
    write.index_audit_text().unwrap();
    write.commit().unwrap();
    store
}

/// Everything an import touches, to compare before and after.
fn snapshot(store: &Store) -> Vec<String> {
    store.as_sqlite().unwrap().fingerprint().unwrap()
}

fn words(store: &Store, word: &str) -> usize {
    let filter = crate::query::parse(word, chrono::Utc::now()).unwrap();
    store.search_audit(&filter, None, 10_000).unwrap().len()
}

fn journal_mode(store: &Store) -> String {
    store.as_sqlite().unwrap().journal_mode().unwrap()
}

/// Through the write-ahead log (`bulk_from` above the file's size) or a rollback journal.
fn import_fails_midway_then_succeeds(bulk_from: u64) {
    let dir = tempfile::tempdir().unwrap();
    // The file: 3,000 records about "imported", exported by opsdeck.
    let source = store_with(&dir.path().join("source.db"), "imported", 3_000);
    let file = dir.path().join("trail.jsonl");
    let mut text = String::new();
    source
        .each_audit(&mut |r| {
            text.push_str(&serde_json::to_string(&r).unwrap());
            text.push('\n');
            true
        })
        .unwrap();
    std::fs::write(&file, text).unwrap();
    // The target already holds a trail of its own.
    let target = dir.path().join("target.db");
    let mut store = store_with(&target, "native", 40);
    let before = snapshot(&store);
    // Room for a few hundred records, not for the file: the disk fills mid-way.
    store.as_sqlite().unwrap().limit_growth(Some(200)).unwrap();
    let err = import_into(&mut store, &file, "operator:test", bulk_from).unwrap_err();
    assert!(err.to_string().contains("full"), "{err}");
    assert_eq!(
        snapshot(&store),
        before,
        "nothing changed: rows, indexes, text, meta"
    );
    assert_eq!(store.verify_audit().unwrap().verified, 40);
    assert_eq!(
        (words(&store, "native"), words(&store, "imported")),
        (40, 0)
    );
    assert_eq!(journal_mode(&store), "wal");

    // With room, the same file imports whole (it was not remembered as imported).
    store.as_sqlite().unwrap().limit_growth(None).unwrap();
    let done = import_into(&mut store, &file, "operator:test", bulk_from).unwrap();
    assert_eq!((done.first_seq, done.last_seq), (Some(41), Some(3_040)));
    assert_eq!(done.source, "chain");
    assert_eq!(journal_mode(&store), "wal");
    let v = store.verify_audit().unwrap();
    assert_eq!((v.verified, v.first_bad), (3_041, None));
    assert_eq!(
        (words(&store, "native"), words(&store, "imported")),
        (40, 3_001)
    );
    assert_eq!(
        store.as_sqlite().unwrap().text_buffer().unwrap(),
        DEFAULT_FTS_HASHSIZE,
        "the index's buffer set back"
    );
    // Again: every record is already there, and nothing changes.
    let again_before = snapshot(&store);
    let again = import_into(&mut store, &file, "operator:test", bulk_from).unwrap();
    assert_eq!((again.records, again.duplicates), (0, 3_000));
    assert_eq!(snapshot(&store), again_before);
    drop(store);
    let journal = dir.path().join("target.db-journal");
    assert!(!journal.exists(), "no journal file left behind");
}

#[test]
fn an_import_that_fails_midway_leaves_the_store_as_it_was() {
    import_fails_midway_then_succeeds(u64::MAX);
}

#[test]
fn a_bulk_journal_import_that_fails_midway_leaves_the_store_as_it_was() {
    import_fails_midway_then_succeeds(0);
}

#[test]
fn the_bulk_journal_is_not_used_while_the_store_is_open_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let mut store = store_with(&path, "native", 3);
    let other = store_with(&path, "other", 2);
    assert!(!store.enter_bulk_journal().unwrap());
    assert_eq!(journal_mode(&store), "wal");
    drop(other);
    assert!(store.enter_bulk_journal().unwrap());
    assert_eq!(journal_mode(&store), "truncate");
    store.leave_bulk_journal().unwrap();
    assert_eq!(journal_mode(&store), "wal");
}

fn export(store: &Store) -> Vec<AuditRecord> {
    let mut records = Vec::new();
    store
        .each_audit(&mut |r| {
            records.push(r);
            true
        })
        .unwrap();
    records
}

fn write_jsonl(path: &Path, records: &[AuditRecord]) {
    let lines: Vec<String> = records
        .iter()
        .map(|r| serde_json::to_string(r).unwrap())
        .collect();
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

/// Imports `records` as a file named `name` into a fresh store: the result and the store.
fn import_records(
    dir: &Path,
    records: &[AuditRecord],
    name: &str,
) -> (Result<Imported, CliError>, Store) {
    let path = dir.join(name);
    write_jsonl(&path, records);
    let mut store = Store::open(&dir.join(format!("{name}.db"))).unwrap();
    let done = import_into(&mut store, &path, "operator:test", u64::MAX);
    (done, store)
}

#[test]
fn a_file_with_chain_fields_must_verify_as_a_chain_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let records = export(&store_with(&dir.path().join("s.db"), "word", 5));
    let (done, store) = import_records(dir.path(), &records, "as-exported");
    assert_eq!(done.unwrap().source, "chain");
    assert_eq!(store.verify_audit().unwrap().first_bad, None);
    let refused = |records: &[AuditRecord], name: &str, line: &str, why: &str| {
        let (done, store) = import_records(dir.path(), records, name);
        let err = done.unwrap_err();
        assert!(matches!(err, CliError::Usage(_)), "{name}: {err}");
        assert_eq!(
            store.head().unwrap().audit_seq,
            0,
            "{name}: nothing written"
        );
        let survey = survey(&dir.path().join(name)).unwrap();
        assert!(
            survey.bad[0].starts_with(line) && survey.bad[0].contains(why),
            "{name}: {:?}",
            survey.bad
        );
    };
    let mut edited = records.clone();
    edited[2].summary.push('!');
    refused(&edited, "edited", "line 3:", "does not match its contents");
    let mut unlinked = records.clone();
    unlinked[3].prev_hash = "0".repeat(64);
    unlinked[3].hash = crate::store::hash_record(&unlinked[3]);
    refused(
        &unlinked,
        "unlinked",
        "line 4:",
        "prev_hash is not the hash",
    );
    let mut cut = records.clone();
    cut.remove(2);
    refused(&cut, "cut", "line 3:", "does not follow seq 2");
    let mut mixed: Vec<serde_json::Value> = records
        .iter()
        .map(|r| serde_json::to_value(r).unwrap())
        .collect();
    for key in ["seq", "prev_hash", "hash"] {
        mixed[4].as_object_mut().unwrap().remove(key);
    }
    let path = dir.path().join("mixed");
    let text: Vec<String> = mixed.iter().map(|v| v.to_string()).collect();
    std::fs::write(&path, text.join("\n")).unwrap();
    let survey = survey(&path).unwrap();
    assert!(
        survey.bad[0].starts_with("line 5: it has no seq/prev_hash/hash but line 1 has them"),
        "{:?}",
        survey.bad
    );
    // Ids written in capitals, hashed as written by whatever wrote them: still a chain.
    let mut capitals = records.clone();
    let mut prev = capitals[0].prev_hash.clone();
    for r in &mut capitals {
        r.id = r.id.to_uppercase();
        r.prev_hash = prev;
        r.hash = crate::store::hash_record(r);
        prev = r.hash.clone();
    }
    assert!(import_records(dir.path(), &capitals, "capitals").0.is_ok());
}

#[test]
fn a_plain_trail_is_chained_on_arrival_with_its_provenance() {
    let dir = tempfile::tempdir().unwrap();
    let records = export(&store_with(&dir.path().join("s.db"), "word", 4));
    let plain: Vec<String> = records
        .iter()
        .map(|r| {
            let mut v = serde_json::to_value(r).unwrap();
            for key in ["seq", "prev_hash", "hash"] {
                v.as_object_mut().unwrap().remove(key);
            }
            v.to_string()
        })
        .collect();
    let path = dir.path().join("plain.jsonl");
    // A blank line in the middle: lines, not records, are counted.
    std::fs::write(
        &path,
        format!("{}\n{}\n\n{}\n{}\n", plain[0], plain[1], plain[2], plain[3]),
    )
    .unwrap();
    let mut store = store_with(&dir.path().join("t.db"), "native", 3);
    let done = import_into(&mut store, &path, "operator:test", u64::MAX).unwrap();
    assert_eq!(
        (done.source, done.records, done.first_seq),
        ("plain", 4, Some(4))
    );
    assert_eq!(store.verify_audit().unwrap().verified, 8);
    let origin = |seq| store.audit_origin(seq).unwrap();
    assert_eq!(origin(3), None, "a native record has none");
    assert_eq!(origin(4), Some((done.sha256.clone(), 1)));
    assert_eq!(origin(5).map(|o| o.1), Some(2));
    assert_eq!(origin(6).map(|o| o.1), Some(4));
    assert_eq!(origin(7).map(|o| o.1), Some(5));
    assert_eq!(origin(8), None, "the import's own record");
}

#[test]
fn duplicates_are_found_by_record_id_whatever_the_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let records = export(&store_with(&dir.path().join("s.db"), "word", 6));
    let path = dir.path().join("trail.jsonl");
    write_jsonl(&path, &records[..4]);
    let mut store = Store::open(&dir.path().join("t.db")).unwrap();
    import_into(&mut store, &path, "operator:test", u64::MAX).unwrap();
    // The same records, one more, a newline more: only the new one goes in.
    write_jsonl(&path, &records[..5]);
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push('\n');
    std::fs::write(&path, text).unwrap();
    let done = import_into(&mut store, &path, "operator:test", u64::MAX).unwrap();
    assert_eq!(
        (done.records, done.duplicates, done.first_seq),
        (1, 4, Some(6))
    );
    assert_eq!(store.verify_audit().unwrap().verified, 7);
    // A record whose id is known with another content is refused, naming its line.
    let before = snapshot(&store);
    let mut changed: Vec<serde_json::Value> = records
        .iter()
        .map(|r| serde_json::to_value(r).unwrap())
        .collect();
    for v in &mut changed {
        for key in ["seq", "prev_hash", "hash"] {
            v.as_object_mut().unwrap().remove(key);
        }
    }
    changed[1]["summary"] = "word record 1, changed".into();
    let text: Vec<String> = changed.iter().map(|v| v.to_string()).collect();
    std::fs::write(&path, text.join("\n")).unwrap();
    let err = import_into(&mut store, &path, "operator:test", u64::MAX).unwrap_err();
    assert!(matches!(err, CliError::Refused(_)), "{err}");
    assert!(
        err.to_string()
            .contains("line 2: the trail already holds a record with this id (seq 2)"),
        "{err}"
    );
    assert_eq!(snapshot(&store), before);
    // The same id twice in one file goes in once.
    let twice = format!("{}\n{}\n", text[5], text[5]);
    std::fs::write(&path, twice).unwrap();
    let done = import_into(&mut store, &path, "operator:test", u64::MAX).unwrap();
    assert_eq!((done.records, done.duplicates), (1, 1));
    assert_eq!(store.verify_audit().unwrap().first_bad, None);
}

#[test]
fn a_file_that_changes_between_the_passes_imports_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let records = export(&store_with(&dir.path().join("s.db"), "word", 5));
    let path = dir.path().join("trail.jsonl");
    write_jsonl(&path, &records);
    let survey = survey(&path).unwrap();
    let mut changed = records.clone();
    changed[1].summary = "something else".into();
    write_jsonl(&path, &changed);
    let mut store = store_with(&dir.path().join("t.db"), "native", 2);
    let before = snapshot(&store);
    let Err(Appending::Failed(err)) = append_file(&mut store, &path, &survey, "operator:test")
    else {
        panic!("the change goes unnoticed");
    };
    assert!(
        err.to_string()
            .contains("changed while it was being imported"),
        "{err}"
    );
    assert_eq!(snapshot(&store), before);
}
