//! The working view a command runs against: it changes the in-memory state as it goes and keeps
//! enough to undo a command that fails half-way, so a refused command leaves nothing behind.

use chrono::Duration;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use crate::config::Config;
use crate::model::{
    ActionType, AuditDetails, AuditDraft, Change, Classification, EntityKind, Ids, Metrics,
    Retention, State, Timestamp,
};

enum Undo {
    Agent(String, Option<crate::model::Agent>),
    Task(String, Option<crate::model::Task>),
    Queue(String, Option<crate::model::Queue>),
    Incident(String, Option<crate::model::Incident>),
    Approval(String, Option<crate::model::Approval>),
    Rollout(String, Option<crate::model::Rollout>),
    Alert(String, Option<crate::model::Alert>),
    Domain(String, Option<crate::model::DomainStats>),
}

pub struct Mark {
    changes: usize,
    audits: usize,
    undo: usize,
    ids: Ids,
    metrics: Metrics,
}

pub struct Txn<'a> {
    pub state: &'a mut State,
    pub config: &'a Config,
    pub now: Timestamp,
    rng: &'a mut ChaCha8Rng,
    changes: Vec<Change>,
    audits: Vec<AuditDraft>,
    undo: Vec<Undo>,
}

impl<'a> Txn<'a> {
    pub fn new(
        state: &'a mut State,
        config: &'a Config,
        now: Timestamp,
        rng: &'a mut ChaCha8Rng,
    ) -> Self {
        Txn {
            state,
            config,
            now,
            rng,
            changes: Vec::new(),
            audits: Vec::new(),
            undo: Vec::new(),
        }
    }

    pub fn mark(&self) -> Mark {
        Mark {
            changes: self.changes.len(),
            audits: self.audits.len(),
            undo: self.undo.len(),
            ids: self.state.ids.clone(),
            metrics: self.state.metrics.clone(),
        }
    }

    /// Puts the state back as it was at `mark`.
    pub fn rollback(&mut self, mark: Mark) {
        while self.undo.len() > mark.undo {
            match self.undo.pop().expect("len checked") {
                Undo::Agent(k, v) => restore(&mut self.state.agents, k, v),
                Undo::Task(k, v) => restore(&mut self.state.tasks, k, v),
                Undo::Queue(k, v) => restore(&mut self.state.queues, k, v),
                Undo::Incident(k, v) => restore(&mut self.state.incidents, k, v),
                Undo::Approval(k, v) => restore(&mut self.state.approvals, k, v),
                Undo::Rollout(k, v) => restore(&mut self.state.rollouts, k, v),
                Undo::Alert(k, v) => restore(&mut self.state.alerts, k, v),
                Undo::Domain(k, v) => restore(&mut self.state.domains, k, v),
            }
        }
        self.changes.truncate(mark.changes);
        self.audits.truncate(mark.audits);
        self.state.ids = mark.ids;
        self.state.metrics = mark.metrics;
    }

    /// Changes and audit drafts since `mark`, with each entity's last value only.
    pub fn take_since(&mut self, mark: &Mark) -> (Vec<Change>, Vec<AuditDraft>) {
        let changes: Vec<Change> = self.changes.drain(mark.changes..).collect();
        let audits = self.audits.drain(mark.audits..).collect();
        self.undo.truncate(mark.undo);
        let mut last: Vec<Change> = Vec::with_capacity(changes.len());
        for change in changes {
            let key = change_key(&change);
            if let Some(existing) = last.iter_mut().find(|c| change_key(c) == key) {
                *existing = change;
            } else {
                last.push(change);
            }
        }
        (last, audits)
    }

    /// Runs one command from its own mark: on success its changes become a step, on failure
    /// everything it did is undone.
    pub fn step(
        &mut self,
        cause: &'static str,
        run: impl FnOnce(&mut Txn<'_>) -> Result<super::Reply, super::EngineError>,
    ) -> Result<(super::Reply, super::Step), super::EngineError> {
        let mark = self.mark();
        match run(self) {
            Ok(reply) => {
                let (changes, audits) = self.take_since(&mark);
                Ok((
                    reply,
                    super::Step {
                        cause,
                        changes,
                        audits,
                        via: None,
                        answer_key: None,
                    },
                ))
            }
            Err(e) => {
                self.rollback(mark);
                Err(e)
            }
        }
    }

    pub fn put(&mut self, change: Change) {
        let undo = match &change {
            Change::Agent(v) => Undo::Agent(v.id.clone(), self.state.agents.get(&v.id).cloned()),
            Change::Task(v) => Undo::Task(v.id.clone(), self.state.tasks.get(&v.id).cloned()),
            Change::Queue(v) => {
                Undo::Queue(v.name.clone(), self.state.queues.get(&v.name).cloned())
            }
            Change::Incident(v) => {
                Undo::Incident(v.id.clone(), self.state.incidents.get(&v.id).cloned())
            }
            Change::Approval(v) => {
                Undo::Approval(v.id.clone(), self.state.approvals.get(&v.id).cloned())
            }
            Change::Rollout(v) => {
                Undo::Rollout(v.id.clone(), self.state.rollouts.get(&v.id).cloned())
            }
            Change::Alert(v) => Undo::Alert(v.key.clone(), self.state.alerts.get(&v.key).cloned()),
            Change::Domain(v) => {
                Undo::Domain(v.name.clone(), self.state.domains.get(&v.name).cloned())
            }
            Change::Audit(_) => unreachable!("audit records go through Txn::audit"),
            Change::Retire(_) => unreachable!("closed items leave through Txn::retire"),
            Change::Beat(_) => unreachable!("heartbeats go through Txn::beat"),
        };
        self.undo.push(undo);
        self.state.apply(&change);
        self.changes.push(change);
    }

    /// A plain heartbeat: the agent's time and its task's lease, without rewriting either body.
    pub fn beat(&mut self, beat: crate::model::Beat) {
        let agent = self.state.agents.get(&beat.agent).cloned();
        self.undo.push(Undo::Agent(beat.agent.clone(), agent));
        if let Some((task, _)) = &beat.lease {
            let old = self.state.tasks.get(task).cloned();
            self.undo.push(Undo::Task(task.clone(), old));
        }
        let change = Change::Beat(beat);
        self.state.apply(&change);
        self.changes.push(change);
    }

    /// Takes closed items out of memory; undone like any other change.
    pub fn retire(&mut self, retired: crate::model::Retired) {
        if retired.is_empty() {
            return;
        }
        let state = &*self.state;
        let undo = retired
            .tasks
            .iter()
            .filter_map(|id| Some(Undo::Task(id.clone(), Some(state.tasks.get(id)?.clone()))))
            .chain(retired.incidents.iter().filter_map(|id| {
                Some(Undo::Incident(
                    id.clone(),
                    Some(state.incidents.get(id)?.clone()),
                ))
            }))
            .chain(retired.approvals.iter().filter_map(|id| {
                Some(Undo::Approval(
                    id.clone(),
                    Some(state.approvals.get(id)?.clone()),
                ))
            }))
            .collect::<Vec<_>>();
        self.undo.extend(undo);
        let change = Change::Retire(retired);
        self.state.apply(&change);
        self.changes.push(change);
    }

    pub fn audit(&mut self, draft: AuditDraft) {
        self.audits.push(draft);
    }

    /// A record with the usual defaults; callers fill in what differs.
    pub fn record(
        &mut self,
        actor: &str,
        action_type: ActionType,
        domain: &str,
        summary: String,
        details: AuditDetails,
        related_tasks: Vec<String>,
    ) {
        self.audit(AuditDraft {
            agent_id: actor.to_string(),
            action_type,
            domain: domain.to_string(),
            summary,
            details,
            classification: Classification::Internal,
            related_tasks,
            retention: match action_type {
                ActionType::Execution => Retention::Standard,
                ActionType::Decision | ActionType::Escalation => Retention::Significant,
            },
        });
    }

    pub fn next_id(&mut self, kind: EntityKind) -> String {
        self.state.ids.next(kind)
    }

    /// Uniform in [lo, hi).
    pub fn random_range(&mut self, lo: f64, hi: f64) -> f64 {
        if hi <= lo {
            return lo;
        }
        self.rng.random_range(lo..hi)
    }

    pub fn after(&self, d: Duration) -> Timestamp {
        self.now + d
    }
}

fn restore<T>(map: &mut std::collections::BTreeMap<String, T>, key: String, value: Option<T>) {
    match value {
        Some(v) => {
            map.insert(key, v);
        }
        None => {
            map.remove(&key);
        }
    }
}

fn change_key(change: &Change) -> (u8, &str) {
    match change {
        Change::Agent(v) => (0, &v.id),
        Change::Task(v) => (1, &v.id),
        Change::Queue(v) => (2, &v.name),
        Change::Incident(v) => (3, &v.id),
        Change::Approval(v) => (4, &v.id),
        Change::Rollout(v) => (5, &v.id),
        Change::Alert(v) => (6, &v.key),
        Change::Domain(v) => (7, &v.name),
        Change::Audit(v) => (8, &v.id),
        Change::Retire(_) => (9, ""),
        Change::Beat(v) => (10, &v.agent),
    }
}
