//! One slot of a theme file: `{ fg = "#f38ba8", bg = "black", bold = true }`.

use ratatui::style::{Color, Modifier, Style};
use serde::{Deserialize, Deserializer};

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StyleSpec {
    #[serde(default, deserialize_with = "color")]
    pub fg: Option<Color>,
    #[serde(default, deserialize_with = "color")]
    pub bg: Option<Color>,
    #[serde(default)]
    pub bold: bool,
    #[serde(default)]
    pub dim: bool,
    #[serde(default)]
    pub italic: bool,
    #[serde(default)]
    pub underlined: bool,
    #[serde(default)]
    pub reversed: bool,
}

impl StyleSpec {
    pub fn style(&self) -> Style {
        let mut style = Style::new();
        if let Some(fg) = self.fg {
            style = style.fg(fg);
        }
        if let Some(bg) = self.bg {
            style = style.bg(bg);
        }
        for (on, modifier) in [
            (self.bold, Modifier::BOLD),
            (self.dim, Modifier::DIM),
            (self.italic, Modifier::ITALIC),
            (self.underlined, Modifier::UNDERLINED),
            (self.reversed, Modifier::REVERSED),
        ] {
            if on {
                style = style.add_modifier(modifier);
            }
        }
        style
    }
}

/// What a theme file may write as a colour.
pub const COLOR_HELP: &str = "a colour is #rrggbb, a palette index 0-255, reset (the terminal's own), or one of black, red, green, yellow, blue, magenta, cyan, gray, dark-gray, light-red, light-green, light-yellow, light-blue, light-magenta, light-cyan, white";

/// `#rrggbb`, `0`–`255`, `reset`, or a name (`light-red`, `dark_gray`, `grey`: case, dashes
/// and underscores do not matter).
pub fn parse_color(text: &str) -> Result<Color, String> {
    let text = text.trim();
    if let Some(hex) = text.strip_prefix('#') {
        let valid = hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit());
        if !valid {
            return Err(format!("{text:?} is not a colour: write #rrggbb"));
        }
        let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0);
        return Ok(Color::Rgb(channel(0), channel(2), channel(4)));
    }
    if let Ok(index) = text.parse::<u8>() {
        return Ok(Color::Indexed(index));
    }
    let name: String = text
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | ' '))
        .flat_map(char::to_lowercase)
        .collect::<String>()
        .replace("grey", "gray");
    Ok(match name.as_str() {
        "reset" => Color::Reset,
        "black" => Color::Black,
        "red" => Color::Red,
        "green" => Color::Green,
        "yellow" => Color::Yellow,
        "blue" => Color::Blue,
        "magenta" => Color::Magenta,
        "cyan" => Color::Cyan,
        "gray" => Color::Gray,
        "darkgray" => Color::DarkGray,
        "lightred" => Color::LightRed,
        "lightgreen" => Color::LightGreen,
        "lightyellow" => Color::LightYellow,
        "lightblue" => Color::LightBlue,
        "lightmagenta" => Color::LightMagenta,
        "lightcyan" => Color::LightCyan,
        "white" => Color::White,
        _ => return Err(format!("{text:?} is not a colour: {COLOR_HELP}")),
    })
}

fn color<'de, D: Deserializer<'de>>(de: D) -> Result<Option<Color>, D::Error> {
    struct Visitor;
    impl serde::de::Visitor<'_> for Visitor {
        type Value = Option<Color>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str(COLOR_HELP)
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
            parse_color(v).map(Some).map_err(E::custom)
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
            u8::try_from(v)
                .map(|i| Some(Color::Indexed(i)))
                .map_err(|_| E::custom(format!("{v} is not a palette index: use 0-255")))
        }
    }
    de.deserialize_any(Visitor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_hex_indices_or_names() {
        assert_eq!(parse_color("#1e1e2e"), Ok(Color::Rgb(0x1e, 0x1e, 0x2e)));
        assert_eq!(parse_color("#FFaa00"), Ok(Color::Rgb(255, 0xaa, 0)));
        assert_eq!(parse_color("208"), Ok(Color::Indexed(208)));
        assert_eq!(parse_color("light-red"), Ok(Color::LightRed));
        assert_eq!(parse_color("Dark_Grey"), Ok(Color::DarkGray));
        assert_eq!(parse_color("reset"), Ok(Color::Reset));
        for bad in ["#12345", "#12345g", "pink", "256", ""] {
            let err = parse_color(bad).unwrap_err();
            assert!(err.contains("not a colour"), "{bad}: {err}");
        }
    }

    #[test]
    fn a_spec_becomes_a_style() {
        let spec: StyleSpec =
            toml::from_str("fg = \"#ff0000\"\nbg = 4\nbold = true\nreversed = true").unwrap();
        let style = spec.style();
        assert_eq!(style.fg, Some(Color::Rgb(255, 0, 0)));
        assert_eq!(style.bg, Some(Color::Indexed(4)));
        assert!(
            style
                .add_modifier
                .contains(Modifier::BOLD | Modifier::REVERSED)
        );
        assert_eq!(StyleSpec::default().style(), Style::new());
        assert!(toml::from_str::<StyleSpec>("colour = \"red\"").is_err());
        assert!(toml::from_str::<StyleSpec>("fg = 300").is_err());
    }
}
