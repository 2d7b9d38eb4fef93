//! Work arriving in bursts, with dependencies; outages; rollouts; what agents escalate.

use chrono::Duration;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::fleet::{ESCALATIONS, OUTAGES, ROLLOUTS, TEAMS, TeamSpec};
use super::{Totals, run_batch};
use crate::engine::EngineError;
use crate::model::Classification;
use crate::protocol::{Actor, Command, RaiseEscalation, Reply, StartRollout, SubmitTask};

/// The demo's scenario repeats every six hours on the real clock.
const CYCLE_MIN: i64 = 360;
/// Tasks per minute per team outside bursts.
const BASE_RATE: f64 = 0.6;

pub struct Workload {
    rng: ChaCha8Rng,
    /// Per team: (burst start, burst end) in minutes of the cycle.
    bursts: Vec<Vec<(i64, i64)>>,
    /// Per team: the minute of the cycle a big batch of work is dumped, if any.
    dumps: Vec<Option<i64>>,
    dumped: Vec<i64>,
}

fn cycle_minute(elapsed: Duration) -> i64 {
    elapsed.num_minutes().rem_euclid(CYCLE_MIN)
}

pub fn outage_failure(domain: &str, elapsed: Duration) -> f64 {
    let m = cycle_minute(elapsed);
    OUTAGES
        .iter()
        .filter(|o| {
            o.domain == domain && m >= o.starts_after_min && m < o.starts_after_min + o.minutes
        })
        .map(|o| o.failure)
        .sum()
}

pub fn canary_penalty(rollout_name: &str) -> f64 {
    ROLLOUTS
        .iter()
        .find(|r| r.name == rollout_name)
        .map(|r| r.canary_penalty)
        .unwrap_or(0.0)
}

pub fn failure_text(rng: &mut ChaCha8Rng) -> &'static str {
    const ERRORS: [&str; 6] = [
        "tool call timed out after 60s",
        "upstream API returned 503",
        "test suite failed: 3 assertions",
        "rate limited by the model provider",
        "permission denied writing to the repository",
        "output failed schema validation",
    ];
    ERRORS[rng.random_range(0..ERRORS.len())]
}

pub fn execution_note(rng: &mut ChaCha8Rng, spec: &TeamSpec) -> String {
    const NOTES: [&str; 5] = [
        "chose {skill} tooling from the approved list",
        "split the change into two smaller pull requests",
        "cached intermediate results to cut model calls",
        "retried a flaky step with a smaller batch",
        "picked the incremental approach over a rewrite",
    ];
    let skill = spec.skills[rng.random_range(0..spec.skills.len())];
    NOTES[rng.random_range(0..NOTES.len())].replace("{skill}", skill)
}

/// Draws an escalation from the weighted catalogue, worded for this team and task.
pub fn escalation(
    rng: &mut ChaCha8Rng,
    agent: &str,
    spec: &TeamSpec,
    task: Option<String>,
) -> Command {
    let total: u32 = ESCALATIONS.iter().map(|e| e.weight).sum();
    let mut pick = rng.random_range(0..total);
    let e = ESCALATIONS
        .iter()
        .find(|e| {
            if pick < e.weight {
                true
            } else {
                pick -= e.weight;
                false
            }
        })
        .expect("the pick is below the total weight");
    let task_name = task.clone().unwrap_or_else(|| "the current work".into());
    let fill = |s: &str| {
        s.replace("{task}", &task_name)
            .replace("{team}", spec.team)
            .replace("{domain}", spec.domain)
    };
    let classification = match rng.random_range(0..10) {
        0 => Classification::Sensitive,
        1..=2 => Classification::Public,
        _ => Classification::Internal,
    };
    Command::RaiseEscalation(RaiseEscalation {
        agent: agent.to_string(),
        category: e.category,
        summary: fill(e.summary),
        context: fill(e.context),
        options_considered: e.options.iter().map(|o| fill(o)).collect(),
        recommendation: fill(e.recommendation),
        classification,
        related_tasks: task.into_iter().collect(),
        tool_call: None,
        session: None,
        callback_url: None,
        policy_rule: None,
    })
}

fn poisson(rng: &mut ChaCha8Rng, mean: f64) -> u32 {
    if mean <= 0.0 {
        return 0;
    }
    let limit = (-mean).exp();
    let mut k = 0;
    let mut p = 1.0;
    loop {
        p *= rng.random::<f64>();
        if p <= limit || k > 1000 {
            return k;
        }
        k += 1;
    }
}

impl Workload {
    pub fn new(seed: u64) -> Workload {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let bursts = TEAMS
            .iter()
            .map(|_| {
                let mut at = rng.random_range(20..90);
                let mut out = Vec::new();
                while at < CYCLE_MIN {
                    let len = rng.random_range(10..25);
                    out.push((at, at + len));
                    at += len + rng.random_range(50..110);
                }
                out
            })
            .collect();
        let dumps = (0..TEAMS.len())
            .map(|t| match t {
                1 => Some(45),
                5 => Some(165),
                7 => Some(290),
                _ => None,
            })
            .collect();
        Workload {
            rng,
            bursts,
            dumps,
            dumped: vec![-1; TEAMS.len()],
        }
    }

    pub fn start_rollouts(
        &mut self,
        engine: &mut impl super::Driver,
        elapsed: Duration,
        totals: &mut Totals,
    ) -> Result<(), EngineError> {
        let minute = elapsed.num_minutes();
        let mut batch = Vec::new();
        for spec in &ROLLOUTS {
            let exists = engine
                .state()
                .rollouts
                .values()
                .any(|r| r.name == spec.name);
            if minute >= spec.starts_after_min && !exists {
                batch.push((
                    Actor::Orchestrator {
                        domain: Some(spec.domain.to_string()),
                    },
                    Command::StartRollout(StartRollout {
                        name: spec.name.to_string(),
                        kind: spec.kind,
                        target_version: spec.target_version.to_string(),
                        domain: spec.domain.to_string(),
                        auto_promote: spec.auto_promote,
                    }),
                ));
            }
        }
        run_batch(engine, batch, totals)?;
        Ok(())
    }

    pub fn arrivals(
        &mut self,
        engine: &mut impl super::Driver,
        elapsed: Duration,
        dt: Duration,
        totals: &mut Totals,
    ) -> Result<(), EngineError> {
        let minutes = dt.num_milliseconds() as f64 / 60_000.0;
        let m = cycle_minute(elapsed);
        let cycle = elapsed.num_minutes().div_euclid(CYCLE_MIN);
        // Chains: each wave depends on the tasks the wave before created.
        let mut heads: Vec<(Actor, Command)> = Vec::new();
        let mut chains: Vec<(usize, u8)> = Vec::new();
        for (t, spec) in TEAMS.iter().enumerate() {
            let bursting = self.bursts[t].iter().any(|(s, e)| m >= *s && m < *e);
            let rate = BASE_RATE * if bursting { 2.4 } else { 1.0 };
            let mut count = poisson(&mut self.rng, rate * minutes);
            if let Some(at) = self.dumps[t]
                && m >= at
                && self.dumped[t] < cycle
            {
                self.dumped[t] = cycle;
                count += 50;
            }
            for _ in 0..count {
                let priority = match self.rng.random_range(0..20) {
                    0 => 1,
                    1..=4 => 2,
                    5..=14 => 3,
                    _ => 4,
                };
                let follow_ups = match self.rng.random_range(0..10) {
                    0 => 2,
                    1 => 1,
                    _ => 0,
                };
                heads.push(self.task(spec, priority, vec![]));
                chains.push((t, follow_ups));
            }
        }
        let mut wave = run_batch(engine, heads, totals)?;
        for depth in 1..=2u8 {
            let mut next = Vec::new();
            let mut next_chains = Vec::new();
            for ((t, follow_ups), created) in chains.iter().zip(&wave) {
                if let Some(Reply::Created { id }) = created
                    && *follow_ups >= depth
                {
                    next.push(self.task(&TEAMS[*t], 3, vec![id.clone()]));
                    next_chains.push((*t, *follow_ups));
                }
            }
            if next.is_empty() {
                break;
            }
            wave = run_batch(engine, next, totals)?;
            chains = next_chains;
        }
        Ok(())
    }

    fn task(&mut self, spec: &TeamSpec, priority: u8, depends_on: Vec<String>) -> (Actor, Command) {
        let title = spec.work[self.rng.random_range(0..spec.work.len())];
        let skill = spec.skills[self.rng.random_range(0..spec.skills.len())];
        let title = if depends_on.is_empty() {
            title.to_string()
        } else {
            format!("verify: {title}")
        };
        (
            Actor::Orchestrator {
                domain: Some(spec.domain.to_string()),
            },
            Command::SubmitTask(SubmitTask {
                title,
                domain: spec.domain.to_string(),
                team: spec.team.to_string(),
                priority,
                skills: vec![skill.to_string()],
                depends_on,
            }),
        )
    }
}
