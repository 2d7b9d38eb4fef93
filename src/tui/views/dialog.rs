use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::centered;
use crate::tui::app::{App, Dialog, DialogStep};
use crate::tui::update::{decision_line, reason_text};
use crate::tui::widgets::{safe, section};

/// The decision dialog: context, a mandatory reason, then a review that states the exact
/// decision and commits on `y` only.
pub fn render(frame: &mut Frame, area: Rect, app: &App, dialog: &Dialog) {
    let t = &app.theme;
    let name_rows = if dialog.confirm_name.is_some() { 3 } else { 0 };
    let height = 2 + dialog.context.len().min(4) as u16 + 5 + name_rows + 3;
    let box_area = centered(area, 78, height);
    frame.render_widget(Clear, box_area);
    let block = section(app, &safe(&dialog.title), true);
    let inner = block.inner(box_area);
    frame.render_widget(block, box_area);
    let name_height = if dialog.confirm_name.is_some() { 3 } else { 0 };
    let [context, reason, name, status] = Layout::vertical([
        Constraint::Length(dialog.context.len().min(4) as u16),
        Constraint::Length(5),
        Constraint::Length(name_height),
        Constraint::Min(2),
    ])
    .areas(inner);
    let lines: Vec<Line> = dialog.context.iter().map(|c| Line::from(safe(c))).collect();
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), context);

    let focused = |on: bool| {
        if on && dialog.step == DialogStep::Compose {
            t.accent
        } else {
            t.border
        }
    };
    let mut textarea = dialog.reason.clone();
    textarea.set_block(
        Block::default()
            .borders(Borders::ALL)
            .border_style(focused(!dialog.on_name))
            .title(if dialog.reason_required {
                " reason (required) "
            } else {
                " reason (optional) "
            }),
    );
    frame.render_widget(&textarea, reason);
    if let Some((want, typed)) = &dialog.confirm_name {
        let ok = typed == want;
        let field = Paragraph::new(Line::from(vec![
            Span::raw(safe(typed)),
            Span::styled(if ok { "  ✔" } else { "" }, t.ok),
        ]))
        .block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(focused(dialog.on_name))
                .title(format!(" type the name to confirm: {} ", safe(want))),
        );
        frame.render_widget(field, name);
    }
    let mut lines = Vec::new();
    if let Some(err) = &dialog.error {
        lines.push(Line::from(Span::styled(
            format!("✖ {}", safe(err)),
            t.danger,
        )));
    }
    lines.push(match dialog.step {
        DialogStep::Compose => Line::from(Span::styled(
            if dialog.confirm_name.is_some() {
                "enter: review · tab: switch field · ctrl+u: clear · esc: cancel"
            } else {
                "enter: review · ctrl+u: clear · esc: cancel"
            },
            t.muted,
        )),
        DialogStep::Confirm => Line::from(vec![
            Span::styled(
                "Confirm? ",
                t.warn.add_modifier(ratatui::style::Modifier::BOLD),
            ),
            Span::styled(
                safe(&decision_line(app, dialog)),
                ratatui::style::Style::default().add_modifier(ratatui::style::Modifier::BOLD),
            ),
        ]),
    });
    if dialog.step == DialogStep::Confirm {
        lines.push(match &dialog.hint {
            Some(hint) => Line::from(Span::styled(safe(hint), t.warn)),
            None => Line::from(Span::styled(
                "y: confirm · n/esc: back to the reason",
                t.accent,
            )),
        });
        lines.push(Line::from(format!(
            "reason: «{}»",
            safe(&reason_text(dialog))
        )));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), status);
}
