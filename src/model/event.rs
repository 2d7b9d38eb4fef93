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
    /// Its readings while firing, `(when, value)`, oldest first: each change the engine saw,
    /// over the last [`Alert::HISTORY_MINUTES`] (and the one reading before them).
    /// (Single precision: enough for a sparkline, and it reads back from JSON bit for bit.)
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<(Timestamp, f32)>,
}

impl Alert {
    pub const HISTORY_MINUTES: i64 = 15;
    /// One reading kept per step of this many seconds (the last one in it): the history stays
    /// at most 31 readings, however often the value moves.
    pub const HISTORY_STEP_S: i64 = 30;

    /// Notes a reading at `at`, forgetting those older than the window (but the last one
    /// before it, which still holds at the window's start).
    pub fn note(&mut self, at: Timestamp, value: f64) {
        self.value = value;
        let step = |t: Timestamp| t.timestamp().div_euclid(Self::HISTORY_STEP_S);
        if self
            .history
            .last()
            .is_some_and(|(t, _)| step(*t) == step(at))
        {
            self.history.pop();
        }
        self.history.push((at, value as f32));
        let start = at - chrono::Duration::minutes(Self::HISTORY_MINUTES);
        let before = self.history.iter().filter(|(t, _)| *t < start).count();
        self.history.drain(..before.saturating_sub(1));
    }

    /// The reading in force at each of `buckets` equal steps over the window ending `now`
    /// (`None` before the first reading): a sparkline's values.
    pub fn trend(&self, now: Timestamp, buckets: usize) -> Vec<Option<f64>> {
        let window = chrono::Duration::minutes(Self::HISTORY_MINUTES);
        (1..=buckets)
            .map(|i| {
                let at = now - window + window * i as i32 / buckets as i32;
                self.history
                    .iter()
                    .rev()
                    .find(|(t, _)| *t <= at)
                    .map(|(_, v)| f64::from(*v))
            })
            .collect()
    }

    /// A reading of this alert's rule as people say it: rates and shares in percent, queue
    /// depth in tasks, latency in seconds. The engine's incident titles and the console's card
    /// both use it.
    pub fn reading(rule: &str, value: f64) -> String {
        match rule {
            "error_rate" | "agents_down" | "utilization" => format!("{:.0}%", value * 100.0),
            "queue_depth" => format!("{value:.0} tasks"),
            _ => format!("{value:.0}s"),
        }
    }
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
    /// Closed items leaving the live set (the store keeps them).
    Retire(super::Retired),
    /// An agent reported in: its heartbeat time and, while it runs a task, that task's lease.
    /// Nothing else of either changed, so neither body is written again.
    Beat(Beat),
}

/// A plain heartbeat, as small as it can travel and rest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Beat {
    pub agent: String,
    pub at: Timestamp,
    /// The task it runs and when that task's lease now expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<(String, Timestamp)>,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn alert() -> Alert {
        Alert {
            key: "error_rate:product".into(),
            rule: "error_rate".into(),
            subject: "product".into(),
            domain: "product".into(),
            level: AlertLevel::Page,
            firing: true,
            value: 0.0,
            threshold: 0.25,
            since: "2026-11-02T00:00:00Z".parse().unwrap(),
            cleared_at: None,
            opened: None,
            history: vec![],
        }
    }

    #[test]
    fn the_history_keeps_one_reading_per_step_over_fifteen_minutes() {
        let mut a = alert();
        let t0 = a.since;
        for s in 0..3600 {
            a.note(t0 + chrono::Duration::seconds(s), s as f64);
        }
        assert_eq!(a.value, 3599.0);
        assert!(a.history.len() <= 32, "{}", a.history.len());
        let end = t0 + chrono::Duration::seconds(3599);
        let trend = a.trend(end, 15);
        assert_eq!(trend.last().copied().flatten(), Some(3599.0));
        assert!(trend.iter().all(|v| v.is_some()), "the window is covered");
        assert!(trend.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn before_the_first_reading_the_trend_is_empty() {
        let mut a = alert();
        let t0 = a.since;
        a.note(t0, 0.25);
        let trend = a.trend(t0 + chrono::Duration::minutes(7), 15);
        assert!(trend[0].is_none());
        assert_eq!(trend[14], Some(0.25));
        assert_eq!(Alert::reading("error_rate", 0.314), "31%");
        assert_eq!(Alert::reading("queue_depth", 62.0), "62 tasks");
        assert_eq!(Alert::reading("latency", 950.4), "950s");
    }
}
