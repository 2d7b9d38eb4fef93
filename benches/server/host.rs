//! The machine the bench runs on: its load, and whether it allows the client sockets.

use std::process::Command;

use crate::BenchResult;

pub fn uptime() -> String {
    Command::new("uptime")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|e| format!("uptime: {e}"))
}

/// The soft open-file limit must hold every client socket (no libc here to raise it).
pub fn check_open_files(clients: usize) -> BenchResult<()> {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let soft: Option<u64> = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|s| s.parse().ok());
    match soft {
        Some(soft) if soft < clients as u64 + 100 => Err(format!(
            "the open-file limit is {soft}: run `ulimit -n 4096` first ({clients} sockets on each side)"
        )),
        _ => Ok(()),
    }
}
