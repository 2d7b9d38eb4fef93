use serde::{Deserialize, Serialize};

use super::{Agent, Approval, AuditRecord, DomainStats, Incident, Queue, Rollout, Task, Timestamp};

/// What the alert rules do when they fire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertLevel {
    /// Error rate over threshold: an incident pages the on-call.
    Page,
    /// Queue depth over threshold.
    Warn,
    /// Latency over the SLA: escalated to humans as an incident.
    Escalate,
    /// Utilization over the limit: the domain asks for capacity.
    Plan,
}

/// A firing (or recently cleared) alert rule for one subject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// `rule:subject`, e.g. `queue_depth:platform/infra`.
    pub key: String,
    pub rule: String,
    pub subject: String,
    pub domain: String,
    pub level: AlertLevel,
    pub firing: bool,
    pub value: f64,
    pub threshold: f64,
    pub since: Timestamp,
    pub cleared_at: Option<Timestamp>,
    /// The incident or approval it opened, if any.
    pub opened: Option<String>,
}

/// The new value of one entity, or one appended audit record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Change {
    Agent(Agent),
    Task(Task),
    Queue(Queue),
    Incident(Incident),
    Approval(Approval),
    Rollout(Rollout),
    Alert(Alert),
    Domain(DomainStats),
    Audit(AuditRecord),
}

/// One command's effect, published after its transaction commits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Gapless, starting at 1, persisted: consoles resume from it.
    pub seq: u64,
    pub at: Timestamp,
    /// The command that caused it (`approval.decide`, `tick`, ...).
    pub cause: String,
    pub changes: Vec<Change>,
}

impl Event {
    /// The event as it leaves the orchestrator: sensitive audit records withheld
    /// ([`AuditRecord::withheld`]).
    pub fn withheld(mut self) -> Event {
        for change in &mut self.changes {
            if let Change::Audit(record) = change {
                record.withhold();
            }
        }
        self
    }
}
