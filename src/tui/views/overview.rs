//! The first screen: everything that needs an on-call engineer's eyes, at a glance.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::format::{coarse, span};
use crate::model::{Incident, Severity};
use crate::tui::app::{App, Pane};
use crate::tui::attention::Need;
use crate::tui::rows;
use crate::tui::widgets::{bar, ellipsize, safe, safe_cut, section, sparkline};

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    // What needs the operator comes first: a row at 24 lines, up to three on a tall screen.
    let needs = rows::inbox(app);
    let shown = needs.len().clamp(1, if area.height >= 34 { 3 } else { 1 });
    let [strip, area] =
        Layout::vertical([Constraint::Length(shown as u16 + 2), Constraint::Min(0)]).areas(area);
    render_inbox(frame, strip, app, &needs);
    let tall = area.height >= 29;
    let [top, middle, bottom] = Layout::vertical(if tall {
        [
            Constraint::Length(9),
            Constraint::Length(11),
            Constraint::Min(5),
        ]
    } else {
        [
            Constraint::Length(7),
            Constraint::Length(7),
            Constraint::Min(5),
        ]
    })
    .areas(area);
    let halves = |r: Rect| -> [Rect; 2] {
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(r)
    };
    let [agents, queues] = halves(top);
    let [incidents, approvals] = halves(middle);
    let [rollouts, audit] = halves(bottom);
    render_agents(frame, agents, app);
    render_queues(frame, queues, app);
    render_incidents(frame, incidents, app);
    render_approvals(frame, approvals, app);
    render_rollouts(frame, rollouts, app);
    render_audit(frame, audit, app);
}

fn render_inbox(frame: &mut Frame, area: Rect, app: &App, needs: &[Need]) {
    let t = &app.theme;
    let fresh = needs
        .iter()
        .filter(|n| app.attention.is_new(&n.key))
        .count();
    let title = match needs.len() {
        0 => "Needs me".to_string(),
        n => format!("Needs me · {n} · {fresh} new · i lists them"),
    };
    let inner = block_for(frame, area, app, Pane::Inbox, title);
    let width = inner.width as usize;
    let mut lines: Vec<Line> = needs
        .iter()
        .take(inner.height as usize)
        .map(|n| {
            let mark = if app.attention.is_new(&n.key) {
                "new "
            } else {
                "    "
            };
            let urgency = format!("  {}", n.urgency);
            let head = format!("{:<8} {:<9} ", n.kind.label(), safe_cut(&n.id, 9));
            let room = width.saturating_sub(4 + head.chars().count() + urgency.chars().count());
            Line::from(vec![
                Span::styled(mark, t.accent),
                Span::styled(head, super::inbox::kind_style(app, n.kind)),
                Span::raw(ellipsize_text(&safe(&n.what), room)),
                Span::styled(urgency, t.muted),
            ])
        })
        .collect();
    if lines.is_empty() {
        lines.push(Line::from(Span::styled("✔ nothing needs you", t.ok)));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// `text` in `room` cells, ending in "…" when cut, padded when short.
fn ellipsize_text(text: &str, room: usize) -> String {
    let cut = ellipsize(Line::from(text.to_string()), room);
    let s: String = cut.spans.iter().map(|s| s.content.as_ref()).collect();
    format!("{s:<room$}")
}

fn block_for(frame: &mut Frame, area: Rect, app: &App, pane: Pane, title: String) -> Rect {
    let title = crate::format::truncate(&title, area.width.saturating_sub(4) as usize);
    let block = section(app, &title, app.section == pane);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    inner
}

fn render_agents(frame: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let inner = block_for(
        frame,
        area,
        app,
        Pane::Agents,
        "Agents by domain · utilization".into(),
    );
    // At 80 columns the word "busy" gives way to the threshold mark.
    let narrow = inner.width < 40;
    let spark_width = (inner.width as usize).saturating_sub(if narrow { 35 } else { 42 });
    let mut lines: Vec<Line> = app
        .data
        .domains
        .values()
        .map(|d| {
            let (style, mark) = level(app, d.utilization, 0.75, 0.9);
            let history: Vec<f64> = d.history.iter().map(|v| *v as f64).collect();
            Line::from(vec![
                Span::raw(format!("{:<11}", safe_cut(&d.name, 11))),
                Span::styled(bar(d.utilization, 10), style),
                Span::raw(format!(" {:>3.0}%", d.utilization * 100.0)),
                Span::styled(format!("{mark:<2}"), style),
                Span::styled(
                    if narrow {
                        format!(" {:>2}/{:<2} ", d.busy, d.agents)
                    } else {
                        format!(" {:>2}/{:<2} busy ", d.busy, d.agents)
                    },
                    t.muted,
                ),
                Span::styled(sparkline(&history, spark_width, Some(100.0)), style),
            ])
        })
        .collect();
    let down = app
        .data
        .agents
        .values()
        .filter(|a| a.status == crate::model::AgentStatus::Down)
        .count();
    let out = app
        .data
        .agents
        .values()
        .filter(|a| !a.in_rotation())
        .count();
    lines.push(Line::from(Span::styled(
        format!(
            "{} agents · {down} down · {out} out of rotation",
            app.data.agents.len()
        ),
        if down > 0 { t.warn } else { t.muted },
    )));
    if app.data.domains.is_empty() {
        lines.insert(
            0,
            Line::from(Span::styled("waiting for the first metrics…", t.muted)),
        );
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn render_queues(frame: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let total: u32 = app.data.queues.values().map(|q| q.depth).sum();
    let inner = block_for(
        frame,
        area,
        app,
        Pane::Queues,
        format!("Queues · {total} waiting"),
    );
    let mut queues: Vec<_> = app.data.queues.values().collect();
    queues.sort_by(|a, b| b.depth.cmp(&a.depth).then(a.name.cmp(&b.name)));
    let max = queues.iter().map(|q| q.depth).max().unwrap_or(1).max(1);
    let narrow = inner.width < 50;
    let (name_w, bar_w) = if narrow { (20, 4) } else { (22, 6) };
    let spark_width = (inner.width as usize).saturating_sub(45);
    let lines: Vec<Line> = queues
        .iter()
        .take(inner.height as usize)
        .map(|q| {
            let (style, mark) = level(app, q.depth as f64, 19.0, 39.0);
            let history: Vec<f64> = q.history.iter().map(|v| *v as f64).collect();
            Line::from(vec![
                Span::raw(format!("{:<name_w$}", safe_cut(&q.name, name_w))),
                Span::styled(bar(q.depth as f64 / max as f64, bar_w), style),
                Span::raw(format!(" {:>4}", q.depth)),
                Span::styled(format!("{mark:<2}"), style),
                Span::styled(
                    format!(
                        "{:>6} ",
                        coarse(chrono::Duration::seconds(q.oldest_age_s as i64))
                    ),
                    t.muted,
                ),
                Span::styled(sparkline(&history, spark_width, None), style),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

/// A reading against its warning and danger thresholds: the colour, and a mark that says the
/// same without colour (`!` above the warning, `!!` above the danger threshold).
fn level(app: &App, value: f64, warn_above: f64, danger_above: f64) -> (Style, &'static str) {
    if value > danger_above {
        (app.theme.danger, "!!")
    } else if value > warn_above {
        (app.theme.warn, "!")
    } else {
        (app.theme.ok, "")
    }
}

/// The style of a countdown against a target: warning at half the time, danger at a quarter.
pub fn countdown_style(app: &App, incident: &Incident) -> Style {
    let left = incident.target_at - app.now;
    let total = incident.severity.target();
    if left <= total / 4 {
        app.theme.danger
    } else if left <= total / 2 {
        app.theme.warn
    } else {
        app.theme.ok
    }
}

pub fn countdown(app: &App, incident: &Incident) -> String {
    let left = incident.target_at - app.now;
    if left < chrono::Duration::zero() {
        format!("breached {}", coarse(-left))
    } else {
        format!("{} left", coarse(left))
    }
}

fn render_incidents(frame: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let open: Vec<_> = rows::incidents(app)
        .into_iter()
        .filter(|i| i.is_open())
        .collect();
    let counts: Vec<String> = Severity::ALL
        .iter()
        .map(|s| {
            format!(
                "{} {}",
                s.as_str(),
                open.iter().filter(|i| i.severity == *s).count()
            )
        })
        .collect();
    let inner = block_for(
        frame,
        area,
        app,
        Pane::Incidents,
        format!("Incidents · {}", counts.join(" · ")),
    );
    let narrow = inner.width < 50;
    let mut lines: Vec<Line> = open
        .iter()
        .take(inner.height as usize)
        .map(|i| {
            let left = if narrow {
                format!("{:<8}", coarse(i.target_at - app.now).replace("<1m", "now"))
            } else {
                format!("{:<13}", countdown(app, i))
            };
            let used = 5 + 8 + left.chars().count() + 6;
            Line::from(vec![
                Span::styled(format!("{} ", i.severity.as_str()), t.severity(i.severity)),
                Span::raw(format!("{:<8}", safe(&i.id))),
                Span::styled(left, countdown_style(app, i)),
                Span::styled(format!("{:<5} ", short_state(i.state.as_str())), t.muted),
                Span::raw(safe_cut(
                    &i.title,
                    (inner.width as usize).saturating_sub(used),
                )),
            ])
        })
        .collect();
    if lines.is_empty() {
        lines.push(Line::from(Span::styled("✔ no open incidents", t.ok)));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn short_state(state: &str) -> &'static str {
    match state {
        "open" => "OPEN",
        "acknowledged" => "ACK",
        "mitigated" => "MITIG",
        _ => "DONE",
    }
}

/// Names the order the section lists in (the approvals pane's), short enough for 80 columns.
fn approvals_title(app: &App, pending: usize, narrow: bool) -> String {
    let by = rows::sort_columns(Pane::Approvals)[app.pane_state(Pane::Approvals).sort];
    if narrow {
        format!(
            "Approvals · {pending} · by {}",
            by.trim_start_matches("time to ")
        )
    } else {
        format!("Approvals awaiting · {pending} pending · by {by}")
    }
}

fn render_approvals(frame: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let pending: Vec<_> = rows::approvals(app)
        .into_iter()
        .filter(|a| a.is_pending())
        .collect();
    let inner = block_for(
        frame,
        area,
        app,
        Pane::Approvals,
        approvals_title(app, pending.len(), area.width < 60),
    );
    let narrow = inner.width < 50;
    let mut lines: Vec<Line> = pending
        .iter()
        .take(inner.height as usize)
        .map(|a| {
            let (deadline, what) = a.next_deadline();
            let left = deadline - app.now;
            let style = if left < chrono::Duration::minutes(10) {
                t.danger
            } else if left < chrono::Duration::hours(1) {
                t.warn
            } else {
                t.muted
            };
            let level = match a.level {
                crate::authority::Level::Agent => "agent",
                crate::authority::Level::Domain => "dom",
                crate::authority::Level::Enterprise => "ent",
                crate::authority::Level::Executive => "exec",
            };
            let mut spans = vec![
                Span::raw(format!("{:<7}", safe(&a.id))),
                Span::styled(format!("{level:<5}"), t.accent),
            ];
            if narrow {
                // The id, the time to escalation and what is asked: the rest is on the card.
                spans.push(Span::styled(format!("{:>6} ", coarse(left)), style));
                spans.push(Span::raw(safe(&a.summary)));
                return ellipsize(Line::from(spans), inner.width as usize);
            } else {
                spans.push(Span::raw(format!(
                    "{:<18}",
                    safe_cut(a.category.as_str(), 17)
                )));
                spans.push(Span::raw(format!("{:<11}", safe_cut(&a.domain, 10))));
                spans.push(Span::styled(
                    format!("{:>6} ", span(app.now - a.created_at)),
                    t.muted,
                ));
                spans.push(Span::styled(
                    format!("{} {}", &what[..3], coarse(left)),
                    style,
                ));
            }
            Line::from(spans)
        })
        .collect();
    if lines.is_empty() {
        lines.push(Line::from(Span::styled(
            "✔ nothing awaits a decision",
            t.ok,
        )));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn render_rollouts(frame: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let inner = block_for(frame, area, app, Pane::Rollouts, "Rollouts".into());
    let mut lines = Vec::new();
    for r in rows::rollouts(app).into_iter().take(inner.height as usize) {
        let state_style = match r.state {
            crate::model::RolloutState::Progressing => t.ok,
            crate::model::RolloutState::Completed => t.muted,
            crate::model::RolloutState::Paused => t.warn,
            _ => t.danger,
        };
        let phases: String = r
            .phases
            .iter()
            .map(|p| match p.state {
                crate::model::PhaseState::Done => '■',
                crate::model::PhaseState::Active => '▶',
                crate::model::PhaseState::Pending => '□',
            })
            .collect();
        // The state before the name: on a narrow screen the name is what gets cut.
        lines.push(ellipsize(
            Line::from(vec![
                Span::raw(format!("{:<6}", safe(&r.id))),
                Span::styled(format!("{phases} "), t.accent),
                Span::raw(format!("{:>3}% ", r.percent())),
                Span::styled(format!("{:<12}", r.state.as_str()), state_style),
                Span::raw(safe(&r.name)),
            ]),
            inner.width as usize,
        ));
    }
    if lines.is_empty() {
        lines.push(Line::from(Span::styled("no rollouts", t.muted)));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn render_audit(frame: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let inner = block_for(frame, area, app, Pane::Audit, "Audit tail".into());
    let width = inner.width as usize;
    let lines: Vec<Line> = app
        .data
        .audit_tail
        .iter()
        .rev()
        .take(inner.height as usize)
        .map(|r| {
            Line::from(vec![
                Span::styled(r.timestamp.format("%H:%M:%S ").to_string(), t.muted),
                Span::styled(
                    format!(
                        "{:<10} ",
                        crate::format::truncate(r.action_type.as_str(), 10)
                    ),
                    t.accent,
                ),
                Span::raw(safe_cut(
                    &format!("{} {}", r.agent_id, r.summary),
                    width.saturating_sub(20),
                )),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}
