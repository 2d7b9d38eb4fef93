//! `opsdeck hooks print`: the Claude Code settings that send a session's hooks to opsdeck. A
//! hook that cannot reach opsdeck is by default a non-blocking error in Claude Code (the call
//! carries on), so the deciding hooks say `onFailure: block`, and the policy's deny and
//! escalate rules are also written as Claude Code's own `permissions` (for versions without
//! `onFailure`): opsdeck being unreachable never means a silent allow.

use serde_json::{Value, json};

use super::context::Context;
use super::error::CliError;
use crate::config::policy::{Policy, PolicyConfig, Verdict};
use crate::link::AgentLink;

/// Seconds Claude Code gives a hook that answers at once.
const QUICK_TIMEOUT_S: u64 = 10;

pub fn print(ctx: &Context, agent: &str, domain: &str, url: Option<&str>) -> Result<(), CliError> {
    let target = ctx.target()?;
    let base = match (url, &target) {
        (Some(u), _) => u.to_string(),
        (None, Some(t)) => t.url.clone(),
        (None, None) => {
            return Err(CliError::Usage(
                "where do the hooks go? give --url URL (as Claude Code reaches the orchestrator), or --connect URL / --context NAME".into(),
            ));
        }
    };
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err(CliError::Usage(format!(
            "{base:?} is not an http:// or https:// URL"
        )));
    }
    // The server's own table when we can reach it (the settings must match what it enforces),
    // else this config's.
    let config = match &target {
        Some(t) => fetch_policy(t)?,
        None => ctx.config.server.policy.clone(),
    };
    let policy = Policy::from_config(&config).map_err(CliError::Usage)?;
    let settings = settings(&base, agent, domain, &policy);
    let text = serde_json::to_string_pretty(&settings).expect("JSON values serialise");
    let mut out = std::io::stdout().lock();
    std::io::Write::write_all(&mut out, format!("{text}\n").as_bytes())?;
    Ok(std::io::Write::flush(&mut out)?)
}

fn fetch_policy(target: &crate::link::Target) -> Result<PolicyConfig, CliError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Runtime(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let link = AgentLink::connect_any(target).await?;
        Ok(link.policy().await?)
    })
}

/// The settings JSON for `agent` at `base`.
pub fn settings(base: &str, agent: &str, domain: &str, policy: &Policy) -> Value {
    let mut url = reqwest::Url::parse(base).unwrap_or_else(|_| {
        reqwest::Url::parse("http://127.0.0.1:7300/").expect("a fixed URL parses")
    });
    url.path_segments_mut()
        .map(|mut p| {
            p.pop_if_empty().extend(["v1", "hooks", "claude-code"]);
        })
        .ok();
    url.query_pairs_mut()
        .append_pair("agent", agent)
        .append_pair("domain", domain);
    // A hook that waits for people must outlast the wait.
    let waiting = policy.wait_s + 15;
    let hook = |timeout: u64| {
        json!({
            "type": "http",
            "url": url.as_str(),
            "headers": { "Authorization": "Bearer $OPSDECK_TOKEN" },
            "allowedEnvVars": ["OPSDECK_TOKEN"],
            "timeout": timeout,
        })
    };
    // The two hooks that decide: if opsdeck cannot answer (down, timed out, a bad answer), the
    // call is blocked rather than waved through (Claude Code's `onFailure`, 2.1.332).
    let deciding = |timeout: u64| {
        let mut h = hook(timeout);
        h["onFailure"] = json!("block");
        h
    };
    let ask: Vec<String> = policy
        .patterns(|v| matches!(v, Verdict::Escalate(_)))
        .iter()
        .map(|p| claude_pattern(p))
        .collect();
    let deny: Vec<String> = policy
        .patterns(|v| v == Verdict::Deny)
        .iter()
        .map(|p| claude_pattern(p))
        .collect();
    // Claude Code runs no HTTP hook on SessionStart (2.1.332 skips them), so that one is a
    // command: curl posts the hook input it reads on stdin, and prints the answer.
    let session_start = json!({
        "type": "command",
        "command": format!(
            "curl -fsS -m {QUICK_TIMEOUT_S} -H \"Authorization: Bearer $OPSDECK_TOKEN\" -H 'Content-Type: application/json' --data-binary @- '{}'",
            url.as_str()
        ),
        "timeout": QUICK_TIMEOUT_S,
    });
    json!({
        "hooks": {
            "SessionStart": [{ "hooks": [session_start] }],
            "PreToolUse": [{ "matcher": "*", "hooks": [deciding(waiting)] }],
            "PermissionRequest": [{ "matcher": "*", "hooks": [deciding(waiting)] }],
            "PostToolUse": [{ "matcher": "*", "hooks": [hook(QUICK_TIMEOUT_S)] }],
            "Stop": [{ "hooks": [hook(QUICK_TIMEOUT_S)] }],
        },
        "permissions": { "ask": ask, "deny": deny },
    })
}

/// A policy pattern as Claude Code's permissions read it: there, `Edit(/etc/**)` is relative to
/// the settings file, so an absolute path (as opsdeck's policy means it) is written `//etc/**`.
pub fn claude_pattern(pattern: &str) -> String {
    const PATH_TOOLS: [&str; 8] = [
        "Edit",
        "Write",
        "MultiEdit",
        "NotebookEdit",
        "Read",
        "Grep",
        "Glob",
        "LS",
    ];
    if let Some((tool, rest)) = pattern.split_once('(')
        && PATH_TOOLS.contains(&tool)
        && rest.starts_with('/')
        && !rest.starts_with("//")
    {
        return format!("{tool}(/{rest}");
    }
    pattern.to_string()
}
