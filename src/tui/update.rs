//! `update(&mut App, Msg) -> Vec<Effect>`: every change to the console's state happens here, with
//! no I/O. Effects (commands to send, searches to run) come back later as messages.

use chrono::Duration;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::TextArea;

use super::action::Action;
use super::app::{App, Connection, Dialog, DialogStep, Intent, Mode, Pane, Toast, ToastKind};
use super::rows;
use crate::authority;
use crate::link::LinkEvent;
use crate::model::{AuditRecord, IncidentState, RolloutState, Snapshot, Timestamp};
use crate::protocol::{
    ActOnAgent, ActOnApproval, ActOnIncident, ActOnRollout, AgentAction, ApprovalAction, Command,
    IncidentAction, RevealRecord, RolloutAction,
};

/// Rows a page key moves.
const PAGE: usize = 10;
/// Records fetched per page of audit search results.
pub const AUDIT_PAGE: usize = 100;
/// Search result counts are exact up to here, then shown as "10000+".
pub const COUNT_CAP: u64 = 10_000;
const TOAST_SECONDS: i64 = 6;
/// Failed reconnects shown as such; after that the link counts as offline (and keeps trying).
const RECONNECTING_ATTEMPTS: u32 = 5;

#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    Paste(String),
    Resize(u16, u16),
    Tick(Timestamp),
    Snapshot(Box<Snapshot>),
    Link(LinkEvent),
    /// The subscription ended (the orchestrator went away).
    LinkLost(String),
    /// A command's answer: the text for the toast, and the item it was about.
    Done {
        item: String,
        result: Result<String, String>,
    },
    AuditPage {
        query: String,
        before: Option<u64>,
        result: Result<Vec<AuditRecord>, String>,
    },
    AuditCount {
        query: String,
        total: (u64, bool),
    },
    /// SIGTERM or SIGHUP: leave cleanly.
    Signal,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Send {
        item: String,
        label: String,
        command: Command,
    },
    SearchAudit {
        query: String,
        before: Option<u64>,
    },
    /// Take a fresh snapshot and subscribe again.
    Resync,
    Quit,
}

pub fn update(app: &mut App, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Key(key) => on_key(app, key),
        Msg::AuditCount { query, total } => {
            if app.audit.query.as_deref() == Some(query.as_str()) {
                app.audit.total = Some(total);
            }
            vec![]
        }
        Msg::Signal => {
            app.quit = true;
            vec![Effect::Quit]
        }
        Msg::Paste(text) => {
            on_paste(app, &text);
            vec![]
        }
        Msg::Resize(w, h) => {
            app.size = (w, h);
            vec![]
        }
        Msg::Tick(now) => {
            if !app.frozen {
                app.now = now;
            }
            app.toasts.retain(|t| t.until > now);
            vec![]
        }
        Msg::Snapshot(snapshot) => {
            app.load(*snapshot);
            app.connection = Connection::Live;
            app.data_at = app.now;
            vec![]
        }
        Msg::Link(event) => on_link(app, event),
        Msg::LinkLost(why) => {
            app.connection = Connection::Offline { since: app.now };
            toast(
                app,
                ToastKind::Error,
                format!("lost the orchestrator: {why}"),
            );
            // Try again (with backoff) until a fresh snapshot comes.
            vec![Effect::Resync]
        }
        Msg::Done { item, result } => {
            app.in_flight.retain(|i| *i != item);
            if let (Some(seq), Ok(_)) = (item.strip_prefix("audit:"), &result)
                && let Ok(seq) = seq.parse()
            {
                app.audit.revealed.insert(seq);
            }
            match result {
                Ok(text) => toast(app, ToastKind::Success, text),
                Err(text) => toast(app, ToastKind::Error, text),
            }
            vec![]
        }
        Msg::AuditPage {
            query,
            before,
            result,
        } => {
            if app.audit.query.as_deref() != Some(query.as_str()) {
                return vec![];
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
            vec![]
        }
    }
}

pub fn toast(app: &mut App, kind: ToastKind, text: String) {
    let until = app.now + Duration::seconds(TOAST_SECONDS);
    app.toasts.push(Toast { text, kind, until });
    let excess = app.toasts.len().saturating_sub(3);
    app.toasts.drain(..excess);
}

fn on_link(app: &mut App, event: LinkEvent) -> Vec<Effect> {
    match event {
        LinkEvent::Event(event) => {
            if event.seq <= app.data.seq {
                return vec![];
            }
            if event.seq != app.data.seq + 1 {
                // A gap: what we hold can no longer be trusted piecemeal.
                return vec![Effect::Resync];
            }
            app.data.apply_event(&event);
            app.data_at = app.now;
            app.connection = Connection::Live;
            if app.audit.follow && app.pane == Pane::Audit && app.audit.query.is_none() {
                app.pane_state_mut(Pane::Audit).selected = 0;
            }
            vec![]
        }
        LinkEvent::Reset => vec![Effect::Resync],
        LinkEvent::Heartbeat => {
            app.data_at = app.now;
            app.connection = Connection::Live;
            vec![]
        }
        LinkEvent::Reconnecting {
            attempt,
            next_in,
            down_since,
            why,
        } => {
            if matches!(app.connection, Connection::Live) {
                toast(
                    app,
                    ToastKind::Error,
                    format!("lost the orchestrator: {why}"),
                );
            }
            app.connection = if attempt > RECONNECTING_ATTEMPTS {
                Connection::Offline { since: down_since }
            } else {
                Connection::Reconnecting {
                    attempt,
                    next_in_s: next_in.as_secs_f64().ceil() as u64,
                }
            };
            vec![]
        }
        LinkEvent::Notice(text) => {
            let until = app.now + Duration::seconds(30);
            app.toasts.push(Toast {
                text,
                kind: ToastKind::Info,
                until,
            });
            vec![]
        }
    }
}

fn on_paste(app: &mut App, text: &str) {
    // Pasted text is data: control characters never reach a binding or the terminal.
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match &mut app.mode {
        Mode::Dialog(dialog) if dialog.step == DialogStep::Compose => {
            if dialog.on_name {
                if let Some((_, typed)) = &mut dialog.confirm_name {
                    typed.push_str(&clean);
                }
            } else {
                dialog.reason.insert_str(&clean);
            }
        }
        Mode::Command { input } => input.push_str(&clean),
        Mode::Filter { .. } => {
            let pane = app.pane;
            app.pane_state_mut(pane).filter.push_str(&clean);
        }
        _ => {}
    }
}

fn on_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    if key.kind == crossterm::event::KeyEventKind::Release {
        return vec![];
    }
    match app.mode.clone() {
        Mode::Dialog(_) => on_dialog_key(app, key),
        Mode::Filter { before } => {
            on_filter_key(app, key, before);
            search_if_submitted(app, key)
        }
        Mode::Command { input } => on_command_key(app, key, input),
        Mode::Help => {
            if matches!(
                key.code,
                KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('?')
            ) {
                app.mode = Mode::Normal;
            }
            vec![]
        }
        Mode::Normal => match app.keymap.lookup(app.pane, &key) {
            Some(action) => act(app, action),
            None => vec![],
        },
    }
}

fn on_filter_key(app: &mut App, key: KeyEvent, before: String) {
    let pane = app.pane;
    if pane == Pane::Audit && matches!(key.code, KeyCode::Up | KeyCode::Down) {
        walk_history(app, key.code == KeyCode::Up);
        check_query(app);
        return;
    }
    match key.code {
        KeyCode::Esc => {
            app.pane_state_mut(pane).filter = before;
            app.mode = Mode::Normal;
        }
        KeyCode::Enter => app.mode = Mode::Normal,
        _ => {
            if edit_line(&mut app.pane_state_mut(pane).filter, &key) {
                app.pane_state_mut(pane).selected = 0;
            }
        }
    }
    if pane == Pane::Audit {
        check_query(app);
    }
}

/// The syntax error, shown under the query line as the operator types.
fn check_query(app: &mut App) {
    let query = app.pane_state(Pane::Audit).filter.clone();
    app.audit.error = crate::query::parse(&query, app.now)
        .err()
        .map(|e| e.to_string());
}

fn walk_history(app: &mut App, older: bool) {
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
fn search_if_submitted(app: &mut App, key: KeyEvent) -> Vec<Effect> {
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
        Ok(_) => {
            app.audit.history.retain(|q| *q != query);
            app.audit.history.push(query.clone());
            let excess = app.audit.history.len().saturating_sub(50);
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
        Err(e) => {
            app.audit.error = Some(e.to_string());
            vec![]
        }
    }
}

/// What `:` understands: panes, quit, help, and the actions of the current pane.
pub fn command_words(app: &App) -> Vec<&'static str> {
    let mut words: Vec<&'static str> = Pane::ALL.iter().map(|p| p.name()).collect();
    words.extend(["quit", "q", "help"]);
    for action in Action::ALL {
        if action.mutates() && action.applies_to(app.pane) && !app.info.read_only {
            words.push(action.name());
        }
    }
    words
}

fn on_command_key(app: &mut App, key: KeyEvent, mut input: String) -> Vec<Effect> {
    match key.code {
        KeyCode::Esc => {
            app.mode = Mode::Normal;
            vec![]
        }
        KeyCode::Tab => {
            let candidates: Vec<&str> = command_words(app)
                .into_iter()
                .filter(|w| w.starts_with(input.as_str()))
                .collect();
            if let Some(first) = candidates.first() {
                let common = candidates.iter().fold(first.to_string(), |acc, w| {
                    acc.chars()
                        .zip(w.chars())
                        .take_while(|(a, b)| a == b)
                        .map(|(a, _)| a)
                        .collect()
                });
                input = if candidates.len() == 1 {
                    first.to_string()
                } else {
                    common
                };
            }
            app.mode = Mode::Command { input };
            vec![]
        }
        KeyCode::Enter => {
            app.mode = Mode::Normal;
            run_command_line(app, input.trim())
        }
        _ => {
            edit_line(&mut input, &key);
            app.mode = Mode::Command { input };
            vec![]
        }
    }
}

/// Editing of a one-line input, as in a shell: typing, backspace, `ctrl+u` to clear the line and
/// `ctrl+w` to delete the last word. Returns whether the line changed.
fn edit_line(line: &mut String, key: &KeyEvent) -> bool {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let before = line.len();
    match key.code {
        KeyCode::Backspace => {
            line.pop();
        }
        KeyCode::Char('u') if ctrl => line.clear(),
        KeyCode::Char('w') if ctrl => {
            let kept = line.trim_end().rfind(' ').map_or(0, |space| space + 1);
            line.truncate(kept);
        }
        KeyCode::Char(c) if !ctrl => {
            line.push(c);
            return true;
        }
        _ => {}
    }
    line.len() != before
}

fn run_command_line(app: &mut App, input: &str) -> Vec<Effect> {
    if input.is_empty() {
        return vec![];
    }
    if let Some(pane) = Pane::from_name(input) {
        show(app, pane);
        return vec![];
    }
    match input {
        "q" | "quit" | "q!" => return act(app, Action::Quit),
        "help" => return act(app, Action::Help),
        _ => {}
    }
    match Action::from_name(input) {
        Some(action) if action.mutates() && action.applies_to(app.pane) => act(app, action),
        _ => {
            toast(
                app,
                ToastKind::Error,
                format!("unknown command :{input} (Tab completes; :help lists keys)"),
            );
            vec![]
        }
    }
}

fn show(app: &mut App, pane: Pane) {
    if app.pane != pane {
        app.previous.push(app.pane);
        app.pane = pane;
    }
}

fn rows_len(app: &App) -> usize {
    rows::ids(app, app.pane).len()
}

fn move_selection(app: &mut App, delta: isize) -> Vec<Effect> {
    let len = rows_len(app);
    let pane = app.pane;
    let state = app.pane_state_mut(pane);
    let max = len.saturating_sub(1);
    state.selected = (state.selected as isize + delta).clamp(0, max as isize) as usize;
    let at_end = state.selected == max;
    if pane == Pane::Audit {
        app.audit.follow = app.pane_state(pane).selected == 0 && app.audit.query.is_none();
        return more_results(app, at_end);
    }
    vec![]
}

/// Search results page in as the selection nears their end.
fn more_results(app: &mut App, at_end: bool) -> Vec<Effect> {
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

fn act(app: &mut App, action: Action) -> Vec<Effect> {
    let pane = app.pane;
    match action {
        Action::Quit => {
            app.quit = true;
            vec![Effect::Quit]
        }
        Action::Back => {
            let state = app.pane_state_mut(pane);
            if state.detail.is_some() {
                state.detail = None;
            } else if pane != Pane::Overview {
                app.pane = app.previous.pop().unwrap_or(Pane::Overview);
                if app.pane == pane {
                    app.pane = Pane::Overview;
                }
            }
            vec![]
        }
        Action::Help => {
            app.mode = Mode::Help;
            vec![]
        }
        Action::Filter => {
            let before = app.pane_state(pane).filter.clone();
            app.mode = Mode::Filter { before };
            vec![]
        }
        Action::CommandLine => {
            app.mode = Mode::Command {
                input: String::new(),
            };
            vec![]
        }
        Action::ShowOverview => nav(app, Pane::Overview),
        Action::ShowAgents => nav(app, Pane::Agents),
        Action::ShowQueues => nav(app, Pane::Queues),
        Action::ShowIncidents => nav(app, Pane::Incidents),
        Action::ShowApprovals => nav(app, Pane::Approvals),
        Action::ShowAudit => nav(app, Pane::Audit),
        Action::ShowRollouts => nav(app, Pane::Rollouts),
        Action::NextSection => {
            const ORDER: [Pane; 6] = [
                Pane::Agents,
                Pane::Queues,
                Pane::Incidents,
                Pane::Approvals,
                Pane::Rollouts,
                Pane::Audit,
            ];
            let i = ORDER.iter().position(|p| *p == app.section).unwrap_or(0);
            app.section = ORDER[(i + 1) % ORDER.len()];
            vec![]
        }
        Action::Open => {
            if pane == Pane::Overview {
                let section = app.section;
                return nav(app, section);
            }
            if pane == Pane::Audit && app.pane_state(pane).detail.is_some() {
                app.audit.unfolded = !app.audit.unfolded;
                return vec![];
            }
            if let Some(id) = rows::selected(app, pane) {
                app.pane_state_mut(pane).detail = Some(id);
            }
            vec![]
        }
        Action::Up => move_selection(app, -1),
        Action::Down => move_selection(app, 1),
        Action::PageUp => move_selection(app, -(PAGE as isize)),
        Action::PageDown => move_selection(app, PAGE as isize),
        Action::Top => {
            app.pane_state_mut(pane).selected = 0;
            if pane == Pane::Audit {
                app.audit.follow = app.audit.query.is_none();
            }
            vec![]
        }
        Action::Bottom => {
            if pane == Pane::Audit {
                // End/G in the audit pane returns to the live tail.
                app.audit.query = None;
                app.audit.results.clear();
                app.audit.follow = true;
                app.pane_state_mut(pane).selected = 0;
                app.pane_state_mut(pane).detail = None;
                return vec![];
            }
            let len = rows_len(app);
            app.pane_state_mut(pane).selected = len.saturating_sub(1);
            vec![]
        }
        Action::Reveal => reveal(app),
        Action::Related => {
            related(app);
            vec![]
        }
        Action::Sort => {
            let columns = rows::sort_columns(pane).len();
            let state = app.pane_state_mut(pane);
            state.sort = (state.sort + 1) % columns.max(1);
            state.selected = 0;
            let name = rows::sort_columns(pane)[app.pane_state(pane).sort];
            toast(app, ToastKind::Info, format!("sorted by {name}"));
            vec![]
        }
        _ => {
            if let Err(why) = open_dialog(app, action) {
                toast(app, ToastKind::Error, why);
            }
            vec![]
        }
    }
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

fn reveal(app: &mut App) -> Vec<Effect> {
    let Some(record) = current_record(app) else {
        return vec![];
    };
    if record.classification != crate::model::Classification::Sensitive
        || app.audit.revealed.contains(&record.seq)
    {
        return vec![];
    }
    if let Err(why) = app.can_act() {
        toast(app, ToastKind::Error, format!("reveal not offered: {why}"));
        return vec![];
    }
    let item = format!("audit:{}", record.seq);
    app.in_flight.push(item.clone());
    vec![Effect::Send {
        item,
        label: format!("reveal seq {}", record.seq),
        command: Command::RevealRecord(RevealRecord {
            seq: record.seq,
            domain: record.domain.clone(),
        }),
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

fn related(app: &mut App) {
    let Some(record) = current_record(app) else {
        return;
    };
    match related_item(app, &record) {
        Some((pane, id)) => {
            show(app, pane);
            app.pane_state_mut(pane).detail = Some(id);
        }
        None => toast(
            app,
            ToastKind::Info,
            format!("nothing in view relates to seq {}", record.seq),
        ),
    }
}

fn nav(app: &mut App, pane: Pane) -> Vec<Effect> {
    show(app, pane);
    vec![]
}

/// Why an action is not offered on an approval, or None when it is.
pub fn approval_denial(
    app: &App,
    approval: &crate::model::Approval,
    action: Action,
) -> Option<String> {
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
        Action::Escalate => authority::may_escalate(&app.role, operator, subject).map(|_| ()),
        _ => authority::may_decide(&app.role, operator, subject),
    };
    verdict.err().map(|e| e.to_string())
}

fn domain_denial(app: &App, domain: &str) -> Option<String> {
    if let Err(why) = app.can_act() {
        return Some(why);
    }
    if app.role.covers_domain(domain) {
        None
    } else if app.role.level().is_none() {
        Some(authority::Denied::ReadOnly.to_string())
    } else {
        Some(format!(
            "role {} does not act for domain {domain}",
            app.role
        ))
    }
}

fn text_area(placeholder: &str) -> TextArea<'static> {
    let mut area = TextArea::default();
    area.set_placeholder_text(placeholder);
    area
}

fn open_dialog(app: &mut App, action: Action) -> Result<(), String> {
    let pane = app.pane;
    let id = rows::selected(app, pane).ok_or_else(|| "nothing selected".to_string())?;
    let dialog = match pane {
        Pane::Approvals => {
            let a = app.data.approvals.get(&id).ok_or("gone")?.clone();
            if let Some(why) = approval_denial(app, &a, action) {
                return Err(format!("{} not offered: {why}", action.name()));
            }
            let verb = match action {
                Action::Approve => "Approve",
                Action::Reject => "Reject",
                _ => "Escalate",
            };
            Dialog {
                intent: Intent::Approval {
                    id: a.id.clone(),
                    action,
                    version: a.version,
                },
                title: format!("{verb} {} — {}", a.id, a.category.as_str()),
                context: vec![
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
                reason: text_area("why? (required: it goes into the audit trail)"),
                reason_required: true,
                confirm_name: None,
                on_name: false,
                step: DialogStep::Compose,
                error: None,
            }
        }
        Pane::Incidents => {
            let i = app.data.incidents.get(&id).ok_or("gone")?.clone();
            if let Some(why) = domain_denial(app, &i.domain) {
                return Err(format!("{} not offered: {why}", action.name()));
            }
            if i.state == IncidentState::Resolved && action != Action::Note {
                return Err(format!("{} is already resolved", i.id));
            }
            Dialog {
                intent: Intent::Incident {
                    id: i.id.clone(),
                    action,
                    version: i.version,
                },
                title: format!(
                    "{} {} — {}",
                    capital(action.name()),
                    i.id,
                    i.severity.as_str()
                ),
                context: vec![
                    i.title.clone(),
                    format!("{} · {}", i.state.as_str(), i.domain),
                ],
                reason: text_area(if action == Action::Note {
                    "the note (required)"
                } else {
                    "a note for the timeline (optional)"
                }),
                reason_required: action == Action::Note,
                confirm_name: None,
                on_name: false,
                step: DialogStep::Compose,
                error: None,
            }
        }
        Pane::Rollouts => {
            let r = app.data.rollouts.get(&id).ok_or("gone")?.clone();
            if let Some(why) = domain_denial(app, &r.domain) {
                return Err(format!("{} not offered: {why}", action.name()));
            }
            let to_complete = action == Action::Promote && r.phase_index() + 2 == r.phases.len();
            let typed =
                (to_complete || action == Action::Abort).then(|| (r.name.clone(), String::new()));
            let allowed = match action {
                Action::Promote => {
                    matches!(r.state, RolloutState::Progressing | RolloutState::Paused)
                }
                Action::Pause => r.state == RolloutState::Progressing,
                Action::Resume => r.state == RolloutState::Paused,
                _ => matches!(r.state, RolloutState::Progressing | RolloutState::Paused),
            };
            if !allowed {
                return Err(format!(
                    "{} is {}: cannot {}",
                    r.id,
                    r.state.as_str(),
                    action.name()
                ));
            }
            Dialog {
                intent: Intent::Rollout {
                    id: r.id.clone(),
                    name: r.name.clone(),
                    action,
                    version: r.version,
                },
                title: format!("{} {} — {}", capital(action.name()), r.id, r.name),
                context: vec![
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
                reason: text_area(if matches!(action, Action::Pause | Action::Abort) {
                    "why? (required)"
                } else {
                    "why? (optional)"
                }),
                reason_required: matches!(action, Action::Pause | Action::Abort),
                confirm_name: typed,
                on_name: false,
                step: DialogStep::Compose,
                error: None,
            }
        }
        Pane::Agents => {
            let a = app.data.agents.get(&id).ok_or("gone")?.clone();
            if let Some(why) = domain_denial(app, &a.domain) {
                return Err(format!("{} not offered: {why}", action.name()));
            }
            Dialog {
                intent: Intent::Agent {
                    id: a.id.clone(),
                    action,
                },
                title: format!("{} {} ({})", capital(action.name()), a.id, a.name),
                context: vec![format!("{} · {}/{}", a.status.as_str(), a.domain, a.team)],
                reason: text_area(if action == Action::Pause {
                    "why? (required)"
                } else {
                    "(no reason needed)"
                }),
                reason_required: action == Action::Pause,
                confirm_name: None,
                on_name: false,
                step: DialogStep::Compose,
                error: None,
            }
        }
        _ => return Err(format!("{} does nothing here", action.name())),
    };
    app.mode = Mode::Dialog(Box::new(dialog));
    Ok(())
}

fn capital(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn on_dialog_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    let Mode::Dialog(mut dialog) = std::mem::replace(&mut app.mode, Mode::Normal) else {
        return vec![];
    };
    match dialog.step {
        DialogStep::Compose => match key.code {
            KeyCode::Esc => return vec![],
            KeyCode::Tab | KeyCode::BackTab if dialog.confirm_name.is_some() => {
                dialog.on_name = !dialog.on_name;
            }
            KeyCode::Enter => match validate(&dialog) {
                Ok(()) => {
                    dialog.error = None;
                    dialog.step = DialogStep::Confirm;
                }
                Err(e) => dialog.error = Some(e),
            },
            _ if dialog.on_name => {
                if let Some((_, typed)) = &mut dialog.confirm_name {
                    match key.code {
                        KeyCode::Backspace => {
                            typed.pop();
                        }
                        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                            typed.push(c)
                        }
                        _ => {}
                    }
                }
            }
            _ => {
                dialog.reason.input(key);
            }
        },
        DialogStep::Confirm => match key.code {
            KeyCode::Enter | KeyCode::Char('y') => return commit(app, *dialog),
            KeyCode::Esc | KeyCode::Char('n') | KeyCode::Backspace => {
                dialog.step = DialogStep::Compose
            }
            _ => {}
        },
    }
    app.mode = Mode::Dialog(dialog);
    vec![]
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

fn commit(app: &mut App, dialog: Dialog) -> Vec<Effect> {
    let reason = reason_text(&dialog);
    let optional = (!reason.is_empty()).then(|| reason.clone());
    let (item, label, command) = match dialog.intent {
        Intent::Approval {
            id,
            action,
            version,
        } => {
            let command = match action {
                Action::Escalate => Command::ActOnApproval(ActOnApproval {
                    decision: ApprovalAction::Escalate,
                    id: id.clone(),
                    reason,
                    version: Some(version),
                }),
                _ => Command::ActOnApproval(ActOnApproval {
                    id: id.clone(),
                    decision: if action == Action::Approve {
                        ApprovalAction::Approve
                    } else {
                        ApprovalAction::Reject
                    },
                    reason,
                    version: Some(version),
                }),
            };
            (id.clone(), format!("{} {id}", action.name()), command)
        }
        Intent::Incident {
            id,
            action,
            version,
        } => {
            let incident_action = match action {
                Action::Ack => IncidentAction::Ack,
                Action::Escalate => IncidentAction::Escalate,
                Action::Mitigate => IncidentAction::Mitigate,
                Action::Resolve => IncidentAction::Resolve,
                _ => IncidentAction::Note,
            };
            let command = Command::ActOnIncident(ActOnIncident {
                id: id.clone(),
                action: incident_action,
                note: optional,
                version: Some(version),
            });
            (id.clone(), format!("{} {id}", action.name()), command)
        }
        Intent::Rollout {
            id,
            action,
            version,
            ..
        } => {
            let rollout_action = match action {
                Action::Promote => RolloutAction::Promote,
                Action::Pause => RolloutAction::Pause,
                Action::Resume => RolloutAction::Resume,
                _ => RolloutAction::Abort,
            };
            let command = Command::ActOnRollout(ActOnRollout {
                id: id.clone(),
                action: rollout_action,
                reason: optional,
                version: Some(version),
            });
            (id.clone(), format!("{} {id}", action.name()), command)
        }
        Intent::Agent { id, action } => {
            let command = Command::ActOnAgent(ActOnAgent {
                id: id.clone(),
                action: if action == Action::Pause {
                    AgentAction::Pause
                } else {
                    AgentAction::Resume
                },
                reason: optional,
            });
            (id.clone(), format!("{} {id}", action.name()), command)
        }
    };
    app.in_flight.push(item.clone());
    vec![Effect::Send {
        item,
        label,
        command,
    }]
}
