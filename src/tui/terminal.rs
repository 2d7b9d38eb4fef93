//! Entering and leaving the full-screen terminal, and making sure it is left on every path:
//! normal quit, error, panic, SIGTERM and SIGHUP.

use std::io::{Stdout, Write, stdout};

use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub type Term = Terminal<CrosstermBackend<Stdout>>;

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
    let mut terminal = Terminal::new(CrosstermBackend::new(out))?;
    terminal.hide_cursor()?;
    Ok(terminal)
}

/// Puts the terminal back as it was; safe to call more than once.
pub fn leave() {
    let mut out = stdout();
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

fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        leave();
        previous(info);
    }));
}
