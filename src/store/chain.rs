//! The audit chain, whatever the backend: gapless `seq`, `hash = SHA-256(prev_hash ‖ canonical
//! bytes)`.
//!
//! A record's canonical bytes are a JSON object with a fixed key order holding its header fields
//! and the SHA-256 of its body (summary, details, related tasks). Hashing the body through its
//! digest lets retention purge a body later while the chain still verifies.
//!
//! Every record hash is computed by one function, [`link_hash`]: chaining a draft, hashing a
//! record read back ([`record_hash`], [`hash_record`]) and verifying a stored trail
//! ([`Verifier`]). The bulk path, [`crate::store::Prepared::hash_at`], writes the same header
//! once per record and hashes it per place in the chain; a test checks the two agree.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Head;
use crate::model::audit::millis;
use crate::model::{AuditDetails, AuditDraft, AuditRecord, Timestamp, Via};

/// The `prev_hash` of the first record.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

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

/// A record's body as stored: the JSON its digest is taken of.
#[derive(Serialize, Deserialize)]
pub(super) struct Body {
    pub summary: String,
    pub details: AuditDetails,
    pub related_tasks: Vec<String>,
    /// Who called over HTTP; absent in older records and in-process ones, so their digest is
    /// what it always was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<Via>,
}

impl Body {
    /// What is left of a body purged by retention.
    pub fn purged() -> Body {
        Body {
            summary: String::new(),
            details: AuditDetails::default(),
            related_tasks: Vec::new(),
            via: None,
        }
    }
}

pub(super) fn body_json(
    summary: &str,
    details: &AuditDetails,
    related_tasks: &[String],
    via: Option<&Via>,
) -> String {
    let mut out = Vec::with_capacity(512);
    write_body(summary, details, related_tasks, via, &mut out);
    String::from_utf8(out).expect("JSON is UTF-8")
}

/// Appends a record's stored body (the JSON its digest is taken of) to `out`.
pub(super) fn write_body<D: Serialize, T: Serialize>(
    summary: &str,
    details: &D,
    related_tasks: &[T],
    via: Option<&Via>,
    out: &mut Vec<u8>,
) {
    #[derive(Serialize)]
    struct BodyRef<'a, D, T> {
        summary: &'a str,
        details: &'a D,
        related_tasks: &'a [T],
        #[serde(skip_serializing_if = "Option::is_none")]
        via: Option<&'a Via>,
    }
    serde_json::to_writer(
        out,
        &BodyRef {
            summary,
            details,
            related_tasks,
            via,
        },
    )
    .expect("audit bodies always serialise")
}

/// A record's header as the chain hashes it: its fields as text, as they are stored, in the
/// canonical order.
#[derive(Serialize)]
pub struct Header<'a> {
    pub seq: u64,
    pub id: &'a str,
    pub timestamp: &'a str,
    pub agent_id: &'a str,
    pub action_type: &'a str,
    pub domain: &'a str,
    pub classification: &'a str,
    pub retention: &'a str,
    pub body_sha256: &'a str,
}

impl Header<'_> {
    /// Appends the canonical bytes to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        serde_json::to_writer(out, self).expect("writing to a Vec cannot fail");
    }
}

/// THE record hash: SHA-256 of the record before's hash, then of the header's canonical bytes
/// (written into `scratch`, which is cleared first).
pub fn link_hash(prev_hash: &[u8], header: &Header<'_>, scratch: &mut Vec<u8>) -> Hex {
    scratch.clear();
    header.write(scratch);
    let mut hasher = Sha256::new();
    hasher.update(prev_hash);
    hasher.update(&scratch[..]);
    hex(hasher.finalize())
}

/// A record's stored body and its digest.
fn body_of(record: &AuditRecord) -> (String, Hex) {
    let body = body_json(
        &record.summary,
        &record.details,
        &record.related_tasks,
        record.via.as_ref(),
    );
    let body_sha = hex(Sha256::digest(body.as_bytes()));
    (body, body_sha)
}

/// A record's hash, its body's digest given.
fn hash_with_body_sha(record: &AuditRecord, body_sha: &str) -> Hex {
    let header = Header {
        seq: record.seq,
        id: &record.id,
        timestamp: &millis::format(&record.timestamp),
        agent_id: &record.agent_id,
        action_type: record.action_type.as_str(),
        domain: &record.domain,
        classification: record.classification.as_str(),
        retention: record.retention.as_str(),
        body_sha256: body_sha,
    };
    link_hash(
        record.prev_hash.as_bytes(),
        &header,
        &mut Vec::with_capacity(384),
    )
}

/// The hash a record must carry, computed from its public fields.
pub fn hash_record(record: &AuditRecord) -> String {
    hex_str(&record_hash(record)).to_owned()
}

/// The same as [`hash_record`], as hex digits on the stack.
pub fn record_hash(record: &AuditRecord) -> Hex {
    let (_, body_sha) = body_of(record);
    hash_with_body_sha(record, hex_str(&body_sha))
}

/// A draft with its place in the chain: the record, its stored body and its body's digest.
pub struct Sealed {
    pub record: AuditRecord,
    pub body: String,
    pub body_sha: String,
}

/// Gives a draft the next place in the chain after `head`; `via` names the token and client it
/// came in by over HTTP.
pub fn seal(head: &Head, id: uuid::Uuid, at: Timestamp, d: AuditDraft, via: Option<Via>) -> Sealed {
    let mut record = AuditRecord {
        id: id.to_string(),
        timestamp: at,
        agent_id: d.agent_id,
        action_type: d.action_type,
        domain: d.domain,
        summary: d.summary,
        details: d.details,
        classification: d.classification,
        related_tasks: d.related_tasks,
        seq: head.audit_seq + 1,
        prev_hash: head.audit_hash.clone(),
        hash: String::new(),
        retention: d.retention,
        redacted: false,
        via,
    };
    let (body, body_sha) = body_of(&record);
    let body_sha = hex_str(&body_sha).to_owned();
    record.hash = hex_str(&hash_with_body_sha(&record, &body_sha)).to_owned();
    Sealed {
        record,
        body,
        body_sha,
    }
}

pub(super) fn details_text(d: &AuditDetails) -> String {
    let mut text = Vec::new();
    write_details_text(
        [&d.context, &d.decision, &d.reasoning, &d.outcome]
            .into_iter()
            .chain(d.options_considered.iter())
            .map(String::as_str),
        &mut text,
    );
    String::from_utf8(text).expect("the parts are UTF-8")
}

/// Appends the details' text as the full-text index holds it: the non-empty parts (context,
/// decision, reasoning, outcome, then the options considered), each ended by a newline.
pub(super) fn write_details_text<'a>(parts: impl Iterator<Item = &'a str>, out: &mut Vec<u8>) {
    for part in parts.filter(|p| !p.is_empty()) {
        out.extend_from_slice(part.as_bytes());
        out.push(b'\n');
    }
}

/// The outcome of `audit verify`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verification {
    /// Records whose hash and link checked out, before any bad one.
    pub verified: u64,
    /// Bodies purged by retention (their headers still chain), each covered by a purge record.
    pub purged: u64,
    /// The same, by retention class.
    pub purged_by_class: std::collections::BTreeMap<String, u64>,
    /// The seqs of the purge records that cover them.
    pub purge_records: Vec<u64>,
    pub first_bad: Option<BadRecord>,
    pub head_hash: String,
}

/// What one retention class lost in a purge: the bodies of its records written before
/// `before`, all between `first_seq` and `last_seq`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PurgedClass {
    pub before: String,
    pub count: u64,
    pub first_seq: u64,
    pub last_seq: u64,
}

/// What a purge record says it purged, by retention class. It is written as JSON into the
/// record's `details.outcome`, so the chain covers it; verify reads it back from there.
pub type PurgeNote = std::collections::BTreeMap<String, PurgedClass>;

/// A purge record as verify uses it: where it is in the trail, when it was written, and what
/// it names.
#[derive(Debug, Clone)]
pub struct Purge {
    pub seq: u64,
    pub at: Timestamp,
    pub classes: PurgeNote,
}

/// The draft of the record a purge writes: the classes and seqs purged, as JSON in its
/// outcome, read back by verify.
pub fn purge_draft(actor: &str, pruned: &super::Pruned) -> AuditDraft {
    let total: u64 = pruned.classes.values().map(|c| c.count).sum();
    let seqs: Vec<String> = pruned
        .classes
        .iter()
        .map(|(class, c)| format!("{class} {} in seq {}..{}", c.count, c.first_seq, c.last_seq))
        .collect();
    AuditDraft {
        agent_id: actor.to_string(),
        action_type: crate::model::ActionType::Execution,
        domain: "enterprise".into(),
        summary: format!(
            "retention purged the bodies of {total} audit records ({})",
            seqs.join(", ")
        ),
        details: AuditDetails {
            context: "standard 90 days, significant 1 year, compliance 7 years".into(),
            decision: PURGE_DECISION.into(),
            outcome: serde_json::to_string(&pruned.classes).expect("a purge note serialises"),
            ..Default::default()
        },
        classification: crate::model::Classification::Internal,
        related_tasks: vec![],
        retention: crate::model::Retention::Compliance,
    }
}

/// The `details.decision` of every purge record.
pub const PURGE_DECISION: &str = "retention purge";

impl Purge {
    /// Whether this purge accounts for the NULL body of the record `seq` of class `retention`
    /// written at `ts`: a later record, naming the class, a range holding `seq` and a cutoff
    /// after `ts` that was past the class's retention when the purge was written.
    fn covers(&self, seq: u64, ts: &str, retention: &str) -> bool {
        let Some(class) = self.classes.get(retention) else {
            return false;
        };
        let days = match retention {
            "standard" => crate::model::Retention::Standard.days(),
            "significant" => crate::model::Retention::Significant.days(),
            "compliance" => crate::model::Retention::Compliance.days(),
            _ => return false,
        };
        let (Ok(written), Ok(before)) = (
            chrono::DateTime::parse_from_rfc3339(ts),
            chrono::DateTime::parse_from_rfc3339(&class.before),
        ) else {
            return false;
        };
        self.seq > seq
            && (class.first_seq..=class.last_seq).contains(&seq)
            && written < before
            && before <= self.at - chrono::Duration::days(days)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BadRecord {
    pub seq: u64,
    pub reason: String,
}

/// A record as the store holds it, for the verifier: its header as stored, its body (none once
/// purged), and the two hashes it carries.
pub struct Stored<'a> {
    pub header: Header<'a>,
    pub body: Option<&'a [u8]>,
    pub prev_hash: &'a [u8],
    pub hash: &'a [u8],
}

/// Recomputes a stored trail record by record, in seq order, until the first bad one.
pub struct Verifier {
    expected_seq: u64,
    prev: Hex,
    header: Vec<u8>,
    verified: u64,
    purged: u64,
    purged_by_class: std::collections::BTreeMap<String, u64>,
    purges: Vec<Purge>,
    purge_records: std::collections::BTreeSet<u64>,
    first_bad: Option<BadRecord>,
}

impl Default for Verifier {
    fn default() -> Self {
        Verifier {
            expected_seq: 1,
            prev: GENESIS_HASH.as_bytes().try_into().expect("64 hex digits"),
            header: Vec::with_capacity(512),
            verified: 0,
            purged: 0,
            purged_by_class: Default::default(),
            purges: Vec::new(),
            purge_records: Default::default(),
            first_bad: None,
        }
    }
}

impl Verifier {
    /// A verifier that accepts the NULL bodies these purge records account for.
    pub fn with_purges(purges: Vec<Purge>) -> Verifier {
        Verifier {
            purges,
            ..Verifier::default()
        }
    }

    /// Checks the next record; false once a bad one is found (then stop reading).
    pub fn check(&mut self, r: &Stored<'_>) -> bool {
        let seq = r.header.seq;
        if seq != self.expected_seq {
            return self.bad(self.expected_seq, "missing: the sequence has a gap here");
        }
        match r.body {
            Some(body) => {
                if hex(Sha256::digest(body)) != r.header.body_sha256.as_bytes() {
                    return self.bad(seq, "its body does not match its recorded digest");
                }
            }
            None => {
                let cover = self
                    .purges
                    .iter()
                    .find(|p| p.covers(seq, r.header.timestamp, r.header.retention));
                let Some(cover) = cover else {
                    return self.bad(
                        seq,
                        "its body was removed (NULL) and no purge record covers it: tampering",
                    );
                };
                self.purge_records.insert(cover.seq);
                self.purged += 1;
                *self
                    .purged_by_class
                    .entry(r.header.retention.to_string())
                    .or_insert(0) += 1;
            }
        }
        if r.prev_hash != self.prev {
            return self.bad(
                seq,
                "prev_hash does not match the hash of the record before",
            );
        }
        let hash = link_hash(r.prev_hash, &r.header, &mut self.header);
        if r.hash != hash {
            return self.bad(seq, "its hash does not match its contents");
        }
        self.prev = hash;
        self.verified += 1;
        self.expected_seq += 1;
        true
    }

    fn bad(&mut self, seq: u64, reason: &str) -> bool {
        self.first_bad = Some(BadRecord {
            seq,
            reason: reason.to_string(),
        });
        false
    }

    /// After the last stored record: the trail must reach the highest seq ever written
    /// (`high`, with its hash), else its tail was cut off or rewritten.
    pub fn check_end(&mut self, high: Option<(u64, &str)>) {
        let Some((high_seq, high_hash)) = high else {
            return;
        };
        if self.first_bad.is_some() {
            return;
        }
        let last = self.expected_seq - 1;
        if high_seq > last {
            self.bad(
                last + 1,
                &format!(
                    "the trail ends at seq {last} but seq {high_seq} was written: records {}..{high_seq} were cut off",
                    last + 1
                ),
            );
        } else if high_seq == last && self.prev != high_hash.as_bytes() {
            self.bad(
                last,
                "its hash is not the one written at this seq: the tail was rewritten",
            );
        }
    }

    pub fn finish(self) -> Verification {
        Verification {
            verified: self.verified,
            purged: self.purged,
            purged_by_class: self.purged_by_class,
            purge_records: self.purge_records.into_iter().collect(),
            first_bad: self.first_bad,
            head_hash: hex_str(&self.prev).to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ActionType, Classification, Retention};

    fn draft(summary: &str) -> AuditDraft {
        AuditDraft {
            agent_id: "operator:alice".into(),
            action_type: ActionType::Decision,
            domain: "platform".into(),
            summary: summary.into(),
            details: AuditDetails {
                context: "ctx".into(),
                options_considered: vec!["a".into(), "b".into()],
                decision: "a".into(),
                reasoning: "because".into(),
                outcome: "approved".into(),
            },
            classification: Classification::Internal,
            related_tasks: vec!["T-1".into()],
            retention: Retention::Significant,
        }
    }

    fn genesis() -> Head {
        Head {
            event_seq: 0,
            audit_seq: 0,
            audit_hash: GENESIS_HASH.into(),
            ids: Default::default(),
            last_at: None,
            clock: crate::store::ClockMode::Real,
            ts_monotone: true,
        }
    }

    fn at() -> Timestamp {
        chrono::DateTime::parse_from_rfc3339("2026-11-20T10:00:00.123Z")
            .unwrap()
            .with_timezone(&chrono::Utc)
    }

    /// A record without `via` keeps the body (and so the digest) records always had.
    #[test]
    fn a_body_without_via_is_the_body_before_via() {
        let body = body_json("s", &AuditDetails::default(), &[], None);
        assert!(!body.contains("via"), "{body}");
        let via = Via {
            token: "alice".into(),
            client: "10.0.0.1:9".into(),
        };
        let with = body_json("s", &AuditDetails::default(), &[], Some(&via));
        let read: Body = serde_json::from_str(&with).unwrap();
        assert_eq!(read.via, Some(via));
        assert_eq!(serde_json::from_str::<Body>(&body).unwrap().via, None);
    }

    #[test]
    fn the_hash_covers_every_field() {
        let record = seal(
            &genesis(),
            uuid::Uuid::nil(),
            at(),
            draft("approve budget"),
            None,
        )
        .record;
        assert_eq!(record.seq, 1);
        assert_eq!(hash_record(&record), record.hash);
        type Mutation = Box<dyn Fn(&mut AuditRecord)>;
        let mutations: Vec<Mutation> = vec![
            Box::new(|r| r.summary.push('!')),
            Box::new(|r| r.details.reasoning.push('!')),
            Box::new(|r| r.details.options_considered.pop().map(|_| ()).unwrap_or(())),
            Box::new(|r| r.related_tasks.clear()),
            Box::new(|r| r.domain = "product".into()),
            Box::new(|r| r.agent_id = "operator:mallory".into()),
            Box::new(|r| r.action_type = ActionType::Execution),
            Box::new(|r| r.classification = Classification::Public),
            Box::new(|r| r.retention = Retention::Standard),
            Box::new(|r| r.seq = 2),
            Box::new(|r| r.prev_hash = "1".repeat(64)),
            Box::new(|r| r.timestamp += chrono::Duration::milliseconds(1)),
            Box::new(|r| r.id = uuid::Uuid::max().to_string()),
            Box::new(|r| {
                r.via = Some(Via {
                    token: "fleet".into(),
                    client: "127.0.0.1:5000".into(),
                })
            }),
        ];
        for (i, mutate) in mutations.iter().enumerate() {
            let mut changed = record.clone();
            mutate(&mut changed);
            assert_ne!(hash_record(&changed), record.hash, "mutation {i}");
        }
    }

    /// Sealing, hashing a record read back and verifying it as stored agree, and the verifier
    /// names the first record that does not.
    #[test]
    fn sealing_hashing_and_verifying_agree() {
        let mut head = genesis();
        let mut sealed = Vec::new();
        for n in 0..3 {
            let s = seal(
                &head,
                uuid::Uuid::now_v7(),
                at(),
                draft(&format!("item {n}")),
                None,
            );
            assert_eq!(hex_str(&record_hash(&s.record)), s.record.hash);
            head.audit_seq = s.record.seq;
            head.audit_hash = s.record.hash.clone();
            sealed.push(s);
        }
        let verify = |tamper: &dyn Fn(usize, &mut String)| {
            let mut verifier = Verifier::default();
            for (i, s) in sealed.iter().enumerate() {
                let r = &s.record;
                let mut body = s.body.clone();
                tamper(i, &mut body);
                let ts = millis::format(&r.timestamp);
                let stored = Stored {
                    header: Header {
                        seq: r.seq,
                        id: &r.id,
                        timestamp: &ts,
                        agent_id: &r.agent_id,
                        action_type: r.action_type.as_str(),
                        domain: &r.domain,
                        classification: r.classification.as_str(),
                        retention: r.retention.as_str(),
                        body_sha256: &s.body_sha,
                    },
                    body: Some(body.as_bytes()),
                    prev_hash: r.prev_hash.as_bytes(),
                    hash: r.hash.as_bytes(),
                };
                if !verifier.check(&stored) {
                    break;
                }
            }
            verifier.finish()
        };
        let intact = verify(&|_, _| {});
        assert_eq!((intact.verified, intact.first_bad), (3, None));
        assert_eq!(intact.head_hash, head.audit_hash);
        let tampered = verify(&|i, body| {
            if i == 1 {
                body.push(' ')
            }
        });
        assert_eq!(tampered.verified, 1);
        assert_eq!(tampered.first_bad.map(|b| b.seq), Some(2));
    }
}
