use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::format::span;
use crate::model::Severity;
use crate::tui::app::{App, Connection};
use crate::tui::widgets::{WIDE, safe};

/// Which orchestrator, the link's state and data age, what needs attention, who is acting.
pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let narrow = area.width < WIDE;
    let sep = || Span::styled(" │ ", t.muted);
    let mut spans = Vec::new();
    if app.info.context.is_none() || !narrow {
        spans.extend([Span::styled(" opsdeck ", t.title), sep()]);
    }
    // The context is what an engineer must never mistake: it always shows, in its own colour;
    // on a narrow screen it stands in for the orchestrator's name.
    if let Some(context) = &app.info.context {
        spans.push(Span::styled(
            format!(" ⎈ {} ", safe(context)),
            t.context.add_modifier(ratatui::style::Modifier::REVERSED),
        ));
    }
    if app.info.context.is_none() || !narrow {
        if app.info.context.is_some() {
            spans.push(Span::raw(" "));
        }
        spans.push(Span::styled(safe(&app.info.name), t.context));
    }
    spans.push(sep());
    match &app.connection {
        Connection::Live if app.frozen => spans.push(Span::styled(
            if narrow {
                format!("◆ frozen {}", app.now.format("%m-%d %H:%M"))
            } else {
                format!(
                    "◆ simulated, frozen at {}",
                    app.now.format("%Y-%m-%d %H:%M UTC")
                )
            },
            t.warn,
        )),
        Connection::Live if app.info.remote => {
            let age = app.now - app.data_at;
            let stale = app.is_stale();
            spans.push(Span::styled(
                format!(
                    "● {} {} old{}",
                    if narrow { "data" } else { "connected · data" },
                    span(age),
                    if stale { " STALE" } else { "" }
                ),
                if stale { t.danger } else { t.ok },
            ));
        }
        Connection::Live => {
            let age = app.now - app.data_at;
            if age.num_seconds() < 15 {
                spans.push(Span::styled("● live", t.ok));
            } else {
                spans.push(Span::styled(format!("● data {} old", span(age)), t.warn));
            }
        }
        Connection::Reconnecting { attempt, next_in_s } => spans.push(Span::styled(
            if narrow {
                format!("◌ retry {attempt} in {next_in_s}s STALE")
            } else {
                format!("◌ reconnecting (attempt {attempt}, next in {next_in_s}s) STALE")
            },
            t.danger,
        )),
        Connection::Offline { since } => spans.push(Span::styled(
            format!("✖ offline since {} STALE", since.format("%H:%M:%S")),
            t.danger,
        )),
    }
    spans.push(sep());
    for severity in [Severity::Sev1, Severity::Sev2] {
        let n = app
            .data
            .incidents
            .values()
            .filter(|i| i.is_open() && i.severity == severity)
            .count();
        let style = if n > 0 { t.severity(severity) } else { t.muted };
        spans.push(Span::styled(format!("{} {n}", severity.as_str()), style));
        spans.push(Span::raw(" "));
    }
    let pending = app
        .data
        .approvals
        .values()
        .filter(|a| a.is_pending())
        .count();
    spans.push(Span::styled(
        format!("· {pending} pending"),
        if pending > 0 { t.warn } else { t.muted },
    ));
    spans.push(sep());
    let mode = if app.info.read_only { " read-only" } else { "" };
    let note = match &app.info.role_note {
        Some(note) => format!(", {}", safe(note)),
        None => String::new(),
    };
    spans.push(Span::raw(format!(
        "{} ({}{note}){mode}",
        safe(&app.info.operator),
        safe(&app.info.role)
    )));
    if !app.frozen && !narrow {
        spans.push(sep());
        spans.push(Span::styled(
            app.now.format("%H:%M UTC").to_string(),
            t.muted,
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
