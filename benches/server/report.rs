//! The report: the table of figures against their targets, and the details under it.

use std::time::Duration;

use crate::phase::Phase;
use crate::reconnect::{Continuity, Restart};
use crate::round_trips::RoundTrips;
use crate::server::Setup;
use crate::stats::{Spread, median_and_max, spread};

const TARGET_MEMORY_KIB: f64 = 32.0;
const TARGET_DELIVERY_P99: Duration = Duration::from_millis(50);
const TARGET_ROUND_TRIP_P99: Duration = Duration::from_millis(20);
const TARGET_RESUME: Duration = Duration::from_secs(2);

fn verdict(ok: bool) -> &'static str {
    if ok { "PASS" } else { "MISS" }
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// "p50 / p99 ms PASS" against a p99 target.
fn spread_cell(spread: Option<Spread>, target: Duration) -> String {
    match spread {
        Some(s) => format!(
            "{} / {} ms {} (n={})",
            ms(s.p50),
            ms(s.p99),
            verdict(s.p99 <= target),
            s.n
        ),
        None => "no samples".into(),
    }
}

fn row(label: &str, cells: &[String], target: &str) {
    print!("{label:<32}");
    for cell in cells {
        print!("{cell:<32}");
    }
    println!("{target}");
}

/// One column per client count, the no-client round trips first.
pub fn print_phases(phases: &[Phase], idle: &RoundTrips) {
    let mut heads = vec!["no SSE client".to_string()];
    heads.extend(phases.iter().map(|p| format!("{} SSE clients", p.clients)));
    row("", &heads, "target");
    let cells = |first: String, f: &dyn Fn(&Phase) -> String| {
        std::iter::once(first)
            .chain(phases.iter().map(f))
            .collect::<Vec<_>>()
    };
    let trips = |samples: &[Duration]| spread_cell(spread(samples.to_vec()), TARGET_ROUND_TRIP_P99);
    let memory = |p: &Phase| {
        let kib = p.kib_per_client();
        format!("{kib:.1} KiB {}", verdict(kib <= TARGET_MEMORY_KIB))
    };
    row(
        "memory per client",
        &cells("-".into(), &memory),
        "<= 32 KiB",
    );
    let delivery = |p: &Phase| spread_cell(p.delivery, TARGET_DELIVERY_P99);
    row(
        "event delivery p50 / p99",
        &cells("-".into(), &delivery),
        "p99 <= 50 ms at 1,000",
    );
    let notes = |p: &Phase| trips(&p.round_trips.notes);
    row(
        "round trip, notes p50 / p99",
        &cells(trips(&idle.notes), &notes),
        "p99 <= 20 ms",
    );
    let approvals = |p: &Phase| trips(&p.round_trips.approvals);
    row(
        "round trip, approvals p50 / p99",
        &cells(trips(&idle.approvals), &approvals),
        "p99 <= 20 ms",
    );
    println!();
    for p in phases {
        print_phase_details(p);
    }
    println!(
        "  approvals refused (decided or expired meanwhile): {} with no client",
        idle.approvals_refused
    );
}

fn print_phase_details(p: &Phase) {
    println!(
        "  {} clients: VmRSS {} KiB idle -> {} KiB connected -> {} KiB after the load",
        p.clients, p.rss_idle_kib, p.rss_clients_kib, p.rss_loaded_kib
    );
    println!(
        "    stream: {:.1} events/s per client during the window ({:.1} the bench's notes, the \
         rest the demo fleet), {} B per event on the wire",
        p.events_per_second, p.notes_per_second, p.mean_event_bytes
    );
    let first = p
        .first_reader
        .map(|s| format!("{} / {} ms", ms(s.p50), ms(s.p99)))
        .unwrap_or_else(|| "-".into());
    println!(
        "    delivery: {} (client, note) pairs, {} missing, {} resets, {} seq gaps, {} client \
         errors{}; first reader per note p50 / p99 {first}; {} approvals refused",
        p.pairs,
        p.missing,
        p.resets,
        p.gaps,
        p.errors.len(),
        p.errors
            .first()
            .map(|e| format!(" (first: {e})"))
            .unwrap_or_default(),
        p.round_trips.approvals_refused
    );
}

pub fn print_restarts(restarts: &[Restart], c: &Continuity) {
    println!();
    println!("reconnect and resume after SIGTERM + restart (the remote link, ms):");
    println!(
        "  {:<4}{:>10}{:>18}{:>24}{:>20}{:>20}",
        "run", "stop", "spawn->healthz", "healthz->reconnected", "healthz->event", "spawn->event"
    );
    for (i, r) in restarts.iter().enumerate() {
        println!(
            "  {:<4}{:>10}{:>18}{:>24}{:>20}{:>20}",
            i + 1,
            ms(r.stop),
            ms(r.spawn_to_healthy),
            ms(r.healthy_to_reconnected),
            ms(r.healthy_to_event),
            ms(r.spawn_to_event)
        );
    }
    let (median, max) = median_and_max(restarts.iter().map(|r| r.healthy_to_event).collect());
    let (spawn_median, spawn_max) =
        median_and_max(restarts.iter().map(|r| r.spawn_to_event).collect());
    println!(
        "  from /healthz: median {} max {} ms {}   from spawn: median {} max {} ms {}   target < 2 s",
        ms(median),
        ms(max),
        verdict(max < TARGET_RESUME),
        ms(spawn_median),
        ms(spawn_max),
        verdict(spawn_max < TARGET_RESUME)
    );
    let contiguous = c.gaps == 0 && c.duplicates == 0 && c.resets == 0 && c.first_is_next;
    println!(
        "  {} events applied: {} gaps, {} duplicates, {} resets, first = snapshot seq + 1: {}; \
         acknowledged notes lost: {}; caught up with the server: {} -> {}",
        c.events,
        c.gaps,
        c.duplicates,
        c.resets,
        c.first_is_next,
        c.acknowledged_lost,
        c.caught_up,
        verdict(contiguous && c.acknowledged_lost == 0 && c.caught_up)
    );
}

pub fn print_server_complaints(setup: &Setup) {
    let complaints = setup.server_complaints();
    if !complaints.is_empty() {
        println!("server stderr, warnings and errors ({}):", complaints.len());
        for line in complaints.iter().take(10) {
            println!("  {line}");
        }
    }
}
