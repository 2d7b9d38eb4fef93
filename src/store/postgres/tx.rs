//! One PostgreSQL write transaction: READ COMMITTED, the head row taken `FOR UPDATE` first, then
//! entity upserts, audit appends and events, which commit or vanish together.

use std::cell::RefCell;

use deadpool_postgres::{ClientWrapper, Object};
use futures::future::BoxFuture;

use super::error::PgError;
use super::own::{Cached, Own};
use super::pipeline::{Pipeline, all_in_order};
use super::{DOORBELL, Shared, entities, trail};
use crate::model::{
    AuditDraft, AuditRecord, Change, Event, Ids, LiveWindow, Metrics, State, Timestamp,
};
use crate::protocol::{IdempotencyKey, RecordedAnswer};
use crate::store::chain::{Sealed, seal};
use crate::store::{Ahead, Chained, Chainer, ClockMode, Head, Pruned, StoreError};

pub struct PgWriteTx<'a> {
    shared: &'a Shared,
    /// The connection holding the transaction; taken by `commit`.
    conn: Option<Conn<'a>>,
    head: Head,
    began_at_seq: u64,
    /// Writes not sent yet: they go before the next read, or with the commit.
    queued: RefCell<Pipeline>,
    /// What was read with the head's lock, until used.
    fetched: RefCell<Option<Box<Fetched>>>,
}

/// Where a transaction runs: on the calling thread's own session (the engine's thread), or on
/// a pooled connection driven by the store's runtime.
enum Conn<'a> {
    Own(&'a Own),
    Pooled(Box<Object>),
}

/// What `begin` read under the head's lock, for the writer that named it.
struct Fetched {
    since: u64,
    events: Option<Option<Vec<Event>>>,
    metrics: Metrics,
    keys: Vec<(String, String)>,
    answers: trail::Answers,
}

/// One answer of `begin`'s round trip.
enum Began {
    Begun,
    Head(Head),
    Events(Option<Vec<Event>>),
    Metrics(Metrics),
    Answers(trail::Answers),
}

/// Runs the future `$body` to its end with `$c` the connection of `$conn`: on the calling
/// thread for its own session, on the store's runtime for a pooled one.
macro_rules! on {
    ($shared:expr, $conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            Conn::Own(own) => {
                let $c: &Own = own;
                own.run($body)
            }
            Conn::Pooled(object) => {
                let $c: &ClientWrapper = object;
                $shared.block($body)
            }
        }
    };
}

/// Runs the future `$body`, with `$c` the transaction's connection, after the writes queued
/// so far (a read in a transaction sees the transaction's writes).
macro_rules! step {
    ($tx:expr, |$c:ident| $body:expr) => {{
        let tx = &$tx;
        let queued = tx.queued.take();
        on!(
            tx.shared,
            tx.conn.as_ref().expect("open until commit"),
            |$c| async {
                if !queued.is_empty() {
                    queued.send($c, &[], &[]).await?;
                }
                $body.await
            }
        )
        .map_err(|e: PgError| tx.shared.err(e))
    }};
}

/// BEGIN, the head's lock and what the writer named ahead, in one round trip; rolled back
/// when any of it fails.
async fn begin_on(c: &impl Cached, ahead: &Ahead) -> Result<(Head, Fetched), PgError> {
    // Prepared first (the cache answers after a connection's first time), so that every
    // request below goes out in this order, the reads behind the lock.
    for sql in [
        entities::HEAD_FOR_UPDATE,
        entities::EVENTS_AFTER,
        entities::META,
        trail::ANSWERS,
    ] {
        c.prepared(sql).await?;
    }
    let asked: Vec<BoxFuture<'_, Result<Began, PgError>>> = vec![
        Box::pin(async {
            c.batch_execute("BEGIN ISOLATION LEVEL READ COMMITTED")
                .await?;
            Ok(Began::Begun)
        }),
        Box::pin(async { entities::head(c, true).await.map(Began::Head) }),
        Box::pin(async {
            entities::events_since(c, ahead.seq, usize::MAX >> 1)
                .await
                .map(Began::Events)
        }),
        Box::pin(async {
            Ok(Began::Metrics(
                entities::get_meta(c, "metrics").await?.unwrap_or_default(),
            ))
        }),
        Box::pin(async { trail::answers(c, &ahead.keys).await.map(Began::Answers) }),
    ];
    let mut fetched = Fetched {
        since: ahead.seq,
        events: None,
        metrics: Metrics::default(),
        keys: ahead.keys.clone(),
        answers: Default::default(),
    };
    let answers = match all_in_order(asked).await {
        Ok(answers) => answers,
        Err(e) => {
            let _ = c.batch_execute("ROLLBACK").await;
            return Err(e);
        }
    };
    let mut head = None;
    for answer in answers {
        match answer {
            Began::Begun => {}
            Began::Head(h) => head = Some(h),
            Began::Events(events) => fetched.events = Some(events),
            Began::Metrics(metrics) => fetched.metrics = metrics,
            Began::Answers(found) => fetched.answers = found,
        }
    }
    match head {
        Some(head) => Ok((head, fetched)),
        None => {
            let _ = c.batch_execute("ROLLBACK").await;
            Err(PgError::Decode("no head row".into()))
        }
    }
}

/// Ends a transaction that will not commit, so the connection is clean for the next; one that
/// cannot roll back is not used again.
fn roll_back(shared: &Shared, conn: Conn<'_>) {
    let rolled = on!(shared, &conn, |c| async move {
        c.batch_execute("ROLLBACK").await
    });
    if rolled.is_err() {
        match conn {
            Conn::Own(own) => own.discard(),
            Conn::Pooled(object) => drop(Object::take(*object)),
        }
    }
}

impl<'a> PgWriteTx<'a> {
    /// BEGIN, the head's lock and what the writer named ahead go out together: one round trip.
    /// READ COMMITTED gives each statement a snapshot of its own, so the reads behind the lock
    /// see everything committed before the lock was granted. `own` is the calling thread's
    /// session, when it has one.
    pub(super) fn begin(
        shared: &'a Shared,
        own: Option<&'a Own>,
        ahead: &Ahead,
    ) -> Result<PgWriteTx<'a>, StoreError> {
        let conn = match own {
            Some(own) => Conn::Own(own),
            None => Conn::Pooled(Box::new(
                shared
                    .block(shared.pool.get())
                    .map_err(|e| shared.err(e.into()))?,
            )),
        };
        let (head, fetched) =
            on!(shared, &conn, |c| begin_on(c, ahead)).map_err(|e| shared.err(e))?;
        Ok(PgWriteTx {
            shared,
            conn: Some(conn),
            began_at_seq: head.event_seq,
            head,
            queued: RefCell::default(),
            fetched: RefCell::new(Some(Box::new(fetched))),
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
        if let Some(fetched) = self.fetched.borrow_mut().as_mut()
            && fetched.since == since
            && let Some(events) = fetched.events.take()
        {
            return Ok(events);
        }
        step!(self, |c| entities::events_since(c, since, usize::MAX >> 1))
    }

    /// The metrics as committed before this transaction.
    pub fn metrics(&self) -> Result<Metrics, StoreError> {
        if let Some(fetched) = self.fetched.borrow().as_ref() {
            return Ok(fetched.metrics.clone());
        }
        step!(self, |c| async {
            Ok(entities::get_meta(c, "metrics").await?.unwrap_or_default())
        })
    }

    pub fn put(&mut self, change: &Change) -> Result<(), StoreError> {
        entities::put(self.queued.get_mut(), change);
        Ok(())
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
        trail::insert(self.queued.get_mut(), &record, body, body_sha);
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
        entities::insert_event(self.queued.get_mut(), &event);
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
        trail::mark_purge(self.queued.get_mut(), record.seq);
        pruned.purge_record = Some(record.seq);
        Ok(record)
    }

    pub fn recorded_answers(
        &self,
        keys: &[(&str, &str)],
        since: Timestamp,
    ) -> Result<Vec<Option<RecordedAnswer>>, StoreError> {
        if let Some(fetched) = self.fetched.borrow().as_ref()
            && keys
                .iter()
                .all(|(caller, key)| fetched.keys.iter().any(|(c, k)| c == caller && k == key))
        {
            return Ok(trail::answered_since(&fetched.answers, keys, since));
        }
        let owned: Vec<(String, String)> = keys
            .iter()
            .map(|(caller, key)| (caller.to_string(), key.to_string()))
            .collect();
        let found = step!(self, |c| trail::answers(c, &owned))?;
        Ok(trail::answered_since(&found, keys, since))
    }

    pub fn record_answer(
        &mut self,
        key: &IdempotencyKey,
        status: u16,
        body: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        trail::record_answer(self.queued.get_mut(), key, status, body, at);
        Ok(())
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
        trail::mark_purge(self.queued.get_mut(), seq);
        Ok(())
    }

    pub fn put_answer(&mut self, row: &crate::store::copy::AnswerRow) -> Result<(), StoreError> {
        step!(self, |c| super::dump::put_answer(c, row))
    }

    /// Writes an event at its own seq (`store copy`).
    pub fn put_event(&mut self, event: &Event) -> Result<(), StoreError> {
        entities::insert_event(self.queued.get_mut(), event);
        Ok(())
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
        entities::put_meta(self.queued.get_mut(), "metrics", metrics);
        Ok(())
    }

    /// Sends the queued writes, the head row and `COMMIT` together; then, if events were
    /// appended, rings the doorbell.
    pub fn commit(mut self) -> Result<Head, StoreError> {
        let head = self.head.clone();
        let appended = head.event_seq != self.began_at_seq;
        let mut queued = self.queued.take();
        entities::put_head(&mut queued, &head);
        entities::trim_events(&mut queued, self.began_at_seq, head.event_seq);
        let conn = self.conn.take().expect("open until commit");
        let shared = self.shared;
        // The doorbell is rung after the commit, never inside it: other replicas then read
        // events that are there. It goes out behind the COMMIT without a wait of its own, and
        // its answer is not the commit's: a lost ring costs them one poll.
        let ring = format!("NOTIFY {DOORBELL}");
        let after: &[&str] = if appended { &[&ring] } else { &[] };
        if let Err(e) = on!(shared, &conn, |c| queued.send(c, &["COMMIT"], after)) {
            // A failed commit leaves nothing behind (a COMMIT behind a failed statement rolls
            // back); the connection goes back clean or not at all.
            roll_back(shared, conn);
            return Err(shared.err(e));
        }
        Ok(head)
    }
}

impl Drop for PgWriteTx<'_> {
    /// Dropped without `commit`: roll back, so the connection is clean for the next.
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            roll_back(self.shared, conn);
        }
    }
}
