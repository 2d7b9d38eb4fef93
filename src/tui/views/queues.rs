use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::agents::filter_note;
use crate::format::span;
use crate::tui::app::{App, Pane};
use crate::tui::rows;
use crate::tui::widgets::{col, field, opt, safe, section, sparkline, table};

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let state = app.pane_state(Pane::Queues);
    if let Some(name) = &state.detail {
        return detail(frame, area, app, name);
    }
    let queues = rows::queues(app);
    let rows: Vec<Vec<Line<'static>>> = queues
        .iter()
        .map(|q| {
            let history: Vec<f64> = q.history.iter().map(|v| *v as f64).collect();
            vec![
                Line::from(safe(&q.name)),
                Line::from(q.depth.to_string()),
                Line::from(q.blocked.to_string()),
                Line::from(span(chrono::Duration::seconds(q.oldest_age_s as i64))),
                Line::from(format!("{:.1}", q.enqueue_rate)),
                Line::from(format!("{:.1}", q.dequeue_rate)),
                Line::from(format!("{:.0}s", q.wait_p50_s)),
                Line::from(format!("{:.0}s", q.wait_p95_s)),
                Line::from(sparkline(&history, 30, None)),
            ]
        })
        .collect();
    let sort = rows::sort_columns(Pane::Queues)[state.sort];
    table(
        frame,
        area,
        app,
        format!("Queues · sorted by {sort}{}", filter_note(&state.filter)),
        &[
            col("QUEUE", Constraint::Length(22)),
            col("DEPTH", Constraint::Length(6)),
            opt(3, "BLOCKED", Constraint::Length(8)),
            opt(2, "OLDEST", Constraint::Length(7)),
            opt(5, "IN/MIN", Constraint::Length(7)),
            opt(4, "OUT/MIN", Constraint::Length(8)),
            opt(6, "WAIT P50", Constraint::Length(9)),
            col("WAIT P95", Constraint::Length(9)),
            opt(1, "DEPTH HISTORY", Constraint::Min(10)).newest_right(),
        ],
        rows,
        state.selected,
    );
}

fn detail(frame: &mut Frame, area: Rect, app: &App, name: &str) {
    let block = section(app, &format!("Queue {}", safe(name)), true);
    let Some(q) = app.data.queues.get(name) else {
        frame.render_widget(Paragraph::new("gone").block(block), area);
        return;
    };
    let field = |k: &str, v: String| field(app, k, v);
    let history: Vec<f64> = q.history.iter().map(|v| *v as f64).collect();
    let width = area.width.saturating_sub(20) as usize;
    let lines = vec![
        field(
            "depth",
            format!("{} waiting, {} blocked on dependencies", q.depth, q.blocked),
        ),
        field(
            "oldest",
            span(chrono::Duration::seconds(q.oldest_age_s as i64)),
        ),
        field(
            "rates",
            format!(
                "{:.1}/min in, {:.1}/min out",
                q.enqueue_rate, q.dequeue_rate
            ),
        ),
        field(
            "wait",
            format!("p50 {:.0}s, p95 {:.0}s", q.wait_p50_s, q.wait_p95_s),
        ),
        field(
            "totals",
            format!("{} in, {} out", q.enqueued_total, q.dequeued_total),
        ),
        field("history", sparkline(&history, width, None)),
    ];
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
