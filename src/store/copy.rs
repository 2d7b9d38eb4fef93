//! Moving a store between backends (`opsdeck store copy`): every row as stored, in one
//! transaction on the destination, then the destination's chain verified and its ends compared
//! with the source's. Records are copied as stored (a purged body stays purged, every hash
//! as it was), so the copy proves what the original proved.

use serde::de::DeserializeOwned;

use super::{Head, Store, StoreError};
use crate::model::{Change, Event};

/// A table of items, copied a page at a time by key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Agents,
    Tasks,
    Queues,
    Incidents,
    Approvals,
    Rollouts,
    Alerts,
    Domains,
}

impl Table {
    pub const ALL: [Table; 8] = [
        Table::Agents,
        Table::Tasks,
        Table::Queues,
        Table::Incidents,
        Table::Approvals,
        Table::Rollouts,
        Table::Alerts,
        Table::Domains,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Table::Agents => "agents",
            Table::Tasks => "tasks",
            Table::Queues => "queues",
            Table::Incidents => "incidents",
            Table::Approvals => "approvals",
            Table::Rollouts => "rollouts",
            Table::Alerts => "alerts",
            Table::Domains => "domains",
        }
    }

    /// The key column.
    pub fn key(self) -> &'static str {
        match self {
            Table::Queues | Table::Domains => "name",
            Table::Alerts => "key",
            _ => "id",
        }
    }

    /// A row's body (its heartbeat and lease laid over it) as the change that writes it.
    pub fn change(self, key: &str, body: &str) -> Result<Change, String> {
        fn item<T: DeserializeOwned>(key: &str, body: &str) -> Result<T, String> {
            serde_json::from_str(body).map_err(|e| format!("row {key:?} cannot be read: {e}"))
        }
        Ok(match self {
            Table::Agents => Change::Agent(item(key, body)?),
            Table::Tasks => Change::Task(item(key, body)?),
            Table::Queues => Change::Queue(item(key, body)?),
            Table::Incidents => Change::Incident(item(key, body)?),
            Table::Approvals => Change::Approval(item(key, body)?),
            Table::Rollouts => Change::Rollout(item(key, body)?),
            Table::Alerts => Change::Alert(item(key, body)?),
            Table::Domains => Change::Domain(item(key, body)?),
        })
    }
}

/// One audit record as stored: every column, the body as its bytes (or purged).
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRow {
    pub seq: u64,
    pub id: String,
    pub ts: String,
    pub agent_id: String,
    pub action_type: String,
    pub domain: String,
    pub classification: String,
    pub retention: String,
    pub body: Option<String>,
    pub body_sha256: String,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditRow {
    /// The tasks and text a backend derives from the body (none once purged).
    pub(super) fn derived(&self) -> (Vec<String>, Option<(String, String)>) {
        let Some(body) = self
            .body
            .as_deref()
            .and_then(|b| serde_json::from_str::<super::chain::Body>(b).ok())
        else {
            return (Vec::new(), None);
        };
        let details = super::chain::details_text(&body.details);
        (body.related_tasks, Some((body.summary, details)))
    }
}

/// An idempotency answer as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct AnswerRow {
    pub caller: String,
    pub key: String,
    pub fingerprint: String,
    pub status: i64,
    pub answer: String,
    pub at: String,
}

/// Where a run of imported records came from.
#[derive(Debug, Clone, PartialEq)]
pub struct OriginRow {
    pub first_seq: u64,
    pub last_seq: u64,
    pub file_sha256: String,
    pub first_line: u64,
}

/// What a copy moved, and what the destination proved on arrival.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Copied {
    pub items: std::collections::BTreeMap<String, u64>,
    pub audit_records: u64,
    pub events: u64,
    pub answers: u64,
    /// The destination's chain, recomputed: records verified and its head hash (the source's).
    pub verified: u64,
    pub head_hash: String,
}

const PAGE: usize = 2_000;

/// Why a copy did not happen (nothing was written to the destination).
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "the destination already holds a store ({0}); copy into a new file or an empty database"
    )]
    NotEmpty(String),
    #[error(
        "the source's audit chain is broken at seq {seq} ({reason}); nothing was copied: run `opsdeck audit verify` on it"
    )]
    SourceBroken { seq: u64, reason: String },
    #[error("{0}")]
    Unreadable(String),
    #[error("the copy does not verify: {0}; the destination was rolled back")]
    Mismatch(String),
}

/// Copies every row of `from` into `to` (which must be empty) in one transaction, then checks
/// the destination's chain and counts against the source's.
pub fn copy(from: &Store, to: &mut Store) -> Result<Copied, CopyError> {
    if !to.is_empty()? || to.entity_page(Table::Agents, 0, 1)?.len() == 1 {
        return Err(CopyError::NotEmpty(to.location().to_string()));
    }
    let source = from.verify_audit()?;
    if let Some(bad) = &source.first_bad {
        return Err(CopyError::SourceBroken {
            seq: bad.seq,
            reason: bad.reason.clone(),
        });
    }
    let head: Head = from.head()?;
    let mut copied = Copied::default();
    let mut write = to.write()?;
    for table in Table::ALL {
        // In the source's own order (its rowid or position), which listings break ties by.
        let mut after = 0;
        let mut n = 0;
        loop {
            let page = from.entity_page(table, after, PAGE)?;
            let Some((last, _, _)) = page.last() else {
                break;
            };
            after = *last;
            for (_, key, body) in &page {
                let change = table.change(key, body).map_err(|e| {
                    CopyError::Unreadable(format!("table {} of the source: {e}", table.name()))
                })?;
                write.put(&change)?;
            }
            n += page.len() as u64;
        }
        copied.items.insert(table.name().to_string(), n);
    }
    let mut after = 0;
    loop {
        let rows = from.audit_rows(after, PAGE)?;
        let Some(last) = rows.last() else { break };
        after = last.seq;
        write.put_audit_rows(&rows)?;
        copied.audit_records += rows.len() as u64;
    }
    for seq in from.purge_seqs()? {
        write.mark_purge(seq)?;
    }
    for o in from.origins()? {
        write.note_origin(o.first_seq, o.last_seq, &o.file_sha256, o.first_line)?;
    }
    let mut after = (String::new(), String::new());
    loop {
        let rows = from.answer_rows(&after, PAGE)?;
        let Some(last) = rows.last() else { break };
        after = (last.caller.clone(), last.key.clone());
        for row in &rows {
            write.put_answer(row)?;
        }
        copied.answers += rows.len() as u64;
    }
    // The events the source still keeps (at least the window behind its head), so consoles
    // resume across the move.
    let first = head.event_seq.saturating_sub(super::EVENT_WINDOW);
    let events: Vec<Event> = from
        .events_since(first, usize::MAX >> 1)?
        .unwrap_or_default();
    for event in &events {
        write.put_event(event)?;
    }
    copied.events = events.len() as u64;
    write.put_metrics(&from.metrics()?)?;
    write.set_head(&head);
    write.commit()?;
    let arrived = to.verify_audit()?;
    let check = |ok: bool, what: String| {
        if ok {
            Ok(())
        } else {
            Err(CopyError::Mismatch(what))
        }
    };
    check(
        arrived.first_bad.is_none(),
        format!("the copied chain breaks at {:?}", arrived.first_bad),
    )?;
    check(
        arrived.verified == source.verified && arrived.head_hash == source.head_hash,
        format!(
            "{} records ending in {} arrived for {} ending in {}",
            arrived.verified, arrived.head_hash, source.verified, source.head_hash
        ),
    )?;
    check(
        to.head()? == head,
        "the destination's head is not the source's".into(),
    )?;
    copied.verified = arrived.verified;
    copied.head_hash = arrived.head_hash;
    Ok(copied)
}
