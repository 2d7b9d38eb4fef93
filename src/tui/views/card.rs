//! The incident card's live sections: what the rule reads now and over the last 15 minutes,
//! the clock against the target, the incidents grouped with it, and the agents, tasks and
//! rollouts of its domain. Every number is the orchestrator's own: the alert's reading is the
//! value the engine's rule computed, the rest is the state it keeps.

use ratatui::text::{Line, Span};

use super::overview::{countdown, countdown_style};
use crate::format::span;
use crate::model::{AgentStatus, Alert, Circuit, Incident, TaskState};
use crate::tui::app::App;
use crate::tui::widgets::{safe, safe_cut, sparkline};

/// Rows of agents, tasks or incidents a section lists before it says how many more.
const LISTED: usize = 4;

/// The alert rule behind the incident: its reading now against its threshold, and its trend.
pub fn reading(app: &App, i: &Incident, width: usize) -> Vec<Line<'static>> {
    let t = &app.theme;
    let Some(alert) = i.dedup_key.as_ref().and_then(|k| app.data.alerts.get(k)) else {
        return vec![];
    };
    let now = Alert::reading(&alert.rule, alert.value);
    let threshold = Alert::reading(&alert.rule, alert.threshold);
    let state = match alert.cleared_at {
        Some(at) if !alert.firing => format!("cleared {} ago", span(app.now - at)),
        _ => format!("firing {}", span(app.now - alert.since)),
    };
    let over = alert.value > alert.threshold;
    let mut lines = vec![Line::from(vec![
        Span::styled("now  ", t.muted),
        Span::styled(
            format!("{} {now}", safe(&alert.rule)),
            if over { t.danger } else { t.ok },
        ),
        Span::styled(format!(" (threshold {threshold}) · {state}"), t.muted),
    ])];
    let buckets = width.saturating_sub(24).clamp(10, 60);
    let trend = alert.trend(app.now, buckets);
    let values: Vec<f64> = trend.iter().map(|v| v.unwrap_or(0.0)).collect();
    let top = values
        .iter()
        .cloned()
        .fold(alert.threshold, f64::max)
        .max(1e-9);
    let low = trend
        .iter()
        .flatten()
        .cloned()
        .fold(f64::INFINITY, f64::min);
    let high = trend.iter().flatten().cloned().fold(0.0, f64::max);
    let range = if low.is_finite() {
        format!(
            " {} … {}",
            Alert::reading(&alert.rule, low),
            Alert::reading(&alert.rule, high)
        )
    } else {
        String::new()
    };
    lines.push(Line::from(vec![
        Span::styled("15m  ", t.muted),
        Span::styled(
            sparkline(&values, buckets, Some(top)),
            if over { t.danger } else { t.ok },
        ),
        Span::styled(range, t.muted),
    ]));
    lines
}

/// Time to acknowledge and time left to the resolution target.
pub fn clock(app: &App, i: &Incident) -> Line<'static> {
    let t = &app.theme;
    let ack = match (i.acked_at, &i.acked_by) {
        (Some(at), by) => format!(
            "acked after {}{}",
            span(at - i.opened_at),
            by.as_ref()
                .map(|b| format!(" by {}", safe(b)))
                .unwrap_or_default()
        ),
        (None, _) if i.is_open() => format!("unacked for {}", span(app.now - i.opened_at)),
        _ => "never acked".to_string(),
    };
    let target = match i.resolved_at {
        Some(at) => format!("resolved after {}", span(at - i.opened_at)),
        None => format!("resolve: {}", countdown(app, i)),
    };
    Line::from(vec![
        Span::styled(format!("{} · ", i.state.as_str()), t.header),
        Span::styled(
            format!("{ack} · "),
            if i.acked_at.is_none() && i.is_open() {
                t.warn
            } else {
                t.muted
            },
        ),
        Span::styled(
            target,
            if i.is_open() {
                countdown_style(app, i)
            } else {
                t.muted
            },
        ),
    ])
}

/// The incident it arrived under, or the ones that arrived under it.
pub fn family(app: &App, i: &Incident) -> Vec<Line<'static>> {
    let t = &app.theme;
    if let Some(parent) = i.parent.as_ref().and_then(|p| app.data.incidents.get(p)) {
        return vec![Line::from(vec![
            Span::styled("under ", t.muted),
            Span::styled(format!("{} ", safe(&parent.id)), t.accent),
            Span::styled(
                format!("{} ", parent.severity.as_str()),
                t.severity(parent.severity),
            ),
            Span::raw(safe_cut(&parent.title, 60)),
        ])];
    }
    let mut children: Vec<&Incident> = app
        .data
        .incidents
        .values()
        .filter(|c| c.parent.as_deref() == Some(i.id.as_str()))
        .collect();
    if children.is_empty() {
        return vec![];
    }
    children.sort_by_key(|c| std::cmp::Reverse(c.opened_at));
    let open = children.iter().filter(|c| c.is_open()).count();
    let mut lines = vec![Line::from(Span::styled(
        format!("Grouped under it · {} ({open} open)", children.len()),
        t.title,
    ))];
    lines.extend(children.iter().take(LISTED).map(|c| {
        Line::from(vec![
            Span::styled(format!("  {:<8}", safe(&c.id)), t.accent),
            Span::styled(format!("{} ", c.severity.as_str()), t.severity(c.severity)),
            Span::styled(format!("{:<13}", c.state.as_str()), t.muted),
            Span::raw(safe_cut(&c.title, 70)),
        ])
    }));
    lines.extend(more(app, children.len()));
    lines
}

/// The domain's agents that are failing: down, out of rotation, or failing in a row, each with
/// the last error one of its tasks reported.
pub fn agents(app: &App, i: &Incident) -> Vec<Line<'static>> {
    let t = &app.theme;
    let mut failing: Vec<_> = app
        .data
        .agents
        .values()
        .filter(|a| a.domain == i.domain)
        .filter(|a| {
            a.status == AgentStatus::Down
                || !matches!(a.circuit, Circuit::Closed)
                || a.consecutive_failures > 0
        })
        .collect();
    if failing.is_empty() {
        return vec![];
    }
    failing.sort_by(|a, b| {
        (b.status == AgentStatus::Down, b.consecutive_failures)
            .cmp(&(a.status == AgentStatus::Down, a.consecutive_failures))
            .then(a.id.cmp(&b.id))
    });
    let mut lines = vec![Line::from(Span::styled(
        format!("Failing agents in {} · {}", safe(&i.domain), failing.len()),
        t.title,
    ))];
    lines.extend(failing.iter().take(LISTED).map(|a| {
        let why = match (&a.status, &a.circuit) {
            (AgentStatus::Down, _) => format!(
                "down, no heartbeat for {}",
                span(app.now - a.last_heartbeat)
            ),
            (_, Circuit::Open { .. }) => "out of rotation (breaker open)".to_string(),
            (_, Circuit::HalfOpen) => "on trial (breaker half open)".to_string(),
            _ if a.consecutive_failures == 1 => "failed its last task".to_string(),
            _ => format!("{} failures in a row", a.consecutive_failures),
        };
        let last = app
            .data
            .tasks
            .values()
            .filter(|task| task.agent.as_deref() == Some(a.id.as_str()))
            .filter(|task| task.last_error.is_some())
            .max_by_key(|task| task.finished_at.or(task.started_at));
        let mut spans = vec![
            Span::styled(format!("  {:<9}", safe(&a.id)), t.accent),
            Span::styled(why, t.warn),
        ];
        if let Some(error) = last.and_then(|task| task.last_error.as_ref()) {
            spans.push(Span::styled(" · last error: ", t.muted));
            spans.push(Span::raw(safe_cut(error, 60)));
        }
        Line::from(spans)
    }));
    lines.extend(more(app, failing.len()));
    lines
}

/// The domain's tasks this touches: failed in the last 15 minutes, and waiting in its queues.
pub fn tasks(app: &App, i: &Incident) -> Vec<Line<'static>> {
    let t = &app.theme;
    let since = app.now - chrono::Duration::minutes(Alert::HISTORY_MINUTES);
    let in_domain = || {
        app.data
            .tasks
            .values()
            .filter(|task| task.domain == i.domain)
    };
    let mut failed: Vec<_> = in_domain()
        .filter(|task| {
            task.last_error.is_some()
                && task
                    .finished_at
                    .or(task.started_at)
                    .is_some_and(|at| at >= since)
        })
        .collect();
    failed.sort_by(|a, b| b.finished_at.cmp(&a.finished_at).then(a.id.cmp(&b.id)));
    let waiting = in_domain()
        .filter(|task| matches!(task.state, TaskState::Queued | TaskState::Blocked))
        .count();
    if failed.is_empty() && waiting == 0 {
        return vec![];
    }
    let retrying = failed
        .iter()
        .filter(|task| task.state != TaskState::Failed)
        .count();
    let ids: Vec<String> = failed.iter().take(6).map(|task| safe(&task.id)).collect();
    vec![
        Line::from(Span::styled("Tasks affected", t.title)),
        Line::from(vec![
            Span::styled(
                format!(
                    "  {} failed in 15m ({retrying} retrying) · {waiting} waiting in {}",
                    failed.len(),
                    safe(&i.domain)
                ),
                if failed.is_empty() { t.muted } else { t.warn },
            ),
            Span::styled(
                if ids.is_empty() {
                    String::new()
                } else {
                    format!(" · {}", ids.join(" "))
                },
                t.muted,
            ),
        ]),
    ]
}

/// Rollouts of the same domain still under way: a new version is the first suspect.
pub fn rollouts(app: &App, i: &Incident) -> Vec<Line<'static>> {
    let t = &app.theme;
    let live: Vec<_> = app
        .data
        .rollouts
        .values()
        .filter(|r| r.domain == i.domain && !r.state.is_final())
        .collect();
    if live.is_empty() {
        return vec![];
    }
    let mut lines = vec![Line::from(Span::styled(
        format!("Rollouts in {} · {}", safe(&i.domain), live.len()),
        t.title,
    ))];
    lines.extend(live.iter().take(LISTED).map(|r| {
        let judged = r.health.samples >= r.min_samples;
        Line::from(vec![
            Span::styled(format!("  {:<6}", safe(&r.id)), t.accent),
            Span::raw(format!(
                "{} → {} · {} {}% · {} · ",
                safe_cut(&r.name, 24),
                safe_cut(&r.target_version, 12),
                safe(&r.current_phase),
                r.percent(),
                r.state.as_str()
            )),
            Span::styled(
                format!(
                    "canary errors {:.1}% · pauses above {}{}",
                    r.health.error_rate * 100.0,
                    r.error_gate(),
                    if judged {
                        ""
                    } else {
                        " · too few tasks to judge"
                    }
                ),
                if r.unhealthy() { t.danger } else { t.muted },
            ),
        ])
    }));
    lines.extend(more(app, live.len()));
    lines
}

fn more(app: &App, count: usize) -> Option<Line<'static>> {
    (count > LISTED).then(|| {
        Line::from(Span::styled(
            format!("  … and {} more", count - LISTED),
            app.theme.muted,
        ))
    })
}
