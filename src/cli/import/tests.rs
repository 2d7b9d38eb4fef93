//! Import against real stores: all or nothing, the file's own chain, a file changed between
//! the passes, the bulk journal.

use super::*;
use crate::model::AuditRecord;

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
    assert_eq!((done.first_seq, done.last_seq), (41, 3_040));
    assert!(done.source_chain_intact);
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
    assert!(matches!(
        import_into(&mut store, &file, "operator:test", bulk_from),
        Err(CliError::Refused(_))
    ));
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

#[test]
fn the_files_own_chain_is_reported_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let records = export(&store_with(&dir.path().join("s.db"), "word", 5));
    let intact = |records: &[AuditRecord], name: &str| {
        let path = dir.path().join(name);
        write_jsonl(&path, records);
        let mut store = Store::open(&dir.path().join(format!("{name}.db"))).unwrap();
        let done = import_into(&mut store, &path, "operator:test", u64::MAX).unwrap();
        assert_eq!(store.verify_audit().unwrap().first_bad, None);
        done.source_chain_intact
    };
    assert!(intact(&records, "as-exported"));
    let mut tampered = records.clone();
    tampered[2].summary.push('!');
    assert!(!intact(&tampered, "tampered"));
    let mut unlinked = records.clone();
    unlinked[3].prev_hash = "0".repeat(64);
    assert!(!intact(&unlinked, "unlinked"));
    // Ids written in capitals, hashed as written by whatever wrote them: still intact.
    let mut capitals = records.clone();
    let mut prev = capitals[0].prev_hash.clone();
    for r in &mut capitals {
        r.id = r.id.to_uppercase();
        r.prev_hash = prev;
        r.hash = crate::store::hash_record(r);
        prev = r.hash.clone();
    }
    assert!(intact(&capitals, "capitals"));
}

#[test]
fn own_chains_join_across_blocks() {
    let block = |pairs: &[(&str, &str)]| {
        let mut c = OwnChain::new();
        for (prev, hash) in pairs {
            c.record(prev, hash, true);
        }
        c
    };
    let mut c = block(&[("0", "a"), ("a", "b")]);
    c.then(block(&[]));
    c.then(block(&[("b", "c")]));
    assert!(c.intact);
    c.then(block(&[("x", "d")]));
    assert!(!c.intact, "d does not follow c");
    let mut wrong = OwnChain::new();
    wrong.record("0", "a", false);
    assert!(!wrong.intact);
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
    let err = append_file(&mut store, &path, &survey, "operator:test").unwrap_err();
    assert!(
        err.to_string()
            .contains("changed while it was being imported"),
        "{err}"
    );
    assert_eq!(snapshot(&store), before);
}
