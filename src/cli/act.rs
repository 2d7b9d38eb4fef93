//! The commands that change something: decisions, incident and rollout actions, agents.

use super::args::{DecideArgs, IncidentArgs, IncidentCmd, RolloutArgs};
use super::context::Context;
use super::error::CliError;
use super::output::emit_one;
use crate::model::Approval;
use crate::protocol::{
    ActOnAgent, ActOnApproval, ActOnIncident, ActOnRollout, AgentAction, ApprovalAction, Command,
    DeclareIncident, IncidentAction, Reply,
};

fn run(ctx: &Context, command: Command) -> Result<Reply, CliError> {
    ctx.require_writable()?;
    let outcome = ctx.with_link(|link| async move { link.send(command).await })?;
    Ok(outcome.reply)
}

fn approval_line(a: &Approval) -> String {
    let votes = a
        .votes
        .iter()
        .map(|v| v.by.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "{} {} at {} level ({} of {} approvals{}); version {}",
        a.id,
        a.state.as_str(),
        a.level,
        a.votes.len(),
        a.quorum,
        if votes.is_empty() {
            String::new()
        } else {
            format!(": {votes}")
        },
        a.version
    )
}

pub fn decide(ctx: &Context, decision: ApprovalAction, args: &DecideArgs) -> Result<(), CliError> {
    let command = Command::ActOnApproval(ActOnApproval {
        id: args.id.clone(),
        decision,
        reason: args.reason.clone(),
        option: args.option.clone(),
        version: args.version,
    });
    match run(ctx, command)? {
        Reply::Approval(a) => emit_one(ctx.format(), &a, || approval_line(&a)),
        other => unexpected(other),
    }
}

fn unexpected(reply: Reply) -> Result<(), CliError> {
    Err(CliError::Runtime(format!(
        "unexpected reply from the engine: {reply:?}"
    )))
}

pub fn incident(ctx: &Context, cmd: &IncidentCmd) -> Result<(), CliError> {
    let (args, action): (&IncidentArgs, IncidentAction) = match cmd {
        IncidentCmd::Ack(a) => (a, IncidentAction::Ack),
        IncidentCmd::Escalate(a) => (a, IncidentAction::Escalate),
        IncidentCmd::Mitigate(a) => (a, IncidentAction::Mitigate),
        IncidentCmd::Resolve(a) => (a, IncidentAction::Resolve),
        IncidentCmd::Note(a) => (a, IncidentAction::Note),
        IncidentCmd::Declare {
            severity,
            domain,
            title,
        } => {
            let command = Command::DeclareIncident(DeclareIncident {
                severity: *severity,
                title: title.clone(),
                domain: domain.clone(),
            });
            return match run(ctx, command)? {
                Reply::Incident(i) => emit_one(ctx.format(), &i, || {
                    format!(
                        "{} opened ({}, {}): {}",
                        i.id,
                        i.severity.as_str(),
                        i.domain,
                        i.title
                    )
                }),
                other => unexpected(other),
            };
        }
    };
    let command = Command::ActOnIncident(ActOnIncident {
        id: args.id.clone(),
        action,
        note: args.note.clone(),
        version: args.version,
    });
    match run(ctx, command)? {
        Reply::Incident(i) => emit_one(ctx.format(), &i, || {
            format!(
                "{} {} {}; version {}",
                i.id,
                i.severity.as_str(),
                i.state.as_str(),
                i.version
            )
        }),
        other => unexpected(other),
    }
}

pub fn rollout(ctx: &Context, args: &RolloutArgs) -> Result<(), CliError> {
    let action = args.action;
    let command = Command::ActOnRollout(ActOnRollout {
        id: args.id.clone(),
        action,
        reason: args.reason.clone(),
        version: args.version,
    });
    match run(ctx, command)? {
        Reply::Rollout(r) => emit_one(ctx.format(), &r, || {
            format!(
                "{} {} {} at {} ({}%); version {}",
                r.id,
                r.name,
                r.state.as_str(),
                r.current_phase,
                r.percent(),
                r.version
            )
        }),
        other => unexpected(other),
    }
}

pub fn agent(
    ctx: &Context,
    action: AgentAction,
    id: &str,
    reason: Option<String>,
) -> Result<(), CliError> {
    let command = Command::ActOnAgent(ActOnAgent {
        id: id.to_string(),
        action,
        reason,
    });
    match run(ctx, command)? {
        Reply::Agent(a) => emit_one(ctx.format(), &a, || {
            format!("{} ({}) {}", a.id, a.name, a.status.as_str())
        }),
        other => unexpected(other),
    }
}
