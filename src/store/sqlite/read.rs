//! Reading the trail back from SQLite: its end, its newest records, all of it in seq order, and
//! the mapping from a row to a record that every query shares.

use rusqlite::Connection;
use serde::Deserialize;

use crate::model::{ActionType, AuditRecord, Classification, Retention};
use crate::store::chain::{Body, GENESIS_HASH};
use crate::store::{Location, StoreError};

/// The last record's seq and hash; the genesis hash on an empty trail.
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

/// The columns [`record_from_row`] reads, in its order.
const COLUMNS: &str = "seq, id, ts, agent_id, action_type, domain, classification, retention, \
                       body, prev_hash, hash";

fn parse_enum<T: for<'de> Deserialize<'de>>(text: &str, column: usize) -> rusqlite::Result<T> {
    serde_json::from_value(serde_json::Value::String(text.to_string())).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// A record from a row of [`COLUMNS`] (or the same columns qualified); a purged body reads as
/// empty.
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
        None => Body::purged(),
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
        via: body.via,
        prev_hash: r.get(9)?,
        hash: r.get(10)?,
        redacted: false,
    })
}

/// The record at `seq`, if the trail has one.
pub fn at(conn: &Connection, seq: u64) -> rusqlite::Result<Option<AuditRecord>> {
    let Ok(seq) = i64::try_from(seq) else {
        return Ok(None);
    };
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM audit WHERE seq = ?1"))?
        .query_row([seq], record_from_row)
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            other => Err(other),
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

/// Every record in seq order, streamed, until the visitor returns false.
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
