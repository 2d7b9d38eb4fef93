//! Decision dialogs: what is offered on the selected item and why not, composing the reason (and
//! the rollout's name where asked), confirming, and the command a confirmed dialog sends.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::review::{self, Review};
use super::{Effect, toast};
use crate::authority;
use crate::model::{Approval, IncidentState, RolloutState};
use crate::protocol::{
    ActOnAgent, ActOnApproval, ActOnIncident, ActOnRollout, AgentAction, ApprovalAction, Command,
    IncidentAction, RolloutAction,
};
use crate::tui::action::Action;
use crate::tui::app::{App, Dialog, DialogStep, Intent, Mode, Pane, ToastKind};
use crate::tui::rows;

/// Opens the dialog for `action` on the selected row, or says why it is not offered.
pub(super) fn open(app: &mut App, action: Action) -> Vec<Effect> {
    match dialog_for(app, action) {
        Ok(dialog) => app.mode = Mode::Dialog(Box::new(dialog)),
        Err(why) => toast(app, ToastKind::Error, why),
    }
    vec![]
}

fn dialog_for(app: &App, action: Action) -> Result<Dialog, String> {
    let pane = app.pane;
    let id = rows::selected(app, pane).ok_or_else(|| "nothing selected".to_string())?;
    match pane {
        Pane::Approvals => approval_dialog(app, &id, action),
        Pane::Incidents => incident_dialog(app, &id, action),
        Pane::Rollouts => rollout_dialog(app, &id, action),
        Pane::Agents => agent_dialog(app, &id, action),
        _ => Err(not_here(action)),
    }
}

/// The check every item's dialog starts with: may this console act in the item's domain?
fn offered_in(app: &App, domain: &str, action: Action) -> Result<(), String> {
    match domain_denial(app, domain) {
        Some(why) => Err(format!("{} not offered: {why}", action.name())),
        None => Ok(()),
    }
}

fn not_here(action: Action) -> String {
    format!("{} does nothing here", action.name())
}

fn approval_dialog(app: &App, id: &str, action: Action) -> Result<Dialog, String> {
    let a = app.data.approvals.get(id).ok_or("gone")?;
    let verb = action.on_approval().ok_or_else(|| not_here(action))?;
    if let Some(why) = approval_denial(app, a, verb) {
        return Err(format!("{} not offered: {why}", action.name()));
    }
    Ok(Dialog::compose(
        Intent::Approval {
            id: a.id.clone(),
            action: verb,
            version: a.version,
        },
        format!(
            "{} {} — {}",
            capital(action.name()),
            a.id,
            a.category.as_str()
        ),
        vec![
            a.summary.clone(),
            format!("recommendation: {}", a.recommendation),
            format!(
                "level {} · quorum {} of {} · classification {}",
                a.level,
                a.votes.len(),
                a.quorum,
                a.classification.as_str()
            ),
        ],
        "why? (required: it goes into the audit trail)",
        true,
    ))
}

fn incident_dialog(app: &App, id: &str, action: Action) -> Result<Dialog, String> {
    let i = app.data.incidents.get(id).ok_or("gone")?;
    let verb = action.on_incident().ok_or_else(|| not_here(action))?;
    offered_in(app, &i.domain, action)?;
    if i.state == IncidentState::Resolved && verb != IncidentAction::Note {
        return Err(format!("{} is already resolved", i.id));
    }
    let note = verb == IncidentAction::Note;
    Ok(Dialog::compose(
        Intent::Incident {
            id: i.id.clone(),
            action: verb,
            version: i.version,
        },
        format!(
            "{} {} — {}",
            capital(action.name()),
            i.id,
            i.severity.as_str()
        ),
        vec![
            i.title.clone(),
            format!("{} · {}", i.state.as_str(), i.domain),
        ],
        if note {
            "the note (required)"
        } else {
            "a note for the timeline (optional)"
        },
        note,
    ))
}

fn rollout_dialog(app: &App, id: &str, action: Action) -> Result<Dialog, String> {
    let r = app.data.rollouts.get(id).ok_or("gone")?;
    let verb = action.on_rollout().ok_or_else(|| not_here(action))?;
    offered_in(app, &r.domain, action)?;
    let allowed = match verb {
        RolloutAction::Promote | RolloutAction::Abort => {
            matches!(r.state, RolloutState::Progressing | RolloutState::Paused)
        }
        RolloutAction::Pause => r.state == RolloutState::Progressing,
        RolloutAction::Resume => r.state == RolloutState::Paused,
    };
    if !allowed {
        return Err(format!(
            "{} is {}: cannot {}",
            r.id,
            r.state.as_str(),
            action.name()
        ));
    }
    let to_complete = verb == RolloutAction::Promote && r.phase_index() + 2 == r.phases.len();
    let required = matches!(verb, RolloutAction::Pause | RolloutAction::Abort);
    let mut dialog = Dialog::compose(
        Intent::Rollout {
            id: r.id.clone(),
            name: r.name.clone(),
            action: verb,
            version: r.version,
        },
        format!("{} {} — {}", capital(action.name()), r.id, r.name),
        vec![
            format!(
                "{} at {} ({}%)",
                r.state.as_str(),
                r.current_phase,
                r.percent()
            ),
            if to_complete {
                "this promotes to 100%: every agent of the domain".into()
            } else {
                String::new()
            },
        ],
        if required {
            "why? (required)"
        } else {
            "why? (optional)"
        },
        required,
    );
    // The two steps that cannot be walked back ask for the rollout's name, typed.
    dialog.confirm_name =
        (to_complete || verb == RolloutAction::Abort).then(|| (r.name.clone(), String::new()));
    Ok(dialog)
}

fn agent_dialog(app: &App, id: &str, action: Action) -> Result<Dialog, String> {
    let a = app.data.agents.get(id).ok_or("gone")?;
    let verb = action.on_agent().ok_or_else(|| not_here(action))?;
    offered_in(app, &a.domain, action)?;
    let pause = verb == AgentAction::Pause;
    Ok(Dialog::compose(
        Intent::Agent {
            id: a.id.clone(),
            action: verb,
        },
        format!("{} {} ({})", capital(action.name()), a.id, a.name),
        vec![format!("{} · {}/{}", a.status.as_str(), a.domain, a.team)],
        if pause {
            "why? (required)"
        } else {
            "(no reason needed)"
        },
        pause,
    ))
}

/// Why an action is not offered on an approval, or None when it is.
pub fn approval_denial(app: &App, approval: &Approval, action: ApprovalAction) -> Option<String> {
    if let Err(why) = app.can_act() {
        return Some(why);
    }
    if !approval.is_pending() {
        return Some(format!(
            "{} is already {}",
            approval.id,
            approval.state.as_str()
        ));
    }
    if app.in_flight.contains(&approval.id) {
        return Some("a decision on it is on its way".into());
    }
    let subject = approval.subject();
    let operator = &app.info.operator;
    let verdict = match action {
        ApprovalAction::Escalate => {
            authority::may_escalate(&app.role, operator, subject).map(|_| ())
        }
        ApprovalAction::Approve | ApprovalAction::Reject => {
            authority::may_decide(&app.role, operator, subject)
        }
    };
    verdict.err().map(|e| e.to_string())
}

fn domain_denial(app: &App, domain: &str) -> Option<String> {
    if let Err(why) = app.can_act() {
        return Some(why);
    }
    authority::may_act_in(&app.role, domain)
        .err()
        .map(|e| e.to_string())
}

fn capital(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

pub(super) fn on_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    let Mode::Dialog(mut dialog) = std::mem::replace(&mut app.mode, Mode::Normal) else {
        return vec![];
    };
    match dialog.step {
        DialogStep::Compose => match key.code {
            KeyCode::Esc => return vec![],
            KeyCode::Tab | KeyCode::BackTab if dialog.confirm_name.is_some() => {
                dialog.on_name = !dialog.on_name;
            }
            // Enter submits the reason: it opens the review, which Enter never passes.
            KeyCode::Enter => match validate(&dialog) {
                Ok(()) => {
                    dialog.error = None;
                    dialog.hint = None;
                    dialog.review_seen = false;
                    dialog.step = DialogStep::Confirm;
                }
                Err(e) => dialog.error = Some(e),
            },
            KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                clear_field(&mut dialog)
            }
            _ if dialog.on_name => type_name(&mut dialog, key),
            _ => {
                dialog.reason.input(key);
            }
        },
        DialogStep::Confirm => match review::on_key(&mut dialog, key) {
            Review::Commit => return commit(app, *dialog),
            Review::Back => {
                dialog.hint = None;
                dialog.step = DialogStep::Compose;
            }
            Review::Stay => {}
        },
    }
    app.mode = Mode::Dialog(dialog);
    vec![]
}

/// `ctrl+u`, as on a shell line: the focused field starts over.
fn clear_field(dialog: &mut Dialog) {
    match &mut dialog.confirm_name {
        Some((_, typed)) if dialog.on_name => typed.clear(),
        _ => {
            dialog.reason.clear();
        }
    }
}

/// The rollout name field: plain characters and backspace, nothing else.
fn type_name(dialog: &mut Dialog, key: KeyEvent) {
    let Some((_, typed)) = &mut dialog.confirm_name else {
        return;
    };
    match key.code {
        KeyCode::Backspace => {
            typed.pop();
        }
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => typed.push(c),
        _ => {}
    }
}

pub fn reason_text(dialog: &Dialog) -> String {
    dialog.reason.lines().join(" ").trim().to_string()
}

fn validate(dialog: &Dialog) -> Result<(), String> {
    if dialog.reason_required && reason_text(dialog).is_empty() {
        return Err("a reason is required: type why".into());
    }
    if let Some((want, typed)) = &dialog.confirm_name
        && typed != want
    {
        return Err(format!(
            "type the rollout's name exactly to confirm: {want}"
        ));
    }
    Ok(())
}

/// A confirmed dialog: its command goes out, and the item waits for the answer.
fn commit(app: &mut App, dialog: Dialog) -> Vec<Effect> {
    let reason = reason_text(&dialog);
    let (id, verb, command) = command_for(dialog.intent, reason);
    let label = format!("{verb} {id}");
    app.in_flight.push(id.clone());
    vec![Effect::Send {
        item: id,
        label,
        command,
    }]
}

/// The command a confirmed intent sends: the dialog already holds the domain verb, so every
/// arm is exact.
fn command_for(intent: Intent, reason: String) -> (String, &'static str, Command) {
    let optional = (!reason.is_empty()).then(|| reason.clone());
    match intent {
        Intent::Approval {
            id,
            action,
            version,
        } => (
            id.clone(),
            action.as_str(),
            Command::ActOnApproval(ActOnApproval {
                id,
                decision: action,
                reason,
                version: Some(version),
            }),
        ),
        Intent::Incident {
            id,
            action,
            version,
        } => (
            id.clone(),
            action.as_str(),
            Command::ActOnIncident(ActOnIncident {
                id,
                action,
                note: optional,
                version: Some(version),
            }),
        ),
        Intent::Rollout {
            id,
            action,
            version,
            ..
        } => (
            id.clone(),
            action.as_str(),
            Command::ActOnRollout(ActOnRollout {
                id,
                action,
                reason: optional,
                version: Some(version),
            }),
        ),
        Intent::Agent { id, action } => (
            id.clone(),
            action.as_str(),
            Command::ActOnAgent(ActOnAgent {
                id,
                action,
                reason: optional,
            }),
        ),
    }
}
