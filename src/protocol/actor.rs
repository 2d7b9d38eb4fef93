//! Who issues a command: it decides the audit identity and what is allowed.

use crate::model::Role;
use crate::model::role::operator_actor;

/// The agent token a request came with: its name and the domains it is limited to.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TokenScope {
    pub name: String,
    /// Empty: every domain.
    pub domains: Vec<String>,
}

impl TokenScope {
    pub fn covers(&self, domain: &str) -> bool {
        self.domains.is_empty() || self.domains.iter().any(|d| d == domain)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Actor {
    Operator {
        name: String,
        role: Role,
    },
    /// An agent acting; over HTTP, with the token it came with (in process: none).
    Agent {
        id: String,
        token: Option<TokenScope>,
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
        Actor::Agent {
            id: id.to_string(),
            token: None,
        }
    }

    /// An agent acting through an agent token: the engine checks the token's scope.
    pub fn agent_with(id: &str, token: TokenScope) -> Actor {
        Actor::Agent {
            id: id.to_string(),
            token: Some(token),
        }
    }

    /// The `agent_id` of the audit records this actor writes.
    pub fn audit_id(&self) -> String {
        match self {
            Actor::Operator { name, .. } => operator_actor(name),
            Actor::Agent { id, .. } => id.clone(),
            Actor::Orchestrator { domain: Some(d) } => format!("orchestrator:{d}"),
            Actor::Orchestrator { domain: None } => "orchestrator:enterprise".to_string(),
        }
    }
}
