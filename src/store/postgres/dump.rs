//! Rows as stored, for `store copy` (see `store::copy`), in PostgreSQL.

use super::error::PgError;
use super::own::Cached;
use crate::store::copy::{AnswerRow, AuditRow, OriginRow, Table};

pub async fn entity_page(
    c: &impl Cached,
    table: Table,
    after: i64,
    n: usize,
) -> Result<Vec<(i64, String, String)>, PgError> {
    let (name, key) = (table.name(), table.key());
    let sql = format!(
        "SELECT pos, {key}, {} FROM {name} WHERE pos > $1 ORDER BY pos LIMIT $2",
        super::entities::body_of(name)
    );
    Ok(c.query(&sql, &[&after, &(n as i64)])
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}

pub async fn audit_rows(c: &impl Cached, after: u64, n: usize) -> Result<Vec<AuditRow>, PgError> {
    let s = c
        .prepared(
            "SELECT seq, id, ts, agent_id, action_type, domain, classification, retention, body,
                    body_sha256, prev_hash, hash
             FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .await?;
    Ok(c.query(&s, &[&(after as i64), &(n as i64)])
        .await?
        .iter()
        .map(|r| AuditRow {
            seq: r.get::<_, i64>(0) as u64,
            id: r.get(1),
            ts: r.get(2),
            agent_id: r.get(3),
            action_type: r.get(4),
            domain: r.get(5),
            classification: r.get(6),
            retention: r.get(7),
            body: r.get(8),
            body_sha256: r.get(9),
            prev_hash: r.get(10),
            hash: r.get(11),
        })
        .collect())
}

/// Appends records as stored, with their tasks and searchable text, a few statements for the
/// whole page (one array per column) rather than a round trip per record.
pub async fn put_audit_rows(c: &impl Cached, rows: &[AuditRow]) -> Result<(), PgError> {
    let mut cols: [Vec<Option<String>>; 12] = Default::default();
    let mut seqs = Vec::with_capacity(rows.len());
    let (mut task_names, mut task_seqs) = (Vec::new(), Vec::new());
    for row in rows {
        let (tasks, text) = row.derived();
        seqs.push(row.seq as i64);
        for (col, value) in cols.iter_mut().zip([
            Some(row.id.clone()),
            Some(row.ts.clone()),
            Some(row.agent_id.clone()),
            Some(row.action_type.clone()),
            Some(row.domain.clone()),
            Some(row.classification.clone()),
            Some(row.retention.clone()),
            row.body.clone(),
            Some(row.body_sha256.clone()),
            Some(row.prev_hash.clone()),
            Some(row.hash.clone()),
            text.map(|(summary, details)| super::trail::words(&row.agent_id, &summary, &details)),
        ]) {
            col.push(value);
        }
        for task in tasks {
            task_names.push(task);
            task_seqs.push(row.seq as i64);
        }
    }
    let s = c
        .prepared(
            "INSERT INTO audit(seq, id, ts, agent_id, action_type, domain, classification,
                               retention, body, body_sha256, prev_hash, hash, words)
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[],
                 $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[],
                 $12::text[], $13::text[])",
        )
        .await?;
    let [a, b, d, e, f, g, h, i, j, k, l, m] = &cols;
    c.execute(&s, &[&seqs, a, b, d, e, f, g, h, i, j, k, l, m])
        .await?;
    if !task_names.is_empty() {
        c.execute(
            "INSERT INTO audit_tasks(task, seq) SELECT * FROM unnest($1::text[], $2::bigint[])
             ON CONFLICT DO NOTHING",
            &[&task_names, &task_seqs],
        )
        .await?;
    }
    Ok(())
}

pub async fn purge_seqs(c: &impl Cached) -> Result<Vec<u64>, PgError> {
    Ok(c.query("SELECT seq FROM audit_purges ORDER BY seq", &[])
        .await?
        .iter()
        .map(|r| r.get::<_, i64>(0) as u64)
        .collect())
}

pub async fn origins(c: &impl Cached) -> Result<Vec<OriginRow>, PgError> {
    Ok(c.query(
        "SELECT first_seq, last_seq, file_sha256, first_line FROM audit_origin ORDER BY first_seq",
        &[],
    )
    .await?
    .iter()
    .map(|r| OriginRow {
        first_seq: r.get::<_, i64>(0) as u64,
        last_seq: r.get::<_, i64>(1) as u64,
        file_sha256: r.get(2),
        first_line: r.get::<_, i64>(3) as u64,
    })
    .collect())
}

pub async fn answer_rows(
    c: &impl Cached,
    after: &(String, String),
    n: usize,
) -> Result<Vec<AnswerRow>, PgError> {
    Ok(c.query(
        "SELECT caller, key, fingerprint, status, answer, at FROM idempotency
         WHERE (caller, key) > ($1, $2) ORDER BY caller, key LIMIT $3",
        &[&after.0, &after.1, &(n as i64)],
    )
    .await?
    .iter()
    .map(|r| AnswerRow {
        caller: r.get(0),
        key: r.get(1),
        fingerprint: r.get(2),
        status: r.get::<_, i32>(3) as i64,
        answer: r.get(4),
        at: r.get(5),
    })
    .collect())
}

pub async fn put_answer(c: &impl Cached, row: &AnswerRow) -> Result<(), PgError> {
    c.execute(
        "INSERT INTO idempotency(caller, key, fingerprint, status, answer, at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &row.caller,
            &row.key,
            &row.fingerprint,
            &(row.status as i32),
            &row.answer,
            &row.at,
        ],
    )
    .await?;
    Ok(())
}
