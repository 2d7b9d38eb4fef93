//! The server's memory: its resident set, and what each SSE client adds to it.

use crate::BenchResult;

/// Resident memory of a process, in KiB.
pub fn rss_kib(pid: u32) -> BenchResult<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("/proc/{pid}/status: {e}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("no VmRSS in /proc/{pid}/status"))
}

/// (VmRSS with the clients connected, idle) − (VmRSS just before they connected), over N.
pub fn kib_per_client(idle_kib: u64, connected_kib: u64, clients: usize) -> f64 {
    (connected_kib as f64 - idle_kib as f64) / clients as f64
}
