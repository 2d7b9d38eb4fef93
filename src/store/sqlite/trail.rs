//! Whole-trail operations: retention purges and imports.

use std::collections::BTreeMap;

use rusqlite::{Connection, params};

use crate::model::audit::millis;
use crate::model::{Retention, Timestamp};
use crate::store::Pruned;

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
            .prepare("SELECT seq FROM audit WHERE retention = ?1 AND ts < ?2 AND body IS NOT NULL")?
            .query_map(params![class.as_str(), cutoff], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        pruned
            .by_class
            .insert(class.as_str().to_string(), seqs.len() as u64);
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

/// Whether a file with this digest was imported before, and when.
pub fn imported_before(conn: &Connection, digest: &str) -> rusqlite::Result<Option<String>> {
    let imports: BTreeMap<String, String> =
        super::entities::get_meta(conn, "imports")?.unwrap_or_default();
    Ok(imports.get(digest).cloned())
}

pub fn remember_import(conn: &Connection, digest: &str, at: Timestamp) -> rusqlite::Result<()> {
    let mut imports: BTreeMap<String, String> =
        super::entities::get_meta(conn, "imports")?.unwrap_or_default();
    imports.insert(digest.to_string(), millis::format(&at));
    super::entities::put_meta(conn, "imports", &imports)
}
