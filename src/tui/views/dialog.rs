use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use crate::protocol::limits;
use crate::tui::app::{App, Dialog, DialogStep, Intent};
use crate::tui::update::{decision_line, item_change, reason_text};
use crate::tui::widgets::{safe, safe_cut, section};

/// Characters of the reason the review quotes.
const REVIEW_QUOTE: usize = 160;
/// Rows of the reason field, borders included.
const REASON_ROWS: u16 = 5;

/// An approval's dialog sits under the approval's decision card, which says what the dialog's
/// own context lines would: they are left out then.
pub fn shows_card(dialog: &Dialog) -> bool {
    matches!(dialog.intent, Intent::Approval { .. })
}

/// The rows the dialog takes at the bottom of the body, `width` columns wide.
pub fn height(app: &App, dialog: &Dialog, width: u16) -> u16 {
    let inner = width.saturating_sub(2).max(1) as usize;
    let context = if shows_card(dialog) {
        0
    } else {
        dialog.context.len().min(4) as u16
    };
    let name = if dialog.confirm_name.is_some() { 3 } else { 0 };
    let status: u16 = status_lines(app, dialog)
        .iter()
        .map(|l| (l.width().max(1).div_ceil(inner)) as u16)
        .sum();
    2 + context + REASON_ROWS + name + status.max(1)
}

/// The decision dialog, docked at the bottom of the body: context, the reason, then a review
/// that states the exact decision and commits on `y` only.
pub fn render(frame: &mut Frame, area: Rect, app: &App, dialog: &Dialog) {
    let t = &app.theme;
    frame.render_widget(Clear, area);
    let block = section(app, &safe(&dialog.title), true);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let context_rows = if shows_card(dialog) {
        0
    } else {
        dialog.context.len().min(4) as u16
    };
    let name_height = if dialog.confirm_name.is_some() { 3 } else { 0 };
    let [context, reason, name, status] = Layout::vertical([
        Constraint::Length(context_rows),
        Constraint::Length(REASON_ROWS),
        Constraint::Length(name_height),
        Constraint::Min(1),
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
            .title(reason_title(dialog)),
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
    frame.render_widget(
        Paragraph::new(status_lines(app, dialog)).wrap(Wrap { trim: true }),
        status,
    );
}

/// ` reason (required) `, with the count once it nears the orchestrator's limit.
fn reason_title(dialog: &Dialog) -> String {
    let need = if dialog.reason_required {
        "required"
    } else {
        "optional"
    };
    let count = reason_text(dialog).chars().count();
    let max = limits::REASON.max_chars;
    if count * 10 >= max * 9 {
        format!(" reason ({need}) · {count}/{max} characters ")
    } else {
        format!(" reason ({need}) ")
    }
}

/// Under the fields: the error, what changed on the item, then the keys or the review.
fn status_lines(app: &App, dialog: &Dialog) -> Vec<Line<'static>> {
    let t = &app.theme;
    let mut lines = Vec::new();
    if let Some(err) = &dialog.error {
        lines.push(Line::from(Span::styled(
            format!("✖ {}", safe(err)),
            t.danger,
        )));
    }
    if let Some(change) = item_change(app, dialog) {
        lines.push(Line::from(Span::styled(
            format!("⚠ {}", safe(&change)),
            t.warn,
        )));
    }
    match dialog.step {
        DialogStep::Compose => lines.push(Line::from(Span::styled(
            if dialog.confirm_name.is_some() {
                "enter: review · tab: switch field · ctrl+u: clear · esc: cancel (text kept)"
            } else {
                "enter: review · ctrl+u: clear · esc: cancel (text kept)"
            },
            t.muted,
        ))),
        DialogStep::Confirm => {
            lines.push(Line::from(vec![
                Span::styled("Confirm? ", t.warn.add_modifier(Modifier::BOLD)),
                Span::styled(
                    safe(&decision_line(app, dialog)),
                    ratatui::style::Style::default().add_modifier(Modifier::BOLD),
                ),
            ]));
            lines.push(match &dialog.hint {
                Some(hint) => Line::from(Span::styled(safe(hint), t.warn)),
                None => Line::from(Span::styled(
                    "y: confirm · n/esc: back to the reason",
                    t.accent,
                )),
            });
            // The review quotes the start of a long reason: the field above holds all of it.
            let reason = reason_text(dialog);
            let count = reason.chars().count();
            let quoted = if count > REVIEW_QUOTE {
                format!("{} (… {count} characters)", safe_cut(&reason, REVIEW_QUOTE))
            } else {
                safe(&reason)
            };
            lines.push(Line::from(format!("reason: «{quoted}»")));
        }
    }
    lines
}
