//! The vocabulary both sides of the link speak: who acts ([`Actor`]), what they ask for (one
//! struct per command, gathered in [`Command`]), what comes back ([`Reply`], [`Outcome`],
//! [`Problem`]), and the limits of a page or a count.
//!
//! A command's struct is also its HTTP body, and [`Command::path`] names its route: the engine,
//! the server, the remote link, the demo fleet and the CLI all use these types, so a command is
//! mapped to the wire in one place. Fields that travel in the URL (an item's id, a record's seq)
//! are skipped in the body and set from the path by [`Request::set_path`].

mod actor;
mod agent;
mod command;
mod decision;
mod http;
mod idempotency;
pub mod limits;
mod operator;
mod reply;

pub use actor::{Actor, TokenScope, is_agent_id};
pub use agent::{
    CompleteTask, Heartbeat, LeaseTask, RaiseEscalation, RecordExecution, RegisterAgent,
    ReportIncident, SubmitTask, TaskOutcome,
};
pub use command::{Command, Request, fill_path};
pub use decision::{
    Decision, ESCALATION_PATH, PERMISSION_PATH, POLICY_PATH, PermissionAnswer, PermissionAsk,
    Quorum, WAIT_MAX_S, WaitParams,
};
pub use http::{
    AGENT_STATE_PATH, AgentView, AuditCount, AuditPage, AuditParams, CLAIM_PATH, CountParams,
    IDEMPOTENCY_KEY, ITEM_PATH, ITEMS_PATH, Identity, ItemParams, PROBLEM_BASE, Problem,
};
pub use idempotency::{
    Executed, IDEMPOTENCY_WINDOW_HOURS, IdempotencyKey, KEY_REUSED, RecordedAnswer, answer_body,
};
pub use operator::{
    ActOnAgent, ActOnApproval, ActOnIncident, ActOnRollout, AgentAction, ApprovalAction,
    DeclareIncident, IncidentAction, RevealRecord, RolloutAction, StartRollout,
};
pub use reply::{Failure, Outcome, Reply};

/// Audit records per page: the default, and the most one request may ask for.
pub const PAGE_DEFAULT: usize = 50;
pub const PAGE_MAX: usize = 500;

/// Counts of matching audit records are exact up to this many; beyond it they say "more".
pub const COUNT_CAP: u64 = 10_000;
