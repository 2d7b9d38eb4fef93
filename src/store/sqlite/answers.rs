//! Answers recorded under idempotency keys: written in the transaction of the effect they answer,
//! read back for a retry, pruned once older than the window.

use rusqlite::{Connection, OptionalExtension, params};

use crate::model::Timestamp;
use crate::model::audit::millis;
use crate::protocol::{IdempotencyKey, RecordedAnswer};

/// The answer recorded under the caller's key at or after `since`; an older one is expired even
/// if it has not been pruned yet.
pub fn find(
    conn: &Connection,
    caller: &str,
    key: &str,
    since: Timestamp,
) -> rusqlite::Result<Option<RecordedAnswer>> {
    conn.prepare_cached(
        "SELECT fingerprint, status, answer FROM idempotency
         WHERE caller = ?1 AND key = ?2 AND at >= ?3",
    )?
    .query_row(params![caller, key, millis::format(&since)], |r| {
        Ok(RecordedAnswer {
            fingerprint: r.get(0)?,
            status: r.get(1)?,
            body: r.get(2)?,
        })
    })
    .optional()
}

/// Records an answer; an expired one under the same key (not yet pruned) gives way.
pub fn record(
    conn: &Connection,
    key: &IdempotencyKey,
    status: u16,
    body: &str,
    at: Timestamp,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO idempotency(caller, key, fingerprint, status, answer, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        key.caller,
        key.key,
        key.fingerprint,
        status,
        body,
        millis::format(&at)
    ])
    .map(|_| ())
}

/// Forgets answers recorded before `before`; returns how many.
pub fn prune(conn: &Connection, before: Timestamp) -> rusqlite::Result<u64> {
    conn.prepare_cached("DELETE FROM idempotency WHERE at < ?1")?
        .execute([millis::format(&before)])
        .map(|n| n as u64)
}
