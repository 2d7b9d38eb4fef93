//! Bulk appends (imports): a record is prepared away from the writer, on any thread, with
//! everything that does not depend on its place in the chain (stored body, body digest, the
//! canonical header after `seq`, the text to index); the writer then only chains and inserts.
//!
//! The result is byte for byte what sealing a draft and appending it give (a test checks it):
//! the canonical header is written by the chain's own [`Header`], and [`Prepared::hash_at`]
//! hashes it as the chain's one record hash, [`super::chain::link_hash`], does, without
//! writing the header again for each place in the chain.

use sha2::{Digest, Sha256};

use super::chain::{Header, Hex, hex, hex_str, write_body, write_details_text};
use crate::model::audit::borrowed::AuditRecord as AuditRecordRef;
use crate::model::audit::millis;
use crate::model::{ActionType, AuditDraft, Classification, Retention, Timestamp};

/// The canonical header is `{"seq":N` followed by fields that do not depend on the place in
/// the chain; this is where those fields start.
const SEQ_PREFIX: &[u8] = b"{\"seq\":";

/// The parts of a prepared record's text, in the order they are laid out (then its tasks).
#[derive(Clone, Copy)]
pub(super) enum Part {
    Id,
    Ts,
    Agent,
    Domain,
    Body,
    /// The canonical header's bytes after `{"seq":N`.
    HeaderTail,
    Summary,
    DetailsText,
}

const PARTS: usize = Part::DetailsText as usize + 1;

/// A record ready to be chained by a [`Chainer`] and appended: everything that does not depend
/// on its place in the chain, its text laid out in one buffer.
#[derive(Debug, Clone)]
pub struct Prepared {
    at: Timestamp,
    pub(super) action_type: &'static str,
    pub(super) classification: &'static str,
    pub(super) retention: &'static str,
    pub(super) body_sha: Hex,
    /// The parts (see [`Part`]) one after another, then the related tasks.
    text: String,
    /// Where each part, then each task, ends in `text`.
    ends: Vec<u32>,
}

/// The fields of a record, borrowed from wherever they are.
struct Fields<'a, D, T> {
    id: uuid::Uuid,
    at: Timestamp,
    agent_id: &'a str,
    action_type: ActionType,
    domain: &'a str,
    summary: &'a str,
    details: &'a D,
    /// The details' context, decision, reasoning and outcome.
    details_parts: [&'a str; 4],
    options: &'a [T],
    classification: Classification,
    related_tasks: &'a [T],
    retention: Retention,
    via: Option<&'a crate::model::Via>,
}

/// Appends `at` exactly as [`millis::format`] writes it, without allocating in the usual case.
fn write_ts(at: &Timestamp, out: &mut Vec<u8>) {
    use chrono::{Datelike, Timelike};
    let nanos = at.nanosecond();
    if !(0..=9999).contains(&at.year()) || nanos >= 1_000_000_000 {
        out.extend_from_slice(millis::format(at).as_bytes());
        return;
    }
    let mut digits = |n: u32, width: usize, then: u8| {
        let mut buf = [b'0'; 4];
        let mut n = n;
        for digit in buf[..width].iter_mut().rev() {
            *digit = b'0' + (n % 10) as u8;
            n /= 10;
        }
        out.extend_from_slice(&buf[..width]);
        out.push(then);
    };
    digits(at.year() as u32, 4, b'-');
    digits(at.month(), 2, b'-');
    digits(at.day(), 2, b'T');
    digits(at.hour(), 2, b':');
    digits(at.minute(), 2, b':');
    digits(at.second(), 2, b'.');
    digits(nanos / 1_000_000, 3, b'Z');
}

impl Prepared {
    pub fn new(id: uuid::Uuid, at: Timestamp, d: AuditDraft) -> Prepared {
        Prepared::build(Fields {
            id,
            at,
            agent_id: &d.agent_id,
            action_type: d.action_type,
            domain: &d.domain,
            summary: &d.summary,
            details: &d.details,
            details_parts: [
                &d.details.context,
                &d.details.decision,
                &d.details.reasoning,
                &d.details.outcome,
            ],
            options: &d.details.options_considered,
            classification: d.classification,
            related_tasks: &d.related_tasks,
            retention: d.retention,
            via: None,
        })
    }

    /// A record as a bulk read reads it, with `id` its parsed id.
    pub fn from_ref(id: uuid::Uuid, r: &AuditRecordRef<'_>) -> Prepared {
        Prepared::build(Fields {
            id,
            at: r.timestamp,
            agent_id: &r.agent_id,
            action_type: r.action_type,
            domain: &r.domain,
            summary: &r.summary,
            details: &r.details,
            details_parts: [
                &r.details.context,
                &r.details.decision,
                &r.details.reasoning,
                &r.details.outcome,
            ],
            options: &r.details.options_considered,
            classification: r.classification,
            related_tasks: &r.related_tasks,
            retention: r.retention,
            via: r.via.as_ref(),
        })
    }

    fn build<D, T>(f: Fields<'_, D, T>) -> Prepared
    where
        D: serde::Serialize,
        T: serde::Serialize + std::ops::Deref<Target = str>,
    {
        let mut text: Vec<u8> = Vec::with_capacity(1536);
        let mut ends = Vec::with_capacity(PARTS + f.related_tasks.len());
        let mut id = uuid::Uuid::encode_buffer();
        let id = f.id.hyphenated().encode_lower(&mut id);
        text.extend_from_slice(id.as_bytes());
        ends.push(text.len() as u32);
        let ts_at = text.len();
        write_ts(&f.at, &mut text);
        ends.push(text.len() as u32);
        text.extend_from_slice(f.agent_id.as_bytes());
        ends.push(text.len() as u32);
        text.extend_from_slice(f.domain.as_bytes());
        ends.push(text.len() as u32);
        let body_at = text.len();
        write_body(f.summary, f.details, f.related_tasks, f.via, &mut text);
        ends.push(text.len() as u32);
        let body_sha = hex(Sha256::digest(&text[body_at..]));
        let mut header = Vec::with_capacity(384);
        Header {
            seq: 0,
            id,
            timestamp: std::str::from_utf8(&text[ts_at..ends[Part::Ts as usize] as usize])
                .expect("the time is ASCII"),
            agent_id: f.agent_id,
            action_type: f.action_type.as_str(),
            domain: f.domain,
            classification: f.classification.as_str(),
            retention: f.retention.as_str(),
            body_sha256: hex_str(&body_sha),
        }
        .write(&mut header);
        let tail = header
            .strip_prefix(SEQ_PREFIX)
            .and_then(|rest| rest.strip_prefix(b"0"))
            .expect("the canonical header starts with its seq");
        text.extend_from_slice(tail);
        ends.push(text.len() as u32);
        text.extend_from_slice(f.summary.as_bytes());
        ends.push(text.len() as u32);
        write_details_text(
            f.details_parts
                .into_iter()
                .chain(f.options.iter().map(|o| &**o)),
            &mut text,
        );
        ends.push(text.len() as u32);
        for task in f.related_tasks {
            text.extend_from_slice(task.as_bytes());
            ends.push(text.len() as u32);
        }
        Prepared {
            at: f.at,
            action_type: f.action_type.as_str(),
            classification: f.classification.as_str(),
            retention: f.retention.as_str(),
            body_sha,
            text: String::from_utf8(text).expect("JSON and text parts are UTF-8"),
            ends,
        }
    }

    fn span(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.text[start..self.ends[i] as usize]
    }

    pub(super) fn part(&self, part: Part) -> &str {
        self.span(part as usize)
    }

    pub(super) fn tasks(&self) -> impl Iterator<Item = &str> {
        (PARTS..self.ends.len()).map(|i| self.span(i))
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
        hasher.update(self.part(Part::HeaderTail).as_bytes());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ActionType, AuditDetails, Classification, Retention};
    use crate::store::chain::{self, GENESIS_HASH, Sealed};
    use crate::store::{ClockMode, Head};

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
            audit_hash: GENESIS_HASH.into(),
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
            let Sealed {
                record,
                body,
                body_sha,
            } = chain::seal(&head, id, at, draft(seq as usize), None);
            let p = Prepared::new(id, at, draft(seq as usize));
            let prev: Hex = head.audit_hash.as_bytes().try_into().unwrap();
            assert_eq!(hex_str(&p.hash_at(seq + 1, &prev)), record.hash);
            assert_eq!(
                (p.part(Part::Body), hex_str(&p.body_sha)),
                (body.as_str(), body_sha.as_str())
            );
            assert_eq!(p.part(Part::Ts), millis::format(&record.timestamp));
            assert_eq!(
                p.part(Part::DetailsText),
                chain::details_text(&record.details)
            );
            assert_eq!(p.part(Part::Id), record.id);
            assert!(
                p.tasks()
                    .eq(record.related_tasks.iter().map(String::as_str))
            );
            // Read back from its JSON as a bulk read reads it: the same record.
            let line = serde_json::to_string(&record).unwrap();
            let r: AuditRecordRef<'_> = serde_json::from_str(&line).unwrap();
            let q = Prepared::from_ref(id, &r);
            assert_eq!((q.text.as_str(), &q.ends), (p.text.as_str(), &p.ends));
            // The hot path and the chain's one record hash agree.
            assert_eq!(chain::record_hash(&record), p.hash_at(seq + 1, &prev));
            head.audit_hash = record.hash;
        }
    }

    #[test]
    fn times_are_written_as_millis_formats_them() {
        for text in [
            "2026-11-20T10:00:00.123Z",
            "0001-01-01T00:00:00.000Z",
            "9999-12-31T23:59:59.999Z",
            "2016-12-31T23:59:60.500Z",
            "+10000-01-01T00:00:00.000Z",
            "-0001-06-01T12:30:00.007Z",
        ] {
            let at = chrono::DateTime::parse_from_rfc3339(text)
                .map(|t| t.with_timezone(&chrono::Utc))
                .or_else(|_| text.parse::<chrono::DateTime<chrono::Utc>>())
                .unwrap_or_else(|e| panic!("{text}: {e}"));
            let mut out = Vec::new();
            write_ts(&at, &mut out);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                millis::format(&at),
                "{text}"
            );
        }
    }
}
