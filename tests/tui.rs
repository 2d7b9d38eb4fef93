//! The console without a terminal: pure `update` tests, and screens rendered from a deterministic
//! demo (seeded fleet, simulated clock, `now` injected) into ratatui's TestBackend.

use std::sync::OnceLock;

use chrono::{DateTime, Duration, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use opsdeck::config::Config;
use opsdeck::config::actions::Typed;
use opsdeck::engine::{Clock, Engine};
use opsdeck::link::{LinkEvent, LinkInfo};
use opsdeck::model::{Severity, Snapshot};
use opsdeck::protocol::{ActOnApproval, ActOnRollout, ApprovalAction, Command, RevealRecord};
use opsdeck::store::Store;
use opsdeck::tui::action::{ACTIONS, ActionSpec};
use opsdeck::tui::app::{App, DialogStep, Mode, Pane};
use opsdeck::tui::keymap::{KeySpec, Keymap};
use opsdeck::tui::theme::Theme;
use opsdeck::tui::update::{Effect, Msg, command_words, update};
use opsdeck::tui::{rows, views};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

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
        read_only,
        frozen_at: None,
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

// ---------- pure update ----------

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
    // One key opens the dialog and sends nothing.
    assert!(press(&mut app, vec![ch('a')]).is_empty());
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
    press(&mut app, vec![key(KeyCode::Enter)]);
    let effects = press(&mut app, vec![key(KeyCode::Enter)]);
    assert_eq!(
        effects,
        vec![Effect::Send {
            item: target.clone(),
            label: format!("approve {target}"),
            command: Command::ActOnApproval(ActOnApproval {
                id: target.clone(),
                decision: ApprovalAction::Approve,
                reason: "budget fits".into(),
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
    assert!(app.toasts.last().unwrap().text.contains("already approved"));
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
    press(&mut app, vec![key(KeyCode::Enter)]);
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
        .is_empty()
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
    assert_eq!(ACTIONS.len(), 34);
}

/// The table's default keys, as the console prints them (`k/↑`).
fn default_label(spec: &ActionSpec) -> String {
    let keys: Vec<String> = spec
        .keys
        .iter()
        .map(|k| KeySpec::parse(k).unwrap().to_string())
        .collect();
    keys.join("/")
}

#[test]
fn the_help_the_command_line_and_the_config_defaults_read_the_action_table() {
    // The help lists, in the table's order, each action of the pane with the table's keys and
    // description.
    let mut app = app();
    press(&mut app, vec![ch('4'), ch('?')]);
    let help = screen(&app);
    let mut from = 0;
    for spec in ACTIONS
        .iter()
        .filter(|s| s.action.applies_to(Pane::Incidents))
    {
        let row = format!("{:>14}  {}", default_label(spec), spec.description);
        let at = help[from..]
            .find(&row)
            .unwrap_or_else(|| panic!("{row:?} missing or out of order:\n{help}"));
        from += at + row.len();
    }
    for spec in ACTIONS
        .iter()
        .filter(|s| !s.action.applies_to(Pane::Incidents))
    {
        assert!(!help.contains(spec.description), "{}", spec.name);
    }

    // `:` completes the typed names of the table's actions that apply to the pane.
    app.pane = Pane::Approvals;
    let words = command_words(&app);
    assert_eq!(
        words,
        [
            "overview",
            "agents",
            "queues",
            "incidents",
            "approvals",
            "audit",
            "rollouts",
            "quit",
            "q",
            "help",
            "approve",
            "reject",
            "escalate",
        ]
    );
    for spec in ACTIONS {
        let offered = spec.action.typed_names().any(|n| words.contains(&n));
        let expected = spec.typed != Typed::No && spec.action.applies_to(Pane::Approvals);
        assert_eq!(offered, expected, "{}", spec.name);
    }
    // A read-only console offers nothing that changes the orchestrator.
    let mut read_only = App::new(
        info("enterprise", true),
        demo().0.clone(),
        demo().0.at,
        Keymap::default(),
        Theme::default_theme(),
    );
    read_only.pane = Pane::Approvals;
    let read_only_words = command_words(&read_only);
    for spec in ACTIONS {
        let offered = spec
            .action
            .typed_names()
            .any(|n| read_only_words.contains(&n));
        assert!(!(offered && spec.mutates), "{}", spec.name);
    }
    assert!(read_only_words.contains(&"quit"));

    // The config's defaults and the console's default keymap are the table's keys.
    let defaults = Config::default().keymap;
    assert_eq!(defaults.len(), ACTIONS.len());
    let keymap = Keymap::default();
    for spec in ACTIONS {
        assert_eq!(defaults[spec.name], spec.keys, "{}", spec.name);
        assert_eq!(
            keymap.label(spec.action),
            default_label(spec),
            "{}",
            spec.name
        );
    }
}

// ---------- rendering ----------

#[test]
fn snapshot_overview_120x36() {
    insta::assert_snapshot!(screen(&app()));
}

#[test]
fn snapshot_overview_80x24() {
    insta::assert_snapshot!(text(&render(&app(), 80, 24)));
}

#[test]
fn snapshot_panes_120x36() {
    for (key, pane) in [
        ('2', "agents"),
        ('3', "queues"),
        ('4', "incidents"),
        ('5', "approvals"),
        ('6', "audit"),
        ('7', "rollouts"),
    ] {
        let mut app = app();
        press(&mut app, vec![ch(key)]);
        insta::assert_snapshot!(format!("pane_{pane}"), screen(&app));
    }
}

#[test]
fn snapshot_details_and_dialog() {
    let mut app = app();
    press(&mut app, vec![ch('5')]);
    select_decidable(&mut app);
    press(&mut app, vec![key(KeyCode::Enter)]);
    insta::assert_snapshot!("approval_card", screen(&app));
    press(&mut app, vec![ch('a')]);
    press(&mut app, typed("within budget"));
    press(&mut app, vec![key(KeyCode::Enter)]);
    insta::assert_snapshot!("approval_dialog_confirm", screen(&app));
    let mut app = app_for_incident_detail();
    insta::assert_snapshot!("incident_timeline", screen(&app));
    press(&mut app, vec![key(KeyCode::Esc), ch('?')]);
    insta::assert_snapshot!("help_incidents", screen(&app));
}

fn app_for_incident_detail() -> App {
    let mut app = app();
    press(&mut app, vec![ch('4'), key(KeyCode::Enter)]);
    app
}

#[test]
fn below_80x24_a_clear_message_says_what_is_needed() {
    let text = text(&render(&app(), 79, 24));
    assert!(text.contains("at least 80×24"), "{text}");
    assert!(text.contains("79×24"));
}

#[test]
fn severity_and_countdowns_carry_colour_and_words() {
    let mut app = app();
    let theme = Theme::default_theme();
    // Make one incident breach its target so the countdown turns to danger.
    let id = app
        .data
        .incidents
        .values()
        .find(|i| i.is_open())
        .unwrap()
        .id
        .clone();
    let incident = app.data.incidents.get_mut(&id).unwrap();
    incident.severity = Severity::Sev1;
    incident.target_at = app.now - Duration::minutes(5);
    let buffer = render(&app, 120, 36);
    let (x, y) = find(&buffer, "SEV1 ").expect("a SEV1 row");
    assert_eq!(
        buffer[(x, y)].fg,
        theme.sev1.fg.unwrap(),
        "SEV1 is drawn in the sev1 colour"
    );
    let (bx, by) = find(&buffer, "breached 5m").expect("a breached countdown in words");
    assert_eq!(buffer[(bx, by)].fg, theme.danger.fg.unwrap());
    // Without colour the words remain.
    app.theme = Theme::mono();
    let plain = text(&render(&app, 120, 36));
    assert!(plain.contains("SEV1") && plain.contains("breached 5m"));
}

/// A screen with its styles named by theme slot: each line of text, then under it the runs of
/// cells that are not plain `base`, as `[from..to) slot` (`a+selection` for a selected cell).
fn styled(buffer: &Buffer, theme: &Theme) -> String {
    use ratatui::style::{Color, Modifier, Style};
    let flat = |s: Style| {
        (
            s.fg.unwrap_or(Color::Reset),
            s.bg.unwrap_or(Color::Reset),
            s.add_modifier - s.sub_modifier,
        )
    };
    let mut names: Vec<((Color, Color, Modifier), String)> = Vec::new();
    for (slot, style) in theme.styles() {
        let key = flat(theme.base.patch(style));
        if let Some((_, name)) = names.iter_mut().find(|(k, _)| *k == key) {
            name.push('|');
            name.push_str(slot);
        } else {
            names.push((key, slot.to_string()));
        }
    }
    // A style many slots share (mono's bold) reads better as what it is.
    for ((_, _, modifier), name) in names.iter_mut() {
        if name.matches('|').count() > 1 {
            *name = format!("{modifier:?}").to_lowercase();
        }
    }
    for (slot, style) in theme.styles() {
        let key = flat(theme.base.patch(style).patch(theme.selection));
        if !names.iter().any(|(k, _)| *k == key) {
            names.push((key, format!("{slot}+selection")));
        }
    }
    let plain = flat(theme.base);
    let name_of = |cell: &ratatui::buffer::Cell| {
        let key = (cell.fg, cell.bg, cell.modifier);
        if key == plain {
            return String::new();
        }
        names
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| format!("{:?}/{:?}/{:?}", cell.fg, cell.bg, cell.modifier))
    };
    let area = buffer.area;
    let mut out = String::new();
    for y in 0..area.height {
        let mut line = String::new();
        let mut runs: Vec<(u16, u16, String)> = Vec::new();
        for x in 0..area.width {
            let cell = &buffer[(x, y)];
            line.push_str(cell.symbol());
            let name = name_of(cell);
            match runs.last_mut() {
                Some((_, end, last)) if *last == name => *end = x + 1,
                _ => runs.push((x, x + 1, name)),
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
        let marked: Vec<String> = runs
            .into_iter()
            .filter(|(_, _, n)| !n.is_empty())
            .map(|(from, to, n)| format!("[{from}..{to}) {n}"))
            .collect();
        if !marked.is_empty() {
            out.push_str(&format!("    {}\n", marked.join(" ")));
        }
    }
    out
}

#[test]
fn snapshot_overview_in_mono_and_light() {
    for name in ["mono", "light"] {
        let mut app = app();
        app.theme = Theme::builtin(name).unwrap();
        let buffer = render(&app, 120, 36);
        insta::assert_snapshot!(format!("overview_{name}"), styled(&buffer, &app.theme));
    }
}

#[test]
fn a_theme_with_a_background_fills_every_cell_and_the_default_none() {
    let mut app = app();
    press(&mut app, vec![ch('5')]);
    select_decidable(&mut app);
    press(&mut app, vec![ch('a')]);
    app.theme = Theme::builtin("light").unwrap();
    let background = app.theme.base.bg.unwrap();
    let buffer = render(&app, 120, 36);
    let area = buffer.area;
    for y in 0..area.height {
        for x in 0..area.width {
            let cell = &buffer[(x, y)];
            // The selected row is drawn in the selection colour; every other cell, dialog
            // included, keeps the theme's background.
            assert!(
                cell.bg == background || Some(cell.bg) == app.theme.selection.bg,
                "({x}, {y}) {:?} has background {:?}",
                cell.symbol(),
                cell.bg
            );
        }
    }
    app.theme = Theme::default_theme();
    let buffer = render(&app, 120, 36);
    assert!(
        buffer
            .content
            .iter()
            .all(|c| c.bg == ratatui::style::Color::Reset)
    );
}

#[test]
fn every_coloured_reading_on_the_overview_has_a_mark_too() {
    let mut app = app();
    let domain = app.data.domains.keys().next().unwrap().clone();
    app.data.domains.get_mut(&domain).unwrap().utilization = 0.95;
    let queue = app.data.queues.keys().next().unwrap().clone();
    app.data.queues.get_mut(&queue).unwrap().depth = 400;
    app.theme = Theme::mono();
    let plain = screen(&app);
    let line = plain.lines().find(|l| l.contains(&domain)).unwrap();
    assert!(line.contains("95%!!"), "{line}");
    let line = plain.lines().find(|l| l.contains(&queue)).unwrap();
    assert!(line.contains("400!!"), "{line}");
}

#[test]
fn hostile_strings_are_shown_not_obeyed_in_every_pane() {
    let mut app = app();
    let evil = "\x1b[2J\x1b]0;pwned\x07\u{202E}gnp.exe\u{200B}";
    for a in app.data.agents.values_mut() {
        a.name = format!("n{evil}");
        a.team = format!("t{evil}");
        a.current_task = Some(format!("T{evil}"));
    }
    for i in app.data.incidents.values_mut() {
        i.title = format!("title{evil}");
        for e in &mut i.timeline {
            e.text = format!("note{evil}");
            e.by = format!("by{evil}");
        }
    }
    for a in app.data.approvals.values_mut() {
        a.summary = format!("sum{evil}");
        a.context = format!("ctx{evil}");
        a.options_considered = vec![format!("opt{evil}")];
        a.recommendation = format!("rec{evil}");
        a.requested_by = format!("agent{evil}");
    }
    for r in app.data.rollouts.values_mut() {
        r.name = format!("ro{evil}");
        r.paused_reason = Some(format!("why{evil}"));
    }
    for q in app.data.queues.values_mut() {
        q.name = format!("q{evil}");
    }
    for r in &mut app.data.audit_tail {
        r.summary = format!("audit{evil}");
        r.agent_id = format!("actor{evil}");
        r.details.reasoning = format!("reason{evil}");
    }
    let mut screens = vec![screen(&app)];
    for pane in ['2', '3', '4', '5', '6', '7'] {
        press(&mut app, vec![ch(pane)]);
        screens.push(screen(&app));
        press(&mut app, vec![key(KeyCode::Enter)]);
        screens.push(screen(&app));
        press(&mut app, vec![key(KeyCode::Esc)]);
    }
    let all = screens.join("\n");
    for bad in ['\x1b', '\x07', '\u{202E}', '\u{200B}'] {
        assert!(!all.contains(bad), "{bad:?} reached the screen");
    }
    assert!(all.contains("^[[2J"), "escape shown in caret notation");
    assert!(all.contains("<U+202E>"), "bidi override named");
}

#[test]
fn sensitive_records_stay_hidden_until_a_reveal_which_is_audited() {
    let mut app = app();
    press(&mut app, vec![ch('6')]);
    let ids = rows::ids(&app, Pane::Audit);
    let at = ids
        .iter()
        .position(|seq| {
            rows::audit(&app).iter().any(|r| {
                r.seq.to_string() == *seq
                    && r.classification == opsdeck::model::Classification::Sensitive
            })
        })
        .expect("a sensitive record in the tail");
    app.pane_state_mut(Pane::Audit).selected = at;
    press(&mut app, vec![key(KeyCode::Enter)]);
    let hidden = screen(&app);
    assert!(
        hidden.contains("sensitive: details and related tasks stay hidden"),
        "{hidden}"
    );
    assert!(!hidden.contains("reasoning"), "details hidden");
    let effects = press(&mut app, vec![ch('v')]);
    let [
        Effect::Send {
            item,
            command: Command::RevealRecord(RevealRecord { seq, .. }),
            ..
        },
    ] = &effects[..]
    else {
        panic!("{effects:?}")
    };
    update(
        &mut app,
        Msg::Done {
            item: item.clone(),
            result: Ok("revealed".into()),
        },
    );
    assert!(app.audit.revealed.contains(seq));
    press(&mut app, vec![key(KeyCode::Enter)]);
    let shown = screen(&app);
    assert!(
        shown.contains("▾ details") && shown.contains("reasoning"),
        "{shown}"
    );
}

#[test]
fn audit_details_fold_and_the_query_line_keeps_history() {
    let mut app = app();
    press(&mut app, vec![ch('6'), key(KeyCode::Enter)]);
    assert!(screen(&app).contains("▸ details {5 fields}"));
    press(&mut app, vec![key(KeyCode::Enter)]);
    assert!(screen(&app).contains("▾ details"));
    press(&mut app, vec![key(KeyCode::Esc)]);
    for query in ["type:decision", "domain:platform"] {
        press(&mut app, vec![ch('/')]);
        press(&mut app, (0..40).map(|_| key(KeyCode::Backspace)).collect());
        press(&mut app, typed(query));
        press(&mut app, vec![key(KeyCode::Enter)]);
    }
    assert_eq!(app.audit.history, vec!["type:decision", "domain:platform"]);
    press(&mut app, vec![ch('/'), key(KeyCode::Up)]);
    assert_eq!(app.pane_state(Pane::Audit).filter, "domain:platform");
    press(&mut app, vec![key(KeyCode::Up)]);
    assert_eq!(app.pane_state(Pane::Audit).filter, "type:decision");
    // The syntax error shows as the operator types.
    press(&mut app, typed(" class:secret"));
    let error = app.audit.error.clone().unwrap();
    assert!(error.contains("column 21"), "{error}");
    assert!(screen(&app).contains("✖ column 21"));
    // Shell editing on the query line: ctrl+w drops the last word, ctrl+u the whole line.
    let ctrl = |c| Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL));
    press(&mut app, vec![ctrl('w')]);
    assert_eq!(app.pane_state(Pane::Audit).filter, "type:decision ");
    assert!(app.audit.error.is_none(), "the error goes with the word");
    press(&mut app, vec![ctrl('u')]);
    assert_eq!(app.pane_state(Pane::Audit).filter, "");
    press(&mut app, typed("quota"));
    assert_eq!(app.pane_state(Pane::Audit).filter, "quota");
}

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
    assert!(header.contains("● connected · data"), "{header}");

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
