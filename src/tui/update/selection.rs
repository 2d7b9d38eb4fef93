//! The selection stays on its item, not on a row number: when the orchestrator's data changes
//! under a list (an event, a snapshot after a reconnect), the cursor follows the item's id to
//! wherever it now sorts. If the item left the list, the cursor goes to its nearest surviving
//! neighbour and the console says so, since the next action would otherwise act on another item.

use super::toast;
use crate::tui::app::{App, Pane, ToastKind};
use crate::tui::rows;

/// The panes that list items under a cursor.
const LISTS: [Pane; 7] = [
    Pane::Inbox,
    Pane::Agents,
    Pane::Queues,
    Pane::Incidents,
    Pane::Approvals,
    Pane::Rollouts,
    Pane::Audit,
];

/// Each list's ids, in order, and the row the cursor was on, taken before a change.
pub(super) struct Marks(Vec<(Pane, Vec<String>, usize)>);

/// The audit pane following its tail keeps the cursor on the newest record by design.
fn follows_tail(app: &App, pane: Pane) -> bool {
    pane == Pane::Audit && app.audit.follow && app.audit.query.is_none()
}

pub(super) fn mark(app: &App) -> Marks {
    Marks(
        LISTS
            .into_iter()
            .filter(|pane| !follows_tail(app, *pane))
            .map(|pane| {
                let ids = rows::ids(app, pane);
                let at = app
                    .pane_state(pane)
                    .selected
                    .min(ids.len().saturating_sub(1));
                (pane, ids, at)
            })
            .collect(),
    )
}

/// Puts each cursor back on the item it was on before the change, wherever that now sorts.
pub(super) fn restore(app: &mut App, marks: Marks) {
    for (pane, old, at) in marks.0 {
        let Some(id) = old.get(at) else {
            continue;
        };
        let now = rows::ids(app, pane);
        let find = |id: &String| now.iter().position(|n| n == id);
        if let Some(i) = find(id) {
            app.pane_state_mut(pane).selected = i;
            continue;
        }
        // Gone: the nearest item that was below it, else above it, that is still listed.
        let neighbour = old[at + 1..]
            .iter()
            .chain(old[..at].iter().rev())
            .find_map(find);
        let i = neighbour.unwrap_or(0);
        let state = app.pane_state_mut(pane);
        state.selected = i;
        // Its details would stay on screen while the actions went to the neighbour.
        if state.detail.as_ref() == Some(id) {
            state.detail = None;
        }
        let notice = match now.get(i) {
            Some(next) => format!(
                "{} left the {} list: the cursor moved to {}",
                label(pane, id),
                pane.name(),
                label(pane, next)
            ),
            None => format!(
                "{} left the {} list, which is now empty",
                label(pane, id),
                pane.name()
            ),
        };
        notify(app, pane, notice);
    }
}

fn label(pane: Pane, id: &str) -> String {
    match pane {
        Pane::Audit => format!("seq {id}"),
        _ => id.to_string(),
    }
}

/// On screen the operator hears it now; elsewhere, when they come back to the pane.
fn notify(app: &mut App, pane: Pane, notice: String) {
    if app.pane == pane {
        toast(app, ToastKind::Info, notice);
    } else {
        app.pane_state_mut(pane).notice = Some(notice);
    }
}

/// The notice kept for a pane the operator was not looking at, shown as they return to it.
pub(super) fn show_kept_notice(app: &mut App, pane: Pane) {
    if let Some(notice) = app.pane_state_mut(pane).notice.take() {
        toast(app, ToastKind::Info, notice);
    }
}
