//! Bulk appends (imports): a record is prepared away from the writer, on any thread, with
//! everything that does not depend on its place in the chain (stored body, body digest, the
//! canonical header after `seq`, the text to index); the writer then only chains and inserts.
//!
//! The result is byte for byte what `audit::chain` + `audit::insert` give (a test checks it).

use rusqlite::{Connection, params};
use sha2::{Digest, Sha256};

use super::audit::{body_json, canonical_header, details_text};
use crate::model::audit::millis;
use crate::model::{AuditDraft, Timestamp};

/// SHA-256 as 64 lowercase hex digits, without allocating.
pub type Hex = [u8; 64];

pub fn hex(digest: impl AsRef<[u8]>) -> Hex {
    let mut out = [0u8; 64];
    hex::encode_to_slice(digest.as_ref(), &mut out).expect("64 hex digits for 32 bytes");
    out
}

pub fn hex_str(h: &Hex) -> &str {
    std::str::from_utf8(h).expect("hex digits are ASCII")
}

/// The canonical header is `{"seq":N` followed by fields that do not depend on the place in
/// the chain; this is where those fields start.
const SEQ_PREFIX: &[u8] = b"{\"seq\":";

/// A record ready to be chained by [`append`].
#[derive(Debug, Clone)]
pub struct Prepared {
    id: String,
    at: Timestamp,
    ts: String,
    agent_id: String,
    action_type: &'static str,
    domain: String,
    classification: &'static str,
    retention: &'static str,
    body: String,
    body_sha: Hex,
    /// The canonical header's bytes after `{"seq":N`.
    header_tail: Vec<u8>,
    summary: String,
    details_text: String,
    related_tasks: Vec<String>,
}

impl Prepared {
    pub fn new(id: uuid::Uuid, at: Timestamp, d: AuditDraft) -> Prepared {
        let id = id.to_string();
        let ts = millis::format(&at);
        let body = body_json(&d.summary, &d.details, &d.related_tasks);
        let body_sha = hex(Sha256::digest(body.as_bytes()));
        let mut header = Vec::with_capacity(384);
        canonical_header(
            0,
            &id,
            &ts,
            &d.agent_id,
            d.action_type.as_str(),
            &d.domain,
            d.classification.as_str(),
            d.retention.as_str(),
            hex_str(&body_sha),
            &mut header,
        );
        let header_tail = header
            .strip_prefix(SEQ_PREFIX)
            .and_then(|rest| rest.strip_prefix(b"0"))
            .expect("the canonical header starts with its seq")
            .to_vec();
        Prepared {
            details_text: details_text(&d.details),
            id,
            at,
            ts,
            agent_id: d.agent_id,
            action_type: d.action_type.as_str(),
            domain: d.domain,
            classification: d.classification.as_str(),
            retention: d.retention.as_str(),
            body,
            body_sha,
            header_tail,
            summary: d.summary,
            related_tasks: d.related_tasks,
        }
    }

    pub fn at(&self) -> Timestamp {
        self.at
    }

    /// The record's hash at `seq` after a record whose hash is `prev`.
    pub fn hash_at(&self, seq: u64, prev: &[u8]) -> Hex {
        let mut digits = itoa::Buffer::new();
        let mut hasher = Sha256::new();
        hasher.update(prev);
        hasher.update(SEQ_PREFIX);
        hasher.update(digits.format(seq).as_bytes());
        hasher.update(&self.header_tail);
        hex(hasher.finalize())
    }
}

/// Chains prepared records in file order, ahead of the writer and on another thread: a
/// record's hash depends only on the hash before it, which the writer's head gives at the start.
pub struct Chainer {
    next_seq: u64,
    prev: Hex,
}

/// Records with their places in the chain, ready for [`crate::store::WriteTx::append_chained`].
pub struct Chained {
    pub(super) first_seq: u64,
    pub(super) prev: Hex,
    pub(super) records: Vec<Prepared>,
    pub(super) hashes: Vec<Hex>,
}

impl Chained {
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

impl Chainer {
    /// Chaining after the record `seq` whose hash is `hash`.
    pub fn after(seq: u64, hash: &str) -> Option<Chainer> {
        Some(Chainer {
            next_seq: seq + 1,
            prev: hash.as_bytes().try_into().ok()?,
        })
    }

    pub fn chain(&mut self, records: Vec<Prepared>) -> Chained {
        let (first_seq, prev) = (self.next_seq, self.prev);
        let hashes = records
            .iter()
            .map(|p| {
                let hash = p.hash_at(self.next_seq, &self.prev);
                self.next_seq += 1;
                self.prev = hash;
                hash
            })
            .collect();
        Chained {
            first_seq,
            prev,
            records,
            hashes,
        }
    }
}

/// Statements a bulk append reuses for every record.
pub struct Appender<'c> {
    audit: rusqlite::CachedStatement<'c>,
    tasks: rusqlite::CachedStatement<'c>,
    text: Option<rusqlite::CachedStatement<'c>>,
}

impl<'c> Appender<'c> {
    pub fn new(conn: &'c Connection, index_text: bool) -> rusqlite::Result<Appender<'c>> {
        Ok(Appender {
            audit: conn.prepare_cached(super::audit::INSERT_AUDIT)?,
            tasks: conn.prepare_cached(super::audit::INSERT_TASK)?,
            text: if index_text {
                Some(conn.prepare_cached(super::audit::INSERT_TEXT)?)
            } else {
                None
            },
        })
    }

    /// Appends `p` at `seq` after the record whose hash is `prev`, with its hash `hash`.
    pub fn append(
        &mut self,
        p: &Prepared,
        seq: u64,
        prev: &Hex,
        hash: &Hex,
    ) -> rusqlite::Result<()> {
        self.audit.execute(params![
            seq as i64,
            p.id,
            p.ts,
            p.agent_id,
            p.action_type,
            p.domain,
            p.classification,
            p.retention,
            p.body,
            hex_str(&p.body_sha),
            hex_str(prev),
            hex_str(hash),
        ])?;
        for task in &p.related_tasks {
            self.tasks.execute(params![task, seq as i64])?;
        }
        if let Some(text) = &mut self.text {
            text.execute(params![seq as i64, p.summary, p.details_text])?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ActionType, AuditDetails, Classification, Retention};
    use crate::store::{ClockMode, Head, audit};

    fn draft(n: usize) -> AuditDraft {
        AuditDraft {
            agent_id: format!("operator:al\"ice{n}"),
            action_type: ActionType::Decision,
            domain: "platform".into(),
            summary: format!("approve budget \u{202e} {n}\n"),
            details: AuditDetails {
                context: "ctx \\ with escapes\t".into(),
                options_considered: vec!["a".into(), "b".into()],
                decision: "a".into(),
                reasoning: "because".into(),
                outcome: "approved".into(),
            },
            classification: Classification::Sensitive,
            related_tasks: vec!["T-1".into(), format!("T-{n}")],
            retention: Retention::Compliance,
        }
    }

    #[test]
    fn a_prepared_record_chains_exactly_as_an_appended_one() {
        let mut head = Head {
            event_seq: 0,
            audit_seq: 0,
            audit_hash: audit::GENESIS_HASH.into(),
            ids: Default::default(),
            last_at: None,
            clock: ClockMode::Real,
            ts_monotone: true,
        };
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-20T10:00:00.123Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        // Seqs of every width, so the split header is checked where its digits change.
        for seq in [0u64, 8, 9, 99, 999_999, 12_345_678_901] {
            head.audit_seq = seq;
            let id = uuid::Uuid::now_v7();
            let (record, body, body_sha) = audit::chain(&head, id, at, draft(seq as usize));
            let p = Prepared::new(id, at, draft(seq as usize));
            let prev: Hex = head.audit_hash.as_bytes().try_into().unwrap();
            assert_eq!(hex_str(&p.hash_at(seq + 1, &prev)), record.hash);
            assert_eq!(
                (p.body.as_str(), hex_str(&p.body_sha)),
                (body.as_str(), body_sha.as_str())
            );
            assert_eq!(p.ts, millis::format(&record.timestamp));
            assert_eq!(p.details_text, details_text(&record.details));
            assert_eq!(audit::record_hash(&record), p.hash_at(seq + 1, &prev));
            head.audit_hash = record.hash;
        }
    }
}
