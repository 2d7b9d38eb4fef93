//! The action table is the one source: the help, the `:` line's completion, the config's
//! defaults and the console's keymap all read it.

use opsdeck::config::Config;
use opsdeck::config::actions::Typed;
use opsdeck::tui::action::{ACTIONS, ActionSpec};
use opsdeck::tui::app::{App, Pane};
use opsdeck::tui::keymap::{KeySpec, Keymap};
use opsdeck::tui::theme::Theme;
use opsdeck::tui::update::command_words;

use super::{app, ch, demo, info, press, screen};

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
            "inbox",
            "needs",
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
