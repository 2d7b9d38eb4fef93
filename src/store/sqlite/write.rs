//! Appending to the trail in SQLite: a record's row and its tasks, and the full-text index.

use rusqlite::{Connection, params};

use super::entities::{get_meta, put_meta};
use crate::model::AuditRecord;
use crate::model::audit::millis;
use crate::store::chain::{Body, details_text};

pub(super) const INSERT_AUDIT: &str =
    "INSERT INTO audit(seq, id, ts, agent_id, action_type, domain, classification, retention,
                       body, body_sha256, prev_hash, hash)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
pub(super) const INSERT_TASK: &str = "INSERT OR IGNORE INTO audit_tasks(task, seq) VALUES (?1, ?2)";
/// The summary column holds the actor too (`operator:alice did …`): a free word in a search
/// finds what someone did, not only what was said of them.
pub(super) const INSERT_TEXT: &str =
    "INSERT INTO audit_fts(rowid, summary, details) VALUES (?1, ?4 || ' ' || ?2, ?3)";

/// Appends a record sealed in the chain, with the stored body and digest sealing computed.
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
    let mut upto: u64 = get_meta(conn, "fts_upto")?.unwrap_or(0);
    let start = upto;
    let mut select = conn.prepare_cached(
        "SELECT seq, body, agent_id FROM audit WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )?;
    let mut insert = conn.prepare_cached(INSERT_TEXT)?;
    let mut indexed = 0;
    loop {
        let rows = select
            .query_map(params![upto as i64, CHUNK], |r| {
                Ok((
                    r.get::<_, i64>(0)? as u64,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let Some(last) = rows.last().map(|(seq, _, _)| *seq) else {
            break;
        };
        for (seq, body, agent) in &rows {
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
                details_text(&body.details),
                agent
            ])?;
            indexed += 1;
        }
        upto = last;
    }
    if upto != start {
        put_meta(conn, "fts_upto", &upto)?;
    }
    Ok(indexed)
}

/// Indexes one freshly appended record (bulk appends).
pub fn index_one(conn: &Connection, r: &AuditRecord) -> rusqlite::Result<()> {
    conn.prepare_cached(INSERT_TEXT)?.execute(params![
        r.seq as i64,
        r.summary,
        details_text(&r.details),
        r.agent_id
    ])?;
    Ok(())
}
