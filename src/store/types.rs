//! The store's vocabulary, whatever the backend: where it lives, its clock, the head a write
//! starts from, what an audit query asks for, what retention purged.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::model::{ActionType, Classification, Ids, Timestamp};

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

    /// Notes the time of anything written (an event, an audit record).
    pub(super) fn note_time(&mut self, at: Timestamp) {
        if self.last_at.is_none_or(|last| at > last) {
            self.last_at = Some(at);
        }
    }
}

/// What an audit query asks for; every part must hold (terms AND together).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditFilter {
    pub domain: Option<String>,
    pub action_type: Option<ActionType>,
    /// `agent_id` exactly: `agent-17` or `operator:alice`.
    pub agent: Option<String>,
    pub classification: Option<Classification>,
    /// A task id among the record's `related_tasks`.
    pub task: Option<String>,
    /// Records at or after this time.
    pub since: Option<Timestamp>,
    /// Records before this time.
    pub until: Option<Timestamp>,
    /// Free words, all of which must appear in the summary or details.
    pub words: Vec<String>,
    /// Quoted phrases, each of which must appear as written.
    pub phrases: Vec<String>,
    /// Words or phrases (`-word`, `-"some phrase"`) that must not appear.
    pub excluded: Vec<String>,
}

impl AuditFilter {
    /// Whether the query asks anything of the records' text (and so needs the text index).
    pub(super) fn has_text(&self) -> bool {
        !(self.words.is_empty() && self.phrases.is_empty() && self.excluded.is_empty())
    }
}

/// What a retention run purged (or would purge), by class.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Pruned {
    pub by_class: BTreeMap<String, u64>,
    pub dry_run: bool,
}
