//! The alert rules: error rate pages, agents down (a fleet gone quiet) pages, queue depth
//! warns, latency over the SLA escalates, utilization over the limit plans scaling. Each fires once per subject until it clears
//! (with hysteresis, so a reading hovering at the threshold does not flap).

use super::approvals::{self, Request};
use super::incidents;
use super::metrics::domain_utilization;
use super::txn::Txn;
use crate::model::{
    ActionType, AgentStatus, Alert, AlertLevel, AuditDetails, Category, Change, Classification,
    IncidentSource, Severity,
};

/// A firing alert clears when the reading falls below this share of its threshold.
const CLEAR_RATIO: f64 = 0.8;

struct Reading {
    rule: &'static str,
    subject: String,
    domain: String,
    level: AlertLevel,
    value: f64,
    threshold: f64,
}

fn readings(txn: &Txn<'_>) -> Vec<Reading> {
    let cfg = &txn.config.alerts;
    let mut out = Vec::new();
    for domain in &txn.config.engine.domains {
        let (failed, total) = txn
            .state
            .metrics
            .outcomes_since(domain, txn.now - txn.config.engine.metrics_window);
        let rate = if total >= cfg.error_rate_min_samples {
            failed as f64 / total as f64
        } else {
            0.0
        };
        out.push(Reading {
            rule: "error_rate",
            subject: domain.clone(),
            domain: domain.clone(),
            level: AlertLevel::Page,
            value: rate,
            threshold: cfg.error_rate,
        });
        let (total, down) = txn
            .state
            .agents
            .values()
            .filter(|a| &a.domain == domain)
            .fold((0usize, 0usize), |(t, d), a| {
                (t + 1, d + usize::from(a.status == AgentStatus::Down))
            });
        out.push(Reading {
            rule: "agents_down",
            subject: domain.clone(),
            domain: domain.clone(),
            level: AlertLevel::Page,
            value: if total == 0 {
                0.0
            } else {
                down as f64 / total as f64
            },
            threshold: cfg.agents_down,
        });
        let (util, agents) = domain_utilization(txn, domain);
        out.push(Reading {
            rule: "utilization",
            subject: domain.clone(),
            domain: domain.clone(),
            level: AlertLevel::Plan,
            value: if agents == 0 { 0.0 } else { util },
            threshold: cfg.utilization,
        });
    }
    for q in txn.state.queues.values() {
        out.push(Reading {
            rule: "queue_depth",
            subject: q.name.clone(),
            domain: q.domain.clone(),
            level: AlertLevel::Warn,
            value: q.depth as f64,
            threshold: cfg.queue_depth as f64,
        });
        out.push(Reading {
            rule: "latency",
            subject: q.name.clone(),
            domain: q.domain.clone(),
            level: AlertLevel::Escalate,
            value: q.wait_p95_s,
            threshold: cfg.latency_sla.num_seconds() as f64,
        });
    }
    out
}

fn describe(r: &Reading) -> String {
    match r.rule {
        "error_rate" => format!(
            "{} error rate {:.0}% over the {:.0}% threshold",
            r.subject,
            r.value * 100.0,
            r.threshold * 100.0
        ),
        "agents_down" if r.value >= 1.0 => format!(
            "{}: every agent is down (no heartbeat), no live agent left",
            r.subject
        ),
        "agents_down" => format!(
            "{}: {:.0}% of agents down (no heartbeat), over the {:.0}% threshold",
            r.subject,
            r.value * 100.0,
            r.threshold * 100.0
        ),
        "utilization" => format!(
            "{} agents {:.0}% utilized, over the {:.0}% limit",
            r.subject,
            r.value * 100.0,
            r.threshold * 100.0
        ),
        "queue_depth" => format!(
            "queue {} holds {} tasks, over the {} threshold",
            r.subject, r.value, r.threshold
        ),
        _ => format!(
            "queue {} wait p95 {:.0}s exceeds the {:.0}s SLA",
            r.subject, r.value, r.threshold
        ),
    }
}

/// What a firing rule opens: an incident (page, warn, escalate) or a capacity request (plan).
fn open(txn: &mut Txn<'_>, r: &Reading, key: &str, actor: &str) -> Option<String> {
    let title = describe(r);
    let source = IncidentSource::AlertRule {
        rule: r.rule.to_string(),
    };
    let severity = match r.level {
        // A fleet gone quiet: SEV2 once no agent of the domain is live.
        AlertLevel::Page if r.rule == "agents_down" && r.value >= 1.0 => Severity::Sev2,
        AlertLevel::Page if r.rule == "agents_down" => Severity::Sev3,
        AlertLevel::Page if r.value >= (r.threshold * 2.0).min(1.0) => Severity::Sev1,
        AlertLevel::Page => Severity::Sev2,
        AlertLevel::Escalate => Severity::Sev3,
        AlertLevel::Warn => Severity::Sev4,
        AlertLevel::Plan => {
            let request = Request {
                domain: Some(r.domain.clone()),
                category: Category::ResourceRequest,
                summary: format!("scale {}: add agents", r.domain),
                context: title.clone(),
                options_considered: vec![
                    "add agents to the busiest teams".into(),
                    "shed low-priority work".into(),
                    "wait for the burst to pass".into(),
                ],
                recommendation: "add agents to the busiest teams".into(),
                classification: Classification::Internal,
                related_tasks: vec![],
                origin: Default::default(),
            };
            return approvals::raise(txn, actor, actor, request).ok().and_then(
                |reply| match reply {
                    super::Reply::Created { id } => Some(id),
                    _ => None,
                },
            );
        }
    };
    Some(incidents::open_or_raise(
        txn, key, severity, &title, &r.domain, source, actor,
    ))
}

pub fn evaluate(txn: &mut Txn<'_>) {
    for r in readings(txn) {
        let key = format!("{}:{}", r.rule, r.subject);
        let current = txn.state.alerts.get(&key).cloned();
        let firing = current.as_ref().is_some_and(|a| a.firing);
        let over = r.value > r.threshold;
        let actor = format!("orchestrator:{}", r.domain);
        if over && !firing {
            let opened = open(txn, &r, &key, &actor);
            let alert = Alert {
                key: key.clone(),
                rule: r.rule.to_string(),
                subject: r.subject.clone(),
                domain: r.domain.clone(),
                level: r.level,
                firing: true,
                value: r.value,
                threshold: r.threshold,
                since: txn.now,
                cleared_at: None,
                opened: opened.clone(),
                history: vec![(txn.now, r.value as f32)],
            };
            txn.put(Change::Alert(alert));
            txn.record(
                &actor,
                ActionType::Escalation,
                &r.domain,
                format!("alert {} fired: {}", r.rule, describe(&r)),
                AuditDetails {
                    decision: format!("{:?}", r.level).to_lowercase(),
                    reasoning: format!("reading {:.3} over threshold {:.3}", r.value, r.threshold),
                    outcome: opened.map(|id| format!("opened {id}")).unwrap_or_default(),
                    ..Default::default()
                },
                vec![],
            );
        } else if over && firing && r.level == AlertLevel::Page {
            // A page that gets worse raises its incident's severity.
            open(txn, &r, &key, &actor);
            if let Some(mut alert) = current
                && alert.value != r.value
            {
                alert.note(txn.now, r.value);
                txn.put(Change::Alert(alert));
            }
        } else if firing && r.value < r.threshold * CLEAR_RATIO {
            let mut alert = current.expect("firing implies present");
            alert.firing = false;
            alert.note(txn.now, r.value);
            alert.cleared_at = Some(txn.now);
            txn.put(Change::Alert(alert));
            txn.record(
                &actor,
                ActionType::Execution,
                &r.domain,
                format!(
                    "alert {} cleared: {} back to {:.2}",
                    r.rule, r.subject, r.value
                ),
                AuditDetails {
                    outcome: "cleared".into(),
                    ..Default::default()
                },
                vec![],
            );
        } else if firing
            && let Some(mut alert) = current
            && alert.value != r.value
        {
            alert.note(txn.now, r.value);
            txn.put(Change::Alert(alert));
        }
    }
}
