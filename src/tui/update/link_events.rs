//! What the link reports: snapshots, events in sequence, its health, and the answers to the
//! commands the console sent.

use chrono::Duration;

use super::{Effect, selection, toast};
use crate::link::LinkEvent;
use crate::model::Snapshot;
use crate::tui::app::{App, Connection, Pane, Toast, ToastKind};

/// Failed reconnects shown as such; after that the link counts as offline (and keeps trying).
const RECONNECTING_ATTEMPTS: u32 = 5;
/// Notices from the orchestrator matter more than a command's answer: they stay longer.
const NOTICE_SECONDS: i64 = 30;

pub(super) fn on_snapshot(app: &mut App, snapshot: Snapshot) {
    let marks = selection::mark(app);
    app.load(snapshot);
    selection::restore(app, marks);
    app.connection = Connection::Live;
    app.data_at = app.now;
}

pub(super) fn on_event(app: &mut App, event: LinkEvent) -> Vec<Effect> {
    match event {
        LinkEvent::Event(event) => on_change(app, &event),
        LinkEvent::Reset => vec![Effect::Resync],
        LinkEvent::Replica(name) => {
            // Moving to another replica is news; the first connection is not.
            if app.info.replica.as_ref().is_some_and(|was| *was != name) {
                toast(
                    app,
                    ToastKind::Info,
                    format!("now on replica {name}: the events resume where they stopped"),
                );
            }
            app.info.replica = Some(name);
            vec![]
        }
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
            let until = app.now + Duration::seconds(NOTICE_SECONDS);
            app.toasts.push(Toast {
                text,
                kind: ToastKind::Info,
                until,
            });
            vec![]
        }
    }
}

/// One change from the orchestrator, applied only in sequence.
fn on_change(app: &mut App, event: &crate::model::Event) -> Vec<Effect> {
    if event.seq <= app.data.seq {
        return vec![];
    }
    if event.seq != app.data.seq + 1 {
        // A gap: what we hold can no longer be trusted piecemeal.
        return vec![Effect::Resync];
    }
    let marks = selection::mark(app);
    app.data.apply_event(event);
    selection::restore(app, marks);
    app.data_at = app.now;
    app.connection = Connection::Live;
    if app.audit.follow && app.pane == Pane::Audit && app.audit.query.is_none() {
        app.pane_state_mut(Pane::Audit).selected = 0;
    }
    vec![]
}

pub(super) fn on_lost(app: &mut App, why: &str) -> Vec<Effect> {
    app.connection = Connection::Offline { since: app.now };
    toast(
        app,
        ToastKind::Error,
        format!("lost the orchestrator: {why}"),
    );
    // Try again (with backoff) until a fresh snapshot comes.
    vec![Effect::Resync]
}

/// A command's answer: the item is no longer in flight, and the operator hears how it went.
pub(super) fn on_done(app: &mut App, item: &str, result: Result<String, String>) {
    app.in_flight.retain(|i| i != item);
    match result {
        Ok(text) => {
            // Recorded: the text typed for it is in the trail now.
            app.drafts.remove(item);
            app.sent.remove(item);
            toast(app, ToastKind::Success, text)
        }
        Err(text) => {
            if !super::dialogs::refused(app, item, &text) {
                toast(app, ToastKind::Error, text)
            }
        }
    }
}
