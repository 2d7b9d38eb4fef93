//! The live set: what the engine holds in memory and a snapshot carries. Everything still
//! moving (agents, queued and running tasks, open incidents, pending approvals) is live, and
//! every rollout (a handful a day; the demo and the rollouts pane read their history); a closed
//! task, incident or approval stays live for a while after it closed, so a console sees it
//! finish, then only the store holds it. Start-up, snapshots and the cost of each event then
//! follow the live set, not the history.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Duration;
use serde::{Deserialize, Serialize};

use super::{Approval, Incident, Rollout, State, Task, TaskState, Timestamp};

/// How long, and how many, closed items stay live.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LiveWindow {
    /// A closed item leaves memory this long after it closed.
    pub horizon: Duration,
    /// At most this many closed items of each kind stay, the most recently closed.
    pub closed: usize,
}

impl Default for LiveWindow {
    fn default() -> Self {
        LiveWindow {
            horizon: Duration::hours(1),
            closed: 500,
        }
    }
}

/// An item that may close, and when it reached its current state.
pub trait Lived {
    fn closed(&self) -> bool;
    /// When the item reached its current state: the time `--since` filters on.
    fn moved_at(&self) -> Timestamp;
}

impl Lived for Task {
    fn closed(&self) -> bool {
        self.state.is_terminal()
    }
    fn moved_at(&self) -> Timestamp {
        match self.state {
            s if s.is_terminal() => self.finished_at.unwrap_or(self.enqueued_at),
            TaskState::Leased | TaskState::Running => self.leased_at.unwrap_or(self.enqueued_at),
            _ => self.enqueued_at,
        }
    }
}

impl Lived for Incident {
    fn closed(&self) -> bool {
        !self.is_open()
    }
    fn moved_at(&self) -> Timestamp {
        self.resolved_at
            .or(self.mitigated_at)
            .or(self.acked_at)
            .unwrap_or(self.opened_at)
    }
}

impl Lived for Approval {
    fn closed(&self) -> bool {
        !self.is_pending()
    }
    fn moved_at(&self) -> Timestamp {
        self.decided_at.unwrap_or(self.created_at)
    }
}

impl Lived for Rollout {
    fn closed(&self) -> bool {
        self.state.is_final()
    }
    fn moved_at(&self) -> Timestamp {
        self.updated_at
    }
}

/// Closed items that leave memory: their ids, by kind. Applying it removes them; the store keeps
/// them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Retired {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incidents: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvals: Vec<String>,
}

impl Retired {
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty() && self.incidents.is_empty() && self.approvals.is_empty()
    }

    pub fn len(&self) -> usize {
        self.tasks.len() + self.incidents.len() + self.approvals.len()
    }
}

impl State {
    /// The closed items past the window at `now`: closed before `now - horizon`, or beyond the
    /// `closed` most recent of their kind. A finished task that a live task waits on stays (the
    /// engine decides the waiting task by it).
    pub fn retirable(&self, now: Timestamp, window: &LiveWindow) -> Retired {
        let waited_on: BTreeSet<&str> = self
            .tasks
            .values()
            .filter(|t| !t.state.is_terminal())
            .flat_map(|t| t.depends_on.iter().map(String::as_str))
            .collect();
        let mut tasks = past(&self.tasks, now, window);
        tasks.retain(|id| !waited_on.contains(id.as_str()));
        Retired {
            tasks,
            incidents: past(&self.incidents, now, window),
            approvals: past(&self.approvals, now, window),
        }
    }

    pub(super) fn retire(&mut self, retired: &Retired) {
        for id in &retired.tasks {
            self.tasks.remove(id);
        }
        for id in &retired.incidents {
            self.incidents.remove(id);
        }
        for id in &retired.approvals {
            self.approvals.remove(id);
        }
    }
}

fn past<T: Lived>(items: &BTreeMap<String, T>, now: Timestamp, window: &LiveWindow) -> Vec<String> {
    let mut closed: Vec<(Timestamp, &String)> = items
        .iter()
        .filter(|(_, item)| item.closed())
        .map(|(id, item)| (item.moved_at(), id))
        .collect();
    if closed.is_empty() {
        return Vec::new();
    }
    // Newest first: the first `window.closed` within the horizon stay.
    closed.sort_by(|a, b| b.cmp(a));
    let cutoff = now - window.horizon;
    closed
        .into_iter()
        .enumerate()
        .filter(|(rank, (at, _))| *rank >= window.closed || *at < cutoff)
        .map(|(_, (_, id))| id.clone())
        .collect()
}
