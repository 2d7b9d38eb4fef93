//! `--color` and `[console] color`: whether to colour at all. How many colours the terminal
//! shows is the console's business (`tui::theme::color`); the choice is configuration.

use serde::{Deserialize, Serialize};

/// `--color` and `[console] color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ColorMode {
    /// Colour unless NO_COLOR is set or TERM is dumb; the depth from COLORTERM and TERM.
    #[default]
    Auto,
    /// Colour even when NO_COLOR is set.
    Always,
    /// No colour: the mono theme (weight, underline and reverse video only).
    Never,
}

impl ColorMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ColorMode::Auto => "auto",
            ColorMode::Always => "always",
            ColorMode::Never => "never",
        }
    }
}
