//! The SQLite store: WAL, `synchronous=FULL`, `BEGIN IMMEDIATE` for every write, migrations by
//! `user_version`, an application id that tells an opsdeck database from any other file. Every
//! line of SQL in opsdeck is in this module.

mod answers;
mod bulk;
mod dump;
mod entities;
mod error;
mod health;
mod inspect;
mod items;
mod probe;
mod read;
mod reader;
mod schema;
mod search;
mod trail;
mod tx;
mod verify;
mod write;

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

pub use inspect::{Inspection, inspect};
pub use reader::SqliteReader;
pub use schema::SCHEMA_VERSION;
pub use tx::SqliteWriteTx;

use super::{Head, Location, StoreError, Verification};
use crate::model::{AuditRecord, Event, LiveWindow, State};
use crate::query::AuditFilter;

pub struct SqliteStore {
    conn: Connection,
    location: Location,
}

impl SqliteStore {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let location = Location::File(path.to_path_buf());
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .map_err(|e| StoreError::from_sqlite(e, &location))?;
        SqliteStore::init(conn, location)
    }

    /// A store that lives and dies with the process (`--ephemeral`).
    pub fn open_in_memory() -> Result<SqliteStore, StoreError> {
        let conn = Connection::open_in_memory()
            .map_err(|e| StoreError::from_sqlite(e, &Location::Memory))?;
        SqliteStore::init(conn, Location::Memory)
    }

    fn init(conn: Connection, location: Location) -> Result<SqliteStore, StoreError> {
        let mut store = SqliteStore { conn, location };
        // Look before touching: a file that is not ours must be left exactly as it was.
        schema::check(&store.conn).map_err(|e| e.at(&store.location))?;
        // Every page is read, and every table and index looked for, once after the file last
        // changed, not at every open: a one-shot listing on a large store must not pay a scan
        // of the whole file. What passed is remembered beside the file, as it was before the
        // checks (a migration here changes it, and the next open checks again).
        let (unchanged, before) = match &store.location {
            Location::File(path) => {
                let before = health::identity(path);
                let unchanged = before
                    .as_deref()
                    .is_some_and(|id| health::checked_since_changed(path, id));
                (unchanged, before)
            }
            Location::Memory | Location::Postgres(_) => (false, None),
        };
        if !unchanged {
            store.refuse_damage(health::quick_check, health::summary)?;
        }
        store.configure()?;
        schema::migrate(&mut store.conn).map_err(|e| e.at(&store.location))?;
        if !unchanged {
            store.refuse_damage(health::missing_objects, |names| {
                format!("it lacks {}", names.join(", "))
            })?;
            if let (Location::File(path), Some(before)) = (&store.location, before) {
                health::note_checked(path, &before);
            }
        }
        Ok(store)
    }

    /// A damaged file is refused at open, before anything is written to it: a write on a
    /// broken page could spread the damage, and a missing table would fail half-way later.
    fn refuse_damage(
        &self,
        check: fn(&Connection) -> rusqlite::Result<Vec<String>>,
        describe: fn(&[String]) -> String,
    ) -> Result<(), StoreError> {
        if self.location == Location::Memory {
            return Ok(());
        }
        let problems = check(&self.conn).map_err(|e| StoreError::from_sqlite(e, &self.location))?;
        if problems.is_empty() {
            return Ok(());
        }
        Err(StoreError::Corrupt {
            location: self.location.clone(),
            detail: describe(&problems),
        })
    }

    fn configure(&self) -> Result<(), StoreError> {
        let map = |e| StoreError::from_sqlite(e, &self.location);
        self.conn
            .busy_timeout(Duration::from_secs(10))
            .map_err(map)?;
        if self.location != Location::Memory {
            self.use_wal("it cannot use write-ahead logging")?;
        }
        // Checkpoints copy the log into the database and fsync it; a larger log (about 32 MB)
        // makes them rarer without weakening durability, which the log's own fsync provides.
        // The writer's page cache is 2 MiB: it appends and updates what is live, at the right
        // edge of each index; searches read on connections of their own (`reader`), and pages
        // beyond a cache come from the kernel's, so a larger one would only add resident memory.
        self.conn
            .execute_batch(
                "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA wal_autocheckpoint=8000;
                 PRAGMA cache_size=-2048;",
            )
            .map_err(map)?;
        Ok(())
    }

    /// Large bulk appends (imports) write through a rollback journal rather than the
    /// write-ahead log, when no other connection has the store open. In the log, a transaction
    /// of millions of records is written twice (log, then checkpoint), needs its own size again
    /// on disk until the checkpoint, and every page it writes is looked up in a log index that
    /// grows with it. A rollback journal holds only the original content of the pages that
    /// existed before (new pages past the end need none), and a commit is as atomic and durable:
    /// `synchronous=FULL` syncs the journal before the database is written and the database
    /// before the journal is truncated, synced, and the transaction is done; after a crash the
    /// next open finds the hot journal and rolls it back. While it runs, other processes cannot
    /// read the store (they are told it is busy). [`SqliteStore::leave_bulk_journal`] returns to the
    /// log, and every open of the store sets it again in any case.
    ///
    /// Returns false, changing nothing, when the store is in memory or open elsewhere.
    pub fn enter_bulk_journal(&mut self) -> Result<bool, StoreError> {
        if self.location == Location::Memory {
            return Ok(false);
        }
        let map = |e| StoreError::from_sqlite(e, &self.location);
        // Leaving the log needs every other connection gone; do not wait for them.
        self.conn.busy_timeout(Duration::ZERO).map_err(map)?;
        let mode = self
            .conn
            .query_row("PRAGMA journal_mode=TRUNCATE", [], |r| {
                r.get::<_, String>(0)
            });
        self.conn
            .busy_timeout(Duration::from_secs(10))
            .map_err(map)?;
        match mode {
            Ok(mode) => Ok(mode.eq_ignore_ascii_case("truncate")),
            Err(e)
                if matches!(
                    e.sqlite_error_code(),
                    Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(map(e)),
        }
    }

    /// Back to the write-ahead log after [`SqliteStore::enter_bulk_journal`] (through `DELETE`, which
    /// removes the empty journal file that `TRUNCATE` keeps).
    pub fn leave_bulk_journal(&mut self) -> Result<(), StoreError> {
        let map = |e| StoreError::from_sqlite(e, &self.location);
        let _: String = self
            .conn
            .query_row("PRAGMA journal_mode=DELETE", [], |r| r.get(0))
            .map_err(map)?;
        self.use_wal("it cannot return to write-ahead logging")
    }

    /// Switches the store to the write-ahead log; `refusal` says what failed if SQLite stays in
    /// another journal mode.
    fn use_wal(&self, refusal: &str) -> Result<(), StoreError> {
        let mode: String = self
            .conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(|e| StoreError::from_sqlite(e, &self.location))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Unusable {
                location: self.location.clone(),
                why: format!("{refusal} (journal mode {mode})"),
            });
        }
        Ok(())
    }

    pub fn location(&self) -> &Location {
        &self.location
    }

    /// The live set (everything the engine keeps in memory), read in one consistent transaction.
    pub fn load(&mut self, window: &LiveWindow) -> Result<(State, Head), StoreError> {
        let location = self.location.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Deferred)
            .map_err(|e| StoreError::from_sqlite(e, &location))?;
        let loaded = entities::load_state(&tx, window)
            .and_then(|state| Ok((state, entities::head(&tx)?)))
            .map_err(|e| StoreError::from_sqlite(e, &location))?;
        tx.commit()
            .map_err(|e| StoreError::from_sqlite(e, &location))?;
        let (mut state, head) = loaded;
        state.ids = head.ids.clone();
        state.seq = head.event_seq;
        Ok((state, head))
    }

    pub fn metrics(&self) -> Result<crate::model::Metrics, StoreError> {
        entities::get_meta(&self.conn, "metrics")
            .map(Option::unwrap_or_default)
            .map_err(|e| StoreError::from_sqlite(e, &self.location))
    }

    pub fn entity_page(
        &self,
        table: crate::store::copy::Table,
        after: i64,
        n: usize,
    ) -> Result<Vec<(i64, String, String)>, StoreError> {
        dump::entity_page(&self.conn, table, after, n)
            .map_err(|e| StoreError::from_sqlite(e, &self.location))
    }

    pub fn audit_rows(
        &self,
        after: u64,
        n: usize,
    ) -> Result<Vec<crate::store::copy::AuditRow>, StoreError> {
        dump::audit_rows(&self.conn, after, n)
            .map_err(|e| StoreError::from_sqlite(e, &self.location))
    }

    pub fn purge_seqs(&self) -> Result<Vec<u64>, StoreError> {
        dump::purge_seqs(&self.conn).map_err(|e| StoreError::from_sqlite(e, &self.location))
    }

    pub fn origins(&self) -> Result<Vec<crate::store::copy::OriginRow>, StoreError> {
        dump::origins(&self.conn).map_err(|e| StoreError::from_sqlite(e, &self.location))
    }

    pub fn answer_rows(
        &self,
        after: &(String, String),
        n: usize,
    ) -> Result<Vec<crate::store::copy::AnswerRow>, StoreError> {
        dump::answer_rows(&self.conn, after, n)
            .map_err(|e| StoreError::from_sqlite(e, &self.location))
    }

    /// The head only: cheap enough to check before every write whether another process wrote.
    pub fn head(&self) -> Result<Head, StoreError> {
        entities::head(&self.conn).map_err(|e| StoreError::from_sqlite(e, &self.location))
    }

    /// Starts a write: `BEGIN IMMEDIATE`, so writers queue here rather than fail at commit.
    pub fn write(&mut self) -> Result<SqliteWriteTx<'_>, StoreError> {
        SqliteWriteTx::begin(&mut self.conn, self.location.clone())
    }

    /// Opens one transaction that the writes until `end_group` join (each as a savepoint of
    /// its own, undone alone if it fails) and that commits them together: for a simulated run
    /// at full speed, where only the whole result is durable, and a hot page rewritten by every
    /// step is written to the log once per group instead of once per step.
    pub fn begin_group(&mut self) -> Result<(), StoreError> {
        // The group's savepoints keep what they would undo in memory (not in temporary files,
        // which would be written in full for every step), and the log is not checkpointed part
        // way. The page cache keeps its size: a larger one saved little writing and stayed
        // resident in the process after the group (measured: +10 MiB).
        self.conn
            .execute_batch(
                "PRAGMA temp_store=MEMORY; PRAGMA wal_autocheckpoint=32000;
                 BEGIN IMMEDIATE",
            )
            .map_err(|e| StoreError::from_sqlite(e, &self.location))
    }

    /// Commits the group's transaction, if one is open.
    pub fn end_group(&mut self) -> Result<(), StoreError> {
        if self.conn.is_autocommit() {
            return Ok(());
        }
        self.conn
            .execute_batch(
                "COMMIT; PRAGMA temp_store=DEFAULT;
                 PRAGMA wal_autocheckpoint=8000;",
            )
            .map_err(|e| StoreError::from_sqlite(e, &self.location))
    }

    /// Replays events after `since`, oldest first; `None` when the log no longer reaches back.
    pub fn events_since(&self, since: u64, limit: usize) -> Result<Option<Vec<Event>>, StoreError> {
        entities::events_since(&self.conn, since, limit)
            .map_err(|e| StoreError::from_sqlite(e, &self.location))
    }

    pub fn verify_audit(&self) -> Result<Verification, StoreError> {
        verify::verify(&self.conn).map_err(|e| StoreError::from_sqlite(e, &self.location))
    }

    /// The last stored record's seq and hash, as the rows hold them.
    pub fn audit_last_stored(&self) -> Result<(u64, String), StoreError> {
        verify::last_stored(&self.conn).map_err(|e| StoreError::from_sqlite(e, &self.location))
    }

    /// The hash stored at `seq`, if a record is there.
    pub fn audit_hash_at(&self, seq: u64) -> Result<Option<String>, StoreError> {
        verify::hash_at(&self.conn, seq).map_err(|e| StoreError::from_sqlite(e, &self.location))
    }

    /// Where the record `seq` came from (its file's digest and line), if it was imported.
    pub fn audit_origin(&self, seq: u64) -> Result<Option<(String, u64)>, StoreError> {
        trail::origin(&self.conn, seq).map_err(|e| StoreError::from_sqlite(e, &self.location))
    }

    pub fn search_audit(
        &self,
        filter: &AuditFilter,
        before_seq: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        search::search(&self.conn, filter, before_seq, limit)
            .map_err(|e| StoreError::from_sqlite(e, &self.location))
    }

    /// A reader of its own on the same file (`None` in memory: nothing else can see it).
    pub fn reader(&self) -> Result<Option<SqliteReader>, StoreError> {
        match &self.location {
            Location::File(path) => SqliteReader::open(path).map(Some),
            Location::Memory | Location::Postgres(_) => Ok(None),
        }
    }

    /// How many records match, exactly up to `cap` (then `(cap, true)`: "cap+").
    pub fn count_audit(&self, filter: &AuditFilter, cap: u64) -> Result<(u64, bool), StoreError> {
        search::count(&self.conn, filter, cap)
            .map_err(|e| StoreError::from_sqlite(e, &self.location))
    }

    /// Matching records oldest first, streamed, until the visitor returns false.
    pub fn each_audit_matching(
        &self,
        filter: &AuditFilter,
        visit: &mut dyn FnMut(AuditRecord) -> bool,
    ) -> Result<(), StoreError> {
        search::each_matching(&self.conn, filter, visit)
            .map_err(|e| StoreError::from_sqlite(e, &self.location))
    }

    pub fn audit_record(&self, seq: u64) -> Result<Option<AuditRecord>, StoreError> {
        read::at(&self.conn, seq).map_err(|e| StoreError::from_sqlite(e, &self.location))
    }

    pub fn list<T: crate::query::Item>(
        &self,
        listing: &crate::query::Listing,
    ) -> Result<Vec<T>, StoreError> {
        items::list(&self.conn, listing).map_err(|e| StoreError::from_sqlite(e, &self.location))
    }

    pub fn item<T: crate::query::Item>(&self, id: &str) -> Result<Option<T>, StoreError> {
        items::by_id(&self.conn, id).map_err(|e| StoreError::from_sqlite(e, &self.location))
    }

    /// Visits every audit record in seq order without loading the trail into memory, until the
    /// visitor returns false.
    pub fn each_audit(&self, visit: &mut dyn FnMut(AuditRecord) -> bool) -> Result<(), StoreError> {
        read::each(&self.conn, visit, &self.location)
    }
}
