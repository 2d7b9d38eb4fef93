//! Rows as stored, for `store copy`: read a page at a time from a source, written as they are
//! into a destination (see `store::copy`).

use rusqlite::{Connection, params};

use super::entities::body_of;
use crate::store::copy::{AnswerRow, AuditRow, OriginRow, Table};

pub fn entity_page(
    conn: &Connection,
    table: Table,
    after: i64,
    n: usize,
) -> rusqlite::Result<Vec<(i64, String, String)>> {
    let (name, key) = (table.name(), table.key());
    let sql = format!(
        "SELECT rowid, {key}, {} FROM {name} WHERE rowid > ?1 ORDER BY rowid LIMIT ?2",
        body_of(name)
    );
    conn.prepare(&sql)?
        .query_map(params![after, n as i64], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect()
}

pub fn audit_rows(conn: &Connection, after: u64, n: usize) -> rusqlite::Result<Vec<AuditRow>> {
    conn.prepare_cached(
        "SELECT seq, id, ts, agent_id, action_type, domain, classification, retention, body,
                body_sha256, prev_hash, hash
         FROM audit WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )?
    .query_map(params![after as i64, n as i64], |r| {
        Ok(AuditRow {
            seq: r.get::<_, i64>(0)? as u64,
            id: r.get(1)?,
            ts: r.get(2)?,
            agent_id: r.get(3)?,
            action_type: r.get(4)?,
            domain: r.get(5)?,
            classification: r.get(6)?,
            retention: r.get(7)?,
            body: r.get(8)?,
            body_sha256: r.get(9)?,
            prev_hash: r.get(10)?,
            hash: r.get(11)?,
        })
    })?
    .collect()
}

/// Appends a record as stored, with its tasks (the text index catches up by itself).
pub fn put_audit_row(conn: &Connection, row: &AuditRow) -> rusqlite::Result<()> {
    conn.prepare_cached(super::write::INSERT_AUDIT)?
        .execute(params![
            row.seq as i64,
            row.id,
            row.ts,
            row.agent_id,
            row.action_type,
            row.domain,
            row.classification,
            row.retention,
            row.body,
            row.body_sha256,
            row.prev_hash,
            row.hash
        ])?;
    let (tasks, _) = row.derived();
    let mut insert = conn.prepare_cached(super::write::INSERT_TASK)?;
    for task in tasks {
        insert.execute(params![task, row.seq as i64])?;
    }
    Ok(())
}

pub fn purge_seqs(conn: &Connection) -> rusqlite::Result<Vec<u64>> {
    conn.prepare("SELECT seq FROM audit_purges ORDER BY seq")?
        .query_map([], |r| Ok(r.get::<_, i64>(0)? as u64))?
        .collect()
}

pub fn origins(conn: &Connection) -> rusqlite::Result<Vec<OriginRow>> {
    conn.prepare(
        "SELECT first_seq, last_seq, file_sha256, first_line FROM audit_origin ORDER BY first_seq",
    )?
    .query_map([], |r| {
        Ok(OriginRow {
            first_seq: r.get::<_, i64>(0)? as u64,
            last_seq: r.get::<_, i64>(1)? as u64,
            file_sha256: r.get(2)?,
            first_line: r.get::<_, i64>(3)? as u64,
        })
    })?
    .collect()
}

pub fn answer_rows(
    conn: &Connection,
    after: &(String, String),
    n: usize,
) -> rusqlite::Result<Vec<AnswerRow>> {
    conn.prepare_cached(
        "SELECT caller, key, fingerprint, status, answer, at FROM idempotency
         WHERE (caller, key) > (?1, ?2) ORDER BY caller, key LIMIT ?3",
    )?
    .query_map(params![after.0, after.1, n as i64], |r| {
        Ok(AnswerRow {
            caller: r.get(0)?,
            key: r.get(1)?,
            fingerprint: r.get(2)?,
            status: r.get(3)?,
            answer: r.get(4)?,
            at: r.get(5)?,
        })
    })?
    .collect()
}

pub fn put_answer(conn: &Connection, row: &AnswerRow) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO idempotency(caller, key, fingerprint, status, answer, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        row.caller,
        row.key,
        row.fingerprint,
        row.status,
        row.answer,
        row.at
    ])?;
    Ok(())
}
