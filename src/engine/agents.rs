//! Agents joining, reporting in, pausing, and the circuit breaker that takes them out.

use super::txn::Txn;
use super::{EngineError, guard};
use crate::model::{
    ActionType, Agent, AgentStatus, AuditDetails, Change, Circuit, EntityKind, Queue,
};
use crate::protocol::limits;
use crate::protocol::{Actor, AgentAction, Reply};

pub fn get(txn: &Txn<'_>, id: &str) -> Result<Agent, EngineError> {
    txn.state
        .agents
        .get(id)
        .cloned()
        .ok_or_else(|| EngineError::not_found(EntityKind::Agent, id))
}

fn check_domain(txn: &Txn<'_>, domain: &str) -> Result<(), EngineError> {
    if txn.config.engine.domains.iter().any(|d| d == domain) {
        Ok(())
    } else {
        Err(EngineError::Invalid(format!(
            "unknown domain {domain:?}; the domains are {}",
            txn.config.engine.domains.join(", ")
        )))
    }
}

pub fn ensure_queue(txn: &mut Txn<'_>, domain: &str, team: &str) {
    let name = format!("{domain}/{team}");
    if !txn.state.queues.contains_key(&name) {
        txn.put(Change::Queue(Queue::new(domain, team)));
    }
}

pub fn register(
    txn: &mut Txn<'_>,
    actor: &Actor,
    name: &str,
    domain: &str,
    team: &str,
    skills: Vec<String>,
    version: &str,
) -> Result<Reply, EngineError> {
    if matches!(actor, Actor::Operator { .. }) {
        return Err(EngineError::refused(
            "agents register themselves, with an agent token",
        ));
    }
    let name = guard::text(name, "name", limits::NAME.max_chars)?;
    check_domain(txn, domain)?;
    guard::token_covers(actor, domain)?;
    let owner = match actor {
        Actor::Agent {
            token: Some(token), ..
        } => Some(token.name.clone()),
        _ => None,
    };
    let team = guard::text(team, "team", limits::NAME.max_chars)?;
    let version = guard::text(version, "version", limits::VERSION.max_chars)?;
    let id = txn.next_id(EntityKind::Agent);
    let agent = Agent {
        id: id.clone(),
        name: name.clone(),
        domain: domain.to_string(),
        team: team.clone(),
        skills,
        status: AgentStatus::Idle,
        current_task: None,
        utilization: 0.0,
        tasks_done: 0,
        errors: 0,
        consecutive_failures: 0,
        circuit: Circuit::Closed,
        version: version.clone(),
        rollout: None,
        registered_at: txn.now,
        last_heartbeat: txn.now,
        paused_reason: None,
        owner,
    };
    txn.put(Change::Agent(agent));
    ensure_queue(txn, domain, &team);
    txn.record(
        &id,
        ActionType::Execution,
        domain,
        format!("{id} ({name}) registered with {domain}/{team} at version {version}"),
        AuditDetails {
            outcome: "registered".into(),
            ..Default::default()
        },
        vec![],
    );
    Ok(Reply::Created { id })
}

pub fn heartbeat(txn: &mut Txn<'_>, actor: &Actor, id: &str) -> Result<Reply, EngineError> {
    guard::agent_is(txn.state, actor, id)?;
    let mut agent = get(txn, id)?;
    agent.last_heartbeat = txn.now;
    // A heartbeat from a running agent keeps its lease alive.
    let lease = agent.current_task.clone().and_then(|task_id| {
        let task = txn.state.tasks.get(&task_id)?;
        (task.agent.as_deref() == Some(id) && !task.state.is_terminal())
            .then(|| (task_id, txn.after(txn.config.engine.lease_ttl)))
    });
    if agent.status != AgentStatus::Down {
        // Nothing but the time moved: a small change, no body written again.
        txn.beat(crate::model::Beat {
            agent: id.to_string(),
            at: txn.now,
            lease,
        });
        return Ok(Reply::Agent(Box::new(agent)));
    }
    agent.status = if agent.current_task.is_some() {
        AgentStatus::Busy
    } else {
        AgentStatus::Idle
    };
    txn.record(
        id,
        ActionType::Execution,
        &agent.domain.clone(),
        format!("{id} is back: heartbeat received after it was marked down"),
        AuditDetails {
            outcome: agent.status.as_str().into(),
            ..Default::default()
        },
        vec![],
    );
    if let Some((task_id, expires)) = lease
        && let Some(task) = txn.state.tasks.get(&task_id)
    {
        let mut task = task.clone();
        task.lease_expires_at = Some(expires);
        txn.put(Change::Task(task));
    }
    txn.put(Change::Agent(agent.clone()));
    Ok(Reply::Agent(Box::new(agent)))
}

pub fn pause(
    txn: &mut Txn<'_>,
    actor: &Actor,
    id: &str,
    reason: &str,
) -> Result<Reply, EngineError> {
    let mut agent = get(txn, id)?;
    let (_, _) = guard::operator_for(actor, &agent.domain)?;
    let reason = guard::reason(reason, "pause an agent")?;
    if let Some(why) = AgentAction::Pause.refusal(&agent) {
        return Err(EngineError::conflict(why, None));
    }
    agent.status = AgentStatus::Paused;
    agent.paused_reason = Some(reason.clone());
    txn.put(Change::Agent(agent.clone()));
    txn.record(
        &actor.audit_id(),
        ActionType::Decision,
        &agent.domain,
        format!("paused {id}: it takes no new work"),
        AuditDetails {
            decision: "pause".into(),
            reasoning: reason,
            outcome: "paused".into(),
            ..Default::default()
        },
        agent.current_task.iter().cloned().collect(),
    );
    Ok(Reply::Agent(Box::new(agent)))
}

pub fn resume(txn: &mut Txn<'_>, actor: &Actor, id: &str) -> Result<Reply, EngineError> {
    let mut agent = get(txn, id)?;
    guard::operator_for(actor, &agent.domain)?;
    if let Some(why) = AgentAction::Resume.refusal(&agent) {
        return Err(EngineError::conflict(why, None));
    }
    agent.status = if agent.current_task.is_some() {
        AgentStatus::Busy
    } else {
        AgentStatus::Idle
    };
    agent.paused_reason = None;
    txn.put(Change::Agent(agent.clone()));
    txn.record(
        &actor.audit_id(),
        ActionType::Decision,
        &agent.domain,
        format!("resumed {id}: it takes work again"),
        AuditDetails {
            decision: "resume".into(),
            outcome: agent.status.as_str().into(),
            ..Default::default()
        },
        vec![],
    );
    Ok(Reply::Agent(Box::new(agent)))
}

pub fn record_execution(
    txn: &mut Txn<'_>,
    actor: &Actor,
    id: &str,
    summary: &str,
    context: &str,
    outcome: &str,
    related_tasks: Vec<String>,
) -> Result<Reply, EngineError> {
    guard::agent_is(txn.state, actor, id)?;
    let agent = get(txn, id)?;
    let summary = guard::text(summary, "summary", limits::EXECUTION_SUMMARY.max_chars)?;
    txn.record(
        id,
        ActionType::Execution,
        &agent.domain,
        summary,
        AuditDetails {
            context: context.to_string(),
            outcome: outcome.to_string(),
            ..Default::default()
        },
        related_tasks,
    );
    Ok(Reply::Done)
}

/// Agents silent past the heartbeat timeout are marked down; their leases run out on their own.
pub fn check_heartbeats(txn: &mut Txn<'_>) {
    let limit = txn.now - txn.config.engine.heartbeat_timeout;
    let silent: Vec<Agent> = txn
        .state
        .agents
        .values()
        .filter(|a| a.status != AgentStatus::Down && a.last_heartbeat < limit)
        .cloned()
        .collect();
    for mut agent in silent {
        agent.status = AgentStatus::Down;
        let secs = (txn.now - agent.last_heartbeat).num_seconds();
        txn.record(
            &format!("orchestrator:{}", agent.domain),
            ActionType::Decision,
            &agent.domain,
            format!("marked {} down: no heartbeat for {secs}s", agent.id),
            AuditDetails {
                decision: "mark down".into(),
                reasoning: format!(
                    "the heartbeat timeout is {}s",
                    txn.config.engine.heartbeat_timeout.num_seconds()
                ),
                outcome: "down".into(),
                ..Default::default()
            },
            agent.current_task.iter().cloned().collect(),
        );
        txn.put(Change::Agent(agent));
    }
}

/// Open circuits whose cooldown has passed let one trial task through.
pub fn close_circuits(txn: &mut Txn<'_>) {
    let now = txn.now;
    let cooled: Vec<Agent> = txn
        .state
        .agents
        .values()
        .filter(|a| matches!(a.circuit, Circuit::Open { until, .. } if until <= now))
        .cloned()
        .collect();
    for mut agent in cooled {
        agent.circuit = Circuit::HalfOpen;
        txn.record(
            &format!("orchestrator:{}", agent.domain),
            ActionType::Decision,
            &agent.domain,
            format!("{} back in rotation on trial after its cooldown", agent.id),
            AuditDetails {
                decision: "half-open circuit".into(),
                reasoning: "one task decides: success closes the circuit, failure opens it again"
                    .into(),
                outcome: "on trial".into(),
                ..Default::default()
            },
            vec![],
        );
        txn.put(Change::Agent(agent));
    }
}
