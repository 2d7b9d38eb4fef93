//! How many colours the terminal shows, and theme colours mapped down to that.
//!
//! Theme files may use `#rrggbb`; a terminal without true colour gets the nearest colour it has.
//! Everything here is pure: the environment comes in as a `TermEnv` value.

use ratatui::style::Color;
use serde::Serialize;

pub use crate::config::ColorMode;

/// What the terminal can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum ColorDepth {
    #[serde(rename = "none")]
    None,
    #[serde(rename = "16")]
    Ansi16,
    #[serde(rename = "256")]
    Ansi256,
    #[serde(rename = "truecolor")]
    TrueColor,
}

impl ColorDepth {
    pub fn describe(self) -> &'static str {
        match self {
            ColorDepth::None => "no colour",
            ColorDepth::Ansi16 => "16 colours",
            ColorDepth::Ansi256 => "256 colours",
            ColorDepth::TrueColor => "true colour (24-bit)",
        }
    }
}

/// The variables that decide colour, read once from the process.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TermEnv {
    pub term: Option<String>,
    pub colorterm: Option<String>,
    /// NO_COLOR, when set to anything non-empty (https://no-color.org).
    pub no_color: Option<String>,
}

impl TermEnv {
    pub fn from_process() -> TermEnv {
        let var = |name| std::env::var(name).ok();
        TermEnv {
            term: var("TERM"),
            colorterm: var("COLORTERM"),
            no_color: var("NO_COLOR").filter(|v| !v.is_empty()),
        }
    }
}

/// The depth detected, and in words why (for `doctor`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Detection {
    pub depth: ColorDepth,
    pub reason: String,
}

pub fn detect(env: &TermEnv, mode: ColorMode) -> Detection {
    let found = |depth, reason: String| Detection { depth, reason };
    if mode == ColorMode::Never {
        return found(ColorDepth::None, "--color never".into());
    }
    if mode == ColorMode::Auto && env.no_color.is_some() {
        return found(
            ColorDepth::None,
            "NO_COLOR is set (--color always overrides it)".into(),
        );
    }
    let colorterm = env.colorterm.as_deref().unwrap_or("").to_ascii_lowercase();
    if colorterm == "truecolor" || colorterm == "24bit" {
        return found(ColorDepth::TrueColor, format!("COLORTERM={colorterm}"));
    }
    let term = env.term.as_deref().unwrap_or("");
    let lower = term.to_ascii_lowercase();
    if term.is_empty() || lower == "dumb" {
        let what = if term.is_empty() {
            "TERM is unset"
        } else {
            "TERM=dumb"
        };
        return if mode == ColorMode::Always {
            found(ColorDepth::Ansi16, format!("{what}, --color always"))
        } else {
            found(ColorDepth::None, what.into())
        };
    }
    // xterm-direct and friends announce 24-bit colour in their name.
    let depth = if lower.ends_with("-direct") || lower.contains("truecolor") {
        ColorDepth::TrueColor
    } else if lower.contains("256color") {
        ColorDepth::Ansi256
    } else {
        ColorDepth::Ansi16
    };
    found(depth, format!("TERM={term}"))
}

/// `color` as the terminal of `depth` can show it.
pub fn fit(color: Color, depth: ColorDepth) -> Color {
    match (depth, color) {
        (ColorDepth::None, _) => Color::Reset,
        (ColorDepth::TrueColor, c) => c,
        (ColorDepth::Ansi256, Color::Rgb(r, g, b)) => Color::Indexed(nearest_256([r, g, b])),
        (ColorDepth::Ansi256, c) => c,
        (ColorDepth::Ansi16, Color::Rgb(r, g, b)) => nearest_16([r, g, b]),
        (ColorDepth::Ansi16, Color::Indexed(i)) if i < 16 => ANSI16[i as usize],
        (ColorDepth::Ansi16, Color::Indexed(i)) => nearest_16(xterm_rgb(i)),
        (ColorDepth::Ansi16, c) => c,
    }
}

/// The 16 named colours in palette order (0–15).
const ANSI16: [Color; 16] = [
    Color::Black,
    Color::Red,
    Color::Green,
    Color::Yellow,
    Color::Blue,
    Color::Magenta,
    Color::Cyan,
    Color::Gray,
    Color::DarkGray,
    Color::LightRed,
    Color::LightGreen,
    Color::LightYellow,
    Color::LightBlue,
    Color::LightMagenta,
    Color::LightCyan,
    Color::White,
];

/// xterm's default values for the 16 base colours (terminals differ; these are the reference).
const XTERM16: [[u8; 3]; 16] = [
    [0x00, 0x00, 0x00],
    [0xcd, 0x00, 0x00],
    [0x00, 0xcd, 0x00],
    [0xcd, 0xcd, 0x00],
    [0x00, 0x00, 0xee],
    [0xcd, 0x00, 0xcd],
    [0x00, 0xcd, 0xcd],
    [0xe5, 0xe5, 0xe5],
    [0x7f, 0x7f, 0x7f],
    [0xff, 0x00, 0x00],
    [0x00, 0xff, 0x00],
    [0xff, 0xff, 0x00],
    [0x5c, 0x5c, 0xff],
    [0xff, 0x00, 0xff],
    [0x00, 0xff, 0xff],
    [0xff, 0xff, 0xff],
];

/// The levels of each channel in xterm's 6×6×6 colour cube (indices 16–231).
const CUBE: [u8; 6] = [0, 95, 135, 175, 215, 255];

/// The RGB value of an xterm palette index.
pub fn xterm_rgb(index: u8) -> [u8; 3] {
    match index {
        0..=15 => XTERM16[index as usize],
        16..=231 => {
            let i = index - 16;
            [
                CUBE[(i / 36) as usize],
                CUBE[(i / 6 % 6) as usize],
                CUBE[(i % 6) as usize],
            ]
        }
        232..=255 => {
            let v = 8 + 10 * (index - 232);
            [v, v, v]
        }
    }
}

/// The palette index (0–15) of a named colour.
pub fn named_index(color: Color) -> Option<u8> {
    ANSI16.iter().position(|c| *c == color).map(|i| i as u8)
}

/// The RGB value of a named colour, as xterm shows it by default.
pub fn named_rgb(color: Color) -> Option<[u8; 3]> {
    named_index(color).map(|i| XTERM16[i as usize])
}

/// A perceptual distance that weighs the channels by how the eye sees them ("redmean").
fn distance(a: [u8; 3], b: [u8; 3]) -> u32 {
    let mean = (a[0] as i32 + b[0] as i32) / 2;
    let [dr, dg, db] = [0, 1, 2].map(|i| a[i] as i32 - b[i] as i32);
    ((((512 + mean) * dr * dr) >> 8) + 4 * dg * dg + (((767 - mean) * db * db) >> 8)) as u32
}

/// The nearest of indices 16–255: the colour cube or the grey ramp. Indices 0–15 are left out
/// because every terminal redefines them.
pub fn nearest_256(rgb: [u8; 3]) -> u8 {
    let level = |v: u8| -> usize {
        CUBE.iter()
            .enumerate()
            .min_by_key(|(_, l)| (**l as i32 - v as i32).abs())
            .map(|(i, _)| i)
            .unwrap_or(0)
    };
    let [r, g, b] = rgb.map(level);
    let cube = 16 + 36 * r as u8 + 6 * g as u8 + b as u8;
    let average = rgb.iter().map(|v| *v as u32).sum::<u32>() / 3;
    let grey = 232 + ((average.saturating_sub(3)) / 10).min(23) as u8;
    if distance(xterm_rgb(grey), rgb) < distance(xterm_rgb(cube), rgb) {
        grey
    } else {
        cube
    }
}

/// The nearest of the 16 named colours by hue and lightness. Plain RGB distance would turn
/// every pastel palette into grey, losing the difference between green and red that a theme's
/// author meant; hue keeps it, and lightness picks the bright or the dim variant.
pub fn nearest_16(rgb: [u8; 3]) -> Color {
    let [r, g, b] = rgb.map(|v| v as f64 / 255.0);
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    let chroma = max - min;
    let lightness = (max + min) / 2.0;
    let saturation = if max == 0.0 { 0.0 } else { chroma / max };
    // Too dark to show a hue (a dark theme's background), or too grey to have one.
    if max < 0.3 || saturation < 0.25 {
        return match lightness {
            l if l < 0.2 => Color::Black,
            l if l < 0.6 => Color::DarkGray,
            l if l < 0.9 => Color::Gray,
            _ => Color::White,
        };
    }
    let hue = if max == r {
        60.0 * ((g - b) / chroma).rem_euclid(6.0)
    } else if max == g {
        60.0 * ((b - r) / chroma + 2.0)
    } else {
        60.0 * ((r - g) / chroma + 4.0)
    };
    // Fully lit or light: the bright variant (xterm's blue, #0000ee, stays dim).
    let bright = max > 0.97 || lightness > 0.6;
    let (dim, light) = match hue {
        h if !(30.0..330.0).contains(&h) => (Color::Red, Color::LightRed),
        h if h < 90.0 => (Color::Yellow, Color::LightYellow),
        h if h < 150.0 => (Color::Green, Color::LightGreen),
        h if h < 210.0 => (Color::Cyan, Color::LightCyan),
        h if h < 270.0 => (Color::Blue, Color::LightBlue),
        _ => (Color::Magenta, Color::LightMagenta),
    };
    if bright { light } else { dim }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(term: &str, colorterm: &str, no_color: bool) -> TermEnv {
        TermEnv {
            term: Some(term.into()).filter(|t: &String| !t.is_empty()),
            colorterm: Some(colorterm.into()).filter(|t: &String| !t.is_empty()),
            no_color: no_color.then(|| "1".into()),
        }
    }

    #[test]
    fn depth_comes_from_colorterm_then_term() {
        let depth = |term, colorterm| detect(&env(term, colorterm, false), ColorMode::Auto).depth;
        assert_eq!(depth("xterm-256color", "truecolor"), ColorDepth::TrueColor);
        assert_eq!(depth("xterm", "24bit"), ColorDepth::TrueColor);
        assert_eq!(depth("xterm-256color", ""), ColorDepth::Ansi256);
        assert_eq!(depth("tmux-256color", ""), ColorDepth::Ansi256);
        assert_eq!(depth("screen", ""), ColorDepth::Ansi16);
        assert_eq!(depth("xterm", ""), ColorDepth::Ansi16);
        assert_eq!(depth("xterm-direct", ""), ColorDepth::TrueColor);
        assert_eq!(depth("dumb", ""), ColorDepth::None);
        assert_eq!(depth("", ""), ColorDepth::None);
    }

    #[test]
    fn no_color_turns_colour_off_unless_always() {
        let e = env("xterm-256color", "truecolor", true);
        let auto = detect(&e, ColorMode::Auto);
        assert_eq!(auto.depth, ColorDepth::None);
        assert!(auto.reason.contains("NO_COLOR"), "{}", auto.reason);
        assert_eq!(detect(&e, ColorMode::Always).depth, ColorDepth::TrueColor);
        let plain = env("xterm-256color", "", false);
        assert_eq!(detect(&plain, ColorMode::Never).depth, ColorDepth::None);
        assert_eq!(
            detect(&env("dumb", "", false), ColorMode::Always).depth,
            ColorDepth::Ansi16
        );
    }

    #[test]
    fn the_palette_indices_have_xterms_values() {
        assert_eq!(xterm_rgb(16), [0, 0, 0]);
        assert_eq!(xterm_rgb(196), [255, 0, 0]);
        assert_eq!(xterm_rgb(231), [255, 255, 255]);
        assert_eq!(xterm_rgb(67), [95, 135, 175]);
        assert_eq!(xterm_rgb(232), [8, 8, 8]);
        assert_eq!(xterm_rgb(255), [238, 238, 238]);
        assert_eq!(named_rgb(Color::LightBlue), Some([0x5c, 0x5c, 0xff]));
        assert_eq!(named_rgb(Color::Reset), None);
        assert_eq!(named_index(Color::White), Some(15));
    }

    #[test]
    fn rgb_maps_to_the_nearest_of_256() {
        assert_eq!(nearest_256([0, 0, 0]), 16);
        assert_eq!(nearest_256([255, 255, 255]), 231);
        assert_eq!(nearest_256([255, 0, 0]), 196);
        assert_eq!(nearest_256([0x5f, 0x87, 0xaf]), 67);
        assert_eq!(nearest_256([128, 128, 128]), 244);
        // Near-greys go to the grey ramp, which has finer steps than the cube.
        assert_eq!(nearest_256([0x1e, 0x1e, 0x1e]), 234);
        // Every exact palette colour maps to itself (or its twin in the cube).
        for i in 16..=255u8 {
            assert_eq!(xterm_rgb(nearest_256(xterm_rgb(i))), xterm_rgb(i), "{i}");
        }
    }

    #[test]
    fn rgb_maps_to_16_by_hue_and_lightness() {
        assert_eq!(nearest_16([0xff, 0, 0]), Color::LightRed);
        assert_eq!(nearest_16([0xcd, 0, 0]), Color::Red);
        assert_eq!(nearest_16([0x1e, 0x1e, 0x2e]), Color::Black);
        assert_eq!(nearest_16([0xff, 0xff, 0xff]), Color::White);
        assert_eq!(nearest_16([0x58, 0x5b, 0x70]), Color::DarkGray);
        // Pastels keep their hue instead of turning grey.
        assert_eq!(nearest_16([0xa6, 0xe3, 0xa1]), Color::LightGreen);
        assert_eq!(nearest_16([0xf3, 0x8b, 0xa8]), Color::LightRed);
        assert_eq!(nearest_16([0xf9, 0xe2, 0xaf]), Color::LightYellow);
        assert_eq!(nearest_16([0x89, 0xb4, 0xfa]), Color::LightBlue);
        // Dark, saturated colours for light backgrounds stay dim.
        assert_eq!(nearest_16([0x1a, 0x7f, 0x37]), Color::Green);
        assert_eq!(nearest_16([0x9a, 0x67, 0x00]), Color::Yellow);
        assert_eq!(nearest_16([0xcf, 0x22, 0x2e]), Color::Red);
        // The 16 reference colours map to themselves.
        for (i, rgb) in XTERM16.iter().enumerate() {
            assert_eq!(nearest_16(*rgb), ANSI16[i], "{rgb:?}");
        }
    }

    #[test]
    fn fit_keeps_what_the_terminal_can_show() {
        let teal = Color::Rgb(0x94, 0xe2, 0xd5);
        assert_eq!(fit(teal, ColorDepth::TrueColor), teal);
        assert!(matches!(fit(teal, ColorDepth::Ansi256), Color::Indexed(_)));
        assert_eq!(fit(teal, ColorDepth::Ansi16), Color::LightCyan);
        assert_eq!(fit(teal, ColorDepth::None), Color::Reset);
        assert_eq!(fit(Color::Red, ColorDepth::Ansi256), Color::Red);
        assert_eq!(fit(Color::Indexed(9), ColorDepth::Ansi16), Color::LightRed);
        assert_eq!(
            fit(Color::Indexed(196), ColorDepth::Ansi16),
            Color::LightRed
        );
    }
}
