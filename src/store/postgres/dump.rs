//! Rows as stored, for `store copy` (see `store::copy`), in PostgreSQL.

use deadpool_postgres::ClientWrapper;

use super::error::PgError;
use crate::store::copy::{AnswerRow, AuditRow, OriginRow, Table};

pub async fn entity_page(
    c: &ClientWrapper,
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

pub async fn audit_rows(c: &ClientWrapper, after: u64, n: usize) -> Result<Vec<AuditRow>, PgError> {
    let s = c
        .prepare_cached(
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

/// Appends a record as stored, with its tasks and searchable text.
pub async fn put_audit_row(c: &ClientWrapper, row: &AuditRow) -> Result<(), PgError> {
    let (tasks, text) = row.derived();
    let words =
        text.map(|(summary, details)| super::trail::words(&row.agent_id, &summary, &details));
    let s = c.prepare_cached(super::trail::INSERT_AUDIT).await?;
    c.execute(
        &s,
        &[
            &(row.seq as i64),
            &row.id,
            &row.ts,
            &row.agent_id,
            &row.action_type,
            &row.domain,
            &row.classification,
            &row.retention,
            &row.body,
            &row.body_sha256,
            &row.prev_hash,
            &row.hash,
            &words,
        ],
    )
    .await?;
    let s = c.prepare_cached(super::trail::INSERT_TASK).await?;
    for task in tasks {
        c.execute(&s, &[&task, &(row.seq as i64)]).await?;
    }
    Ok(())
}

pub async fn purge_seqs(c: &ClientWrapper) -> Result<Vec<u64>, PgError> {
    Ok(c.query("SELECT seq FROM audit_purges ORDER BY seq", &[])
        .await?
        .iter()
        .map(|r| r.get::<_, i64>(0) as u64)
        .collect())
}

pub async fn origins(c: &ClientWrapper) -> Result<Vec<OriginRow>, PgError> {
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
    c: &ClientWrapper,
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

pub async fn put_answer(c: &ClientWrapper, row: &AnswerRow) -> Result<(), PgError> {
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
