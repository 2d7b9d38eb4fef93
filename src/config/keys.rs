//! `[keymap]`: keys as the config writes them, and the bindings it asks for, checked against
//! the action table: every name an action, every key a key, and no key doing two things in one
//! pane.

use std::collections::BTreeMap;
use std::fmt;

use crossterm::event::KeyCode;

use super::actions::{ACTIONS, ActionSpec, PANES};

/// One key, with its modifiers: `G`, `ctrl+c`, `pageup`.
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

/// `[keymap]` when the config says nothing: each action's default keys, from the table.
pub fn default_bindings() -> BTreeMap<String, Vec<String>> {
    ACTIONS
        .iter()
        .map(|spec| {
            let keys = spec.keys.iter().map(|k| k.to_string()).collect();
            (spec.name.to_string(), keys)
        })
        .collect()
}

/// The keys of every action, in the table's order: the defaults, with what `overrides` (the
/// config's `[keymap]`) rebinds in their place.
pub fn resolve(overrides: &BTreeMap<String, Vec<String>>) -> Result<Vec<Vec<KeySpec>>, String> {
    if let Some(name) = overrides
        .keys()
        .find(|name| !ACTIONS.iter().any(|spec| spec.name == name.as_str()))
    {
        let names: Vec<&str> = ACTIONS.iter().map(|spec| spec.name).collect();
        return Err(format!(
            "keymap.{name} is not an action; actions are: {}",
            names.join(", ")
        ));
    }
    let mut written = Vec::with_capacity(ACTIONS.len());
    for spec in ACTIONS {
        let texts: Vec<&str> = match overrides.get(spec.name) {
            Some(keys) => keys.iter().map(String::as_str).collect(),
            None => spec.keys.to_vec(),
        };
        let keys = texts
            .into_iter()
            .map(|text| Ok((KeySpec::parse(text)?, text)))
            .collect::<Result<Vec<_>, String>>()
            .map_err(|e| format!("keymap.{}: {e}", spec.name))?;
        written.push(keys);
    }
    one_action_per_key(&written)?;
    Ok(written
        .into_iter()
        .map(|keys| keys.into_iter().map(|(key, _)| key).collect())
        .collect())
}

/// A key bound to two actions of one pane would do whichever comes first in the table: refused,
/// naming both, so that rebinding one action never silently shadows another.
fn one_action_per_key(bindings: &[Vec<(KeySpec, &str)>]) -> Result<(), String> {
    for pane in PANES {
        let mut seen: Vec<(KeySpec, &ActionSpec)> = Vec::new();
        for (spec, keys) in ACTIONS.iter().zip(bindings) {
            if !spec.panes.contains(pane) {
                continue;
            }
            for &(key, text) in keys {
                match seen.iter().find(|(k, s)| *k == key && s.name != spec.name) {
                    Some((_, first)) => {
                        return Err(format!(
                            "keymap.{} and keymap.{} both bind {text:?} in the {pane} pane: a key does one thing per pane",
                            first.name, spec.name
                        ));
                    }
                    None => seen.push((key, spec)),
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rebind(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        pairs
            .iter()
            .map(|(name, keys)| {
                (
                    name.to_string(),
                    keys.iter().map(|k| k.to_string()).collect(),
                )
            })
            .collect()
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
    fn the_defaults_are_the_tables_keys_and_bind_every_action() {
        let defaults = default_bindings();
        assert_eq!(defaults.len(), ACTIONS.len());
        for spec in ACTIONS {
            assert!(!spec.keys.is_empty(), "{} has no default key", spec.name);
            assert_eq!(defaults[spec.name], spec.keys, "{}", spec.name);
        }
        let resolved = resolve(&BTreeMap::new()).expect("the defaults are valid");
        assert_eq!(resolved.len(), ACTIONS.len());
    }

    #[test]
    fn a_rebinding_replaces_the_defaults_of_that_action_only() {
        let resolved = resolve(&rebind(&[("approve", &["ctrl+a"])])).unwrap();
        let at = |name| ACTIONS.iter().position(|s| s.name == name).unwrap();
        assert_eq!(resolved[at("approve")], [KeySpec::parse("ctrl+a").unwrap()]);
        assert_eq!(resolved[at("reject")], [KeySpec::parse("r").unwrap()]);
    }

    #[test]
    fn unknown_actions_and_keys_are_named() {
        let err = resolve(&rebind(&[("launch", &["l"])])).unwrap_err();
        assert!(err.contains("keymap.launch is not an action"), "{err}");
        assert!(err.contains("approve"), "the valid names are listed: {err}");
        let err = resolve(&rebind(&[("approve", &["hyper+a"])])).unwrap_err();
        assert!(err.contains("keymap.approve: unknown key"), "{err}");
    }

    #[test]
    fn a_key_bound_twice_in_one_pane_names_both_actions() {
        let err = resolve(&rebind(&[("approve", &["r"])])).unwrap_err();
        assert_eq!(
            err,
            "keymap.approve and keymap.reject both bind \"r\" in the approvals pane: a key does one thing per pane"
        );
        // A global action collides with a pane's own.
        let err = resolve(&rebind(&[("promote", &["q"])])).unwrap_err();
        assert!(err.contains("keymap.quit and keymap.promote"), "{err}");
        assert!(err.contains("rollouts pane"), "{err}");
        // Up and ↑ are one key.
        let err = resolve(&rebind(&[("down", &["↑"])])).unwrap_err();
        assert!(err.contains("keymap.up and keymap.down"), "{err}");
    }

    #[test]
    fn one_key_may_serve_actions_of_different_panes_or_one_action_twice() {
        // `a` approves and acknowledges by default; `P` pauses rollouts and agents.
        resolve(&BTreeMap::new()).unwrap();
        resolve(&rebind(&[("reject", &["x"]), ("mitigate", &["x", "x"])])).unwrap();
    }
}
