//! Tasks: submission, best-fit assignment, leases, completion, retries and dependencies.

use chrono::Duration;

use super::txn::Txn;
use super::{EngineError, agents, guard, incidents, rollouts};
use crate::model::{
    ActionType, Agent, AgentStatus, AuditDetails, Change, Circuit, EntityKind, IncidentSource,
    Severity, Task, TaskState,
};
use crate::protocol::limits;
use crate::protocol::{Actor, Reply, TaskOutcome};

fn get(txn: &Txn<'_>, id: &str) -> Result<Task, EngineError> {
    txn.state
        .tasks
        .get(id)
        .cloned()
        .ok_or_else(|| EngineError::not_found(EntityKind::Task, id))
}

/// The wait before retry `attempt` (1-based): base·2^(attempt−1), capped, with "equal jitter"
/// (half fixed, half random) so retries of a burst spread out.
pub fn backoff(base: Duration, max: Duration, attempt: u32, unit_random: f64) -> Duration {
    let exp = attempt.saturating_sub(1).min(20);
    let full = base
        .checked_mul(1i32 << exp)
        .unwrap_or(max)
        .min(max)
        .num_milliseconds() as f64;
    Duration::milliseconds((full / 2.0 + full / 2.0 * unit_random.clamp(0.0, 1.0)) as i64)
}

#[allow(clippy::too_many_arguments)]
pub fn submit(
    txn: &mut Txn<'_>,
    actor: &Actor,
    title: &str,
    domain: &str,
    team: &str,
    priority: u8,
    skills: Vec<String>,
    depends_on: Vec<String>,
) -> Result<Reply, EngineError> {
    if let Actor::Operator { .. } = actor {
        guard::operator_for(actor, domain)?;
    }
    guard::token_covers(actor, domain)?;
    let title = guard::text(title, "title", limits::TITLE.max_chars)?;
    let team = guard::text(team, "team", 80)?;
    if !txn.config.engine.domains.iter().any(|d| d == domain) {
        return Err(EngineError::Invalid(format!("unknown domain {domain:?}")));
    }
    if !(1..=4).contains(&priority) {
        return Err(EngineError::Invalid(format!(
            "priority must be 1 (most urgent) to 4, not {priority}"
        )));
    }
    for dep in &depends_on {
        if !txn.state.tasks.contains_key(dep) {
            return Err(EngineError::not_found(EntityKind::Task, dep));
        }
    }
    let id = txn.next_id(EntityKind::Task);
    let waiting = depends_on.iter().any(|d| {
        txn.state
            .tasks
            .get(d)
            .is_some_and(|t| t.state != TaskState::Succeeded)
    });
    let task = Task {
        id: id.clone(),
        title: title.clone(),
        domain: domain.to_string(),
        team: team.clone(),
        priority,
        skills,
        state: if waiting {
            TaskState::Blocked
        } else {
            TaskState::Queued
        },
        agent: None,
        created_at: txn.now,
        enqueued_at: txn.now,
        leased_at: None,
        lease_expires_at: None,
        started_at: None,
        finished_at: None,
        attempts: 0,
        max_attempts: txn.config.engine.max_attempts,
        not_before: None,
        depends_on,
        last_error: None,
    };
    agents::ensure_queue(txn, domain, &team);
    txn.put(Change::Task(task));
    txn.record(
        &actor.audit_id(),
        ActionType::Execution,
        domain,
        format!("submitted {id} to {domain}/{team}: {title}"),
        AuditDetails {
            outcome: if waiting { "blocked" } else { "queued" }.into(),
            ..Default::default()
        },
        vec![id.clone()],
    );
    Ok(Reply::Created { id })
}

fn ready(txn: &Txn<'_>, task: &Task) -> bool {
    task.state == TaskState::Queued && task.not_before.is_none_or(|t| t <= txn.now)
}

/// Can this agent take this task now?
fn fits(agent: &Agent, task: &Task) -> bool {
    agent.domain == task.domain
        && agent.status == AgentStatus::Idle
        && agent.current_task.is_none()
        && agent.in_rotation()
        && agent.has_skills(&task.skills)
}

/// Best fit among the agents that can take the task: same team first, then the least loaded,
/// then the most reliable, then the lowest id (so the choice is deterministic).
pub fn choose_agent<'a>(task: &Task, agents: impl Iterator<Item = &'a Agent>) -> Option<&'a Agent> {
    agents.filter(|a| fits(a, task)).min_by(|a, b| {
        let key = |x: &Agent| (x.team != task.team, x.consecutive_failures);
        key(a)
            .cmp(&key(b))
            .then(a.utilization.total_cmp(&b.utilization))
            .then(crate::model::ids::natural_key(&a.id).cmp(&crate::model::ids::natural_key(&b.id)))
    })
}

fn lease_to(txn: &mut Txn<'_>, mut task: Task, mut agent: Agent, actor: &str, why: &str) -> Task {
    task.state = TaskState::Leased;
    task.agent = Some(agent.id.clone());
    task.attempts += 1;
    task.leased_at = Some(txn.now);
    task.lease_expires_at = Some(txn.after(txn.config.engine.lease_ttl));
    task.not_before = None;
    agent.current_task = Some(task.id.clone());
    agent.status = AgentStatus::Busy;
    txn.record(
        actor,
        ActionType::Decision,
        &task.domain,
        format!(
            "assigned {} to {} (attempt {})",
            task.id, agent.id, task.attempts
        ),
        AuditDetails {
            decision: format!("lease to {}", agent.id),
            reasoning: why.to_string(),
            outcome: "leased".into(),
            ..Default::default()
        },
        vec![task.id.clone()],
    );
    txn.put(Change::Agent(agent));
    txn.put(Change::Task(task.clone()));
    task
}

/// Most urgent first, then longest waiting, then the older id.
fn urgency(a: &Task, b: &Task) -> std::cmp::Ordering {
    let key = |t: &Task| {
        (
            t.priority,
            t.enqueued_at,
            crate::model::ids::natural_key(&t.id).1,
        )
    };
    key(a).cmp(&key(b))
}

/// Ready tasks in the order they are handed out.
fn ready_tasks(txn: &Txn<'_>) -> Vec<Task> {
    let mut ready: Vec<Task> = txn
        .state
        .tasks
        .values()
        .filter(|t| ready(txn, t))
        .cloned()
        .collect();
    ready.sort_by(urgency);
    ready
}

/// Pushes ready tasks to their best-fit idle agents.
pub fn assign(txn: &mut Txn<'_>) {
    for task in ready_tasks(txn) {
        let Some(agent) = choose_agent(&task, txn.state.agents.values()).cloned() else {
            continue;
        };
        let actor = format!("orchestrator:{}", task.domain);
        lease_to(
            txn,
            task,
            agent,
            &actor,
            "best fit by skills, team and current load",
        );
    }
}

/// An agent asks for work: the task already leased to it, or the most urgent one it can take.
pub fn lease(txn: &mut Txn<'_>, actor: &Actor, agent_id: &str) -> Result<Reply, EngineError> {
    guard::agent_is(txn.state, actor, agent_id)?;
    let agent = agents::get(txn, agent_id)?;
    if let Some(task_id) = &agent.current_task
        && let Some(task) = txn.state.tasks.get(task_id).cloned()
        && matches!(task.state, TaskState::Leased | TaskState::Running)
    {
        let mut task = task;
        if task.state == TaskState::Leased {
            task.state = TaskState::Running;
            task.started_at = Some(txn.now);
        }
        task.lease_expires_at = Some(txn.after(txn.config.engine.lease_ttl));
        txn.put(Change::Task(task.clone()));
        return Ok(Reply::Lease(Some(Box::new(task))));
    }
    if !agent.in_rotation() || agent.status != AgentStatus::Idle {
        return Ok(Reply::Lease(None));
    }
    let candidate = txn
        .state
        .tasks
        .values()
        .filter(|t| ready(txn, t) && fits(&agent, t))
        .min_by(|a, b| urgency(a, b))
        .cloned();
    let Some(task) = candidate else {
        return Ok(Reply::Lease(None));
    };
    let actor_id = format!("orchestrator:{}", agent.domain);
    let mut task = lease_to(
        txn,
        task,
        agent,
        &actor_id,
        "the agent asked for work and fits it",
    );
    task.state = TaskState::Running;
    task.started_at = Some(txn.now);
    txn.put(Change::Task(task.clone()));
    Ok(Reply::Lease(Some(Box::new(task))))
}

pub fn complete(
    txn: &mut Txn<'_>,
    actor: &Actor,
    agent_id: &str,
    task_id: &str,
    outcome: TaskOutcome,
) -> Result<Reply, EngineError> {
    guard::agent_is(txn.state, actor, agent_id)?;
    let mut agent = agents::get(txn, agent_id)?;
    let task = get(txn, task_id)?;
    if task.agent.as_deref() != Some(agent_id)
        || !matches!(task.state, TaskState::Leased | TaskState::Running)
    {
        return Err(EngineError::conflict(
            format!(
                "{task_id} is not leased to {agent_id} (it is {}{}); the lease may have expired",
                task.state.as_str(),
                task.agent
                    .as_ref()
                    .map(|a| format!(" with {a}"))
                    .unwrap_or_default()
            ),
            None,
        ));
    }
    let ok = matches!(outcome, TaskOutcome::Succeeded);
    let duration_ms = task
        .started_at
        .or(task.leased_at)
        .map(|s| (txn.now - s).num_milliseconds().max(0) as u64)
        .unwrap_or(0);
    agent.current_task = None;
    if agent.status == AgentStatus::Busy {
        agent.status = AgentStatus::Idle;
    }
    txn.state.metrics.record_outcome(&task.domain, txn.now, ok);
    rollouts::record_outcome(txn, &agent, ok, duration_ms);
    match outcome {
        TaskOutcome::Succeeded => {
            agent.tasks_done += 1;
            agent.consecutive_failures = 0;
            if agent.circuit == Circuit::HalfOpen {
                agent.circuit = Circuit::Closed;
            }
            let mut task = task;
            task.state = TaskState::Succeeded;
            task.finished_at = Some(txn.now);
            task.lease_expires_at = None;
            txn.record(
                agent_id,
                ActionType::Execution,
                &task.domain,
                format!("completed {}: {}", task.id, task.title),
                AuditDetails {
                    outcome: "succeeded".into(),
                    ..Default::default()
                },
                vec![task.id.clone()],
            );
            txn.put(Change::Task(task));
            txn.put(Change::Agent(agent));
        }
        TaskOutcome::Failed { error } => {
            let error = guard::text(&error, "error", 2000).unwrap_or_else(|_| "unspecified".into());
            agent.errors += 1;
            agent.consecutive_failures += 1;
            txn.record(
                agent_id,
                ActionType::Execution,
                &task.domain,
                format!("failed {}: {error}", task.id),
                AuditDetails {
                    outcome: "failed".into(),
                    reasoning: error.clone(),
                    ..Default::default()
                },
                vec![task.id.clone()],
            );
            trip_breaker(txn, &mut agent);
            txn.put(Change::Agent(agent));
            retry_or_fail(txn, task, &error);
        }
    }
    Ok(Reply::Done)
}

/// Too many failures in a row open the circuit and page someone about the agent.
fn trip_breaker(txn: &mut Txn<'_>, agent: &mut Agent) {
    let limit = txn.config.engine.breaker_failures;
    let tripped = match agent.circuit {
        Circuit::HalfOpen => true,
        Circuit::Closed => agent.consecutive_failures >= limit,
        Circuit::Open { .. } => false,
    };
    if !tripped {
        return;
    }
    let until = txn.after(txn.config.engine.breaker_cooldown);
    agent.circuit = Circuit::Open {
        since: txn.now,
        until,
    };
    let actor = format!("orchestrator:{}", agent.domain);
    let why = format!(
        "{} consecutive failures (limit {limit})",
        agent.consecutive_failures
    );
    txn.record(
        &actor,
        ActionType::Decision,
        &agent.domain,
        format!("took {} out of rotation: {why}", agent.id),
        AuditDetails {
            decision: "open circuit".into(),
            reasoning: why.clone(),
            outcome: format!(
                "out of rotation for {}m",
                txn.config.engine.breaker_cooldown.num_minutes()
            ),
            ..Default::default()
        },
        vec![],
    );
    incidents::open_or_raise(
        txn,
        &format!("breaker:{}", agent.id),
        Severity::Sev3,
        &format!(
            "{} ({}) keeps failing and is out of rotation",
            agent.id, agent.name
        ),
        &agent.domain,
        IncidentSource::AlertRule {
            rule: "circuit_breaker".into(),
        },
        &actor,
    );
}

fn retry_or_fail(txn: &mut Txn<'_>, mut task: Task, error: &str) {
    task.agent = None;
    task.lease_expires_at = None;
    task.last_error = Some(error.to_string());
    let actor = format!("orchestrator:{}", task.domain);
    if task.attempts >= task.max_attempts {
        task.state = TaskState::Failed;
        task.finished_at = Some(txn.now);
        txn.record(
            &actor,
            ActionType::Decision,
            &task.domain,
            format!("gave up on {} after {} attempts", task.id, task.attempts),
            AuditDetails {
                decision: "fail task".into(),
                reasoning: format!(
                    "attempt limit {} reached; last error: {error}",
                    task.max_attempts
                ),
                outcome: "failed".into(),
                ..Default::default()
            },
            vec![task.id.clone()],
        );
    } else {
        let unit = txn.random_range(0.0, 1.0);
        let e = &txn.config.engine;
        let wait = backoff(e.retry_base, e.retry_max, task.attempts, unit);
        task.state = TaskState::Queued;
        task.enqueued_at = txn.now;
        task.not_before = Some(txn.after(wait));
        txn.record(
            &actor,
            ActionType::Decision,
            &task.domain,
            format!(
                "retrying {} in {}s (attempt {} of {})",
                task.id,
                wait.num_seconds(),
                task.attempts + 1,
                task.max_attempts
            ),
            AuditDetails {
                decision: "retry with backoff".into(),
                reasoning: error.to_string(),
                outcome: "queued".into(),
                ..Default::default()
            },
            vec![task.id.clone()],
        );
    }
    txn.put(Change::Task(task));
}

/// Leases that ran out (a dead or stuck agent) count as a failed attempt.
pub fn expire_leases(txn: &mut Txn<'_>) {
    let now = txn.now;
    let expired: Vec<Task> = txn
        .state
        .tasks
        .values()
        .filter(|t| {
            matches!(t.state, TaskState::Leased | TaskState::Running)
                && t.lease_expires_at.is_some_and(|e| e <= now)
        })
        .cloned()
        .collect();
    for task in expired {
        if let Some(agent_id) = &task.agent
            && let Some(mut agent) = txn.state.agents.get(agent_id).cloned()
            && agent.current_task.as_deref() == Some(&task.id)
        {
            agent.current_task = None;
            if agent.status == AgentStatus::Busy {
                agent.status = AgentStatus::Idle;
            }
            txn.put(Change::Agent(agent));
        }
        let who = task.agent.clone().unwrap_or_default();
        retry_or_fail(txn, task, &format!("lease expired: no word from {who}"));
    }
}

/// Blocked tasks move on when their dependencies finish: queued when all succeeded, cancelled
/// when one failed or was cancelled.
pub fn unblock(txn: &mut Txn<'_>) {
    let blocked: Vec<Task> = txn
        .state
        .tasks
        .values()
        .filter(|t| t.state == TaskState::Blocked)
        .cloned()
        .collect();
    for mut task in blocked {
        let deps: Vec<Option<TaskState>> = task
            .depends_on
            .iter()
            .map(|d| txn.state.tasks.get(d).map(|t| t.state))
            .collect();
        let broken = task
            .depends_on
            .iter()
            .zip(&deps)
            .find(|(_, s)| matches!(s, Some(TaskState::Failed | TaskState::Cancelled)));
        if let Some((dep, _)) = broken {
            task.state = TaskState::Cancelled;
            task.finished_at = Some(txn.now);
            task.last_error = Some(format!("dependency {dep} did not succeed"));
            txn.record(
                &format!("orchestrator:{}", task.domain),
                ActionType::Decision,
                &task.domain,
                format!(
                    "cancelled {}: its dependency {dep} did not succeed",
                    task.id
                ),
                AuditDetails {
                    decision: "cancel".into(),
                    outcome: "cancelled".into(),
                    ..Default::default()
                },
                vec![task.id.clone(), dep.clone()],
            );
            txn.put(Change::Task(task));
        } else if deps
            .iter()
            .all(|s| matches!(s, Some(TaskState::Succeeded) | None))
        {
            // A dependency no longer in memory finished long ago.
            task.state = TaskState::Queued;
            task.enqueued_at = txn.now;
            txn.put(Change::Task(task));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_jitters_within_half() {
        let base = Duration::seconds(10);
        let max = Duration::minutes(10);
        assert_eq!(backoff(base, max, 1, 1.0), Duration::seconds(10));
        assert_eq!(backoff(base, max, 1, 0.0), Duration::seconds(5));
        assert_eq!(backoff(base, max, 3, 1.0), Duration::seconds(40));
        assert_eq!(backoff(base, max, 30, 1.0), max);
        for attempt in 1..10 {
            let lo = backoff(base, max, attempt, 0.0);
            let hi = backoff(base, max, attempt, 1.0);
            assert!(
                lo * 2 == hi || lo * 2 == hi + Duration::milliseconds(1),
                "{attempt}"
            );
        }
    }
}
