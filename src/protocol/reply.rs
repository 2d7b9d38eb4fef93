//! What a command returns to its caller besides the event.

use serde::{Deserialize, Serialize};

use crate::model::{Agent, Approval, AuditRecord, Incident, Rollout, Task};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Reply {
    Done,
    Created {
        id: String,
    },
    Approval(Box<Approval>),
    Incident(Box<Incident>),
    Rollout(Box<Rollout>),
    Agent(Box<Agent>),
    /// The task leased to the agent, if there was work.
    Lease(Option<Box<Task>>),
    /// A revealed record, whole (its reveal is already in the trail).
    Record(Box<AuditRecord>),
}

/// A committed command: its reply, and where it landed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub reply: Reply,
    pub event_seq: u64,
    pub audit_seqs: Vec<u64>,
}

/// Why a command did not go through, as every side classifies it: the HTTP status, the CLI's
/// exit code and the console's toast all follow from this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    NotFound,
    /// The operator's role may not do this (authority).
    Denied,
    /// The rules refuse it in the item's present state, or for this caller.
    Refused,
    /// The item moved on: already decided, a stale version.
    Conflict {
        current_version: Option<u64>,
    },
    Invalid,
    /// The store or the orchestrator could not take it; nothing changed, retry.
    Unavailable,
}
