//! Entering and leaving the full-screen terminal, and making sure it is left on every path:
//! normal quit, error, panic, SIGTERM and SIGHUP. Also the console's calls to the operator: the
//! bell, desktop notifications and the title, written between frames.

use std::io::{Write, stdout};
use std::sync::atomic::{AtomicBool, Ordering};

use super::attention::Call;
use crate::text::for_control_string;

/// The terminal's own title was saved on its title stack, to be put back on the way out.
static TITLE_SAVED: AtomicBool = AtomicBool::new(false);
/// The longest text a notification or title carries.
const CALL_TEXT: usize = 200;

use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;

use super::backend::FrameBackend;

pub type Term = Terminal<FrameBackend>;

pub fn enter(mouse: bool) -> std::io::Result<Term> {
    install_panic_hook();
    enable_raw_mode()?;
    let mut out = stdout();
    // Cleared here rather than through ratatui, whose clear() asks the terminal for the cursor
    // position: a round trip over SSH, and a hang on terminals that never answer.
    execute!(
        out,
        EnterAlternateScreen,
        EnableBracketedPaste,
        crossterm::terminal::Clear(crossterm::terminal::ClearType::All)
    )?;
    if mouse {
        execute!(out, EnableMouseCapture)?;
    }
    // A fixed viewport, resized on the terminal's resize events: ratatui's full-screen viewport
    // asks the terminal its size before every frame (crossterm opens /dev/tty for it).
    let (width, height) = crossterm::terminal::size()?;
    let options = ratatui::TerminalOptions {
        viewport: ratatui::Viewport::Fixed(ratatui::layout::Rect::new(0, 0, width, height)),
    };
    let mut terminal = Terminal::with_options(FrameBackend::new(out), options)?;
    terminal.hide_cursor()?;
    Ok(terminal)
}

/// Puts the terminal back as it was; safe to call more than once.
pub fn leave() {
    let mut out = stdout();
    if TITLE_SAVED.swap(false, Ordering::SeqCst) {
        // XTWINOPS: pop the title saved by `save_title`.
        let _ = out.write_all(b"\x1b[23;0t");
    }
    let _ = execute!(
        out,
        DisableMouseCapture,
        DisableBracketedPaste,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    let _ = disable_raw_mode();
    let _ = out.flush();
}

/// Saves the terminal's title (XTWINOPS push) so that `leave` can put it back.
pub fn save_title() {
    let mut out = stdout();
    if out
        .write_all(b"\x1b[22;0t")
        .and_then(|_| out.flush())
        .is_ok()
    {
        TITLE_SAVED.store(true, Ordering::SeqCst);
    }
}

/// Writes a call to the terminal, between two frames.
pub fn call(call: &Call) -> std::io::Result<()> {
    let tmux = std::env::var_os("TMUX").is_some_and(|v| !v.is_empty());
    let mut out = stdout();
    out.write_all(&encode(call, tmux))?;
    out.flush()
}

/// The bytes of a call. Text is untrusted (an agent wrote the incident's title): every control
/// and format character is dropped, so nothing in it can end the string early and reach the
/// terminal as a command. Control strings end with ST, not BEL, so that the one BEL written is
/// the bell. Inside tmux, the notifications go through its passthrough (tmux keeps the bell and
/// the title for itself).
pub fn encode(call: &Call, tmux: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if let Some(title) = &call.title {
        let title = for_control_string(title, CALL_TEXT);
        out.extend_from_slice(format!("\x1b]2;{title}\x1b\\").as_bytes());
    }
    if let Some((heading, body)) = &call.notify {
        let heading = for_control_string(heading, CALL_TEXT).replace(';', ",");
        let body = for_control_string(body, CALL_TEXT);
        let osc9 = format!("\x1b]9;{heading} · {body}\x1b\\");
        let osc777 = format!("\x1b]777;notify;{heading};{body}\x1b\\");
        for seq in [osc9, osc777] {
            if tmux {
                out.extend_from_slice(b"\x1bPtmux;");
                out.extend_from_slice(seq.replace('\x1b', "\x1b\x1b").as_bytes());
                out.extend_from_slice(b"\x1b\\");
            } else {
                out.extend_from_slice(seq.as_bytes());
            }
        }
    }
    if call.bell {
        out.push(0x07);
    }
    out
}

fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        leave();
        previous(info);
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(heading: &str, body: &str) -> Call {
        Call {
            bell: true,
            notify: Some((heading.into(), body.into())),
            title: Some(format!("opsdeck · {body}")),
        }
    }

    #[test]
    fn a_call_rings_once_and_notifies_with_both_sequences() {
        let bytes = encode(
            &call("opsdeck: SEV1 INC-3", "SEV1 INC-3 product: down"),
            false,
        );
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert_eq!(bytes.iter().filter(|b| **b == 0x07).count(), 1);
        assert!(text.contains("\x1b]9;opsdeck: SEV1 INC-3 · SEV1 INC-3 product: down\x1b\\"));
        assert!(
            text.contains("\x1b]777;notify;opsdeck: SEV1 INC-3;SEV1 INC-3 product: down\x1b\\")
        );
        assert!(text.starts_with("\x1b]2;opsdeck · SEV1 INC-3 product: down\x1b\\"));
    }

    #[test]
    fn hostile_text_cannot_end_the_string_early() {
        let body = "db\x07\x1b]2;owned\x1b\\\x1b[2J\u{9d}gone";
        let bytes = encode(&call("opsdeck: x;y", body), false);
        // The only BEL is the bell; the only ESCs start or end our own strings.
        assert_eq!(bytes.iter().filter(|b| **b == 0x07).count(), 1);
        let text = String::from_utf8(bytes).unwrap();
        assert_eq!(text.matches('\x1b').count(), 6, "{text:?}");
        assert!(!text.contains('\u{9d}'));
        // A `;` in the heading would shift OSC 777's fields.
        assert!(text.contains("777;notify;opsdeck: x,y;db]2;owned"));
    }

    #[test]
    fn inside_tmux_notifications_pass_through() {
        let text = String::from_utf8(encode(&call("h", "b"), true)).unwrap();
        assert!(text.contains("\x1bPtmux;\x1b\x1b]9;h · b\x1b\x1b\\\x1b\\"));
    }
}
