//! `opsdeck escalate`: an operator escalates an approval one level up, or, with an agent token,
//! a script raises an escalation and waits for people to decide it (a manual judgment in a
//! pipeline). The exit code is the decision: 0 approved, 3 rejected, 4 expired, cancelled or
//! not decided within the wait.

use std::time::{Duration, Instant};

use super::act;
use super::args::{DecideArgs, EscalateArgs, RaiseArgs};
use super::context::Context;
use super::error::CliError;
use super::output::emit_lines;
use crate::link::{AgentLink, LinkError, backoff};
use crate::model::{ApprovalState, Category, Classification};
use crate::protocol::{
    ApprovalAction, Command, Decision, RaiseEscalation, RegisterAgent, Reply, WAIT_MAX_S,
};

/// Tries of one raise whose answer was lost (safe: each carries the same key).
const RAISE_ATTEMPTS: u32 = 6;

pub fn escalate(ctx: &Context, args: &EscalateArgs) -> Result<(), CliError> {
    let raising = args.raise.category.is_some() || args.raise.summary.is_some();
    match (&args.id, raising) {
        (Some(_), true) => Err(CliError::Usage(
            "give an approval id to escalate it (with --reason), or --category and --summary to raise a new one; not both".into(),
        )),
        (Some(id), false) => {
            let reason = args.reason.clone().ok_or_else(|| {
                CliError::Usage(format!("escalating {id} needs --reason \"why\""))
            })?;
            act::decide(
                ctx,
                ApprovalAction::Escalate,
                &DecideArgs {
                    id: id.clone(),
                    reason,
                    version: args.version,
                    option: None,
                },
            )
        }
        (None, false) => Err(CliError::Usage(
            "escalate what? `opsdeck escalate APR-12 --reason WHY` hands an approval up; `opsdeck escalate --category C --summary S [--wait 30m]` raises one as an agent".into(),
        )),
        (None, true) => raise(ctx, &args.raise),
    }
}

fn usage(e: impl std::fmt::Display) -> CliError {
    CliError::Usage(e.to_string())
}

/// The request the flags describe, checked before anything is sent.
fn request(args: &RaiseArgs) -> Result<(RaiseEscalation, Option<Duration>), CliError> {
    let category = Category::parse(args.category.as_deref().unwrap_or_default()).map_err(usage)?;
    let summary = args
        .summary
        .clone()
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| usage("--summary \"one line people see first\" is needed to raise"))?;
    let wait = match &args.wait {
        None => None,
        Some(w) => {
            let d = crate::duration::parse(w).map_err(usage)?;
            Some(d.to_std().map_err(|_| usage("--wait must be positive"))?)
        }
    };
    let recommendation = args
        .recommendation
        .clone()
        .or_else(|| args.options.first().cloned())
        .unwrap_or_default();
    Ok((
        RaiseEscalation {
            agent: String::new(),
            category,
            summary,
            context: args.details.clone(),
            options_considered: args.options.clone(),
            recommendation,
            classification: Classification::parse(&args.classification).map_err(usage)?,
            related_tasks: args.related_tasks.clone(),
            tool_call: None,
            session: args.session.clone(),
            callback_url: args.callback_url.clone(),
            policy_rule: None,
        },
        wait,
    ))
}

fn raise(ctx: &Context, args: &RaiseArgs) -> Result<(), CliError> {
    let (mut body, wait) = request(args)?;
    let target = ctx.target()?.ok_or_else(|| {
        usage(
            "raising an escalation is for agents of a served orchestrator: give --connect URL (or --context NAME) and an agent token in OPSDECK_TOKEN",
        )
    })?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Runtime(format!("cannot start the async runtime: {e}")))?;
    let format = ctx.format();
    // The wait covers the whole run: an orchestrator restarting when the gate starts is
    // waited for too.
    let deadline = wait.map(|w| Instant::now() + w);
    runtime.block_on(async move {
        let (link, agent) = join(&target, args, deadline).await?;
        body.agent = agent.id.clone();
        let id = send_raise(&link, &body).await?;
        eprintln!(
            "{id} raised as {} ({}); decide it in the console's approvals, or: opsdeck approve {id} --reason WHY",
            agent.id,
            body.category.as_str()
        );
        eprintln!("  {}v1/items/approvals/{id}", link.base_url());
        let Some(deadline) = deadline else {
            let decision = link.decision(&id, 0).await?;
            return report(format, &decision, false);
        };
        let decision = wait_for(&link, &id, deadline).await?;
        report(format, &decision, true)
    })
}

/// Connects and finds (or registers) the agent; with a wait, an orchestrator that cannot be
/// reached yet is asked again with backoff until the wait ends.
async fn join(
    target: &crate::link::Target,
    args: &RaiseArgs,
    deadline: Option<Instant>,
) -> Result<(AgentLink, crate::model::Agent), CliError> {
    let mut attempt = 0;
    loop {
        let tried = async {
            let link = AgentLink::connect(target).await?;
            let register = RegisterAgent {
                name: link.name.clone(),
                domain: args.domain.clone(),
                team: "gate".into(),
                skills: vec![],
                version: env!("CARGO_PKG_VERSION").into(),
            };
            let agent = link.agent(args.agent.as_deref(), &register).await?;
            Ok::<_, LinkError>((link, agent))
        }
        .await;
        match (tried, deadline) {
            (Ok(joined), _) => return Ok(joined),
            (Err(LinkError::Unavailable(why)), Some(deadline)) if Instant::now() < deadline => {
                attempt += 1;
                if attempt == 1 {
                    eprintln!("opsdeck: {why}; trying again until the wait ends");
                }
                let left = deadline.saturating_duration_since(Instant::now());
                tokio::time::sleep(backoff(attempt).min(left)).await;
            }
            (Err(e), _) => return Err(e.into()),
        }
    }
}

async fn send_raise(link: &AgentLink, body: &RaiseEscalation) -> Result<String, CliError> {
    let raise = Command::RaiseEscalation(body.clone());
    let outcome = link.send(&raise, RAISE_ATTEMPTS).await?;
    match outcome.reply {
        Reply::Created { id } => Ok(id),
        other => Err(CliError::Runtime(format!(
            "unexpected answer to raising an escalation: {other:?}"
        ))),
    }
}

/// Long polls until the decision is final or `wait` has passed, riding out a lost orchestrator
/// (a restart, a network blip) by asking again with backoff.
async fn wait_for(link: &AgentLink, id: &str, deadline: Instant) -> Result<Decision, CliError> {
    let mut latest: Option<Decision> = None;
    let mut attempt = 0;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let poll = left.as_secs().clamp(0, WAIT_MAX_S);
        match link.decision(id, poll).await {
            Ok(d) if d.is_final() => return Ok(d),
            Ok(d) => {
                if attempt > 0 {
                    eprintln!("opsdeck: reached the orchestrator again; still waiting on {id}");
                }
                attempt = 0;
                latest = Some(d);
            }
            Err(LinkError::Unavailable(why)) => {
                attempt += 1;
                if attempt == 1 {
                    eprintln!("opsdeck: {why}; still waiting on {id}, asking again");
                }
                tokio::time::sleep(backoff(attempt).min(left)).await;
            }
            Err(e) => return Err(e.into()),
        }
        if Instant::now() >= deadline {
            return latest.ok_or_else(|| {
                CliError::Runtime(format!(
                    "could not reach the orchestrator to learn the decision on {id} within the wait"
                ))
            });
        }
    }
}

/// Prints the decision and turns it into the exit code.
fn report(format: super::args::Format, d: &Decision, waited: bool) -> Result<(), CliError> {
    emit_lines(format, d, || lines(d, waited))?;
    match d.state {
        ApprovalState::Approved => Ok(()),
        ApprovalState::Rejected => Err(CliError::Exit(3)),
        ApprovalState::Pending if !waited => Ok(()),
        ApprovalState::Pending | ApprovalState::Expired | ApprovalState::Cancelled => {
            Err(CliError::Exit(4))
        }
    }
}

fn lines(d: &Decision, waited: bool) -> Vec<String> {
    let id = &d.escalation_id;
    let mut out = Vec::new();
    match d.state {
        ApprovalState::Pending if waited => out.push(format!(
            "{id} still pending at the end of the wait ({} of {} approvals); it expires {}",
            d.quorum.have,
            d.quorum.needed,
            d.expires_at.format("%Y-%m-%d %H:%M UTC")
        )),
        ApprovalState::Pending => out.push(format!(
            "{id} pending ({} of {} approvals); it expires {}",
            d.quorum.have,
            d.quorum.needed,
            d.expires_at.format("%Y-%m-%d %H:%M UTC")
        )),
        ApprovalState::Expired => out.push(format!(
            "{id} expired undecided at {}: nobody decided it in time",
            d.expires_at.format("%Y-%m-%d %H:%M UTC")
        )),
        state => {
            out.push(format!("{id} {}", state.as_str()));
            for v in &d.votes {
                out.push(format!(
                    "  {} ({}) at {}: {}",
                    v.by,
                    v.role,
                    v.at.format("%Y-%m-%d %H:%M:%S UTC"),
                    v.reason
                ));
            }
        }
    }
    if let Some(option) = &d.chosen_option {
        out.push(format!("  chosen option: {option}"));
    }
    out
}
