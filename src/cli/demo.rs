//! `demo run`: the fleet on a simulated clock, as fast as it goes.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;

use super::context::Context;
use super::error::CliError;
use super::output::{emit_lines, emit_one};
use crate::engine::{Clock, Engine};
use crate::sim::{Sim, Totals};

#[derive(Serialize)]
struct Summary {
    seed: u64,
    simulated: String,
    wall_seconds: f64,
    totals: Totals,
    agents: usize,
    tasks_in_memory: usize,
    incidents_by_severity: BTreeMap<String, usize>,
    approvals_by_state: BTreeMap<String, usize>,
    rollouts: Vec<(String, String, String)>,
    audit_records: u64,
    events: u64,
}

/// Engine seed derived from the demo seed, so ids and jitter repeat with it.
fn engine_seed(seed: u64) -> u64 {
    seed ^ 0x6f70_7364_6563_6b21
}

pub fn run(
    ctx: &Context,
    seed: u64,
    duration: chrono::Duration,
    start: chrono::DateTime<chrono::Utc>,
) -> Result<(), CliError> {
    ctx.require_writable()?;
    crate::logging::init();
    let store = ctx.open_store()?;
    if !store.is_empty()? {
        return Err(CliError::Refused(format!(
            "{} already holds data; demo run needs an empty store: pass --store NEWFILE or --ephemeral",
            store.location()
        )));
    }
    let mut engine = Engine::open(
        store,
        ctx.config.clone(),
        Clock::manual(start),
        Some(engine_seed(seed)),
    )?;
    let began = Instant::now();
    let totals = Sim::new(seed).run(&mut engine, start, duration)?;
    let wall = began.elapsed().as_secs_f64();
    let state = engine.state();
    let mut incidents_by_severity = BTreeMap::new();
    for i in state.incidents.values() {
        *incidents_by_severity
            .entry(i.severity.as_str().to_string())
            .or_insert(0) += 1;
    }
    let mut approvals_by_state = BTreeMap::new();
    for a in state.approvals.values() {
        *approvals_by_state
            .entry(a.state.as_str().to_string())
            .or_insert(0) += 1;
    }
    let head = engine.store().head()?;
    let summary = Summary {
        seed,
        simulated: crate::duration::format(duration),
        wall_seconds: (wall * 1000.0).round() / 1000.0,
        totals,
        agents: state.agents.len(),
        tasks_in_memory: state.tasks.len(),
        incidents_by_severity,
        approvals_by_state,
        rollouts: state
            .rollouts
            .values()
            .map(|r| {
                (
                    r.id.clone(),
                    r.name.clone(),
                    format!("{} at {}", r.state.as_str(), r.current_phase),
                )
            })
            .collect(),
        audit_records: head.audit_seq,
        events: head.event_seq,
    };
    emit_lines(ctx.format(), &summary, || {
        vec![
            format!(
                "simulated {} of the demo fleet (seed {seed}) in {:.1}s: {} steps, {} commands ({} refused), {} audit records, {} events",
                summary.simulated,
                wall,
                summary.totals.steps,
                summary.totals.commands,
                summary.totals.refused,
                summary.audit_records,
                summary.events,
            ),
            format!("incidents: {:?}", summary.incidents_by_severity),
            format!("approvals: {:?}", summary.approvals_by_state),
            format!(
                "rollouts: {}",
                summary
                    .rollouts
                    .iter()
                    .map(|(id, name, st)| format!("{id} {name}: {st}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        ]
    })
}

/// `demo run --connect URL --agent-token T`: the fleet's agents join a remote orchestrator and
/// work through its agent endpoints on the real clock, one step a second, for `duration` (Ctrl-C
/// stops it sooner; nothing is left half-done, as each request is its own transaction).
pub fn run_remote(
    ctx: &Context,
    seed: u64,
    duration: chrono::Duration,
    agent_token: &str,
) -> Result<(), CliError> {
    let Some(mut target) = ctx.target_for_agents()? else {
        return Err(CliError::Usage(
            "--agent-token goes with --connect URL or --context NAME".into(),
        ));
    };
    target.token = agent_token.to_string();
    crate::logging::init();
    let mut fleet =
        crate::sim::RemoteFleet::connect(&target).map_err(|e| CliError::Runtime(e.to_string()))?;
    let mut sim = Sim::new(seed);
    let mut totals = crate::sim::Totals::default();
    let began = Instant::now();
    let until = began + duration.to_std().unwrap_or_default();
    let mut failures = 0u32;
    eprintln!(
        "opsdeck: the demo fleet joins {} as agents for {} (Ctrl-C stops it)",
        target.url,
        crate::duration::format(duration)
    );
    while Instant::now() < until {
        let step_started = Instant::now();
        let now = crate::model::truncate(chrono::Utc::now());
        match sim.step(&mut fleet, now, &mut totals) {
            Ok(()) => failures = 0,
            Err(e) => {
                failures += 1;
                tracing::warn!("demo step failed: {e}");
                if failures == 1 || failures.is_multiple_of(30) {
                    eprintln!(
                        "opsdeck: a step of the fleet failed (it goes on): {}",
                        crate::text::SafeText::new(&e.to_string())
                    );
                }
            }
        }
        let step = std::time::Duration::from_secs(1);
        std::thread::sleep(step.saturating_sub(step_started.elapsed()));
    }
    let summary = RemoteSummary {
        seed,
        url: target.url.clone(),
        wall_seconds: began.elapsed().as_secs(),
        agents: crate::sim::Driver::state(&fleet).agents.len(),
        totals,
    };
    emit_one(ctx.format(), &summary, || {
        format!(
            "the demo fleet ran {} s against {}: {} agents there, {} steps, {} requests ({} refused)",
            summary.wall_seconds,
            summary.url,
            summary.agents,
            summary.totals.steps,
            summary.totals.commands,
            summary.totals.refused
        )
    })
}

#[derive(serde::Serialize)]
struct RemoteSummary {
    seed: u64,
    url: String,
    wall_seconds: u64,
    agents: usize,
    totals: crate::sim::Totals,
}
