use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::centered;
use crate::tui::action::Action;
use crate::tui::app::App;
use crate::tui::widgets::section;

/// Help made from the keymap: what each key does in this pane.
pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let mut lines = vec![Line::from(Span::styled(
        format!(
            "Keys in the {} pane (rebind them under [keymap] in the config)",
            app.pane.name()
        ),
        t.muted,
    ))];
    for action in Action::all() {
        if !action.applies_to(app.pane) || (action.mutates() && !app.may_act()) {
            continue;
        }
        lines.push(Line::from(vec![
            Span::styled(format!("{:>14}  ", app.keymap.label(action)), t.accent),
            Span::raw(action.describe()),
        ]));
    }
    lines.push(Line::from(Span::styled(
        "esc, q or ? closes this help",
        t.muted,
    )));
    let box_area = centered(area, 70, lines.len() as u16 + 2);
    frame.render_widget(Clear, box_area);
    frame.render_widget(
        Paragraph::new(lines).block(section(app, "Help", true)),
        box_area,
    );
}
