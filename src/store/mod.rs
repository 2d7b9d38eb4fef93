//! The store: where the engine's state, its event log and the audit chain rest.
//!
//! The engine and the rest of the crate talk to it through two types, [`Store`] and
//! [`WriteTx`], and through nothing else: no connection, no SQL.
//!
//! - [`Store`]: `open` / `open_in_memory` and `location`; `load` (state and head, in one
//!   consistent read) and `head`; `write` (begin a write transaction from the head);
//!   `events_since` (the event log by seq); `search_audit`, `count_audit`,
//!   `each_audit_matching`, `each_audit`, `verify_audit`, `audit_last_stored`, `audit_hash_at`
//!   and `audit_origin` over the trail; `now` and
//!   `is_empty`; `enter_bulk_journal` / `leave_bulk_journal` around large imports. [`inspect`]
//!   looks at a store file read-only, for `doctor`.
//! - [`WriteTx`]: `head`, `load_state` and `events_since` (another writer's); `put` (entity
//!   changes); `append_audit` (a draft chained after the head), `chainer` and `append_chained`
//!   (records prepared and chained off the writer's thread), `append_event`; `prune_audit`;
//!   `record_purge`; `note_origin`, `first_duplicate_id` and `find_id` for imports;
//!   `recorded_answers`, `record_answer` and `prune_answers` for idempotency keys (an answer
//!   commits with its effect); `index_inline`, `set_text_buffer` and `index_audit_text` for the
//!   trail's text index; `set_ids`, `set_clock`, `put_metrics`; `commit`, which returns the new
//!   head (dropping the transaction rolls it back).
//!
//! Both are enums with one variant per backend, each operation a `match` that delegates, as
//! `link::Link` is: the set of backends is closed and known here, `WriteTx` borrows its store
//! (a trait object could not be returned from `write` without boxing per transaction), and a
//! second backend (PostgreSQL: the head row `FOR UPDATE` per write, events
//! read by seq) is one more variant and one more arm per operation, while the engine's rules
//! stay where they are. What is the same for every backend lives beside the enums: the chain's
//! canonical bytes and its one record hash (`chain`), prepared and chained records for bulk
//! appends ([`Prepared`], [`Chainer`]), the head, filters and outcomes. All SQL is in
//! `sqlite`; the one way past the seam, [`Store::as_sqlite`], is for tests and diagnostics that
//! look into SQLite itself (its journal mode, a growth limit that plays a full disk).

mod bulk;
mod chain;
pub mod copy;
mod error;
mod postgres;
mod sqlite;
mod types;

use std::path::Path;

pub use bulk::{Chained, Chainer, Prepared};
pub use chain::{BadRecord, Hex, PurgeNote, PurgedClass, Verification, hash_record, record_hash};
pub use error::StoreError;
pub use postgres::{
    CaFile, ClockLease, DOORBELL, Doorbell, PG_SCHEMA_VERSION, PgAccess, PgReader, PgStore,
    PgWriteTx, is_url, parse_url,
};
pub use sqlite::{Inspection, SCHEMA_VERSION, SqliteReader, SqliteStore, SqliteWriteTx, inspect};
pub use types::{Ahead, ClockMode, Head, Location, Missed, Pruned};

use crate::protocol::{IdempotencyKey, RecordedAnswer};
use crate::query::{AuditFilter, Item, Listing};

use crate::model::{
    AuditDraft, AuditRecord, Change, Event, Ids, LiveWindow, Metrics, State, Timestamp, truncate,
};

/// Events kept for consoles and replicas that resume; older ones are trimmed (in steps of a
/// thousand, so at least this many behind the head are always there).
pub const EVENT_WINDOW: u64 = 5_000;

/// The store, whichever backend holds it.
pub enum Store {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

impl Store {
    /// Opens (creating if needed) the SQLite store at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        SqliteStore::open(path).map(Store::Sqlite)
    }

    /// Connects to the PostgreSQL database at `url` (without a password; it comes apart).
    pub fn connect(url: &str, password: Option<&str>) -> Result<Store, StoreError> {
        PgStore::connect(url, password).map(Store::Postgres)
    }

    /// [`Store::connect`] with the password and the CA the server's certificate is checked
    /// against given apart.
    pub fn connect_with(url: &str, access: &PgAccess) -> Result<Store, StoreError> {
        PgStore::connect_with(url, access).map(Store::Postgres)
    }

    /// A store that lives and dies with the process (`--ephemeral`).
    pub fn open_in_memory() -> Result<Store, StoreError> {
        SqliteStore::open_in_memory().map(Store::Sqlite)
    }

    /// The SQLite store underneath, for tests and diagnostics that look into its engine room.
    pub fn as_sqlite(&self) -> Option<&SqliteStore> {
        match self {
            Store::Sqlite(s) => Some(s),
            Store::Postgres(_) => None,
        }
    }

    pub fn location(&self) -> &Location {
        match self {
            Store::Sqlite(s) => s.location(),
            Store::Postgres(p) => p.location(),
        }
    }

    /// The live set (everything the engine keeps in memory), read in one consistent transaction.
    pub fn load(&mut self, window: &LiveWindow) -> Result<(State, Head), StoreError> {
        match self {
            Store::Sqlite(s) => s.load(window),
            Store::Postgres(p) => p.load(window),
        }
    }

    /// See [`SqliteStore::begin_group`].
    pub fn begin_group(&mut self) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => s.begin_group(),
            Store::Postgres(_) => Ok(()),
        }
    }

    /// Commits what the writes since `begin_group` changed.
    pub fn end_group(&mut self) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => s.end_group(),
            Store::Postgres(_) => Ok(()),
        }
    }

    /// Connections of their own for reads beside the writer; `None` for a store in memory.
    pub fn reader(&self) -> Result<Option<Reader>, StoreError> {
        match self {
            Store::Sqlite(s) => Ok(s.reader()?.map(|r| Reader::Sqlite(std::sync::Arc::new(r)))),
            Store::Postgres(p) => Ok(Some(Reader::Postgres(p.thread_reader()))),
        }
    }

    /// Items of one kind by index, history included (see [`Listing`]).
    pub fn list<T: Item>(&self, listing: &Listing) -> Result<Vec<T>, StoreError> {
        match self {
            Store::Sqlite(s) => s.list(listing),
            Store::Postgres(p) => p.reader().list(listing),
        }
    }

    /// One item by id, wherever it is in its life.
    pub fn item<T: Item>(&self, id: &str) -> Result<Option<T>, StoreError> {
        match self {
            Store::Sqlite(s) => s.item(id),
            Store::Postgres(p) => p.reader().item(id),
        }
    }

    /// The head only: cheap enough to check before every write whether another process wrote.
    pub fn head(&self) -> Result<Head, StoreError> {
        match self {
            Store::Sqlite(s) => s.head(),
            Store::Postgres(p) => p.head(),
        }
    }

    /// What other writers committed after `since`, read at one instant: the head, the events
    /// (`None` when the log no longer reaches back) and the metrics. A database answers it in
    /// one round trip.
    pub fn missed(&self, since: u64) -> Result<Missed, StoreError> {
        match self {
            Store::Sqlite(s) => {
                let head = s.head()?;
                if head.event_seq <= since {
                    return Ok(Missed {
                        head,
                        events: Some(Vec::new()),
                        metrics: None,
                    });
                }
                let events = s.events_since(since, usize::MAX >> 1)?;
                let metrics = Some(s.metrics()?);
                // The events read may run past the head read first: the newest of the two.
                let head = match events.as_ref().and_then(|e| e.last()) {
                    Some(last) if last.seq > head.event_seq => s.head()?,
                    _ => head,
                };
                Ok(Missed {
                    head,
                    events,
                    metrics,
                })
            }
            Store::Postgres(p) => p.missed(since),
        }
    }

    /// Starts a write from the head as it is now; writers queue here rather than fail at commit.
    pub fn write(&mut self) -> Result<WriteTx<'_>, StoreError> {
        self.write_ahead(&Ahead::default())
    }

    /// Opens a write transaction, naming what the writer will read under the head's lock (a
    /// database answers it with the lock; a file reads it when asked).
    pub fn write_ahead(&mut self, ahead: &Ahead) -> Result<WriteTx<'_>, StoreError> {
        match self {
            Store::Sqlite(s) => s.write().map(WriteTx::Sqlite),
            Store::Postgres(p) => p.write(ahead).map(WriteTx::Postgres),
        }
    }

    /// Replays events after `since`, oldest first; `None` when the log no longer reaches back.
    pub fn events_since(&self, since: u64, limit: usize) -> Result<Option<Vec<Event>>, StoreError> {
        match self {
            Store::Sqlite(s) => s.events_since(since, limit),
            Store::Postgres(p) => p.events_since(since, limit),
        }
    }

    /// Recomputes the whole chain; names the first bad record.
    pub fn verify_audit(&self) -> Result<Verification, StoreError> {
        match self {
            Store::Sqlite(s) => s.verify_audit(),
            Store::Postgres(p) => p.verify_audit(),
        }
    }

    /// The last stored record's seq and hash (the high-water mark aside).
    pub fn audit_last_stored(&self) -> Result<(u64, String), StoreError> {
        match self {
            Store::Sqlite(s) => s.audit_last_stored(),
            Store::Postgres(p) => p.audit_last_stored(),
        }
    }

    /// The hash stored at `seq`, if a record is there.
    pub fn audit_hash_at(&self, seq: u64) -> Result<Option<String>, StoreError> {
        match self {
            Store::Sqlite(s) => s.audit_hash_at(seq),
            Store::Postgres(p) => p.audit_hash_at(seq),
        }
    }

    /// Where the record `seq` came from (its file's digest and line), if it was imported.
    pub fn audit_origin(&self, seq: u64) -> Result<Option<(String, u64)>, StoreError> {
        match self {
            Store::Sqlite(s) => s.audit_origin(seq),
            Store::Postgres(p) => p.audit_origin(seq),
        }
    }

    /// Matching records newest first, strictly before `before_seq` when given.
    pub fn search_audit(
        &self,
        filter: &AuditFilter,
        before_seq: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        match self {
            Store::Sqlite(s) => s.search_audit(filter, before_seq, limit),
            Store::Postgres(p) => p.reader().search_audit(filter, before_seq, limit),
        }
    }

    /// The whole record at `seq` (a reveal reads it), if the trail has one.
    pub fn audit_record(&self, seq: u64) -> Result<Option<AuditRecord>, StoreError> {
        match self {
            Store::Sqlite(s) => s.audit_record(seq),
            Store::Postgres(p) => p.reader().audit_record(seq),
        }
    }

    /// How many records match, exactly up to `cap` (then `(cap, true)`: "cap+").
    pub fn count_audit(&self, filter: &AuditFilter, cap: u64) -> Result<(u64, bool), StoreError> {
        match self {
            Store::Sqlite(s) => s.count_audit(filter, cap),
            Store::Postgres(p) => p.reader().count_audit(filter, cap),
        }
    }

    /// Matching records oldest first, streamed, until the visitor returns false.
    pub fn each_audit_matching(
        &self,
        filter: &AuditFilter,
        visit: &mut dyn FnMut(AuditRecord) -> bool,
    ) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => s.each_audit_matching(filter, visit),
            Store::Postgres(p) => p.reader().each_matching(filter, visit),
        }
    }

    /// Visits every audit record in seq order without loading the trail into memory, until the
    /// visitor returns false.
    pub fn each_audit(&self, visit: &mut dyn FnMut(AuditRecord) -> bool) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => s.each_audit(visit),
            Store::Postgres(p) => p.each_audit(visit),
        }
    }

    /// Large bulk appends (imports) write outside the usual log when nothing else has the store
    /// open; returns false, changing nothing, when that cannot be done (see
    /// [`SqliteStore::enter_bulk_journal`]).
    pub fn enter_bulk_journal(&mut self) -> Result<bool, StoreError> {
        match self {
            Store::Sqlite(s) => s.enter_bulk_journal(),
            Store::Postgres(_) => Ok(false),
        }
    }

    /// Back to the usual log after [`Store::enter_bulk_journal`].
    pub fn leave_bulk_journal(&mut self) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => s.leave_bulk_journal(),
            Store::Postgres(_) => Ok(()),
        }
    }

    /// The store's own now: the end of a simulated store's timeline, else the wall clock.
    pub fn now(&self) -> Result<Timestamp, StoreError> {
        let head = self.head()?;
        Ok(match (head.clock, head.last_at) {
            (ClockMode::Simulated, Some(at)) => at,
            _ => truncate(chrono::Utc::now()),
        })
    }

    /// A doorbell other writers ring after each commit; `None` where none rings (SQLite:
    /// other processes on the file are found by the clock's poll).
    pub fn doorbell(&self) -> Option<Doorbell> {
        match self {
            Store::Sqlite(_) => None,
            Store::Postgres(p) => Some(p.doorbell()),
        }
    }

    /// The clock's lease among the replicas sharing the store; `None` where there is no
    /// sharing (SQLite: one process runs the clock, as it always has).
    pub fn clock_lease(&self) -> Option<ClockLease> {
        match self {
            Store::Sqlite(_) => None,
            Store::Postgres(p) => Some(p.clock_lease()),
        }
    }

    /// A page of `table`'s rows after the position `after` (SQLite's rowid, PostgreSQL's
    /// `pos`), in that order, as (position, key, body).
    pub fn entity_page(
        &self,
        table: copy::Table,
        after: i64,
        n: usize,
    ) -> Result<Vec<(i64, String, String)>, StoreError> {
        match self {
            Store::Sqlite(s) => s.entity_page(table, after, n),
            Store::Postgres(p) => p.entity_page(table, after, n),
        }
    }

    /// A page of audit records as stored, after `after`.
    pub fn audit_rows(&self, after: u64, n: usize) -> Result<Vec<copy::AuditRow>, StoreError> {
        match self {
            Store::Sqlite(s) => s.audit_rows(after, n),
            Store::Postgres(p) => p.audit_rows(after, n),
        }
    }

    /// The seqs of the trail's purge records.
    pub fn purge_seqs(&self) -> Result<Vec<u64>, StoreError> {
        match self {
            Store::Sqlite(s) => s.purge_seqs(),
            Store::Postgres(p) => p.purge_seqs(),
        }
    }

    /// Where imported runs of records came from.
    pub fn origins(&self) -> Result<Vec<copy::OriginRow>, StoreError> {
        match self {
            Store::Sqlite(s) => s.origins(),
            Store::Postgres(p) => p.origins(),
        }
    }

    /// A page of idempotency answers after `(caller, key)`.
    pub fn answer_rows(
        &self,
        after: &(String, String),
        n: usize,
    ) -> Result<Vec<copy::AnswerRow>, StoreError> {
        match self {
            Store::Sqlite(s) => s.answer_rows(after, n),
            Store::Postgres(p) => p.answer_rows(after, n),
        }
    }

    /// The metrics as last committed (another writer's commands record outcomes too).
    pub fn metrics(&self) -> Result<Metrics, StoreError> {
        match self {
            Store::Sqlite(s) => s.metrics(),
            Store::Postgres(p) => p.metrics(),
        }
    }

    /// Whether anything was ever written (a demo run wants an empty store).
    pub fn is_empty(&self) -> Result<bool, StoreError> {
        let head = self.head()?;
        Ok(head.event_seq == 0 && head.audit_seq == 0)
    }
}

/// Reads on connections of their own, shared by clones: searches, counts, exports, listings.
#[derive(Clone)]
pub enum Reader {
    Sqlite(std::sync::Arc<SqliteReader>),
    Postgres(PgReader),
}

impl Reader {
    pub fn search_audit(
        &self,
        filter: &AuditFilter,
        before_seq: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        match self {
            Reader::Sqlite(r) => r.search_audit(filter, before_seq, limit),
            Reader::Postgres(r) => r.search_audit(filter, before_seq, limit),
        }
    }

    pub fn count_audit(&self, filter: &AuditFilter, cap: u64) -> Result<(u64, bool), StoreError> {
        match self {
            Reader::Sqlite(r) => r.count_audit(filter, cap),
            Reader::Postgres(r) => r.count_audit(filter, cap),
        }
    }

    pub fn each_audit_matching(
        &self,
        filter: &AuditFilter,
        visit: &mut dyn FnMut(AuditRecord) -> bool,
    ) -> Result<(), StoreError> {
        match self {
            Reader::Sqlite(r) => r.each_audit_matching(filter, visit),
            Reader::Postgres(r) => r.each_matching(filter, visit),
        }
    }

    pub fn audit_record(&self, seq: u64) -> Result<Option<AuditRecord>, StoreError> {
        match self {
            Reader::Sqlite(r) => r.audit_record(seq),
            Reader::Postgres(r) => r.audit_record(seq),
        }
    }

    pub fn list<T: Item>(&self, listing: &Listing) -> Result<Vec<T>, StoreError> {
        match self {
            Reader::Sqlite(r) => r.list(listing),
            Reader::Postgres(r) => r.list(listing),
        }
    }

    pub fn item<T: Item>(&self, id: &str) -> Result<Option<T>, StoreError> {
        match self {
            Reader::Sqlite(r) => r.item(id),
            Reader::Postgres(r) => r.item(id),
        }
    }
}

/// One write transaction: entity upserts, audit appends and events commit or vanish together.
pub enum WriteTx<'a> {
    Sqlite(SqliteWriteTx<'a>),
    Postgres(PgWriteTx<'a>),
}

impl WriteTx<'_> {
    /// The head as this transaction has moved it so far.
    pub fn head(&self) -> &Head {
        match self {
            WriteTx::Sqlite(w) => w.head(),
            WriteTx::Postgres(w) => w.head(),
        }
    }

    /// The live set as stored, within this transaction (after another writer's commit).
    pub fn load_state(&self, window: &LiveWindow) -> Result<State, StoreError> {
        match self {
            WriteTx::Sqlite(w) => w.load_state(window),
            WriteTx::Postgres(w) => w.load_state(window),
        }
    }

    /// Events after `since` (another writer's), or `None` when the log no longer reaches back.
    pub fn events_since(&self, since: u64) -> Result<Option<Vec<Event>>, StoreError> {
        match self {
            WriteTx::Sqlite(w) => w.events_since(since),
            WriteTx::Postgres(w) => w.events_since(since),
        }
    }

    /// The metrics as committed before this transaction (another writer's, say).
    pub fn metrics(&self) -> Result<Metrics, StoreError> {
        match self {
            WriteTx::Sqlite(w) => w.metrics(),
            WriteTx::Postgres(w) => w.metrics(),
        }
    }

    /// Writes one entity change (audit records go through [`WriteTx::append_audit`]).
    pub fn put(&mut self, change: &Change) -> Result<(), StoreError> {
        match self {
            WriteTx::Sqlite(w) => w.put(change),
            WriteTx::Postgres(w) => w.put(change),
        }
    }

    /// Gives the draft its place in the chain and appends it.
    pub fn append_audit(
        &mut self,
        id: uuid::Uuid,
        at: Timestamp,
        draft: AuditDraft,
    ) -> Result<AuditRecord, StoreError> {
        match self {
            WriteTx::Sqlite(w) => w.append_audit(id, at, draft),
            WriteTx::Postgres(w) => w.append_audit_via(id, at, draft, None),
        }
    }

    /// [`Self::append_audit`], naming the token and client the record came in by over HTTP.
    pub fn append_audit_via(
        &mut self,
        id: uuid::Uuid,
        at: Timestamp,
        draft: AuditDraft,
        via: Option<crate::model::Via>,
    ) -> Result<AuditRecord, StoreError> {
        match self {
            WriteTx::Sqlite(w) => w.append_audit_via(id, at, draft, via),
            WriteTx::Postgres(w) => w.append_audit_via(id, at, draft, via),
        }
    }

    /// Appends records chained by a [`Chainer`] that started from this transaction's head.
    pub fn append_chained(&mut self, batch: &Chained) -> Result<(), StoreError> {
        match self {
            WriteTx::Sqlite(w) => w.append_chained(batch),
            WriteTx::Postgres(w) => w.append_chained(batch),
        }
    }

    /// A chainer for records appended after this transaction's head (see [`Chainer`]).
    pub fn chainer(&self) -> Result<Chainer, StoreError> {
        match self {
            WriteTx::Sqlite(w) => w.chainer(),
            WriteTx::Postgres(w) => w.chainer(),
        }
    }

    /// Appends the next event of the log.
    pub fn append_event(
        &mut self,
        at: Timestamp,
        cause: &str,
        changes: Vec<Change>,
    ) -> Result<Event, StoreError> {
        match self {
            WriteTx::Sqlite(w) => w.append_event(at, cause, changes),
            WriteTx::Postgres(w) => w.append_event(at, cause, changes),
        }
    }

    /// Purges record bodies past their retention; headers and hashes stay.
    pub fn prune_audit(&mut self, now: Timestamp, dry_run: bool) -> Result<Pruned, StoreError> {
        match self {
            WriteTx::Sqlite(w) => w.prune_audit(now, dry_run),
            WriteTx::Postgres(w) => w.prune_audit(now, dry_run),
        }
    }

    /// Writes the chained record of a retention purge done in this transaction.
    pub fn record_purge(
        &mut self,
        id: uuid::Uuid,
        at: Timestamp,
        actor: &str,
        pruned: &mut Pruned,
    ) -> Result<AuditRecord, StoreError> {
        match self {
            WriteTx::Sqlite(w) => w.record_purge(id, at, actor, pruned),
            WriteTx::Postgres(w) => w.record_purge(id, at, actor, pruned),
        }
    }

    /// The answers recorded at or after `since` under each (caller, idempotency key), in the
    /// order asked (one lookup for a group of commands).
    pub fn recorded_answers(
        &self,
        keys: &[(&str, &str)],
        since: Timestamp,
    ) -> Result<Vec<Option<RecordedAnswer>>, StoreError> {
        match self {
            WriteTx::Sqlite(w) => keys
                .iter()
                .map(|(caller, key)| w.recorded_answer(caller, key, since))
                .collect(),
            WriteTx::Postgres(w) => w.recorded_answers(keys, since),
        }
    }

    /// Records a command's answer under its idempotency key, in the transaction of its effect.
    pub fn record_answer(
        &mut self,
        key: &IdempotencyKey,
        status: u16,
        body: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        match self {
            WriteTx::Sqlite(w) => w.record_answer(key, status, body, at),
            WriteTx::Postgres(w) => w.record_answer(key, status, body, at),
        }
    }

    /// Forgets idempotency answers recorded before `before`; returns how many.
    pub fn prune_answers(&mut self, before: Timestamp) -> Result<u64, StoreError> {
        match self {
            WriteTx::Sqlite(w) => w.prune_answers(before),
            WriteTx::Postgres(w) => w.prune_answers(before),
        }
    }

    /// Notes that the records `first_seq..=last_seq` came from consecutive lines of a file.
    pub fn note_origin(
        &mut self,
        first_seq: u64,
        last_seq: u64,
        file_sha256: &str,
        first_line: u64,
    ) -> Result<(), StoreError> {
        match self {
            WriteTx::Sqlite(w) => w.note_origin(first_seq, last_seq, file_sha256, first_line),
            WriteTx::Postgres(w) => w.note_origin(first_seq, last_seq, file_sha256, first_line),
        }
    }

    /// The first record among `first..=last` whose id another record holds too.
    pub fn first_duplicate_id(&self, first: u64, last: u64) -> Result<Option<u64>, StoreError> {
        match self {
            WriteTx::Sqlite(w) => w.first_duplicate_id(first, last),
            WriteTx::Postgres(w) => w.first_duplicate_id(first, last),
        }
    }

    /// The first record with `p`'s id: its seq, and whether it is the same record.
    pub fn find_id(&self, p: &Prepared) -> Result<Option<(u64, bool)>, StoreError> {
        match self {
            WriteTx::Sqlite(w) => w.find_id(p),
            WriteTx::Postgres(w) => w.find_id(p),
        }
    }

    /// For bulk appends (import, synthetic trails): catch the text index up now, then index each
    /// record as it is appended, rather than reading every body back later.
    pub fn index_inline(&mut self) -> Result<(), StoreError> {
        match self {
            WriteTx::Sqlite(w) => w.index_inline(),
            WriteTx::Postgres(_) => Ok(()),
        }
    }

    /// The text index's in-memory buffer, in bytes: larger while bulk appending.
    pub fn set_text_buffer(&mut self, bytes: i64) -> Result<(), StoreError> {
        match self {
            WriteTx::Sqlite(w) => w.set_text_buffer(bytes),
            WriteTx::Postgres(_) => Ok(()),
        }
    }

    /// Catches the text index up with the trail, in this transaction.
    pub fn index_audit_text(&mut self) -> Result<u64, StoreError> {
        match self {
            WriteTx::Sqlite(w) => w.index_audit_text(),
            WriteTx::Postgres(_) => Ok(0),
        }
    }

    /// Appends audit records as stored (`store copy`).
    pub fn put_audit_rows(&mut self, rows: &[copy::AuditRow]) -> Result<(), StoreError> {
        match self {
            WriteTx::Sqlite(w) => rows.iter().try_for_each(|row| w.put_audit_row(row)),
            WriteTx::Postgres(w) => w.put_audit_rows(rows),
        }
    }

    /// Marks the record `seq` as a purge record (`store copy`).
    pub fn mark_purge(&mut self, seq: u64) -> Result<(), StoreError> {
        match self {
            WriteTx::Sqlite(w) => w.mark_purge(seq),
            WriteTx::Postgres(w) => w.mark_purge(seq),
        }
    }

    /// Writes an idempotency answer as stored (`store copy`).
    pub fn put_answer(&mut self, row: &copy::AnswerRow) -> Result<(), StoreError> {
        match self {
            WriteTx::Sqlite(w) => w.put_answer(row),
            WriteTx::Postgres(w) => w.put_answer(row),
        }
    }

    /// Writes an event at its own seq (`store copy`).
    pub fn put_event(&mut self, event: &Event) -> Result<(), StoreError> {
        match self {
            WriteTx::Sqlite(w) => w.put_event(event),
            WriteTx::Postgres(w) => w.put_event(event),
        }
    }

    /// The head to commit, whole (`store copy`).
    pub fn set_head(&mut self, head: &Head) {
        match self {
            WriteTx::Sqlite(w) => w.set_head(head),
            WriteTx::Postgres(w) => w.set_head(head),
        }
    }

    pub fn set_ids(&mut self, ids: &Ids) {
        match self {
            WriteTx::Sqlite(w) => w.set_ids(ids),
            WriteTx::Postgres(w) => w.set_ids(ids),
        }
    }

    pub fn set_clock(&mut self, clock: ClockMode) {
        match self {
            WriteTx::Sqlite(w) => w.set_clock(clock),
            WriteTx::Postgres(w) => w.set_clock(clock),
        }
    }

    pub fn put_metrics(&mut self, metrics: &Metrics) -> Result<(), StoreError> {
        match self {
            WriteTx::Sqlite(w) => w.put_metrics(metrics),
            WriteTx::Postgres(w) => w.put_metrics(metrics),
        }
    }

    /// Commits everything written, and returns the head it leaves.
    pub fn commit(self) -> Result<Head, StoreError> {
        match self {
            WriteTx::Sqlite(w) => w.commit(),
            WriteTx::Postgres(w) => w.commit(),
        }
    }
}
