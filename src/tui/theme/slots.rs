//! The slots of a theme, listed once. The list makes the `Theme` the views read, the
//! `ThemeFile` a TOML file is read into, and `SLOTS`, which the tests and `doctor` walk.

use ratatui::style::{Color, Style};
use serde::Deserialize;

use super::style::StyleSpec;

macro_rules! slots {
    ($( $(#[doc = $doc:literal])+ $slot:ident, )+) => {
        /// Styles named by meaning. Colour never carries meaning alone: every severity and state
        /// also has a word or a symbol next to it.
        #[derive(Debug, Clone, PartialEq)]
        pub struct Theme {
            /// As given to `--theme`.
            pub name: String,
            $( $(#[doc = $doc])+ pub $slot: Style, )+
        }

        /// A theme file. Slots it leaves out come from the theme it extends.
        #[derive(Debug, Clone, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct ThemeFile {
            /// One line for `doctor` and the README.
            #[serde(default)]
            pub description: String,
            /// The theme that fills the slots this file leaves out [default: default].
            pub extends: Option<String>,
            $( pub $slot: Option<StyleSpec>, )+
        }

        /// Every slot's name, as theme files write it.
        pub const SLOTS: &[&str] = &[ $( stringify!($slot) ),+ ];

        impl ThemeFile {
            /// The slots this file does not define.
            pub fn missing(&self) -> Vec<&'static str> {
                let mut missing = Vec::new();
                $( if self.$slot.is_none() { missing.push(stringify!($slot)); } )+
                missing
            }

            /// This file's slots, the rest from `base`.
            pub fn over(&self, name: &str, base: &Theme) -> Theme {
                Theme {
                    name: name.to_string(),
                    $( $slot: self.$slot.as_ref().map_or(base.$slot, StyleSpec::style), )+
                }
            }
        }

        impl Theme {
            /// Every slot unstyled: the terminal's own colours.
            pub fn plain(name: &str) -> Theme {
                Theme { name: name.to_string(), $( $slot: Style::new(), )+ }
            }

            /// Every colour of every slot passed through `f`.
            pub fn map_colors(&self, f: impl Fn(Color) -> Color) -> Theme {
                let map = |s: Style| Style { fg: s.fg.map(&f), bg: s.bg.map(&f), ..s };
                Theme { name: self.name.clone(), $( $slot: map(self.$slot), )+ }
            }

            /// Every slot's name and style, in the order of `SLOTS`.
            pub fn styles(&self) -> Vec<(&'static str, Style)> {
                vec![ $( (stringify!($slot), self.$slot), )+ ]
            }
        }
    };
}

slots! {
    /// The whole screen: its text and background. Empty: the terminal's own.
    base,
    /// Section and pane titles.
    title,
    /// Table headers and emphasised text (an approval's summary, an incident's title).
    header,
    /// Section borders that do not have the focus.
    border,
    /// Secondary text: labels, ages, hints.
    muted,
    /// Keys, levels, the focused border: what invites an action.
    accent,
    /// The selected row.
    selection,
    /// The orchestrator (context) being acted on, in the header.
    context,
    /// SEV1, drawn with the word.
    sev1,
    /// SEV2, drawn with the word.
    sev2,
    /// SEV3, drawn with the word.
    sev3,
    /// SEV4, drawn with the word.
    sev4,
    /// Healthy: live, progressing, within target, ✔.
    ok,
    /// Needs a look soon: half the target gone, paused, stale data.
    warn,
    /// Needs a look now: breached, down, aborted, ✖.
    danger,
}
