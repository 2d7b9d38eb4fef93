//! The store's vocabulary, whatever the backend: where it lives, its clock, the head a write
//! starts from, what an audit query asks for, what retention purged.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::model::{Ids, Timestamp};

/// Where the store lives, for messages and `doctor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    File(PathBuf),
    Memory,
    /// A PostgreSQL database, as `postgres://user@host:port/db` (never with a password).
    Postgres(String),
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::File(p) => write!(f, "{}", p.display()),
            Location::Memory => f.write_str("(in memory)"),
            Location::Postgres(url) => f.write_str(url),
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

/// What a writer will read under the head's lock, named when it asks for the lock: a database
/// then answers them in the lock's own round trip. The events after `seq` (the writer's), the
/// metrics, and the answers recorded under the idempotency keys it is about to run.
#[derive(Debug, Clone, Default)]
pub struct Ahead {
    pub seq: u64,
    pub keys: Vec<(String, String)>,
}

/// What other writers committed after a seq (see [`crate::store::Store::missed`]); `metrics`
/// is read only when there are events.
#[derive(Debug, Clone)]
pub struct Missed {
    pub head: Head,
    pub events: Option<Vec<crate::model::Event>>,
    pub metrics: Option<crate::model::Metrics>,
}

/// What a write transaction starts from: the ends of the event log and the audit chain.
#[derive(Debug, Clone, PartialEq)]
pub struct Head {
    pub event_seq: u64,
    pub audit_seq: u64,
    pub audit_hash: String,
    pub ids: Ids,
    /// The latest time any record was written at; time never runs backwards in the trail.
    pub last_at: Option<Timestamp>,
    pub clock: ClockMode,
    /// No audit record was ever appended with a time before the one before it; then a time
    /// window maps to a seq range, and windowed searches need not sort.
    pub ts_monotone: bool,
}

impl Head {
    /// Notes an audit record's time: one before the latest time written means the trail's
    /// times no longer only grow.
    pub(super) fn note_audit_time(&mut self, at: Timestamp) {
        if self.last_at.is_some_and(|last| at < last) {
            self.ts_monotone = false;
        }
        self.note_time(at);
    }

    /// Moves the trail's end to a record just appended.
    pub(super) fn note_record(&mut self, record: &crate::model::AuditRecord) {
        self.audit_seq = record.seq;
        self.audit_hash = record.hash.clone();
        self.note_audit_time(record.timestamp);
    }

    /// Refuses records chained after another end of the trail than this one.
    pub(super) fn accepts(
        &self,
        batch: &super::Chained,
        location: &Location,
    ) -> Result<(), super::StoreError> {
        if batch.first_seq == self.audit_seq + 1 && batch.prev[..] == *self.audit_hash.as_bytes() {
            return Ok(());
        }
        Err(super::StoreError::Unusable {
            location: location.clone(),
            why: format!(
                "records chained after seq {} were offered at seq {}",
                batch.first_seq - 1,
                self.audit_seq
            ),
        })
    }

    /// Moves the trail's end past a chained batch just appended.
    pub(super) fn note_chained(&mut self, batch: &super::Chained) {
        if let Some(last) = batch.hashes.last() {
            self.audit_seq = batch.first_seq + batch.hashes.len() as u64 - 1;
            self.audit_hash = super::chain::hex_str(last).to_owned();
        }
        for p in &batch.records {
            self.note_audit_time(p.at());
        }
    }

    /// A chainer for records appended after this end of the trail.
    pub(super) fn chainer(&self, location: &Location) -> Result<super::Chainer, super::StoreError> {
        super::Chainer::after(self.audit_seq, &self.audit_hash).ok_or_else(|| {
            super::StoreError::Corrupt {
                location: location.clone(),
                detail: format!(
                    "the audit chain ends in a malformed hash {:?}",
                    self.audit_hash
                ),
            }
        })
    }

    /// The next event of the log, and the head moved past it.
    pub(super) fn next_event(
        &mut self,
        at: Timestamp,
        cause: &str,
        changes: Vec<crate::model::Change>,
    ) -> crate::model::Event {
        self.event_seq += 1;
        self.note_time(at);
        crate::model::Event {
            seq: self.event_seq,
            at,
            cause: cause.to_string(),
            changes,
        }
    }

    /// Notes the time of anything written (an event, an audit record).
    pub(super) fn note_time(&mut self, at: Timestamp) {
        if self.last_at.is_none_or(|last| at > last) {
            self.last_at = Some(at);
        }
    }
}

/// What a retention run purged (or would purge), by class.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Pruned {
    pub by_class: BTreeMap<String, u64>,
    /// The classes with bodies purged: the cutoff and the seqs (what the purge record names).
    pub classes: super::chain::PurgeNote,
    /// The seq of the purge record written in the same transaction.
    pub purge_record: Option<u64>,
    pub dry_run: bool,
}

/// The head as a backend keeps it beside the trail's end: the event log's end, the ids handed
/// out, the latest time and the clock (the trail's end is read from the trail, or its row).
#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct StoredHead {
    pub event_seq: u64,
    pub ids: Ids,
    pub last_at: Option<Timestamp>,
    pub clock: ClockMode,
    #[serde(default = "monotone")]
    pub ts_monotone: bool,
}

fn monotone() -> bool {
    true
}

impl StoredHead {
    pub fn of(head: &Head) -> StoredHead {
        StoredHead {
            event_seq: head.event_seq,
            ids: head.ids.clone(),
            last_at: head.last_at,
            clock: head.clock,
            ts_monotone: head.ts_monotone,
        }
    }

    /// The whole head, with the trail's end as found.
    pub fn with_trail(self, audit_seq: u64, audit_hash: String) -> Head {
        Head {
            event_seq: self.event_seq,
            audit_seq,
            audit_hash,
            ids: self.ids,
            last_at: self.last_at,
            clock: self.clock,
            ts_monotone: self.ts_monotone,
        }
    }
}
