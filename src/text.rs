//! `SafeText`: the only way an untrusted string reaches the screen.
//!
//! Agents, remote servers, store files and imported trails are all outside our control. A string
//! from them may carry escape sequences (which a terminal would obey) or bidirectional and other
//! invisible format characters (which make text read differently from what it is). SafeText shows
//! them instead: C0 controls and DEL in caret notation (`^[`), C1 controls, bidi and format
//! characters as `<U+202E>`.

use std::borrow::Cow;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SafeText(String);

impl SafeText {
    pub fn new(untrusted: &str) -> SafeText {
        SafeText(sanitize(untrusted).into_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for SafeText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for SafeText {
    fn from(s: &str) -> Self {
        SafeText::new(s)
    }
}

impl From<&String> for SafeText {
    fn from(s: &String) -> Self {
        SafeText::new(s)
    }
}

/// Characters that change how text is laid out or read without being visible.
fn is_format(c: char) -> bool {
    matches!(c,
        '\u{00AD}'              // soft hyphen
        | '\u{061C}'            // Arabic letter mark
        | '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' // Hangul fillers
        | '\u{180E}'            // Mongolian vowel separator
        | '\u{200B}'..='\u{200F}' // zero-width space/joiners, LRM, RLM
        | '\u{2028}' | '\u{2029}' // line and paragraph separators
        | '\u{202A}'..='\u{202E}' // bidi embeddings and overrides
        | '\u{2060}'..='\u{206F}' // word joiner, invisible operators, bidi isolates
        | '\u{FEFF}'            // byte order mark / zero-width no-break space
        | '\u{FFF9}'..='\u{FFFB}' // interlinear annotations
        | '\u{E0000}'..='\u{E007F}' // tag characters
    )
}

/// A character a terminal must never receive raw from untrusted text: C0 and C1 controls, DEL,
/// and the bidi and invisible format characters.
pub fn needs_escape(c: char) -> bool {
    c.is_control() || is_format(c)
}

/// JSON as serde wrote it, made safe for a terminal: every character [`needs_escape`] names is
/// written as a `\uXXXX` escape (a surrogate pair above U+FFFF), so the text still parses to the
/// same value but no control or bidi character reaches the screen. serde already escapes C0
/// controls inside strings; outside them JSON holds only ASCII punctuation, spaces and the
/// pretty printer's newlines, which are kept.
pub fn json_for_terminal(json: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| c != '\n' && needs_escape(c);
    if !json.chars().any(unsafe_char) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if unsafe_char(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04X}"));
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Untrusted text for inside a terminal control string (a title, a desktop notification): every
/// character [`needs_escape`] names is dropped, not shown, since caret notation inside an OSC
/// would be noise, and a raw ESC or BEL would end the string and let the rest reach the terminal
/// as commands. Cut to `max` characters.
pub fn for_control_string(untrusted: &str, max: usize) -> String {
    untrusted
        .chars()
        .filter(|c| !needs_escape(*c))
        .take(max)
        .collect()
}

pub fn sanitize(untrusted: &str) -> Cow<'_, str> {
    if !untrusted.chars().any(needs_escape) {
        return Cow::Borrowed(untrusted);
    }
    let mut out = String::with_capacity(untrusted.len() + 8);
    for c in untrusted.chars() {
        match c {
            '\u{7F}' => out.push_str("^?"),
            c if (c as u32) < 0x20 => {
                out.push('^');
                out.push(char::from(b'@' + c as u8));
            }
            c if needs_escape(c) => out.push_str(&format!("<U+{:04X}>", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn control_strings_lose_every_control_and_format_character() {
        let hostile = "SEV1\x07 db\x1b]2;pwned\x1b\\ down\u{9c}\u{202e}!";
        assert_eq!(for_control_string(hostile, 100), "SEV1 db]2;pwned\\ down!");
        assert_eq!(for_control_string("abcdef", 3), "abc");
    }

    #[test]
    fn escapes_are_made_visible() {
        assert_eq!(sanitize("\x1b[31mred\x1b[0m"), "^[[31mred^[[0m");
        assert_eq!(sanitize("bell\x07"), "bell^G");
        assert_eq!(sanitize("a\nb\tc\r"), "a^Jb^Ic^M");
        assert_eq!(sanitize("del\x7f"), "del^?");
        assert_eq!(sanitize("nul\0"), "nul^@");
        assert_eq!(sanitize("\u{9b}31m"), "<U+009B>31m");
    }

    #[test]
    fn bidi_and_invisible_characters_are_named() {
        assert_eq!(sanitize("abc\u{202E}fed"), "abc<U+202E>fed");
        assert_eq!(sanitize("x\u{2066}y\u{2069}"), "x<U+2066>y<U+2069>");
        assert_eq!(sanitize("zero\u{200B}width"), "zero<U+200B>width");
        assert_eq!(sanitize("\u{FEFF}bom"), "<U+FEFF>bom");
        assert_eq!(sanitize("tag\u{E0041}"), "tag<U+E0041>");
    }

    #[test]
    fn ordinary_text_is_untouched_and_borrowed() {
        for s in ["plain", "café ünïcödé", "日本語", "emoji 🚀", ""] {
            assert!(matches!(sanitize(s), Cow::Borrowed(_)), "{s}");
        }
    }

    #[test]
    fn json_for_a_terminal_escapes_and_still_parses_to_the_same_value() {
        let value = "osc \x1b]0;x\x07 c1 \u{9b}31m del \x7f rlo \u{202E} tag \u{E0041} lrm \u{200E} alm \u{061C} é 🚀";
        let raw = serde_json::to_string_pretty(&vec![value]).unwrap();
        let safe = json_for_terminal(&raw);
        assert!(
            !safe.chars().any(|c| c != '\n' && needs_escape(c)),
            "{safe}"
        );
        assert!(
            safe.contains("\\u009B") && safe.contains("\\u202E") && safe.contains("\\uDB40\\uDC41")
        );
        assert!(
            safe.contains("é 🚀"),
            "printable text stays as it is: {safe}"
        );
        let back: Vec<String> = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, vec![value.to_string()]);
        let plain = serde_json::to_string(&"plain").unwrap();
        assert!(matches!(json_for_terminal(&plain), Cow::Borrowed(_)));
    }

    proptest! {
        #[test]
        fn json_for_a_terminal_round_trips(s in any::<String>()) {
            let raw = serde_json::to_string(&s).unwrap();
            let safe = json_for_terminal(&raw);
            prop_assert!(!safe.chars().any(needs_escape));
            prop_assert_eq!(serde_json::from_str::<String>(&safe).unwrap(), s);
        }

        #[test]
        fn output_never_holds_a_control_or_format_character(s in any::<String>()) {
            let out = sanitize(&s);
            prop_assert!(!out.chars().any(needs_escape));
        }

        #[test]
        fn printable_text_round_trips(s in "[a-zA-Z0-9 .,:;!?'\"()/-]{0,64}") {
            prop_assert_eq!(sanitize(&s), s.as_str());
        }
    }
}
