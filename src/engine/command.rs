//! The vocabulary of the control plane: who acts, and what they ask for.

use serde::{Deserialize, Serialize};

use crate::authority::Role;
use crate::model::{Approval, Category, Classification, Incident, RolloutKind, Severity, Task};

/// Who issues a command; it decides the audit identity and what is allowed.
#[derive(Debug, Clone, PartialEq)]
pub enum Actor {
    Operator {
        name: String,
        role: Role,
    },
    Agent {
        id: String,
    },
    /// The orchestrator itself (timers, alert rules), or a domain orchestrator.
    Orchestrator {
        domain: Option<String>,
    },
}

impl Actor {
    pub fn operator(name: &str, role: Role) -> Actor {
        Actor::Operator {
            name: name.to_string(),
            role,
        }
    }

    pub fn agent(id: &str) -> Actor {
        Actor::Agent { id: id.to_string() }
    }

    /// The `agent_id` of the audit records this actor writes.
    pub fn audit_id(&self) -> String {
        match self {
            Actor::Operator { name, .. } => crate::authority::operator_actor(name),
            Actor::Agent { id } => id.clone(),
            Actor::Orchestrator { domain: Some(d) } => format!("orchestrator:{d}"),
            Actor::Orchestrator { domain: None } => "orchestrator:enterprise".to_string(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Reject,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentAction {
    Ack,
    Escalate,
    Mitigate,
    Resolve,
    Note,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RolloutAction {
    Promote,
    Pause,
    Resume,
    Abort,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum TaskOutcome {
    Succeeded,
    Failed { error: String },
}

/// Everything that changes the control plane goes through one of these.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    // Operators.
    DecideApproval {
        id: String,
        decision: Decision,
        reason: String,
        #[serde(default)]
        expected_version: Option<u64>,
    },
    EscalateApproval {
        id: String,
        reason: String,
        #[serde(default)]
        expected_version: Option<u64>,
    },
    IncidentAction {
        id: String,
        action: IncidentAction,
        #[serde(default)]
        note: Option<String>,
        #[serde(default)]
        expected_version: Option<u64>,
    },
    DeclareIncident {
        severity: Severity,
        title: String,
        domain: String,
    },
    RolloutAction {
        id: String,
        action: RolloutAction,
        #[serde(default)]
        reason: Option<String>,
        #[serde(default)]
        expected_version: Option<u64>,
    },
    StartRollout {
        name: String,
        kind: RolloutKind,
        target_version: String,
        domain: String,
        #[serde(default)]
        auto_promote: bool,
    },
    PauseAgent {
        id: String,
        reason: String,
    },
    /// An operator opens a sensitive audit record; the access is itself audited.
    RevealAudit {
        seq: u64,
        domain: String,
    },
    ResumeAgent {
        id: String,
    },
    // Work enters the system (from an orchestrator, an agent or an operator).
    SubmitTask {
        title: String,
        domain: String,
        team: String,
        priority: u8,
        #[serde(default)]
        skills: Vec<String>,
        #[serde(default)]
        depends_on: Vec<String>,
    },
    // Agents.
    RegisterAgent {
        name: String,
        domain: String,
        team: String,
        skills: Vec<String>,
        version: String,
    },
    Heartbeat {
        agent: String,
    },
    LeaseTask {
        agent: String,
    },
    CompleteTask {
        agent: String,
        task: String,
        outcome: TaskOutcome,
    },
    RaiseEscalation {
        agent: String,
        category: Category,
        summary: String,
        context: String,
        options_considered: Vec<String>,
        recommendation: String,
        classification: Classification,
        #[serde(default)]
        related_tasks: Vec<String>,
    },
    ReportIncident {
        agent: String,
        severity: Severity,
        title: String,
    },
    RecordExecution {
        agent: String,
        summary: String,
        #[serde(default)]
        context: String,
        #[serde(default)]
        outcome: String,
        #[serde(default)]
        related_tasks: Vec<String>,
    },
}

impl Command {
    /// The event `cause` and metric label of this command.
    pub fn name(&self) -> &'static str {
        match self {
            Command::DecideApproval { .. } => "approval.decide",
            Command::EscalateApproval { .. } => "approval.escalate",
            Command::IncidentAction { .. } => "incident.action",
            Command::DeclareIncident { .. } => "incident.declare",
            Command::RolloutAction { .. } => "rollout.action",
            Command::StartRollout { .. } => "rollout.start",
            Command::PauseAgent { .. } => "agent.pause",
            Command::RevealAudit { .. } => "audit.reveal",
            Command::ResumeAgent { .. } => "agent.resume",
            Command::SubmitTask { .. } => "task.submit",
            Command::RegisterAgent { .. } => "agent.register",
            Command::Heartbeat { .. } => "agent.heartbeat",
            Command::LeaseTask { .. } => "task.lease",
            Command::CompleteTask { .. } => "task.complete",
            Command::RaiseEscalation { .. } => "approval.raise",
            Command::ReportIncident { .. } => "incident.report",
            Command::RecordExecution { .. } => "audit.execution",
        }
    }
}

/// What a command returns to its caller besides the event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Reply {
    Done,
    Created {
        id: String,
    },
    Approval(Box<Approval>),
    Incident(Box<Incident>),
    Rollout(Box<crate::model::Rollout>),
    Agent(Box<crate::model::Agent>),
    /// The task leased to the agent, if there was work.
    Lease(Option<Box<Task>>),
}

/// A committed command: its reply, and where it landed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub reply: Reply,
    pub event_seq: u64,
    pub audit_seqs: Vec<u64>,
}
