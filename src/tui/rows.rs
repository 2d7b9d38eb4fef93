//! The items each pane lists, in order, after its filter: the same function serves the views
//! (what to draw) and `update` (what the selection points at).

use crate::model::ids::natural_key;
use crate::model::{Agent, Approval, AuditRecord, Incident, Queue, Rollout};

use super::app::{App, Pane};
use super::attention::{Need, needs};

/// Sortable columns per pane, by name (for the header's sort marker and the help).
pub fn sort_columns(pane: Pane) -> &'static [&'static str] {
    match pane {
        Pane::Agents => &["domain", "name", "status", "utilization", "heartbeat"],
        Pane::Queues => &["name", "depth", "oldest", "wait p95"],
        Pane::Incidents => &["breaches next", "severity", "opened"],
        Pane::Approvals => &["time to escalation", "oldest first", "level"],
        Pane::Rollouts => &["started", "name"],
        Pane::Audit | Pane::Overview => &["newest"],
        Pane::Inbox => &["urgency"],
    }
}

fn matches(filter: &str, fields: &[&str]) -> bool {
    if filter.is_empty() {
        return true;
    }
    let needle = filter.to_lowercase();
    fields.iter().any(|f| f.to_lowercase().contains(&needle))
}

fn state(app: &App, pane: Pane) -> (&str, usize) {
    let s = app.pane_state(pane);
    (s.filter.as_str(), s.sort)
}

pub fn agents(app: &App) -> Vec<&Agent> {
    let (filter, sort) = state(app, Pane::Agents);
    let mut rows: Vec<&Agent> = app
        .data
        .agents
        .values()
        .filter(|a| {
            matches(
                filter,
                &[
                    &a.id,
                    &a.name,
                    &a.domain,
                    &a.team,
                    a.status.as_str(),
                    a.current_task.as_deref().unwrap_or(""),
                ],
            )
        })
        .collect();
    rows.sort_by(|a, b| {
        let by_id = natural_key(&a.id).cmp(&natural_key(&b.id));
        match sort {
            1 => a.name.cmp(&b.name).then(by_id),
            2 => a.status.as_str().cmp(b.status.as_str()).then(by_id),
            3 => b.utilization.total_cmp(&a.utilization).then(by_id),
            4 => a.last_heartbeat.cmp(&b.last_heartbeat).then(by_id),
            _ => (&a.domain, &a.team).cmp(&(&b.domain, &b.team)).then(by_id),
        }
    });
    rows
}

pub fn queues(app: &App) -> Vec<&Queue> {
    let (filter, sort) = state(app, Pane::Queues);
    let mut rows: Vec<&Queue> = app
        .data
        .queues
        .values()
        .filter(|q| matches(filter, &[&q.name]))
        .collect();
    rows.sort_by(|a, b| {
        let by_name = a.name.cmp(&b.name);
        match sort {
            1 => b.depth.cmp(&a.depth).then(by_name),
            2 => b.oldest_age_s.cmp(&a.oldest_age_s).then(by_name),
            3 => b.wait_p95_s.total_cmp(&a.wait_p95_s).then(by_name),
            _ => by_name,
        }
    });
    rows
}

/// Open incidents first, the one that breaches its target next on top; then closed ones.
pub fn incidents(app: &App) -> Vec<&Incident> {
    let (filter, sort) = state(app, Pane::Incidents);
    let mut rows: Vec<&Incident> = app
        .data
        .incidents
        .values()
        .filter(|i| {
            matches(
                filter,
                &[
                    &i.id,
                    i.severity.as_str(),
                    i.state.as_str(),
                    &i.domain,
                    &i.title,
                ],
            )
        })
        .collect();
    rows.sort_by(|a, b| {
        let open = b.is_open().cmp(&a.is_open());
        let by_id = natural_key(&b.id).cmp(&natural_key(&a.id));
        open.then(match sort {
            1 => a
                .severity
                .cmp(&b.severity)
                .then(a.target_at.cmp(&b.target_at)),
            2 => b.opened_at.cmp(&a.opened_at),
            _ if a.is_open() => a.target_at.cmp(&b.target_at),
            _ => b.resolved_at.cmp(&a.resolved_at),
        })
        .then(by_id)
    });
    rows
}

/// Pending approvals first, by default the next to escalate (or expire) on top; then decided,
/// newest decision first.
pub fn approvals(app: &App) -> Vec<&Approval> {
    let (filter, sort) = state(app, Pane::Approvals);
    let mut rows: Vec<&Approval> = app
        .data
        .approvals
        .values()
        .filter(|a| {
            matches(
                filter,
                &[
                    &a.id,
                    a.state.as_str(),
                    a.category.as_str(),
                    a.level.as_str(),
                    &a.domain,
                    &a.summary,
                    &a.requested_by,
                ],
            )
        })
        .collect();
    rows.sort_by(|a, b| {
        let pending = b.is_pending().cmp(&a.is_pending());
        let by_id = natural_key(&a.id).cmp(&natural_key(&b.id));
        pending
            .then(match sort {
                2 => b.level.cmp(&a.level).then(a.created_at.cmp(&b.created_at)),
                _ if !a.is_pending() => b.decided_at.cmp(&a.decided_at),
                1 => a.created_at.cmp(&b.created_at),
                _ => a.next_deadline().0.cmp(&b.next_deadline().0),
            })
            .then(by_id)
    });
    rows
}

pub fn rollouts(app: &App) -> Vec<&Rollout> {
    let (filter, sort) = state(app, Pane::Rollouts);
    let mut rows: Vec<&Rollout> = app
        .data
        .rollouts
        .values()
        .filter(|r| {
            matches(
                filter,
                &[
                    &r.id,
                    &r.name,
                    &r.domain,
                    r.state.as_str(),
                    &r.current_phase,
                ],
            )
        })
        .collect();
    rows.sort_by(|a, b| match sort {
        1 => a.name.cmp(&b.name),
        _ => b
            .started_at
            .cmp(&a.started_at)
            .then(natural_key(&b.id).cmp(&natural_key(&a.id))),
    });
    rows
}

/// What needs the operator, most urgent first, after the pane's filter.
pub fn inbox(app: &App) -> Vec<Need> {
    let filter = &app.pane_state(Pane::Inbox).filter;
    needs(app)
        .into_iter()
        .filter(|n| matches(filter, &[&n.id, n.kind.label(), &n.domain, &n.what]))
        .collect()
}

/// Newest first: search results when a search is active, else the live tail (filtered).
pub fn audit(app: &App) -> Vec<&AuditRecord> {
    if app.audit.query.is_some() {
        return app.audit.results.iter().collect();
    }
    let filter = &app.pane_state(Pane::Audit).filter;
    app.data
        .audit_tail
        .iter()
        .rev()
        .filter(|r| {
            app.audit.query.is_some()
                || matches(
                    filter,
                    &[&r.agent_id, r.action_type.as_str(), &r.domain, &r.summary],
                )
        })
        .collect()
}

/// The ids listed by a pane, in order (audit: seqs as text).
pub fn ids(app: &App, pane: Pane) -> Vec<String> {
    match pane {
        Pane::Agents => agents(app).iter().map(|a| a.id.clone()).collect(),
        Pane::Queues => queues(app).iter().map(|q| q.name.clone()).collect(),
        Pane::Incidents => incidents(app).iter().map(|i| i.id.clone()).collect(),
        Pane::Approvals => approvals(app).iter().map(|a| a.id.clone()).collect(),
        Pane::Rollouts => rollouts(app).iter().map(|r| r.id.clone()).collect(),
        Pane::Audit => audit(app).iter().map(|r| r.seq.to_string()).collect(),
        Pane::Inbox => inbox(app).into_iter().map(|n| n.key).collect(),
        Pane::Overview => Vec::new(),
    }
}

/// The id under the selection in a pane.
pub fn selected(app: &App, pane: Pane) -> Option<String> {
    let ids = ids(app, pane);
    let index = app
        .pane_state(pane)
        .selected
        .min(ids.len().saturating_sub(1));
    ids.into_iter().nth(index)
}
