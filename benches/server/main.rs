//! `opsdeck serve --demo` under load: the figures of issue 4's "Measure" section.
//!
//! Run: `cargo bench --bench server` (about 2 minutes after the release build). The 1,000 SSE
//! sockets need a soft open-file limit of at least 1,100 in the shell that runs it (the server
//! inherits it): `ulimit -n 4096` if `ulimit -n` says less; the bench checks and says so.
//! `BENCH_SECONDS` shortens the 20-second delivery window for a quick look.
//!
//! The server runs as its own process (the release binary) on a fresh store in a temporary
//! directory: the demo fleet backfills an hour of history, then keeps working on the real clock,
//! so its events flow to every client during every measurement. The SSE clients are raw
//! HTTP/1.1 sockets, tokio tasks on a runtime of their own, so the requests being timed do not
//! queue behind them in one scheduler (they still share the machine's cores with the server).
//! Each client count gets a fresh server process on the same store, so the memory baseline never
//! reuses buffers freed by the previous count.
//!
//! Figures:
//! - memory per client: (server VmRSS with N clients connected, idle, each having received at
//!   least one event) − (VmRSS just before they connected, after warm-up), divided by N.
//! - event delivery p50/p99: incident notes posted at 5 a second for 20 s; for every
//!   (client, note) pair, from the moment the POST was sent to the moment that client read the
//!   event whose seq is the POST's `event_seq`. Missing pairs (a client never saw the event) are
//!   counted, not hidden.
//! - decision round trip p50/p99: sequential POSTs, 20 a second, from send to the whole
//!   response read: incident notes, and one approval in ten, reported apart (escalations the
//!   bench raises as an agent just before, resource requests an executive decides alone). With
//!   no SSE client (each server's warm-up), and with 100 and 1,000, whose events then go out to
//!   every client while the next request is served.
//! - reconnect and resume: the real remote link (`Link::Remote`, full-jitter backoff) follows the
//!   stream; the server gets SIGTERM and is started again on the same store and port, 5 times.
//!   Times from the new server's first /healthz answer (and from its spawn) to the link's first
//!   event over its new connection (and to the connection itself, resumed by Last-Event-ID). The
//!   events it applied must be contiguous by seq from its snapshot on, include a note
//!   acknowledged just before each stop, and catch up with the server's head.

mod api;
mod clients;
mod decisions;
mod delivery;
mod host;
mod memory;
mod phase;
mod reconnect;
mod report;
mod round_trips;
mod server;
mod stats;
mod stream;

use std::time::{Duration, Instant};

use api::Api;
use host::{check_open_files, uptime};
use phase::measure_phase;
use reconnect::{RESTARTS, measure_restarts};
use report::{print_phases, print_restarts, print_server_complaints};
use round_trips::RoundTrips;
use server::{Setup, stop_server};

const CLIENT_COUNTS: [usize; 2] = [100, 1_000];
const STARTUP_LIMIT: Duration = Duration::from_secs(300);

type BenchResult<T> = Result<T, String>;

async fn run() -> BenchResult<()> {
    let most = CLIENT_COUNTS.iter().copied().max().unwrap_or_default();
    check_open_files(most)?;
    // reqwest is built without a crypto provider; the server and the link pick ring too.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let setup = Setup::new()?;
    let measured = measure_all(&setup).await;
    if measured.is_err() {
        print_server_complaints(&setup);
    }
    measured
}

async fn measure_all(setup: &Setup) -> BenchResult<()> {
    let load_before = uptime();
    let api = Api::new(setup)?;
    let spawned = Instant::now();
    let mut server = setup.spawn_server()?;
    api.wait_healthy(STARTUP_LIMIT).await?;
    eprintln!(
        "server ready on a fresh store (an hour of demo history backfilled) in {:.1} s",
        spawned.elapsed().as_secs_f64()
    );

    let mut idle_trips = RoundTrips::default();
    let mut phases = Vec::new();
    for (i, &clients) in CLIENT_COUNTS.iter().enumerate() {
        if i > 0 {
            // A fresh process: its memory baseline holds no buffers freed by the last count.
            stop_server(&mut server).await?;
            server = setup.spawn_server()?;
            api.wait_healthy(STARTUP_LIMIT).await?;
        }
        eprintln!("measuring with {clients} SSE clients ...");
        let pid = server.0.id();
        let phase = measure_phase(setup, &api, pid, clients, &mut idle_trips).await?;
        phases.push(phase);
    }
    eprintln!("measuring {RESTARTS} restarts ...");
    let (restarts, continuity) = measure_restarts(setup, &api, &mut server).await?;
    stop_server(&mut server).await?;
    let load_after = uptime();

    println!();
    println!("opsdeck serve --demo on loopback ({})", setup.base_url());
    println!("load at start: {load_before}");
    println!();
    print_phases(&phases, &idle_trips);
    print_restarts(&restarts, &continuity);
    println!();
    println!("load at end:   {load_after}");
    print_server_complaints(setup);
    Ok(())
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    if let Err(e) = runtime.block_on(run()) {
        eprintln!("bench failed: {e}");
        std::process::exit(1);
    }
}
