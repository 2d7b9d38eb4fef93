//! Progressive rollouts: canary 1 % → 25 % → 75 % → 100 %, each phase with a minimum duration;
//! a canary that errs more than its baseline allows pauses itself; abort rolls back.

use chrono::Duration;

use super::txn::Txn;
use super::{EngineError, guard};
use crate::model::{
    ActionType, Agent, AuditDetails, Change, EntityKind, Phase, PhaseState, Rollout, RolloutHealth,
    RolloutKind, RolloutState,
};
use crate::protocol::limits;
use crate::protocol::{Actor, Reply, RolloutAction};

const LATENCY_SAMPLES: usize = 50;

fn get(txn: &Txn<'_>, id: &str) -> Result<Rollout, EngineError> {
    txn.state
        .rollouts
        .get(id)
        .cloned()
        .ok_or_else(|| EngineError::not_found(EntityKind::Rollout, id))
}

fn min_duration(txn: &Txn<'_>, phase: &str) -> Duration {
    let r = &txn.config.rollouts;
    match phase {
        "canary" => r.canary_min,
        "early_majority" => r.early_majority_min,
        "majority" => r.majority_min,
        _ => Duration::zero(),
    }
}

/// Agents of the domain in a stable order: the first ones become the canaries.
fn domain_agents(txn: &Txn<'_>, domain: &str) -> Vec<Agent> {
    let mut agents: Vec<Agent> = txn
        .state
        .agents
        .values()
        .filter(|a| a.domain == domain)
        .cloned()
        .collect();
    agents.sort_by(|a, b| {
        crate::model::ids::natural_key(&a.id).cmp(&crate::model::ids::natural_key(&b.id))
    });
    agents
}

/// Brings the cohort up to the phase's share of the domain's agents (at least one).
fn enroll(txn: &mut Txn<'_>, rollout: &Rollout) {
    let agents = domain_agents(txn, &rollout.domain);
    let want = ((agents.len() as f64 * rollout.percent() as f64 / 100.0).ceil() as usize).max(1);
    let mut have = agents
        .iter()
        .filter(|a| a.rollout.as_deref() == Some(&rollout.id))
        .count();
    for mut agent in agents {
        if have >= want {
            break;
        }
        if agent.rollout.is_none() {
            agent.rollout = Some(rollout.id.clone());
            txn.put(Change::Agent(agent));
            have += 1;
        }
    }
}

/// Clears the cohort; on completion the whole domain carries the new version.
fn release(txn: &mut Txn<'_>, rollout: &Rollout, completed: bool) {
    for mut agent in domain_agents(txn, &rollout.domain) {
        let in_cohort = agent.rollout.as_deref() == Some(&rollout.id);
        let upgrade = completed && rollout.kind == RolloutKind::AgentVersion;
        if in_cohort || upgrade {
            agent.rollout = None;
            if upgrade {
                agent.version = rollout.target_version.clone();
            }
            txn.put(Change::Agent(agent));
        }
    }
}

pub fn start(
    txn: &mut Txn<'_>,
    actor: &Actor,
    name: &str,
    kind: RolloutKind,
    target_version: &str,
    domain: &str,
    auto_promote: bool,
) -> Result<Reply, EngineError> {
    if let Actor::Operator { .. } = actor {
        guard::operator_for(actor, domain)?;
    }
    let name = guard::text(name, "name", limits::NAME.max_chars)?;
    let target_version = guard::text(target_version, "target_version", limits::VERSION.max_chars)?;
    if !txn.config.engine.domains.iter().any(|d| d == domain) {
        return Err(EngineError::Invalid(format!("unknown domain {domain:?}")));
    }
    if txn
        .state
        .rollouts
        .values()
        .any(|r| r.domain == domain && !r.state.is_final())
    {
        return Err(EngineError::conflict(
            format!("{domain} already has a rollout in progress; finish or abort it first"),
            None,
        ));
    }
    let id = txn.next_id(EntityKind::Rollout);
    let phases = Rollout::PHASES
        .iter()
        .enumerate()
        .map(|(i, (phase, percent))| Phase {
            name: phase.to_string(),
            percent: *percent,
            min_duration_s: min_duration(txn, phase).num_seconds() as u64,
            state: if i == 0 {
                PhaseState::Active
            } else {
                PhaseState::Pending
            },
            started_at: (i == 0).then_some(txn.now),
            completed_at: None,
        })
        .collect();
    let rollout = Rollout {
        id: id.clone(),
        name: name.clone(),
        kind,
        target_version: target_version.clone(),
        domain: domain.to_string(),
        state: RolloutState::Progressing,
        current_phase: "canary".into(),
        phases,
        health: RolloutHealth::default(),
        max_error_ratio: txn.config.rollouts.max_error_ratio,
        min_samples: txn.config.rollouts.min_samples,
        auto_promote,
        paused_reason: None,
        gate_paused: false,
        started_at: txn.now,
        updated_at: txn.now,
        version: 1,
    };
    txn.put(Change::Rollout(rollout.clone()));
    enroll(txn, &rollout);
    txn.record(
        &actor.audit_id(),
        ActionType::Decision,
        domain,
        format!("started rollout {id} {name} ({target_version}) at canary 1%"),
        AuditDetails {
            decision: "start rollout".into(),
            outcome: "canary".into(),
            ..Default::default()
        },
        vec![],
    );
    Ok(Reply::Rollout(Box::new(rollout)))
}

/// Moves to the next phase; the last one completes the rollout.
fn advance(txn: &mut Txn<'_>, r: &mut Rollout) -> String {
    let i = r.phase_index();
    r.phases[i].state = PhaseState::Done;
    r.phases[i].completed_at = Some(txn.now);
    let next = &mut r.phases[i + 1];
    next.state = PhaseState::Active;
    next.started_at = Some(txn.now);
    r.current_phase = next.name.clone();
    let percent = next.percent;
    if i + 1 == r.phases.len() - 1 {
        let last = r.phases.len() - 1;
        r.phases[last].state = PhaseState::Done;
        r.phases[last].completed_at = Some(txn.now);
        r.state = RolloutState::Completed;
        release(txn, r, true);
    } else {
        enroll(txn, r);
    }
    format!("{} {percent}%", r.current_phase)
}

fn bump(txn: &mut Txn<'_>, r: &mut Rollout) {
    r.version += 1;
    r.updated_at = txn.now;
    txn.put(Change::Rollout(r.clone()));
}

pub fn act(
    txn: &mut Txn<'_>,
    actor: &Actor,
    id: &str,
    action: RolloutAction,
    reason: Option<String>,
    expected_version: Option<u64>,
) -> Result<Reply, EngineError> {
    let mut r = get(txn, id)?;
    guard::operator_for(actor, &r.domain)?;
    guard::version(expected_version, r.version, id)?;
    let reason = match action {
        RolloutAction::Pause | RolloutAction::Abort => Some(guard::reason(
            reason.as_deref().unwrap_or(""),
            "pause or abort a rollout",
        )?),
        RolloutAction::Promote | RolloutAction::Resume => reason
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty()),
    };
    // The same refusal the console shows before anyone types a reason.
    if let Some(why) = action.refusal(&r, txn.now) {
        return Err(EngineError::conflict(why, Some(r.version)));
    }
    // An operator has acted on it: whatever the gate did is now theirs to carry.
    r.gate_paused = false;
    let (verb, outcome) = match action {
        RolloutAction::Promote => {
            r.state = RolloutState::Progressing;
            r.paused_reason = None;
            ("promoted", advance(txn, &mut r))
        }
        RolloutAction::Pause => {
            r.state = RolloutState::Paused;
            r.paused_reason = reason.clone();
            ("paused", "paused".to_string())
        }
        RolloutAction::Resume => {
            r.state = RolloutState::Progressing;
            r.paused_reason = None;
            ("resumed", "progressing".to_string())
        }
        RolloutAction::Abort => {
            r.state = RolloutState::RollingBack;
            ("aborted", "rolling back".to_string())
        }
    };
    bump(txn, &mut r);
    txn.record(
        &actor.audit_id(),
        ActionType::Decision,
        &r.domain.clone(),
        format!("{verb} rollout {id} {}: now {outcome}", r.name),
        AuditDetails {
            context: health_text(&r.health),
            decision: verb.into(),
            reasoning: reason.unwrap_or_default(),
            outcome,
            ..Default::default()
        },
        vec![],
    );
    Ok(Reply::Rollout(Box::new(r)))
}

fn health_text(h: &RolloutHealth) -> String {
    format!(
        "canary error rate {:.1}% over {} tasks vs baseline {:.1}% over {}; p95 {:.0} ms vs {:.0} ms",
        h.error_rate * 100.0,
        h.samples,
        h.baseline_error_rate * 100.0,
        h.baseline_samples,
        h.latency_p95_ms,
        h.baseline_latency_p95_ms
    )
}

fn p95(samples: &[u64]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    sorted[((sorted.len() as f64 * 0.95).ceil() as usize).clamp(1, sorted.len()) - 1] as f64
}

/// Folds one finished task into the health of the domain's live rollout: canary if the agent
/// is in the cohort, baseline otherwise.
pub fn record_outcome(txn: &mut Txn<'_>, agent: &Agent, ok: bool, duration_ms: u64) {
    let live = txn
        .state
        .rollouts
        .values()
        .find(|r| {
            r.domain == agent.domain
                && matches!(r.state, RolloutState::Progressing | RolloutState::Paused)
        })
        .cloned();
    let Some(mut r) = live else {
        return;
    };
    let failed = if ok { 0.0 } else { 1.0 };
    let h = &mut r.health;
    let (rate, n, lat, p) = if agent.rollout.as_deref() == Some(&r.id) {
        (
            &mut h.error_rate,
            &mut h.samples,
            &mut h.latency_samples_ms,
            &mut h.latency_p95_ms,
        )
    } else {
        (
            &mut h.baseline_error_rate,
            &mut h.baseline_samples,
            &mut h.baseline_latency_samples_ms,
            &mut h.baseline_latency_p95_ms,
        )
    };
    *n += 1;
    // A running mean at first, then a moving average over about the last 20 tasks.
    *rate += (failed - *rate) / (*n).min(20) as f64;
    *rate = (*rate * 10_000.0).round() / 10_000.0;
    lat.push(duration_ms);
    let excess = lat.len().saturating_sub(LATENCY_SAMPLES);
    lat.drain(..excess);
    *p = p95(lat);
    txn.put(Change::Rollout(r));
}

/// The rollout clock: health gates, automatic promotion, finishing rollbacks.
pub fn progress(txn: &mut Txn<'_>) {
    let live: Vec<Rollout> = txn
        .state
        .rollouts
        .values()
        .filter(|r| {
            matches!(
                r.state,
                RolloutState::Progressing | RolloutState::RollingBack
            )
        })
        .cloned()
        .collect();
    for mut r in live {
        let actor = format!("orchestrator:{}", r.domain);
        if r.state == RolloutState::RollingBack {
            release(txn, &r, false);
            r.state = RolloutState::Aborted;
            bump(txn, &mut r);
            txn.record(
                &actor,
                ActionType::Execution,
                &r.domain.clone(),
                format!(
                    "rolled back {} {}: no agent runs {} any more",
                    r.id, r.name, r.target_version
                ),
                AuditDetails {
                    outcome: "aborted".into(),
                    ..Default::default()
                },
                vec![],
            );
            continue;
        }
        let h = &r.health;
        let judged = h.samples >= r.min_samples;
        if r.unhealthy() {
            let why = format!(
                "canary error rate {:.1}% exceeds {}",
                h.error_rate * 100.0,
                r.error_gate()
            );
            r.state = RolloutState::Paused;
            r.paused_reason = Some(why.clone());
            r.gate_paused = true;
            bump(txn, &mut r);
            txn.record(
                &actor,
                ActionType::Decision,
                &r.domain.clone(),
                format!(
                    "paused rollout {} {} at {}: bad canary",
                    r.id, r.name, r.current_phase
                ),
                AuditDetails {
                    context: health_text(&r.health),
                    decision: "pause".into(),
                    reasoning: why,
                    outcome: "paused".into(),
                    ..Default::default()
                },
                vec![],
            );
            continue;
        }
        let phase = r.current();
        let elapsed = phase.started_at.map(|s| txn.now - s).unwrap_or_default();
        let ripe = elapsed >= Duration::seconds(phase.min_duration_s as i64);
        if r.auto_promote && ripe && judged {
            let to = advance(txn, &mut r);
            bump(txn, &mut r);
            txn.record(
                &actor,
                ActionType::Decision,
                &r.domain.clone(),
                format!("promoted rollout {} {} to {to}", r.id, r.name),
                AuditDetails {
                    context: health_text(&r.health),
                    decision: "promote".into(),
                    reasoning: "minimum phase duration passed with a healthy canary".into(),
                    outcome: to,
                    ..Default::default()
                },
                vec![],
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::p95;

    #[test]
    fn p95_picks_the_right_rank() {
        assert_eq!(p95(&[]), 0.0);
        assert_eq!(p95(&[5]), 5.0);
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(p95(&v), 95.0);
    }
}
