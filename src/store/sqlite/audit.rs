//! The audit chain: gapless `seq`, `hash = SHA-256(prev_hash ‖ canonical bytes)`, FTS5 text.
//!
//! A record's canonical bytes are a JSON object with a fixed key order holding its header fields
//! and the SHA-256 of its body (summary, details, related tasks). Hashing the body through its
//! digest lets retention purge a body later while the chain still verifies.

use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::audit::millis;
use crate::model::{ActionType, AuditDetails, AuditDraft, AuditRecord, Classification, Retention};
use crate::store::{Head, Location, StoreError};

pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Serialize, Deserialize)]
struct Body {
    summary: String,
    details: AuditDetails,
    related_tasks: Vec<String>,
}

#[derive(Serialize)]
struct CanonicalHeader<'a> {
    seq: u64,
    id: &'a str,
    timestamp: &'a str,
    agent_id: &'a str,
    action_type: &'a str,
    domain: &'a str,
    classification: &'a str,
    retention: &'a str,
    body_sha256: &'a str,
}

pub(super) fn body_json(summary: &str, details: &AuditDetails, related_tasks: &[String]) -> String {
    let mut out = Vec::with_capacity(512);
    write_body(summary, details, related_tasks, &mut out);
    String::from_utf8(out).expect("JSON is UTF-8")
}

/// Appends a record's stored body (the JSON its digest is taken of) to `out`.
pub(in crate::store) fn write_body<D: Serialize, T: Serialize>(
    summary: &str,
    details: &D,
    related_tasks: &[T],
    out: &mut Vec<u8>,
) {
    #[derive(Serialize)]
    struct BodyRef<'a, D, T> {
        summary: &'a str,
        details: &'a D,
        related_tasks: &'a [T],
    }
    serde_json::to_writer(
        out,
        &BodyRef {
            summary,
            details,
            related_tasks,
        },
    )
    .expect("audit bodies always serialise")
}

fn sha256_hex(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    crate::store::bulk::hex_str(&crate::store::bulk::hex(hasher.finalize())).to_owned()
}

/// Appends the canonical bytes of a record's header to `out`.
#[allow(clippy::too_many_arguments)]
pub(in crate::store) fn write_canonical_header(
    seq: u64,
    id: &str,
    timestamp: &str,
    agent_id: &str,
    action_type: &str,
    domain: &str,
    classification: &str,
    retention: &str,
    body_sha256: &str,
    out: &mut Vec<u8>,
) {
    serde_json::to_writer(
        out,
        &CanonicalHeader {
            seq,
            id,
            timestamp,
            agent_id,
            action_type,
            domain,
            classification,
            retention,
            body_sha256,
        },
    )
    .expect("writing to a Vec cannot fail");
}

/// The hash a record must carry, computed from its public fields.
pub fn hash_record(record: &AuditRecord) -> String {
    sealed(record).2
}

/// The same as [`hash_record`], as hex digits on the stack.
pub fn record_hash(record: &AuditRecord) -> crate::store::bulk::Hex {
    let body = body_json(&record.summary, &record.details, &record.related_tasks);
    let body_sha = crate::store::bulk::hex(Sha256::digest(body.as_bytes()));
    hash_with_body_sha(record, crate::store::bulk::hex_str(&body_sha))
}

/// A record's hash, its body's digest given.
fn hash_with_body_sha(record: &AuditRecord, body_sha: &str) -> crate::store::bulk::Hex {
    let mut header = Vec::with_capacity(384);
    write_canonical_header(
        record.seq,
        &record.id,
        &millis::format(&record.timestamp),
        &record.agent_id,
        record.action_type.as_str(),
        &record.domain,
        record.classification.as_str(),
        record.retention.as_str(),
        body_sha,
        &mut header,
    );
    let mut hasher = Sha256::new();
    hasher.update(record.prev_hash.as_bytes());
    hasher.update(&header);
    crate::store::bulk::hex(hasher.finalize())
}

/// A record's body as stored, its digest, and the record's hash: computed once per append.
fn sealed(record: &AuditRecord) -> (String, String, String) {
    let body = body_json(&record.summary, &record.details, &record.related_tasks);
    let body_sha = sha256_hex(&[body.as_bytes()]);
    let hash = crate::store::bulk::hex_str(&hash_with_body_sha(record, &body_sha)).to_owned();
    (body, body_sha, hash)
}

/// Gives a draft the next place in the chain; also returns its stored body and digest.
pub fn chain(
    head: &Head,
    id: uuid::Uuid,
    at: crate::model::Timestamp,
    d: AuditDraft,
) -> (AuditRecord, String, String) {
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
    };
    let (body, body_sha, hash) = sealed(&record);
    record.hash = hash;
    (record, body, body_sha)
}

pub(super) const INSERT_AUDIT: &str =
    "INSERT INTO audit(seq, id, ts, agent_id, action_type, domain, classification, retention,
                       body, body_sha256, prev_hash, hash)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
pub(super) const INSERT_TASK: &str = "INSERT OR IGNORE INTO audit_tasks(task, seq) VALUES (?1, ?2)";
pub(super) const INSERT_TEXT: &str =
    "INSERT INTO audit_fts(rowid, summary, details) VALUES (?1, ?2, ?3)";

/// Appends a chained record with the body and digest `chain` computed.
pub fn insert(
    conn: &Connection,
    r: &AuditRecord,
    body: &str,
    body_sha: &str,
) -> rusqlite::Result<()> {
    conn.prepare_cached(INSERT_AUDIT)?.execute(params![
        r.seq as i64,
        r.id,
        millis::format(&r.timestamp),
        r.agent_id,
        r.action_type.as_str(),
        r.domain,
        r.classification.as_str(),
        r.retention.as_str(),
        body,
        body_sha,
        r.prev_hash,
        r.hash
    ])?;
    let mut tasks = conn.prepare_cached(INSERT_TASK)?;
    for task in &r.related_tasks {
        tasks.execute(params![task, r.seq as i64])?;
    }
    Ok(())
}

/// Brings the full-text index up to the end of the trail. The index is derived data: it is kept
/// out of the decision transactions (where it would cost a quarter of their throughput) and
/// caught up by the engine's clock every second and before every text search.
pub fn index_pending(conn: &Connection) -> rusqlite::Result<u64> {
    const CHUNK: i64 = 20_000;
    let mut upto: u64 = super::entities::get_meta(conn, "fts_upto")?.unwrap_or(0);
    let start = upto;
    let mut select =
        conn.prepare_cached("SELECT seq, body FROM audit WHERE seq > ?1 ORDER BY seq LIMIT ?2")?;
    let mut insert = conn.prepare_cached(INSERT_TEXT)?;
    let mut indexed = 0;
    loop {
        let rows = select
            .query_map(params![upto as i64, CHUNK], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get::<_, Option<String>>(1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let Some(last) = rows.last().map(|(seq, _)| *seq) else {
            break;
        };
        for (seq, body) in &rows {
            // Purged bodies have nothing left to index.
            let Some(body) = body else { continue };
            let body: Body = serde_json::from_str(body).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    8,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
            })?;
            insert.execute(params![
                *seq as i64,
                body.summary,
                details_text(&body.details)
            ])?;
            indexed += 1;
        }
        upto = last;
    }
    if upto != start {
        super::entities::put_meta(conn, "fts_upto", &upto)?;
    }
    Ok(indexed)
}

/// Indexes one freshly appended record (bulk appends).
pub fn index_one(conn: &Connection, r: &AuditRecord) -> rusqlite::Result<()> {
    conn.prepare_cached(INSERT_TEXT)?.execute(params![
        r.seq as i64,
        r.summary,
        details_text(&r.details)
    ])?;
    Ok(())
}

pub(in crate::store) fn details_text(d: &AuditDetails) -> String {
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
pub(in crate::store) fn write_details_text<'a>(
    parts: impl Iterator<Item = &'a str>,
    out: &mut Vec<u8>,
) {
    for part in parts.filter(|p| !p.is_empty()) {
        out.extend_from_slice(part.as_bytes());
        out.push(b'\n');
    }
}

pub fn last(conn: &Connection) -> rusqlite::Result<(u64, String)> {
    let row = conn
        .prepare_cached("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| {
            Ok((r.get::<_, i64>(0)? as u64, r.get::<_, String>(1)?))
        })
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok((0, GENESIS_HASH.to_string())),
            other => Err(other),
        })?;
    Ok(row)
}

const COLUMNS: &str = "seq, id, ts, agent_id, action_type, domain, classification, retention, \
                       body, prev_hash, hash";

fn parse_enum<T: for<'de> Deserialize<'de>>(text: &str, column: usize) -> rusqlite::Result<T> {
    serde_json::from_value(serde_json::Value::String(text.to_string())).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, Box::new(e))
    })
}

pub(super) fn record_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditRecord> {
    let ts: String = r.get(2)?;
    let timestamp = chrono::DateTime::parse_from_rfc3339(&ts)
        .map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, Box::new(e))
        })?
        .with_timezone(&chrono::Utc);
    let body: Option<String> = r.get(8)?;
    let body: Body = match body {
        Some(text) => serde_json::from_str(&text).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(8, rusqlite::types::Type::Text, Box::new(e))
        })?,
        None => Body {
            summary: String::new(),
            details: AuditDetails::default(),
            related_tasks: Vec::new(),
        },
    };
    Ok(AuditRecord {
        seq: r.get::<_, i64>(0)? as u64,
        id: r.get(1)?,
        timestamp,
        agent_id: r.get(3)?,
        action_type: parse_enum::<ActionType>(&r.get::<_, String>(4)?, 4)?,
        domain: r.get(5)?,
        classification: parse_enum::<Classification>(&r.get::<_, String>(6)?, 6)?,
        retention: parse_enum::<Retention>(&r.get::<_, String>(7)?, 7)?,
        summary: body.summary,
        details: body.details,
        related_tasks: body.related_tasks,
        prev_hash: r.get(9)?,
        hash: r.get(10)?,
    })
}

/// The newest `n` records, oldest first.
pub fn tail(conn: &Connection, n: usize) -> rusqlite::Result<Vec<AuditRecord>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM audit ORDER BY seq DESC LIMIT ?1"
    ))?;
    let mut records = stmt
        .query_map([n as i64], record_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    records.reverse();
    Ok(records)
}

pub fn each(
    conn: &Connection,
    visit: &mut dyn FnMut(AuditRecord) -> bool,
    location: &Location,
) -> Result<(), StoreError> {
    let map = |e| StoreError::from_sqlite(e, location);
    let mut stmt = conn
        .prepare(&format!("SELECT {COLUMNS} FROM audit ORDER BY seq"))
        .map_err(map)?;
    let mut rows = stmt.query([]).map_err(map)?;
    while let Some(row) = rows.next().map_err(map)? {
        if !visit(record_from_row(row).map_err(map)?) {
            break;
        }
    }
    Ok(())
}

/// The outcome of `audit verify`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verification {
    /// Records whose hash and link checked out, before any bad one.
    pub verified: u64,
    /// Bodies purged by retention (their headers still chain).
    pub purged: u64,
    /// The same, by retention class.
    pub purged_by_class: std::collections::BTreeMap<String, u64>,
    pub first_bad: Option<BadRecord>,
    pub head_hash: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BadRecord {
    pub seq: u64,
    pub reason: String,
}

/// Recomputes the whole chain, streaming rows; stops at the first bad record.
pub fn verify(conn: &Connection) -> rusqlite::Result<Verification> {
    let mut stmt = conn.prepare(
        "SELECT seq, id, ts, agent_id, action_type, domain, classification, retention,
                body, body_sha256, prev_hash, hash FROM audit ORDER BY seq",
    )?;
    let mut rows = stmt.query([])?;
    let mut expected_seq = 1u64;
    let mut prev = GENESIS_HASH.as_bytes().to_vec();
    let mut header = Vec::with_capacity(512);
    let mut verified = 0;
    let mut purged = 0;
    let mut purged_by_class = std::collections::BTreeMap::new();
    let mut hex_buf = [0u8; 64];
    let bad = |seq: u64, reason: &str| BadRecord {
        seq,
        reason: reason.to_string(),
    };
    let text = |row: &rusqlite::Row<'_>, i: usize| -> rusqlite::Result<String> {
        Ok(
            String::from_utf8_lossy(row.get_ref(i)?.as_bytes_or_null()?.unwrap_or_default())
                .into_owned(),
        )
    };
    let mut first_bad = None;
    while let Some(row) = rows.next()? {
        let seq = row.get::<_, i64>(0)? as u64;
        if seq != expected_seq {
            first_bad = Some(bad(expected_seq, "missing: the sequence has a gap here"));
            break;
        }
        let body_sha = text(row, 9)?;
        match row.get_ref(8)?.as_bytes_or_null()? {
            Some(body) => {
                hex::encode_to_slice(Sha256::digest(body), &mut hex_buf).expect("64 hex digits");
                if hex_buf[..] != *body_sha.as_bytes() {
                    first_bad = Some(bad(seq, "its body does not match its recorded digest"));
                    break;
                }
            }
            None => {
                purged += 1;
                *purged_by_class.entry(text(row, 7)?).or_insert(0) += 1;
            }
        }
        let prev_hash = row.get_ref(10)?.as_bytes()?;
        if prev_hash != prev.as_slice() {
            first_bad = Some(bad(
                seq,
                "prev_hash does not match the hash of the record before",
            ));
            break;
        }
        header.clear();
        write_canonical_header(
            seq,
            &text(row, 1)?,
            &text(row, 2)?,
            &text(row, 3)?,
            &text(row, 4)?,
            &text(row, 5)?,
            &text(row, 6)?,
            &text(row, 7)?,
            &body_sha,
            &mut header,
        );
        let mut hasher = Sha256::new();
        hasher.update(prev_hash);
        hasher.update(&header);
        hex::encode_to_slice(hasher.finalize(), &mut hex_buf).expect("64 hex digits");
        if row.get_ref(11)?.as_bytes()? != hex_buf {
            first_bad = Some(bad(seq, "its hash does not match its contents"));
            break;
        }
        prev.clear();
        prev.extend_from_slice(&hex_buf);
        verified += 1;
        expected_seq += 1;
    }
    Ok(Verification {
        verified,
        purged,
        purged_by_class,
        first_bad,
        head_hash: String::from_utf8_lossy(&prev).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn the_hash_covers_every_field() {
        let head = Head {
            event_seq: 0,
            audit_seq: 0,
            audit_hash: GENESIS_HASH.into(),
            ids: Default::default(),
            last_at: None,
            clock: crate::store::ClockMode::Real,
            ts_monotone: true,
        };
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-20T10:00:00.123Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let (record, _, _) = chain(&head, uuid::Uuid::nil(), at, draft("approve budget"));
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
        ];
        for (i, mutate) in mutations.iter().enumerate() {
            let mut changed = record.clone();
            mutate(&mut changed);
            assert_ne!(hash_record(&changed), record.hash, "mutation {i}");
        }
    }
}
