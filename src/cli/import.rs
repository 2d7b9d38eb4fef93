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
use crate::model::audit::borrowed::AuditRecord as AuditRecordRef;
use crate::model::{ActionType, AuditDetails, AuditDraft, Classification, Retention, Timestamp};
use crate::store::{Chained, Prepared, Store};

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

fn check(record: &AuditRecordRef<'_>, latest: Timestamp) -> Result<(), String> {
    let id: &str = &record.id;
    uuid::Uuid::parse_str(id).map_err(|e| format!("id {id:?} is not a UUID ({e})"))?;
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

/// A checksum of a block, so that the second pass knows it reads what the first pass checked.
fn block_sum(bytes: &[u8]) -> u64 {
    use std::hash::BuildHasher;
    foldhash::quality::FixedState::with_seed(0x4F50_5344).hash_one(bytes)
}

/// What the first pass learnt from one block.
#[derive(Default)]
struct Checked {
    lines: usize,
    records: u64,
    sum: u64,
    /// (line within the block, from 0; what is wrong), the first `SHOWN` of them.
    bad: Vec<(usize, String)>,
    bad_count: usize,
}

fn check_block(bytes: &[u8], latest: Timestamp) -> Checked {
    let mut c = Checked {
        sum: block_sum(bytes),
        ..Default::default()
    };
    for_each_line(bytes, |line| {
        let n = c.lines;
        c.lines += 1;
        let checked = match line_text(line) {
            None => return,
            Some(text) => text.and_then(|text| {
                serde_json::from_str::<AuditRecordRef<'_>>(text)
                    .map_err(|e| e.to_string())
                    .and_then(|r| check(&r, latest))
            }),
        };
        match checked {
            Ok(()) => c.records += 1,
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
    sha256: String,
    /// Each block's checksum, in file order.
    sums: Vec<u64>,
    bad: Vec<String>,
    bad_count: usize,
}

fn survey(file: &Path) -> Result<Survey, CliError> {
    let latest = crate::engine::clock::truncate(chrono::Utc::now()) + chrono::Duration::minutes(5);
    let mut digest = Sha256::new();
    let mut s = Survey {
        records: 0,
        sha256: String::new(),
        sums: Vec::new(),
        bad: Vec::new(),
        bad_count: 0,
    };
    let mut lines_before = 0usize;
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
            s.sums.push(c.sum);
            lines_before += c.lines;
            Ok(())
        },
    )?;
    s.sha256 = hex::encode(digest.finalize());
    Ok(s)
}

/// The file's own chain, as far as it was seen: every record's hash is what opsdeck computes
/// from its fields, and each record's `prev_hash` is the hash of the record before it.
struct OwnChain {
    first_prev: Option<String>,
    last_hash: Option<String>,
    intact: bool,
}

impl OwnChain {
    fn new() -> OwnChain {
        OwnChain {
            first_prev: None,
            last_hash: None,
            intact: true,
        }
    }

    /// The next record: its `prev_hash`, its `hash`, and whether that hash is right.
    fn record(&mut self, prev_hash: &str, hash: &str, right: bool) {
        let links = self
            .last_hash
            .as_deref()
            .is_none_or(|last| last == prev_hash);
        self.intact = self.intact && links && right;
        if self.first_prev.is_none() {
            self.first_prev = Some(prev_hash.to_string());
        }
        let last = self.last_hash.get_or_insert_with(String::new);
        last.clear();
        last.push_str(hash);
    }

    /// The chain of the records that follow.
    fn then(&mut self, next: OwnChain) {
        let links = match (&self.last_hash, &next.first_prev) {
            (Some(last), Some(first)) => last == first,
            _ => true,
        };
        self.intact = self.intact && links && next.intact;
        if self.first_prev.is_none() {
            self.first_prev = next.first_prev;
        }
        if next.last_hash.is_some() {
            self.last_hash = next.last_hash;
        }
    }
}

/// A block's records ready to be chained, its checksum, and the file's own chain over it.
struct PreparedBlock {
    records: Vec<Prepared>,
    sum: u64,
    own: OwnChain,
}

/// The second pass's work on one block. The file's own chain is checked here, where the
/// canonical header each record needs is made anyway: it is reported, and does not decide
/// whether the file may be imported (an export of another system's trail is re-chained).
fn prepare_block(bytes: &[u8]) -> Result<PreparedBlock, String> {
    let mut block = PreparedBlock {
        records: Vec::with_capacity(bytes.len() / 512),
        sum: block_sum(bytes),
        own: OwnChain::new(),
    };
    let mut failed = None;
    for_each_line(bytes, |line| {
        if failed.is_some() {
            return;
        }
        let record = match line_text(line) {
            None => return,
            Some(text) => text.and_then(|text| {
                serde_json::from_str::<AuditRecordRef<'_>>(text).map_err(|e| e.to_string())
            }),
        };
        match record.and_then(|r| {
            uuid::Uuid::parse_str(&r.id)
                .map(|id| (id, r))
                .map_err(|e| e.to_string())
        }) {
            Ok((id, r)) => {
                let p = Prepared::from_ref(id, &r);
                // A record whose id is not written the canonical way hashes its id as written.
                let mut text = uuid::Uuid::encode_buffer();
                let own = if *id.hyphenated().encode_lower(&mut text) == *r.id {
                    p.hash_at(r.seq, r.prev_hash.as_bytes())
                } else {
                    crate::store::record_hash(&r.to_record())
                };
                block
                    .own
                    .record(&r.prev_hash, &r.hash, own == r.hash.as_bytes());
                block.records.push(p);
            }
            Err(e) => failed = Some(e),
        }
    });
    match failed {
        Some(e) => Err(e),
        None => Ok(block),
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
    // Second pass: one transaction, so the trail gains the whole file or nothing.
    let bulk = count >= bulk_from && store.enter_bulk_journal()?;
    let outcome = append_file(store, file, &survey, actor);
    if bulk && let Err(e) = store.leave_bulk_journal() {
        // Every open of the store returns it to the write-ahead log anyway.
        tracing::warn!("after the import: {e}");
    }
    let (first_seq, source_chain_intact) = outcome?;
    Ok(Imported {
        file: file.display().to_string(),
        records: count,
        sha256: survey.sha256,
        source_chain_intact,
        first_seq,
        last_seq: first_seq + count - 1,
    })
}

/// The second pass: appends the records of `file` and the import's own record in one
/// transaction; returns the first record's seq and whether the file's own chain is intact.
fn append_file(
    store: &mut Store,
    file: &Path,
    survey: &Survey,
    actor: &str,
) -> Result<(u64, bool), CliError> {
    let (count, sha) = (survey.records, survey.sha256.as_str());
    let changed = |why: String| {
        CliError::Runtime(format!(
            "{} changed while it was being imported{why}; nothing was imported",
            file.display()
        ))
    };
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
    let mut own = OwnChain::new();
    let mut blocks = 0usize;
    let mut appended = 0u64;
    // Freeing a batch's memory is left to another thread too.
    let (used_tx, used_rx) = std::sync::mpsc::channel::<Chained>();
    let freer = std::thread::spawn(move || used_rx.into_iter().for_each(drop));
    let appending = pipeline(
        file,
        &mut |_| {},
        &prepare_block,
        &mut |block| {
            let block = block.map_err(|e| format!(" ({e})"))?;
            // Only what the first pass checked is imported.
            if survey.sums.get(blocks) != Some(&block.sum) {
                return Err(String::new());
            }
            blocks += 1;
            own.then(block.own);
            Ok(chainer.chain(block.records))
        },
        &mut |batch| {
            let batch = batch.map_err(changed)?;
            appended += batch.len() as u64;
            write.append_chained(&batch)?;
            let _ = used_tx.send(batch);
            Ok(())
        },
    );
    drop(used_tx);
    let _ = freer.join();
    appending?;
    if appended != count || blocks != survey.sums.len() {
        return Err(changed(String::new()));
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
    Ok((first_seq, own.intact))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AuditRecord;

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
