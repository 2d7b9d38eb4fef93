//! One SQLite write transaction: entity upserts, audit appends and events commit or vanish
//! together.

use rusqlite::{Connection, TransactionBehavior};

use super::{answers, bulk, entities, trail, write};
use crate::model::{
    AuditDraft, AuditRecord, Change, Event, Ids, LiveWindow, Metrics, State, Timestamp,
};
use crate::protocol::{IdempotencyKey, RecordedAnswer};
use crate::store::chain::{Sealed, seal};
use crate::store::{Chained, Chainer, ClockMode, Head, Location, Pruned, StoreError};

/// One write transaction: entity upserts, audit appends and events commit or vanish together.
pub struct SqliteWriteTx<'a> {
    tx: Scope<'a>,
    head: Head,
    /// The event seq this transaction started from.
    began_at_seq: u64,
    /// The audit seq this transaction started from.
    began_at_audit: u64,
    /// Bulk appends index their text as they go (see `index_inline`).
    inline_index: bool,
    location: Location,
}

impl<'a> SqliteWriteTx<'a> {
    /// `BEGIN IMMEDIATE`, so writers queue here rather than fail at commit; inside a group, a
    /// savepoint of the group's transaction.
    pub(super) fn begin(
        conn: &'a mut Connection,
        location: Location,
    ) -> Result<SqliteWriteTx<'a>, StoreError> {
        let tx = if conn.is_autocommit() {
            conn.transaction_with_behavior(TransactionBehavior::Immediate)
                .map(Scope::Own)
        } else {
            // A group holds the transaction open (see `SqliteStore::begin_group`).
            conn.savepoint().map(Scope::InGroup)
        }
        .map_err(|e| StoreError::from_sqlite(e, &location))?;
        let head = entities::head(&tx).map_err(|e| StoreError::from_sqlite(e, &location))?;
        Ok(SqliteWriteTx {
            tx,
            began_at_seq: head.event_seq,
            began_at_audit: head.audit_seq,
            head,
            inline_index: false,
            location,
        })
    }

    pub fn head(&self) -> &Head {
        &self.head
    }

    pub fn load_state(&self, window: &LiveWindow) -> Result<State, StoreError> {
        let mut state = entities::load_state(&self.tx, window).map_err(|e| self.err(e))?;
        state.ids = self.head.ids.clone();
        state.seq = self.head.event_seq;
        Ok(state)
    }

    /// Events after `since` (another writer's), or `None` when the log no longer reaches back.
    pub fn events_since(&self, since: u64) -> Result<Option<Vec<Event>>, StoreError> {
        entities::events_since(&self.tx, since, usize::MAX >> 1).map_err(|e| self.err(e))
    }

    pub fn metrics(&self) -> Result<Metrics, StoreError> {
        entities::get_meta(&self.tx, "metrics")
            .map(Option::unwrap_or_default)
            .map_err(|e| self.err(e))
    }

    pub fn put(&mut self, change: &Change) -> Result<(), StoreError> {
        entities::put(&self.tx, change).map_err(|e| self.err(e))
    }

    /// Gives the draft its place in the chain and appends it.
    pub fn append_audit(
        &mut self,
        id: uuid::Uuid,
        at: Timestamp,
        draft: AuditDraft,
    ) -> Result<AuditRecord, StoreError> {
        self.append_audit_via(id, at, draft, None)
    }

    /// [`Self::append_audit`], naming the token and client the record came in by.
    pub fn append_audit_via(
        &mut self,
        id: uuid::Uuid,
        at: Timestamp,
        draft: AuditDraft,
        via: Option<crate::model::Via>,
    ) -> Result<AuditRecord, StoreError> {
        let Sealed {
            record,
            body,
            body_sha,
        } = seal(&self.head, id, at, draft, via);
        write::insert(&self.tx, &record, &body, &body_sha).map_err(|e| self.err(e))?;
        if self.inline_index {
            write::index_one(&self.tx, &record).map_err(|e| self.err(e))?;
        }
        self.head.note_record(&record);
        Ok(record)
    }

    /// Appends records chained by a [`Chainer`] that started from this transaction's head.
    pub fn append_chained(&mut self, batch: &Chained) -> Result<(), StoreError> {
        self.head.accepts(batch, &self.location)?;
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
        self.head.note_chained(batch);
        Ok(())
    }

    /// A chainer for records appended after this transaction's head (see [`Chainer`]).
    pub fn chainer(&self) -> Result<Chainer, StoreError> {
        self.head.chainer(&self.location)
    }

    pub fn append_event(
        &mut self,
        at: Timestamp,
        cause: &str,
        changes: Vec<Change>,
    ) -> Result<Event, StoreError> {
        // A failed insert fails the transaction, which is dropped with its head.
        let event = self.head.next_event(at, cause, changes);
        entities::insert_event(&self.tx, &event).map_err(|e| self.err(e))?;
        Ok(event)
    }

    /// Purges record bodies past their retention (see `trail::prune`).
    pub fn prune_audit(&mut self, now: Timestamp, dry_run: bool) -> Result<Pruned, StoreError> {
        trail::prune(&self.tx, now, dry_run).map_err(|e| self.err(e))
    }

    /// Writes the chained record of a retention purge (`pruned`, done in this transaction) by
    /// `actor`, naming the seqs and classes purged, and marks it as a purge record.
    pub fn record_purge(
        &mut self,
        id: uuid::Uuid,
        at: Timestamp,
        actor: &str,
        pruned: &mut Pruned,
    ) -> Result<AuditRecord, StoreError> {
        let record = self.append_audit(id, at, crate::store::chain::purge_draft(actor, pruned))?;
        trail::mark_purge(&self.tx, record.seq).map_err(|e| self.err(e))?;
        pruned.purge_record = Some(record.seq);
        Ok(record)
    }

    /// The answer recorded under the caller's key at or after `since`, if any.
    pub fn recorded_answer(
        &self,
        caller: &str,
        key: &str,
        since: Timestamp,
    ) -> Result<Option<RecordedAnswer>, StoreError> {
        answers::find(&self.tx, caller, key, since).map_err(|e| self.err(e))
    }

    /// Records a command's answer under its key, with the command's effect.
    pub fn record_answer(
        &mut self,
        key: &IdempotencyKey,
        status: u16,
        body: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        answers::record(&self.tx, key, status, body, at).map_err(|e| self.err(e))
    }

    /// Forgets answers recorded before `before`.
    pub fn prune_answers(&mut self, before: Timestamp) -> Result<u64, StoreError> {
        answers::prune(&self.tx, before).map_err(|e| self.err(e))
    }

    /// Notes where imported records came from (see `trail::note_origin`).
    pub fn note_origin(
        &mut self,
        first_seq: u64,
        last_seq: u64,
        file_sha256: &str,
        first_line: u64,
    ) -> Result<(), StoreError> {
        trail::note_origin(&self.tx, first_seq, last_seq, file_sha256, first_line)
            .map_err(|e| self.err(e))
    }

    /// The first record among `first..=last` whose id another record holds too.
    pub fn first_duplicate_id(&self, first: u64, last: u64) -> Result<Option<u64>, StoreError> {
        trail::first_duplicate_id(&self.tx, first, last).map_err(|e| self.err(e))
    }

    /// The first record with `p`'s id, and whether it is the same record.
    pub fn find_id(&self, p: &crate::store::Prepared) -> Result<Option<(u64, bool)>, StoreError> {
        bulk::find_id(&self.tx, p).map_err(|e| self.err(e))
    }

    /// For bulk appends (import, synthetic trails): catch the text index up now, then index each
    /// record as it is appended, rather than reading every body back later.
    pub fn index_inline(&mut self) -> Result<(), StoreError> {
        write::index_pending(&self.tx).map_err(|e| self.err(e))?;
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
        write::index_pending(&self.tx).map_err(|e| self.err(e))
    }

    /// Appends a record as stored (`store copy`); the head follows it.
    pub fn put_audit_row(&mut self, row: &crate::store::copy::AuditRow) -> Result<(), StoreError> {
        super::dump::put_audit_row(&self.tx, row).map_err(|e| self.err(e))?;
        self.head.audit_seq = row.seq;
        self.head.audit_hash = row.hash.clone();
        Ok(())
    }

    pub fn mark_purge(&mut self, seq: u64) -> Result<(), StoreError> {
        trail::mark_purge(&self.tx, seq).map_err(|e| self.err(e))
    }

    pub fn put_answer(&mut self, row: &crate::store::copy::AnswerRow) -> Result<(), StoreError> {
        super::dump::put_answer(&self.tx, row).map_err(|e| self.err(e))
    }

    /// Writes an event at its own seq (`store copy`).
    pub fn put_event(&mut self, event: &Event) -> Result<(), StoreError> {
        entities::insert_event(&self.tx, event).map_err(|e| self.err(e))
    }

    /// The head this transaction commits, whole (`store copy`: the source's).
    pub fn set_head(&mut self, head: &Head) {
        self.head = head.clone();
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

    pub fn commit(self) -> Result<Head, StoreError> {
        let location = self.location.clone();
        if self.inline_index {
            entities::put_meta(&self.tx, "fts_upto", &self.head.audit_seq)
                .map_err(|e| StoreError::from_sqlite(e, &location))?;
        }
        entities::put_head(&self.tx, &self.head)
            .map_err(|e| StoreError::from_sqlite(e, &location))?;
        if self.head.audit_seq != self.began_at_audit {
            entities::put_high_water(&self.tx, self.head.audit_seq, &self.head.audit_hash)
                .map_err(|e| StoreError::from_sqlite(e, &location))?;
        }
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

/// Where a write's changes go: a transaction of its own, or a savepoint inside a group's (which
/// commits them with the group). Dropped without `commit`, either undoes exactly this write.
enum Scope<'a> {
    Own(rusqlite::Transaction<'a>),
    InGroup(rusqlite::Savepoint<'a>),
}

impl Scope<'_> {
    fn commit(self) -> rusqlite::Result<()> {
        match self {
            Scope::Own(tx) => tx.commit(),
            Scope::InGroup(savepoint) => savepoint.commit(),
        }
    }
}

impl std::ops::Deref for Scope<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        match self {
            Scope::Own(tx) => tx,
            Scope::InGroup(savepoint) => savepoint,
        }
    }
}
