//! Who issues a command: it decides the audit identity and what is allowed.

use crate::model::role::operator_actor;
use crate::model::{Role, Via};

/// The agent token a request came with: its name and the domains it is limited to.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TokenScope {
    pub name: String,
    /// Empty: every domain.
    pub domains: Vec<String>,
    /// Agents listed for the token in the server's config: it acts for them as for its own.
    pub agents: Vec<String>,
}

impl TokenScope {
    /// Whether the token acts for `agent`, whose `owner` is the token that registered it.
    pub fn acts_for(&self, agent: &str, owner: Option<&str>) -> bool {
        owner == Some(self.name.as_str()) || self.agents.iter().any(|a| a == agent)
    }

    pub fn covers(&self, domain: &str) -> bool {
        self.domains.is_empty() || self.domains.iter().any(|d| d == domain)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Actor {
    Operator {
        name: String,
        role: Role,
        /// Over HTTP: the token and client address, named in every record written.
        via: Option<Via>,
    },
    /// An agent acting; over HTTP, with the token it came with (in process: none).
    Agent {
        id: String,
        token: Option<TokenScope>,
        via: Option<Via>,
    },
    /// The orchestrator itself (timers, alert rules), or a domain orchestrator.
    Orchestrator { domain: Option<String> },
}

impl Actor {
    pub fn operator(name: &str, role: Role) -> Actor {
        Actor::Operator {
            name: name.to_string(),
            role,
            via: None,
        }
    }

    pub fn agent(id: &str) -> Actor {
        Actor::Agent {
            id: id.to_string(),
            token: None,
            via: None,
        }
    }

    /// An agent acting through an agent token: the engine checks the token's scope.
    pub fn agent_with(id: &str, token: TokenScope) -> Actor {
        Actor::Agent {
            id: id.to_string(),
            token: Some(token),
            via: None,
        }
    }

    /// The same actor, calling through `via` (the server sets it from the request).
    pub fn through(mut self, door: Via) -> Actor {
        match &mut self {
            Actor::Operator { via, .. } | Actor::Agent { via, .. } => *via = Some(door),
            Actor::Orchestrator { .. } => {}
        }
        self
    }

    /// The token and client an HTTP caller came by; `None` in process.
    pub fn via(&self) -> Option<&Via> {
        match self {
            Actor::Operator { via, .. } | Actor::Agent { via, .. } => via.as_ref(),
            Actor::Orchestrator { .. } => None,
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

/// An agent's id (`agent-7`) rather than a name: asking for another token's agent by its id is
/// refused, never quietly answered by registering a namesake.
pub fn is_agent_id(name: &str) -> bool {
    name.strip_prefix("agent-")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}
