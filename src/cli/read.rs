//! The listing commands: agents, queues, incidents, approvals, rollouts.

use super::context::Context;
use super::error::CliError;
use super::output::{Rows, emit_list, left, span, truncate};
use crate::model::{Circuit, Snapshot};

fn snapshot(ctx: &Context) -> Result<Snapshot, CliError> {
    ctx.with_link(|link| async move { link.snapshot().await })
}

pub fn agents(ctx: &Context) -> Result<(), CliError> {
    let snap = snapshot(ctx)?;
    emit_list(ctx.format(), &snap.agents, || Rows {
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
        rows: snap
            .agents
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
                    format!("{} ago", span(snap.at - a.last_heartbeat)),
                    a.version.clone(),
                    match a.circuit {
                        Circuit::Closed => "closed".into(),
                        Circuit::HalfOpen => "half-open".into(),
                        Circuit::Open { until, .. } => format!("open ({})", left(until - snap.at)),
                    },
                ]
            })
            .collect(),
    })
}

pub fn queues(ctx: &Context) -> Result<(), CliError> {
    let snap = snapshot(ctx)?;
    emit_list(ctx.format(), &snap.queues, || Rows {
        headers: &[
            "NAME", "DEPTH", "BLOCKED", "OLDEST", "IN/MIN", "OUT/MIN", "WAIT P50", "WAIT P95",
        ],
        rows: snap
            .queues
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

fn check_state(state: &Option<String>, allowed: &[&str], what: &str) -> Result<(), CliError> {
    match state {
        Some(s) if !allowed.contains(&s.as_str()) => Err(CliError::Usage(format!(
            "unknown {what} state {s:?}: use one of {}",
            allowed.join(", ")
        ))),
        _ => Ok(()),
    }
}

pub fn incidents(ctx: &Context, state: &Option<String>) -> Result<(), CliError> {
    check_state(
        state,
        &["open", "acknowledged", "mitigated", "resolved"],
        "incident",
    )?;
    let snap = snapshot(ctx)?;
    let mut items: Vec<_> = snap
        .incidents
        .iter()
        .filter(|i| state.as_deref().is_none_or(|s| i.state.as_str() == s))
        .cloned()
        .collect();
    // Newest first, as the help says: the incident just opened is the one to look at.
    items.reverse();
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
                    span(snap.at - i.opened_at),
                    if i.is_open() {
                        left(i.target_at - snap.at)
                    } else {
                        "-".into()
                    },
                    truncate(&i.title, 60),
                ]
            })
            .collect(),
    })
}

pub fn approvals(ctx: &Context, state: &Option<String>) -> Result<(), CliError> {
    check_state(
        state,
        &["pending", "approved", "rejected", "expired", "cancelled"],
        "approval",
    )?;
    let snap = snapshot(ctx)?;
    let items: Vec<_> = snap
        .approvals
        .iter()
        .filter(|a| state.as_deref().is_none_or(|s| a.state.as_str() == s))
        .cloned()
        .collect();
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
                    span(snap.at - a.created_at),
                    if a.is_pending() {
                        left(a.expires_at - snap.at)
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

pub fn rollouts(ctx: &Context) -> Result<(), CliError> {
    let snap = snapshot(ctx)?;
    emit_list(ctx.format(), &snap.rollouts, || Rows {
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
        rows: snap
            .rollouts
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
