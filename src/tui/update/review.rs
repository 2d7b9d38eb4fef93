//! The review step of a decision dialog: the exact effect of the decision, spelled out, and the
//! one key that commits it.
//!
//! The rule that keeps a stray key from deciding: Enter only moves from the reason to the review,
//! and the review commits on `y` alone, and only once the review has been drawn (`Msg::Drawn`).
//! A double Enter therefore stops on the review, and a burst of keys that arrives as one paste on
//! a terminal without bracketed paste (`looks fine\r\ry`) ends on the review with its `y`
//! refused: the console draws between batches of input, never inside one.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::model::Rollout;
use crate::protocol::{ApprovalAction, IncidentAction, RolloutAction};
use crate::tui::app::{App, Dialog, DialogStep, Intent, Mode};

/// What a key on the review step does: commit, go back, or stay with a hint.
pub(super) enum Review {
    Commit,
    Back,
    Stay,
}

pub(super) fn on_key(dialog: &mut Dialog, key: KeyEvent) -> Review {
    let plain = !key
        .modifiers
        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
    match key.code {
        KeyCode::Char('y') if plain && dialog.review_seen => Review::Commit,
        KeyCode::Char('y') if plain => {
            dialog.hint = Some("read the decision above, then press y".into());
            Review::Stay
        }
        KeyCode::Esc | KeyCode::Backspace => Review::Back,
        KeyCode::Char('n') if plain => Review::Back,
        KeyCode::Enter => {
            dialog.hint = Some("enter does not decide: press y to confirm, n to go back".into());
            Review::Stay
        }
        _ => Review::Stay,
    }
}

/// A frame was drawn: a review on the screen now has been seen, and `y` may commit it.
pub(super) fn on_drawn(app: &mut App) {
    if let Mode::Dialog(dialog) = &mut app.mode
        && dialog.step == DialogStep::Confirm
    {
        dialog.review_seen = true;
    }
}

/// The decision in one line, as it will be recorded: the verb, the item, who decides, and what
/// it changes ("approve APR-5 as alice, 1 of 2 votes"). Computed from the data on screen now,
/// so a vote cast meanwhile by someone else shows in the count.
pub fn decision_line(app: &App, dialog: &Dialog) -> String {
    let me = &app.info.operator;
    match &dialog.intent {
        Intent::Approval { id, action, .. } => {
            let Some(a) = app.data.approvals.get(id) else {
                return format!("{} {id} as {me}", action.as_str());
            };
            match action {
                ApprovalAction::Approve => {
                    let votes = a.votes.len() + 1;
                    let quorum = usize::from(a.quorum).max(1);
                    let then = if votes >= quorum {
                        ": this vote approves it"
                    } else {
                        ""
                    };
                    format!("approve {id} as {me}, {votes} of {quorum} votes{then}")
                }
                ApprovalAction::Reject => {
                    format!("reject {id} as {me}: a rejection decides it at once")
                }
                ApprovalAction::Escalate => {
                    format!("escalate {id} as {me}, above level {}", a.level)
                }
            }
        }
        Intent::Incident { id, action, .. } => {
            let what = app
                .data
                .incidents
                .get(id)
                .map(|i| format!(" ({}, {})", i.severity.as_str(), i.state.as_str()))
                .unwrap_or_default();
            match action {
                IncidentAction::Note => format!("add a note to {id}{what} as {me}"),
                other => format!("{} {id}{what} as {me}", other.as_str()),
            }
        }
        Intent::Rollout {
            id, name, action, ..
        } => {
            let change = app
                .data
                .rollouts
                .get(id)
                .map(|r| rollout_change(r, *action))
                .unwrap_or_default();
            format!("{} {id} {name}{change} as {me}", action.as_str())
        }
        Intent::Agent { id, action } => {
            let name = app
                .data
                .agents
                .get(id)
                .map(|a| format!(" ({})", a.name))
                .unwrap_or_default();
            format!("{} agent {id}{name} as {me}", action.as_str())
        }
    }
}

/// The share of the fleet before and after a rollout action.
fn rollout_change(r: &Rollout, action: RolloutAction) -> String {
    let now = r.percent();
    match action {
        RolloutAction::Promote => match r.phases.get(r.phase_index() + 1) {
            Some(next) => format!(" from {now}% to {}%", next.percent),
            None => format!(" at {now}%"),
        },
        RolloutAction::Abort => format!(" from {now}% back to 0%"),
        RolloutAction::Pause | RolloutAction::Resume => format!(" at {now}%"),
    }
}
