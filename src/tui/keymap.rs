//! Keys as data: the default bindings, overrides from `[keymap]` in the config, lookup per pane,
//! and the help screen's rows.

use std::collections::BTreeMap;
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::Action;
use super::app::Pane;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeySpec {
    pub code: KeyCode,
    pub ctrl: bool,
    pub alt: bool,
}

impl KeySpec {
    pub fn parse(text: &str) -> Result<KeySpec, String> {
        let mut ctrl = false;
        let mut alt = false;
        let mut rest = text;
        loop {
            if let Some(r) = rest.strip_prefix("ctrl+") {
                ctrl = true;
                rest = r;
            } else if let Some(r) = rest.strip_prefix("alt+") {
                alt = true;
                rest = r;
            } else {
                break;
            }
        }
        let code = match rest {
            "enter" => KeyCode::Enter,
            "esc" => KeyCode::Esc,
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "up" | "↑" => KeyCode::Up,
            "down" | "↓" => KeyCode::Down,
            "left" | "←" => KeyCode::Left,
            "right" | "→" => KeyCode::Right,
            "pageup" | "pgup" => KeyCode::PageUp,
            "pagedown" | "pgdn" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "space" => KeyCode::Char(' '),
            "backspace" => KeyCode::Backspace,
            s if s.starts_with('f') && s.len() > 1 && s[1..].parse::<u8>().is_ok() => {
                KeyCode::F(s[1..].parse().expect("checked"))
            }
            s if s.chars().count() == 1 => KeyCode::Char(s.chars().next().expect("one char")),
            _ => {
                return Err(format!(
                    "unknown key {text:?}: use a character, enter, esc, tab, up, down, pageup, pagedown, home, end, space, f1…f12, with ctrl+ or alt+"
                ));
            }
        };
        Ok(KeySpec { code, ctrl, alt })
    }

    pub fn matches(&self, key: &KeyEvent) -> bool {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        let code = match (key.code, self.code) {
            // Shift is part of the character itself ('G'); BackTab arrives with shift.
            (KeyCode::Char(a), KeyCode::Char(b)) => a == b,
            (a, b) => a == b,
        };
        code && ctrl == self.ctrl && alt == self.alt
    }
}

impl fmt::Display for KeySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("ctrl+")?;
        }
        if self.alt {
            f.write_str("alt+")?;
        }
        match self.code {
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("backtab"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::PageUp => f.write_str("pgup"),
            KeyCode::PageDown => f.write_str("pgdn"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::Backspace => f.write_str("backspace"),
            KeyCode::F(n) => write!(f, "f{n}"),
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            _ => f.write_str("?"),
        }
    }
}

/// The default bindings: vim-style movement, k9s-style panes and `:`/`/`.
pub fn default_bindings() -> BTreeMap<String, Vec<String>> {
    let pairs: [(Action, &[&str]); 34] = [
        (Action::Quit, &["q", "ctrl+c"]),
        (Action::Back, &["esc"]),
        (Action::Help, &["?"]),
        (Action::Filter, &["/"]),
        (Action::CommandLine, &[":"]),
        (Action::Open, &["enter"]),
        (Action::Up, &["k", "up"]),
        (Action::Down, &["j", "down"]),
        (Action::PageUp, &["ctrl+u", "pageup"]),
        (Action::PageDown, &["ctrl+d", "pagedown"]),
        (Action::Top, &["g", "home"]),
        (Action::Bottom, &["G", "end"]),
        (Action::NextSection, &["tab"]),
        (Action::Sort, &["s"]),
        (Action::ShowOverview, &["1"]),
        (Action::ShowAgents, &["2"]),
        (Action::ShowQueues, &["3"]),
        (Action::ShowIncidents, &["4"]),
        (Action::ShowApprovals, &["5"]),
        (Action::ShowAudit, &["6"]),
        (Action::ShowRollouts, &["7"]),
        (Action::Approve, &["a"]),
        (Action::Reject, &["r"]),
        (Action::Escalate, &["e"]),
        (Action::Ack, &["a"]),
        (Action::Mitigate, &["m"]),
        (Action::Resolve, &["R"]),
        (Action::Note, &["n"]),
        (Action::Promote, &["p"]),
        (Action::Pause, &["P"]),
        (Action::Resume, &["u"]),
        (Action::Abort, &["X"]),
        (Action::Reveal, &["v"]),
        (Action::Related, &["o"]),
    ];
    pairs
        .into_iter()
        .map(|(a, keys)| {
            (
                a.name().to_string(),
                keys.iter().map(|k| k.to_string()).collect(),
            )
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq)]
pub struct Keymap {
    bindings: Vec<(Action, Vec<KeySpec>)>,
}

impl Keymap {
    /// Builds the keymap from the config's `[keymap]` table (defaults for what it leaves out).
    pub fn from_config(table: &BTreeMap<String, Vec<String>>) -> Result<Keymap, String> {
        let mut merged = default_bindings();
        for (name, keys) in table {
            if Action::from_name(name).is_none() {
                return Err(format!(
                    "keymap.{name} is not an action; actions are: {}",
                    Action::ALL.map(|a| a.name()).join(", ")
                ));
            }
            merged.insert(name.clone(), keys.clone());
        }
        let mut bindings = Vec::new();
        for action in Action::ALL {
            let keys = merged
                .get(action.name())
                .map(|keys| {
                    keys.iter()
                        .map(|k| {
                            KeySpec::parse(k).map_err(|e| format!("keymap.{}: {e}", action.name()))
                        })
                        .collect::<Result<Vec<_>, _>>()
                })
                .transpose()?
                .unwrap_or_default();
            bindings.push((action, keys));
        }
        Ok(Keymap { bindings })
    }

    pub fn lookup(&self, pane: Pane, key: &KeyEvent) -> Option<Action> {
        self.bindings
            .iter()
            .find(|(action, keys)| action.applies_to(pane) && keys.iter().any(|k| k.matches(key)))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn keys_parse_and_print() {
        for text in [
            "q", "G", "ctrl+c", "alt+x", "enter", "esc", "pageup", "f5", "space", "?",
        ] {
            let spec = KeySpec::parse(text).unwrap();
            let printed = spec.to_string();
            assert_eq!(
                KeySpec::parse(&printed.replace('↑', "up")).unwrap(),
                spec,
                "{text}"
            );
        }
        assert!(
            KeySpec::parse("hyper+z")
                .unwrap_err()
                .contains("unknown key")
        );
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
        for action in Action::ALL {
            assert!(!map.keys(action).is_empty(), "{}", action.name());
        }
    }
}
