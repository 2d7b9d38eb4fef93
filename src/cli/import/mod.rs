//! `audit import FILE`: an external trail in the public schema, all or nothing.
//!
//! Two passes over the file. The first checks every line (schema, id, time) and writes
//! nothing; a file whose lines carry `seq`/`prev_hash`/`hash` must verify as a chain there (an
//! edited export is refused), a plain trail carries none of them. A bad line stops the import
//! before the store is touched, and the bad lines are reported by number. The second appends
//! the records, re-chained after the store's own trail, in one transaction with the import's own
//! audit record, so a failure at any point (a full disk, a file changed between the passes)
//! leaves the store as it was. Each imported record keeps its provenance (the file's digest and
//! its line) in the store, outside the public schema.
//!
//! Duplicates are found by record id, whatever the file's bytes: a record the trail already
//! holds is not imported again, and one whose id it holds with other content refuses the
//! import. The fast path chains on other threads and checks each batch's ids through the id
//! index once appended; the first duplicate rolls it back for a slower pass that looks each
//! record up before appending it.
//!
//! Each pass reads the file in blocks of whole lines, which worker threads parse in parallel;
//! the results are taken in file order, so line numbers, chain links and seqs follow the file.

mod blocks;
mod survey;

use std::path::Path;

use blocks::{block_sum, for_each_line, pipeline};
use survey::{Survey, survey};

use super::context::Context;
use super::error::CliError;
use super::output::emit_one;
use crate::model::audit::borrowed::AuditRecord as AuditRecordRef;
use crate::model::{ActionType, AuditDetails, AuditDraft, Classification, Retention};
use crate::store::{Chained, Prepared, Store, WriteTx};

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

/// A block's records ready to be chained, the line (within the block, from 0) each came
/// from, its line count and checksum.
struct PreparedBlock {
    records: Vec<Prepared>,
    lines: Vec<u32>,
    line_count: usize,
    sum: u64,
}

/// The second pass's work on one block (the first pass has checked every line).
fn prepare_block(bytes: &[u8]) -> Result<PreparedBlock, String> {
    let mut block = PreparedBlock {
        records: Vec::with_capacity(bytes.len() / 512),
        lines: Vec::with_capacity(bytes.len() / 512),
        line_count: 0,
        sum: block_sum(bytes),
    };
    let mut failed = None;
    for_each_line(bytes, |line| {
        let n = block.line_count;
        block.line_count += 1;
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
                block.records.push(Prepared::from_ref(id, &r));
                block.lines.push(n as u32);
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
    /// Records new to this trail, now chained in it.
    records: u64,
    /// Records whose id the trail already held with the same content: not imported again.
    duplicates: u64,
    sha256: String,
    /// "chain": the lines carried seq/prev_hash/hash and verified as a chain before anything
    /// was written; "plain": a trail in the public schema, chained on arrival.
    source: &'static str,
    /// Records of a chained file whose bodies were purged where it came from.
    purged_at_source: u64,
    first_seq: Option<u64>,
    last_seq: Option<u64>,
}

/// A path as a terminal may see it.
fn shown(file: &Path) -> String {
    crate::text::SafeText::new(&file.display().to_string())
        .as_str()
        .to_string()
}

pub fn import(ctx: &Context, file: &Path) -> Result<(), CliError> {
    ctx.require_writable()?;
    let mut store = ctx.open_store()?;
    let actor = crate::authority::operator_actor(&ctx.operator);
    let result = import_into(&mut store, file, &actor, BULK_JOURNAL_FROM)?;
    emit_one(ctx.format(), &result, || {
        let place = match (result.first_seq, result.last_seq) {
            (Some(first), Some(last)) => format!(" as seq {first}..{last}"),
            _ => String::new(),
        };
        format!(
            "imported {} new records from {}{place} ({}; {} already in the trail, not imported again)",
            result.records,
            shown(file),
            if result.source == "chain" {
                "the file's own chain verified"
            } else {
                "a plain trail, chained on arrival"
            },
            result.duplicates,
        )
    })
}

/// Checks every line of `file`, then appends its records that the trail does not hold yet, in
/// one transaction with an audit record of the import by `actor`.
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
            eprintln!("{}: {line}", shown(file));
        }
        return Err(CliError::Usage(format!(
            "{} has {} bad line{}{}; nothing was imported: fix them and import again",
            shown(file),
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
        return Err(CliError::Usage(format!("{} holds no records", shown(file))));
    }
    // Second pass: one transaction, so the trail gains the whole file or nothing.
    let bulk = count >= bulk_from && store.enter_bulk_journal()?;
    let outcome = match append_file(store, file, &survey, actor) {
        // Records the trail already holds: go again, one record at a time.
        Err(Appending::Duplicates) => append_new(store, file, &survey, actor),
        Err(Appending::Failed(e)) => Err(e),
        Ok(done) => Ok(done),
    };
    if bulk && let Err(e) = store.leave_bulk_journal() {
        // Every open of the store returns it to the write-ahead log anyway.
        tracing::warn!("after the import: {e}");
    }
    let (appended, first_seq) = outcome?;
    Ok(Imported {
        file: file.display().to_string(),
        records: appended,
        duplicates: count - appended,
        sha256: survey.sha256,
        source: if survey.chained { "chain" } else { "plain" },
        purged_at_source: survey.purged_at_source,
        first_seq: (appended > 0).then_some(first_seq),
        last_seq: (appended > 0).then(|| first_seq + appended - 1),
    })
}

/// Why the fast second pass stopped.
enum Appending {
    /// Some record's id is in the trail already: nothing was written.
    Duplicates,
    Failed(CliError),
}

impl From<CliError> for Appending {
    fn from(e: CliError) -> Self {
        Appending::Failed(e)
    }
}

impl From<crate::store::StoreError> for Appending {
    fn from(e: crate::store::StoreError) -> Self {
        Appending::Failed(e.into())
    }
}

/// Runs of consecutive lines that became consecutive seqs, noted as the records go in.
struct Origins {
    run: Option<(u64, u64, u64)>,
}

impl Origins {
    /// The record of line `line` (from 1) went in at `seq`.
    fn note(
        &mut self,
        write: &mut WriteTx<'_>,
        sha: &str,
        seq: u64,
        line: u64,
    ) -> Result<(), CliError> {
        match &mut self.run {
            Some((first_seq, last_seq, first_line))
                if seq == *last_seq + 1 && line == *first_line + (seq - *first_seq) =>
            {
                *last_seq = seq;
            }
            _ => {
                self.flush(write, sha)?;
                self.run = Some((seq, seq, line));
            }
        }
        Ok(())
    }

    fn flush(&mut self, write: &mut WriteTx<'_>, sha: &str) -> Result<(), CliError> {
        if let Some((first_seq, last_seq, first_line)) = self.run.take() {
            write.note_origin(first_seq, last_seq, sha, first_line)?;
        }
        Ok(())
    }
}

/// The import's own record, then the commit.
fn finish(
    mut write: WriteTx<'_>,
    file: &Path,
    survey: &Survey,
    actor: &str,
    first_seq: u64,
    appended: u64,
) -> Result<(), CliError> {
    let now = crate::model::truncate(chrono::Utc::now());
    write.append_audit(
        uuid::Uuid::now_v7(),
        now,
        AuditDraft {
            agent_id: actor.to_string(),
            action_type: ActionType::Execution,
            domain: "enterprise".into(),
            summary: format!("imported {appended} audit records from {}", file.display()),
            details: AuditDetails {
                context: format!(
                    "sha256 {}; {}",
                    survey.sha256,
                    if survey.chained {
                        "the file's own chain verified"
                    } else {
                        "a plain trail, chained on arrival"
                    }
                ),
                outcome: format!(
                    "seq {first_seq}..{}; {} already in the trail",
                    first_seq + appended - 1,
                    survey.records - appended
                ),
                ..Default::default()
            },
            classification: Classification::Internal,
            related_tasks: vec![],
            retention: Retention::Compliance,
        },
    )?;
    write.commit()?;
    Ok(())
}

fn changed(file: &Path, why: String) -> CliError {
    CliError::Runtime(format!(
        "{} changed while it was being imported{why}; nothing was imported",
        shown(file)
    ))
}

/// The second pass, fast: the records are prepared and chained on other threads, in file order,
/// and appended with the import's own record in one transaction. Any record whose id the trail
/// already holds stops it, nothing written. Returns how many were appended and the first's seq.
fn append_file(
    store: &mut Store,
    file: &Path,
    survey: &Survey,
    actor: &str,
) -> Result<(u64, u64), Appending> {
    let (count, sha) = (survey.records, survey.sha256.as_str());
    let mut write = store.write()?;
    let first_seq = write.head().audit_seq + 1;
    write.index_inline()?;
    write.set_text_buffer(IMPORT_FTS_HASHSIZE)?;
    let mut chainer = write.chainer()?;
    let mut origins = Origins { run: None };
    let mut blocks = 0usize;
    let mut lines_before = 0u64;
    let mut appended = 0u64;
    let mut duplicate = false;
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
            let lines: Vec<u64> = block
                .lines
                .iter()
                .map(|n| lines_before + u64::from(*n) + 1)
                .collect();
            lines_before += block.line_count as u64;
            Ok((chainer.chain(block.records), lines))
        },
        &mut |batch| {
            let (batch, lines) = batch.map_err(|why| changed(file, why))?;
            if batch.is_empty() {
                return Ok(());
            }
            let start = first_seq + appended;
            write.append_chained(&batch)?;
            appended += batch.len() as u64;
            if write
                .first_duplicate_id(start, first_seq + appended - 1)?
                .is_some()
            {
                duplicate = true;
                return Err(CliError::Runtime("duplicate ids".into()));
            }
            for (i, line) in lines.into_iter().enumerate() {
                origins.note(&mut write, sha, start + i as u64, line)?;
            }
            let _ = used_tx.send(batch);
            Ok(())
        },
    );
    drop(used_tx);
    let _ = freer.join();
    if duplicate {
        return Err(Appending::Duplicates);
    }
    appending?;
    if appended != count || blocks != survey.sums.len() {
        return Err(changed(file, String::new()).into());
    }
    origins.flush(&mut write, sha)?;
    write.set_text_buffer(DEFAULT_FTS_HASHSIZE)?;
    finish(write, file, survey, actor, first_seq, appended)?;
    Ok((appended, first_seq))
}

/// The second pass when the trail already holds some of the file's ids: one record at a time,
/// each looked up by id first. The same record is left out; a record whose id the trail holds
/// with other content refuses the whole import, naming its line. Nothing is written when no
/// record is new.
fn append_new(
    store: &mut Store,
    file: &Path,
    survey: &Survey,
    actor: &str,
) -> Result<(u64, u64), CliError> {
    let sha = survey.sha256.as_str();
    let mut write = store.write()?;
    let first_seq = write.head().audit_seq + 1;
    write.index_inline()?;
    let mut chainer = write.chainer()?;
    let mut origins = Origins { run: None };
    let mut blocks = 0usize;
    let mut lines_before = 0u64;
    let mut appended = 0u64;
    pipeline(
        file,
        true,
        &mut |_| {},
        &prepare_block,
        &mut |block| {
            let block = block.map_err(|e| format!(" ({e})"))?;
            if survey.sums.get(blocks) != Some(&block.sum) {
                return Err(String::new());
            }
            blocks += 1;
            let first_line = lines_before + 1;
            lines_before += block.line_count as u64;
            Ok((block, first_line))
        },
        &mut |block| {
            let (block, first_line) = block.map_err(|why| changed(file, why))?;
            for (p, n) in block.records.into_iter().zip(block.lines) {
                let line = first_line + u64::from(n);
                match write.find_id(&p)? {
                    Some((_, true)) => continue,
                    Some((seq, false)) => {
                        return Err(CliError::Refused(format!(
                            "{} line {line}: the trail already holds a record with this id (seq {seq}) whose content differs; nothing was imported",
                            shown(file)
                        )));
                    }
                    None => {
                        write.append_chained(&chainer.chain(vec![p]))?;
                        origins.note(&mut write, sha, first_seq + appended, line)?;
                        appended += 1;
                    }
                }
            }
            Ok(())
        },
    )?;
    if blocks != survey.sums.len() {
        return Err(changed(file, String::new()));
    }
    if appended == 0 {
        // Every record is in the trail already: the store stays exactly as it was.
        return Ok((0, first_seq));
    }
    origins.flush(&mut write, sha)?;
    finish(write, file, survey, actor, first_seq, appended)?;
    Ok((appended, first_seq))
}

#[cfg(test)]
mod tests;
