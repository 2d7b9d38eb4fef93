//! Actions that cannot succeed are shown disabled with the orchestrator's own reason before any
//! typing, and a dialog whose item changes under it says so, keeps the text typed, and sends
//! a decision only for the version that was reviewed.

use chrono::Duration;
use crossterm::event::KeyCode;
use opsdeck::model::{ApprovalState, IncidentState, PhaseState, RolloutState, Vote};
use opsdeck::protocol::{Command, RolloutAction};
use opsdeck::tui::app::{App, DialogStep, Mode, Pane};
use opsdeck::tui::rows;
use opsdeck::tui::update::{Effect, Msg, update};

use super::{app, ch, key, press, screen, select_decidable, typed};

fn dialog(app: &App) -> &opsdeck::tui::app::Dialog {
    match &app.mode {
        Mode::Dialog(d) => d,
        other => panic!("no dialog: {other:?} {:?}", app.toasts),
    }
}

fn sends(effects: &[Effect]) -> Vec<&Command> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send { command, .. } => Some(command),
            _ => None,
        })
        .collect()
}

/// The rollouts pane on a platform rollout made progressing, its canary started `ago`.
fn rollout_started(ago: Duration) -> (App, String) {
    let mut app = app();
    press(&mut app, vec![ch('7')]);
    let id = rows::ids(&app, Pane::Rollouts)[0].clone();
    let now = app.now;
    let r = app.data.rollouts.get_mut(&id).unwrap();
    r.state = RolloutState::Progressing;
    r.paused_reason = None;
    r.current_phase = "canary".into();
    for (n, phase) in r.phases.iter_mut().enumerate() {
        phase.state = if n == 0 {
            PhaseState::Active
        } else {
            PhaseState::Pending
        };
        phase.started_at = (n == 0).then_some(now - ago);
        phase.min_duration_s = 20 * 60;
    }
    r.health.samples = 0;
    app.pane_state_mut(Pane::Rollouts).selected = 0;
    (app, id)
}

#[test]
fn a_promote_before_the_minimum_is_shown_disabled_with_the_reason_and_opens_nothing() {
    let (mut app, id) = rollout_started(Duration::minutes(7));
    let why = RolloutAction::Promote
        .refusal(&app.data.rollouts[&id], app.now)
        .unwrap();
    assert!(why.contains("promote again in 13m00s"), "{why}");
    let shown = screen(&app);
    assert!(
        shown.contains("p promote not offered:") && shown.contains("promote again in 13m00s"),
        "{shown}"
    );
    // The key opens no dialog: nothing is typed for a decision that must fail.
    press(&mut app, vec![ch('p')]);
    assert_eq!(app.mode, Mode::Normal);
    assert!(app.toasts.last().unwrap().text.contains(&why));
    // Pause is still offered.
    assert!(
        shown
            .lines()
            .any(|l| l.trim_end_matches('│').trim_end() == "│  P pause"),
        "{shown}"
    );
    // Once the minimum has passed, promote opens its dialog.
    let later = app.now + Duration::minutes(14);
    update(&mut app, Msg::Tick(later));
    press(&mut app, vec![ch('p')]);
    assert!(matches!(app.mode, Mode::Dialog(_)), "{:?}", app.toasts);
}

#[test]
fn a_promote_on_an_unhealthy_canary_is_shown_disabled_with_the_gate() {
    let (mut app, id) = rollout_started(Duration::hours(1));
    let r = app.data.rollouts.get_mut(&id).unwrap();
    r.health.samples = 30;
    r.health.error_rate = 0.5;
    r.health.baseline_error_rate = 0.05;
    let shown = screen(&app);
    assert!(
        shown.contains("p promote not offered:") && shown.contains("unhealthy canary"),
        "{shown}"
    );
    press(&mut app, vec![ch('p')]);
    assert_eq!(app.mode, Mode::Normal);
    assert!(app.toasts.last().unwrap().text.contains("15.0%"));
}

#[test]
fn a_reason_over_the_limit_is_refused_at_enter_and_kept() {
    let mut app = app();
    press(&mut app, vec![ch('5')]);
    select_decidable(&mut app);
    press(&mut app, vec![ch('a')]);
    update(&mut app, Msg::Paste("x".repeat(4_001)));
    assert!(
        screen(&app).contains("4001/4000 characters"),
        "{}",
        screen(&app)
    );
    let effects = press(&mut app, vec![key(KeyCode::Enter)]);
    assert!(effects.is_empty());
    let d = dialog(&app);
    assert_eq!(d.step, DialogStep::Compose);
    assert!(
        d.error
            .as_deref()
            .unwrap()
            .contains("the reason is 4001 characters; the most is 4000: shorten it by 1"),
        "{:?}",
        d.error
    );
    assert_eq!(d.reason.lines().concat().len(), 4_001);
    // One character less passes to the review.
    press(&mut app, vec![key(KeyCode::Backspace), key(KeyCode::Enter)]);
    assert_eq!(dialog(&app).step, DialogStep::Confirm);
}

#[test]
fn an_item_decided_by_a_colleague_while_typing_is_said_and_the_text_kept() {
    let mut app = app();
    press(&mut app, vec![ch('5')]);
    let id = select_decidable(&mut app);
    press(&mut app, vec![ch('a')]);
    press(&mut app, typed("budget fits"));
    // Bob rejects it meanwhile.
    let a = app.data.approvals.get_mut(&id).unwrap();
    a.state = ApprovalState::Rejected;
    a.version += 1;
    let shown = screen(&app);
    assert!(
        shown.contains(&format!("{id} changed while this dialog was open")),
        "{shown}"
    );
    assert!(shown.contains("approve is no longer possible"), "{shown}");
    let effects = press(&mut app, vec![key(KeyCode::Enter)]);
    assert!(sends(&effects).is_empty());
    let d = dialog(&app);
    assert_eq!(d.step, DialogStep::Compose);
    assert_eq!(d.reason.lines(), ["budget fits"]);
    assert!(d.error.as_deref().unwrap().contains("already rejected"));
    // Esc closes it; the text waits for the next dialog on the item.
    press(&mut app, vec![key(KeyCode::Esc)]);
    assert_eq!(app.drafts[&id], vec!["budget fits".to_string()]);
}

#[test]
fn a_vote_landing_after_the_review_makes_it_read_again_before_y_sends() {
    let mut app = app();
    press(&mut app, vec![ch('5')]);
    let id = select_decidable(&mut app);
    press(&mut app, vec![ch('a')]);
    press(&mut app, typed("ok"));
    press(&mut app, vec![key(KeyCode::Enter), Msg::Drawn]);
    let before = app.data.approvals[&id].version;
    // Another vote lands (the item stays pending) after the review was drawn.
    let a = app.data.approvals.get_mut(&id).unwrap();
    a.quorum = 3;
    a.votes.push(Vote {
        by: "operator:bob".into(),
        role: "enterprise".into(),
        at: a.created_at,
        reason: "fine by me".into(),
    });
    a.version += 1;
    let effects = press(&mut app, vec![ch('y')]);
    assert!(sends(&effects).is_empty(), "{effects:?}");
    let d = dialog(&app);
    assert_eq!(d.step, DialogStep::Confirm);
    assert!(
        d.hint
            .as_deref()
            .unwrap()
            .contains("changed since you reviewed")
    );
    assert!(screen(&app).contains("2 of 3 votes"), "{}", screen(&app));
    // Read again (drawn), then y sends for the version now shown.
    let effects = press(&mut app, vec![Msg::Drawn, ch('y')]);
    let [Command::ActOnApproval(cmd)] = sends(&effects)[..] else {
        panic!("{effects:?}")
    };
    assert_eq!(cmd.version, Some(before + 1));
}

#[test]
fn a_cancelled_dialog_keeps_its_text_for_the_next_one_on_the_item() {
    let mut app = app();
    press(&mut app, vec![ch('5')]);
    select_decidable(&mut app);
    press(&mut app, vec![ch('a')]);
    press(&mut app, typed("half a thought"));
    press(&mut app, vec![key(KeyCode::Esc), ch('r')]);
    assert_eq!(dialog(&app).reason.lines(), ["half a thought"]);
}

#[test]
fn an_incident_resolved_meanwhile_offers_what_is_still_possible() {
    let mut app = app();
    press(&mut app, vec![ch('4')]);
    let ids = rows::ids(&app, Pane::Incidents);
    let at = ids
        .iter()
        .position(|id| app.data.incidents[id].state == IncidentState::Open)
        .expect("an open incident in the demo");
    app.pane_state_mut(Pane::Incidents).selected = at;
    let id = ids[at].clone();
    press(&mut app, vec![ch('a')]);
    press(&mut app, typed("on it"));
    let i = app.data.incidents.get_mut(&id).unwrap();
    i.state = IncidentState::Resolved;
    i.version += 1;
    let shown = screen(&app);
    assert!(shown.contains("ack is no longer possible"), "{shown}");
    assert!(shown.contains("still possible: n"), "{shown}");
    // A resolved incident leaves the open list: the text waits for its next dialog.
    press(&mut app, vec![key(KeyCode::Esc)]);
    assert_eq!(app.drafts[&id], vec!["on it".to_string()]);
}
