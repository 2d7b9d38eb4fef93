//! Keys and pasted text: what they mean in each mode, and the two lines the operator types on,
//! the filter (`/`) and the command line (`:`).

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::{Effect, act, audit, dialogs, toast};
use crate::tui::action::Action;
use crate::tui::app::{App, DialogStep, Mode, Pane, ToastKind};

pub(super) fn on_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    if key.kind == KeyEventKind::Release {
        return vec![];
    }
    match app.mode.clone() {
        Mode::Dialog(_) => dialogs::on_key(app, key),
        Mode::Filter { before } => {
            on_filter_key(app, key, before);
            audit::search_if_submitted(app, key)
        }
        Mode::Command { input } => on_command_key(app, key, input),
        Mode::Help => {
            on_help_key(app, key);
            vec![]
        }
        Mode::Normal => match app.keymap.lookup(app.pane, &key) {
            Some(action) => act(app, action),
            None => vec![],
        },
    }
}

fn on_help_key(app: &mut App, key: KeyEvent) {
    if matches!(
        key.code,
        KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('?')
    ) {
        app.mode = Mode::Normal;
    }
}

pub(super) fn on_paste(app: &mut App, text: &str) {
    // Pasted text is data: control characters never reach a binding or the terminal.
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match &mut app.mode {
        Mode::Dialog(dialog) if dialog.step == DialogStep::Compose => {
            if dialog.on_name {
                if let Some((_, typed)) = &mut dialog.confirm_name {
                    typed.push_str(&clean);
                }
            } else {
                dialog.reason.insert_str(&clean);
            }
        }
        Mode::Command { input } => input.push_str(&clean),
        Mode::Filter { .. } => {
            let pane = app.pane;
            app.pane_state_mut(pane).filter.push_str(&clean);
        }
        _ => {}
    }
}

/// `/`: the filter line opens on the pane's current filter, which Esc restores.
pub(super) fn start_filter(app: &mut App) -> Vec<Effect> {
    let before = app.pane_state(app.pane).filter.clone();
    app.mode = Mode::Filter { before };
    vec![]
}

pub(super) fn start_command_line(app: &mut App) -> Vec<Effect> {
    app.mode = Mode::Command {
        input: String::new(),
    };
    vec![]
}

fn on_filter_key(app: &mut App, key: KeyEvent, before: String) {
    let pane = app.pane;
    if pane == Pane::Audit && matches!(key.code, KeyCode::Up | KeyCode::Down) {
        audit::walk_history(app, key.code == KeyCode::Up);
        audit::check_query(app);
        return;
    }
    match key.code {
        KeyCode::Esc => {
            app.pane_state_mut(pane).filter = before;
            app.mode = Mode::Normal;
        }
        KeyCode::Enter => app.mode = Mode::Normal,
        _ => {
            if edit_line(&mut app.pane_state_mut(pane).filter, &key) {
                app.pane_state_mut(pane).selected = 0;
            }
        }
    }
    if pane == Pane::Audit {
        audit::check_query(app);
    }
}

/// What `:` completes, from the action table: the panes, then the console's own commands, then
/// what the current pane offers (nothing that changes the orchestrator on a read-only console).
pub fn command_words(app: &App) -> Vec<&'static str> {
    let offered: Vec<Action> = Action::all()
        .filter(|a| a.applies_to(app.pane) && !(a.mutates() && app.info.read_only))
        .collect();
    let panes = offered.iter().filter(|a| a.pane_opened().is_some());
    let console = offered
        .iter()
        .filter(|a| a.pane_opened().is_none() && !a.mutates());
    let pane_actions = offered.iter().filter(|a| a.mutates());
    panes
        .chain(console)
        .chain(pane_actions)
        .flat_map(|a| a.typed_names())
        // Vim's `:q!` is understood, but offering it next to `:q` would only be noise.
        .filter(|word| !word.ends_with('!'))
        .collect()
}

fn on_command_key(app: &mut App, key: KeyEvent, mut input: String) -> Vec<Effect> {
    match key.code {
        KeyCode::Esc => {
            app.mode = Mode::Normal;
            vec![]
        }
        KeyCode::Tab => {
            complete(app, &mut input);
            app.mode = Mode::Command { input };
            vec![]
        }
        KeyCode::Enter => {
            app.mode = Mode::Normal;
            run_command_line(app, input.trim())
        }
        _ => {
            edit_line(&mut input, &key);
            app.mode = Mode::Command { input };
            vec![]
        }
    }
}

/// Tab: the one word the input starts, or else the longest prefix the candidates share.
fn complete(app: &App, input: &mut String) {
    let candidates: Vec<&str> = command_words(app)
        .into_iter()
        .filter(|w| w.starts_with(input.as_str()))
        .collect();
    let Some(first) = candidates.first() else {
        return;
    };
    *input = if candidates.len() == 1 {
        first.to_string()
    } else {
        candidates.iter().fold(first.to_string(), |acc, w| {
            acc.chars()
                .zip(w.chars())
                .take_while(|(a, b)| a == b)
                .map(|(a, _)| a)
                .collect()
        })
    };
}

/// Editing of a one-line input, as in a shell: typing, backspace, `ctrl+u` to clear the line and
/// `ctrl+w` to delete the last word. Returns whether the line changed.
fn edit_line(line: &mut String, key: &KeyEvent) -> bool {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let before = line.len();
    match key.code {
        KeyCode::Backspace => {
            line.pop();
        }
        KeyCode::Char('u') if ctrl => line.clear(),
        KeyCode::Char('w') if ctrl => {
            let kept = line.trim_end().rfind(' ').map_or(0, |space| space + 1);
            line.truncate(kept);
        }
        KeyCode::Char(c) if !ctrl => {
            line.push(c);
            return true;
        }
        _ => {}
    }
    line.len() != before
}

fn run_command_line(app: &mut App, input: &str) -> Vec<Effect> {
    if input.is_empty() {
        return vec![];
    }
    let typed = Action::all().find(|a| a.typed_names().any(|name| name == input));
    match typed {
        Some(action) if action.applies_to(app.pane) => act(app, action),
        _ => {
            toast(
                app,
                ToastKind::Error,
                format!("unknown command :{input} (Tab completes; :help lists keys)"),
            );
            vec![]
        }
    }
}
