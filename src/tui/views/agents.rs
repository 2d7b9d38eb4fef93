use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::format::{left, span};
use crate::model::{AgentStatus, Circuit};
use crate::tui::action::Action;
use crate::tui::app::{App, Pane};
use crate::tui::rows;
use crate::tui::update::agent_denial;
use crate::tui::widgets::{action_lines, bar, col, field, opt, safe, section, table};

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let state = app.pane_state(Pane::Agents);
    if let Some(id) = &state.detail {
        return detail(frame, area, app, id);
    }
    let t = &app.theme;
    let agents = rows::agents(app);
    let rows: Vec<Vec<Line<'static>>> = agents
        .iter()
        .map(|a| {
            let status_style = match a.status {
                AgentStatus::Busy => t.ok,
                AgentStatus::Idle => t.muted,
                AgentStatus::Paused => t.warn,
                AgentStatus::Down => t.danger,
            };
            let circuit = match a.circuit {
                Circuit::Closed => String::new(),
                Circuit::HalfOpen => " (trial)".into(),
                Circuit::Open { .. } => " (out)".into(),
            };
            vec![
                Line::from(safe(&a.id)),
                Line::from(safe(&a.name)),
                Line::from(safe(&a.domain)),
                Line::from(safe(&a.team)),
                Line::from(Span::styled(
                    format!("{}{circuit}", a.status.as_str()),
                    status_style,
                )),
                Line::from(format!(
                    "{} {:>3.0}%",
                    bar(a.utilization, 8),
                    a.utilization * 100.0
                )),
                Line::from(safe(a.current_task.as_deref().unwrap_or("-"))),
                Line::from(span(app.now - a.last_heartbeat)),
            ]
        })
        .collect();
    let sort = rows::sort_columns(Pane::Agents)[state.sort];
    let title = format!(
        "Agents · {} · sorted by {sort}{}",
        agents.len(),
        filter_note(&state.filter)
    );
    table(
        frame,
        area,
        app,
        title,
        &[
            col("ID", Constraint::Length(9)),
            opt(3, "NAME", Constraint::Length(8)),
            opt(2, "DOMAIN", Constraint::Length(11)),
            opt(5, "TEAM", Constraint::Length(11)),
            col("STATUS", Constraint::Length(13)),
            col("UTILIZATION", Constraint::Length(14)),
            opt(4, "TASK", Constraint::Length(8)),
            col("HEARTBEAT", Constraint::Min(9)),
        ],
        rows,
        state.selected,
    );
}

pub fn filter_note(filter: &str) -> String {
    if filter.is_empty() {
        String::new()
    } else {
        format!(" · filter /{}", safe(filter))
    }
}

fn detail(frame: &mut Frame, area: Rect, app: &App, id: &str) {
    let block = section(app, &format!("Agent {}", safe(id)), true);
    let Some(a) = app.data.agents.get(id) else {
        frame.render_widget(Paragraph::new("gone").block(block), area);
        return;
    };
    let field = |k: &str, v: String| field(app, k, v);
    let mut lines = vec![
        field("name", safe(&a.name)),
        field(
            "domain / team",
            format!("{} / {}", safe(&a.domain), safe(&a.team)),
        ),
        field("status", a.status.as_str().to_string()),
        field("skills", safe(&a.skills.join(", "))),
        field("utilization", format!("{:.0}%", a.utilization * 100.0)),
        field(
            "current task",
            safe(a.current_task.as_deref().unwrap_or("-")),
        ),
        field("tasks done", a.tasks_done.to_string()),
        field(
            "errors",
            format!("{} ({} in a row)", a.errors, a.consecutive_failures),
        ),
        field("version", safe(&a.version)),
        field("rollout cohort", safe(a.rollout.as_deref().unwrap_or("-"))),
        field(
            "last heartbeat",
            format!("{} ago", span(app.now - a.last_heartbeat)),
        ),
        field(
            "circuit",
            match &a.circuit {
                Circuit::Closed => "closed".into(),
                Circuit::HalfOpen => "half-open: one trial task".into(),
                Circuit::Open { until, .. } => {
                    format!("open: out of rotation, back {}", left(*until - app.now))
                }
            },
        ),
    ];
    if let Some(reason) = &a.paused_reason {
        lines.push(field("paused because", safe(reason)));
    }
    lines.push(Line::from(""));
    lines.extend(action_lines(
        app,
        [Action::Pause, Action::Resume].map(|action| {
            let verb = action.on_agent().expect("the agent actions");
            (action, agent_denial(app, a, verb))
        }),
    ));
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}
