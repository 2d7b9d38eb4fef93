//! The selection stays on its item, by id, when the data changes under a list (events, a fresh
//! snapshot after a reconnect); an item that leaves the list moves the cursor with a notice. And
//! the audit pane's `G` goes back to a live tail that shows the records again.

use crossterm::event::KeyCode;
use opsdeck::model::{Change, Event, IncidentState};
use opsdeck::protocol::Command;
use opsdeck::tui::app::{App, Intent, Mode, Pane};
use opsdeck::tui::rows;
use opsdeck::tui::update::{Effect, Msg, NEEDS_YOU, update};

use super::{app, ch, demo, key, press, select_decidable, typed};

/// Opens the approve dialog on the selection, types a reason and commits it: the sent command.
fn approve_selected(app: &mut App) -> (String, Vec<Effect>) {
    press(app, vec![ch('a')]);
    let Mode::Dialog(dialog) = &app.mode else {
        panic!("no dialog opened: {:?}", app.toasts)
    };
    let Intent::Approval { id, .. } = &dialog.intent else {
        panic!("not an approval dialog")
    };
    let id = id.clone();
    press(app, typed("budget fits"));
    let mut effects = press(app, vec![key(KeyCode::Enter), key(KeyCode::Enter)]);
    if matches!(app.mode, Mode::Dialog(_)) {
        // The review confirms with its own key, once it has been drawn.
        effects.extend(press(app, vec![Msg::Drawn, ch('y')]));
    }
    (id, effects)
}

fn sent_approval_id(effects: &[Effect]) -> String {
    match effects {
        [
            Effect::Send {
                command: Command::ActOnApproval(act),
                ..
            },
        ] => act.id.clone(),
        other => panic!("expected one approval command, got {other:?}"),
    }
}

#[test]
fn a_snapshot_that_inserts_an_approval_above_the_cursor_keeps_the_same_item_selected() {
    let mut app = app();
    press(&mut app, vec![ch('5')]);
    let target = select_decidable(&mut app);
    let before = rows::ids(&app, Pane::Approvals);
    let at = before.iter().position(|id| *id == target).unwrap();

    // A reconnect brings a snapshot with a new, more urgent approval: it sorts above the cursor.
    let (snapshot, _) = demo();
    let mut fresh = snapshot.clone();
    let mut urgent = app.data.approvals[&target].clone();
    urgent.id = "APR-0".into();
    urgent.created_at -= chrono::Duration::minutes(30);
    urgent.expires_at -= chrono::Duration::minutes(30);
    urgent.level_deadline_at = urgent
        .level_deadline_at
        .map(|t| t - chrono::Duration::minutes(30));
    fresh.approvals.push(urgent);
    update(&mut app, Msg::Snapshot(Box::new(fresh)));
    let after = rows::ids(&app, Pane::Approvals);
    let new_at = after.iter().position(|id| id == "APR-0").unwrap();
    assert!(new_at <= at, "the new item sorts above the cursor");
    // Row `at` now holds another item; the cursor followed the one it was on.
    assert_ne!(after[at], target);
    assert_eq!(rows::selected(&app, Pane::Approvals), Some(target.clone()));
    // The new item calls for attention; nothing left the list.
    assert!(
        app.toasts.iter().all(|t| t.text.starts_with(NEEDS_YOU)),
        "nothing left the list: {:?}",
        app.toasts
    );

    let (dialog_id, effects) = approve_selected(&mut app);
    assert_eq!(dialog_id, target);
    assert_eq!(sent_approval_id(&effects), target);
}

#[test]
fn an_event_that_opens_a_sev2_above_the_cursor_keeps_the_incident_selected() {
    let mut app = app();
    press(&mut app, vec![ch('4')]);
    let ids = rows::ids(&app, Pane::Incidents);
    assert!(ids.len() >= 2, "the demo has incidents to choose from");
    let target = ids[1].clone();
    press(&mut app, vec![key(KeyCode::Down)]);
    assert_eq!(rows::selected(&app, Pane::Incidents), Some(target.clone()));

    // A new SEV2 that breaches its target before anything else: it goes on top.
    let mut sev2 = app.data.incidents[&ids[0]].clone();
    sev2.id = "INC-9999".into();
    sev2.state = IncidentState::Open;
    sev2.resolved_at = None;
    sev2.target_at = app.now - chrono::Duration::days(1);
    sev2.opened_at = app.now;
    let event = Event {
        seq: app.data.seq + 1,
        at: app.now,
        cause: "tick".into(),
        changes: vec![Change::Incident(sev2)],
    };
    update(
        &mut app,
        Msg::Link(opsdeck::link::LinkEvent::Event(Box::new(event))),
    );
    let after = rows::ids(&app, Pane::Incidents);
    assert_eq!(after[0], "INC-9999");
    assert_eq!(rows::selected(&app, Pane::Incidents), Some(target));
    assert_eq!(app.pane_state(Pane::Incidents).selected, 2);
}

#[test]
fn an_approval_that_leaves_the_list_moves_the_cursor_to_its_neighbour_and_says_so() {
    let mut app = app();
    press(&mut app, vec![ch('5')]);
    let target = select_decidable(&mut app);
    let before = rows::ids(&app, Pane::Approvals);
    let at = before.iter().position(|id| *id == target).unwrap();
    let neighbour = before[at + 1].clone();
    press(&mut app, vec![key(KeyCode::Enter)]);
    assert_eq!(app.pane_state(Pane::Approvals).detail, Some(target.clone()));

    let (snapshot, _) = demo();
    let mut fresh = snapshot.clone();
    fresh.approvals.retain(|a| a.id != target);
    update(&mut app, Msg::Snapshot(Box::new(fresh)));
    assert_eq!(
        rows::selected(&app, Pane::Approvals),
        Some(neighbour.clone())
    );
    // Its details close: they would show one item while the keys act on another.
    assert_eq!(app.pane_state(Pane::Approvals).detail, None);
    let notice = &app.toasts.last().expect("a notice").text;
    assert_eq!(
        *notice,
        format!("{target} left the approvals list: the cursor moved to {neighbour}")
    );
}

#[test]
fn an_item_that_leaves_a_list_off_screen_is_announced_on_return() {
    let mut app = app();
    press(&mut app, vec![ch('5')]);
    let target = select_decidable(&mut app);
    press(&mut app, vec![ch('1')]);
    assert_eq!(app.pane, Pane::Overview);

    let (snapshot, _) = demo();
    let mut fresh = snapshot.clone();
    fresh.approvals.retain(|a| a.id != target);
    update(&mut app, Msg::Snapshot(Box::new(fresh)));
    assert!(app.toasts.is_empty(), "said where the operator will see it");
    press(&mut app, vec![ch('5')]);
    let notice = &app.toasts.last().expect("a notice on return").text;
    assert!(
        notice.starts_with(&format!("{target} left the approvals list")),
        "{notice}"
    );
    // Said once.
    press(&mut app, vec![ch('1'), ch('5')]);
    assert_eq!(app.toasts.len(), 1);
}

#[test]
fn g_after_an_audit_search_refills_the_live_tail() {
    let mut app = app();
    press(&mut app, vec![ch('6')]);
    let tail = rows::ids(&app, Pane::Audit);
    assert!(!tail.is_empty());
    press(&mut app, vec![ch('/')]);
    press(&mut app, typed("type:decision"));
    let effects = press(&mut app, vec![key(KeyCode::Enter)]);
    assert!(matches!(&effects[..], [Effect::SearchAudit { .. }]));
    update(
        &mut app,
        Msg::AuditPage {
            query: "type:decision".into(),
            before: None,
            result: Ok(vec![]),
        },
    );
    assert!(rows::audit(&app).is_empty(), "the search found nothing");

    press(&mut app, vec![ch('G')]);
    assert!(app.audit.query.is_none());
    assert!(app.audit.follow);
    assert_eq!(
        app.pane_state(Pane::Audit).filter,
        "",
        "no search left as a filter"
    );
    assert_eq!(rows::ids(&app, Pane::Audit), tail, "the live tail, whole");

    // And `end` does the same after another search.
    press(&mut app, vec![ch('/')]);
    press(&mut app, typed("domain:platform"));
    press(&mut app, vec![key(KeyCode::Enter), key(KeyCode::End)]);
    assert_eq!(app.pane_state(Pane::Audit).filter, "");
    assert_eq!(rows::ids(&app, Pane::Audit), tail);
}
