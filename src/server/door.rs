//! What the doors for real agents share (the Claude Code hook endpoint and the MCP server on
//! `/mcp`): finding the agent a token acts as, raising an escalation at most once per tool call,
//! and the policy's answer to a tool call, waiting for people where it escalates.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::auth::AgentCaller;
use super::escalations::wait_for;
use super::problem::ApiError;
use super::state::AppState;
use crate::config::policy::{Ruling, Verdict};
use crate::model::{ApprovalState, Classification, ToolCall};
use crate::protocol::{
    Command, Decision, Executed, Heartbeat, IdempotencyKey, Outcome, RaiseEscalation,
    RecordExecution, RegisterAgent, Reply, limits,
};

/// Agents found or registered for a token, by (token, name): a hook per tool call must not
/// read the whole live set to find its agent.
#[derive(Default)]
pub struct Known(Mutex<HashMap<(String, String), String>>);

/// Escalations raised for tool calls lately, by (token, session, tool, input): Claude Code's
/// PermissionRequest carries no tool_use_id, and must find the escalation its PreToolUse
/// raised rather than raise a second one.
#[derive(Default)]
pub struct Recent(Mutex<HashMap<String, (String, std::time::Instant)>>);

/// How long a PermissionRequest may come after its PreToolUse.
const RECENT: Duration = Duration::from_secs(600);

/// The agent `name` of the calling token (registered in `domain` under that name on first
/// use); without a name, the token's one agent, or one named after the token.
pub async fn agent(
    state: &Arc<AppState>,
    caller: &AgentCaller,
    name: Option<&str>,
    domain: &str,
) -> Result<String, ApiError> {
    let token = caller.token.name.clone();
    let name = name.unwrap_or(&token).to_string();
    let cache_key = (token.clone(), name.clone());
    if let Some(id) = state
        .known
        .0
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&cache_key)
    {
        return Ok(id.clone());
    }
    let snapshot = state.orchestrator.snapshot().await?;
    let ours = snapshot
        .agents
        .iter()
        .filter(|a| caller.token.acts_for(&a.id, a.owner.as_deref()))
        .find(|a| a.name == name || a.id == name)
        .map(|a| a.id.clone());
    let id = match ours {
        Some(id) => id,
        None if crate::protocol::is_agent_id(&name) => {
            return Err(ApiError::forbidden(format!(
                "{name} is not one of this token's agents: a token acts only for the agents it registered"
            )));
        }
        None => {
            let register = Command::RegisterAgent(RegisterAgent {
                name: name.clone(),
                domain: domain.to_string(),
                team: "agents".into(),
                skills: vec![],
                version: "claude-code".into(),
            });
            let key = format!("door-register:{name}:{domain}");
            let reply = run_once(state, caller, caller.actor(&token), register, &key).await?;
            match reply {
                Reply::Created { id } => id,
                Reply::Agent(a) => a.id,
                other => {
                    return Err(ApiError::unprocessable(format!(
                        "registering {name} answered {other:?}"
                    )));
                }
            }
        }
    };
    state
        .known
        .0
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(cache_key, id.clone());
    Ok(id)
}

/// Runs `command` once per `key` in the token's key scope (a retry, or the same tool call
/// asked about twice, gets the first answer back), and gives its reply.
async fn run_once(
    state: &Arc<AppState>,
    caller: &AgentCaller,
    actor: crate::protocol::Actor,
    command: Command,
    key: &str,
) -> Result<Reply, ApiError> {
    let fingerprint = hex::encode(Sha256::digest(command.body().to_string().as_bytes()));
    let key = IdempotencyKey {
        caller: format!("token:{}", caller.token.name),
        key: key.to_string(),
        fingerprint,
    };
    match state.orchestrator.execute_once(actor, command, key).await? {
        Executed::Fresh(outcome) => Ok(outcome.reply),
        Executed::Replayed(recorded) => serde_json::from_str::<Outcome>(&recorded.body)
            .map(|o| o.reply)
            .map_err(|_| {
                ApiError::unprocessable(
                    "this request was answered before with an error; change it to try again",
                )
            }),
    }
}

/// A tool call an agent asks about, from a hook or an MCP client.
pub struct Ask {
    pub agent: String,
    pub tool: ToolCall,
    pub session: Option<String>,
    pub cwd: Option<String>,
}

/// What the policy and, where it escalates, people said.
pub enum Answer {
    Allow(String),
    Deny(String),
    /// Nobody here decides: the agent framework asks its user as usual.
    Defer,
    /// Escalated and not yet decided.
    Pending {
        decision: Decision,
        reason: String,
    },
}

/// The policy's ruling on `ask`; an escalation is raised once per call and waited on for up
/// to `wait`.
pub async fn permission(
    state: &Arc<AppState>,
    caller: &AgentCaller,
    ask: &Ask,
    wait: Duration,
) -> Result<(Answer, Ruling), ApiError> {
    let ruling = state
        .policy
        .rule(&ask.tool.name, &ask.tool.input, ask.cwd.as_deref());
    let rule = ruling.rule.clone().unwrap_or_else(|| "the default".into());
    let answer = match ruling.verdict {
        Verdict::Allow => Answer::Allow(format!("opsdeck policy: {rule} allows it")),
        Verdict::Deny => Answer::Deny(format!("opsdeck policy: {rule} denies it")),
        Verdict::Defer => Answer::Defer,
        Verdict::Escalate(category) => {
            let id = raise_for(state, caller, ask, category, &rule).await?;
            let decision = wait_for(state, &caller.token, &id, wait).await?;
            answer_of(decision, &rule)
        }
    };
    Ok((answer, ruling))
}

fn answer_of(d: Decision, rule: &str) -> Answer {
    let id = d.escalation_id.clone();
    let by = |d: &Decision| {
        d.votes
            .last()
            .map(|v| format!(" by {} ({}): {}", v.by, v.role, v.reason))
            .unwrap_or_default()
    };
    match d.state {
        ApprovalState::Approved => Answer::Allow(format!("opsdeck {id} approved{}", by(&d))),
        ApprovalState::Rejected => Answer::Deny(format!("opsdeck {id} rejected{}", by(&d))),
        ApprovalState::Expired => Answer::Deny(format!(
            "opsdeck {id} expired undecided: nobody decided it in time; do not run it"
        )),
        ApprovalState::Cancelled => Answer::Deny(format!("opsdeck {id} was cancelled")),
        ApprovalState::Pending => Answer::Pending {
            reason: format!(
                "opsdeck {id}: {rule} sends this call to people, who have not decided yet ({} of {} approvals); ask opsdeck again with the id, or wait",
                d.quorum.have, d.quorum.needed
            ),
            decision: d,
        },
    }
}

/// The escalation for this tool call: raised the first time it is asked about, the same one
/// after (by an idempotency key made of the session, the tool and its input).
async fn raise_for(
    state: &Arc<AppState>,
    caller: &AgentCaller,
    ask: &Ask,
    category: crate::model::Category,
    rule: &str,
) -> Result<String, ApiError> {
    let input = serde_json::to_string(&ask.tool.input).unwrap_or_default();
    let call = hex::encode(Sha256::digest(
        format!(
            "{}\u{0}{}\u{0}{}\u{0}{}",
            caller.token.name,
            ask.session.as_deref().unwrap_or(""),
            ask.tool.name,
            input
        )
        .as_bytes(),
    ));
    {
        let mut recent = state.recent.0.lock().unwrap_or_else(|e| e.into_inner());
        recent.retain(|_, (_, at)| at.elapsed() < RECENT);
        if ask.tool.tool_use_id.is_none()
            && let Some((id, _)) = recent.get(&call)
        {
            return Ok(id.clone());
        }
    }
    let shown = clip(&one_line(&input), 200);
    let key = hex::encode(Sha256::digest(
        format!(
            "{}\u{0}{}\u{0}{}\u{0}{}",
            ask.session.as_deref().unwrap_or(""),
            ask.tool.name,
            input,
            ask.tool.tool_use_id.as_deref().unwrap_or("")
        )
        .as_bytes(),
    ));
    let raise = Command::RaiseEscalation(RaiseEscalation {
        agent: ask.agent.clone(),
        category,
        summary: clip(
            &format!("{} wants to run {}: {shown}", ask.agent, ask.tool.name),
            limits::SUMMARY.max_chars,
        ),
        context: clip(
            &format!(
                "The agent asked to call {} (policy rule {rule}). Input:\n{input}",
                ask.tool.name
            ),
            limits::CONTEXT.max_chars,
        ),
        options_considered: vec!["allow this call".into(), "deny this call".into()],
        recommendation: String::new(),
        classification: Classification::Internal,
        related_tasks: vec![],
        tool_call: Some(Box::new(ask.tool.clone())),
        session: ask.session.clone().map(|s| clip(&s, 200)),
        callback_url: None,
        policy_rule: Some(clip(rule, 300)),
    });
    match run_once(
        state,
        caller,
        caller.actor(&ask.agent),
        raise,
        &format!("door-raise:{key}"),
    )
    .await?
    {
        Reply::Created { id } => {
            state
                .recent
                .0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(call, (id.clone(), std::time::Instant::now()));
            Ok(id)
        }
        other => Err(ApiError::unprocessable(format!(
            "raising an escalation answered {other:?}"
        ))),
    }
}

/// Records a notable execution (a tool that ran, a session that stopped) in the trail.
pub async fn record(
    state: &Arc<AppState>,
    caller: &AgentCaller,
    agent: &str,
    summary: &str,
    context: &str,
    outcome: &str,
) -> Result<(), ApiError> {
    let command = Command::RecordExecution(RecordExecution {
        agent: agent.to_string(),
        summary: clip(&one_line(summary), limits::EXECUTION_SUMMARY.max_chars),
        context: clip(context, limits::CONTEXT.max_chars),
        outcome: clip(outcome, limits::REASON.max_chars),
        related_tasks: vec![],
    });
    state
        .orchestrator
        .execute(caller.actor(agent), command)
        .await?;
    Ok(())
}

/// The agent reported in.
pub async fn seen(
    state: &Arc<AppState>,
    caller: &AgentCaller,
    agent: &str,
) -> Result<(), ApiError> {
    let command = Command::Heartbeat(Heartbeat {
        agent: agent.to_string(),
    });
    state
        .orchestrator
        .execute(caller.actor(agent), command)
        .await?;
    Ok(())
}

/// At most `n` characters (a field limit counts characters).
pub fn clip(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        None => s.to_string(),
        Some((at, _)) => {
            let mut out: String = s[..at].chars().take(n.saturating_sub(1)).collect();
            out.push('…');
            out
        }
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
