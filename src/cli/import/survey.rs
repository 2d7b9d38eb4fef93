//! The first pass of an import: every line is checked and nothing is written. A file whose
//! lines carry `seq`/`prev_hash`/`hash` (an opsdeck export) must verify as a chain here: each
//! record's hash is what opsdeck computes from its fields, each `prev_hash` is the hash of the
//! record before it, and the seqs follow one another. A plain trail carries none of the three.

use std::path::Path;

use sha2::{Digest, Sha256};

use super::blocks::{block_sum, digest_block, for_each_line, pipeline};
use super::{SHOWN, json_problem, line_text};
use crate::cli::error::CliError;
use crate::model::Timestamp;
use crate::model::audit::borrowed::AuditRecord as AuditRecordRef;
use crate::store::Prepared;

/// Why a record exported with its details withheld cannot be imported.
const WITHHELD: &str = "its details were withheld when it was exported (\"redacted\": true), so it cannot join a trail: export with --include-sensitive";

/// The `prev_hash` of a trail's first record.
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn check(record: &AuditRecordRef<'_>, latest: Timestamp) -> Result<uuid::Uuid, String> {
    let id: &str = &record.id;
    let parsed = uuid::Uuid::parse_str(id).map_err(|e| format!("id {id:?} is not a UUID ({e})"))?;
    if record.timestamp > latest {
        return Err(format!("timestamp {} is in the future", record.timestamp));
    }
    if record.agent_id.trim().is_empty() || record.domain.trim().is_empty() {
        return Err("agent_id and domain must not be empty".into());
    }
    Ok(parsed)
}

/// A chained record's place: its line (within its block), seq and one of its hashes.
#[derive(Clone)]
pub(super) struct Place {
    line: usize,
    seq: u64,
    hash: String,
}

/// Whether the record `seq` with `prev_hash` follows the record `before`.
fn follows(before: &Place, seq: u64, prev_hash: &str) -> Result<(), String> {
    if seq != before.seq + 1 {
        return Err(format!(
            "seq {seq} does not follow seq {} of the record before it: records are missing or out of order",
            before.seq
        ));
    }
    if prev_hash != before.hash {
        return Err(
            "its prev_hash is not the hash of the record before it: one of them was changed".into(),
        );
    }
    Ok(())
}

/// A record whose body a retention purge emptied at its source: its hash cannot be recomputed
/// from what the export holds (the body's digest is not in the public schema).
fn purged_at_source(r: &AuditRecordRef<'_>) -> bool {
    let d = &r.details;
    r.summary.is_empty()
        && r.related_tasks.is_empty()
        && d.context.is_empty()
        && d.decision.is_empty()
        && d.reasoning.is_empty()
        && d.outcome.is_empty()
        && d.options_considered.is_empty()
}

/// What the first pass learnt from one block.
#[derive(Default)]
pub(super) struct Checked {
    lines: usize,
    records: u64,
    sum: u64,
    /// (line within the block, from 0; what is wrong), the first `SHOWN` of them.
    bad: Vec<(usize, String)>,
    bad_count: usize,
    first_chained: Option<usize>,
    first_plain: Option<usize>,
    /// The block's first chained record (with its `prev_hash`) and its last (with its `hash`).
    head: Option<Place>,
    tail: Option<Place>,
    purged_at_source: u64,
}

impl Checked {
    fn bad(&mut self, line: usize, why: String) {
        self.bad_count += 1;
        if self.bad.len() < SHOWN {
            self.bad.push((line, why));
        }
    }

    /// The chain fields of the record on `line`: all three or none.
    fn chain(&mut self, line: usize, id: uuid::Uuid, r: &AuditRecordRef<'_>) -> Result<(), String> {
        let (seq, prev, hash) = match (r.seq, &r.prev_hash, &r.hash) {
            (None, None, None) => {
                self.first_plain.get_or_insert(line);
                return match r.redacted {
                    true => Err(WITHHELD.into()),
                    false => Ok(()),
                };
            }
            (Some(seq), Some(prev), Some(hash)) => (seq, &**prev, &**hash),
            _ => {
                return Err("seq, prev_hash and hash go together: give all three (an opsdeck export) or none (a plain trail)".into());
            }
        };
        self.first_chained.get_or_insert(line);
        // A record whose id is not written the canonical way hashes its id as written.
        let mut text = uuid::Uuid::encode_buffer();
        let own = if *id.hyphenated().encode_lower(&mut text) == *r.id {
            Prepared::from_ref(id, r).hash_at(seq, prev.as_bytes())
        } else {
            crate::store::record_hash(&r.to_record())
        };
        let mut result = Ok(());
        if r.redacted {
            // Refused on its own, while the chain goes on through it: the lines after it are
            // still checked against it.
            result = Err(WITHHELD.to_string());
        } else if own != hash.as_bytes() {
            if purged_at_source(r) {
                self.purged_at_source += 1;
            } else {
                result = Err(
                    "its hash does not match its contents: the record was changed after it was written"
                        .to_string(),
                );
            }
        }
        let linked = match &self.tail {
            Some(before) => follows(before, seq, prev),
            None if seq == 1 && prev != GENESIS => {
                Err("it is seq 1 but its prev_hash is not the genesis hash".into())
            }
            None => Ok(()),
        };
        result = result.and(linked);
        if self.head.is_none() {
            self.head = Some(Place {
                line,
                seq,
                hash: prev.to_string(),
            });
        }
        self.tail = Some(Place {
            line,
            seq,
            hash: hash.to_string(),
        });
        result
    }
}

pub(super) fn check_block(bytes: &[u8], latest: Timestamp) -> Checked {
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
                    .and_then(|r| check(&r, latest).and_then(|id| c.chain(n, id, &r)))
            }),
        };
        match checked {
            Ok(()) => c.records += 1,
            Err(e) => c.bad(n, e),
        }
    });
    c
}

/// The whole file as the first pass saw it.
pub(super) struct Survey {
    pub records: u64,
    pub sha256: String,
    /// Each block's checksum, in file order.
    pub sums: Vec<u64>,
    pub bad: Vec<String>,
    pub bad_count: usize,
    /// The lines carry `seq`/`prev_hash`/`hash`, and they verify as a chain.
    pub chained: bool,
    /// Records of a chained file whose bodies were purged at their source.
    pub purged_at_source: u64,
}

pub(super) fn survey(file: &Path) -> Result<Survey, CliError> {
    let latest = crate::model::truncate(chrono::Utc::now()) + chrono::Duration::minutes(5);
    let mut digest = Sha256::new();
    let mut s = Survey {
        records: 0,
        sha256: String::new(),
        sums: Vec::new(),
        bad: Vec::new(),
        bad_count: 0,
        chained: false,
        purged_at_source: 0,
    };
    let mut bad: Vec<(usize, String)> = Vec::new();
    let mut lines_before = 0usize;
    let (mut first_chained, mut first_plain) = (None, None);
    let mut tail: Option<Place> = None;
    pipeline(
        file,
        false,
        &mut |block| digest_block(&mut digest, block),
        &|block| check_block(block, latest),
        &mut |c| c,
        &mut |c: Checked| {
            // The block's first chained record follows the last one of the blocks before.
            if let (Some(before), Some(head)) = (&tail, &c.head)
                && let Err(why) = follows(before, head.seq, &head.hash)
            {
                s.bad_count += 1;
                bad.push((lines_before + head.line, why));
            }
            if let Some(t) = c.tail {
                tail = Some(Place {
                    line: lines_before + t.line,
                    ..t
                });
            }
            first_chained = first_chained.or(c.first_chained.map(|n| lines_before + n));
            first_plain = first_plain.or(c.first_plain.map(|n| lines_before + n));
            bad.extend(c.bad.into_iter().map(|(n, e)| (lines_before + n, e)));
            s.bad_count += c.bad_count;
            s.records += c.records;
            s.purged_at_source += c.purged_at_source;
            s.sums.push(c.sum);
            lines_before += c.lines;
            Ok(())
        },
    )?;
    if let (Some(chained), Some(plain)) = (first_chained, first_plain) {
        let (line, why) = if chained < plain {
            (
                plain,
                format!(
                    "it has no seq/prev_hash/hash but line {} has them: a file is either an opsdeck export (every line chained) or a plain trail (none)",
                    chained + 1
                ),
            )
        } else {
            (
                chained,
                format!(
                    "it has seq/prev_hash/hash but line {} has none: a file is either an opsdeck export (every line chained) or a plain trail (none)",
                    plain + 1
                ),
            )
        };
        s.bad_count += 1;
        bad.push((line, why));
    }
    bad.sort_by_key(|(line, _)| *line);
    s.bad = bad
        .into_iter()
        .take(SHOWN)
        .map(|(line, e)| format!("line {}: {}", line + 1, crate::text::SafeText::new(&e)))
        .collect();
    s.chained = first_chained.is_some();
    s.sha256 = hex::encode(digest.finalize());
    Ok(s)
}
