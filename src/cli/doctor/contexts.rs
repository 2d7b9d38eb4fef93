//! The orchestrators this operator can act on, and whether each answers.
//!
//! MERGE POINT (remote link, issue 4): add one `ContextCheck` per `[[contexts]]` entry in
//! `check_contexts`: whether its orchestrator answers (`GET /healthz`), and who its token says
//! the operator is (name and role, from the server). Keep the embedded entry first. `doctor`
//! prints every entry and counts each `problem` as a problem.

use serde::Serialize;

use crate::config::Config;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContextCheck {
    pub name: String,
    /// `embedded` (in this process) or `remote`.
    pub kind: &'static str,
    /// The store path, or the remote's URL.
    pub target: String,
    /// Whether it answered; `None` where there is nothing to ask (embedded).
    pub answers: Option<bool>,
    /// Who the operator is there: `operator:alice (enterprise)`.
    pub identity: String,
    /// What is wrong, if anything, in words.
    pub problem: Option<String>,
}

/// One entry per context. `operator` is the local operator name (`--as`, `[operator] name`, or
/// the OS user), and `store` the store the embedded orchestrator runs on.
pub fn check_contexts(config: &Config, operator: &str, store: &str) -> Vec<ContextCheck> {
    vec![ContextCheck {
        name: "embedded".into(),
        kind: "embedded",
        target: store.to_string(),
        answers: None,
        identity: format!("operator:{operator} ({})", config.operator.role),
        problem: None,
    }]
}
