//! Escalated decisions: raised by agents (or a domain orchestrator), decided once by eligible
//! operators, with quorum, no self-approval, deadlines that escalate and an expiry.

use chrono::Duration;
use sha2::{Digest, Sha256};

use super::txn::Txn;
use super::{EngineError, agents, guard};
use crate::authority::{self, Level};
use crate::model::{
    ActionType, Approval, ApprovalState, AuditDetails, AuditDraft, Category, Change,
    Classification, EntityKind, Origin, Retention, Vote,
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
    /// The tool call, session, policy rule and callback, when an agent framework gave them.
    pub origin: Origin,
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
    // A request about a tool call is tied to that call too (older requests keep their digest).
    let payload = match &r.origin.tool_call {
        None => payload,
        Some(call) => {
            let mut p = payload;
            p["tool_call"] = serde_json::json!(call);
            p
        }
    };
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
    check_origin(&request.origin)?;
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
        origin: (!request.origin.is_empty()).then(|| Box::new(request.origin.clone())),
        chosen_option: None,
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

/// The most bytes a tool call's input may take as JSON.
pub const TOOL_INPUT_MAX: usize = 16 * 1024;

/// A request's origin is data from an agent framework: bounded, and a callback is a plain
/// http(s) URL without credentials.
fn check_origin(origin: &Origin) -> Result<(), EngineError> {
    if let Some(call) = &origin.tool_call {
        guard::text(&call.name, "tool_call.name", 200)?;
        if let Some(id) = &call.tool_use_id {
            guard::text(id, "tool_call.tool_use_id", 200)?;
        }
        let size = serde_json::to_vec(&call.input).map_or(usize::MAX, |v| v.len());
        if size > TOOL_INPUT_MAX {
            return Err(EngineError::Invalid(format!(
                "tool_call.input is {size} bytes as JSON; at most {TOOL_INPUT_MAX}"
            )));
        }
    }
    if let Some(session) = &origin.session {
        guard::text(session, "session", 200)?;
    }
    if let Some(rule) = &origin.policy_rule {
        guard::text(rule, "policy_rule", 300)?;
    }
    if let Some(callback) = &origin.callback {
        check_callback_url(&callback.url)?;
    }
    Ok(())
}

fn check_callback_url(url: &str) -> Result<(), EngineError> {
    let bad = |why: &str| {
        Err(EngineError::Invalid(format!(
            "callback_url {why}: give an http:// or https:// URL of at most 2048 characters"
        )))
    };
    if url.len() > 2048 {
        return bad("is too long");
    }
    if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return bad("holds spaces or control characters");
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return bad("has no scheme");
    };
    if !matches!(scheme, "http" | "https") {
        return bad("is not http or https");
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() {
        return bad("names no host");
    }
    if authority.contains('@') {
        return bad("holds credentials");
    }
    Ok(())
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

/// An option is chosen on approve, among the item's own, and every approver of it agrees.
fn check_option(a: &Approval, approve: bool, option: &str) -> Result<(), EngineError> {
    if !approve {
        return Err(EngineError::Invalid(
            "an option is chosen when approving; a rejection gives only its reason".into(),
        ));
    }
    if !a.options_considered.iter().any(|o| o == option) {
        return Err(EngineError::Invalid(format!(
            "{option:?} is not one of {}'s options: {}",
            a.id,
            a.options_considered
                .iter()
                .map(|o| format!("{o:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    match &a.chosen_option {
        Some(chosen) if chosen != option => Err(EngineError::refused(format!(
            "an earlier approver of {} chose {chosen:?}; approve that option or reject",
            a.id
        ))),
        _ => Ok(()),
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

/// What an operator does to an approval, as the command said it.
pub struct Act<'a> {
    pub action: ApprovalAction,
    pub reason: &'a str,
    pub expected_version: Option<u64>,
    /// On approve: the option chosen among `options_considered`.
    pub option: Option<String>,
}

pub fn act(txn: &mut Txn<'_>, actor: &Actor, id: &str, act: Act<'_>) -> Result<Reply, EngineError> {
    let Act {
        action,
        reason,
        expected_version,
        option,
    } = act;
    let approve = match action {
        ApprovalAction::Approve => true,
        ApprovalAction::Reject => false,
        ApprovalAction::Escalate if option.is_some() => {
            return Err(EngineError::Invalid(
                "an option is chosen when approving, not when escalating".into(),
            ));
        }
        ApprovalAction::Escalate => return escalate(txn, actor, id, reason, expected_version),
    };
    let (mut a, name, role) = open_for(txn, actor, id, expected_version, "decide")?;
    authority::may_decide(role, name, a.subject())?;
    if let Some(option) = &option {
        check_option(&a, approve, option)?;
        a.chosen_option = Some(option.clone());
    }
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
            decision: match &option {
                Some(o) => format!("{verb} option {o:?}"),
                None => verb.to_string(),
            },
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

/// How a decision's callback delivery ended: recorded once, on the approval and in the trail.
pub struct Delivery<'a> {
    pub id: &'a str,
    /// The receiver's status (`200 OK`), or why nothing was received.
    pub outcome: &'a str,
    pub attempts: u32,
    pub delivered: bool,
}

pub fn record_delivery(txn: &mut Txn<'_>, d: Delivery<'_>) -> Result<(), EngineError> {
    let mut a = get(txn, d.id)?;
    let callback = a
        .origin
        .as_mut()
        .and_then(|o| o.callback.as_mut())
        .ok_or_else(|| EngineError::Invalid(format!("{} has no callback", d.id)))?;
    if callback.done_at.is_some() {
        return Err(EngineError::conflict(
            format!("{}'s callback delivery is already recorded", d.id),
            Some(a.version),
        ));
    }
    callback.done_at = Some(txn.now);
    callback.outcome = Some(d.outcome.to_string());
    callback.attempts = d.attempts;
    let url = callback.url.chars().take(200).collect::<String>();
    a.version += 1;
    txn.put(Change::Approval(a.clone()));
    let actor = format!("orchestrator:{}", a.domain);
    txn.audit(record_about(
        &a,
        actor,
        ActionType::Execution,
        Happened {
            summary: match d.delivered {
                true => format!(
                    "{}'s decision ({}) sent to its callback",
                    a.id,
                    a.state.as_str()
                ),
                false => format!(
                    "{}'s decision ({}) could not be sent to its callback",
                    a.id,
                    a.state.as_str()
                ),
            },
            decision: "deliver the decision".into(),
            reasoning: format!("POST {url}, signed; {} attempt(s)", d.attempts),
            outcome: d.outcome.to_string(),
        },
    ));
    Ok(())
}
