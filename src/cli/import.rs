//! `audit import FILE`: an external trail in the public schema, all or nothing.
//!
//! Two passes over the file. The first checks every line (schema, id, time, the file's own
//! chain) and writes nothing; a bad line stops the import before the store is touched, and the
//! bad lines are reported by number. The second appends the records, re-chained after the
//! store's own trail, in one transaction with the import's own audit record, so a failure at
//! any point (a full disk, a file changed between the passes) leaves the store as it was.
//!
//! Each pass reads the file in blocks of whole lines, which worker threads parse in parallel;
//! the results are taken in file order, so line numbers, chain links and seqs follow the file.

use std::io::Read;
use std::path::Path;
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use sha2::{Digest, Sha256};

use super::context::Context;
use super::error::CliError;
use super::output::emit_one;
use crate::model::{
    ActionType, AuditDetails, AuditDraft, AuditRecord, Classification, Retention, Timestamp,
};
use crate::store::{Chained, Hex, Prepared, Store};

/// Bad lines listed before the rest are only counted.
const SHOWN: usize = 20;

/// Fresh bytes per block handed to a worker (a block ends at a line end).
const BLOCK: usize = 4 << 20;

/// The full-text index's in-memory buffer while importing: fewer, larger segments to merge.
/// SQLite's default (1 MiB) is restored in the same transaction.
const IMPORT_FTS_HASHSIZE: i64 = 64 << 20;
const DEFAULT_FTS_HASHSIZE: i64 = 1 << 20;

/// Imports of this many records or more commit through a rollback journal when nothing else
/// has the store open (see `Store::enter_bulk_journal`).
const BULK_JOURNAL_FROM: u64 = 100_000;

/// Calls `f` with each line of `bytes` without its line end, as `BufRead::lines` gives them:
/// `\n` or `\r\n` ends a line, and a last line without `\n` keeps everything it holds.
fn for_each_line(bytes: &[u8], mut f: impl FnMut(&[u8])) {
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', bytes) {
        let line = &bytes[start..end];
        f(line.strip_suffix(b"\r").unwrap_or(line));
        start = end + 1;
    }
    if start < bytes.len() {
        f(&bytes[start..]);
    }
}

/// The file's digest: SHA-256 of its lines, each followed by `\n` (so a missing final newline
/// or CRLF line ends do not make the same trail a different file).
fn digest_block(digest: &mut Sha256, bytes: &[u8]) {
    if bytes.ends_with(b"\n") && memchr::memchr(b'\r', bytes).is_none() {
        digest.update(bytes);
    } else {
        for_each_line(bytes, |line| {
            digest.update(line);
            digest.update(b"\n");
        });
    }
}

/// Block buffers go back here after use, so that reading does not fault fresh pages in.
struct Pool(Mutex<Vec<Vec<u8>>>);

impl Pool {
    fn take(&self) -> Vec<u8> {
        self.0
            .lock()
            .ok()
            .and_then(|mut p| p.pop())
            .unwrap_or_else(|| Vec::with_capacity(BLOCK + BLOCK / 4))
    }

    fn give(&self, mut buf: Vec<u8>) {
        buf.clear();
        if let Ok(mut pool) = self.0.lock()
            && pool.len() < 16
        {
            pool.push(buf);
        }
    }
}

/// Reads `file` in blocks of whole lines, about `BLOCK` fresh bytes each; `emit` returns false
/// to stop early.
fn read_blocks(
    file: &mut std::fs::File,
    pool: &Pool,
    mut emit: impl FnMut(Vec<u8>) -> bool,
) -> std::io::Result<()> {
    let mut carry: Vec<u8> = Vec::new();
    loop {
        let mut buf = pool.take();
        buf.append(&mut carry);
        let want = buf.len() + BLOCK;
        buf.reserve(BLOCK);
        let read = (&mut *file).take(BLOCK as u64).read_to_end(&mut buf)?;
        if buf.len() < want || read == 0 {
            // End of file: whatever is left is the last block.
            if !buf.is_empty() {
                emit(buf);
            }
            return Ok(());
        }
        match memchr::memrchr(b'\n', &buf) {
            Some(end) => {
                carry.extend_from_slice(&buf[end + 1..]);
                buf.truncate(end + 1);
                if !emit(buf) {
                    return Ok(());
                }
            }
            // A line longer than a block: read on.
            None => carry = buf,
        }
    }
}

/// Runs `work` over the blocks of `path` on worker threads, then `sequence` over the results in
/// file order on a thread of its own, and gives what that returns to `take` on this thread.
/// `see` sees every block in file order on the reading thread. `take` returning an error stops
/// the reading and the workers.
fn pipeline<R: Send, S: Send>(
    path: &Path,
    see: &mut (dyn FnMut(&[u8]) + Send),
    work: &(dyn Fn(&[u8]) -> R + Sync),
    sequence: &mut (dyn FnMut(R) -> S + Send),
    take: &mut dyn FnMut(S) -> Result<(), CliError>,
) -> Result<(), CliError> {
    let cannot_read =
        |e: std::io::Error| CliError::Runtime(format!("cannot read {}: {e}", path.display()));
    let mut file = std::fs::File::open(path).map_err(cannot_read)?;
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 8));
    let pool = Pool(Mutex::new(Vec::new()));
    let (jobs_tx, jobs_rx) = sync_channel::<(Vec<u8>, SyncSender<R>)>(workers);
    let (order_tx, order_rx) = sync_channel::<Receiver<R>>(2 * workers + 1);
    let (sequenced_tx, sequenced_rx) = sync_channel::<S>(2);
    let jobs_rx = Mutex::new(jobs_rx);
    let (jobs_rx, pool) = (&jobs_rx, &pool);
    std::thread::scope(|s| {
        let reader = s.spawn(move || {
            read_blocks(&mut file, pool, |block| {
                see(&block);
                let (result_tx, result_rx) = sync_channel(1);
                order_tx.send(result_rx).is_ok() && jobs_tx.send((block, result_tx)).is_ok()
            })
        });
        for _ in 0..workers {
            s.spawn(move || {
                while let Some((block, result_tx)) =
                    jobs_rx.lock().ok().and_then(|rx| rx.recv().ok())
                {
                    let result = work(&block);
                    pool.give(block);
                    // The sequencer may have stopped; then nobody wants the result.
                    let _ = result_tx.send(result);
                }
            });
        }
        let sequencer = s.spawn(move || {
            for result_rx in order_rx {
                // A worker that drops its result without sending it has panicked.
                let Ok(result) = result_rx.recv() else {
                    return false;
                };
                if sequenced_tx.send(sequence(result)).is_err() {
                    break;
                }
            }
            true
        });
        let mut outcome = Ok(());
        for item in sequenced_rx.iter() {
            outcome = take(item);
            if outcome.is_err() {
                break;
            }
        }
        drop(sequenced_rx);
        let sequenced = sequencer.join().unwrap_or(false);
        let read = reader
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the reading thread failed")));
        outcome.and(read.map_err(cannot_read)).and(if sequenced {
            Ok(())
        } else {
            Err(CliError::Runtime(format!(
                "reading {} failed in a worker thread",
                path.display()
            )))
        })
    })
}

fn check(record: &AuditRecord, latest: Timestamp) -> Result<(), String> {
    uuid::Uuid::parse_str(&record.id)
        .map_err(|e| format!("id {:?} is not a UUID ({e})", record.id))?;
    if record.timestamp > latest {
        return Err(format!("timestamp {} is in the future", record.timestamp));
    }
    if record.agent_id.trim().is_empty() || record.domain.trim().is_empty() {
        return Err("agent_id and domain must not be empty".into());
    }
    Ok(())
}

/// A line as text, or why it is not; `None` for a blank line.
fn line_text(line: &[u8]) -> Option<Result<&str, String>> {
    match std::str::from_utf8(line) {
        Ok(text) if text.trim().is_empty() => None,
        Ok(text) => Some(Ok(text)),
        Err(e) => Some(Err(format!("not UTF-8 text ({e})"))),
    }
}

/// What the first pass learnt from one block.
#[derive(Default)]
struct Checked {
    lines: usize,
    records: u64,
    /// The `prev_hash` of the block's first good record, and the hash of its last.
    first_prev: Option<String>,
    last_hash: Option<String>,
    /// Every good record's hash is right, and each links to the good record before it.
    intact: bool,
    /// (line within the block, from 0; what is wrong), the first `SHOWN` of them.
    bad: Vec<(usize, String)>,
    bad_count: usize,
}

fn check_block(bytes: &[u8], latest: Timestamp) -> Checked {
    let mut c = Checked {
        intact: true,
        ..Default::default()
    };
    for_each_line(bytes, |line| {
        let n = c.lines;
        c.lines += 1;
        let parsed = match line_text(line) {
            None => return,
            Some(text) => text.and_then(|text| {
                serde_json::from_str::<AuditRecord>(text)
                    .map_err(|e| e.to_string())
                    .and_then(|r| check(&r, latest).map(|()| r))
            }),
        };
        match parsed {
            Ok(r) => {
                c.records += 1;
                let hash: Hex = crate::store::record_hash(&r);
                let links = c.last_hash.as_ref().is_none_or(|p| *p == r.prev_hash);
                c.intact = c.intact && links && hash == r.hash.as_bytes();
                if c.first_prev.is_none() {
                    c.first_prev = Some(r.prev_hash);
                }
                c.last_hash = Some(r.hash);
            }
            Err(e) => {
                c.bad_count += 1;
                if c.bad.len() < SHOWN {
                    c.bad.push((n, e));
                }
            }
        }
    });
    c
}

/// The whole file as the first pass saw it.
struct Survey {
    records: u64,
    chained: bool,
    sha256: String,
    bad: Vec<String>,
    bad_count: usize,
}

fn survey(file: &Path) -> Result<Survey, CliError> {
    let latest = crate::engine::clock::truncate(chrono::Utc::now()) + chrono::Duration::minutes(5);
    let mut digest = Sha256::new();
    let mut s = Survey {
        records: 0,
        chained: true,
        sha256: String::new(),
        bad: Vec::new(),
        bad_count: 0,
    };
    let mut lines_before = 0usize;
    let mut last_hash: Option<String> = None;
    pipeline(
        file,
        &mut |block| digest_block(&mut digest, block),
        &|block| check_block(block, latest),
        &mut |c| c,
        &mut |c: Checked| {
            for (n, e) in c.bad {
                if s.bad.len() < SHOWN {
                    s.bad.push(format!(
                        "line {}: {}",
                        lines_before + n + 1,
                        crate::text::SafeText::new(&e)
                    ));
                }
            }
            s.bad_count += c.bad_count;
            s.records += c.records;
            let links = match (&last_hash, &c.first_prev) {
                (Some(last), Some(first)) => last == first,
                _ => true,
            };
            s.chained = s.chained && links && c.intact;
            if c.last_hash.is_some() {
                last_hash = c.last_hash;
            }
            lines_before += c.lines;
            Ok(())
        },
    )?;
    s.sha256 = hex::encode(digest.finalize());
    Ok(s)
}

fn draft(r: AuditRecord) -> AuditDraft {
    AuditDraft {
        agent_id: r.agent_id,
        action_type: r.action_type,
        domain: r.domain,
        summary: r.summary,
        details: r.details,
        classification: r.classification,
        related_tasks: r.related_tasks,
        retention: r.retention,
    }
}

/// The second pass's work on one block: records ready to be chained.
fn prepare_block(bytes: &[u8]) -> Result<Vec<Prepared>, String> {
    let mut prepared = Vec::with_capacity(bytes.len() / 512);
    let mut failed = None;
    for_each_line(bytes, |line| {
        if failed.is_some() {
            return;
        }
        let record = match line_text(line) {
            None => return,
            Some(text) => text.and_then(|text| {
                serde_json::from_str::<AuditRecord>(text).map_err(|e| e.to_string())
            }),
        };
        match record.and_then(|r| {
            uuid::Uuid::parse_str(&r.id)
                .map(|id| (id, r))
                .map_err(|e| e.to_string())
        }) {
            Ok((id, r)) => prepared.push(Prepared::new(id, r.timestamp, draft(r))),
            Err(e) => failed = Some(e),
        }
    });
    match failed {
        Some(e) => Err(e),
        None => Ok(prepared),
    }
}

#[derive(Debug, serde::Serialize)]
struct Imported {
    file: String,
    records: u64,
    sha256: String,
    /// Whether the file's own hashes chain as opsdeck computes them (an opsdeck export does).
    source_chain_intact: bool,
    first_seq: u64,
    last_seq: u64,
}

pub fn import(ctx: &Context, file: &Path) -> Result<(), CliError> {
    ctx.require_writable()?;
    let mut store = ctx.open_store()?;
    let actor = crate::authority::operator_actor(&ctx.operator);
    let result = import_into(&mut store, file, &actor, BULK_JOURNAL_FROM)?;
    emit_one(ctx.format(), &result, || {
        format!(
            "imported {} records from {} as seq {}..{} (the file's own chain {})",
            result.records,
            result.file,
            result.first_seq,
            result.last_seq,
            if result.source_chain_intact {
                "verified"
            } else {
                "does not verify as an opsdeck chain"
            }
        )
    })
}

/// Checks every line of `file`, then appends its records to the trail in one transaction
/// with an audit record of the import by `actor`.
fn import_into(
    store: &mut Store,
    file: &Path,
    actor: &str,
    bulk_from: u64,
) -> Result<Imported, CliError> {
    // First pass: every line is checked before anything is written.
    let survey = survey(file)?;
    if survey.bad_count > 0 {
        let more = survey.bad_count.saturating_sub(survey.bad.len());
        for line in &survey.bad {
            eprintln!("{}: {line}", file.display());
        }
        return Err(CliError::Usage(format!(
            "{} has {} bad line{}{}; nothing was imported: fix them and import again",
            file.display(),
            survey.bad_count,
            if survey.bad_count == 1 { "" } else { "s" },
            if more > 0 {
                format!(" ({more} not shown)")
            } else {
                String::new()
            }
        )));
    }
    let count = survey.records;
    if count == 0 {
        return Err(CliError::Usage(format!(
            "{} holds no records",
            file.display()
        )));
    }
    let sha = survey.sha256;
    // Second pass: one transaction, so the trail gains the whole file or nothing.
    let bulk = count >= bulk_from && store.enter_bulk_journal()?;
    let outcome = append_file(store, file, count, &sha, actor);
    if bulk && let Err(e) = store.leave_bulk_journal() {
        // Every open of the store returns it to the write-ahead log anyway.
        tracing::warn!("after the import: {e}");
    }
    let first_seq = outcome?;
    Ok(Imported {
        file: file.display().to_string(),
        records: count,
        sha256: sha,
        source_chain_intact: survey.chained,
        first_seq,
        last_seq: first_seq + count - 1,
    })
}

/// The second pass: appends the `count` records of `file` (whose digest is `sha`) and the
/// import's own record in one transaction; returns the first record's seq.
fn append_file(
    store: &mut Store,
    file: &Path,
    count: u64,
    sha: &str,
    actor: &str,
) -> Result<u64, CliError> {
    let mut write = store.write()?;
    if let Some(at) = write.imported_before(sha)? {
        return Err(CliError::Refused(format!(
            "{} was already imported at {at}; importing it again would duplicate its records",
            file.display()
        )));
    }
    let first_seq = write.head().audit_seq + 1;
    write.index_inline()?;
    write.set_text_buffer(IMPORT_FTS_HASHSIZE)?;
    let mut chainer = write.chainer()?;
    let mut digest = Sha256::new();
    let mut appended = 0u64;
    // Freeing a batch's memory is left to another thread too.
    let (used_tx, used_rx) = std::sync::mpsc::channel::<Chained>();
    let freer = std::thread::spawn(move || used_rx.into_iter().for_each(drop));
    let appending = pipeline(
        file,
        &mut |block| digest_block(&mut digest, block),
        &prepare_block,
        &mut |batch| batch.map(|records| chainer.chain(records)),
        &mut |batch| {
            let batch = batch.map_err(|e| {
                CliError::Runtime(format!(
                    "{} changed while it was being imported ({e}); nothing was imported",
                    file.display()
                ))
            })?;
            appended += batch.len() as u64;
            write.append_chained(&batch)?;
            let _ = used_tx.send(batch);
            Ok(())
        },
    );
    drop(used_tx);
    let _ = freer.join();
    appending?;
    if appended != count || hex::encode(digest.finalize()) != sha {
        return Err(CliError::Runtime(format!(
            "{} changed while it was being imported; nothing was imported",
            file.display()
        )));
    }
    write.set_text_buffer(DEFAULT_FTS_HASHSIZE)?;
    let now = crate::engine::clock::truncate(chrono::Utc::now());
    write.append_audit(
        uuid::Uuid::now_v7(),
        now,
        AuditDraft {
            agent_id: actor.to_string(),
            action_type: ActionType::Execution,
            domain: "enterprise".into(),
            summary: format!("imported {count} audit records from {}", file.display()),
            details: AuditDetails {
                context: format!("sha256 {sha}"),
                outcome: format!("seq {first_seq}..{}", first_seq + count - 1),
                ..Default::default()
            },
            classification: Classification::Internal,
            related_tasks: vec![],
            retention: Retention::Compliance,
        },
    )?;
    write.remember_import(sha, now)?;
    write.commit()?;
    Ok(first_seq)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(bytes: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for_each_line(bytes, |l| out.push(l.to_vec()));
        out
    }

    #[test]
    fn lines_end_as_bufread_ends_them() {
        for text in [
            &b""[..],
            b"\n",
            b"a",
            b"a\n",
            b"a\r\nb\r\n",
            b"a\nb",
            b"a\r",
            b"\n\nx\r\r\n",
        ] {
            let expected: Vec<Vec<u8>> = std::io::BufRead::lines(text)
                .map(|l| l.unwrap().into_bytes())
                .collect();
            assert_eq!(
                lines_of(text),
                expected,
                "{:?}",
                String::from_utf8_lossy(text)
            );
            let mut fast = Sha256::new();
            digest_block(&mut fast, text);
            let mut slow = Sha256::new();
            for line in &expected {
                slow.update(line);
                slow.update(b"\n");
            }
            assert_eq!(fast.finalize(), slow.finalize());
        }
    }

    fn at(ms_ago: i64) -> Timestamp {
        crate::engine::clock::truncate(chrono::Utc::now()) - chrono::Duration::milliseconds(ms_ago)
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
        let conn = store.connection();
        [
            "SELECT count(*) || ' ' || max(seq) || ' ' || max(hash) FROM audit",
            "SELECT count(*) || ' ' || max(task) FROM audit_tasks",
            "SELECT count(*) || ' ' || sum(length(block)) FROM audit_fts_data",
            "SELECT count(*) || '' FROM audit_fts_docsize",
            "SELECT group_concat(key || '=' || value, ';') FROM meta",
            "SELECT group_concat(k || '=' || v, ';') FROM audit_fts_config",
        ]
        .iter()
        .map(|sql| {
            conn.query_row(sql, [], |r| r.get::<_, Option<String>>(0))
                .unwrap()
                .unwrap_or_default()
        })
        .collect()
    }

    fn words(store: &Store, word: &str) -> usize {
        let filter = crate::query::parse(word, chrono::Utc::now()).unwrap();
        store.search_audit(&filter, None, 10_000).unwrap().len()
    }

    fn journal_mode(store: &Store) -> String {
        store
            .connection()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap()
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
        let pages: i64 = store
            .connection()
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .unwrap();
        // Room for a few hundred records, not for the file: the disk fills mid-way.
        let limit = format!("PRAGMA max_page_count = {}", pages + 200);
        let _: i64 = store
            .connection()
            .query_row(&limit, [], |r| r.get(0))
            .unwrap();
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
        let _: i64 = store
            .connection()
            .query_row("PRAGMA max_page_count = 1000000000", [], |r| r.get(0))
            .unwrap();
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
        let hashsize: i64 = store
            .connection()
            .query_row(
                "SELECT v FROM audit_fts_config WHERE k = 'hashsize'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            hashsize, DEFAULT_FTS_HASHSIZE,
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

    #[test]
    fn blocks_hold_whole_lines_and_the_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        // Lines of many lengths, one longer than a block, and no final newline.
        let mut text = Vec::new();
        for i in 0..200_000usize {
            text.extend(std::iter::repeat_n(b'x', i % 97));
            text.push(b'\n');
            if i == 1000 {
                text.extend(std::iter::repeat_n(b'y', BLOCK + 10));
                text.push(b'\n');
            }
        }
        text.extend_from_slice(b"last");
        std::fs::write(&path, &text).unwrap();
        let pool = Pool(Mutex::new(Vec::new()));
        let mut joined = Vec::new();
        let mut blocks = 0;
        read_blocks(&mut std::fs::File::open(&path).unwrap(), &pool, |b| {
            assert!(b.ends_with(b"\n") || b.ends_with(b"last"));
            joined.extend_from_slice(&b);
            blocks += 1;
            true
        })
        .unwrap();
        assert!(blocks > 2);
        assert_eq!(joined, text);
    }
}
