//! Human-friendly identifiers: a prefix per entity kind and a number (`APR-12`, `agent-17`).
//!
//! Numbers come from per-kind counters that live in the store, so ids are short, stable across
//! restarts and deterministic in the demo.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    Agent,
    Task,
    Incident,
    Approval,
    Rollout,
}

impl EntityKind {
    pub fn prefix(self) -> &'static str {
        match self {
            EntityKind::Agent => "agent-",
            EntityKind::Task => "T-",
            EntityKind::Incident => "INC-",
            EntityKind::Approval => "APR-",
            EntityKind::Rollout => "RO-",
        }
    }

    pub fn noun(self) -> &'static str {
        match self {
            EntityKind::Agent => "agent",
            EntityKind::Task => "task",
            EntityKind::Incident => "incident",
            EntityKind::Approval => "approval",
            EntityKind::Rollout => "rollout",
        }
    }

    /// The command that lists this kind, for error messages that say where to look.
    pub fn list_command(self) -> &'static str {
        match self {
            EntityKind::Agent => "opsdeck agents",
            EntityKind::Task => "opsdeck queues",
            EntityKind::Incident => "opsdeck incidents",
            EntityKind::Approval => "opsdeck approvals",
            EntityKind::Rollout => "opsdeck rollouts",
        }
    }
}

/// The next number to hand out for each kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ids {
    pub agent: u64,
    pub task: u64,
    pub incident: u64,
    pub approval: u64,
    pub rollout: u64,
}

impl Ids {
    pub fn next(&mut self, kind: EntityKind) -> String {
        let counter = match kind {
            EntityKind::Agent => &mut self.agent,
            EntityKind::Task => &mut self.task,
            EntityKind::Incident => &mut self.incident,
            EntityKind::Approval => &mut self.approval,
            EntityKind::Rollout => &mut self.rollout,
        };
        *counter += 1;
        format!("{}{}", kind.prefix(), counter)
    }
}

/// Sort key that orders `T-9` before `T-10`.
pub fn natural_key(id: &str) -> (&str, u64) {
    let digits = id.len() - id.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let (prefix, number) = id.split_at(id.len() - digits);
    (prefix, number.parse().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_count_per_kind() {
        let mut ids = Ids::default();
        assert_eq!(ids.next(EntityKind::Approval), "APR-1");
        assert_eq!(ids.next(EntityKind::Approval), "APR-2");
        assert_eq!(ids.next(EntityKind::Agent), "agent-1");
    }

    #[test]
    fn natural_order() {
        let mut v = vec!["T-10", "T-9", "T-100", "T-1"];
        v.sort_by_key(|s| natural_key(s));
        assert_eq!(v, ["T-1", "T-9", "T-10", "T-100"]);
        assert_eq!(natural_key("weird"), ("weird", 0));
    }
}
