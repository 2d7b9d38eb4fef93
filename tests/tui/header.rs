//! The header at every width: who is acting, where, and whether the data can be trusted are the
//! last things to go.

use opsdeck::tui::app::App;
use opsdeck::tui::keymap::Keymap;
use opsdeck::tui::theme::Theme;

use super::{demo, info, render, text};

fn app_with(context: Option<&str>, read_only: bool, note: Option<&str>) -> App {
    let (snapshot, _) = demo();
    let mut info = info("lead:platform", read_only);
    info.name = "a-very-long-orchestrator-name-for-the-east-region".into();
    info.context = context.map(str::to_string);
    info.operator = "bob".into();
    info.role_note = note.map(str::to_string);
    App::new(
        info,
        snapshot.clone(),
        snapshot.at,
        Keymap::default(),
        Theme::default_theme(),
    )
}

#[test]
fn identity_context_and_link_state_survive_every_width_down_to_80() {
    for (context, read_only, note) in [
        (Some("prod-eu-west"), true, None),
        (None, false, Some("demo default")),
        (Some("staging"), false, None),
    ] {
        let app = app_with(context, read_only, note);
        for width in 80..=200 {
            let header = text(&render(&app, width, 24));
            let line = header.lines().next().unwrap();
            let who = match (read_only, note) {
                (true, _) => "bob (lead:platform) read-only".to_string(),
                (false, Some(n)) => format!("bob (lead:platform, {n})"),
                (false, None) => "bob (lead:platform)".to_string(),
            };
            assert!(line.contains(&who), "{width} columns: {line}");
            if let Some(c) = context {
                assert!(line.contains(c), "{width} columns: {line}");
            }
            assert!(line.contains('◆') || line.contains('●'), "{width}: {line}");
        }
    }
}

#[test]
fn a_server_left_with_the_default_name_is_not_named_twice() {
    let (snapshot, _) = demo();
    let mut info = info("enterprise", false);
    info.name = "opsdeck".into();
    info.remote = true;
    let app = App::new(
        info,
        snapshot.clone(),
        snapshot.at,
        Keymap::default(),
        Theme::default_theme(),
    );
    let header = text(&render(&app, 160, 24));
    let line = header.lines().next().unwrap();
    assert_eq!(line.matches("opsdeck").count(), 1, "{line}");
}

#[test]
fn a_viewer_is_offered_no_action_it_cannot_take() {
    let mut viewer = super::app_as("viewer");
    super::press(&mut viewer, vec![super::ch('5')]);
    let screen = text(&render(&viewer, 160, 36));
    let footer = screen.lines().rev().find(|l| !l.trim().is_empty()).unwrap();
    for action in ["approve", "reject", "reveal", "acknowledge"] {
        assert!(!footer.contains(action), "{footer}");
    }
    let mut lead = super::app_as("lead:platform");
    super::press(&mut lead, vec![super::ch('5')]);
    let screen = text(&render(&lead, 160, 36));
    let footer = screen.lines().rev().find(|l| !l.trim().is_empty()).unwrap();
    assert!(footer.contains("approve"), "{footer}");
}

#[test]
fn a_console_where_the_demo_fleet_runs_says_its_colleagues_are_simulated() {
    let mut app = super::app();
    app.info.demo = true;
    let wide = super::text(&super::render(&app, 140, 30));
    assert!(
        wide.lines()
            .next()
            .unwrap()
            .contains("◆ demo: sim:… are simulated"),
        "{wide}"
    );
    let narrow = super::text(&super::render(&app, 100, 30));
    assert!(
        narrow.lines().next().unwrap().contains("◆ demo: sim:* act"),
        "{narrow}"
    );
    // What they did carries the mark in the trail the console shows.
    assert!(
        app.data
            .audit_tail
            .iter()
            .any(|r| r.agent_id.starts_with("sim:")),
        "the demo's colleagues act as sim:…"
    );
    assert!(
        !app.data
            .audit_tail
            .iter()
            .any(|r| r.agent_id.starts_with("operator:"))
    );
}
