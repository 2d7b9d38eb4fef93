//! Whether a store file is whole: SQLite's own checks of its pages, and the tables and indexes
//! the migrations make. The expected objects are read from a scratch database built by the same
//! migrations, so a new migration is checked without a list to keep up to date.

use rusqlite::Connection;

use super::schema::MIGRATIONS;

/// How many problems one check lists at most; the first says enough to act on.
const MAX_PROBLEMS: u32 = 20;

/// `PRAGMA quick_check`: every page readable and well formed, records and index order sound (not
/// whether each index matches its table). Linear in the file's size; run at every open.
pub(super) fn quick_check(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    pragma_check(conn, "quick_check")
}

/// What identifies a store file's content without reading it: its device, inode, size and
/// modification time. Any write to the file itself (a checkpoint, a migration, a stray `dd`)
/// changes it; the write-ahead log's frames carry checksums of their own.
pub(super) fn identity(path: &std::path::Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some(format!(
        "{} {} {} {}.{:09}",
        m.dev(),
        m.ino(),
        m.len(),
        m.mtime(),
        m.mtime_nsec()
    ))
}

/// Beside the store: the identity of the file when `quick_check` last passed on it.
fn checked_file(path: &std::path::Path) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".checked");
    std::path::PathBuf::from(name)
}

/// Whether the file, as `now` identifies it, is as it was when its checks last passed.
pub(super) fn checked_since_changed(path: &std::path::Path, now: &str) -> bool {
    std::fs::read_to_string(checked_file(path)).is_ok_and(|then| then.trim() == now)
}

/// Remembers that the file, as `before` identified it, passed; a store that cannot write beside
/// itself is simply checked again next time.
pub(super) fn note_checked(path: &std::path::Path, before: &str) {
    if identity(path).as_deref() == Some(before) {
        let _ = std::fs::write(checked_file(path), format!("{before}\n"));
    }
}

/// `PRAGMA integrity_check`: `quick_check` and every index against its table too. For `doctor`.
pub(super) fn integrity_check(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    pragma_check(conn, "integrity_check")
}

fn pragma_check(conn: &Connection, pragma: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(&format!("PRAGMA {pragma}({MAX_PROBLEMS})"))?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    let mut problems = Vec::new();
    for row in rows {
        let row = row?;
        if row != "ok" {
            problems.push(row.replace('\n', "; "));
        }
    }
    Ok(problems)
}

/// Tables, indexes, views and triggers that migrations 1..=`version` make, as `table audit`.
fn expected_objects(version: i64) -> rusqlite::Result<Vec<String>> {
    let scratch = Connection::open_in_memory()?;
    let applied = usize::try_from(version).unwrap_or(0).min(MIGRATIONS.len());
    for sql in &MIGRATIONS[..applied] {
        scratch.execute_batch(sql)?;
    }
    objects(&scratch)
}

fn objects(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT type || ' ' || name FROM sqlite_master
         WHERE type IN ('table', 'index', 'view', 'trigger') AND name NOT LIKE 'sqlite_%'
         ORDER BY type, name",
    )?;
    let names = stmt.query_map([], |r| r.get(0))?;
    names.collect()
}

/// What the schema at the file's `user_version` should hold and the file lacks, by name.
pub(super) fn missing_objects(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let present = objects(conn)?;
    Ok(expected_objects(version)?
        .into_iter()
        .filter(|name| !present.contains(name))
        .collect())
}

/// One line for an error message: the first problem and how many more there are.
pub(super) fn summary(problems: &[String]) -> String {
    match problems {
        [] => String::new(),
        [one] => one.clone(),
        [first, rest @ ..] => format!("{first}; and {} more", rest.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_expected_objects_follow_the_migrations() {
        let expected = expected_objects(super::super::SCHEMA_VERSION).unwrap();
        for name in [
            "table audit",
            "table audit_tasks",
            "index audit_ts",
            "table audit_fts",
        ] {
            assert!(
                expected.contains(&name.to_string()),
                "{name} in {expected:?}"
            );
        }
        assert!(expected_objects(0).unwrap().is_empty());
    }

    #[test]
    fn a_dropped_table_and_index_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.db");
        drop(crate::store::Store::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        assert_eq!(missing_objects(&conn).unwrap(), Vec::<String>::new());
        assert_eq!(quick_check(&conn).unwrap(), Vec::<String>::new());
        conn.execute_batch("DROP TABLE alerts; DROP INDEX audit_agent;")
            .unwrap();
        assert_eq!(
            missing_objects(&conn).unwrap(),
            vec!["index audit_agent", "table alerts"]
        );
    }
}

#[cfg(test)]
mod checked_tests {
    use super::*;

    /// The pages are read once per change of the file: a second open of an unchanged file
    /// skips the scan, and any write to the file brings it back.
    #[test]
    fn a_passing_check_holds_until_the_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        drop(crate::store::Store::open(&path).unwrap());
        // The open itself may have migrated (changing the file) after its check: open again.
        drop(crate::store::Store::open(&path).unwrap());
        assert!(checked_since_changed(&path, &identity(&path).unwrap()));
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .set_len(std::fs::metadata(&path).unwrap().len() + 4096)
            .unwrap();
        assert!(!checked_since_changed(&path, &identity(&path).unwrap()));
    }
}
