//! Deciding safely: Enter submits the reason and never the decision; the review states the exact
//! effect and commits on `y` alone, once drawn; pasted newlines never submit; `ctrl+u` clears.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use opsdeck::tui::app::{App, DialogStep, Mode, Pane};
use opsdeck::tui::update::{Effect, Msg, decision_line, update};

use super::{app, ch, key, press, screen, select_decidable, typed};

/// The approvals pane with the approve dialog open on an item alice may decide.
fn approving() -> (App, String) {
    let mut app = app();
    press(&mut app, vec![ch('5')]);
    let id = select_decidable(&mut app);
    press(&mut app, vec![ch('a')]);
    assert!(matches!(app.mode, Mode::Dialog(_)), "{:?}", app.toasts);
    (app, id)
}

fn step(app: &App) -> DialogStep {
    match &app.mode {
        Mode::Dialog(d) => d.step,
        other => panic!("no dialog: {other:?}"),
    }
}

fn reason(app: &App) -> String {
    match &app.mode {
        Mode::Dialog(d) => d.reason.lines().join("\n"),
        other => panic!("no dialog: {other:?}"),
    }
}

fn sends(effects: &[Effect]) -> usize {
    effects
        .iter()
        .filter(|e| matches!(e, Effect::Send { .. }))
        .count()
}

fn ctrl(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

#[test]
fn a_double_enter_stops_on_the_review_and_sends_nothing() {
    let (mut app, _) = approving();
    press(&mut app, typed("looks fine"));
    let effects = press(&mut app, vec![key(KeyCode::Enter), key(KeyCode::Enter)]);
    assert_eq!(sends(&effects), 0, "{effects:?}");
    assert_eq!(step(&app), DialogStep::Confirm);
    // Even once the review is on the screen, Enter says which key decides.
    let effects = press(
        &mut app,
        vec![Msg::Drawn, key(KeyCode::Enter), key(KeyCode::Enter)],
    );
    assert_eq!(sends(&effects), 0, "{effects:?}");
    assert_eq!(step(&app), DialogStep::Confirm);
    assert!(
        screen(&app).contains("press y to confirm"),
        "{}",
        screen(&app)
    );
}

#[test]
fn typed_keys_commit_only_at_y_after_the_review_showed_the_exact_effect() {
    let (mut app, id) = approving();
    let quorum = app.data.approvals[&id].quorum.max(1);
    let mut keys = typed("looks fine");
    keys.push(key(KeyCode::Enter));
    for msg in keys {
        assert_eq!(sends(&update(&mut app, msg)), 0);
    }
    // The review is drawn: it names the verb, the item, who decides and the vote it will be.
    update(&mut app, Msg::Drawn);
    let want = format!("approve {id} as alice, 1 of {quorum} votes");
    let Mode::Dialog(d) = &app.mode else { panic!() };
    assert!(
        decision_line(&app, d).starts_with(&want),
        "{}",
        decision_line(&app, d)
    );
    let shown = screen(&app);
    assert!(shown.contains(&want), "{shown}");
    assert!(shown.contains("«looks fine»"), "{shown}");
    assert_eq!(sends(&update(&mut app, key(KeyCode::Enter))), 0);
    let effects = update(&mut app, ch('y'));
    assert_eq!(sends(&effects), 1, "{effects:?}");
    assert_eq!(app.mode, Mode::Normal);
}

#[test]
fn a_non_bracketed_paste_of_two_lines_and_y_ends_on_the_review() {
    // A terminal without bracketed paste delivers `looks fine\r\ry` as keys, in one burst:
    // no frame is drawn inside it, so the `y` finds a review nobody has seen.
    let (mut app, id) = approving();
    let mut burst = typed("looks fine");
    burst.extend([key(KeyCode::Enter), key(KeyCode::Enter), ch('y')]);
    let effects = press(&mut app, burst);
    assert_eq!(sends(&effects), 0, "{effects:?}");
    assert_eq!(step(&app), DialogStep::Confirm);
    assert!(!app.in_flight.contains(&id));
    // The next `y`, after the review was drawn, is the operator's own.
    let effects = press(&mut app, vec![Msg::Drawn, ch('y')]);
    assert_eq!(sends(&effects), 1, "{effects:?}");
}

#[test]
fn a_y_typed_in_the_reason_stays_text() {
    let (mut app, _) = approving();
    let effects = press(&mut app, typed("yes y"));
    assert_eq!(sends(&effects), 0);
    assert_eq!(step(&app), DialogStep::Compose);
    assert_eq!(reason(&app), "yes y");
}

#[test]
fn a_bracketed_paste_with_newlines_stays_in_the_reason_and_sends_nothing() {
    let (mut app, _) = approving();
    let effects = update(&mut app, Msg::Paste("looks fine\r\ry".into()));
    assert_eq!(sends(&effects), 0, "{effects:?}");
    assert_eq!(step(&app), DialogStep::Compose);
    assert_eq!(reason(&app), "looks fine  y");
    // A paste on the review changes nothing and decides nothing.
    press(&mut app, vec![key(KeyCode::Enter), Msg::Drawn]);
    let effects = update(&mut app, Msg::Paste("y\r".into()));
    assert_eq!(sends(&effects), 0);
    assert_eq!(step(&app), DialogStep::Confirm);
}

#[test]
fn n_and_esc_go_back_from_the_review_with_the_reason_kept() {
    let (mut app, _) = approving();
    press(&mut app, typed("looks fine"));
    press(&mut app, vec![key(KeyCode::Enter), Msg::Drawn, ch('n')]);
    assert_eq!(step(&app), DialogStep::Compose);
    assert_eq!(reason(&app), "looks fine");
    press(&mut app, vec![key(KeyCode::Enter), key(KeyCode::Esc)]);
    assert_eq!(step(&app), DialogStep::Compose);
    // Back on the reason, a new review must be drawn again before `y` counts.
    let effects = press(&mut app, vec![key(KeyCode::Enter), ch('y')]);
    assert_eq!(sends(&effects), 0);
}

#[test]
fn ctrl_u_clears_the_focused_field() {
    let (mut app, _) = approving();
    press(&mut app, typed("wrong reason"));
    press(&mut app, vec![ctrl('u')]);
    assert_eq!(reason(&app), "");
    press(&mut app, typed("right"));
    assert_eq!(reason(&app), "right");

    // The rollout name field clears on its own, the reason stays.
    let mut app = super::app();
    press(&mut app, vec![ch('7')]);
    let ids = opsdeck::tui::rows::ids(&app, Pane::Rollouts);
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
    press(&mut app, vec![ch('X')]);
    press(&mut app, typed("bad canary"));
    press(&mut app, vec![key(KeyCode::Tab)]);
    press(&mut app, typed("not-the-name"));
    press(&mut app, vec![ctrl('u')]);
    let Mode::Dialog(d) = &app.mode else { panic!() };
    assert_eq!(d.confirm_name.as_ref().unwrap().1, "");
    assert_eq!(reason(&app), "bad canary");
}

#[test]
fn the_review_of_a_rollout_abort_states_the_share_it_takes_back() {
    let mut app = app();
    press(&mut app, vec![ch('7')]);
    let ids = opsdeck::tui::rows::ids(&app, Pane::Rollouts);
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
    let r = app.data.rollouts[&ids[live]].clone();
    press(&mut app, vec![ch('X')]);
    press(&mut app, typed("bad canary"));
    press(&mut app, vec![key(KeyCode::Tab)]);
    press(&mut app, typed(&r.name));
    press(&mut app, vec![key(KeyCode::Enter), Msg::Drawn]);
    let want = format!(
        "abort {} {} from {}% back to 0% as alice",
        r.id,
        r.name,
        r.percent()
    );
    let shown = screen(&app);
    assert!(shown.contains(&want), "{want}\n{shown}");
}
