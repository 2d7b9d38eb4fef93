//! A dialog's item can change while the operator types: a colleague decides it, a vote lands, a
//! rollout pauses itself. The dialog stays open with the text typed, says what changed, and
//! offers what is still possible; a decision is only sent for the version that was reviewed.

use crate::tui::action::Action;
use crate::tui::app::{App, Dialog, Intent};

use super::dialogs::{agent_denial, approval_denial, incident_denial, rollout_denial};

/// The item's version now, or None when it left the console's data.
pub(super) fn current_version(app: &App, intent: &Intent) -> Option<u64> {
    match intent {
        Intent::Approval { id, .. } => app.data.approvals.get(id).map(|a| a.version),
        Intent::Incident { id, .. } => app.data.incidents.get(id).map(|i| i.version),
        Intent::Rollout { id, .. } => app.data.rollouts.get(id).map(|r| r.version),
        // Agents carry no version: their dialogs only check what is possible.
        Intent::Agent { id, .. } => app.data.agents.get(id).map(|_| 0),
    }
}

/// Why the dialog's action cannot succeed now, or None when it can.
pub(super) fn denial(app: &App, intent: &Intent) -> Option<String> {
    let gone = || Some(format!("{} is no longer in the data", intent.id()));
    match intent {
        Intent::Approval { id, action, .. } => match app.data.approvals.get(id) {
            Some(a) => approval_denial(app, a, *action),
            None => gone(),
        },
        Intent::Incident { id, action, .. } => match app.data.incidents.get(id) {
            Some(i) => incident_denial(app, i, *action),
            None => gone(),
        },
        Intent::Rollout { id, action, .. } => match app.data.rollouts.get(id) {
            Some(r) => rollout_denial(app, r, *action),
            None => gone(),
        },
        Intent::Agent { id, action } => match app.data.agents.get(id) {
            Some(a) => agent_denial(app, a, *action),
            None => gone(),
        },
    }
}

/// The other actions on the same item that could succeed now, for the operator to take instead.
pub fn still_possible(app: &App, intent: &Intent) -> Vec<Action> {
    let candidates: &[Action] = match intent {
        Intent::Approval { .. } => &[Action::Approve, Action::Reject, Action::Escalate],
        Intent::Incident { .. } => &[
            Action::Ack,
            Action::Escalate,
            Action::Mitigate,
            Action::Resolve,
            Action::Note,
        ],
        Intent::Rollout { .. } => &[
            Action::Promote,
            Action::Pause,
            Action::Resume,
            Action::Abort,
        ],
        Intent::Agent { .. } => &[Action::Pause, Action::Resume],
    };
    let id = intent.id();
    candidates
        .iter()
        .copied()
        .filter(|&action| Some(action) != intent.action())
        .filter(|&action| {
            let other = match intent {
                Intent::Approval { .. } => app.data.approvals.get(id).and_then(|a| {
                    action
                        .on_approval()
                        .map(|v| approval_denial(app, a, v).is_none())
                }),
                Intent::Incident { .. } => app.data.incidents.get(id).and_then(|i| {
                    action
                        .on_incident()
                        .map(|v| incident_denial(app, i, v).is_none())
                }),
                Intent::Rollout { .. } => app.data.rollouts.get(id).and_then(|r| {
                    action
                        .on_rollout()
                        .map(|v| rollout_denial(app, r, v).is_none())
                }),
                Intent::Agent { .. } => app
                    .data
                    .agents
                    .get(id)
                    .and_then(|a| action.on_agent().map(|v| agent_denial(app, a, v).is_none())),
            };
            other.unwrap_or(false)
        })
        .collect()
}

/// What the dialog says about its item, when something changed since it was opened (or since
/// its review): None while the item is as it was.
pub fn item_change(app: &App, dialog: &Dialog) -> Option<String> {
    let id = dialog.intent.id();
    let moved = current_version(app, &dialog.intent) != dialog.intent.version();
    let refused = denial(app, &dialog.intent);
    if !moved && refused.is_none() {
        return None;
    }
    let mut text = format!("{id} changed while this dialog was open");
    match refused {
        Some(why) => {
            let verb = dialog.intent.verb();
            text.push_str(&format!(": {verb} is no longer possible ({why})"));
            let others = still_possible(app, &dialog.intent);
            if others.is_empty() {
                text.push_str("; nothing else is possible on it now");
            } else {
                let keys: Vec<String> = others
                    .iter()
                    .map(|a| format!("{} {}", app.keymap.label(*a), a.name()))
                    .collect();
                text.push_str(&format!(
                    "; still possible: {} (esc, then the key: your text is kept)",
                    keys.join(", ")
                ));
            }
        }
        None => text.push_str(": the review shows it as it is now"),
    }
    Some(text)
}
