//! `audit verify` over SQLite: streams the trail's rows, as stored, through the chain's
//! [`Verifier`].

use std::borrow::Cow;

use rusqlite::{Connection, Row};

use crate::store::chain::{Body, Header, Purge, PurgeNote, Stored, Verification, Verifier};

/// A text column as stored, borrowed from the row (NULL reads as empty).
fn text<'r>(row: &'r Row<'_>, i: usize) -> rusqlite::Result<Cow<'r, str>> {
    Ok(String::from_utf8_lossy(
        row.get_ref(i)?.as_bytes_or_null()?.unwrap_or_default(),
    ))
}

/// Recomputes the whole chain, streaming rows; stops at the first bad record.
pub fn verify(conn: &Connection) -> rusqlite::Result<Verification> {
    let mut stmt = conn.prepare(
        "SELECT seq, id, ts, agent_id, action_type, domain, classification, retention,
                body, body_sha256, prev_hash, hash FROM audit ORDER BY seq",
    )?;
    let mut rows = stmt.query([])?;
    let mut verifier = Verifier::with_purges(purges(conn)?);
    while let Some(row) = rows.next()? {
        let (id, ts, agent_id, action_type) =
            (text(row, 1)?, text(row, 2)?, text(row, 3)?, text(row, 4)?);
        let (domain, classification, retention) = (text(row, 5)?, text(row, 6)?, text(row, 7)?);
        let body_sha256 = text(row, 9)?;
        let stored = Stored {
            header: Header {
                seq: row.get::<_, i64>(0)? as u64,
                id: &id,
                timestamp: &ts,
                agent_id: &agent_id,
                action_type: &action_type,
                domain: &domain,
                classification: &classification,
                retention: &retention,
                body_sha256: &body_sha256,
            },
            body: row.get_ref(8)?.as_bytes_or_null()?,
            prev_hash: row.get_ref(10)?.as_bytes()?,
            hash: row.get_ref(11)?.as_bytes()?,
        };
        if !verifier.check(&stored) {
            break;
        }
    }
    drop(rows);
    let high = super::entities::high_water(conn)?;
    verifier.check_end(high.as_ref().map(|h| (h.seq, h.hash.as_str())));
    Ok(verifier.finish())
}

/// The purge records, with what each names. One whose body does not read as a purge names
/// nothing (and if its body was altered, the chain reports it where it stands).
fn purges(conn: &Connection) -> rusqlite::Result<Vec<Purge>> {
    let mut stmt = conn.prepare(
        "SELECT a.seq, a.ts, a.body FROM audit_purges p JOIN audit a ON a.seq = p.seq
         ORDER BY a.seq",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)? as u64,
            r.get::<_, String>(1)?,
            r.get::<_, Option<String>>(2)?,
        ))
    })?;
    let mut purges = Vec::new();
    for row in rows {
        let (seq, ts, body) = row?;
        let body: Option<Body> = body.and_then(|b| serde_json::from_str(&b).ok());
        let at = chrono::DateTime::parse_from_rfc3339(&ts).ok();
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

/// The last stored record's seq and hash (genesis on an empty trail), as the rows hold them.
pub fn last_stored(conn: &Connection) -> rusqlite::Result<(u64, String)> {
    super::read::last(conn)
}

/// The hash stored at `seq`, if a record is there.
pub fn hash_at(conn: &Connection, seq: u64) -> rusqlite::Result<Option<String>> {
    use rusqlite::OptionalExtension;
    conn.prepare_cached("SELECT hash FROM audit WHERE seq = ?1")?
        .query_row([seq as i64], |r| r.get(0))
        .optional()
}
