//! What `doctor` says about the terminal: size, TTYs, the variables that decide colour, and
//! whether it runs inside tmux or screen and over SSH.

use std::collections::BTreeMap;
use std::io::IsTerminal;

use serde::Serialize;

use crate::tui::views::{MIN_HEIGHT, MIN_WIDTH};

/// The environment variables `doctor` looks at, read once.
pub type Vars = BTreeMap<&'static str, String>;

const NAMES: [&str; 8] = [
    "TERM",
    "COLORTERM",
    "NO_COLOR",
    "TMUX",
    "STY",
    "SSH_CONNECTION",
    "SSH_CLIENT",
    "SSH_TTY",
];

pub fn vars() -> Vars {
    NAMES
        .iter()
        .filter_map(|name| std::env::var(name).ok().map(|v| (*name, v)))
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Size {
    pub columns: u16,
    pub rows: u16,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TerminalCheck {
    pub stdout_is_tty: bool,
    pub stdin_is_tty: bool,
    /// When a terminal is attached.
    pub size: Option<Size>,
    /// Whether the console fits (it needs 80×24).
    pub fits_console: Option<bool>,
    pub term: Option<String>,
    pub colorterm: Option<String>,
    pub no_color: Option<String>,
    /// `tmux` or `screen`, when inside one.
    pub multiplexer: Option<String>,
    /// The SSH client's address, when over SSH.
    pub ssh_from: Option<String>,
}

pub fn check(vars: &Vars) -> TerminalCheck {
    let stdout_is_tty = std::io::stdout().is_terminal();
    let stdin_is_tty = std::io::stdin().is_terminal();
    // Piped into `less` or a file, the controlling terminal still has a size; with no terminal
    // at all, crossterm would fall back to a made-up 80×24, so none is reported.
    let attached = stdout_is_tty || stdin_is_tty || std::fs::File::open("/dev/tty").is_ok();
    let size = attached
        .then(|| crossterm::terminal::size().ok())
        .flatten()
        .filter(|(w, h)| *w > 0 && *h > 0)
        .map(|(columns, rows)| Size { columns, rows });
    TerminalCheck {
        stdout_is_tty,
        stdin_is_tty,
        size,
        fits_console: size.map(|s| s.columns >= MIN_WIDTH && s.rows >= MIN_HEIGHT),
        term: vars.get("TERM").cloned(),
        colorterm: vars.get("COLORTERM").cloned(),
        no_color: vars.get("NO_COLOR").cloned(),
        multiplexer: multiplexer(vars),
        ssh_from: ssh_from(vars),
    }
}

/// tmux sets TMUX and screen sets STY; over SSH from inside one, only TERM tells.
pub fn multiplexer(vars: &Vars) -> Option<String> {
    if vars.contains_key("TMUX") {
        return Some("tmux".into());
    }
    if vars.contains_key("STY") {
        return Some("screen".into());
    }
    let term = vars.get("TERM")?;
    ["tmux", "screen"]
        .into_iter()
        .find(|m| term.starts_with(m))
        .map(|m| format!("{m} (from TERM)"))
}

/// `SSH_CONNECTION` is `client-address client-port server-address server-port`.
pub fn ssh_from(vars: &Vars) -> Option<String> {
    let connection = vars
        .get("SSH_CONNECTION")
        .or_else(|| vars.get("SSH_CLIENT"));
    match connection {
        Some(c) => Some(c.split_whitespace().next().unwrap_or("unknown").to_string()),
        None => vars.get("SSH_TTY").map(|_| "unknown".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&'static str, &str)]) -> Vars {
        pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
    }

    #[test]
    fn tmux_and_screen_are_recognised() {
        assert_eq!(
            multiplexer(&vars(&[("TMUX", "/tmp/tmux-0/default,1,0")])).as_deref(),
            Some("tmux")
        );
        assert_eq!(
            multiplexer(&vars(&[("STY", "1.pts-0")])).as_deref(),
            Some("screen")
        );
        assert_eq!(
            multiplexer(&vars(&[("TERM", "tmux-256color")])).as_deref(),
            Some("tmux (from TERM)")
        );
        assert_eq!(multiplexer(&vars(&[("TERM", "xterm-256color")])), None);
    }

    #[test]
    fn ssh_is_recognised_by_its_variables() {
        let over = vars(&[("SSH_CONNECTION", "10.0.0.5 52344 10.0.0.9 22")]);
        assert_eq!(ssh_from(&over).as_deref(), Some("10.0.0.5"));
        let old = vars(&[("SSH_CLIENT", "192.168.1.2 4000 22")]);
        assert_eq!(ssh_from(&old).as_deref(), Some("192.168.1.2"));
        assert_eq!(
            ssh_from(&vars(&[("SSH_TTY", "/dev/pts/3")])).as_deref(),
            Some("unknown")
        );
        assert_eq!(ssh_from(&vars(&[])), None);
    }
}
