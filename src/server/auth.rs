//! Bearer tokens → who is calling. Only SHA-256 digests are kept; the identity in every audit
//! record comes from here, never from a request body.

use std::collections::HashMap;
use std::sync::Arc;

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::problem::ApiError;
use super::state::AppState;
use crate::config::server::{ServerConfig, token_hash};
use crate::model::{Role, Via};
use crate::protocol::{Actor, TokenScope};

#[derive(Debug, Clone, PartialEq)]
pub enum Caller {
    Operator { name: String, role: Role },
    Agent { token: TokenScope },
}

/// Token digests → callers.
pub struct Tokens(HashMap<String, Caller>);

impl Tokens {
    pub fn from_config(config: &ServerConfig) -> Tokens {
        let operators = config.operators.iter().map(|o| {
            (
                o.token_sha256.to_ascii_lowercase(),
                Caller::Operator {
                    name: o.name.clone(),
                    role: o.role.clone(),
                },
            )
        });
        let agents = config.agents.iter().map(|a| {
            (
                a.token_sha256.to_ascii_lowercase(),
                Caller::Agent {
                    token: TokenScope {
                        name: a.name.clone(),
                        domains: a.domains.clone(),
                        agents: a.agents.clone(),
                    },
                },
            )
        });
        Tokens(operators.chain(agents).collect())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn caller(&self, parts: &Parts) -> Result<Caller, ApiError> {
        let header = parts.headers.get(AUTHORIZATION).ok_or_else(|| {
            ApiError::unauthorized(
                "no token: send `Authorization: Bearer <token>` (opsdeck token new NAME prints one)",
            )
            .because("no-token")
        })?;
        let token = header
            .to_str()
            .ok()
            .and_then(bearer)
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::unauthorized("the Authorization header must be `Bearer <token>`")
                    .because("malformed-header")
            })?;
        self.0.get(&token_hash(token)).cloned().ok_or_else(|| {
            ApiError::unauthorized("this token is not known to the server").because("unknown-token")
        })
    }
}

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        state.tokens.caller(parts)
    }
}

/// The token of an `Authorization` header; the scheme's name is case-insensitive (RFC 9110).
fn bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim_start().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token)
}

/// The client's address, as the connection gave it (`unknown` when served without one).
pub fn client_of(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// The refusal of an agent token on a route outside its scope, naming the scope.
pub fn outside_agent_scope(token: &TokenScope) -> ApiError {
    let domains = if token.domains.is_empty() {
        "every domain".to_string()
    } else {
        token.domains.join(", ")
    };
    ApiError::forbidden(format!(
        "{} holds an agent token (scope: agent, the /v1/agent/ endpoints and /v1/whoami only, for the agents it registered, in {domains}); this route needs an operator token",
        token.name
    ))
    .because("agent-scope")
}

/// An operator's token: the console and the CLI.
pub struct Operator {
    pub name: String,
    pub role: Role,
    /// The client's address.
    pub client: String,
}

impl Operator {
    /// The operator acting, through this token from this client (named in every record).
    pub fn actor(&self) -> Actor {
        Actor::operator(&self.name, self.role.clone()).through(Via {
            token: self.name.clone(),
            client: self.client.clone(),
        })
    }
}

impl FromRequestParts<Arc<AppState>> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        match state.tokens.caller(parts)? {
            Caller::Operator { name, role } => Ok(Operator {
                name,
                role,
                client: client_of(parts),
            }),
            Caller::Agent { token } => Err(outside_agent_scope(&token)),
        }
    }
}

/// An agent token: the agent endpoints only, for the agents it registered.
pub struct AgentCaller {
    pub token: TokenScope,
    /// The client's address.
    pub client: String,
}

impl AgentCaller {
    /// The agent `id` acting through this token (the engine checks the agent is the token's).
    pub fn actor(&self, id: &str) -> Actor {
        Actor::agent_with(id, self.token.clone()).through(Via {
            token: self.token.name.clone(),
            client: self.client.clone(),
        })
    }
}

impl FromRequestParts<Arc<AppState>> for AgentCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        match state.tokens.caller(parts)? {
            Caller::Agent { token } => Ok(AgentCaller {
                token,
                client: client_of(parts),
            }),
            Caller::Operator { name, .. } => Err(ApiError::forbidden(format!(
                "{name} holds an operator token; the agent endpoints need an agent token (opsdeck token new NAME --agent)"
            ))
            .because("operator-on-agent-route")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::bearer;

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for header in ["Bearer t0k", "bearer t0k", "BEARER t0k", "  bEaReR t0k"] {
            assert_eq!(bearer(header), Some("t0k"), "{header}");
        }
        assert_eq!(bearer("Basic dXNlcg=="), None);
        assert_eq!(bearer("Bearer"), None);
    }
}
