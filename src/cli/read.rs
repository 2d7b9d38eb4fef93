//! The listing commands: agents, queues, incidents, approvals, rollouts. Each reads the store
//! by index through the link (history included, the engine's live set never loaded), newest
//! first where items have a time.

use super::args::ListArgs;
use super::context::Context;
use super::error::CliError;
use super::output::{Rows, emit_list, left, span, truncate};
use crate::model::{Agent, Approval, Circuit, Incident, Queue, Rollout, Timestamp};
use crate::query::{Item, Listing};

/// The items a listing asks for, and the orchestrator's now (for ages).
pub(super) fn list<T: Item>(
    ctx: &Context,
    args: &ListArgs,
) -> Result<(Vec<T>, Timestamp), CliError> {
    let (items, now, limit) = ctx.with_link(|link| async move {
        let now = link.now();
        let listing = Listing::new(
            T::KIND,
            args.state.as_deref(),
            args.since.as_deref(),
            args.domain.as_deref(),
            args.limit,
            now,
        )
        .map_err(crate::link::LinkError::Invalid)?;
        let limit = listing.limit;
        Ok((link.list::<T>(listing).await?, now, limit))
    })?;
    if items.len() == limit && T::KIND.dated() && matches!(ctx.format(), super::args::Format::Table)
    {
        eprintln!(
            "the newest {limit} {} shown; --limit N (up to {}) or --since for others",
            T::KIND.as_str(),
            crate::query::items::LISTING_MAX
        );
    }
    Ok((items, now))
}

pub fn agents(ctx: &Context, domain: Option<&str>) -> Result<(), CliError> {
    let args = ListArgs {
        domain: domain.map(str::to_string),
        ..ListArgs::default()
    };
    let (agents, at) = list::<Agent>(ctx, &args)?;
    emit_list(ctx.format(), &agents, || Rows {
        headers: &[
            "ID",
            "NAME",
            "DOMAIN",
            "TEAM",
            "STATUS",
            "UTIL",
            "TASK",
            "HEARTBEAT",
            "VERSION",
            "CIRCUIT",
        ],
        rows: agents
            .iter()
            .map(|a| {
                vec![
                    a.id.clone(),
                    a.name.clone(),
                    a.domain.clone(),
                    a.team.clone(),
                    a.status.as_str().into(),
                    format!("{:.0}%", a.utilization * 100.0),
                    a.current_task.clone().unwrap_or_else(|| "-".into()),
                    format!("{} ago", span(at - a.last_heartbeat)),
                    a.version.clone(),
                    match a.circuit {
                        Circuit::Closed => "closed".into(),
                        Circuit::HalfOpen => "half-open".into(),
                        Circuit::Open { until, .. } => format!("open ({})", left(until - at)),
                    },
                ]
            })
            .collect(),
    })
}

pub fn queues(ctx: &Context) -> Result<(), CliError> {
    let (queues, _) = list::<Queue>(ctx, &ListArgs::default())?;
    emit_list(ctx.format(), &queues, || Rows {
        headers: &[
            "NAME", "DEPTH", "BLOCKED", "OLDEST", "IN/MIN", "OUT/MIN", "WAIT P50", "WAIT P95",
        ],
        rows: queues
            .iter()
            .map(|q| {
                vec![
                    q.name.clone(),
                    q.depth.to_string(),
                    q.blocked.to_string(),
                    span(chrono::Duration::seconds(q.oldest_age_s as i64)),
                    format!("{:.1}", q.enqueue_rate),
                    format!("{:.1}", q.dequeue_rate),
                    format!("{:.0}s", q.wait_p50_s),
                    format!("{:.0}s", q.wait_p95_s),
                ]
            })
            .collect(),
    })
}

pub fn incidents(ctx: &Context, args: &ListArgs) -> Result<(), CliError> {
    let (mut items, at) = list::<Incident>(ctx, args)?;
    // Newest first, as the help says: the incident just opened is the one to look at.
    items.sort_by_key(|i| std::cmp::Reverse(i.opened_at));
    emit_list(ctx.format(), &items, || Rows {
        headers: &["ID", "SEV", "STATE", "DOMAIN", "AGE", "TARGET", "TITLE"],
        rows: items
            .iter()
            .map(|i| {
                vec![
                    i.id.clone(),
                    i.severity.as_str().into(),
                    i.state.as_str().into(),
                    i.domain.clone(),
                    span(at - i.opened_at),
                    if i.is_open() {
                        left(i.target_at - at)
                    } else {
                        "-".into()
                    },
                    truncate(&i.title, 60),
                ]
            })
            .collect(),
    })
}

pub fn approvals(ctx: &Context, args: &ListArgs) -> Result<(), CliError> {
    let (items, at) = list::<Approval>(ctx, args)?;
    emit_list(ctx.format(), &items, || Rows {
        headers: &[
            "ID", "STATE", "LEVEL", "CATEGORY", "DOMAIN", "CLASS", "QUORUM", "AGE", "EXPIRES",
            "VER", "SUMMARY",
        ],
        rows: items
            .iter()
            .map(|a| {
                vec![
                    a.id.clone(),
                    a.state.as_str().into(),
                    a.level.as_str().into(),
                    a.category.as_str().into(),
                    a.domain.clone(),
                    a.classification.as_str().into(),
                    format!("{}/{}", a.votes.len(), a.quorum),
                    span(at - a.created_at),
                    if a.is_pending() {
                        left(a.expires_at - at)
                    } else {
                        "-".into()
                    },
                    a.version.to_string(),
                    truncate(&a.summary, 50),
                ]
            })
            .collect(),
    })
}

pub fn rollouts(ctx: &Context, args: &ListArgs) -> Result<(), CliError> {
    let (rollouts, _) = list::<Rollout>(ctx, args)?;
    emit_list(ctx.format(), &rollouts, || Rows {
        headers: &[
            "ID",
            "NAME",
            "DOMAIN",
            "STATE",
            "PHASE",
            "PERCENT",
            "CANARY ERR",
            "BASELINE ERR",
            "PAUSES ABOVE",
            "VER",
        ],
        rows: rollouts
            .iter()
            .map(|r| {
                vec![
                    r.id.clone(),
                    r.name.clone(),
                    r.domain.clone(),
                    r.state.as_str().into(),
                    r.current_phase.clone(),
                    format!("{}%", r.percent()),
                    format!("{:.1}% ({})", r.health.error_rate * 100.0, r.health.samples),
                    format!(
                        "{:.1}% ({})",
                        r.health.baseline_error_rate * 100.0,
                        r.health.baseline_samples
                    ),
                    format!("{:.1}%", r.error_gate().threshold() * 100.0),
                    r.version.to_string(),
                ]
            })
            .collect(),
    })
}
