//! Who may issue a command, before what the command does is checked.

use super::EngineError;
use crate::authority::{self, Role};
use crate::model::State;
use crate::protocol::Actor;

/// An operator who may act on items of `domain`; returns their name and role.
pub fn operator_for<'a>(
    actor: &'a Actor,
    domain: &str,
) -> Result<(&'a str, &'a Role), EngineError> {
    match actor {
        Actor::Operator { name, role, .. } => {
            authority::may_act_in(role, domain)?;
            Ok((name, role))
        }
        _ => Err(EngineError::refused("only operators may do this")),
    }
}

/// Agent commands come from the agent itself (the demo fleet and real agents alike).
/// Over HTTP the agent must also belong to the calling token: an agent token acts only for the
/// agents it registered, so one fleet's token can never speak for another's agents.
pub fn agent_is(state: &State, actor: &Actor, agent: &str) -> Result<(), EngineError> {
    match actor {
        Actor::Agent { id, token, .. } if id == agent => match (token, state.agents.get(agent)) {
            (Some(token), Some(a)) if !token.acts_for(agent, a.owner.as_deref()) => {
                Err(EngineError::refused(format!(
                    "agent token {} may act only for the agents it registered or the config lists for it; {agent} is neither",
                    token.name
                )))
            }
            _ => Ok(()),
        },
        Actor::Agent { id, .. } => Err(EngineError::refused(format!(
            "{id} may not act for {agent}"
        ))),
        _ => Err(EngineError::refused(format!(
            "only agent {agent} may do this"
        ))),
    }
}

/// Work an agent token brings in stays within the domains the token is limited to.
pub fn token_covers(actor: &Actor, domain: &str) -> Result<(), EngineError> {
    match actor {
        Actor::Agent {
            token: Some(token), ..
        } if !token.covers(domain) => Err(EngineError::refused(format!(
            "agent token {} is limited to {}; {domain} is outside it",
            token.name,
            token.domains.join(", ")
        ))),
        _ => Ok(()),
    }
}

/// A reason is mandatory for every operator decision.
pub fn reason(text: &str, what: &str) -> Result<String, EngineError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(EngineError::Invalid(format!(
            "a reason is required to {what}: say why, it goes into the audit trail"
        )));
    }
    let max = crate::protocol::limits::REASON.max_chars;
    if trimmed.chars().count() > max {
        return Err(EngineError::Invalid(format!(
            "the reason is longer than {max} characters; shorten it"
        )));
    }
    Ok(trimmed.to_string())
}

/// A stale version is a conflict that says what the current one is.
pub fn version(expected: Option<u64>, current: u64, what: &str) -> Result<(), EngineError> {
    match expected {
        Some(v) if v != current => Err(EngineError::conflict(
            format!(
                "{what} changed since you saw it (you saw version {v}, it is now {current}); look again and retry"
            ),
            Some(current),
        )),
        _ => Ok(()),
    }
}

/// Names, titles and other short texts from outside: present and bounded.
pub fn text(value: &str, field: &str, max: usize) -> Result<String, EngineError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(EngineError::Invalid(format!("{field} must not be empty")));
    }
    if trimmed.chars().count() > max {
        return Err(EngineError::Invalid(format!(
            "{field} is longer than {max} characters"
        )));
    }
    Ok(trimmed.to_string())
}
