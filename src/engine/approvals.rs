//! Escalated decisions: raised by agents (or a domain orchestrator), decided once by eligible
//! operators, with quorum, no self-approval, deadlines that escalate and an expiry.

use chrono::Duration;
use sha2::{Digest, Sha256};

use super::txn::Txn;
use super::{EngineError, agents, guard};
use crate::authority::{self, Level};
use crate::model::{
    ActionType, Approval, ApprovalState, AuditDetails, AuditDraft, Category, Change,
    Classification, EntityKind, Retention, Vote,
};
use crate::protocol::limits;
use crate::protocol::{Actor, ApprovalAction, Reply};

pub struct Request {
    /// The domain, when the requester is not an agent with one of its own.
    pub domain: Option<String>,
    pub category: Category,
    pub summary: String,
    pub context: String,
    pub options_considered: Vec<String>,
    pub recommendation: String,
    pub classification: Classification,
    pub related_tasks: Vec<String>,
}

fn get(txn: &Txn<'_>, id: &str) -> Result<Approval, EngineError> {
    txn.state
        .approvals
        .get(id)
        .cloned()
        .ok_or_else(|| EngineError::not_found(EntityKind::Approval, id))
}

/// How long an item may wait at a level before it escalates itself; executives have no
/// higher level, so only expiry applies there.
fn level_deadline(txn: &Txn<'_>, level: Level) -> Option<Duration> {
    match level {
        Level::Agent | Level::Domain => Some(txn.config.approvals.domain_deadline),
        Level::Enterprise => Some(txn.config.approvals.enterprise_deadline),
        Level::Executive => None,
    }
}

fn retention(a: &Approval) -> Retention {
    if a.level == Level::Executive || a.classification == Classification::Sensitive {
        Retention::Compliance
    } else {
        Retention::Significant
    }
}

fn digest(requested_by: &str, domain: &str, r: &Request) -> String {
    let payload = serde_json::json!({
        "requested_by": requested_by,
        "domain": domain,
        "category": r.category,
        "summary": r.summary,
        "context": r.context,
        "options_considered": r.options_considered,
        "recommendation": r.recommendation,
        "classification": r.classification,
        "related_tasks": r.related_tasks,
    });
    hex::encode(Sha256::digest(payload.to_string().as_bytes()))
}

/// Raises an escalation. `requested_by` is an agent id or `orchestrator:<domain>`.
pub fn raise(
    txn: &mut Txn<'_>,
    audit_actor: &str,
    requested_by: &str,
    request: Request,
) -> Result<Reply, EngineError> {
    let domain = match &request.domain {
        Some(d) => d.clone(),
        None => agents::get(txn, requested_by)?.domain,
    };
    let level = authority::required_level(request.category);
    if level == Level::Agent {
        return Err(EngineError::refused(format!(
            "agents decide {} themselves; record it as an execution instead",
            request.category.as_str()
        )));
    }
    let summary = guard::text(&request.summary, "summary", limits::SUMMARY.max_chars)?;
    if request.options_considered.len() > 20 {
        return Err(EngineError::Invalid("at most 20 options_considered".into()));
    }
    let id = txn.next_id(EntityKind::Approval);
    let approval = Approval {
        id: id.clone(),
        requested_by: requested_by.to_string(),
        domain: domain.clone(),
        category: request.category,
        level,
        summary: summary.clone(),
        context: request.context.clone(),
        options_considered: request.options_considered.clone(),
        recommendation: request.recommendation.clone(),
        classification: request.classification,
        related_tasks: request.related_tasks.clone(),
        state: ApprovalState::Pending,
        version: 1,
        quorum: authority::quorum(request.category, request.classification),
        votes: vec![],
        rejection: None,
        created_at: txn.now,
        level_deadline_at: level_deadline(txn, level).map(|d| txn.now + d),
        expires_at: txn.now + txn.config.approvals.expiry,
        decided_at: None,
        payload_digest: digest(requested_by, &domain, &request),
    };
    txn.put(Change::Approval(approval.clone()));
    txn.audit(AuditDraft {
        agent_id: audit_actor.to_string(),
        action_type: ActionType::Escalation,
        domain,
        summary: format!("{id} raised to {level}: {summary}"),
        details: AuditDetails {
            context: request.context,
            options_considered: request.options_considered,
            decision: format!("escalate {} to {level}", request.category.as_str()),
            reasoning: request.recommendation,
            outcome: "pending".into(),
        },
        classification: approval.classification,
        related_tasks: request.related_tasks,
        retention: retention(&approval),
    });
    Ok(Reply::Created { id })
}

/// What an audit record about an approval says happened; the rest comes from the approval.
struct Happened {
    summary: String,
    decision: String,
    reasoning: String,
    outcome: String,
}

/// An audit record about an approval: its context, options, classification, related tasks and
/// retention travel with every record of it.
fn record_about(
    a: &Approval,
    agent_id: String,
    action_type: ActionType,
    h: Happened,
) -> AuditDraft {
    AuditDraft {
        agent_id,
        action_type,
        domain: a.domain.clone(),
        summary: h.summary,
        details: AuditDetails {
            context: a.context.clone(),
            options_considered: a.options_considered.clone(),
            decision: h.decision,
            reasoning: h.reasoning,
            outcome: h.outcome,
        },
        classification: a.classification,
        related_tasks: a.related_tasks.clone(),
        retention: retention(a),
    }
}

/// Checks shared by deciding and escalating: still pending, the version seen, not expired.
fn check_open(txn: &Txn<'_>, a: &Approval, expected: Option<u64>) -> Result<(), EngineError> {
    if !a.is_pending() {
        let by = a
            .rejection
            .as_ref()
            .map(|v| v.by.clone())
            .or_else(|| a.votes.last().map(|v| v.by.clone()));
        let when = a
            .decided_at
            .map(|t| t.format(" at %Y-%m-%d %H:%M:%S UTC").to_string());
        return Err(EngineError::conflict(
            format!(
                "{} is already {}{}{}; a decision is taken once",
                a.id,
                a.state.as_str(),
                by.map(|b| format!(" by {b}")).unwrap_or_default(),
                when.unwrap_or_default()
            ),
            Some(a.version),
        ));
    }
    guard::version(expected, a.version, &a.id)?;
    if a.expires_at <= txn.now {
        return Err(EngineError::conflict(
            format!(
                "{} expired at {}",
                a.id,
                a.expires_at.format("%Y-%m-%d %H:%M UTC")
            ),
            Some(a.version),
        ));
    }
    Ok(())
}

/// The approval an operator acts on, checked to be still open at the version they saw.
fn open_for<'a>(
    txn: &Txn<'_>,
    actor: &'a Actor,
    id: &str,
    expected_version: Option<u64>,
    verb: &str,
) -> Result<(Approval, &'a str, &'a crate::authority::Role), EngineError> {
    let a = get(txn, id)?;
    let Actor::Operator { name, role, .. } = actor else {
        return Err(EngineError::refused(format!(
            "only operators {verb} escalated items"
        )));
    };
    check_open(txn, &a, expected_version)?;
    Ok((a, name, role))
}

pub fn act(
    txn: &mut Txn<'_>,
    actor: &Actor,
    id: &str,
    action: ApprovalAction,
    reason: &str,
    expected_version: Option<u64>,
) -> Result<Reply, EngineError> {
    let approve = match action {
        ApprovalAction::Approve => true,
        ApprovalAction::Reject => false,
        ApprovalAction::Escalate => return escalate(txn, actor, id, reason, expected_version),
    };
    let (mut a, name, role) = open_for(txn, actor, id, expected_version, "decide")?;
    authority::may_decide(role, name, a.subject())?;
    let by = actor.audit_id();
    let (verb, done) = if approve {
        ("approve", "approved")
    } else {
        ("reject", "rejected")
    };
    let reason = guard::reason(reason, &format!("{verb} {id}"))?;
    let vote = Vote {
        by: by.clone(),
        role: role.to_string(),
        at: txn.now,
        reason: reason.clone(),
    };
    let outcome = match approve {
        false => {
            a.rejection = Some(vote);
            a.state = ApprovalState::Rejected;
            a.decided_at = Some(txn.now);
            "rejected".to_string()
        }
        true => {
            a.votes.push(vote);
            if a.votes.len() >= a.quorum as usize {
                a.state = ApprovalState::Approved;
                a.decided_at = Some(txn.now);
                format!("approved ({} of {})", a.votes.len(), a.quorum)
            } else {
                format!(
                    "{} of {} approvals; waiting for another eligible operator",
                    a.votes.len(),
                    a.quorum
                )
            }
        }
    };
    a.version += 1;
    txn.put(Change::Approval(a.clone()));
    txn.audit(record_about(
        &a,
        by,
        ActionType::Decision,
        Happened {
            summary: format!("{done} {id} ({}): {}", a.category.as_str(), a.summary),
            decision: verb.to_string(),
            reasoning: reason,
            outcome,
        },
    ));
    Ok(Reply::Approval(Box::new(a)))
}

pub fn escalate(
    txn: &mut Txn<'_>,
    actor: &Actor,
    id: &str,
    reason: &str,
    expected_version: Option<u64>,
) -> Result<Reply, EngineError> {
    let (mut a, name, role) = open_for(txn, actor, id, expected_version, "escalate")?;
    let subject = a.subject();
    let next = authority::may_escalate(role, name, subject)?;
    let reason = guard::reason(reason, &format!("escalate {id}"))?;
    let from = a.level;
    move_up(txn, &mut a, next);
    txn.audit(record_about(
        &a,
        actor.audit_id(),
        ActionType::Escalation,
        Happened {
            summary: format!("escalated {id} from {from} to {next}: {}", a.summary),
            decision: format!("escalate to {next}"),
            reasoning: reason,
            outcome: format!("pending at {next}"),
        },
    ));
    Ok(Reply::Approval(Box::new(a)))
}

fn move_up(txn: &mut Txn<'_>, a: &mut Approval, next: Level) {
    a.level = next;
    a.level_deadline_at = level_deadline(txn, next).map(|d| txn.now + d);
    if next == Level::Executive {
        a.quorum = a.quorum.max(2);
    }
    a.version += 1;
    txn.put(Change::Approval(a.clone()));
}

/// Pending items past their level's deadline escalate themselves; past expiry they expire.
pub fn run_deadlines(txn: &mut Txn<'_>) {
    let now = txn.now;
    let due: Vec<Approval> = txn
        .state
        .approvals
        .values()
        .filter(|a| {
            a.is_pending() && (a.expires_at <= now || a.level_deadline_at.is_some_and(|d| d <= now))
        })
        .cloned()
        .collect();
    for mut a in due {
        let actor = format!("orchestrator:{}", a.domain);
        if a.expires_at <= now {
            a.state = ApprovalState::Expired;
            a.decided_at = Some(now);
            a.version += 1;
            txn.put(Change::Approval(a.clone()));
            txn.audit(record_about(
                &a,
                actor,
                ActionType::Decision,
                Happened {
                    summary: format!("{} expired undecided: {}", a.id, a.summary),
                    decision: "expire".to_string(),
                    reasoning: format!(
                        "nobody decided it before {}",
                        a.expires_at.format("%Y-%m-%d %H:%M UTC")
                    ),
                    outcome: "expired".to_string(),
                },
            ));
            continue;
        }
        let Some(next) = a.level.next() else {
            continue;
        };
        let from = a.level;
        let waited = (now - a.created_at).num_minutes();
        move_up(txn, &mut a, next);
        txn.audit(record_about(
            &a,
            actor,
            ActionType::Escalation,
            Happened {
                summary: format!(
                    "{} escalated itself from {from} to {next}: {}",
                    a.id, a.summary
                ),
                decision: format!("escalate to {next}"),
                reasoning: format!(
                    "undecided at the {from} level past its deadline ({waited}m pending)"
                ),
                outcome: format!("pending at {next}"),
            },
        ));
    }
}
