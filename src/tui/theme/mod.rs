//! Themes: styles named by meaning, read from TOML (built in, or the user's), mapped down to the
//! colours the terminal has. Colour never carries meaning alone: every severity and state also
//! has a word or a symbol next to it.

pub mod catalog;
pub mod color;
mod slots;
pub mod style;

use std::path::Path;

use ratatui::style::Style;
use serde::Serialize;

pub use catalog::{BUILTIN, Loaded, ThemeError, ThemeSource};
pub use color::{ColorDepth, ColorMode, Detection, TermEnv};
pub use slots::{SLOTS, Theme, ThemeFile};

use crate::model::Severity;

impl Theme {
    /// The terminal's own background and its 16 base colours.
    pub fn default_theme() -> Theme {
        catalog::builtin("default")
    }

    /// No colour at all: emphasis by weight, underline and reverse video only.
    pub fn mono() -> Theme {
        catalog::builtin("mono")
    }

    /// A built-in theme by name, at true colour (tests, screenshots).
    pub fn builtin(name: &str) -> Option<Theme> {
        BUILTIN
            .iter()
            .any(|(n, _)| *n == name)
            .then(|| catalog::builtin(name))
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

/// What the console will look like: the theme asked for, the colours the terminal has, and the
/// theme actually used (mono when colour is off).
#[derive(Debug, Clone, Serialize)]
pub struct Appearance {
    /// The theme asked for (`--theme`, else `[console] theme`).
    pub requested: String,
    /// The theme drawn with: the requested one, or mono when colour is off.
    pub used: String,
    pub source: ThemeSource,
    pub description: String,
    pub color: ColorMode,
    pub detection: Detection,
    #[serde(skip)]
    pub theme: Theme,
}

/// Loads the requested theme (so a broken file is reported even when colour is off), then fits
/// it to the terminal.
pub fn appearance(
    requested: &str,
    color: ColorMode,
    env: &TermEnv,
    user_dir: Option<&Path>,
) -> Result<Appearance, ThemeError> {
    let loaded = catalog::load(requested, user_dir)?;
    let detection = color::detect(env, color);
    let theme = match detection.depth {
        ColorDepth::None => Theme::mono(),
        depth => loaded.theme.map_colors(|c| color::fit(c, depth)),
    };
    Ok(Appearance {
        requested: requested.to_string(),
        used: theme.name.clone(),
        source: loaded.source,
        description: loaded.description,
        color,
        detection,
        theme,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::style::Color;

    fn env(term: &str, colorterm: &str, no_color: bool) -> TermEnv {
        TermEnv {
            term: Some(term.into()),
            colorterm: Some(colorterm.into()),
            no_color: no_color.then(|| "1".into()),
        }
    }

    #[test]
    fn the_theme_is_fitted_to_the_terminal() {
        let truecolor = appearance(
            "light",
            ColorMode::Auto,
            &env("xterm", "truecolor", false),
            None,
        )
        .unwrap();
        assert_eq!(truecolor.theme, Theme::builtin("light").unwrap());
        let sixteen = appearance("light", ColorMode::Auto, &env("xterm", "", false), None).unwrap();
        assert_eq!(sixteen.theme.base.bg, Some(Color::White));
        assert_eq!(sixteen.theme.base.fg, Some(Color::Black));
        let indexed = appearance(
            "light",
            ColorMode::Auto,
            &env("screen-256color", "", false),
            None,
        )
        .unwrap();
        assert!(matches!(indexed.theme.ok.fg, Some(Color::Indexed(_))));
        assert_eq!(indexed.detection.depth, ColorDepth::Ansi256);
    }

    #[test]
    fn without_colour_the_console_is_mono_but_the_theme_is_still_checked() {
        let off = appearance(
            "catppuccin-mocha",
            ColorMode::Auto,
            &env("xterm", "", true),
            None,
        )
        .unwrap();
        assert_eq!(off.used, "mono");
        assert_eq!(off.requested, "catppuccin-mocha");
        assert_eq!(off.theme, Theme::mono());
        let forced = appearance(
            "catppuccin-mocha",
            ColorMode::Always,
            &env("xterm-256color", "", true),
            None,
        )
        .unwrap();
        assert_eq!(forced.used, "catppuccin-mocha");
        assert!(appearance("nope", ColorMode::Never, &env("xterm", "", false), None).is_err());
    }
}
