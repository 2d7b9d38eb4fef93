use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::agents::filter_note;
use crate::authority::{Level, who_may_decide};
use crate::format::{coarse, span};
use crate::model::Approval;
use crate::tui::action::Action;
use crate::tui::app::{App, Pane};
use crate::tui::rows;
use crate::tui::update::approval_denial;
use crate::tui::widgets::{action_lines, col, field, opt, safe, safe_cut, section, table};

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let state = app.pane_state(Pane::Approvals);
    if let Some(id) = &state.detail {
        return card(frame, area, app, id);
    }
    let t = &app.theme;
    let approvals = rows::approvals(app);
    let rows: Vec<Vec<Line<'static>>> = approvals
        .iter()
        .map(|a| {
            let left = if a.is_pending() {
                let (deadline, what) = a.next_deadline();
                format!("{what} {}", coarse(deadline - app.now))
            } else {
                a.state.as_str().into()
            };
            let state_style = if a.is_pending() { t.warn } else { t.muted };
            vec![
                Line::from(safe(&a.id)),
                Line::from(Span::styled(a.state.as_str(), state_style)),
                Line::from(Span::styled(a.level.as_str(), t.accent)),
                Line::from(a.category.as_str()),
                Line::from(safe(&a.domain)),
                Line::from(format!("{}/{}", a.votes.len(), a.quorum)),
                Line::from(span(app.now - a.created_at)),
                Line::from(left),
                Line::from(safe(&a.summary)),
            ]
        })
        .collect();
    let pending = approvals.iter().filter(|a| a.is_pending()).count();
    let sort = rows::sort_columns(Pane::Approvals)[state.sort];
    table(
        frame,
        area,
        app,
        format!(
            "Approvals · {pending} pending · sorted by {sort}{}",
            filter_note(&state.filter)
        ),
        &[
            col("ID", Constraint::Length(8)),
            col("STATE", Constraint::Length(9)),
            opt(2, "LEVEL", Constraint::Length(11)),
            opt(5, "CATEGORY", Constraint::Length(22)),
            opt(3, "DOMAIN", Constraint::Length(11)),
            opt(1, "QUORUM", Constraint::Length(6)),
            opt(4, "AGE", Constraint::Length(7)),
            col("TO ESCALATION", Constraint::Length(15)),
            col("SUMMARY", Constraint::Min(24)),
        ],
        rows,
        state.selected,
    );
}

/// The decision context card: everything needed to decide, and who may.
fn card(frame: &mut Frame, area: Rect, app: &App, id: &str) {
    let block = section(app, &format!("Decision {}", safe(id)), true);
    let Some(a) = app.data.approvals.get(id) else {
        frame.render_widget(Paragraph::new("gone").block(block), area);
        return;
    };
    let t = &app.theme;
    let mut lines = vec![Line::from(Span::styled(safe(&a.summary), t.header))];
    lines.extend(origin(app, a, input_lines(area)));
    let mut decides = decisive(app, a);
    decides.push(Line::from(""));
    decides.extend(action_lines(
        app,
        [Action::Approve, Action::Reject, Action::Escalate].map(|action| {
            let verb = action.on_approval().expect("the approval actions");
            (action, approval_denial(app, a, verb))
        }),
    ));
    // On a short terminal what decides comes before the background, so the room runs out on
    // the background rather than on who may decide and what can be done.
    if short(area) {
        lines.extend(decides);
        lines.push(Line::from(""));
        lines.extend(background(app, a));
    } else {
        lines.extend(background(app, a));
        lines.push(Line::from(""));
        lines.extend(decides);
    }
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}

/// The card above a decision dialog: what decides the decision first (the authority path, who
/// may decide, the quorum and the time left), then the background, as far as the room goes.
pub fn decision_card(frame: &mut Frame, area: Rect, app: &App, id: &str) {
    let block = section(app, &format!("Deciding {}", safe(id)), false);
    let Some(a) = app.data.approvals.get(id) else {
        frame.render_widget(Paragraph::new("gone").block(block), area);
        return;
    };
    let mut lines = vec![Line::from(Span::styled(safe(&a.summary), app.theme.header))];
    lines.extend(origin(app, a, input_lines(area)));
    lines.extend(decisive(app, a));
    lines.push(field(app, "recommendation", safe(&a.recommendation)));
    lines.extend(background(app, a));
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}

/// Where the approval stands: its level on the authority path, who may decide, the votes, the
/// time left.
fn decisive(app: &App, a: &Approval) -> Vec<Line<'static>> {
    let field = |k: &str, v: String| field(app, k, v);
    let mut lines = vec![
        authority_path(app, a),
        field("who may decide", who_may_decide(a.level, &safe(&a.domain))),
    ];
    let votes: Vec<String> = a
        .votes
        .iter()
        .map(|v| format!("{} ({})", safe(&v.by), safe(&v.reason)))
        .collect();
    lines.push(field(
        "quorum",
        format!(
            "{} of {}{}",
            a.votes.len(),
            a.quorum,
            if votes.is_empty() {
                String::new()
            } else {
                format!(": {}", votes.join("; "))
            }
        ),
    ));
    if let Some(option) = &a.chosen_option {
        lines.push(field("chosen option", safe(option)));
    }
    if let Some(r) = &a.rejection {
        lines.push(field(
            "rejected by",
            format!("{}: {}", safe(&r.by), safe(&r.reason)),
        ));
    }
    if a.is_pending() {
        let (deadline, what) = a.next_deadline();
        lines.push(field(
            "time left",
            format!("{what} in {}", coarse(deadline - app.now)),
        ));
    }
    lines
}

/// Lines of a tool call's input shown on the card (fewer on a short terminal, where the
/// authority path and the actions must still show); the rest is folded.
fn input_lines(area: Rect) -> usize {
    if short(area) { 2 } else { 6 }
}

/// A card area too short for every line at once (a 24-line terminal, say).
fn short(area: Rect) -> bool {
    area.height < 30
}
/// Characters of one input line shown before it is folded.
const INPUT_WIDTH: usize = 160;

/// Where the request came from, when an agent framework said: the tool call the agent wants
/// to make (its input folded when long), its session, the policy rule that escalated it, and
/// where the decision goes. Every piece is the agent's text, made safe.
fn origin(app: &App, a: &Approval, shown: usize) -> Vec<Line<'static>> {
    let Some(o) = &a.origin else {
        return Vec::new();
    };
    let t = &app.theme;
    let mut lines = Vec::new();
    if let Some(call) = &o.tool_call {
        let id = call
            .tool_use_id
            .as_deref()
            .map(|i| format!(" · {}", safe_cut(i, 40)))
            .unwrap_or_default();
        lines.push(Line::from(vec![
            Span::styled(format!("{:<16}", "tool call"), t.muted),
            Span::styled(safe_cut(&call.name, 80), t.accent),
            Span::styled(id, t.muted),
        ]));
        // A shell command reads best as itself; any other input as compact JSON.
        let text = match call.input.get("command").and_then(|c| c.as_str()) {
            Some(command) => format!("$ {command}"),
            None => serde_json::to_string(&call.input).unwrap_or_default(),
        };
        let all: Vec<&str> = text.lines().collect();
        for line in all.iter().take(shown) {
            lines.push(Line::from(vec![
                Span::raw(format!("{:<16}", "")),
                Span::raw(safe_cut(line, INPUT_WIDTH)),
            ]));
        }
        let hidden = all.len().saturating_sub(shown);
        let cut = all
            .iter()
            .take(shown)
            .any(|l| l.chars().count() > INPUT_WIDTH);
        if hidden > 0 || cut {
            lines.push(Line::from(vec![
                Span::raw(format!("{:<16}", "")),
                Span::styled(
                    format!(
                        "… folded{}; the whole input: opsdeck show {} -o json",
                        if hidden > 0 {
                            format!(" ({hidden} more lines)")
                        } else {
                            String::new()
                        },
                        safe(&a.id)
                    ),
                    t.muted,
                ),
            ]));
        }
    }
    if let Some(session) = &o.session {
        lines.push(field(app, "session", safe_cut(session, 120)));
    }
    if let Some(rule) = &o.policy_rule {
        lines.push(field(
            app,
            "escalated by",
            format!("policy rule {}", safe_cut(rule, 120)),
        ));
    }
    if let Some(cb) = &o.callback {
        let status = match (&cb.done_at, &cb.outcome) {
            (Some(_), Some(outcome)) => safe(outcome),
            _ => "sent when decided".into(),
        };
        lines.push(field(
            app,
            "callback",
            format!("{} · {status}", safe_cut(&cb.url, 80)),
        ));
    }
    lines
}

/// What the approval is about: who asked, the context, the options and the recommendation.
fn background(app: &App, a: &Approval) -> Vec<Line<'static>> {
    let t = &app.theme;
    let field = |k: &str, v: String| field(app, k, v);
    let mut lines = vec![
        field(
            "category",
            format!("{} · {}", a.category.as_str(), a.classification.as_str()),
        ),
        field(
            "requested by",
            format!("{} · {}", safe(&a.requested_by), safe(&a.domain)),
        ),
        field(
            "state",
            format!("{} · version {}", a.state.as_str(), a.version),
        ),
        Line::from(""),
        field("context", safe(&a.context)),
    ];
    for (n, option) in a.options_considered.iter().enumerate() {
        let label = if n == 0 { "options" } else { "" };
        let mark = if *option == a.recommendation {
            " ← recommended"
        } else {
            ""
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{label:<16}"), t.muted),
            Span::raw(format!("{}. {}", n + 1, safe(option))),
            Span::styled(mark, t.accent),
        ]));
    }
    lines.push(field("recommendation", safe(&a.recommendation)));
    lines.push(field(
        "related tasks",
        if a.related_tasks.is_empty() {
            "-".into()
        } else {
            safe(&a.related_tasks.join(", "))
        },
    ));
    lines
}

/// agent → domain → enterprise → executive, with the current level marked.
fn authority_path(app: &App, a: &Approval) -> Line<'static> {
    let t = &app.theme;
    let mut spans = vec![Span::styled(format!("{:<16}", "authority path"), t.muted)];
    for (n, level) in Level::ALL.into_iter().enumerate() {
        if n > 0 {
            spans.push(Span::styled(" → ", t.muted));
        }
        if level == a.level {
            spans.push(Span::styled(
                format!("[{}]", level.as_str()),
                t.accent.add_modifier(ratatui::style::Modifier::BOLD),
            ));
        } else if level < a.level {
            spans.push(Span::styled(level.as_str().to_string(), t.muted));
        } else {
            spans.push(Span::raw(level.as_str().to_string()));
        }
    }
    Line::from(spans)
}
