//! Incidents: opened by alert rules, agents and operators; acknowledged, escalated, mitigated,
//! noted and resolved by operators, each step on the timeline and in the audit trail.

use super::txn::Txn;
use super::{EngineError, agents, guard};
use crate::model::{
    ActionType, AuditDetails, Change, Classification, EntityKind, Incident, IncidentSource,
    IncidentState, Retention, Severity, TimelineEntry,
};
use crate::protocol::limits;
use crate::protocol::{Actor, IncidentAction, Reply};

fn get(txn: &Txn<'_>, id: &str) -> Result<Incident, EngineError> {
    txn.state
        .incidents
        .get(id)
        .cloned()
        .ok_or_else(|| EngineError::not_found(EntityKind::Incident, id))
}

fn retention(severity: Severity) -> Retention {
    match severity {
        Severity::Sev1 | Severity::Sev2 => Retention::Compliance,
        Severity::Sev3 | Severity::Sev4 => Retention::Significant,
    }
}

fn open(
    txn: &mut Txn<'_>,
    severity: Severity,
    title: &str,
    domain: &str,
    source: IncidentSource,
    by: &str,
    dedup_key: Option<String>,
) -> Incident {
    let id = txn.next_id(EntityKind::Incident);
    let incident = Incident {
        id: id.clone(),
        severity,
        title: title.to_string(),
        domain: domain.to_string(),
        state: IncidentState::Open,
        source,
        opened_at: txn.now,
        opened_by: by.to_string(),
        acked_at: None,
        acked_by: None,
        mitigated_at: None,
        resolved_at: None,
        resolved_by: None,
        target_at: txn.now + severity.target(),
        timeline: vec![TimelineEntry {
            at: txn.now,
            by: by.to_string(),
            kind: "opened".into(),
            text: title.to_string(),
        }],
        dedup_key,
        version: 1,
        parent: None,
    };
    txn.put(Change::Incident(incident.clone()));
    txn.audit(crate::model::AuditDraft {
        agent_id: by.to_string(),
        action_type: ActionType::Escalation,
        domain: domain.to_string(),
        summary: format!("opened {id} ({}): {title}", severity.as_str()),
        details: AuditDetails {
            decision: "open incident".into(),
            outcome: format!(
                "{} open, resolve by {}",
                severity.as_str(),
                incident.target_at.format("%Y-%m-%d %H:%M UTC")
            ),
            ..Default::default()
        },
        classification: Classification::Internal,
        related_tasks: vec![],
        retention: retention(severity),
    });
    incident
}

/// Alert rules and the circuit breaker open one incident per key; while it is unresolved, a
/// worse reading raises its severity instead of opening another. Returns its id.
pub fn open_or_raise(
    txn: &mut Txn<'_>,
    key: &str,
    severity: Severity,
    title: &str,
    domain: &str,
    source: IncidentSource,
    by: &str,
) -> String {
    let existing = txn
        .state
        .incidents
        .values()
        .find(|i| i.is_open() && i.dedup_key.as_deref() == Some(key))
        .cloned();
    match existing {
        Some(mut incident) => {
            if severity < incident.severity {
                let from = incident.severity;
                incident.severity = severity;
                incident.target_at = incident.opened_at + severity.target();
                incident.version += 1;
                incident.timeline.push(TimelineEntry {
                    at: txn.now,
                    by: by.to_string(),
                    kind: "escalated".into(),
                    text: format!("{} → {}: {title}", from.as_str(), severity.as_str()),
                });
                txn.record(
                    by,
                    ActionType::Escalation,
                    domain,
                    format!(
                        "raised {} from {} to {}",
                        incident.id,
                        from.as_str(),
                        severity.as_str()
                    ),
                    AuditDetails {
                        decision: "raise severity".into(),
                        reasoning: title.to_string(),
                        outcome: severity.as_str().into(),
                        ..Default::default()
                    },
                    vec![],
                );
                txn.put(Change::Incident(incident.clone()));
            }
            incident.id
        }
        None => {
            // Trouble in a domain that already has an incident as severe or more arrives under
            // it: one story per domain, not five pages.
            let parent = txn
                .state
                .incidents
                .values()
                .filter(|i| i.is_open() && i.domain == domain && i.parent.is_none())
                .filter(|i| i.severity <= severity)
                .min_by(|a, b| {
                    (a.severity, a.opened_at, &a.id).cmp(&(b.severity, b.opened_at, &b.id))
                })
                .map(|i| i.id.clone());
            let mut incident = open(
                txn,
                severity,
                title,
                domain,
                source,
                by,
                Some(key.to_string()),
            );
            if parent.is_some() {
                incident.parent = parent;
                txn.put(Change::Incident(incident.clone()));
            }
            incident.id
        }
    }
}

pub fn declare(
    txn: &mut Txn<'_>,
    actor: &Actor,
    severity: Severity,
    title: &str,
    domain: &str,
) -> Result<Reply, EngineError> {
    let (name, _) = guard::operator_for(actor, domain)?;
    let title = guard::text(title, "title", limits::TITLE.max_chars)?;
    if !txn.config.engine.domains.iter().any(|d| d == domain) {
        return Err(EngineError::Invalid(format!("unknown domain {domain:?}")));
    }
    let source = IncidentSource::Operator {
        name: name.to_string(),
    };
    let incident = open(
        txn,
        severity,
        &title,
        domain,
        source,
        &actor.audit_id(),
        None,
    );
    Ok(Reply::Incident(Box::new(incident)))
}

pub fn report(
    txn: &mut Txn<'_>,
    actor: &Actor,
    agent_id: &str,
    severity: Severity,
    title: &str,
) -> Result<Reply, EngineError> {
    guard::agent_is(txn.state, actor, agent_id)?;
    let agent = agents::get(txn, agent_id)?;
    let title = guard::text(title, "title", limits::TITLE.max_chars)?;
    let source = IncidentSource::Agent {
        agent_id: agent_id.to_string(),
    };
    let incident = open(txn, severity, &title, &agent.domain, source, agent_id, None);
    Ok(Reply::Incident(Box::new(incident)))
}

pub fn act(
    txn: &mut Txn<'_>,
    actor: &Actor,
    id: &str,
    action: IncidentAction,
    note: Option<String>,
    expected_version: Option<u64>,
) -> Result<Reply, EngineError> {
    let mut incident = get(txn, id)?;
    guard::operator_for(actor, &incident.domain)?;
    guard::version(expected_version, incident.version, id)?;
    let note = note.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    let state = incident.state;
    // The same refusal the console shows before anyone types.
    if let Some(why) = action.refusal(&incident) {
        return Err(EngineError::conflict(why, Some(incident.version)));
    }
    let by = actor.audit_id();
    let (kind, summary) = match action {
        IncidentAction::Ack => {
            incident.state = IncidentState::Acknowledged;
            incident.acked_at = Some(txn.now);
            incident.acked_by = Some(by.clone());
            ("acknowledged", format!("acknowledged {id}"))
        }
        IncidentAction::Escalate => {
            let from = incident.severity;
            incident.severity = from.raised();
            incident.target_at = incident.opened_at + incident.severity.target();
            (
                "escalated",
                format!(
                    "escalated {id} from {} to {}",
                    from.as_str(),
                    incident.severity.as_str()
                ),
            )
        }
        IncidentAction::Mitigate => {
            incident.state = IncidentState::Mitigated;
            incident.mitigated_at = Some(txn.now);
            ("mitigated", format!("mitigated {id}"))
        }
        IncidentAction::Resolve => {
            incident.state = IncidentState::Resolved;
            incident.resolved_at = Some(txn.now);
            incident.resolved_by = Some(by.clone());
            ("resolved", format!("resolved {id}"))
        }
        IncidentAction::Note => {
            if note.is_none() {
                return Err(EngineError::Invalid(
                    "a note needs text: pass --note \"what you found\"".into(),
                ));
            }
            ("note", format!("added a note to {id}"))
        }
    };
    incident.version += 1;
    incident.timeline.push(TimelineEntry {
        at: txn.now,
        by: by.clone(),
        kind: kind.into(),
        text: note.clone().unwrap_or_default(),
    });
    txn.put(Change::Incident(incident.clone()));
    txn.audit(crate::model::AuditDraft {
        agent_id: by,
        action_type: if action == IncidentAction::Escalate {
            ActionType::Escalation
        } else {
            ActionType::Decision
        },
        domain: incident.domain.clone(),
        summary: format!("{summary}: {}", incident.title),
        details: AuditDetails {
            context: format!(
                "{} {} since {}",
                incident.severity.as_str(),
                state.as_str(),
                incident.opened_at.format("%H:%M UTC")
            ),
            decision: kind.into(),
            reasoning: note.unwrap_or_default(),
            outcome: incident.state.as_str().into(),
            ..Default::default()
        },
        classification: Classification::Internal,
        related_tasks: vec![],
        retention: retention(incident.severity),
    });
    Ok(Reply::Incident(Box::new(incident)))
}
