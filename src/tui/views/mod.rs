//! Rendering: a pure function of the app state. Every string that came from outside passes
//! through `safe` (SafeText) on its way into a widget.

mod agents;
mod approvals;
mod audit;
mod card;
mod dialog;
mod header;
mod help;
mod inbox;
mod incidents;
mod overview;
mod queues;
mod rollouts;

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

use super::action::Action;
use super::app::{App, Mode, Pane, ToastKind};
use super::update::command_words;
use super::widgets::safe;

pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

pub fn render(frame: &mut Frame, app: &App) {
    let area = frame.area();
    // The theme's own background, if it has one (the default theme leaves the terminal's, and
    // the buffer starts each frame blank: styling every cell with nothing costs a pass).
    if app.theme.base != ratatui::style::Style::default() {
        frame.buffer_mut().set_style(area, app.theme.base);
    }
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small(frame, area);
        return;
    }
    let [top, body, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area);
    header::render(frame, top, app);
    // A decision dialog docks at the bottom and leaves the item it decides on the screen above
    // it: an approval's card, with the authority path, quorum and time left, stays readable.
    let (pane_area, dialog_area) = match &app.mode {
        Mode::Dialog(dialog) => {
            let [above, below] = Layout::vertical([
                Constraint::Min(0),
                Constraint::Length(dialog::height(app, dialog, body.width)),
            ])
            .areas(body);
            (above, Some((below, dialog)))
        }
        _ => (body, None),
    };
    match (&app.mode, app.pane) {
        (Mode::Dialog(dialog), _) if dialog::shows_card(dialog) => {
            approvals::decision_card(frame, pane_area, app, dialog.intent.id())
        }
        (_, Pane::Overview) => overview::render(frame, pane_area, app),
        (_, Pane::Agents) => agents::render(frame, pane_area, app),
        (_, Pane::Queues) => queues::render(frame, pane_area, app),
        (_, Pane::Incidents) => incidents::render(frame, pane_area, app),
        (_, Pane::Approvals) => approvals::render(frame, pane_area, app),
        (_, Pane::Audit) => audit::render(frame, pane_area, app),
        (_, Pane::Rollouts) => rollouts::render(frame, pane_area, app),
        (_, Pane::Inbox) => inbox::render(frame, pane_area, app),
    }
    footer(frame, bottom, app);
    toasts(frame, body, app);
    match (&app.mode, dialog_area) {
        (Mode::Help, _) => help::render(frame, body, app),
        (_, Some((area, dialog))) => dialog::render(frame, area, app, dialog),
        _ => {}
    }
}

fn too_small(frame: &mut Frame, area: Rect) {
    let text = format!(
        "opsdeck needs a terminal of at least {MIN_WIDTH}×{MIN_HEIGHT}; this one is {}×{}.\nEnlarge the window, or use the CLI (opsdeck --help).",
        area.width, area.height
    );
    frame.render_widget(
        Paragraph::new(text)
            .alignment(Alignment::Center)
            .wrap(Wrap { trim: true }),
        area,
    );
}

/// The key hints of the pane, or the `:` / `/` line being typed.
fn footer(frame: &mut Frame, area: Rect, app: &App) {
    let theme = &app.theme;
    let line = match &app.mode {
        Mode::Command { input } => {
            let candidates: Vec<&str> = command_words(app)
                .into_iter()
                .filter(|w| !input.is_empty() && w.starts_with(input.as_str()))
                .take(8)
                .collect();
            Line::from(vec![
                Span::styled(":", theme.accent),
                Span::raw(safe(input)),
                Span::styled("█", theme.muted),
                Span::styled(format!("   {}", candidates.join("  ")), theme.muted),
            ])
        }
        Mode::Filter { .. } => {
            let what = if app.pane == Pane::Audit {
                "search"
            } else {
                "filter"
            };
            Line::from(vec![
                Span::styled(format!("{what} /"), theme.accent),
                Span::raw(safe(&app.pane_state(app.pane).filter)),
                Span::styled("█", theme.muted),
                Span::styled("   enter: apply · esc: cancel", theme.muted),
            ])
        }
        _ => hints(app, area.width as usize),
    };
    frame.render_widget(Paragraph::new(line), area);
}

/// The keys of the pane, as many as fit in `width`: when they do not all fit, quit, the command
/// line, back and filter go first, then the pane's own actions from the last; `? help` (which
/// lists them all) always stays.
fn hints(app: &App, width: usize) -> Line<'static> {
    let pane = app.pane;
    let mut actions: Vec<Action> = Vec::new();
    if pane == Pane::Overview {
        actions.extend([Action::NextSection, Action::Open]);
    } else if app.pane_state(pane).detail.is_none() {
        actions.push(Action::Open);
    }
    if app.may_act() {
        actions.extend(Action::all().filter(|a| a.mutates() && a.applies_to(pane)));
    }
    actions.extend([
        Action::Filter,
        Action::CommandLine,
        Action::Back,
        Action::Help,
        Action::Quit,
    ]);
    let mut shown: Vec<(Action, String, String)> = actions
        .into_iter()
        .filter_map(|action| {
            let keys = app.keymap.label(action);
            (!keys.is_empty()).then(|| (action, keys, action.name().replace('_', " ")))
        })
        .collect();
    let cost = |list: &[(Action, String, String)]| -> usize {
        list.iter()
            .map(|(_, k, n)| k.chars().count() + 1 + n.chars().count() + 3)
            .sum::<usize>()
            .saturating_sub(3)
    };
    let first_out = [
        Action::Quit,
        Action::CommandLine,
        Action::Back,
        Action::Filter,
    ];
    while cost(&shown) > width {
        let out = first_out
            .iter()
            .find_map(|a| shown.iter().position(|(s, _, _)| s == a))
            .or_else(|| shown.iter().rposition(|(a, _, _)| *a != Action::Help));
        match out {
            Some(i) => {
                shown.remove(i);
            }
            None => break,
        }
    }
    let mut spans = Vec::new();
    for (_, keys, name) in shown {
        if !spans.is_empty() {
            spans.push(Span::styled(" · ", app.theme.muted));
        }
        spans.push(Span::styled(keys, app.theme.accent));
        spans.push(Span::raw(format!(" {name}")));
    }
    Line::from(spans)
}

fn toasts(frame: &mut Frame, body: Rect, app: &App) {
    for (i, toast) in app.toasts.iter().rev().enumerate() {
        let text = format!(
            " {} {} ",
            match toast.kind {
                ToastKind::Success => "✔",
                ToastKind::Error => "✖",
                ToastKind::Info => "ℹ",
            },
            safe(&toast.text)
        );
        let width = (text.chars().count() as u16).min(body.width.saturating_sub(2));
        // Bottom right, newest lowest: the top of the screen holds what needs the operator,
        // which a toast about it must not cover.
        let Some(y) = body.bottom().checked_sub(2 + i as u16) else {
            break;
        };
        if y <= body.y {
            break;
        }
        let area = Rect {
            x: body.right().saturating_sub(width + 1),
            y,
            width,
            height: 1,
        };
        let style = app
            .theme
            .base
            .patch(match toast.kind {
                ToastKind::Success => app.theme.ok,
                ToastKind::Error => app.theme.danger,
                ToastKind::Info => app.theme.accent,
            })
            .add_modifier(ratatui::style::Modifier::REVERSED);
        frame.render_widget(Clear, area);
        frame.render_widget(Paragraph::new(Span::styled(text, style)), area);
    }
}

/// A centred rectangle of at most `width`×`height` inside `area`.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}
