//! Whole-trail operations: retention purges and imports.

use rusqlite::{Connection, params};

use crate::model::audit::millis;
use crate::model::{Retention, Timestamp};
use crate::store::Pruned;
use crate::store::chain::PurgedClass;

/// Purges the bodies (summary, details, related tasks) of records past their class's retention;
/// headers and hashes stay, so the chain still verifies.
pub fn prune(conn: &Connection, now: Timestamp, dry_run: bool) -> rusqlite::Result<Pruned> {
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
        let seqs: Vec<i64> = conn
            .prepare("SELECT seq FROM audit WHERE retention = ?1 AND ts < ?2 AND body IS NOT NULL ORDER BY seq")?
            .query_map(params![class.as_str(), cutoff], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
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
        if dry_run {
            continue;
        }
        let mut purge = conn.prepare_cached("UPDATE audit SET body = NULL WHERE seq = ?1")?;
        let mut unindex = conn.prepare_cached("DELETE FROM audit_fts WHERE rowid = ?1")?;
        let mut untask = conn.prepare_cached("DELETE FROM audit_tasks WHERE seq = ?1")?;
        for seq in seqs {
            purge.execute([seq])?;
            unindex.execute([seq])?;
            untask.execute([seq])?;
        }
    }
    Ok(pruned)
}

/// Marks the record `seq` as a purge record (see `verify`).
pub fn mark_purge(conn: &Connection, seq: u64) -> rusqlite::Result<()> {
    conn.execute("INSERT INTO audit_purges(seq) VALUES (?1)", [seq as i64])?;
    Ok(())
}

/// Notes that the records `first_seq..=last_seq` came from consecutive lines of the file
/// whose digest is `file_sha256`, from `first_line` on.
pub fn note_origin(
    conn: &Connection,
    first_seq: u64,
    last_seq: u64,
    file_sha256: &str,
    first_line: u64,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO audit_origin(first_seq, last_seq, file_sha256, first_line)
         VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        first_seq as i64,
        last_seq as i64,
        file_sha256,
        first_line as i64
    ])?;
    Ok(())
}

/// Where the record `seq` came from: its file's digest and line, if it was imported.
pub fn origin(conn: &Connection, seq: u64) -> rusqlite::Result<Option<(String, u64)>> {
    use rusqlite::OptionalExtension;
    conn.prepare_cached(
        "SELECT file_sha256, first_line + (?1 - first_seq) FROM audit_origin
         WHERE first_seq <= ?1 AND last_seq >= ?1 ORDER BY first_seq DESC LIMIT 1",
    )?
    .query_row([seq as i64], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
    })
    .optional()
}

/// The first record among `first..=last` whose id another record holds too.
pub fn first_duplicate_id(
    conn: &Connection,
    first: u64,
    last: u64,
) -> rusqlite::Result<Option<u64>> {
    use rusqlite::OptionalExtension;
    conn.prepare_cached(
        "SELECT n.seq FROM audit n WHERE n.seq BETWEEN ?1 AND ?2
           AND EXISTS (SELECT 1 FROM audit o INDEXED BY audit_id WHERE o.id = n.id AND o.seq <> n.seq)
         ORDER BY n.seq LIMIT 1",
    )?
    .query_row([first as i64, last as i64], |r| Ok(r.get::<_, i64>(0)? as u64))
    .optional()
}
