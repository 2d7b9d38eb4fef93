//! Plain data: the entities of the control plane, as they travel in JSON and rest in the store.
//!
//! Nothing here does I/O or knows about the terminal; the engine decides, the store persists.

pub mod agent;
pub mod approval;
pub mod audit;
pub mod event;
pub mod ids;
pub mod incident;
pub mod live;
pub mod queue;
pub mod role;
pub mod rollout;
pub mod state;
pub mod task;

pub use agent::{Agent, AgentStatus, Circuit};
pub use approval::{
    Approval, ApprovalState, Callback, Category, Classification, Origin, ToolCall, Vote,
};
pub use audit::{ActionType, AuditDetails, AuditDraft, AuditRecord, Retention, Via};
pub use event::{Alert, AlertLevel, Beat, Change, Event};
pub use ids::{EntityKind, Ids};
pub use incident::{Incident, IncidentSource, IncidentState, Severity, TimelineEntry};
pub use live::{LiveWindow, Lived, Retired};
pub use queue::{DomainStats, Queue};
pub use role::{Level, Role, Subject};
pub use rollout::{
    ErrorGate, Phase, PhaseState, Rollout, RolloutHealth, RolloutKind, RolloutState,
};
pub use state::{Metrics, Snapshot, State};
pub use task::{Task, TaskState};

use chrono::{DateTime, DurationRound, TimeDelta, Utc};

/// Every timestamp in the model: UTC, serialised as RFC 3339.
pub type Timestamp = DateTime<Utc>;

/// `t` at the precision the audit trail stores, milliseconds: a time taken from a clock is
/// truncated here before anything records it, so it reads back exactly as it was written.
pub fn truncate(t: Timestamp) -> Timestamp {
    t.duration_trunc(TimeDelta::milliseconds(1)).unwrap_or(t)
}
