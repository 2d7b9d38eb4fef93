//! Small shared pieces of the views: bars, sparklines, safe text, table scaffolding.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
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

/// One column of a pane's table. A column with a rank is left out when the terminal is too
/// narrow for all of them, the highest rank first; rank 0 columns (the id, the summary, the
/// state and the most urgent number) always stay.
pub struct Column {
    pub title: &'static str,
    pub width: Constraint,
    pub rank: u8,
    /// The newest is at the right (a history): a cut keeps the end.
    pub newest_right: bool,
}

impl Column {
    pub const fn newest_right(mut self) -> Column {
        self.newest_right = true;
        self
    }
}

/// A column that always stays.
pub const fn col(title: &'static str, width: Constraint) -> Column {
    Column {
        title,
        width,
        rank: 0,
        newest_right: false,
    }
}

/// A column that goes when room is short: rank 1 goes last, then the higher ranks before it.
pub const fn opt(rank: u8, title: &'static str, width: Constraint) -> Column {
    Column {
        title,
        width,
        rank,
        newest_right: false,
    }
}

/// The columns that fit in `width` cells, by the declared ranks.
pub fn fit_columns(columns: &[Column], width: u16) -> Vec<bool> {
    let least = |c: &Column| match c.width {
        Constraint::Length(n) | Constraint::Min(n) | Constraint::Max(n) => n,
        _ => 1,
    };
    let mut keep = vec![true; columns.len()];
    loop {
        let kept: Vec<&Column> = columns
            .iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(c, _)| c)
            .collect();
        let need: u16 =
            kept.iter().map(|c| least(c)).sum::<u16>() + kept.len().saturating_sub(1) as u16;
        if need <= width {
            return keep;
        }
        // The highest rank goes first; among equals, the rightmost.
        let Some(out) = (0..columns.len())
            .filter(|&i| keep[i] && columns[i].rank > 0)
            .max_by_key(|&i| (columns[i].rank, i))
        else {
            return keep;
        };
        keep[out] = false;
    }
}

/// `line`, cut to `width` cells with "…" when it is longer: a cut summary says so.
pub fn ellipsize(line: Line<'static>, width: usize) -> Line<'static> {
    if line.width() <= width {
        return line;
    }
    let room = width.saturating_sub(1);
    let mut used = 0;
    let mut spans = Vec::new();
    let mut last_style = ratatui::style::Style::default();
    'spans: for span in line.spans {
        last_style = span.style;
        let mut kept = String::new();
        for c in span.content.chars() {
            let mut buf = [0u8; 4];
            let w = Span::raw(&*c.encode_utf8(&mut buf)).width();
            if used + w > room {
                spans.push(Span::styled(kept, span.style));
                break 'spans;
            }
            used += w;
            kept.push(c);
        }
        spans.push(Span::styled(kept, span.style));
    }
    if width > 0 {
        spans.push(Span::styled("…", last_style));
    }
    Line::from(spans).style(line.style)
}

/// The last `width` cells of a one-span history line: the newest values stay.
fn newest(line: Line<'static>, width: usize) -> Line<'static> {
    let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
    let count = text.chars().count();
    if count <= width {
        return line;
    }
    let style = line.spans.first().map(|s| s.style).unwrap_or_default();
    Line::from(Span::styled(
        text.chars().skip(count - width).collect::<String>(),
        style,
    ))
}

/// A selectable table with a header, the selection highlighted; each row has one line per
/// column. Columns drop by rank to fit, and text too long for its column ends in "…".
pub fn table(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    title: String,
    columns: &[Column],
    rows: Vec<Vec<Line<'static>>>,
    selected: usize,
) {
    let count = rows.len();
    // Inside the borders, after the selection mark the table keeps room for.
    let marker = if count > 0 { 2 } else { 0 };
    let room = area.width.saturating_sub(2 + marker);
    let keep = fit_columns(columns, room);
    let widths: Vec<Constraint> = columns
        .iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|(c, _)| c.width)
        .collect();
    // The widths the table will give each column: the same layout it makes.
    let cells: Vec<u16> = Layout::horizontal(widths.clone())
        .flex(Flex::Start)
        .spacing(1)
        .split(Rect::new(0, 0, room, 1))
        .iter()
        .map(|r| r.width)
        .collect();
    let kept: Vec<&Column> = columns
        .iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|(c, _)| c)
        .collect();
    let pick = |cells_in: Vec<Line<'static>>| -> Vec<Cell<'static>> {
        cells_in
            .into_iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .zip(kept.iter().zip(&cells))
            .map(|((line, _), (column, w))| {
                Cell::from(if column.newest_right {
                    newest(line, *w as usize)
                } else {
                    ellipsize(line, *w as usize)
                })
            })
            .collect()
    };
    let header = Row::new(
        kept.iter()
            .zip(&cells)
            .map(|(c, w)| Cell::from(ellipsize(Line::from(c.title), *w as usize))),
    )
    .style(app.theme.header);
    let rows: Vec<Row> = rows
        .into_iter()
        .map(|cells| Row::new(pick(cells)))
        .collect();
    let title = crate::format::truncate(&title, area.width.saturating_sub(4) as usize);
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
