//! Who may call which route, as one table: the server admits callers by it (before any handler
//! runs) and the tests iterate it for every kind of caller. The table decides the kind of token
//! a route takes and refuses viewers on actions; whether a role acts in an item's domain, and
//! at its level, is the engine's authority check (the item's domain is known only there).

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::auth::{Caller, outside_agent_scope};
use super::problem::ApiError;
use super::state::AppState;
use crate::authority::Denied;
use crate::model::Role;

/// What a route admits at the boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No token: health and the API description.
    Open,
    /// Any known token, operator or agent.
    AnyToken,
    /// Operator tokens of any role: reads.
    Operators,
    /// Operator tokens whose role acts: viewers are refused here, roles of another domain (or
    /// too low a level for the item) by the engine.
    Acting,
    /// Operator tokens whose role may reveal: viewers (headers and summaries only) are refused
    /// here, roles of another domain than the record's by the engine (`authority::may_reveal`:
    /// the record's domain is known only there), as are records that are missing or not
    /// sensitive.
    Reveal,
    /// Agent tokens: the agent endpoints, for the agents each token registered.
    Agents,
    /// Operator tokens, unless `[server] metrics_open`.
    Metrics,
}

/// One route of the API and what it admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteRule {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
}

const fn rule(method: &'static str, path: &'static str, access: Access) -> RouteRule {
    RouteRule {
        method,
        path,
        access,
    }
}

/// Every route the server serves (a test checks this against the router's OpenAPI document).
pub const ROUTES: &[RouteRule] = &[
    rule("GET", "/healthz", Access::Open),
    rule("GET", "/openapi.json", Access::Open),
    rule("GET", "/metrics", Access::Metrics),
    rule("GET", "/v1/whoami", Access::AnyToken),
    rule("GET", "/v1/snapshot", Access::Operators),
    rule("GET", "/v1/events", Access::Operators),
    rule("GET", "/v1/audit", Access::Operators),
    rule("GET", "/v1/audit/count", Access::Operators),
    rule("GET", "/v1/items/{kind}", Access::Operators),
    rule("GET", "/v1/items/{kind}/{id}", Access::Operators),
    rule("POST", "/v1/claims/{id}", Access::Operators),
    rule("POST", "/v1/audit/{seq}/reveal", Access::Reveal),
    rule("POST", "/v1/approvals/{id}/decision", Access::Acting),
    rule("POST", "/v1/incidents", Access::Acting),
    rule("POST", "/v1/incidents/{id}/actions", Access::Acting),
    rule("POST", "/v1/rollouts/{id}/actions", Access::Acting),
    rule("POST", "/v1/agents/{id}/actions", Access::Acting),
    rule("GET", "/v1/agent/state", Access::Agents),
    rule("POST", "/v1/agent/register", Access::Agents),
    rule("POST", "/v1/agent/heartbeat", Access::Agents),
    rule("POST", "/v1/agent/lease", Access::Agents),
    rule("POST", "/v1/agent/complete", Access::Agents),
    rule("POST", "/v1/agent/escalations", Access::Agents),
    rule("GET", "/v1/agent/escalations/{id}", Access::Agents),
    rule("POST", "/v1/hooks/claude-code", Access::Agents),
    rule("GET", "/v1/policy", Access::AnyToken),
    rule("POST", "/v1/agent/permission", Access::Agents),
    rule("POST", "/v1/agent/incidents", Access::Agents),
    rule("POST", "/v1/agent/tasks", Access::Agents),
    rule("POST", "/v1/agent/executions", Access::Agents),
];

/// The kinds of caller the matrix is tried with ("here": the item's domain).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallerKind {
    NoToken,
    WrongToken,
    Agent,
    Viewer,
    OncallHere,
    LeadHere,
    OncallElsewhere,
    LeadElsewhere,
    Enterprise,
    Executive,
}

impl CallerKind {
    pub const ALL: [CallerKind; 10] = [
        CallerKind::NoToken,
        CallerKind::WrongToken,
        CallerKind::Agent,
        CallerKind::Viewer,
        CallerKind::OncallHere,
        CallerKind::LeadHere,
        CallerKind::OncallElsewhere,
        CallerKind::LeadElsewhere,
        CallerKind::Enterprise,
        CallerKind::Executive,
    ];

    /// The operator role of this kind, for an item of `domain` (`other` is another domain).
    pub fn role(self, domain: &str, other: &str) -> Option<Role> {
        match self {
            CallerKind::Viewer => Some(Role::Viewer),
            CallerKind::OncallHere => Some(Role::Oncall(domain.into())),
            CallerKind::LeadHere => Some(Role::Lead(domain.into())),
            CallerKind::OncallElsewhere => Some(Role::Oncall(other.into())),
            CallerKind::LeadElsewhere => Some(Role::Lead(other.into())),
            CallerKind::Enterprise => Some(Role::Enterprise),
            CallerKind::Executive => Some(Role::Executive),
            CallerKind::NoToken | CallerKind::WrongToken | CallerKind::Agent => None,
        }
    }
}

/// What a caller gets from a route, for an item its role's level may act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    Unauthorized,
    Forbidden,
}

/// The table's answer for one route and one kind of caller.
pub fn verdict(access: Access, caller: CallerKind, metrics_open: bool) -> Verdict {
    use CallerKind as C;
    let token = !matches!(caller, C::NoToken | C::WrongToken);
    match access {
        Access::Open => Verdict::Allowed,
        Access::Metrics if metrics_open => Verdict::Allowed,
        _ if !token => Verdict::Unauthorized,
        Access::AnyToken => Verdict::Allowed,
        Access::Agents if caller == C::Agent => Verdict::Allowed,
        Access::Agents => Verdict::Forbidden,
        _ if caller == C::Agent => Verdict::Forbidden,
        Access::Operators | Access::Metrics => Verdict::Allowed,
        Access::Acting | Access::Reveal => match caller {
            C::Viewer | C::OncallElsewhere | C::LeadElsewhere => Verdict::Forbidden,
            _ => Verdict::Allowed,
        },
    }
}

/// The rule for a request, by its method and route template.
pub fn rule_for(method: &str, path: &str) -> Option<&'static RouteRule> {
    ROUTES
        .iter()
        .find(|r| r.method.eq_ignore_ascii_case(method) && r.path == path)
}

/// Admits a request by [`ROUTES`] before its handler runs; a refusal is a 401 or 403 problem
/// labelled with its reason (logged and counted by the request log).
pub async fn authorize(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let rule = request
        .extensions()
        .get::<MatchedPath>()
        .and_then(|p| rule_for(request.method().as_str(), p.as_str()));
    let Some(rule) = rule else {
        // Unknown routes and methods answer 404 and 405 from the router.
        return next.run(request).await;
    };
    let (parts, body) = request.into_parts();
    if let Err(refusal) = admit(&state, rule, &parts) {
        return refusal.into_response();
    }
    next.run(Request::from_parts(parts, body)).await
}

fn admit(
    state: &AppState,
    rule: &RouteRule,
    parts: &axum::http::request::Parts,
) -> Result<(), ApiError> {
    let needs_token = match rule.access {
        Access::Open => false,
        Access::Metrics => !state.metrics_open,
        _ => true,
    };
    if !needs_token {
        return Ok(());
    }
    let caller = state.tokens.caller(parts)?;
    match (rule.access, caller) {
        (Access::AnyToken, _) => Ok(()),
        (Access::Agents, Caller::Agent { .. }) => Ok(()),
        (Access::Agents, Caller::Operator { name, .. }) => Err(ApiError::forbidden(format!(
            "{name} holds an operator token; the agent endpoints need an agent token (opsdeck token new NAME --agent)"
        ))
        .because("operator-on-agent-route")),
        (_, Caller::Agent { token }) => Err(outside_agent_scope(&token)),
        (Access::Acting | Access::Reveal, Caller::Operator { role: Role::Viewer, .. }) => {
            Err(ApiError::forbidden(Denied::ReadOnly.to_string()).because("role"))
        }
        (_, Caller::Operator { .. }) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::OpenApi;

    /// The table and the router's API description list the same routes and methods.
    #[test]
    fn every_route_is_in_the_table_once() {
        let doc = crate::server::ApiDoc::openapi();
        let mut documented = Vec::new();
        for (path, item) in &doc.paths.paths {
            for (method, op) in [("GET", &item.get), ("POST", &item.post)] {
                if op.is_some() {
                    documented.push((method, path.clone()));
                }
            }
        }
        documented.sort();
        let mut table: Vec<(&str, String)> = ROUTES
            .iter()
            .map(|r| (r.method, r.path.to_string()))
            .collect();
        table.sort();
        let before = table.len();
        table.dedup();
        assert_eq!(before, table.len(), "a route is in the table twice");
        assert_eq!(table, documented);
    }

    #[test]
    fn agent_tokens_reach_only_the_agent_endpoints_and_whoami() {
        for r in ROUTES {
            let agent = verdict(r.access, CallerKind::Agent, false);
            // The agents' own routes, Claude Code's hooks, and what any token may read.
            let theirs = r.path.starts_with("/v1/agent/")
                || r.path.starts_with("/v1/hooks/")
                || r.path == "/v1/whoami"
                || r.path == "/v1/policy";
            let open = r.access == Access::Open;
            assert_eq!(
                agent == Verdict::Allowed,
                theirs || open,
                "{} {}",
                r.method,
                r.path
            );
        }
    }
}
