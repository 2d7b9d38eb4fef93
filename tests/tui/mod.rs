//! The console without a terminal: pure `update` tests, and screens rendered from a deterministic
//! demo (seeded fleet, simulated clock, `now` injected) into ratatui's TestBackend. This module
//! holds the demo and the helpers; the tests are in one submodule per topic.

use std::sync::OnceLock;

use chrono::{DateTime, Duration, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use opsdeck::config::Config;
use opsdeck::engine::{Clock, Engine};
use opsdeck::link::LinkInfo;
use opsdeck::model::Snapshot;
use opsdeck::store::Store;
use opsdeck::tui::app::{App, Pane};
use opsdeck::tui::keymap::Keymap;
use opsdeck::tui::theme::Theme;
use opsdeck::tui::update::{Effect, Msg, update};
use opsdeck::tui::{rows, views};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

mod actions;
mod attention;
mod audit;
mod changed;
mod decide;
mod header;
mod order;
mod remote;
mod render;
mod selection;
mod update;

fn start() -> DateTime<Utc> {
    "2026-11-02T00:00:00Z".parse().unwrap()
}

/// Three simulated hours of the demo fleet, seed 7: the same every time.
fn demo() -> &'static (Snapshot, Vec<opsdeck::model::Event>) {
    static DEMO: OnceLock<(Snapshot, Vec<opsdeck::model::Event>)> = OnceLock::new();
    DEMO.get_or_init(|| {
        let store = Store::open_in_memory().unwrap();
        let mut engine =
            Engine::open(store, Config::default(), Clock::manual(start()), Some(7)).unwrap();
        opsdeck::sim::Sim::new(7)
            .run(&mut engine, start(), Duration::hours(3))
            .unwrap();
        let snapshot = engine.snapshot();
        // A few live events after the snapshot, for the event-application tests.
        let mut rx = engine.subscribe();
        let mut sim = opsdeck::sim::Sim::new(8);
        let mut totals = Default::default();
        let later = snapshot.at + Duration::seconds(5);
        engine.clock().set(later);
        sim.step(&mut engine, later, &mut totals).unwrap();
        let events = std::iter::from_fn(|| rx.try_recv().ok()).collect();
        (snapshot, events)
    })
}

fn info(role: &str, read_only: bool) -> LinkInfo {
    LinkInfo {
        name: "embedded".into(),
        context: None,
        remote: false,
        operator: "alice".into(),
        role: role.into(),
        role_note: None,
        read_only,
        frozen_at: None,
        demo: false,
        replica: None,
    }
}

fn app_as(role: &str) -> App {
    let (snapshot, _) = demo();
    App::new(
        info(role, false),
        snapshot.clone(),
        snapshot.at,
        Keymap::default(),
        Theme::default_theme(),
    )
}

fn app() -> App {
    app_as("enterprise")
}

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn ch(c: char) -> Msg {
    key(KeyCode::Char(c))
}

fn press(app: &mut App, msgs: Vec<Msg>) -> Vec<Effect> {
    msgs.into_iter().flat_map(|m| update(app, m)).collect()
}

fn typed(text: &str) -> Vec<Msg> {
    text.chars().map(ch).collect()
}

/// Moves the approvals selection to a pending item an enterprise operator may decide.
fn select_decidable(app: &mut App) -> String {
    let ids = rows::ids(app, Pane::Approvals);
    let at = ids
        .iter()
        .position(|id| {
            let a = &app.data.approvals[id];
            a.is_pending() && a.level <= opsdeck::authority::Level::Enterprise && a.votes.is_empty()
        })
        .expect("a pending item below the executive level");
    app.pane_state_mut(Pane::Approvals).selected = at;
    ids[at].clone()
}

fn render(app: &App, width: u16, height: u16) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| views::render(f, app)).unwrap();
    terminal.backend().buffer().clone()
}

fn text(buffer: &Buffer) -> String {
    let area = buffer.area;
    let mut out = String::new();
    for y in 0..area.height {
        let mut line = String::new();
        for x in 0..area.width {
            line.push_str(buffer[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn screen(app: &App) -> String {
    text(&render(app, 120, 36))
}

/// Where `needle` starts on the screen, as (x, y).
fn find(buffer: &Buffer, needle: &str) -> Option<(u16, u16)> {
    let area = buffer.area;
    for y in 0..area.height {
        let row: Vec<&str> = (0..area.width).map(|x| buffer[(x, y)].symbol()).collect();
        let line: String = row.concat();
        if let Some(byte) = line.find(needle) {
            let x = line[..byte].chars().count() as u16;
            return Some((x, y));
        }
    }
    None
}
