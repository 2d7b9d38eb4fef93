//! "Needs me": what joins it calls once (bell, notification, title, toast), a storm is one call,
//! `--quiet` and `[attention] signal` silence it, seen items stop being new, Enter opens the item.

use chrono::Duration;
use crossterm::event::KeyCode;
use opsdeck::config::attention::Signal;
use opsdeck::link::LinkEvent;
use opsdeck::model::{Change, Event, IncidentState, Severity};
use opsdeck::tui::app::{App, Pane};
use opsdeck::tui::attention::{Call, NeedKind, needs};
use opsdeck::tui::rows;
use opsdeck::tui::update::{Effect, Msg, NEEDS_YOU, update};

use super::{app, app_as, ch, key, press, screen};

/// An event that opens a fresh `severity` incident titled `title`.
fn opens(app: &App, id: &str, severity: Severity, title: &str) -> Msg {
    let mut incident = app.data.incidents.values().next().unwrap().clone();
    incident.id = id.into();
    incident.severity = severity;
    incident.state = IncidentState::Open;
    incident.title = title.into();
    incident.domain = "product".into();
    incident.opened_at = app.now;
    incident.acked_at = None;
    incident.resolved_at = None;
    Msg::Link(LinkEvent::Event(Box::new(Event {
        seq: app.data.seq + 1,
        at: app.now,
        cause: "incident.declare".into(),
        changes: vec![Change::Incident(incident)],
    })))
}

fn calls(effects: &[Effect]) -> Vec<&Call> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Call(c) => Some(c),
            _ => None,
        })
        .collect()
}

fn bells(effects: &[Effect]) -> usize {
    calls(effects).iter().filter(|c| c.bell).count()
}

/// Moves the wall clock on (the rate limit's clock) by `seconds`.
fn later(app: &mut App, seconds: i64) {
    let now = app.attention.wall + Duration::seconds(seconds);
    update(app, Msg::Tick(now));
}

#[test]
fn a_new_sev1_calls_once_with_bell_notification_title_and_toast() {
    let mut app = app();
    let before = needs(&app).len();
    let msg = opens(&app, "INC-900", Severity::Sev1, "checkout down");
    let duplicate = opens(&app, "INC-900", Severity::Sev1, "checkout down");
    let effects = update(&mut app, msg);
    let calls = calls(&effects);
    assert_eq!(calls.len(), 1, "{effects:?}");
    let call = calls[0];
    assert!(call.bell);
    let (heading, body) = call.notify.clone().expect("a desktop notification");
    assert_eq!(heading, "opsdeck: SEV1 INC-900");
    assert!(body.contains("INC-900 product: checkout down"), "{body}");
    assert_eq!(
        call.title.as_deref(),
        Some(format!("opsdeck · {} need you", before + 1).as_str())
    );
    assert!(
        app.toasts
            .iter()
            .any(|t| t.text.starts_with(NEEDS_YOU) && t.text.contains("INC-900")),
        "{:?}",
        app.toasts
    );
    // It heads the list, marked new.
    let list = needs(&app);
    assert_eq!(list[0].key, "INC-900");
    assert_eq!(list[0].kind, NeedKind::Incident(Severity::Sev1));
    assert!(app.attention.is_new("INC-900"));
    // The same event again (a replay after a reconnect) calls for nothing.
    assert!(update(&mut app, duplicate).is_empty());
}

#[test]
fn a_storm_is_one_call_and_the_toast_counts_the_rest() {
    let mut app = app();
    let mut rang = 0;
    for n in 0..5 {
        let msg = opens(&app, &format!("INC-90{n}"), Severity::Sev2, "breaker open");
        rang += bells(&update(&mut app, msg));
        later(&mut app, 1);
    }
    assert_eq!(rang, 1, "five incidents in five seconds ring once");
    let toast = app
        .toasts
        .iter()
        .find(|t| t.text.starts_with(NEEDS_YOU))
        .unwrap();
    assert!(toast.text.contains("(+4 more"), "{}", toast.text);
    // Past the quiet interval, the next one rings again.
    later(&mut app, 10);
    let msg = opens(&app, "INC-950", Severity::Sev2, "another");
    assert_eq!(bells(&update(&mut app, msg)), 1);
}

#[test]
fn quiet_lists_and_marks_but_never_calls() {
    let mut app = app();
    app.attention.quiet = true;
    let msg = opens(&app, "INC-900", Severity::Sev1, "checkout down");
    let effects = update(&mut app, msg);
    assert!(calls(&effects).is_empty(), "{effects:?}");
    assert!(app.toasts.iter().all(|t| !t.text.starts_with(NEEDS_YOU)));
    assert_eq!(needs(&app)[0].key, "INC-900");
    assert!(app.attention.is_new("INC-900"));
}

#[test]
fn kinds_left_out_of_signal_are_listed_silently_and_low_severities_only_when_named() {
    let mut app = app();
    app.attention.config.signal = vec![Signal::Sev1];
    let msg = opens(&app, "INC-901", Severity::Sev2, "slow");
    let effects = update(&mut app, msg);
    assert_eq!(bells(&effects), 0, "SEV2 is not named: {effects:?}");
    assert!(needs(&app).iter().any(|n| n.key == "INC-901"));
    // A SEV3 is not "needs me" until named, and then it calls.
    let msg = opens(&app, "INC-902", Severity::Sev3, "noisy");
    update(&mut app, msg);
    assert!(!needs(&app).iter().any(|n| n.key == "INC-902"));
    let mut app = super::app();
    app.attention.config.signal = vec![Signal::Sev3];
    let msg = opens(&app, "INC-903", Severity::Sev3, "noisy");
    assert_eq!(bells(&update(&mut app, msg)), 1);
    assert!(needs(&app).iter().any(|n| n.key == "INC-903"));
}

#[test]
fn what_is_there_at_start_is_new_but_does_not_ring() {
    let app = app();
    let list = needs(&app);
    assert!(!list.is_empty(), "the demo has approvals for alice");
    assert!(list.iter().all(|n| app.attention.is_new(&n.key)));
    assert_eq!(app.attention.known.len(), list.len());
}

#[test]
fn approvals_listed_are_the_ones_this_operator_may_decide_by_time_to_escalation() {
    let app = app_as("oncall:product");
    let list = needs(&app);
    let approvals: Vec<_> = list
        .iter()
        .filter(|n| n.kind == NeedKind::Approval)
        .collect();
    assert!(!approvals.is_empty());
    for n in &approvals {
        let a = &app.data.approvals[&n.id];
        assert_eq!(a.domain, "product");
        assert_eq!(a.level, opsdeck::authority::Level::Domain);
    }
    let deadlines: Vec<_> = approvals
        .iter()
        .map(|n| app.data.approvals[&n.id].next_deadline().0)
        .collect();
    assert!(deadlines.windows(2).all(|w| w[0] <= w[1]));
    // A viewer decides nothing: nothing needs them.
    assert!(needs(&app_as("viewer")).is_empty());
}

#[test]
fn the_list_seen_stops_being_new_and_enter_opens_the_item() {
    let mut app = app();
    let msg = opens(&app, "INC-900", Severity::Sev1, "checkout down");
    update(&mut app, msg);
    press(&mut app, vec![ch('i')]);
    assert_eq!(app.pane, Pane::Inbox);
    let before = screen(&app);
    assert!(before.contains("Needs me ·"), "{before}");
    assert!(before.contains("new"), "{before}");
    // On screen, it stays marked new for a few seconds, so what just arrived stands out.
    update(&mut app, Msg::Drawn);
    later(&mut app, 2);
    assert!(app.attention.is_new("INC-900"));
    later(&mut app, 4);
    assert!(!app.attention.is_new("INC-900"));
    // Enter: the incident, selected and open, in the incidents pane (its filter cleared).
    app.pane_state_mut(Pane::Incidents).filter = "nothing matches this".into();
    // The cursor stayed on the item it was on as INC-900 sorted above it; `g` goes to the top.
    press(&mut app, vec![ch('g')]);
    assert_eq!(
        rows::selected(&app, Pane::Inbox).as_deref(),
        Some("INC-900")
    );
    press(&mut app, vec![key(KeyCode::Enter)]);
    assert_eq!(app.pane, Pane::Incidents);
    assert_eq!(
        app.pane_state(Pane::Incidents).detail.as_deref(),
        Some("INC-900")
    );
    assert_eq!(
        rows::selected(&app, Pane::Incidents).as_deref(),
        Some("INC-900")
    );
    // Esc comes back to the list.
    press(&mut app, vec![key(KeyCode::Esc)]);
    assert_eq!(app.pane, Pane::Inbox);
    assert_eq!(app.pane_state(Pane::Incidents).detail, None);
}

#[test]
fn an_acked_incident_leaves_the_list_and_the_title_follows_the_count() {
    let mut app = app();
    let msg = opens(&app, "INC-900", Severity::Sev1, "checkout down");
    update(&mut app, msg);
    let count = needs(&app).len();
    let mut acked = app.data.incidents["INC-900"].clone();
    acked.state = IncidentState::Acknowledged;
    let event = Event {
        seq: app.data.seq + 1,
        at: app.now,
        cause: "incident.act".into(),
        changes: vec![Change::Incident(acked)],
    };
    let effects = update(&mut app, Msg::Link(LinkEvent::Event(Box::new(event))));
    let calls = calls(&effects);
    assert_eq!(calls.len(), 1);
    assert!(!calls[0].bell, "leaving the list rings nothing");
    assert_eq!(
        calls[0].title.as_deref(),
        Some(format!("opsdeck · {} need you", count - 1).as_str())
    );
}

#[test]
fn the_overview_opens_with_needs_me_first() {
    let mut app = app();
    let shown = screen(&app);
    let needs_at = shown.find("Needs me").unwrap();
    let agents_at = shown.find("Agents by domain").unwrap();
    assert!(needs_at < agents_at);
    assert_eq!(app.section, Pane::Inbox);
    press(&mut app, vec![key(KeyCode::Enter)]);
    assert_eq!(app.pane, Pane::Inbox);
    // `:inbox` and `:needs` open it too.
    press(&mut app, vec![ch('1'), ch(':')]);
    press(&mut app, super::typed("needs"));
    press(&mut app, vec![key(KeyCode::Enter)]);
    assert_eq!(app.pane, Pane::Inbox);
}
