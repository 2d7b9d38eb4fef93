use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::agents::filter_note;
use super::card;
use super::overview::{countdown, countdown_style};
use crate::format::span;
use crate::model::IncidentSource;
use crate::protocol::IncidentAction;
use crate::tui::action::Action;
use crate::tui::app::{App, Pane};
use crate::tui::rows;
use crate::tui::update::incident_denial;
use crate::tui::widgets::{action_lines, col, field, opt, safe, section, table};

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let state = app.pane_state(Pane::Incidents);
    if let Some(id) = &state.detail {
        return detail(frame, area, app, id);
    }
    let t = &app.theme;
    let incidents = rows::incidents(app);
    let rows: Vec<Vec<Line<'static>>> = incidents
        .iter()
        .map(|i| {
            let target = if i.is_open() {
                Line::from(Span::styled(countdown(app, i), countdown_style(app, i)))
            } else {
                Line::from(Span::styled("resolved", t.muted))
            };
            vec![
                Line::from(safe(&i.id)),
                Line::from(Span::styled(i.severity.as_str(), t.severity(i.severity))),
                Line::from(i.state.as_str()),
                Line::from(safe(&i.domain)),
                target,
                Line::from(span(app.now - i.opened_at)),
                // Arrived under another incident of its domain: said before the title.
                match &i.parent {
                    Some(p) => Line::from(vec![
                        Span::styled(format!("↳ {} ", safe(p)), t.muted),
                        Span::raw(safe(&i.title)),
                    ]),
                    None => Line::from(safe(&i.title)),
                },
            ]
        })
        .collect();
    let sort = rows::sort_columns(Pane::Incidents)[state.sort];
    let open = incidents.iter().filter(|i| i.is_open()).count();
    table(
        frame,
        area,
        app,
        format!(
            "Incidents · {open} open · sorted by {sort}{}",
            filter_note(&state.filter)
        ),
        &[
            col("ID", Constraint::Length(8)),
            col("SEV", Constraint::Length(5)),
            col("STATE", Constraint::Length(13)),
            opt(2, "DOMAIN", Constraint::Length(11)),
            col("TARGET", Constraint::Length(15)),
            opt(1, "AGE", Constraint::Length(7)),
            col("TITLE", Constraint::Min(20)),
        ],
        rows,
        state.selected,
    );
}

fn detail(frame: &mut Frame, area: Rect, app: &App, id: &str) {
    let block = section(app, &format!("Incident {}", safe(id)), true);
    let Some(i) = app.data.incidents.get(id) else {
        frame.render_widget(Paragraph::new("gone").block(block), area);
        return;
    };
    let t = &app.theme;
    let width = area.width.saturating_sub(2) as usize;
    let mut lines = vec![Line::from(vec![
        Span::styled(format!("{} ", i.severity.as_str()), t.severity(i.severity)),
        Span::styled(safe(&i.title), t.header),
    ])];
    // What is true now comes first: the rule's reading, the clock, what may be done.
    lines.extend(card::reading(app, i, width));
    lines.push(card::clock(app, i));
    lines.extend(action_lines(
        app,
        [
            (Action::Ack, IncidentAction::Ack),
            (Action::Mitigate, IncidentAction::Mitigate),
            (Action::Resolve, IncidentAction::Resolve),
            (Action::Escalate, IncidentAction::Escalate),
            (Action::Note, IncidentAction::Note),
        ]
        .map(|(key, verb)| (key, incident_denial(app, i, verb))),
    ));
    lines.extend(card::family(app, i));
    lines.extend(card::agents(app, i));
    lines.extend(card::tasks(app, i));
    lines.extend(card::rollouts(app, i));
    let source = match &i.source {
        IncidentSource::AlertRule { rule } => format!("alert rule {}", safe(rule)),
        IncidentSource::Agent { agent_id } => format!("agent {}", safe(agent_id)),
        IncidentSource::Operator { name } => format!("operator {}", safe(name)),
    };
    lines.push(Line::from(""));
    lines.push(field(app, "domain", safe(&i.domain)));
    lines.push(field(app, "source", source));
    lines.push(field(app, "version", i.version.to_string()));
    lines.push(Line::from(Span::styled("Timeline, newest first", t.title)));
    for entry in i.timeline.iter().rev() {
        lines.push(Line::from(vec![
            Span::styled(entry.at.format("%m-%d %H:%M ").to_string(), t.muted),
            Span::styled(format!("{:<13}", safe(&entry.kind)), t.accent),
            Span::raw(format!("{} ", safe(&entry.by))),
            Span::raw(safe(&entry.text)),
        ]));
    }
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}
