//! The pure update: keys, panes, filters, dialogs, roles, events and the keymap.

use crossterm::event::KeyCode;
use opsdeck::link::LinkEvent;
use opsdeck::protocol::{ActOnApproval, ActOnRollout, ApprovalAction, Command};
use opsdeck::tui::action::ACTIONS;
use opsdeck::tui::app::{App, DialogStep, Mode, Pane};
use opsdeck::tui::keymap::Keymap;
use opsdeck::tui::rows;
use opsdeck::tui::theme::Theme;
use opsdeck::tui::update::{Effect, Msg, update};

use super::{app, app_as, ch, demo, info, key, press, screen, select_decidable, typed};

#[test]
fn number_keys_and_the_command_line_open_panes_and_esc_goes_back() {
    let mut app = app();
    press(&mut app, vec![ch('5')]);
    assert_eq!(app.pane, Pane::Approvals);
    press(&mut app, vec![ch(':')]);
    press(&mut app, typed("rol"));
    press(&mut app, vec![key(KeyCode::Tab)]);
    assert_eq!(
        app.mode,
        Mode::Command {
            input: "rollouts".into()
        }
    );
    press(&mut app, vec![key(KeyCode::Enter)]);
    assert_eq!(app.pane, Pane::Rollouts);
    press(&mut app, vec![key(KeyCode::Esc)]);
    assert_eq!(app.pane, Pane::Approvals);
    press(&mut app, vec![key(KeyCode::Esc)]);
    assert_eq!(app.pane, Pane::Overview);
    let effects = press(&mut app, vec![ch('q')]);
    assert!(app.quit);
    assert_eq!(effects, vec![Effect::Quit]);
}

#[test]
fn filters_stay_with_their_pane() {
    let mut app = app();
    press(&mut app, vec![ch('2'), ch('/')]);
    press(&mut app, typed("platform"));
    press(&mut app, vec![key(KeyCode::Enter)]);
    let agents = rows::agents(&app);
    assert!(!agents.is_empty());
    assert!(agents.iter().all(|a| a.domain == "platform"));
    press(&mut app, vec![ch('3')]);
    assert!(app.pane_state(Pane::Queues).filter.is_empty());
    press(&mut app, vec![ch('2')]);
    assert_eq!(app.pane_state(Pane::Agents).filter, "platform");
    // Esc while typing restores the filter from before.
    press(&mut app, vec![ch('/'), ch('x'), key(KeyCode::Esc)]);
    assert_eq!(app.pane_state(Pane::Agents).filter, "platform");
}

#[test]
fn approving_takes_a_reason_and_a_confirmation_never_one_key() {
    let mut app = app();
    press(&mut app, vec![ch('5')]);
    let target = select_decidable(&mut app);
    let approval = app.data.approvals[&target].clone();
    assert!(approval.is_pending());
    // One key opens the dialog and decides nothing: it only tells the orchestrator someone is
    // on the item (the demo's colleagues hold off).
    assert_eq!(
        press(&mut app, vec![ch('a')]),
        vec![Effect::Claim(target.clone())]
    );
    assert!(matches!(app.mode, Mode::Dialog(_)));
    // Enter with no reason is refused.
    assert!(press(&mut app, vec![key(KeyCode::Enter)]).is_empty());
    let Mode::Dialog(d) = &app.mode else { panic!() };
    assert_eq!(d.step, DialogStep::Compose);
    assert!(d.error.as_deref().unwrap().contains("reason is required"));
    press(&mut app, typed("budget fits"));
    assert!(press(&mut app, vec![key(KeyCode::Enter)]).is_empty());
    let Mode::Dialog(d) = &app.mode else { panic!() };
    assert_eq!(d.step, DialogStep::Confirm);
    // Esc steps back rather than committing.
    press(&mut app, vec![key(KeyCode::Esc)]);
    let Mode::Dialog(d) = &app.mode else { panic!() };
    assert_eq!(d.step, DialogStep::Compose);
    // Back on the review, Enter does not decide; `y` does, once the review was drawn.
    press(&mut app, vec![key(KeyCode::Enter), Msg::Drawn]);
    assert!(press(&mut app, vec![key(KeyCode::Enter)]).is_empty());
    let effects = press(&mut app, vec![ch('y')]);
    assert_eq!(
        effects,
        vec![Effect::Send {
            item: target.clone(),
            label: format!("approve {target}"),
            command: Command::ActOnApproval(ActOnApproval {
                id: target.clone(),
                decision: ApprovalAction::Approve,
                reason: "budget fits".into(),
                option: None,
                version: Some(approval.version),
            }),
        }]
    );
    assert_eq!(app.mode, Mode::Normal);
    assert!(app.in_flight.contains(&target));
    update(
        &mut app,
        Msg::Done {
            item: target.clone(),
            result: Err("conflict: already approved".into()),
        },
    );
    assert!(app.in_flight.is_empty());
    // A refusal brings the dialog back with the text typed and the orchestrator's reason.
    let Mode::Dialog(d) = &app.mode else {
        panic!("the refused dialog is back")
    };
    assert_eq!(d.step, DialogStep::Compose);
    assert_eq!(d.reason.lines(), ["budget fits"]);
    assert!(d.error.as_deref().unwrap().contains("already approved"));
}

#[test]
fn pasted_text_is_data_and_never_a_key_binding() {
    let mut app = app();
    press(&mut app, vec![ch('5')]);
    update(&mut app, Msg::Paste("q:a\x1b[2J".into()));
    assert!(!app.quit);
    assert_eq!(app.mode, Mode::Normal);
    select_decidable(&mut app);
    press(&mut app, vec![ch('a')]);
    update(&mut app, Msg::Paste("line one\nline\x1b[31m two".into()));
    let Mode::Dialog(d) = &app.mode else { panic!() };
    let reason = d.reason.lines().join("");
    assert!(
        !reason.contains('\x1b') && !reason.contains('\n'),
        "{reason:?}"
    );
    assert!(reason.contains("line one"));
}

#[test]
fn the_role_decides_what_is_offered() {
    let mut viewer = app_as("viewer");
    press(&mut viewer, vec![ch('5'), ch('a')]);
    assert_eq!(viewer.mode, Mode::Normal);
    assert!(
        viewer.toasts.last().unwrap().text.contains("read-only"),
        "{:?}",
        viewer.toasts
    );

    let mut oncall = app_as("oncall:platform");
    press(&mut oncall, vec![ch('5')]);
    let ids = rows::ids(&oncall, Pane::Approvals);
    let foreign = ids
        .iter()
        .position(|id| {
            let a = &oncall.data.approvals[id];
            a.is_pending() && a.domain != "platform"
        })
        .expect("a pending item of another domain");
    oncall.pane_state_mut(Pane::Approvals).selected = foreign;
    press(&mut oncall, vec![ch('a')]);
    assert_eq!(oncall.mode, Mode::Normal);
    let why = &oncall.toasts.last().unwrap().text;
    assert!(why.contains("not offered"), "{why}");

    let mut reader = App::new(
        info("enterprise", true),
        demo().0.clone(),
        demo().0.at,
        Keymap::default(),
        Theme::default_theme(),
    );
    press(&mut reader, vec![ch('5'), ch('a')]);
    assert_eq!(reader.mode, Mode::Normal);
    let hints = screen(&reader);
    assert!(!hints.contains("a approve"), "read-only hides actions");
}

#[test]
fn promoting_to_complete_and_aborting_ask_for_the_rollout_name() {
    let mut app = app();
    press(&mut app, vec![ch('7')]);
    let ids = rows::ids(&app, Pane::Rollouts);
    let live = ids
        .iter()
        .position(|id| {
            matches!(
                app.data.rollouts[id].state,
                opsdeck::model::RolloutState::Progressing | opsdeck::model::RolloutState::Paused
            )
        })
        .expect("a live rollout");
    app.pane_state_mut(Pane::Rollouts).selected = live;
    let name = app.data.rollouts[&ids[live]].name.clone();
    press(&mut app, vec![ch('X')]);
    press(&mut app, typed("bad canary"));
    press(&mut app, vec![key(KeyCode::Enter)]);
    let Mode::Dialog(d) = &app.mode else { panic!() };
    assert!(
        d.error
            .as_deref()
            .unwrap()
            .contains("type the rollout's name")
    );
    press(&mut app, vec![key(KeyCode::Tab)]);
    press(&mut app, typed(&name));
    press(&mut app, vec![key(KeyCode::Enter), Msg::Drawn]);
    let effects = press(&mut app, vec![ch('y')]);
    assert!(
        matches!(
            &effects[..],
            [Effect::Send {
                command: Command::ActOnRollout(ActOnRollout { .. }),
                ..
            }]
        ),
        "{effects:?}"
    );
}

#[test]
fn events_apply_in_order_and_a_gap_asks_for_a_fresh_snapshot() {
    let (snapshot, events) = demo();
    assert!(events.len() >= 2, "the extra step produced events");
    let mut app = app();
    let first = events[0].clone();
    assert_eq!(first.seq, snapshot.seq + 1);
    assert!(
        update(
            &mut app,
            Msg::Link(LinkEvent::Event(Box::new(first.clone())))
        )
        .iter()
        .all(|e| matches!(e, Effect::Call(_)))
    );
    assert_eq!(app.data.seq, first.seq);
    // A duplicate changes nothing.
    assert!(update(&mut app, Msg::Link(LinkEvent::Event(Box::new(first)))).is_empty());
    let mut skipped = events.last().unwrap().clone();
    skipped.seq += 10;
    assert_eq!(
        update(&mut app, Msg::Link(LinkEvent::Event(Box::new(skipped)))),
        vec![Effect::Resync]
    );
    assert_eq!(
        update(&mut app, Msg::Link(LinkEvent::Reset)),
        vec![Effect::Resync]
    );
}

#[test]
fn the_audit_pane_follows_the_tail_until_scrolled_and_end_resumes() {
    let mut app = app();
    press(&mut app, vec![ch('6')]);
    assert!(app.audit.follow);
    press(&mut app, vec![ch('j'), ch('j')]);
    assert!(!app.audit.follow);
    assert_eq!(app.pane_state(Pane::Audit).selected, 2);
    press(&mut app, vec![ch('G')]);
    assert!(app.audit.follow);
    assert_eq!(app.pane_state(Pane::Audit).selected, 0);
    // A search runs through the link and replaces the tail.
    press(&mut app, vec![ch('/')]);
    press(&mut app, typed("type:decision budget"));
    let effects = press(&mut app, vec![key(KeyCode::Enter)]);
    assert!(
        matches!(&effects[..], [Effect::SearchAudit { before: None, .. }]),
        "{effects:?}"
    );
    press(&mut app, vec![ch('/')]);
    press(&mut app, (0..30).map(|_| key(KeyCode::Backspace)).collect());
    press(&mut app, typed("type:nope"));
    assert!(press(&mut app, vec![key(KeyCode::Enter)]).is_empty());
    let error = app.audit.error.as_deref().unwrap();
    assert!(
        error.contains("column 6") && error.contains("expected decision"),
        "{error}"
    );
}

#[test]
fn the_keymap_can_be_changed_in_config() {
    let mut table = std::collections::BTreeMap::new();
    table.insert("approvals".to_string(), vec!["A".to_string()]);
    let keymap = Keymap::from_config(&table).unwrap();
    let (snapshot, _) = demo();
    let mut app = App::new(
        info("enterprise", false),
        snapshot.clone(),
        snapshot.at,
        keymap,
        Theme::default_theme(),
    );
    press(&mut app, vec![ch('5')]);
    assert_eq!(app.pane, Pane::Overview);
    press(&mut app, vec![ch('A')]);
    assert_eq!(app.pane, Pane::Approvals);
    press(&mut app, vec![ch('?')]);
    let help = screen(&app);
    assert!(help.contains("approvals pane"), "{help}");
    assert!(help.contains("A  "), "the help is made from the keymap");
    assert_eq!(ACTIONS.len(), 35);
}
