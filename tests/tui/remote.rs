//! A console on a remote orchestrator: the link going down, and stale data.

use chrono::Duration;
use opsdeck::link::LinkEvent;
use opsdeck::tui::app::{App, Mode};
use opsdeck::tui::keymap::Keymap;
use opsdeck::tui::theme::Theme;
use opsdeck::tui::update::Msg;

use super::{ch, demo, info, press, screen, select_decidable};

/// A console on a remote orchestrator, as `--context prod` opens it.
fn remote_app() -> App {
    let (snapshot, _) = demo();
    let mut info = info("enterprise", false);
    info.name = "ops-prod".into();
    info.context = Some("prod".into());
    info.remote = true;
    App::new(
        info,
        snapshot.clone(),
        snapshot.at,
        Keymap::default(),
        Theme::default_theme(),
    )
}

#[test]
fn a_remote_link_going_down_shows_in_the_header_and_stops_decisions() {
    let mut app = remote_app();
    let header = screen(&app).lines().next().unwrap().to_string();
    assert!(
        header.contains("⎈ prod") && header.contains("ops-prod"),
        "{header}"
    );
    assert!(header.contains("● connected · live"), "{header}");
    // Past a heartbeat and its margin, the header counts the data's age.
    let mut quiet = remote_app();
    let later = quiet.now + chrono::Duration::seconds(20);
    press(&mut quiet, vec![Msg::Tick(later)]);
    let header = screen(&quiet).lines().next().unwrap().to_string();
    assert!(header.contains("● connected · data 20s old"), "{header}");

    let down_since = app.now;
    let reconnecting = |attempt| {
        Msg::Link(LinkEvent::Reconnecting {
            attempt,
            next_in: std::time::Duration::from_millis(2_400),
            down_since,
            why: "the server closed the stream".into(),
        })
    };
    press(&mut app, vec![reconnecting(2)]);
    let header = screen(&app).lines().next().unwrap().to_string();
    assert!(
        header.contains("reconnecting (attempt 2, next in 3s)"),
        "{header}"
    );
    assert!(
        app.toasts
            .iter()
            .any(|t| t.text.contains("lost the orchestrator")),
        "{:?}",
        app.toasts
    );
    press(&mut app, vec![ch('5')]);
    select_decidable(&mut app);
    press(&mut app, vec![ch('a')]);
    assert_eq!(app.mode, Mode::Normal, "no dialog while the link is down");
    let why = &app.toasts.last().unwrap().text;
    assert!(why.contains("link to the orchestrator is down"), "{why}");

    press(&mut app, vec![reconnecting(9)]);
    let header = screen(&app).lines().next().unwrap().to_string();
    assert!(
        header.contains(&format!("offline since {}", down_since.format("%H:%M:%S"))),
        "{header}"
    );

    // Back: a heartbeat makes the data current and decisions possible again.
    press(&mut app, vec![Msg::Link(LinkEvent::Heartbeat)]);
    press(&mut app, vec![ch('a')]);
    assert!(matches!(app.mode, Mode::Dialog(_)));
}

#[test]
fn stale_remote_data_is_marked_and_not_acted_on() {
    let mut app = remote_app();
    let later = app.now + Duration::seconds(45);
    press(&mut app, vec![Msg::Tick(later), ch('5')]);
    let header = screen(&app).lines().next().unwrap().to_string();
    assert!(header.contains("data 45s old STALE"), "{header}");
    select_decidable(&mut app);
    press(&mut app, vec![ch('a')]);
    assert_eq!(app.mode, Mode::Normal);
    let why = &app.toasts.last().unwrap().text;
    assert!(why.contains("45s old"), "{why}");
}
