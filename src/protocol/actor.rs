//! Who issues a command: it decides the audit identity and what is allowed.

use crate::model::Role;
use crate::model::role::operator_actor;

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
            Actor::Operator { name, .. } => operator_actor(name),
            Actor::Agent { id } => id.clone(),
            Actor::Orchestrator { domain: Some(d) } => format!("orchestrator:{d}"),
            Actor::Orchestrator { domain: None } => "orchestrator:enterprise".to_string(),
        }
    }
}
