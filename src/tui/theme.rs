//! Styles named by meaning. Colour never carries meaning alone: every severity and state also
//! has a word or a symbol next to it.

use ratatui::style::{Color, Modifier, Style};

use crate::model::Severity;

#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: &'static str,
    pub sev1: Style,
    pub sev2: Style,
    pub sev3: Style,
    pub sev4: Style,
    pub ok: Style,
    pub warn: Style,
    pub danger: Style,
    pub muted: Style,
    pub accent: Style,
    pub selection: Style,
    pub border: Style,
    pub header: Style,
    pub title: Style,
}

impl Theme {
    /// Uses the terminal's own background and its 16 base colours.
    pub fn default_theme() -> Theme {
        Theme {
            name: "default",
            sev1: Style::new()
                .fg(Color::LightRed)
                .add_modifier(Modifier::BOLD),
            sev2: Style::new().fg(Color::Red),
            sev3: Style::new().fg(Color::Yellow),
            sev4: Style::new().fg(Color::Blue),
            ok: Style::new().fg(Color::Green),
            warn: Style::new().fg(Color::Yellow),
            danger: Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            muted: Style::new().fg(Color::DarkGray),
            accent: Style::new().fg(Color::Cyan),
            selection: Style::new().add_modifier(Modifier::REVERSED),
            border: Style::new().fg(Color::DarkGray),
            header: Style::new().add_modifier(Modifier::BOLD),
            title: Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
        }
    }

    /// No colour at all (`NO_COLOR`): emphasis by weight and reverse video only.
    pub fn mono() -> Theme {
        let plain = Style::new();
        Theme {
            name: "mono",
            sev1: plain.add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            sev2: plain.add_modifier(Modifier::BOLD),
            sev3: plain,
            sev4: plain.add_modifier(Modifier::DIM),
            ok: plain,
            warn: plain.add_modifier(Modifier::BOLD),
            danger: plain.add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            muted: plain.add_modifier(Modifier::DIM),
            accent: plain.add_modifier(Modifier::BOLD),
            selection: plain.add_modifier(Modifier::REVERSED),
            border: plain,
            header: plain.add_modifier(Modifier::BOLD),
            title: plain.add_modifier(Modifier::BOLD),
        }
    }

    /// `NO_COLOR` set (to anything non-empty) means mono.
    pub fn from_env() -> Theme {
        match std::env::var_os("NO_COLOR") {
            Some(v) if !v.is_empty() => Theme::mono(),
            _ => Theme::default_theme(),
        }
    }

    pub fn severity(&self, s: Severity) -> Style {
        match s {
            Severity::Sev1 => self.sev1,
            Severity::Sev2 => self.sev2,
            Severity::Sev3 => self.sev3,
            Severity::Sev4 => self.sev4,
        }
    }
}
