//! The SQLite store: WAL, `synchronous=FULL`, `BEGIN IMMEDIATE` for every write, migrations by
//! `user_version`, an application id that tells an opsdeck database from any other file.

mod audit;
mod bulk;
mod entities;
mod error;
mod inspect;
mod schema;
mod probe;
mod search;
mod trail;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

pub use audit::{AuditFilter, BadRecord, Verification, hash_record, record_hash};
pub use bulk::{Chained, Chainer, Hex, Prepared};
pub use error::StoreError;
pub use inspect::{Inspection, inspect};
pub use schema::SCHEMA_VERSION;
pub use trail::Pruned;

use crate::model::{Ids, Metrics, State};

/// Where the store lives, for messages and `doctor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    File(PathBuf),
    Memory,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::File(p) => write!(f, "{}", p.display()),
            Location::Memory => f.write_str("(in memory)"),
        }
    }
}

/// The store's notion of time: a store written by `demo run` lives on its simulated clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockMode {
    Real,
    Simulated,
}

/// What a write transaction starts from: the ends of the event log and the audit chain.
#[derive(Debug, Clone, PartialEq)]
pub struct Head {
    pub event_seq: u64,
    pub audit_seq: u64,
    pub audit_hash: String,
    pub ids: Ids,
    /// The latest time any record was written at; time never runs backwards in the trail.
    pub last_at: Option<crate::model::Timestamp>,
    pub clock: ClockMode,
    /// No audit record was ever appended with a time before the one before it; then a time
    /// window maps to a seq range, and windowed searches need not sort.
    pub ts_monotone: bool,
}

pub struct Store {
    conn: Connection,
    location: Location,
}

impl Store {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
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
        Store::init(conn, location)
    }

    /// A store that lives and dies with the process (`--ephemeral`).
    pub fn open_in_memory() -> Result<Store, StoreError> {
        let conn = Connection::open_in_memory()
            .map_err(|e| StoreError::from_sqlite(e, &Location::Memory))?;
        Store::init(conn, Location::Memory)
    }

    fn init(conn: Connection, location: Location) -> Result<Store, StoreError> {
        let mut store = Store { conn, location };
        // Look before touching: a file that is not ours must be left exactly as it was.
        schema::check(&store.conn).map_err(|e| e.at(&store.location))?;
        store.configure()?;
        schema::migrate(&mut store.conn).map_err(|e| e.at(&store.location))?;
        Ok(store)
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
        self.conn
            .execute_batch(
                "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA wal_autocheckpoint=8000;
                 PRAGMA cache_size=-32768;",
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
    /// read the store (they are told it is busy). [`Store::leave_bulk_journal`] returns to the
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

    /// Back to the write-ahead log after [`Store::enter_bulk_journal`] (through `DELETE`, which
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

    /// Everything the engine keeps in memory, read in one consistent transaction.
    pub fn load(&mut self) -> Result<(State, Head), StoreError> {
        let location = self.location.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Deferred)
            .map_err(|e| StoreError::from_sqlite(e, &location))?;
        let loaded = entities::load_state(&tx)
            .and_then(|state| Ok((state, entities::head(&tx)?)))
            .map_err(|e| StoreError::from_sqlite(e, &location))?;
        tx.commit()
            .map_err(|e| StoreError::from_sqlite(e, &location))?;
        let (mut state, head) = loaded;
        state.ids = head.ids.clone();
        state.seq = head.event_seq;
        Ok((state, head))
    }

    /// The head only: cheap enough to check before every write whether another process wrote.
    pub fn head(&self) -> Result<Head, StoreError> {
        entities::head(&self.conn).map_err(|e| StoreError::from_sqlite(e, &self.location))
    }

    /// Starts a write: `BEGIN IMMEDIATE`, so writers queue here rather than fail at commit.
    pub fn write(&mut self) -> Result<WriteTx<'_>, StoreError> {
        let location = self.location.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| StoreError::from_sqlite(e, &location))?;
        let head = entities::head(&tx).map_err(|e| StoreError::from_sqlite(e, &location))?;
        Ok(WriteTx {
            tx,
            began_at_seq: head.event_seq,
            head,
            inline_index: false,
            location,
        })
    }

    /// Replays events after `since`, oldest first; `None` when the log no longer reaches back.
    pub fn events_since(
        &self,
        since: u64,
        limit: usize,
    ) -> Result<Option<Vec<crate::model::Event>>, StoreError> {
        entities::events_since(&self.conn, since, limit)
            .map_err(|e| StoreError::from_sqlite(e, &self.location))
    }

    pub fn verify_audit(&self) -> Result<Verification, StoreError> {
        audit::verify(&self.conn).map_err(|e| StoreError::from_sqlite(e, &self.location))
    }

    pub fn search_audit(
        &self,
        filter: &AuditFilter,
        before_seq: Option<u64>,
        limit: usize,
    ) -> Result<Vec<crate::model::AuditRecord>, StoreError> {
        self.catch_up_text_index(filter);
        search::search(&self.conn, filter, before_seq, limit)
            .map_err(|e| StoreError::from_sqlite(e, &self.location))
    }

    /// Records written since the last catch-up become searchable before a text query runs. On a
    /// read-only store the query runs over what is already indexed.
    fn catch_up_text_index(&self, filter: &AuditFilter) {
        if filter.words.is_empty() && filter.phrases.is_empty() && filter.excluded.is_empty() {
            return;
        }
        let caught_up = self.conn.unchecked_transaction().and_then(|tx| {
            audit::index_pending(&tx)?;
            tx.commit()
        });
        if let Err(e) = caught_up {
            tracing::warn!("full-text index not caught up: {e}");
        }
    }

    /// How many records match, exactly up to `cap` (then `(cap, true)`: "cap+").
    pub fn count_audit(&self, filter: &AuditFilter, cap: u64) -> Result<(u64, bool), StoreError> {
        self.catch_up_text_index(filter);
        search::count(&self.conn, filter, cap)
            .map_err(|e| StoreError::from_sqlite(e, &self.location))
    }

    /// Matching records oldest first, streamed, until the visitor returns false.
    pub fn each_audit_matching(
        &self,
        filter: &AuditFilter,
        visit: &mut dyn FnMut(crate::model::AuditRecord) -> bool,
    ) -> Result<(), StoreError> {
        self.catch_up_text_index(filter);
        search::each_matching(&self.conn, filter, visit)
            .map_err(|e| StoreError::from_sqlite(e, &self.location))
    }

    /// The store's own now: the end of a simulated store's timeline, else the wall clock.
    pub fn now(&self) -> Result<crate::model::Timestamp, StoreError> {
        let head = self.head()?;
        Ok(match (head.clock, head.last_at) {
            (ClockMode::Simulated, Some(at)) => at,
            _ => crate::model::truncate(chrono::Utc::now()),
        })
    }

    /// Visits every audit record in seq order without loading the trail into memory, until the
    /// visitor returns false.
    pub fn each_audit(
        &self,
        visit: &mut dyn FnMut(crate::model::AuditRecord) -> bool,
    ) -> Result<(), StoreError> {
        audit::each(&self.conn, visit, &self.location)
    }

    /// Whether anything was ever written (a demo run wants an empty store).
    pub fn is_empty(&self) -> Result<bool, StoreError> {
        let head = self.head()?;
        Ok(head.event_seq == 0 && head.audit_seq == 0)
    }
}

/// One write transaction: entity upserts, audit appends and events commit or vanish together.
pub struct WriteTx<'a> {
    tx: rusqlite::Transaction<'a>,
    head: Head,
    /// The event seq this transaction started from.
    began_at_seq: u64,
    /// Bulk appends index their text as they go (see `index_inline`).
    inline_index: bool,
    location: Location,
}

impl WriteTx<'_> {
    pub fn head(&self) -> &Head {
        &self.head
    }

    pub fn load_state(&self) -> Result<State, StoreError> {
        let mut state = entities::load_state(&self.tx).map_err(|e| self.err(e))?;
        state.ids = self.head.ids.clone();
        state.seq = self.head.event_seq;
        Ok(state)
    }

    /// Events after `since` (another writer's), or `None` when the log no longer reaches back.
    pub fn events_since(&self, since: u64) -> Result<Option<Vec<crate::model::Event>>, StoreError> {
        entities::events_since(&self.tx, since, usize::MAX >> 1).map_err(|e| self.err(e))
    }

    pub fn put(&mut self, change: &crate::model::Change) -> Result<(), StoreError> {
        entities::put(&self.tx, change).map_err(|e| self.err(e))
    }

    /// Gives the draft its place in the chain and appends it.
    pub fn append_audit(
        &mut self,
        id: uuid::Uuid,
        at: crate::model::Timestamp,
        draft: crate::model::AuditDraft,
    ) -> Result<crate::model::AuditRecord, StoreError> {
        let (record, body, body_sha) = audit::chain(&self.head, id, at, draft);
        audit::insert(&self.tx, &record, &body, &body_sha).map_err(|e| self.err(e))?;
        if self.inline_index {
            audit::index_one(&self.tx, &record).map_err(|e| self.err(e))?;
        }
        self.head.audit_seq = record.seq;
        self.head.audit_hash = record.hash.clone();
        self.note_audit_time(at);
        Ok(record)
    }

    /// Appends records chained by a [`Chainer`] that started from this transaction's head.
    pub fn append_chained(&mut self, batch: &Chained) -> Result<(), StoreError> {
        if batch.first_seq != self.head.audit_seq + 1
            || batch.prev[..] != *self.head.audit_hash.as_bytes()
        {
            return Err(StoreError::Unusable {
                location: self.location.clone(),
                why: format!(
                    "records chained after seq {} were offered at seq {}",
                    batch.first_seq - 1,
                    self.head.audit_seq
                ),
            });
        }
        let mut appender =
            bulk::Appender::new(&self.tx, self.inline_index).map_err(|e| self.err(e))?;
        let mut prev = &batch.prev;
        for (i, (p, hash)) in batch.records.iter().zip(&batch.hashes).enumerate() {
            appender
                .append(p, batch.first_seq + i as u64, prev, hash)
                .map_err(|e| StoreError::from_sqlite(e, &self.location))?;
            prev = hash;
        }
        drop(appender);
        if let Some(last) = batch.hashes.last() {
            self.head.audit_seq = batch.first_seq + batch.hashes.len() as u64 - 1;
            self.head.audit_hash = bulk::hex_str(last).to_owned();
        }
        for p in &batch.records {
            self.note_audit_time(p.at());
        }
        Ok(())
    }

    /// A chainer for records appended after this transaction's head (see [`Chainer`]).
    pub fn chainer(&self) -> Result<Chainer, StoreError> {
        Chainer::after(self.head.audit_seq, &self.head.audit_hash).ok_or_else(|| {
            StoreError::Corrupt {
                location: self.location.clone(),
                detail: format!(
                    "the audit chain ends in a malformed hash {:?}",
                    self.head.audit_hash
                ),
            }
        })
    }

    pub fn append_event(
        &mut self,
        at: crate::model::Timestamp,
        cause: &str,
        changes: Vec<crate::model::Change>,
    ) -> Result<crate::model::Event, StoreError> {
        let event = crate::model::Event {
            seq: self.head.event_seq + 1,
            at,
            cause: cause.to_string(),
            changes,
        };
        entities::insert_event(&self.tx, &event).map_err(|e| self.err(e))?;
        self.head.event_seq = event.seq;
        self.note_time(at);
        Ok(event)
    }

    /// Purges record bodies past their retention (see `trail::prune`).
    pub fn prune_audit(
        &mut self,
        now: crate::model::Timestamp,
        dry_run: bool,
    ) -> Result<Pruned, StoreError> {
        trail::prune(&self.tx, now, dry_run).map_err(|e| self.err(e))
    }

    pub fn imported_before(&self, digest: &str) -> Result<Option<String>, StoreError> {
        trail::imported_before(&self.tx, digest).map_err(|e| self.err(e))
    }

    pub fn remember_import(
        &mut self,
        digest: &str,
        at: crate::model::Timestamp,
    ) -> Result<(), StoreError> {
        trail::remember_import(&self.tx, digest, at).map_err(|e| self.err(e))
    }

    /// For bulk appends (import, synthetic trails): catch the text index up now, then index each
    /// record as it is appended, rather than reading every body back later.
    pub fn index_inline(&mut self) -> Result<(), StoreError> {
        audit::index_pending(&self.tx).map_err(|e| self.err(e))?;
        self.inline_index = true;
        Ok(())
    }

    /// The full-text index's in-memory buffer (FTS5 `hashsize`, bytes): larger while bulk
    /// appending means fewer segments to merge. It is stored with the index, so a bulk append
    /// sets it back in the same transaction.
    pub fn set_text_buffer(&mut self, bytes: i64) -> Result<(), StoreError> {
        self.tx
            .execute(
                "INSERT INTO audit_fts(audit_fts, rank) VALUES ('hashsize', ?1)",
                [bytes],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// Catches the full-text index up with the trail, in this transaction.
    pub fn index_audit_text(&mut self) -> Result<u64, StoreError> {
        audit::index_pending(&self.tx).map_err(|e| self.err(e))
    }

    pub fn set_ids(&mut self, ids: &Ids) {
        self.head.ids = ids.clone();
    }

    pub fn set_clock(&mut self, clock: ClockMode) {
        self.head.clock = clock;
    }

    pub fn put_metrics(&mut self, metrics: &Metrics) -> Result<(), StoreError> {
        entities::put_meta(&self.tx, "metrics", metrics).map_err(|e| self.err(e))
    }

    /// Notes an audit record's time: one before the latest time written means the trail's
    /// times no longer only grow.
    fn note_audit_time(&mut self, at: crate::model::Timestamp) {
        if self.head.last_at.is_some_and(|last| at < last) {
            self.head.ts_monotone = false;
        }
        self.note_time(at);
    }

    fn note_time(&mut self, at: crate::model::Timestamp) {
        if self.head.last_at.is_none_or(|last| at > last) {
            self.head.last_at = Some(at);
        }
    }

    pub fn commit(self) -> Result<Head, StoreError> {
        let location = self.location.clone();
        if self.inline_index {
            entities::put_meta(&self.tx, "fts_upto", &self.head.audit_seq)
                .map_err(|e| StoreError::from_sqlite(e, &location))?;
        }
        entities::put_head(&self.tx, &self.head)
            .map_err(|e| StoreError::from_sqlite(e, &location))?;
        entities::trim_events(&self.tx, self.began_at_seq, self.head.event_seq)
            .map_err(|e| StoreError::from_sqlite(e, &location))?;
        self.tx
            .commit()
            .map_err(|e| StoreError::from_sqlite(e, &location))?;
        Ok(self.head)
    }

    fn err(&self, e: rusqlite::Error) -> StoreError {
        StoreError::from_sqlite(e, &self.location)
    }
}
