//! `update(&mut App, Msg) -> Vec<Effect>`: every change to the console's state happens here, with
//! no I/O. Effects (commands to send, searches to run) come back later as messages.
//!
//! One file per source of change: keys and the lines typed at `/` and `:` (`keys`), moving
//! between and inside panes (`navigation`), the decision dialogs (`dialogs`), the audit search
//! (`audit`) and what the link reports (`link_events`). This file routes messages and actions.

mod attention;
mod audit;
mod change;
mod dialogs;
mod keys;
mod link_events;
mod navigation;
mod review;
mod selection;

use chrono::Duration;
use crossterm::event::KeyEvent;

use super::action::Action;
use super::app::{App, Mode, Pane, Toast, ToastKind};
use crate::link::LinkEvent;
use crate::model::{AuditRecord, Snapshot, Timestamp};
use crate::protocol::Command;

pub use attention::{NEEDS_YOU, start as start_attention};
pub use audit::related_item;
pub use change::{item_change, still_possible};
pub use dialogs::{agent_denial, approval_denial, incident_denial, reason_text, rollout_denial};
pub use keys::command_words;
pub use review::decision_line;

/// Rows a page key moves.
const PAGE: usize = 10;
/// Records fetched per page of audit search results.
pub const AUDIT_PAGE: usize = 100;
const TOAST_SECONDS: i64 = 6;

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
    /// A sensitive record, whole, as its audited reveal returned it.
    Revealed(Box<crate::model::AuditRecord>),
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
    /// A frame reached the terminal: what it shows has been seen (a review may now be confirmed).
    Drawn,
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
    /// A dialog opened on this item: tell the orchestrator (the demo's colleagues hold off).
    Claim(String),
    /// Call the operator: the bell, a desktop notification, the terminal title.
    Call(crate::tui::attention::Call),
    Quit,
}

pub fn update(app: &mut App, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Key(key) => keys::on_key(app, key),
        Msg::Paste(text) => {
            keys::on_paste(app, &text);
            vec![]
        }
        Msg::Resize(w, h) => {
            app.size = (w, h);
            vec![]
        }
        Msg::Tick(now) => {
            tick(app, now);
            vec![]
        }
        Msg::Snapshot(snapshot) => {
            link_events::on_snapshot(app, *snapshot);
            attention::refresh(app)
        }
        Msg::Link(event) => {
            let mut effects = link_events::on_event(app, event);
            effects.extend(attention::refresh(app));
            effects
        }
        Msg::LinkLost(why) => link_events::on_lost(app, &why),
        Msg::Done { item, result } => {
            link_events::on_done(app, &item, result);
            vec![]
        }
        Msg::Revealed(record) => {
            app.audit.revealed.insert(record.seq, *record);
            vec![]
        }
        Msg::AuditPage {
            query,
            before,
            result,
        } => {
            audit::on_page(app, &query, before, result);
            vec![]
        }
        Msg::AuditCount { query, total } => {
            audit::on_count(app, &query, total);
            vec![]
        }
        Msg::Signal => quit(app),
        Msg::Drawn => {
            review::on_drawn(app);
            attention::on_drawn(app);
            vec![]
        }
    }
}

/// What an action does, whether it came from a key or from the `:` line.
fn act(app: &mut App, action: Action) -> Vec<Effect> {
    match action {
        Action::Quit => quit(app),
        Action::Back => navigation::back(app),
        Action::Help => {
            app.mode = Mode::Help;
            vec![]
        }
        Action::Filter => keys::start_filter(app),
        Action::CommandLine => keys::start_command_line(app),
        Action::ShowOverview => navigation::open_pane(app, Pane::Overview),
        Action::ShowAgents => navigation::open_pane(app, Pane::Agents),
        Action::ShowQueues => navigation::open_pane(app, Pane::Queues),
        Action::ShowIncidents => navigation::open_pane(app, Pane::Incidents),
        Action::ShowApprovals => navigation::open_pane(app, Pane::Approvals),
        Action::ShowAudit => navigation::open_pane(app, Pane::Audit),
        Action::ShowRollouts => navigation::open_pane(app, Pane::Rollouts),
        Action::ShowInbox => navigation::open_pane(app, Pane::Inbox),
        Action::NextSection => navigation::next_section(app),
        Action::Open => navigation::open(app),
        Action::Up => navigation::move_selection(app, -1),
        Action::Down => navigation::move_selection(app, 1),
        Action::PageUp => navigation::move_selection(app, -(PAGE as isize)),
        Action::PageDown => navigation::move_selection(app, PAGE as isize),
        Action::Top => navigation::top(app),
        Action::Bottom => navigation::bottom(app),
        Action::Sort => navigation::sort(app),
        Action::Reveal => audit::reveal(app),
        Action::Related => audit::related(app),
        Action::Approve
        | Action::Reject
        | Action::Escalate
        | Action::Ack
        | Action::Mitigate
        | Action::Resolve
        | Action::Note
        | Action::Promote
        | Action::Pause
        | Action::Resume
        | Action::Abort => dialogs::open(app, action),
    }
}

fn quit(app: &mut App) -> Vec<Effect> {
    app.quit = true;
    vec![Effect::Quit]
}

fn tick(app: &mut App, now: Timestamp) {
    app.attention.wall = now;
    attention::on_tick(app);
    if !app.frozen {
        app.now = now;
    }
    app.toasts.retain(|t| t.until > now);
}

pub fn toast(app: &mut App, kind: ToastKind, text: String) {
    let until = app.now + Duration::seconds(TOAST_SECONDS);
    app.toasts.push(Toast { text, kind, until });
    let excess = app.toasts.len().saturating_sub(3);
    app.toasts.drain(..excess);
}
