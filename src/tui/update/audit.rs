//! The audit pane's search: the query line with its history, results that page in, the live
//! tail, and the two things a record offers (reveal a sensitive one, jump to what it is about).

use crossterm::event::{KeyCode, KeyEvent};

use super::{AUDIT_PAGE, Effect, navigation, toast};
use crate::model::{AuditRecord, Classification};
use crate::protocol::{Command, RevealRecord};
use crate::tui::app::{App, Pane, ToastKind};
use crate::tui::rows;

/// Queries kept for ↑/↓ on the query line.
const HISTORY: usize = 50;

pub(super) fn on_page(
    app: &mut App,
    query: &str,
    before: Option<u64>,
    result: Result<Vec<AuditRecord>, String>,
) {
    // The answer to a search the operator has since replaced.
    if app.audit.query.as_deref() != Some(query) {
        return;
    }
    app.audit.searching = false;
    match result {
        Ok(records) => {
            app.audit.exhausted = records.len() < AUDIT_PAGE;
            if before.is_none() {
                app.audit.results = records;
                app.pane_state_mut(Pane::Audit).selected = 0;
            } else {
                app.audit.results.extend(records);
            }
            app.audit.error = None;
        }
        Err(e) => app.audit.error = Some(e),
    }
}

pub(super) fn on_count(app: &mut App, query: &str, total: (u64, bool)) {
    if app.audit.query.as_deref() == Some(query) {
        app.audit.total = Some(total);
    }
}

/// The syntax error, shown under the query line as the operator types.
pub(super) fn check_query(app: &mut App) {
    let query = app.pane_state(Pane::Audit).filter.clone();
    app.audit.error = crate::query::parse(&query, app.now)
        .err()
        .map(|e| e.to_string());
}

pub(super) fn walk_history(app: &mut App, older: bool) {
    let len = app.audit.history.len();
    if len == 0 {
        return;
    }
    let at = match (app.audit.history_at, older) {
        (None, true) => Some(len - 1),
        (None, false) => None,
        (Some(i), true) => Some(i.saturating_sub(1)),
        (Some(i), false) if i + 1 < len => Some(i + 1),
        (Some(_), false) => None,
    };
    app.audit.history_at = at;
    app.pane_state_mut(Pane::Audit).filter =
        at.map(|i| app.audit.history[i].clone()).unwrap_or_default();
}

/// In the audit pane, Enter on the filter runs a search (an empty one returns to the tail).
pub(super) fn search_if_submitted(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    if app.pane != Pane::Audit || key.code != KeyCode::Enter {
        return vec![];
    }
    let query = app.pane_state(Pane::Audit).filter.trim().to_string();
    if query.is_empty() {
        app.audit.query = None;
        app.audit.results.clear();
        app.audit.follow = true;
        app.audit.error = None;
        return vec![];
    }
    app.audit.history_at = None;
    match crate::query::parse(&query, app.now) {
        Ok(_) => search(app, query),
        Err(e) => {
            app.audit.error = Some(e.to_string());
            vec![]
        }
    }
}

/// A new search, remembered in the history, replaces the tail.
fn search(app: &mut App, query: String) -> Vec<Effect> {
    app.audit.history.retain(|q| *q != query);
    app.audit.history.push(query.clone());
    let excess = app.audit.history.len().saturating_sub(HISTORY);
    app.audit.history.drain(..excess);
    app.audit.query = Some(query.clone());
    app.audit.total = None;
    app.audit.results.clear();
    app.audit.searching = true;
    app.audit.follow = false;
    app.audit.error = None;
    vec![Effect::SearchAudit {
        query,
        before: None,
    }]
}

/// Search results page in as the selection nears their end.
pub(super) fn more_results(app: &mut App, at_end: bool) -> Vec<Effect> {
    let Some(query) = app.audit.query.clone() else {
        return vec![];
    };
    if !at_end || app.audit.searching || app.audit.exhausted {
        return vec![];
    }
    let Some(last) = app.audit.results.last() else {
        return vec![];
    };
    app.audit.searching = true;
    vec![Effect::SearchAudit {
        query,
        before: Some(last.seq),
    }]
}

/// End/G in the audit pane leaves a search and returns to the live tail. The query line is the
/// tail's filter too: left behind, a search's text would filter the tail down to nothing.
pub(super) fn follow_tail(app: &mut App) {
    app.audit.query = None;
    app.audit.results.clear();
    app.audit.follow = true;
    app.audit.searching = false;
    app.audit.exhausted = false;
    app.audit.total = None;
    app.audit.error = None;
    app.audit.history_at = None;
    let state = app.pane_state_mut(Pane::Audit);
    state.filter.clear();
    state.selected = 0;
    state.detail = None;
}

/// The audit record under the selection (or open in details).
fn current_record(app: &App) -> Option<AuditRecord> {
    let state = app.pane_state(Pane::Audit);
    let seq = state
        .detail
        .clone()
        .or_else(|| rows::selected(app, Pane::Audit))?;
    rows::audit(app)
        .into_iter()
        .find(|r| r.seq.to_string() == seq)
        .cloned()
}

/// Shows a sensitive record's body: the orchestrator audits the reveal itself.
pub(super) fn reveal(app: &mut App) -> Vec<Effect> {
    let Some(record) = current_record(app) else {
        return vec![];
    };
    if record.classification != Classification::Sensitive
        || app.audit.revealed.contains_key(&record.seq)
    {
        return vec![];
    }
    let allowed = app.can_act().and_then(|()| {
        crate::authority::may_reveal(&app.role, &record.domain).map_err(|e| e.to_string())
    });
    if let Err(why) = allowed {
        toast(app, ToastKind::Error, format!("reveal not offered: {why}"));
        return vec![];
    }
    let item = format!("audit:{}", record.seq);
    app.in_flight.push(item.clone());
    vec![Effect::Send {
        item,
        label: format!("reveal seq {}", record.seq),
        command: Command::RevealRecord(RevealRecord { seq: record.seq }),
    }]
}

/// The approval or incident a record is about: named in its summary, or sharing its tasks.
pub fn related_item(app: &App, record: &AuditRecord) -> Option<(Pane, String)> {
    for word in record
        .summary
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
    {
        if app.data.approvals.contains_key(word) {
            return Some((Pane::Approvals, word.to_string()));
        }
        if app.data.incidents.contains_key(word) {
            return Some((Pane::Incidents, word.to_string()));
        }
    }
    app.data
        .approvals
        .values()
        .find(|a| {
            a.related_tasks
                .iter()
                .any(|t| record.related_tasks.contains(t))
        })
        .map(|a| (Pane::Approvals, a.id.clone()))
}

/// `o`: opens the details of the approval or incident the record is about.
pub(super) fn related(app: &mut App) -> Vec<Effect> {
    let Some(record) = current_record(app) else {
        return vec![];
    };
    match related_item(app, &record) {
        Some((pane, id)) => {
            navigation::show(app, pane);
            let state = app.pane_state_mut(pane);
            state.detail = Some(id);
            state.return_to = Some(Pane::Audit);
        }
        None => toast(
            app,
            ToastKind::Info,
            format!("nothing in view relates to seq {}", record.seq),
        ),
    }
    vec![]
}
