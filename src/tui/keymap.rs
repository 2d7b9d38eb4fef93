//! Keys as data: the bindings the config asks for (the action table's defaults and `[keymap]`,
//! checked in `config::keys`), lookup per pane, and the labels the hints and help show.

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

pub use crate::config::keys::KeySpec;

use super::action::Action;
use super::app::Pane;

#[derive(Debug, Clone, PartialEq)]
pub struct Keymap {
    /// Every action, in the table's order, with its keys.
    bindings: Vec<(Action, Vec<KeySpec>)>,
}

impl Keymap {
    /// Builds the keymap from the config's `[keymap]` table (defaults for what it leaves out).
    pub fn from_config(table: &BTreeMap<String, Vec<String>>) -> Result<Keymap, String> {
        let keys = crate::config::keys::resolve(table)?;
        Ok(Keymap {
            bindings: Action::all().zip(keys).collect(),
        })
    }

    pub fn lookup(&self, pane: Pane, key: &KeyEvent) -> Option<Action> {
        self.bindings
            .iter()
            .find(|(action, keys)| action.applies_to(pane) && keys.iter().any(|k| pressed(k, key)))
            .map(|(action, _)| *action)
    }

    pub fn keys(&self, action: Action) -> &[KeySpec] {
        self.bindings
            .iter()
            .find(|(a, _)| *a == action)
            .map(|(_, k)| k.as_slice())
            .unwrap_or(&[])
    }

    /// `a` or `k/↑`: what the hints and the help screen show.
    pub fn label(&self, action: Action) -> String {
        self.keys(action)
            .iter()
            .map(|k| k.to_string())
            .collect::<Vec<_>>()
            .join("/")
    }
}

impl Default for Keymap {
    fn default() -> Self {
        Keymap::from_config(&BTreeMap::new()).expect("the default bindings parse")
    }
}

/// Whether `key` is the key `spec` names.
fn pressed(spec: &KeySpec, key: &KeyEvent) -> bool {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let alt = key.modifiers.contains(KeyModifiers::ALT);
    let code = match (key.code, spec.code) {
        // Shift is part of the character itself ('G'); BackTab arrives with shift.
        (KeyCode::Char(a), KeyCode::Char(b)) => a == b,
        (a, b) => a == b,
    };
    code && ctrl == spec.ctrl && alt == spec.alt
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn the_same_key_means_different_actions_in_different_panes() {
        let map = Keymap::default();
        let a = key(KeyCode::Char('a'), KeyModifiers::NONE);
        assert_eq!(map.lookup(Pane::Approvals, &a), Some(Action::Approve));
        assert_eq!(map.lookup(Pane::Incidents, &a), Some(Action::Ack));
        assert_eq!(map.lookup(Pane::Agents, &a), None);
        let shift_g = key(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(map.lookup(Pane::Audit, &shift_g), Some(Action::Bottom));
        let ctrl_c = key(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(map.lookup(Pane::Overview, &ctrl_c), Some(Action::Quit));
        let plain_c = key(KeyCode::Char('c'), KeyModifiers::NONE);
        assert_eq!(map.lookup(Pane::Overview, &plain_c), None);
    }

    #[test]
    fn config_rebinds_and_rejects_unknown_actions() {
        let mut table = BTreeMap::new();
        table.insert("approve".to_string(), vec!["ctrl+a".to_string()]);
        let map = Keymap::from_config(&table).unwrap();
        let a = key(KeyCode::Char('a'), KeyModifiers::NONE);
        assert_eq!(map.lookup(Pane::Approvals, &a), None);
        let ctrl_a = key(KeyCode::Char('a'), KeyModifiers::CONTROL);
        assert_eq!(map.lookup(Pane::Approvals, &ctrl_a), Some(Action::Approve));
        table.insert("launch".to_string(), vec!["l".to_string()]);
        assert!(
            Keymap::from_config(&table)
                .unwrap_err()
                .contains("keymap.launch")
        );
    }

    #[test]
    fn every_action_has_a_default_key() {
        let map = Keymap::default();
        for action in Action::all() {
            assert!(!map.keys(action).is_empty(), "{}", action.name());
        }
    }

    #[test]
    fn the_defaults_are_the_tables_keys() {
        let map = Keymap::default();
        for spec in crate::tui::action::ACTIONS {
            let parsed: Vec<KeySpec> = spec
                .keys
                .iter()
                .map(|k| KeySpec::parse(k).unwrap())
                .collect();
            assert_eq!(map.keys(spec.action), parsed, "{}", spec.name);
        }
    }
}
