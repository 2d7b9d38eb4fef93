//! The lowered form of an audit query: what every backend's search and count take.

use crate::model::{ActionType, Classification, Timestamp};

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
    pub fn has_text(&self) -> bool {
        !(self.words.is_empty() && self.phrases.is_empty() && self.excluded.is_empty())
    }
}
