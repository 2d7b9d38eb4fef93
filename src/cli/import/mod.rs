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

mod blocks;

use std::path::Path;

use sha2::{Digest, Sha256};

use blocks::{block_sum, digest_block, for_each_line, pipeline};

use super::context::Context;
use super::error::CliError;
use super::output::emit_one;
use crate::model::audit::borrowed::AuditRecord as AuditRecordRef;
use crate::model::{ActionType, AuditDetails, AuditDraft, Classification, Retention, Timestamp};
use crate::store::{Chained, Prepared, Store};

/// Bad lines listed before the rest are only counted.
const SHOWN: usize = 20;

/// The full-text index's in-memory buffer while importing: fewer, larger segments, so less
/// merging (10 M records: 5 % less CPU than with 64 MiB, for about 280 MB more memory).
/// SQLite's default (1 MiB) is restored in the same transaction.
const IMPORT_FTS_HASHSIZE: i64 = 256 << 20;
const DEFAULT_FTS_HASHSIZE: i64 = 1 << 20;

/// Imports of this many records or more commit through a rollback journal when nothing else
/// has the store open (see `Store::enter_bulk_journal`).
const BULK_JOURNAL_FROM: u64 = 100_000;

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

/// What is wrong with a line serde_json refused, placed by column: the file's line number is
/// given beside it, and serde_json's own "line 1" would only mislead.
fn json_problem(e: serde_json::Error) -> String {
    let full = e.to_string();
    let message = full
        .rfind(" at line ")
        .map_or(full.as_str(), |at| &full[..at]);
    match e.classify() {
        serde_json::error::Category::Data => format!("{message}, at column {}", e.column()),
        _ => format!("not valid JSON: {message} at column {}", e.column()),
    }
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
                    .map_err(json_problem)
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
    let latest = crate::model::truncate(chrono::Utc::now()) + chrono::Duration::minutes(5);
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
        false,
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
        // The file is not read again: the page cache is better spent on the store's writes.
        true,
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
    let now = crate::model::truncate(chrono::Utc::now());
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
mod tests;
