//! Reads on connections of their own: audit searches, counts, exports and listings run beside
//! the writer (SQLite's write-ahead log lets readers see the last commit while a write goes on)
//! and never queue behind it on the engine's thread, nor hold it up.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::{items, read, search};
use crate::model::AuditRecord;
use crate::query::{AuditFilter, Item, Listing};
use crate::store::{Location, StoreError};

/// Idle connections kept for the next read; more are opened while many read at once.
const KEPT: usize = 2;

pub struct SqliteReader {
    path: PathBuf,
    location: Location,
    idle: Mutex<Vec<Connection>>,
}

impl SqliteReader {
    /// Opens a first connection on an existing store file (the writer made and migrated it).
    pub fn open(path: &Path) -> Result<SqliteReader, StoreError> {
        let reader = SqliteReader {
            path: path.to_path_buf(),
            location: Location::File(path.to_path_buf()),
            idle: Mutex::new(Vec::new()),
        };
        let first = reader.connect()?;
        reader.put_back(first);
        Ok(reader)
    }

    fn connect(&self) -> Result<Connection, StoreError> {
        let map = |e| StoreError::from_sqlite(e, &self.location);
        // Read-write without create: a text search catches the full-text index up first (a
        // short write of its own), everything else only reads.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags).map_err(map)?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(map)?;
        conn.execute_batch("PRAGMA cache_size=-2048;")
            .map_err(map)?;
        Ok(conn)
    }

    fn put_back(&self, conn: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < KEPT {
            idle.push(conn);
        }
    }

    /// Runs `read` on an idle connection (or a new one), in one read transaction.
    fn with<T>(
        &self,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let conn = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match conn {
            Some(conn) => conn,
            None => self.connect()?,
        };
        let result = read(&conn).map_err(|e| StoreError::from_sqlite(e, &self.location));
        self.put_back(conn);
        result
    }

    pub fn search_audit(
        &self,
        filter: &AuditFilter,
        before_seq: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        self.with(|conn| search::search(conn, filter, before_seq, limit))
    }

    pub fn count_audit(&self, filter: &AuditFilter, cap: u64) -> Result<(u64, bool), StoreError> {
        self.with(|conn| search::count(conn, filter, cap))
    }

    pub fn each_audit_matching(
        &self,
        filter: &AuditFilter,
        visit: &mut dyn FnMut(AuditRecord) -> bool,
    ) -> Result<(), StoreError> {
        self.with(|conn| search::each_matching(conn, filter, visit))
    }

    pub fn audit_record(&self, seq: u64) -> Result<Option<AuditRecord>, StoreError> {
        self.with(|conn| read::at(conn, seq))
    }

    pub fn list<T: Item>(&self, listing: &Listing) -> Result<Vec<T>, StoreError> {
        self.with(|conn| items::list(conn, listing))
    }

    pub fn item<T: Item>(&self, id: &str) -> Result<Option<T>, StoreError> {
        self.with(|conn| items::by_id(conn, id))
    }
}
