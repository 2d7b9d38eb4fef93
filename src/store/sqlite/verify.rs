//! `audit verify` over SQLite: streams the trail's rows, as stored, through the chain's
//! [`Verifier`].

use std::borrow::Cow;

use rusqlite::{Connection, Row};

use crate::store::chain::{Header, Stored, Verification, Verifier};

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
    let mut verifier = Verifier::default();
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
    Ok(verifier.finish())
}
