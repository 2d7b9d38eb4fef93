//! The whole current state of the control plane, and the snapshot consoles receive.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ids::natural_key;
use super::{
    Agent, Alert, Approval, AuditRecord, Change, DomainStats, Event, Ids, Incident, Queue, Rollout,
    Task, Timestamp,
};

/// Finished-task counts per minute, per domain: the source of error rates.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OutcomeBucket {
    /// Minutes since the Unix epoch.
    pub minute: i64,
    pub succeeded: u64,
    pub failed: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub outcomes: BTreeMap<String, Vec<OutcomeBucket>>,
    /// When metrics were last refreshed.
    pub refreshed_at: Option<Timestamp>,
}

impl Metrics {
    pub fn record_outcome(&mut self, domain: &str, at: Timestamp, ok: bool) {
        let minute = at.timestamp().div_euclid(60);
        let buckets = self.outcomes.entry(domain.to_string()).or_default();
        if buckets.last().map(|b| b.minute) != Some(minute) {
            buckets.push(OutcomeBucket {
                minute,
                ..Default::default()
            });
        }
        let bucket = buckets.last_mut().expect("pushed above");
        if ok {
            bucket.succeeded += 1;
        } else {
            bucket.failed += 1;
        }
    }

    /// (failed, finished) in the window ending at `now`.
    pub fn outcomes_since(&self, domain: &str, since: Timestamp) -> (u64, u64) {
        let from = since.timestamp().div_euclid(60);
        self.outcomes
            .get(domain)
            .map(|buckets| {
                buckets
                    .iter()
                    .filter(|b| b.minute >= from)
                    .fold((0, 0), |(f, n), b| {
                        (f + b.failed, n + b.failed + b.succeeded)
                    })
            })
            .unwrap_or((0, 0))
    }

    pub fn forget_before(&mut self, since: Timestamp) {
        let from = since.timestamp().div_euclid(60);
        for buckets in self.outcomes.values_mut() {
            buckets.retain(|b| b.minute >= from);
        }
    }
}

/// Everything the engine holds in memory. Terminal tasks and resolved items older than the
/// working window stay in the store but leave memory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct State {
    pub agents: BTreeMap<String, Agent>,
    pub tasks: BTreeMap<String, Task>,
    pub queues: BTreeMap<String, Queue>,
    pub incidents: BTreeMap<String, Incident>,
    pub approvals: BTreeMap<String, Approval>,
    pub rollouts: BTreeMap<String, Rollout>,
    pub alerts: BTreeMap<String, Alert>,
    pub domains: BTreeMap<String, DomainStats>,
    pub audit_tail: Vec<AuditRecord>,
    pub ids: Ids,
    pub metrics: Metrics,
    /// The seq of the last event applied.
    pub seq: u64,
}

impl State {
    pub const AUDIT_TAIL: usize = 200;

    /// Applies one change: the same function serves the engine after a commit and a console
    /// following the event stream.
    pub fn apply(&mut self, change: &Change) {
        match change {
            Change::Agent(a) => {
                self.agents.insert(a.id.clone(), a.clone());
            }
            Change::Task(t) => {
                self.tasks.insert(t.id.clone(), t.clone());
            }
            Change::Queue(q) => {
                self.queues.insert(q.name.clone(), q.clone());
            }
            Change::Incident(i) => {
                self.incidents.insert(i.id.clone(), i.clone());
            }
            Change::Approval(a) => {
                self.approvals.insert(a.id.clone(), a.clone());
            }
            Change::Rollout(r) => {
                self.rollouts.insert(r.id.clone(), r.clone());
            }
            Change::Alert(a) => {
                self.alerts.insert(a.key.clone(), a.clone());
            }
            Change::Domain(d) => {
                self.domains.insert(d.name.clone(), d.clone());
            }
            Change::Audit(record) => {
                self.audit_tail.push(record.clone());
                if self.audit_tail.len() > Self::AUDIT_TAIL * 2 {
                    self.audit_tail.drain(..Self::AUDIT_TAIL);
                }
            }
            Change::Retire(retired) => self.retire(retired),
            Change::Beat(beat) => {
                if let Some(agent) = self.agents.get_mut(&beat.agent) {
                    agent.last_heartbeat = beat.at;
                }
                if let Some((task, expires)) = &beat.lease
                    && let Some(task) = self.tasks.get_mut(task)
                {
                    task.lease_expires_at = Some(*expires);
                }
            }
        }
    }

    /// Tasks a live task waits on that the live set lacks (they closed long ago): a load reads
    /// them back, so what waits is decided by them.
    pub fn waited_on_elsewhere(&self) -> Vec<String> {
        self.tasks
            .values()
            .filter(|t| !t.state.is_terminal())
            .flat_map(|t| t.depends_on.iter())
            .filter(|d| !self.tasks.contains_key(*d))
            .cloned()
            .collect()
    }

    pub fn apply_event(&mut self, event: &Event) {
        for change in &event.changes {
            self.apply(change);
        }
        self.seq = event.seq;
    }

    pub fn snapshot(&self, at: Timestamp) -> Snapshot {
        fn sorted<T: Clone>(map: &BTreeMap<String, T>) -> Vec<T> {
            let mut items: Vec<(&String, &T)> = map.iter().collect();
            items.sort_by(|a, b| natural_key(a.0).cmp(&natural_key(b.0)));
            items.into_iter().map(|(_, v)| v.clone()).collect()
        }
        let tail_from = self.audit_tail.len().saturating_sub(Self::AUDIT_TAIL);
        Snapshot {
            at,
            seq: self.seq,
            agents: sorted(&self.agents),
            tasks: sorted(&self.tasks),
            queues: self.queues.values().cloned().collect(),
            incidents: sorted(&self.incidents),
            approvals: sorted(&self.approvals),
            rollouts: sorted(&self.rollouts),
            alerts: self.alerts.values().cloned().collect(),
            domains: self.domains.values().cloned().collect(),
            // Every snapshot is read by someone who has not revealed anything yet.
            audit_tail: self.audit_tail[tail_from..]
                .iter()
                .cloned()
                .map(AuditRecord::withheld)
                .collect(),
        }
    }
}

/// The whole current state as a console receives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub at: Timestamp,
    /// The last event included; a console subscribes from here.
    pub seq: u64,
    pub agents: Vec<Agent>,
    pub tasks: Vec<Task>,
    pub queues: Vec<Queue>,
    pub incidents: Vec<Incident>,
    pub approvals: Vec<Approval>,
    pub rollouts: Vec<Rollout>,
    pub alerts: Vec<Alert>,
    pub domains: Vec<DomainStats>,
    pub audit_tail: Vec<AuditRecord>,
}

impl State {
    /// The state a snapshot describes (what a console or a remote fleet holds).
    pub fn from_snapshot(snapshot: Snapshot) -> State {
        fn keyed<T>(items: Vec<T>, key: impl Fn(&T) -> String) -> BTreeMap<String, T> {
            items.into_iter().map(|item| (key(&item), item)).collect()
        }
        State {
            seq: snapshot.seq,
            audit_tail: snapshot.audit_tail,
            agents: keyed(snapshot.agents, |a| a.id.clone()),
            tasks: keyed(snapshot.tasks, |t| t.id.clone()),
            queues: keyed(snapshot.queues, |q| q.name.clone()),
            incidents: keyed(snapshot.incidents, |i| i.id.clone()),
            approvals: keyed(snapshot.approvals, |a| a.id.clone()),
            rollouts: keyed(snapshot.rollouts, |r| r.id.clone()),
            alerts: keyed(snapshot.alerts, |a| a.key.clone()),
            domains: keyed(snapshot.domains, |d| d.name.clone()),
            ..Default::default()
        }
    }
}
