use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::tui::app::{App, Pane};
use crate::tui::rows;
use crate::tui::widgets::{col, ellipsize, field, opt, safe, section, table};

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let state = app.pane_state(Pane::Audit);
    let [status, list] = Layout::vertical([Constraint::Length(2), Constraint::Min(3)]).areas(area);
    let t = &app.theme;
    let typing = matches!(app.mode, crate::tui::app::Mode::Filter { .. });
    let first = if typing {
        Line::from(vec![
            Span::styled("search /", t.accent),
            Span::raw(safe(&state.filter)),
            Span::styled("█", t.muted),
            Span::styled(
                "   enter: search · esc: cancel · ↑/↓: history · ctrl+u: clear",
                t.muted,
            ),
        ])
    } else {
        match &app.audit.query {
            Some(q) => Line::from(vec![
                Span::styled("search ", t.accent),
                Span::raw(safe(q)),
                Span::styled(
                    format!(
                        " · {} shown of {} matching{} · end/G back to the live tail",
                        app.audit.results.len(),
                        match app.audit.total {
                            Some((n, true)) => format!("{n}+"),
                            Some((n, false)) => n.to_string(),
                            None => "…".into(),
                        },
                        if app.audit.searching {
                            " (loading…)"
                        } else {
                            ""
                        }
                    ),
                    t.muted,
                ),
            ]),
            None if app.audit.follow => Line::from(Span::styled(
                "● following the live tail · / to search (domain: type: agent: class: task: since: until: \"phrase\" word -word)",
                t.ok,
            )),
            None => Line::from(Span::styled(
                "‖ paused: scrolled away from the tail · end/G follows again",
                t.warn,
            )),
        }
    };
    let second = match &app.audit.error {
        Some(err) => Line::from(Span::styled(format!("✖ {}", safe(err)), t.danger)),
        None => Line::from(""),
    };
    let width = status.width as usize;
    frame.render_widget(
        Paragraph::new(vec![ellipsize(first, width), ellipsize(second, width)]),
        status,
    );
    if let Some(seq) = &state.detail {
        return detail(frame, list, app, seq);
    }
    let records = rows::audit(app);
    let rows: Vec<Vec<Line<'static>>> = records
        .iter()
        .map(|r| {
            vec![
                Line::from(r.seq.to_string()),
                Line::from(r.timestamp.format("%m-%d %H:%M:%S").to_string()),
                Line::from(safe(&r.agent_id)),
                Line::from(Span::styled(r.action_type.as_str(), t.accent)),
                Line::from(safe(&r.domain)),
                Line::from(r.classification.as_str()),
                Line::from(safe(&r.summary)),
            ]
        })
        .collect();
    table(
        frame,
        list,
        app,
        match &app.audit.query {
            Some(_) => format!("Audit trail · {} shown", records.len()),
            // Seqs are gapless from 1: the newest one counts the whole trail.
            None => format!(
                "Audit trail · newest {} of {}",
                records.len(),
                app.data.audit_tail.iter().map(|r| r.seq).max().unwrap_or(0)
            ),
        },
        &[
            col("SEQ", Constraint::Length(7)),
            col("TIME", Constraint::Length(15)),
            opt(1, "ACTOR", Constraint::Length(24)),
            opt(2, "TYPE", Constraint::Length(11)),
            opt(3, "DOMAIN", Constraint::Length(11)),
            opt(4, "CLASS", Constraint::Length(10)),
            col("SUMMARY", Constraint::Min(20)),
        ],
        rows,
        state.selected,
    );
}

/// A record as a readable tree of its fields and its details.
fn detail(frame: &mut Frame, area: Rect, app: &App, seq: &str) {
    let block = section(app, &format!("Audit record {}", safe(seq)), true);
    let record = rows::audit(app)
        .into_iter()
        .find(|r| r.seq.to_string() == seq)
        .map(|r| app.audit.revealed.get(&r.seq).unwrap_or(r))
        .cloned();
    let Some(r) = record else {
        frame.render_widget(Paragraph::new("no longer in view").block(block), area);
        return;
    };
    let t = &app.theme;
    let field = |k: &str, v: String| field(app, k, v);
    let branch = |k: &str, v: String| {
        Line::from(vec![
            Span::styled(format!("  ├ {k:<12}"), t.muted),
            Span::raw(v),
        ])
    };
    let hidden = r.redacted;
    let mut lines = vec![
        Line::from(Span::styled(safe(&r.summary), t.header)),
        field("id", r.id.clone()),
        field(
            "timestamp",
            crate::model::audit::millis::format(&r.timestamp),
        ),
        field("agent_id", safe(&r.agent_id)),
        field("action_type", r.action_type.as_str().into()),
        field("domain", safe(&r.domain)),
        field("classification", r.classification.as_str().into()),
        field("retention", r.retention.as_str().into()),
    ];
    let reveal = app.keymap.label(crate::tui::action::Action::Reveal);
    let open = app.keymap.label(crate::tui::action::Action::Open);
    if hidden {
        let text = match crate::authority::may_reveal(&app.role, &r.domain) {
            Ok(()) => format!(
                "🔒 sensitive: details and related tasks stay hidden until you reveal them ({reveal}); the reveal is audited"
            ),
            Err(why) => format!(
                "🔒 sensitive: details and related tasks are withheld ({})",
                safe(&why.to_string())
            ),
        };
        lines.push(Line::from(Span::styled(text, t.warn)));
    } else {
        lines.push(field("related_tasks", safe(&r.related_tasks.join(", "))));
        if let Some((pane, id)) = crate::tui::update::related_item(app, &r) {
            let key = app.keymap.label(crate::tui::action::Action::Related);
            lines.push(field(
                "related",
                format!("{} in {} ({key} opens it)", safe(&id), pane.name()),
            ));
        }
        if app.audit.unfolded {
            lines.push(Line::from(Span::styled(
                format!("▾ details ({open} folds)"),
                t.accent,
            )));
            lines.extend([
                branch("context", safe(&r.details.context)),
                branch("options", safe(&r.details.options_considered.join(" | "))),
                branch("decision", safe(&r.details.decision)),
                branch("reasoning", safe(&r.details.reasoning)),
                branch("outcome", safe(&r.details.outcome)),
            ]);
        } else {
            lines.push(Line::from(Span::styled(
                format!("▸ details {{5 fields}} ({open} unfolds)"),
                t.accent,
            )));
        }
    }
    lines.extend([
        field("seq", r.seq.to_string()),
        field("prev_hash", r.prev_hash.clone()),
        field("hash", r.hash.clone()),
    ]);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}
