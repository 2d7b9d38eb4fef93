//! One PostgreSQL write transaction: READ COMMITTED, the head row taken `FOR UPDATE` first, then
//! entity upserts, audit appends and events, which commit or vanish together.

use deadpool_postgres::{ClientWrapper, Object};

use super::error::PgError;
use super::{DOORBELL, Shared, entities, trail};
use crate::model::{
    AuditDraft, AuditRecord, Change, Event, Ids, LiveWindow, Metrics, State, Timestamp,
};
use crate::protocol::{IdempotencyKey, RecordedAnswer};
use crate::store::chain::{Sealed, seal};
use crate::store::{Chained, Chainer, ClockMode, Head, Pruned, StoreError};

pub struct PgWriteTx<'a> {
    shared: &'a Shared,
    /// The connection holding the transaction; taken by `commit`.
    client: Option<Object>,
    head: Head,
    began_at_seq: u64,
}

/// Runs the future `$body`, with `$c` the transaction's connection, on the store's runtime.
macro_rules! step {
    ($tx:expr, |$c:ident| $body:expr) => {{
        let tx = &$tx;
        let $c: &ClientWrapper = tx.client.as_deref().expect("open until commit");
        tx.shared
            .block($body)
            .map_err(|e: PgError| tx.shared.err(e))
    }};
}

impl<'a> PgWriteTx<'a> {
    pub(super) fn begin(shared: &'a Shared) -> Result<PgWriteTx<'a>, StoreError> {
        let (client, head) = shared
            .block(async {
                let client = shared.pool.get().await?;
                client
                    .batch_execute("BEGIN ISOLATION LEVEL READ COMMITTED")
                    .await?;
                match entities::head(&client, true).await {
                    Ok(head) => Ok((client, head)),
                    Err(e) => {
                        let _ = client.batch_execute("ROLLBACK").await;
                        Err(e)
                    }
                }
            })
            .map_err(|e: PgError| shared.err(e))?;
        Ok(PgWriteTx {
            shared,
            client: Some(client),
            began_at_seq: head.event_seq,
            head,
        })
    }

    pub fn head(&self) -> &Head {
        &self.head
    }

    pub fn load_state(&self, window: &LiveWindow) -> Result<State, StoreError> {
        let head = self.head.clone();
        step!(self, |c| entities::load_state(c, &head, window))
    }

    pub fn events_since(&self, since: u64) -> Result<Option<Vec<Event>>, StoreError> {
        step!(self, |c| entities::events_since(c, since, usize::MAX >> 1))
    }

    pub fn metrics(&self) -> Result<Metrics, StoreError> {
        step!(self, |c| async {
            Ok(entities::get_meta(c, "metrics").await?.unwrap_or_default())
        })
    }

    pub fn put(&mut self, change: &Change) -> Result<(), StoreError> {
        step!(self, |c| entities::put(c, change))
    }

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
        step!(self, |c| trail::insert(c, &record, &body, &body_sha))?;
        self.head.note_record(&record);
        Ok(record)
    }

    pub fn append_chained(&mut self, batch: &Chained) -> Result<(), StoreError> {
        self.head.accepts(batch, &self.shared.location)?;
        step!(self, |c| trail::append_chained(c, batch))?;
        self.head.note_chained(batch);
        Ok(())
    }

    pub fn chainer(&self) -> Result<Chainer, StoreError> {
        self.head.chainer(&self.shared.location)
    }

    pub fn append_event(
        &mut self,
        at: Timestamp,
        cause: &str,
        changes: Vec<Change>,
    ) -> Result<Event, StoreError> {
        // A failed insert fails the transaction, which is dropped with its head.
        let event = self.head.next_event(at, cause, changes);
        step!(self, |c| entities::insert_event(c, &event))?;
        Ok(event)
    }

    pub fn prune_audit(&mut self, now: Timestamp, dry_run: bool) -> Result<Pruned, StoreError> {
        step!(self, |c| trail::prune(c, now, dry_run))
    }

    pub fn record_purge(
        &mut self,
        id: uuid::Uuid,
        at: Timestamp,
        actor: &str,
        pruned: &mut Pruned,
    ) -> Result<AuditRecord, StoreError> {
        let draft = crate::store::chain::purge_draft(actor, pruned);
        let record = self.append_audit_via(id, at, draft, None)?;
        step!(self, |c| trail::mark_purge(c, record.seq))?;
        pruned.purge_record = Some(record.seq);
        Ok(record)
    }

    pub fn recorded_answer(
        &self,
        caller: &str,
        key: &str,
        since: Timestamp,
    ) -> Result<Option<RecordedAnswer>, StoreError> {
        step!(self, |c| trail::find_answer(c, caller, key, since))
    }

    pub fn record_answer(
        &mut self,
        key: &IdempotencyKey,
        status: u16,
        body: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        step!(self, |c| trail::record_answer(c, key, status, body, at))
    }

    pub fn prune_answers(&mut self, before: Timestamp) -> Result<u64, StoreError> {
        step!(self, |c| trail::prune_answers(c, before))
    }

    pub fn note_origin(
        &mut self,
        first_seq: u64,
        last_seq: u64,
        file_sha256: &str,
        first_line: u64,
    ) -> Result<(), StoreError> {
        step!(self, |c| trail::note_origin(
            c,
            first_seq,
            last_seq,
            file_sha256,
            first_line
        ))
    }

    pub fn first_duplicate_id(&self, first: u64, last: u64) -> Result<Option<u64>, StoreError> {
        step!(self, |c| trail::first_duplicate_id(c, first, last))
    }

    pub fn find_id(&self, p: &crate::store::Prepared) -> Result<Option<(u64, bool)>, StoreError> {
        step!(self, |c| trail::find_id(c, p))
    }

    /// Appends records as stored, a page at a time (`store copy`).
    pub fn put_audit_rows(
        &mut self,
        rows: &[crate::store::copy::AuditRow],
    ) -> Result<(), StoreError> {
        let Some(last) = rows.last() else {
            return Ok(());
        };
        step!(self, |c| super::dump::put_audit_rows(c, rows))?;
        self.head.audit_seq = last.seq;
        self.head.audit_hash = last.hash.clone();
        Ok(())
    }

    pub fn mark_purge(&mut self, seq: u64) -> Result<(), StoreError> {
        step!(self, |c| trail::mark_purge(c, seq))
    }

    pub fn put_answer(&mut self, row: &crate::store::copy::AnswerRow) -> Result<(), StoreError> {
        step!(self, |c| super::dump::put_answer(c, row))
    }

    /// Writes an event at its own seq (`store copy`).
    pub fn put_event(&mut self, event: &Event) -> Result<(), StoreError> {
        step!(self, |c| entities::insert_event(c, event))
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
        step!(self, |c| entities::put_meta(c, "metrics", metrics))
    }

    /// Writes the head row and commits; then, if events were appended, rings the doorbell.
    pub fn commit(mut self) -> Result<Head, StoreError> {
        let head = self.head.clone();
        let appended = head.event_seq != self.began_at_seq;
        let began = self.began_at_seq;
        let client = self.client.take().expect("open until commit");
        let shared = self.shared;
        shared
            .block(async {
                let done = async {
                    entities::put_head(&client, &head).await?;
                    entities::trim_events(&client, began, head.event_seq).await?;
                    client.batch_execute("COMMIT").await?;
                    Ok::<(), PgError>(())
                }
                .await;
                if let Err(e) = done {
                    // A failed commit leaves nothing behind; the connection goes back clean
                    // or not at all.
                    if client.batch_execute("ROLLBACK").await.is_err() {
                        drop(Object::take(client));
                    }
                    return Err(e);
                }
                if appended {
                    // The doorbell is rung after the commit, never inside it: other replicas
                    // then read events that are there. A lost ring costs them one poll.
                    let _ = client.batch_execute(&format!("NOTIFY {DOORBELL}")).await;
                }
                Ok(())
            })
            .map_err(|e| shared.err(e))?;
        Ok(head)
    }
}

impl Drop for PgWriteTx<'_> {
    /// Dropped without `commit`: roll back, so the connection returns to the pool clean; one
    /// that cannot roll back is closed instead.
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            self.shared.block(async move {
                if client.batch_execute("ROLLBACK").await.is_err() {
                    drop(Object::take(client));
                }
            });
        }
    }
}
