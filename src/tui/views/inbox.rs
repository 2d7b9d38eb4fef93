//! "Needs me": one list of what calls for this operator, new trouble marked until seen.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::agents::filter_note;
use crate::tui::app::{App, Pane};
use crate::tui::attention::{Need, NeedKind};
use crate::tui::rows;
use crate::tui::widgets::{col, opt, safe, table};

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let state = app.pane_state(Pane::Inbox);
    let list = rows::inbox(app);
    let fresh = list.iter().filter(|n| app.attention.is_new(&n.key)).count();
    let rows: Vec<Vec<Line<'static>>> = list
        .iter()
        .map(|n| {
            vec![
                mark(app, n),
                Line::from(Span::styled(n.kind.label(), kind_style(app, n.kind))),
                Line::from(safe(&n.id)),
                Line::from(safe(&n.what)),
                Line::from(Span::styled(n.urgency.clone(), urgency_style(app, n))),
                Line::from(safe(&n.domain)),
            ]
        })
        .collect();
    let title = match list.len() {
        0 => format!("Needs me · nothing{}", filter_note(&state.filter)),
        n => format!(
            "Needs me · {n} · {fresh} new · enter opens{}",
            filter_note(&state.filter)
        ),
    };
    table(
        frame,
        area,
        app,
        title,
        &[
            col("", Constraint::Length(3)),
            col("KIND", Constraint::Length(8)),
            col("ID", Constraint::Length(14)),
            col("WHAT", Constraint::Min(20)),
            col("URGENCY", Constraint::Length(30)),
            opt(1, "DOMAIN", Constraint::Length(11)),
        ],
        rows,
        state.selected,
    );
}

/// `new` until the operator has seen the row listed or opened the item.
pub fn mark(app: &App, need: &Need) -> Line<'static> {
    if app.attention.is_new(&need.key) {
        Line::from(Span::styled("new", app.theme.accent))
    } else {
        Line::from("")
    }
}

pub fn kind_style(app: &App, kind: NeedKind) -> Style {
    match kind {
        NeedKind::Incident(s) => app.theme.severity(s),
        NeedKind::Agents => app.theme.danger,
        NeedKind::Rollout => app.theme.warn,
        NeedKind::Approval => app.theme.accent,
    }
}

fn urgency_style(app: &App, need: &Need) -> Style {
    if need.urgency.contains("missed") || need.urgency.ends_with("now") {
        app.theme.danger
    } else {
        app.theme.muted
    }
}
