//! Ports for the servers tests and benches start (`serve` replicas, PostgreSQL clusters).
//!
//! A port the kernel handed out for `bind(0)` comes from its ephemeral range, the same range
//! outgoing connections take their local ports from: between the choice and the server's own
//! bind, or while a killed replica is restarted on its port, a client connection may take it,
//! and the server cannot listen there. Ports below that range are never given to outgoing
//! connections, so one found free here stays free for the server that asks for it.

use std::sync::atomic::{AtomicU32, Ordering};

/// Where the ports handed out here start and end when the kernel does not say otherwise.
const LOWEST: u32 = 20_000;
const DEFAULT_EPHEMERAL: u32 = 32_768;

/// A port free now on 127.0.0.1, below the ephemeral range; never the same twice in one
/// process, and different processes start at different places (their ids).
pub fn free_port() -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let ceiling = ephemeral_start();
    if ceiling <= LOWEST + 1_000 {
        // No room below the ephemeral range: the kernel's choice, as before.
        return std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
    }
    let span = ceiling - LOWEST;
    let start = std::process::id().wrapping_mul(97) % span;
    for _ in 0..span {
        let port = LOWEST + (start + NEXT.fetch_add(1, Ordering::Relaxed)) % span;
        if std::net::TcpListener::bind(("127.0.0.1", port as u16)).is_ok() {
            return port as u16;
        }
    }
    panic!("no free port on 127.0.0.1 between {LOWEST} and {ceiling}");
}

/// The first port of the kernel's ephemeral range (`ip_local_port_range`).
fn ephemeral_start() -> u32 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse().ok())
        .unwrap_or(DEFAULT_EPHEMERAL)
}
