//! Decision dialogs: what is offered on the selected item and why not, composing the reason (and
//! the rollout's name where asked), confirming, and the command a confirmed dialog sends.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::{CursorMove, TextArea};

use super::change;
use super::review::{self, Review};
use super::{Effect, toast};
use crate::authority;
use crate::model::{Agent, Approval, Incident, Rollout};
use crate::protocol::limits;
use crate::protocol::{
    ActOnAgent, ActOnApproval, ActOnIncident, ActOnRollout, AgentAction, ApprovalAction, Command,
    IncidentAction, RolloutAction,
};
use crate::tui::action::Action;
use crate::tui::app::{App, Dialog, DialogStep, Intent, Mode, Pane, ToastKind};
use crate::tui::rows;

/// Opens the dialog for `action` on the selected row, or says why it is not offered.
pub(super) fn open(app: &mut App, action: Action) -> Vec<Effect> {
    let opened = rows::selected(app, app.pane)
        .ok_or_else(|| "nothing selected".to_string())
        .and_then(|id| dialog_on(app, app.pane, &id, action));
    match opened {
        Ok(dialog) => {
            // The orchestrator hears of it: the demo's simulated colleagues keep off the item
            // while this person types.
            let id = dialog.intent.id().to_string();
            show(app, dialog);
            vec![Effect::Claim(id)]
        }
        Err(why) => {
            toast(app, ToastKind::Error, why);
            vec![]
        }
    }
}

/// Shows a dialog, with the text last typed for its item (a cancelled or refused decision keeps
/// it) already in the reason field.
pub(super) fn show(app: &mut App, mut dialog: Dialog) {
    if let Some(lines) = app.drafts.get(dialog.intent.id()) {
        dialog.reason = TextArea::new(lines.clone());
        dialog.reason.move_cursor(CursorMove::Bottom);
        dialog.reason.move_cursor(CursorMove::End);
    }
    app.mode = Mode::Dialog(Box::new(dialog));
}

/// The dialog for `action` on item `id` of `pane`, or why it is not offered.
pub(super) fn dialog_on(app: &App, pane: Pane, id: &str, action: Action) -> Result<Dialog, String> {
    match pane {
        Pane::Approvals => approval_dialog(app, id, action),
        Pane::Incidents => incident_dialog(app, id, action),
        Pane::Rollouts => rollout_dialog(app, id, action),
        Pane::Agents => agent_dialog(app, id, action),
        _ => Err(not_here(action)),
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
    if let Some(why) = incident_denial(app, i, verb) {
        return Err(format!("{} not offered: {why}", action.name()));
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
    if let Some(why) = rollout_denial(app, r, verb) {
        return Err(format!("{} not offered: {why}", action.name()));
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
    if let Some(why) = agent_denial(app, a, verb) {
        return Err(format!("{} not offered: {why}", action.name()));
    }
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

/// Why an action is not offered on an incident, or None when it is: the console's state, the
/// role, then the engine's own refusal.
pub fn incident_denial(app: &App, i: &Incident, action: IncidentAction) -> Option<String> {
    domain_denial(app, &i.domain, &i.id).or_else(|| action.refusal(i))
}

/// Why an action is not offered on a rollout now (the minimum time, the gate included).
pub fn rollout_denial(app: &App, r: &Rollout, action: RolloutAction) -> Option<String> {
    domain_denial(app, &r.domain, &r.id).or_else(|| action.refusal(r, app.now))
}

pub fn agent_denial(app: &App, a: &Agent, action: AgentAction) -> Option<String> {
    domain_denial(app, &a.domain, &a.id).or_else(|| action.refusal(a))
}

fn domain_denial(app: &App, domain: &str, id: &str) -> Option<String> {
    if let Err(why) = app.can_act() {
        return Some(why);
    }
    if app.in_flight.iter().any(|i| i == id) {
        return Some("a decision on it is on its way".into());
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
            KeyCode::Esc => {
                keep_draft(app, &dialog);
                return vec![];
            }
            KeyCode::Tab | KeyCode::BackTab if dialog.confirm_name.is_some() => {
                dialog.on_name = !dialog.on_name;
            }
            // Enter submits the reason: it opens the review, which Enter never passes.
            KeyCode::Enter => match validate(app, &dialog) {
                Ok(current) => {
                    // The review states the effect on the item as it is now.
                    dialog.intent.adopt(current);
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
            Review::Commit => {
                if recheck(app, &mut dialog) {
                    return commit(app, *dialog);
                }
            }
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

/// The last look before a `y` commits: the item must still be as reviewed. If a colleague
/// decided it meanwhile, the dialog goes back to the reason with the refusal; if it changed in
/// a way that still allows the decision, the review is shown again, to be read and confirmed.
fn recheck(app: &App, dialog: &mut Dialog) -> bool {
    if let Some(why) = change::denial(app, &dialog.intent) {
        dialog.step = DialogStep::Compose;
        dialog.hint = None;
        dialog.error = Some(format!(
            "{} is no longer possible: {why}",
            dialog.intent.verb()
        ));
        return false;
    }
    let current = change::current_version(app, &dialog.intent);
    match current {
        Some(v) if Some(v) != dialog.intent.version() => {
            dialog.intent.adopt(v);
            dialog.review_seen = false;
            dialog.hint = Some(format!(
                "{} changed since you reviewed: read the decision again, then y",
                dialog.intent.id()
            ));
            false
        }
        _ => true,
    }
}

/// A dialog closed without a decision keeps what was typed, for the next one on the item.
fn keep_draft(app: &mut App, dialog: &Dialog) {
    let id = dialog.intent.id().to_string();
    if reason_text(dialog).is_empty() {
        app.drafts.remove(&id);
    } else {
        app.drafts.insert(id, dialog.reason.lines().to_vec());
    }
}

/// The orchestrator refused a decision sent from a dialog: the dialog comes back as it was,
/// with the refusal, and says what is still possible; or, when the operator is busy elsewhere,
/// its text waits for the next dialog on the item. False when there is no such dialog.
pub(super) fn refused(app: &mut App, item: &str, why: &str) -> bool {
    let Some(mut dialog) = app.sent.remove(item) else {
        return false;
    };
    if !matches!(app.mode, Mode::Normal) {
        return false;
    }
    dialog.step = DialogStep::Compose;
    dialog.hint = None;
    dialog.review_seen = false;
    dialog.error = Some(format!("refused: {why}"));
    app.mode = Mode::Dialog(dialog);
    true
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

/// What Enter checks before the review: the action is still possible, the reason is there and
/// within the limit the orchestrator applies, the name is typed. Ok holds the item's version.
fn validate(app: &App, dialog: &Dialog) -> Result<u64, String> {
    if let Some(why) = change::denial(app, &dialog.intent) {
        return Err(format!(
            "{} is no longer possible: {why}",
            dialog.intent.verb()
        ));
    }
    let text = reason_text(dialog);
    if dialog.reason_required && text.is_empty() {
        return Err("a reason is required: type why".into());
    }
    let count = text.chars().count();
    let max = limits::REASON.max_chars;
    if count > max {
        return Err(format!(
            "the reason is {count} characters; the most is {max}: shorten it by {}",
            count - max
        ));
    }
    if let Some((want, typed)) = &dialog.confirm_name
        && typed != want
    {
        return Err(format!(
            "type the rollout's name exactly to confirm: {want}"
        ));
    }
    change::current_version(app, &dialog.intent)
        .ok_or_else(|| format!("{} is no longer in the data", dialog.intent.id()))
}

/// A confirmed dialog: its command goes out, and the item waits for the answer.
fn commit(app: &mut App, dialog: Dialog) -> Vec<Effect> {
    keep_draft(app, &dialog);
    app.sent
        .insert(dialog.intent.id().to_string(), Box::new(dialog.clone()));
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
                option: None,
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
