//! The trail in PostgreSQL: appending records (one by one, or chained in bulk), reading them
//! back, verifying the chain, retention purges, imports' bookkeeping and idempotency answers.

use serde::Deserialize;

use super::error::{PgError, decode_error};
use super::own::Cached;
use super::pipeline::{Pipeline, params};
use crate::model::audit::millis;
use crate::model::{ActionType, AuditRecord, Classification, Retention, Timestamp};
use crate::protocol::{IdempotencyKey, RecordedAnswer};
use crate::store::Prepared;
use crate::store::bulk::Part;
use crate::store::chain::{
    Body, GENESIS_HASH, Header, Hex, Purge, PurgeNote, PurgedClass, Stored, Verification, Verifier,
    details_text, hex_str,
};
use crate::store::{Chained, Pruned};

pub(super) const INSERT_AUDIT: &str =
    "INSERT INTO audit(seq, id, ts, agent_id, action_type, domain, \
     classification, retention, body, body_sha256, prev_hash, hash, words)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";
pub(super) const INSERT_TASK: &str =
    "INSERT INTO audit_tasks(task, seq) VALUES ($1, $2) ON CONFLICT DO NOTHING";

/// The searchable text of a record: its actor with its summary (a free word finds what someone
/// did), then its details, as SQLite's full-text index holds them. PostgreSQL's text cannot
/// hold NUL, which only search loses here (the body keeps it, escaped in JSON).
pub(super) fn words(agent: &str, summary: &str, details: &str) -> String {
    format!("{agent} {summary} {details}").replace('\0', " ")
}

/// Queues a record sealed in the chain, with its stored body and digest.
pub fn insert(p: &mut Pipeline, r: &AuditRecord, body: String, body_sha: String) {
    p.push(
        INSERT_AUDIT,
        params![
            r.seq as i64,
            r.id.clone(),
            millis::format(&r.timestamp),
            r.agent_id.clone(),
            r.action_type.as_str(),
            r.domain.clone(),
            r.classification.as_str(),
            r.retention.as_str(),
            body,
            body_sha,
            r.prev_hash.clone(),
            r.hash.clone(),
            words(&r.agent_id, &r.summary, &details_text(&r.details)),
        ],
    );
    for task in &r.related_tasks {
        p.push(INSERT_TASK, params![task.clone(), r.seq as i64]);
    }
}

/// Appends records chained by a [`crate::store::Chainer`] (imports, `store copy`).
pub async fn append_chained(c: &impl Cached, batch: &Chained) -> Result<(), PgError> {
    let audit = c.prepared(INSERT_AUDIT).await?;
    let tasks = c.prepared(INSERT_TASK).await?;
    let mut prev: &Hex = &batch.prev;
    for (i, (p, hash)) in batch.records.iter().zip(&batch.hashes).enumerate() {
        let seq = (batch.first_seq + i as u64) as i64;
        let words = words(
            p.part(Part::Agent),
            p.part(Part::Summary),
            p.part(Part::DetailsText),
        );
        c.execute(
            &audit,
            &[
                &seq,
                &p.part(Part::Id),
                &p.part(Part::Ts),
                &p.part(Part::Agent),
                &p.action_type,
                &p.part(Part::Domain),
                &p.classification,
                &p.retention,
                &p.part(Part::Body),
                &hex_str(&p.body_sha),
                &hex_str(prev),
                &hex_str(hash),
                &words,
            ],
        )
        .await?;
        for task in p.tasks() {
            c.execute(&tasks, &[&task, &seq]).await?;
        }
        prev = hash;
    }
    Ok(())
}

/// The columns [`record`] reads, in its order.
pub const COLUMNS: &str = "seq, id, ts, agent_id, action_type, domain, classification, \
                           retention, body, prev_hash, hash";

fn parse_enum<T: for<'de> Deserialize<'de>>(text: &str, seq: i64) -> Result<T, PgError> {
    serde_json::from_value(serde_json::Value::String(text.to_string()))
        .map_err(|e| decode_error("audit", &seq.to_string(), e))
}

/// A record from a row of [`COLUMNS`]; a purged body reads as empty.
pub fn record(r: &tokio_postgres::Row) -> Result<AuditRecord, PgError> {
    let seq: i64 = r.get(0);
    let bad = |e: &dyn std::fmt::Display| decode_error("audit", &seq.to_string(), e);
    let timestamp = chrono::DateTime::parse_from_rfc3339(r.get::<_, &str>(2))
        .map_err(|e| bad(&e))?
        .with_timezone(&chrono::Utc);
    let body: Body = match r.get::<_, Option<&str>>(8) {
        Some(text) => serde_json::from_str(text).map_err(|e| bad(&e))?,
        None => Body::purged(),
    };
    Ok(AuditRecord {
        seq: seq as u64,
        id: r.get(1),
        timestamp,
        agent_id: r.get(3),
        action_type: parse_enum::<ActionType>(r.get(4), seq)?,
        domain: r.get(5),
        classification: parse_enum::<Classification>(r.get(6), seq)?,
        retention: parse_enum::<Retention>(r.get(7), seq)?,
        summary: body.summary,
        details: body.details,
        related_tasks: body.related_tasks,
        via: body.via,
        prev_hash: r.get(9),
        hash: r.get(10),
        redacted: false,
    })
}

/// The last stored record's seq and hash; the genesis hash on an empty trail.
pub async fn last(c: &impl Cached) -> Result<(u64, String), PgError> {
    let s = c
        .prepared("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
        .await?;
    Ok(match c.query_opt(&s, &[]).await? {
        Some(r) => (r.get::<_, i64>(0) as u64, r.get(1)),
        None => (0, GENESIS_HASH.to_string()),
    })
}

/// The record at `seq`, if the trail has one.
pub async fn at(c: &impl Cached, seq: u64) -> Result<Option<AuditRecord>, PgError> {
    let Ok(seq) = i64::try_from(seq) else {
        return Ok(None);
    };
    let s = c
        .prepared(&format!("SELECT {COLUMNS} FROM audit WHERE seq = $1"))
        .await?;
    c.query_opt(&s, &[&seq])
        .await?
        .map(|r| record(&r))
        .transpose()
}

/// The hash stored at `seq`, if a record is there.
pub async fn hash_at(c: &impl Cached, seq: u64) -> Result<Option<String>, PgError> {
    let Ok(seq) = i64::try_from(seq) else {
        return Ok(None);
    };
    let s = c.prepared("SELECT hash FROM audit WHERE seq = $1").await?;
    Ok(c.query_opt(&s, &[&seq]).await?.map(|r| r.get(0)))
}

/// The newest `n` records, oldest first.
pub async fn tail(c: &impl Cached, n: usize) -> Result<Vec<AuditRecord>, PgError> {
    let s = c
        .prepared(&format!(
            "SELECT {COLUMNS} FROM audit ORDER BY seq DESC LIMIT $1"
        ))
        .await?;
    let mut records = c
        .query(&s, &[&(n as i64)])
        .await?
        .iter()
        .map(record)
        .collect::<Result<Vec<_>, _>>()?;
    records.reverse();
    Ok(records)
}

/// A page of the trail's rows as stored, for `verify`.
pub struct StoredRow {
    seq: u64,
    text: [String; 8],
    body: Option<String>,
    prev_hash: String,
    hash: String,
}

pub async fn stored_page(c: &impl Cached, after: u64, n: usize) -> Result<Vec<StoredRow>, PgError> {
    let s = c
        .prepared(
            "SELECT seq, id, ts, agent_id, action_type, domain, classification, retention,
                    body_sha256, body, prev_hash, hash
             FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .await?;
    Ok(c.query(&s, &[&(after as i64), &(n as i64)])
        .await?
        .iter()
        .map(|r| StoredRow {
            seq: r.get::<_, i64>(0) as u64,
            text: std::array::from_fn(|i| r.get(i + 1)),
            body: r.get(9),
            prev_hash: r.get(10),
            hash: r.get(11),
        })
        .collect())
}

impl StoredRow {
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Feeds the row to the verifier; false at the first bad record.
    pub fn check(&self, verifier: &mut Verifier) -> bool {
        let t = &self.text;
        verifier.check(&Stored {
            header: Header {
                seq: self.seq,
                id: &t[0],
                timestamp: &t[1],
                agent_id: &t[2],
                action_type: &t[3],
                domain: &t[4],
                classification: &t[5],
                retention: &t[6],
                body_sha256: &t[7],
            },
            body: self.body.as_deref().map(str::as_bytes),
            prev_hash: self.prev_hash.as_bytes(),
            hash: self.hash.as_bytes(),
        })
    }
}

/// The purge records, with what each names (see SQLite's `verify::purges`).
pub async fn purges(c: &impl Cached) -> Result<Vec<Purge>, PgError> {
    let rows = c
        .query(
            "SELECT a.seq, a.ts, a.body FROM audit_purges p JOIN audit a ON a.seq = p.seq
             ORDER BY a.seq",
            &[],
        )
        .await?;
    let mut purges = Vec::new();
    for r in rows {
        let seq = r.get::<_, i64>(0) as u64;
        let body: Option<Body> = r
            .get::<_, Option<&str>>(2)
            .and_then(|b| serde_json::from_str(b).ok());
        let at = chrono::DateTime::parse_from_rfc3339(r.get::<_, &str>(1)).ok();
        if let (Some(body), Some(at)) = (body, at)
            && body.details.decision == crate::store::chain::PURGE_DECISION
            && let Ok(classes) = serde_json::from_str::<PurgeNote>(&body.details.outcome)
        {
            purges.push(Purge {
                seq,
                at: at.with_timezone(&chrono::Utc),
                classes,
            });
        }
    }
    Ok(purges)
}

/// Recomputes the whole chain, a page of rows at a time; stops at the first bad record. The
/// head row is the trail's high-water mark: a trail that ends before it was cut.
pub async fn verify(c: &impl Cached) -> Result<Verification, PgError> {
    const PAGE: usize = 10_000;
    let mut verifier = Verifier::with_purges(purges(c).await?);
    let mut after = 0;
    'pages: loop {
        let rows = stored_page(c, after, PAGE).await?;
        let Some(last) = rows.last().map(StoredRow::seq) else {
            break;
        };
        for row in &rows {
            if !row.check(&mut verifier) {
                break 'pages;
            }
        }
        after = last;
    }
    let head = super::entities::head(c, false).await?;
    verifier.check_end((head.audit_seq > 0).then_some((head.audit_seq, head.audit_hash.as_str())));
    Ok(verifier.finish())
}

/// Purges the bodies of records past their class's retention; headers and hashes stay.
pub async fn prune(c: &impl Cached, now: Timestamp, dry_run: bool) -> Result<Pruned, PgError> {
    let mut pruned = Pruned {
        dry_run,
        ..Default::default()
    };
    for class in [
        Retention::Standard,
        Retention::Significant,
        Retention::Compliance,
    ] {
        let cutoff = millis::format(&(now - chrono::Duration::days(class.days())));
        let seqs: Vec<i64> = c
            .query(
                "SELECT seq FROM audit WHERE retention = $1 AND ts < $2 AND body IS NOT NULL
                 ORDER BY seq",
                &[&class.as_str(), &cutoff],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        pruned
            .by_class
            .insert(class.as_str().to_string(), seqs.len() as u64);
        if let (Some(first), Some(last)) = (seqs.first(), seqs.last()) {
            pruned.classes.insert(
                class.as_str().to_string(),
                PurgedClass {
                    before: cutoff.clone(),
                    count: seqs.len() as u64,
                    first_seq: *first as u64,
                    last_seq: *last as u64,
                },
            );
        }
        if dry_run || seqs.is_empty() {
            continue;
        }
        // The text goes with the body (the generated search vector follows it).
        c.execute(
            "UPDATE audit SET body = NULL, words = NULL WHERE seq = ANY($1)",
            &[&seqs],
        )
        .await?;
        c.execute("DELETE FROM audit_tasks WHERE seq = ANY($1)", &[&seqs])
            .await?;
    }
    Ok(pruned)
}

pub fn mark_purge(p: &mut Pipeline, seq: u64) {
    p.push(
        "INSERT INTO audit_purges(seq) VALUES ($1)",
        params![seq as i64],
    );
}

pub async fn note_origin(
    c: &impl Cached,
    first_seq: u64,
    last_seq: u64,
    file_sha256: &str,
    first_line: u64,
) -> Result<(), PgError> {
    c.execute(
        "INSERT INTO audit_origin(first_seq, last_seq, file_sha256, first_line)
         VALUES ($1, $2, $3, $4)",
        &[
            &(first_seq as i64),
            &(last_seq as i64),
            &file_sha256,
            &(first_line as i64),
        ],
    )
    .await?;
    Ok(())
}

pub async fn origin(c: &impl Cached, seq: u64) -> Result<Option<(String, u64)>, PgError> {
    let Ok(seq) = i64::try_from(seq) else {
        return Ok(None);
    };
    Ok(c.query_opt(
        "SELECT file_sha256, first_line + ($1 - first_seq) FROM audit_origin
             WHERE first_seq <= $1 AND last_seq >= $1 ORDER BY first_seq DESC LIMIT 1",
        &[&seq],
    )
    .await?
    .map(|r| (r.get(0), r.get::<_, i64>(1) as u64)))
}

pub async fn first_duplicate_id(
    c: &impl Cached,
    first: u64,
    last: u64,
) -> Result<Option<u64>, PgError> {
    Ok(c.query_opt(
        "SELECT n.seq FROM audit n WHERE n.seq BETWEEN $1 AND $2
               AND EXISTS (SELECT 1 FROM audit o WHERE o.id = n.id AND o.seq <> n.seq)
             ORDER BY n.seq LIMIT 1",
        &[&(first as i64), &(last as i64)],
    )
    .await?
    .map(|r| r.get::<_, i64>(0) as u64))
}

/// The first record holding `p`'s id: its seq, and whether it is the same record.
pub async fn find_id(c: &impl Cached, p: &Prepared) -> Result<Option<(u64, bool)>, PgError> {
    let s = c
        .prepared(
            "SELECT seq, ts, agent_id, action_type, domain, classification, retention,
                    body_sha256
             FROM audit WHERE id = $1 ORDER BY seq LIMIT 1",
        )
        .await?;
    Ok(c.query_opt(&s, &[&p.part(Part::Id)]).await?.map(|r| {
        let same = r.get::<_, &str>(1) == p.part(Part::Ts)
            && r.get::<_, &str>(2) == p.part(Part::Agent)
            && r.get::<_, &str>(3) == p.action_type
            && r.get::<_, &str>(4) == p.part(Part::Domain)
            && r.get::<_, &str>(5) == p.classification
            && r.get::<_, &str>(6) == p.retention
            && r.get::<_, &str>(7) == hex_str(&p.body_sha);
        (r.get::<_, i64>(0) as u64, same)
    }))
}

pub(super) const ANSWERS: &str = "SELECT i.caller, i.key, fingerprint, status, answer, at
     FROM idempotency i JOIN unnest($1::text[], $2::text[]) AS asked(caller, key)
         ON i.caller = asked.caller AND i.key = asked.key";

/// Answers recorded under (caller, key), with when each was recorded.
pub type Answers = std::collections::HashMap<(String, String), (RecordedAnswer, String)>;

/// The answers recorded under each (caller, key), whenever recorded: one round trip for a
/// group of commands.
pub async fn answers(c: &impl Cached, keys: &[(String, String)]) -> Result<Answers, PgError> {
    if keys.is_empty() {
        return Ok(Answers::new());
    }
    let s = c.prepared(ANSWERS).await?;
    let (callers, names): (Vec<&str>, Vec<&str>) = keys
        .iter()
        .map(|(caller, key)| (caller.as_str(), key.as_str()))
        .unzip();
    Ok(c.query(&s, &[&callers, &names])
        .await?
        .iter()
        .map(|r| {
            let answer = RecordedAnswer {
                fingerprint: r.get(2),
                status: r.get::<_, i32>(3) as u16,
                body: r.get(4),
            };
            ((r.get(0), r.get(1)), (answer, r.get(5)))
        })
        .collect())
}

/// Of `found`, the answer under each of `keys` recorded at or after `since`, in their order.
pub fn answered_since(
    found: &Answers,
    keys: &[(&str, &str)],
    since: Timestamp,
) -> Vec<Option<RecordedAnswer>> {
    let since = millis::format(&since);
    keys.iter()
        .map(|(caller, key)| {
            found
                .get(&(caller.to_string(), key.to_string()))
                .filter(|(_, at)| *at >= since)
                .map(|(answer, _)| answer.clone())
        })
        .collect()
}

/// Queues an answer; an expired one under the same key (not yet pruned) gives way.
pub fn record_answer(
    p: &mut Pipeline,
    key: &IdempotencyKey,
    status: u16,
    body: &str,
    at: Timestamp,
) {
    p.push(
        "INSERT INTO idempotency(caller, key, fingerprint, status, answer, at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (caller, key) DO UPDATE SET fingerprint = excluded.fingerprint,
             status = excluded.status, answer = excluded.answer, at = excluded.at",
        params![
            key.caller.clone(),
            key.key.clone(),
            key.fingerprint.clone(),
            status as i32,
            body.to_string(),
            millis::format(&at),
        ],
    );
}

pub async fn prune_answers(c: &impl Cached, before: Timestamp) -> Result<u64, PgError> {
    let s = c.prepared("DELETE FROM idempotency WHERE at < $1").await?;
    Ok(c.execute(&s, &[&millis::format(&before)]).await?)
}
