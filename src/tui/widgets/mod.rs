//! Small shared pieces of the views: bars, sparklines, safe text, table scaffolding.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Row, Table, TableState};

use super::app::App;
use crate::text::SafeText;

/// Untrusted text made safe for the screen.
pub fn safe(s: &str) -> String {
    SafeText::new(s).into_string()
}

/// Untrusted text, safe and cut to `max` characters.
pub fn safe_cut(s: &str, max: usize) -> String {
    crate::format::truncate(&safe(s), max)
}

/// `███████░░░` for a fraction 0–1.
pub fn bar(fraction: f64, width: usize) -> String {
    let filled = ((fraction.clamp(0.0, 1.0) * width as f64).round() as usize).min(width);
    format!("{}{}", "█".repeat(filled), "░".repeat(width - filled))
}

/// `▁▂▃▅▇` of the last `width` values, scaled to `max` (or to their own maximum).
pub fn sparkline(values: &[f64], width: usize, max: Option<f64>) -> String {
    const TICKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let tail = &values[values.len().saturating_sub(width)..];
    let top = max
        .unwrap_or_else(|| tail.iter().cloned().fold(0.0, f64::max))
        .max(1e-9);
    tail.iter()
        .map(|v| TICKS[((v / top).clamp(0.0, 1.0) * 7.0).round() as usize])
        .collect()
}

pub fn section<'a>(app: &App, title: &str, focused: bool) -> Block<'a> {
    let style = if focused {
        app.theme.accent
    } else {
        app.theme.border
    };
    // The base style again: a dialog drawn over a cleared area gets the theme's background.
    Block::default()
        .style(app.theme.base)
        .borders(Borders::ALL)
        .border_style(style)
        .title(Span::styled(format!(" {title} "), app.theme.title))
}

/// Panes narrower than this drop their `wide` columns.
pub const WIDE: u16 = 110;

/// One column of a pane's table; `wide` columns are left out on narrow terminals.
pub struct Column {
    pub title: &'static str,
    pub width: Constraint,
    pub wide: bool,
}

pub const fn col(title: &'static str, width: Constraint) -> Column {
    Column {
        title,
        width,
        wide: false,
    }
}

pub const fn wide(title: &'static str, width: Constraint) -> Column {
    Column {
        title,
        width,
        wide: true,
    }
}

/// A selectable table with a header, the selection highlighted; each row has one cell per column.
pub fn table(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    title: String,
    columns: &[Column],
    rows: Vec<Vec<Cell<'static>>>,
    selected: usize,
) {
    let keep: Vec<bool> = columns
        .iter()
        .map(|c| !c.wide || area.width >= WIDE)
        .collect();
    let pick = |cells: Vec<Cell<'static>>| -> Vec<Cell<'static>> {
        cells
            .into_iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(c, _)| c)
            .collect()
    };
    let header = Row::new(
        columns
            .iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(c, _)| Cell::from(c.title)),
    )
    .style(app.theme.header);
    let widths: Vec<Constraint> = columns
        .iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|(c, _)| c.width)
        .collect();
    let count = rows.len();
    let rows: Vec<Row> = rows
        .into_iter()
        .map(|cells| Row::new(pick(cells)))
        .collect();
    let table = Table::new(rows, widths)
        .header(header)
        .block(section(app, &title, true))
        .row_highlight_style(app.theme.selection)
        .highlight_symbol("▶ ");
    let mut state = TableState::default();
    if count > 0 {
        state.select(Some(selected.min(count - 1)));
    }
    frame.render_stateful_widget(table, area, &mut state);
}

/// `label           value`: one line of a details view, the label muted.
pub fn field(app: &App, label: &str, value: String) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{label:<16}"), app.theme.muted),
        Span::raw(value),
    ])
}

/// The actions on an item, each with its key: offered, or greyed with the reason it cannot
/// succeed now (the same reason the orchestrator would refuse with), before anyone types.
pub fn action_lines(
    app: &App,
    actions: impl IntoIterator<Item = (super::action::Action, Option<String>)>,
) -> Vec<Line<'static>> {
    let t = &app.theme;
    if !app.may_act() {
        return vec![];
    }
    actions
        .into_iter()
        .map(|(action, denial)| {
            let key = app.keymap.label(action);
            let name = action.name().replace('_', " ");
            match denial {
                None => Line::from(vec![
                    Span::styled(format!("{key:>3} "), t.accent),
                    Span::raw(name),
                ]),
                Some(why) => Line::from(vec![
                    Span::styled(format!("{key:>3} {name} "), t.muted),
                    Span::styled(format!("not offered: {}", safe(&why)), t.muted),
                ]),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_and_sparklines() {
        assert_eq!(bar(0.5, 4), "██░░");
        assert_eq!(bar(2.0, 3), "███");
        assert_eq!(sparkline(&[0.0, 1.0, 2.0], 3, None), "▁▅█");
        assert_eq!(sparkline(&[5.0, 5.0], 1, Some(10.0)), "▅");
        assert_eq!(sparkline(&[], 5, None), "");
    }
}
