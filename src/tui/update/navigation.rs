//! Moving between panes and inside one: the selection, details, sorting, the overview's sections.

use super::{Effect, audit, selection, toast};
use crate::tui::app::{App, Pane, ToastKind};
use crate::tui::rows;

/// The order `tab` walks the overview's sections in: as they are laid out on screen.
const SECTIONS: [Pane; 7] = [
    Pane::Inbox,
    Pane::Agents,
    Pane::Queues,
    Pane::Incidents,
    Pane::Approvals,
    Pane::Rollouts,
    Pane::Audit,
];

/// Shows `pane` full screen; Esc comes back to where the operator was.
pub(super) fn show(app: &mut App, pane: Pane) {
    if app.pane != pane {
        app.previous.push(app.pane);
        app.pane = pane;
    }
    selection::show_kept_notice(app, pane);
}

pub(super) fn open_pane(app: &mut App, pane: Pane) -> Vec<Effect> {
    show(app, pane);
    vec![]
}

/// Esc: closes the details if open, or else returns to the previous pane.
pub(super) fn back(app: &mut App) -> Vec<Effect> {
    let pane = app.pane;
    let state = app.pane_state_mut(pane);
    if state.detail.is_some() {
        state.detail = None;
        if let Some(to) = state.return_to.take() {
            if app.previous.last() == Some(&to) {
                app.previous.pop();
            }
            app.pane = to;
        }
    } else if pane != Pane::Overview {
        app.pane = app.previous.pop().unwrap_or(Pane::Overview);
        if app.pane == pane {
            app.pane = Pane::Overview;
        }
    }
    vec![]
}

pub(super) fn next_section(app: &mut App) -> Vec<Effect> {
    let i = SECTIONS.iter().position(|p| *p == app.section).unwrap_or(0);
    app.section = SECTIONS[(i + 1) % SECTIONS.len()];
    vec![]
}

/// Enter: the overview opens its section; a row opens its details; in the audit pane the open
/// record's details{} fold and unfold.
pub(super) fn open(app: &mut App) -> Vec<Effect> {
    let pane = app.pane;
    if pane == Pane::Overview {
        let section = app.section;
        return open_pane(app, section);
    }
    if pane == Pane::Inbox {
        return super::attention::jump(app);
    }
    if pane == Pane::Audit && app.pane_state(pane).detail.is_some() {
        app.audit.unfolded = !app.audit.unfolded;
        return vec![];
    }
    if let Some(id) = rows::selected(app, pane) {
        // Opened is seen: it is no longer new in "needs me".
        app.attention.seen.insert(id.clone());
        let state = app.pane_state_mut(pane);
        state.detail = Some(id);
        state.return_to = None;
    }
    vec![]
}

fn rows_len(app: &App) -> usize {
    rows::ids(app, app.pane).len()
}

pub(super) fn move_selection(app: &mut App, delta: isize) -> Vec<Effect> {
    let len = rows_len(app);
    let pane = app.pane;
    let state = app.pane_state_mut(pane);
    let max = len.saturating_sub(1);
    state.selected = (state.selected as isize + delta).clamp(0, max as isize) as usize;
    let at_end = state.selected == max;
    if pane == Pane::Audit {
        app.audit.follow = app.pane_state(pane).selected == 0 && app.audit.query.is_none();
        return audit::more_results(app, at_end);
    }
    vec![]
}

pub(super) fn top(app: &mut App) -> Vec<Effect> {
    let pane = app.pane;
    app.pane_state_mut(pane).selected = 0;
    if pane == Pane::Audit {
        app.audit.follow = app.audit.query.is_none();
    }
    vec![]
}

pub(super) fn bottom(app: &mut App) -> Vec<Effect> {
    if app.pane == Pane::Audit {
        audit::follow_tail(app);
        return vec![];
    }
    let len = rows_len(app);
    let pane = app.pane;
    app.pane_state_mut(pane).selected = len.saturating_sub(1);
    vec![]
}

/// `s`: the next sortable column, from the first row.
pub(super) fn sort(app: &mut App) -> Vec<Effect> {
    let pane = app.pane;
    let columns = rows::sort_columns(pane);
    let state = app.pane_state_mut(pane);
    state.sort = (state.sort + 1) % columns.len().max(1);
    state.selected = 0;
    let name = columns[state.sort];
    toast(app, ToastKind::Info, format!("sorted by {name}"));
    vec![]
}
