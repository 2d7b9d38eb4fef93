//! The boundary the console talks to: one enum, the same methods whether the orchestrator runs
//! in this process or behind `opsdeck serve`.

mod agent;
mod embedded;
mod remote;
mod replicas;

use std::time::Duration;

use serde::Serialize;
use tokio::sync::mpsc;

pub use crate::config::context::Target;
pub use agent::AgentLink;
pub use embedded::{Embedded, EmbeddedOptions};
pub use remote::{Remote, backoff};

use crate::model::{AuditRecord, Event, Snapshot, Timestamp};
use crate::orchestrator::OrchestratorError;
use crate::protocol::{Command, Failure, Outcome};
use crate::query::{Item, ItemKind, Listing};

/// What arrives on a subscription.
#[derive(Debug, Clone, PartialEq)]
pub enum LinkEvent {
    Event(Box<Event>),
    /// The subscriber fell too far behind: take a fresh snapshot.
    Reset,
    /// A note from the link for the operator (e.g. why the demo fleet is not running).
    Notice(String),
    /// Nothing happened, and the link is alive: the data is still current.
    Heartbeat,
    /// The event stream (re)connected to this replica of the orchestrator (`host:port`), when
    /// the context names several.
    Replica(String),
    /// The link to a remote orchestrator is down; the next try is in `next_in`.
    Reconnecting {
        attempt: u32,
        next_in: Duration,
        down_since: Timestamp,
        why: String,
    },
}

/// Why a request through the link did not go through, in words for a toast.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LinkError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Refused(String),
    #[error("{message}")]
    Conflict {
        message: String,
        current_version: Option<u64>,
    },
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Unavailable(String),
}

impl From<OrchestratorError> for LinkError {
    fn from(e: OrchestratorError) -> Self {
        match e {
            OrchestratorError::Engine(e) => {
                let message = e.to_string();
                match e.failure() {
                    Failure::NotFound => LinkError::NotFound(message),
                    Failure::Conflict { current_version } => LinkError::Conflict {
                        message,
                        current_version,
                    },
                    Failure::Denied | Failure::Refused => LinkError::Refused(message),
                    Failure::Invalid => LinkError::Invalid(message),
                    Failure::Unavailable => LinkError::Unavailable(message),
                }
            }
            OrchestratorError::Query(q) => LinkError::Invalid(q.to_string()),
            other => LinkError::Unavailable(other.to_string()),
        }
    }
}

/// Who the console is, and on what.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LinkInfo {
    /// `embedded` or the remote orchestrator's name.
    pub name: String,
    /// The context chosen with `--context`, if any.
    pub context: Option<String>,
    /// Over the network: the data can go stale.
    pub remote: bool,
    pub operator: String,
    pub role: String,
    /// Where the role comes from, when the operator should know it (embedded: "demo default"
    /// when nothing in the config gives one).
    pub role_note: Option<String>,
    pub read_only: bool,
    /// Set when the orchestrator's time stands still (a store written on a simulated clock).
    pub frozen_at: Option<crate::model::Timestamp>,
    /// The demo fleet runs there: simulated colleagues (`sim:…`) decide and act too.
    pub demo: bool,
    /// The replica in use (`host:port`), when the context names several.
    pub replica: Option<String>,
}

// One link per console or command: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
pub enum Link {
    Embedded(Embedded),
    Remote(Remote),
}

impl Link {
    pub fn info(&self) -> LinkInfo {
        match self {
            Link::Embedded(e) => e.info(),
            Link::Remote(r) => r.info(),
        }
    }

    pub async fn snapshot(&self) -> Result<Snapshot, LinkError> {
        match self {
            Link::Embedded(e) => e.snapshot().await,
            Link::Remote(r) => r.snapshot().await,
        }
    }

    /// Events after `since_seq`, in order, then live ones as they happen.
    pub async fn subscribe(&self, since_seq: u64) -> Result<mpsc::Receiver<LinkEvent>, LinkError> {
        match self {
            Link::Embedded(e) => e.subscribe(since_seq).await,
            Link::Remote(r) => r.subscribe(since_seq).await,
        }
    }

    pub async fn send(&self, command: Command) -> Result<Outcome, LinkError> {
        match self {
            Link::Embedded(e) => e.send(command).await,
            Link::Remote(r) => r.send(command).await,
        }
    }

    /// Tells the orchestrator a dialog is open on `id`: the demo's simulated colleagues leave it
    /// alone for a minute.
    pub async fn claim(&self, id: &str) -> Result<(), LinkError> {
        match self {
            Link::Embedded(e) => e.claim(id).await,
            Link::Remote(r) => r.claim(id).await,
        }
    }

    /// How many records match the query (the audit query language), exactly up to `cap` (`(cap, true)`: more than that).
    pub async fn count_audit(&self, query: &str, cap: u64) -> Result<(u64, bool), LinkError> {
        match self {
            Link::Embedded(e) => e.count_audit(query, cap).await,
            Link::Remote(r) => r.count_audit(query, cap).await,
        }
    }

    /// Items of one kind read from the store by index, history included (see [`Listing`]).
    pub async fn list<T: Item>(&self, listing: Listing) -> Result<Vec<T>, LinkError> {
        match self {
            Link::Embedded(e) => e.list(listing).await,
            Link::Remote(r) => r.list(&listing).await,
        }
    }

    /// One item of `kind` by id, wherever it is in its life, as JSON; `None` when there is none.
    pub async fn item_json(
        &self,
        kind: ItemKind,
        id: &str,
    ) -> Result<Option<serde_json::Value>, LinkError> {
        match self {
            Link::Embedded(e) => e.item_json(kind, id).await,
            Link::Remote(r) => r.item_json(kind, id).await,
        }
    }

    /// The orchestrator's now, for reading relative times (`--since 2h`) as it will.
    pub fn now(&self) -> Timestamp {
        match self {
            Link::Embedded(e) => e.now(),
            // A server on a simulated store says where its time stands still.
            Link::Remote(r) => r
                .info()
                .frozen_at
                .unwrap_or_else(|| crate::model::truncate(chrono::Utc::now())),
        }
    }

    /// Newest first, strictly before `cursor` (a seq) when given.
    pub async fn search_audit(
        &self,
        query: &str,
        cursor: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, LinkError> {
        match self {
            Link::Embedded(e) => e.search_audit(query, cursor, limit).await,
            Link::Remote(r) => r.search_audit(query, cursor, limit).await,
        }
    }
}
