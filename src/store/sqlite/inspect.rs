//! Looking at a store without changing it: for `doctor`, which must never create, migrate or
//! write to the file it diagnoses.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};
use serde::Serialize;

use super::{health, schema, verify};
use crate::store::{Location, StoreError, Verification};

/// What a read-only look at a store file found.
#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    /// `PRAGMA user_version`: 0 for a file no opsdeck has set up yet.
    pub schema_version: i64,
    /// The newest schema this binary knows.
    pub known_version: i64,
    /// What `PRAGMA integrity_check` found wrong; empty when the file is whole.
    pub damage: Vec<String>,
    /// Tables and indexes the schema should hold and the file lacks (`table audit_tasks`).
    pub missing: Vec<String>,
    /// The audit chain recomputed; none before the schema exists, or on a damaged file.
    pub audit: Option<Verification>,
}

/// Opens `path` read-only, checks it is an opsdeck database no newer than this binary, that its
/// pages are sound and its tables and indexes all there, and recomputes its audit chain.
pub fn inspect(path: &Path) -> Result<Inspection, StoreError> {
    let location = Location::File(path.to_path_buf());
    let map = |e| StoreError::from_sqlite(e, &location);
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(map)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(map)?;
    schema::check(&conn).map_err(|e| e.at(&location))?;
    let schema_version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(map)?;
    // A page broken badly enough stops the check itself: that is the damage to report.
    let corrupt = |e: &rusqlite::Error| {
        matches!(
            e.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
        )
    };
    let mut damage = match health::integrity_check(&conn) {
        Ok(damage) => damage,
        Err(e) if corrupt(&e) => vec![e.to_string()],
        Err(e) => return Err(map(e)),
    };
    let missing = match health::missing_objects(&conn) {
        Ok(missing) => missing,
        Err(e) if corrupt(&e) => {
            damage.push(e.to_string());
            Vec::new()
        }
        Err(e) => return Err(map(e)),
    };
    // A chain read through broken pages or without its tables proves nothing.
    let audit = if schema_version > 0 && damage.is_empty() && missing.is_empty() {
        Some(verify::verify(&conn).map_err(map)?)
    } else {
        None
    };
    Ok(Inspection {
        schema_version,
        known_version: schema::SCHEMA_VERSION,
        damage,
        missing,
        audit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_is_inspected_without_being_changed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.db");
        drop(crate::store::Store::open(&path).unwrap());
        let before = std::fs::read(&path).unwrap();
        let found = inspect(&path).unwrap();
        assert_eq!(found.schema_version, schema::SCHEMA_VERSION);
        assert!(
            found.damage.is_empty() && found.missing.is_empty(),
            "{found:?}"
        );
        let audit = found.audit.unwrap();
        assert_eq!((audit.verified, audit.first_bad), (0, None));
        assert_eq!(std::fs::read(&path).unwrap(), before);
        // A file that is not ours is named as such, and left alone.
        let other = dir.path().join("other.db");
        std::fs::write(&other, b"not a database at all, just text").unwrap();
        let err = inspect(&other).unwrap_err().to_string();
        assert!(err.contains("not an opsdeck database"), "{err}");
        assert_eq!(
            std::fs::read(&other).unwrap(),
            b"not a database at all, just text"
        );
    }
}
