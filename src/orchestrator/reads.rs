//! Reads: audit searches and counts, listings and single items. They run on the store's read
//! connections on a blocking thread of their own, so a long search never queues a decision
//! behind it; a store in memory has no second connection, and its engine answers them.

use chrono::Utc;

use super::{Orchestrator, OrchestratorError, Request};
use crate::engine::Engine;
use serde_json::Value;

use crate::model::{
    Agent, Approval, AuditRecord, Incident, Queue, Rollout, Task, Timestamp, truncate,
};
use crate::query::{Item, ItemKind, Listing};
use crate::store::{Reader, Store, StoreError};

/// Where a read runs: a read connection, or the engine's own.
pub enum Source<'a> {
    Reader(&'a Reader),
    Store(&'a Store),
}

impl Source<'_> {
    pub fn search_audit(
        &self,
        filter: &crate::query::AuditFilter,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        match self {
            Source::Reader(r) => r.search_audit(filter, before, limit),
            Source::Store(s) => s.search_audit(filter, before, limit),
        }
    }

    pub fn count_audit(
        &self,
        filter: &crate::query::AuditFilter,
        cap: u64,
    ) -> Result<(u64, bool), StoreError> {
        match self {
            Source::Reader(r) => r.count_audit(filter, cap),
            Source::Store(s) => s.count_audit(filter, cap),
        }
    }

    pub fn list<T: Item>(&self, listing: &Listing) -> Result<Vec<T>, StoreError> {
        match self {
            Source::Reader(r) => r.list(listing),
            Source::Store(s) => s.list(listing),
        }
    }

    pub fn item<T: Item>(&self, id: &str) -> Result<Option<T>, StoreError> {
        match self {
            Source::Reader(r) => r.item(id),
            Source::Store(s) => s.item(id),
        }
    }
}

impl Orchestrator {
    /// Runs `read` on a read connection (a read thread), or on the engine's thread when the
    /// store has no other; `now` is the orchestrator's time, for relative times in queries.
    async fn read<T: Send + 'static>(
        &self,
        read: impl FnOnce(Source<'_>, Timestamp) -> Result<T, OrchestratorError> + Send + 'static,
    ) -> Result<T, OrchestratorError> {
        if let Some(pool) = &self.reads {
            let now = self.now();
            let (tx, rx) = tokio::sync::oneshot::channel();
            let job = Box::new(move |reader: &Reader| {
                let _ = tx.send(read(Source::Reader(reader), now));
            });
            if !pool.run(job) {
                return Err(OrchestratorError::Stopped);
            }
            return rx.await.map_err(|_| OrchestratorError::Stopped)?;
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job = Box::new(move |engine: &Engine| {
            let _ = tx.send(read(Source::Store(engine.store()), engine.now()));
        });
        self.send(Request::Read(job)).await?;
        match rx.await {
            Ok(answer) => answer,
            Err(_) => Err(self.stopped().await),
        }
    }

    /// Newest first, strictly before `cursor`; the query is parsed against the orchestrator's
    /// own clock, so `since:2h` means the same on every console. Sensitive bodies withheld.
    pub async fn search_audit(
        &self,
        query: &str,
        cursor: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, OrchestratorError> {
        let query = query.to_string();
        self.read(move |source, now| {
            let filter = crate::query::parse(&query, now)?;
            let records = source.search_audit(&filter, cursor, limit)?;
            Ok(records.into_iter().map(AuditRecord::withheld).collect())
        })
        .await
    }

    /// How many records match, exactly up to `cap` (then `(cap, true)`).
    pub async fn count_audit(
        &self,
        query: &str,
        cap: u64,
    ) -> Result<(u64, bool), OrchestratorError> {
        let query = query.to_string();
        self.read(move |source, now| {
            let filter = crate::query::parse(&query, now)?;
            Ok(source.count_audit(&filter, cap)?)
        })
        .await
    }

    /// Items of one kind from the store by index, history included.
    pub async fn list<T: Item>(&self, listing: Listing) -> Result<Vec<T>, OrchestratorError> {
        self.read(move |source, _| Ok(source.list::<T>(&listing)?))
            .await
    }

    /// Items of the listing's kind as JSON, whatever the kind (the one place a kind read from a
    /// path or a command meets its type); encoded on the read thread too.
    pub async fn list_json(&self, listing: Listing) -> Result<Value, OrchestratorError> {
        fn json<T: Item>(source: &Source<'_>, listing: &Listing) -> Result<Value, StoreError> {
            let items = source.list::<T>(listing)?;
            Ok(serde_json::to_value(items).expect("model types always serialise"))
        }
        self.read(move |source, _| {
            Ok(match listing.kind {
                ItemKind::Agents => json::<Agent>(&source, &listing)?,
                ItemKind::Queues => json::<Queue>(&source, &listing)?,
                ItemKind::Tasks => json::<Task>(&source, &listing)?,
                ItemKind::Incidents => json::<Incident>(&source, &listing)?,
                ItemKind::Approvals => json::<Approval>(&source, &listing)?,
                ItemKind::Rollouts => json::<Rollout>(&source, &listing)?,
            })
        })
        .await
    }

    /// One item of `kind` by id, wherever it is in its life, as JSON.
    pub async fn item_json(
        &self,
        kind: ItemKind,
        id: &str,
    ) -> Result<Option<Value>, OrchestratorError> {
        fn json<T: Item>(source: &Source<'_>, id: &str) -> Result<Option<Value>, StoreError> {
            Ok(source
                .item::<T>(id)?
                .map(|item| serde_json::to_value(item).expect("model types always serialise")))
        }
        let id = id.to_string();
        self.read(move |source, _| {
            Ok(match kind {
                ItemKind::Agents => json::<Agent>(&source, &id)?,
                ItemKind::Queues => json::<Queue>(&source, &id)?,
                ItemKind::Tasks => json::<Task>(&source, &id)?,
                ItemKind::Incidents => json::<Incident>(&source, &id)?,
                ItemKind::Approvals => json::<Approval>(&source, &id)?,
                ItemKind::Rollouts => json::<Rollout>(&source, &id)?,
            })
        })
        .await
    }

    /// The orchestrator's time (a frozen store's end, else the wall clock).
    pub fn now(&self) -> Timestamp {
        self.frozen_at.unwrap_or_else(|| truncate(Utc::now()))
    }
}
