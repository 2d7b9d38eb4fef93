//! The demo fleet: a seeded, deterministic organisation of agents and operators that drives the
//! engine through its public commands only, on a simulated clock (as fast as it can) or on the
//! real one (inside the console and `serve --demo`).

mod fleet;
mod operators;
mod remote;
mod workload;

use chrono::Duration;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::config::Config;
use crate::engine::{Engine, EngineError};
use crate::model::{Severity, State, Timestamp};
use crate::protocol::{
    Actor, Command, CompleteTask, Heartbeat, LeaseTask, Outcome, RecordExecution, RegisterAgent,
    Reply, ReportIncident, TaskOutcome,
};

/// What the fleet acts on: the engine in this process, or a remote orchestrator through its
/// agent endpoints.
pub trait Driver {
    fn state(&self) -> &State;
    fn config(&self) -> &Config;
    /// Runs commands in order; the outer error means none could be tried.
    fn execute_batch(
        &mut self,
        batch: Vec<(Actor, Command)>,
    ) -> Result<Vec<Result<Outcome, EngineError>>, EngineError>;
    /// After a step: the engine runs its timers; a remote fleet refreshes what it knows.
    fn tick(&mut self) -> Result<(), EngineError>;
    /// The whole organisation (operators deciding, orchestrators starting rollouts) or only the
    /// agents (a fleet joining a remote orchestrator, where people decide in their consoles).
    fn whole_organisation(&self) -> bool {
        true
    }
}

impl Driver for Engine {
    fn state(&self) -> &State {
        Engine::state(self)
    }

    fn config(&self) -> &Config {
        Engine::config(self)
    }

    fn execute_batch(
        &mut self,
        batch: Vec<(Actor, Command)>,
    ) -> Result<Vec<Result<Outcome, EngineError>>, EngineError> {
        Engine::execute_batch(self, batch)
    }

    fn tick(&mut self) -> Result<(), EngineError> {
        Engine::tick(self).map(|_| ())
    }
}

pub use fleet::{AGENTS_PER_TEAM, TEAMS};
pub use remote::{FleetError, RemoteFleet};

/// How often the demo acts on the simulated clock.
pub const STEP: Duration = Duration::seconds(5);

/// Steps of a simulated run committed together (a simulated hour): the pages every step rewrites
/// (the head, the agents, the right edge of each index) reach the log once per group.
const GROUP_STEPS: u32 = 720;

const HEARTBEAT_EVERY: Duration = Duration::seconds(10);

struct SimAgent {
    team: usize,
    name: String,
    id: Option<String>,
    skills: Vec<String>,
    reliability: f64,
    speed: f64,
    running: Option<(String, Timestamp)>,
    down_until: Option<Timestamp>,
    next_heartbeat: Timestamp,
}

pub struct Sim {
    rng: ChaCha8Rng,
    start: Option<Timestamp>,
    last: Option<Timestamp>,
    agents: Vec<SimAgent>,
    operators: operators::Operators,
    workload: workload::Workload,
}

/// What a run did, for `demo run`'s summary.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Totals {
    pub steps: u64,
    pub commands: u64,
    pub refused: u64,
}

impl Sim {
    pub fn new(seed: u64) -> Sim {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut agents = Vec::new();
        for (t, spec) in fleet::TEAMS.iter().enumerate() {
            for i in 0..fleet::AGENTS_PER_TEAM {
                let name = fleet::AGENT_NAMES[t * fleet::AGENTS_PER_TEAM + i].to_string();
                // Every skill is held by at least two agents of the team; the last has all.
                let skills = spec
                    .skills
                    .iter()
                    .enumerate()
                    .filter(|(k, _)| i == fleet::AGENTS_PER_TEAM - 1 || *k != i % spec.skills.len())
                    .map(|(_, s)| s.to_string())
                    .collect();
                let flaky = rng.random_bool(0.08);
                agents.push(SimAgent {
                    team: t,
                    name,
                    id: None,
                    skills,
                    reliability: if flaky {
                        rng.random_range(0.45..0.6)
                    } else {
                        rng.random_range(0.93..0.995)
                    },
                    speed: rng.random_range(0.7..1.4),
                    running: None,
                    down_until: None,
                    next_heartbeat: Timestamp::MIN_UTC,
                });
            }
        }
        let op_seed = rng.random();
        let work_seed = rng.random();
        Sim {
            rng,
            start: None,
            last: None,
            agents,
            operators: operators::Operators::new(op_seed),
            workload: workload::Workload::new(work_seed),
        }
    }

    /// Runs the fleet on a simulated clock from `start` for `duration`, as fast as it can.
    pub fn run(
        &mut self,
        engine: &mut Engine,
        start: Timestamp,
        duration: Duration,
    ) -> Result<Totals, EngineError> {
        let mut totals = Totals::default();
        let end = start + duration;
        let mut now = start;
        while now <= end {
            engine.grouped(|engine| {
                for _ in 0..GROUP_STEPS {
                    if now > end {
                        break;
                    }
                    engine.clock().set(now);
                    self.step(engine, now, &mut totals)?;
                    now += STEP;
                }
                Ok(())
            })?;
        }
        Ok(totals)
    }

    /// Keeps the simulated colleagues from deciding `id` until `until` (a person has a dialog
    /// open on it).
    pub fn hold(&mut self, id: &str, until: Timestamp) {
        self.operators.hold(id, until);
    }

    /// One step of the fleet at `now`: work arrives, agents report and work, operators act,
    /// then the engine runs its timers.
    pub fn step(
        &mut self,
        engine: &mut impl Driver,
        now: Timestamp,
        totals: &mut Totals,
    ) -> Result<(), EngineError> {
        let start = *self.start.get_or_insert(now);
        let dt = self.last.map(|l| now - l).unwrap_or_default();
        self.last = Some(now);
        if self.agents.iter().any(|a| a.id.is_none()) {
            self.join(engine, totals)?;
        }
        let elapsed = now - start;
        let organisation = engine.whole_organisation();
        if organisation {
            self.workload.start_rollouts(engine, elapsed, totals)?;
        }
        self.workload.arrivals(engine, elapsed, dt, totals)?;
        self.agents_act(engine, now, elapsed, dt, totals)?;
        if organisation {
            self.operators.act(engine, now, totals)?;
        }
        engine.tick()?;
        totals.steps += 1;
        Ok(())
    }

    /// Registers the fleet, adopting agents a previous run on this store registered.
    fn join(&mut self, engine: &mut impl Driver, totals: &mut Totals) -> Result<(), EngineError> {
        let mut register = Vec::new();
        for agent in self.agents.iter_mut().filter(|a| a.id.is_none()) {
            let spec = &fleet::TEAMS[agent.team];
            if let Some(existing) = engine
                .state()
                .agents
                .values()
                .find(|a| a.name == agent.name && a.domain == spec.domain)
            {
                agent.id = Some(existing.id.clone());
                continue;
            }
            register.push((
                Actor::Orchestrator {
                    domain: Some(spec.domain.to_string()),
                },
                Command::RegisterAgent(RegisterAgent {
                    name: agent.name.clone(),
                    domain: spec.domain.to_string(),
                    team: spec.team.to_string(),
                    skills: agent.skills.clone(),
                    version: "2.3.1".into(),
                }),
            ));
        }
        let pending: Vec<usize> = (0..self.agents.len())
            .filter(|i| self.agents[*i].id.is_none())
            .collect();
        let results = run_batch(engine, register, totals)?;
        for (i, result) in pending.into_iter().zip(results) {
            if let Some(Reply::Created { id }) = result {
                self.agents[i].id = Some(id);
            }
        }
        Ok(())
    }

    fn agents_act(
        &mut self,
        engine: &mut impl Driver,
        now: Timestamp,
        elapsed: Duration,
        dt: Duration,
        totals: &mut Totals,
    ) -> Result<(), EngineError> {
        let hours = dt.num_milliseconds() as f64 / 3_600_000.0;
        let mut batch = Vec::new();
        let mut leasing = Vec::new();
        let mut completing = Vec::new();
        for i in 0..self.agents.len() {
            let state = engine.state();
            let agent = &mut self.agents[i];
            let Some(id) = agent.id.clone() else { continue };
            let actor = Actor::agent(&id);
            if agent.down_until.is_some_and(|d| d > now) {
                continue;
            }
            agent.down_until = None;
            if self.rng.random_bool((0.12 * hours).min(1.0)) {
                // The agent crashes: its work is lost until its lease runs out.
                let minutes = self.rng.random_range(2..12);
                agent.down_until = Some(now + Duration::minutes(minutes));
                agent.running = None;
                continue;
            }
            if agent.next_heartbeat <= now {
                batch.push((
                    actor.clone(),
                    Command::Heartbeat(Heartbeat { agent: id.clone() }),
                ));
                agent.next_heartbeat = now + HEARTBEAT_EVERY;
            }
            match &agent.running {
                Some((task, finish_at)) if *finish_at <= now => {
                    let domain = fleet::TEAMS[agent.team].domain;
                    let cohort = state.agents.get(&id).and_then(|a| a.rollout.clone());
                    let penalty = cohort
                        .and_then(|r| state.rollouts.get(&r))
                        .map(|r| workload::canary_penalty(&r.name))
                        .unwrap_or(0.0);
                    let fail_p = ((1.0 - agent.reliability)
                        + workload::outage_failure(domain, elapsed)
                        + penalty)
                        .min(0.95);
                    let outcome = if self.rng.random_bool(fail_p) {
                        TaskOutcome::Failed {
                            error: workload::failure_text(&mut self.rng).into(),
                        }
                    } else {
                        TaskOutcome::Succeeded
                    };
                    batch.push((
                        actor.clone(),
                        Command::CompleteTask(CompleteTask {
                            agent: id.clone(),
                            task: task.clone(),
                            outcome,
                        }),
                    ));
                    completing.push(i);
                }
                Some(_) => {}
                None => {
                    leasing.push((i, batch.len()));
                    batch.push((
                        actor.clone(),
                        Command::LeaseTask(LeaseTask { agent: id.clone() }),
                    ));
                }
            }
            self.agent_extras(i, &id, hours, &mut batch);
        }
        for i in completing {
            self.agents[i].running = None;
        }
        let results = run_batch(engine, batch, totals)?;
        for (i, at) in leasing {
            if let Some(Some(Reply::Lease(Some(task)))) = results.get(at) {
                let agent = &mut self.agents[i];
                let secs = 150.0 * agent.speed * self.rng.random_range(0.4..2.0);
                agent.running = Some((task.id.clone(), now + Duration::seconds(secs as i64)));
            }
        }
        Ok(())
    }

    /// Now and then an agent escalates, reports an incident or records a notable execution.
    fn agent_extras(&mut self, i: usize, id: &str, hours: f64, batch: &mut Vec<(Actor, Command)>) {
        let agent = &self.agents[i];
        let spec = &fleet::TEAMS[agent.team];
        let actor = Actor::agent(id);
        let task = agent.running.as_ref().map(|(t, _)| t.clone());
        if self.rng.random_bool((0.3 * hours).min(1.0)) {
            batch.push((
                actor.clone(),
                workload::escalation(&mut self.rng, id, spec, task.clone()),
            ));
        }
        if self.rng.random_bool((0.03 * hours).min(1.0)) {
            let roll: f64 = self.rng.random();
            let (severity, title) = if roll < 0.1 {
                (
                    Severity::Sev2,
                    format!(
                        "{} customers see errors after a {} change",
                        spec.domain, spec.team
                    ),
                )
            } else if roll < 0.55 {
                (
                    Severity::Sev3,
                    format!("{} dependency responding slowly", spec.team),
                )
            } else {
                (
                    Severity::Sev4,
                    format!("{} nightly job finished late", spec.team),
                )
            };
            batch.push((
                actor.clone(),
                Command::ReportIncident(ReportIncident {
                    agent: id.to_string(),
                    severity,
                    title,
                }),
            ));
        }
        if self.rng.random_bool((0.4 * hours).min(1.0)) {
            batch.push((
                actor,
                Command::RecordExecution(RecordExecution {
                    agent: id.to_string(),
                    summary: workload::execution_note(&mut self.rng, spec),
                    context: String::new(),
                    outcome: "done".into(),
                    related_tasks: task.into_iter().collect(),
                }),
            ));
        }
    }
}

/// Runs a batch; refusals are part of life (a lease ran out, someone decided first).
fn run_batch(
    engine: &mut impl Driver,
    batch: Vec<(Actor, Command)>,
    totals: &mut Totals,
) -> Result<Vec<Option<Reply>>, EngineError> {
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    totals.commands += batch.len() as u64;
    let results = engine.execute_batch(batch)?;
    Ok(results
        .into_iter()
        .map(|r| match r {
            Ok(outcome) => Some(outcome.reply),
            Err(EngineError::Store(e)) => {
                tracing::error!("demo command failed in the store: {e}");
                None
            }
            Err(_) => {
                totals.refused += 1;
                None
            }
        })
        .collect())
}
