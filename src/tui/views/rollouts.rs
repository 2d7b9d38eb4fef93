use chrono::Duration;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::agents::filter_note;
use crate::format::coarse;
use crate::model::{PhaseState, Rollout, RolloutState};
use crate::tui::action::Action;
use crate::tui::app::{App, Pane};
use crate::tui::rows;
use crate::tui::update::rollout_denial;
use crate::tui::widgets::{action_lines, bar, col, opt, safe, section, table};

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let state = app.pane_state(Pane::Rollouts);
    let rollouts = rows::rollouts(app);
    let selected = state
        .detail
        .as_ref()
        .and_then(|id| app.data.rollouts.get(id))
        .or_else(|| {
            rollouts
                .get(state.selected.min(rollouts.len().saturating_sub(1)))
                .copied()
        });
    let [list, tree] = Layout::vertical([
        Constraint::Length((rollouts.len() as u16 + 3).min(area.height / 2)),
        Constraint::Min(8),
    ])
    .areas(area);
    let t = &app.theme;
    let rows: Vec<Vec<Line<'static>>> = rollouts
        .iter()
        .map(|r| {
            let style = state_style(app, r.state);
            vec![
                Line::from(safe(&r.id)),
                Line::from(safe(&r.name)),
                Line::from(safe(&r.domain)),
                Line::from(Span::styled(r.state.as_str(), style)),
                Line::from(safe(&r.current_phase)),
                Line::from(format!("{}%", r.percent())),
                Line::from(format!(
                    "{:.1}% vs {:.1}%",
                    r.health.error_rate * 100.0,
                    r.health.baseline_error_rate * 100.0
                )),
            ]
        })
        .collect();
    table(
        frame,
        list,
        app,
        format!("Rollouts{}", filter_note(&state.filter)),
        &[
            col("ID", Constraint::Length(6)),
            col("NAME", Constraint::Length(24)),
            opt(3, "DOMAIN", Constraint::Length(11)),
            col("STATE", Constraint::Length(13)),
            opt(2, "PHASE", Constraint::Length(15)),
            opt(1, "TRAFFIC", Constraint::Length(8)),
            col("ERRORS (CANARY VS BASE)", Constraint::Min(16)),
        ],
        rows,
        state.selected,
    );
    let block = section(app, "Phases", false);
    let Some(r) = selected else {
        frame.render_widget(
            Paragraph::new(Span::styled("no rollouts", t.muted)).block(block),
            tree,
        );
        return;
    };
    frame.render_widget(
        Paragraph::new(phase_tree(app, r))
            .block(block)
            .wrap(Wrap { trim: false }),
        tree,
    );
}

fn state_style(app: &App, state: RolloutState) -> ratatui::style::Style {
    let t = &app.theme;
    match state {
        RolloutState::Progressing => t.ok,
        RolloutState::Completed => t.muted,
        RolloutState::Paused => t.warn,
        RolloutState::Aborted | RolloutState::RollingBack => t.danger,
    }
}

/// Like `kubectl argo rollouts get rollout --watch`: the phases as a tree with progress.
fn phase_tree(app: &App, r: &Rollout) -> Vec<Line<'static>> {
    let t = &app.theme;
    let mut lines = vec![Line::from(vec![
        Span::styled(format!("{} ", safe(&r.name)), t.header),
        Span::raw(format!("→ {} ", safe(&r.target_version))),
        Span::styled(r.state.as_str().to_string(), state_style(app, r.state)),
        Span::styled(
            if r.auto_promote {
                "  (promotes itself)"
            } else {
                "  (manual promotion)"
            },
            t.muted,
        ),
    ])];
    if let Some(why) = &r.paused_reason {
        // The reason was written when it paused: its numbers are of that moment, not now.
        let who = if r.gate_paused {
            "its gate"
        } else {
            "an operator"
        };
        lines.push(Line::from(Span::styled(
            format!("‖ paused by {who}, then: {}", safe(why)),
            t.warn,
        )));
    }
    let last = r.phases.len().saturating_sub(1);
    for (n, phase) in r.phases.iter().enumerate() {
        let branch = if n == last { "└─" } else { "├─" };
        let (mark, style) = match phase.state {
            PhaseState::Done => ("✔", t.ok),
            PhaseState::Active => ("▶", t.accent),
            PhaseState::Pending => ("○", t.muted),
        };
        let mut spans = vec![
            Span::styled(format!("{branch} {mark} "), style),
            Span::raw(format!("{:<15} {:>3}%  ", phase.name, phase.percent)),
        ];
        if phase.state == PhaseState::Active && r.state != RolloutState::Completed {
            let min = Duration::seconds(phase.min_duration_s as i64);
            let elapsed = phase.started_at.map(|s| app.now - s).unwrap_or_default();
            let fraction = if min.is_zero() {
                1.0
            } else {
                elapsed.num_seconds() as f64 / min.num_seconds() as f64
            };
            spans.push(Span::styled(bar(fraction, 12), style));
            spans.push(Span::raw(if elapsed >= min {
                "  minimum met".to_string()
            } else {
                format!("  {} of minimum left", coarse(min - elapsed))
            }));
        }
        lines.push(Line::from(spans));
    }
    let h = &r.health;
    lines.push(Line::from(""));
    lines.push(Line::from(vec![
        Span::styled("health  ", t.muted),
        Span::raw(format!(
            "canary errors {:.1}% over {} tasks · baseline {:.1}% over {} · p95 {:.0}s vs {:.0}s · pauses itself above {}",
            h.error_rate * 100.0,
            h.samples,
            h.baseline_error_rate * 100.0,
            h.baseline_samples,
            h.latency_p95_ms / 1000.0,
            h.baseline_latency_p95_ms / 1000.0,
            r.error_gate()
        )),
    ]));
    if h.samples < r.min_samples {
        lines.push(Line::from(Span::styled(
            format!(
                "        the gate judges after {} canary tasks: {} so far",
                r.min_samples, h.samples
            ),
            t.muted,
        )));
    }
    lines.push(Line::from(""));
    lines.extend(action_lines(
        app,
        [
            Action::Promote,
            Action::Pause,
            Action::Resume,
            Action::Abort,
        ]
        .map(|action| {
            let verb = action.on_rollout().expect("the rollout actions");
            (action, rollout_denial(app, r, verb))
        }),
    ));
    lines
}
