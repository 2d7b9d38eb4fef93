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

fn needs_escape(c: char) -> bool {
    c.is_control() || is_format(c)
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

    proptest! {
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
