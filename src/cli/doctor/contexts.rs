//! The orchestrators this operator can act on, and whether each answers: the embedded one, then
//! every `[[contexts]]` entry, asked who its token belongs to (`GET /v1/whoami`).

use serde::Serialize;

use crate::config::Config;
use crate::config::context::ContextConfig;
use crate::link::{LinkError, Remote};

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

/// One entry per context. `identity` is the local operator as the embedded orchestrator knows
/// them, and `store` the store it runs on.
pub fn check_contexts(config: &Config, identity: &str, store: &str) -> Vec<ContextCheck> {
    let mut checks = vec![ContextCheck {
        name: "embedded".into(),
        kind: "embedded",
        target: store.to_string(),
        answers: None,
        identity: identity.to_string(),
        problem: None,
    }];
    if config.contexts.is_empty() {
        return checks;
    }
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return checks;
    };
    for context in &config.contexts {
        checks.push(runtime.block_on(check_remote(context)));
    }
    checks
}

/// Asks the context's orchestrator who its token belongs to; a wrong URL, an unreachable
/// server and a refused token each say so.
async fn check_remote(context: &ContextConfig) -> ContextCheck {
    let mut check = ContextCheck {
        name: context.name.clone(),
        kind: "remote",
        target: context.url.clone(),
        answers: None,
        identity: String::new(),
        problem: None,
    };
    let target = match context.target() {
        Ok(target) => target,
        Err(e) => {
            check.problem = Some(e.to_string());
            return check;
        }
    };
    let connected = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        Remote::connect(&target, context.read_only),
    )
    .await;
    match connected {
        Ok(Ok(remote)) => {
            let info = remote.info();
            check.answers = Some(true);
            check.identity = format!(
                "operator:{} ({}) on {}{}",
                info.operator,
                info.role,
                info.name,
                if info.read_only { ", read-only" } else { "" }
            );
        }
        Ok(Err(LinkError::Unavailable(why))) => {
            check.answers = Some(false);
            check.problem = Some(why);
        }
        Ok(Err(e)) => {
            // It answered, and refused: a bad token or an agent token.
            check.answers = Some(true);
            check.problem = Some(e.to_string());
        }
        Err(_) => {
            check.answers = Some(false);
            check.problem = Some("no answer within 10 s".into());
        }
    }
    check
}
