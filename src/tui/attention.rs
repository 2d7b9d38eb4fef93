//! What needs this operator now ("needs me"), and when the console calls them about it.
//!
//! One list, computed from the data the console holds and the operator's role with the same
//! authority checks the engine decides with: unacknowledged incidents (SEV1 and SEV2, and any
//! severity `[attention] signal` names), pending approvals this operator may decide, rollouts
//! their error gate paused, and domains with agents down. An item is *new* until the operator
//! has seen it listed or opened it; an item that joins the list calls (bell, desktop
//! notification, toast) at most once per `min_interval`, and the terminal title carries the count.

use std::collections::BTreeSet;

use chrono::Duration;

use super::app::{App, Pane};
use crate::authority;
use crate::config::attention::{AttentionConfig, Signal};
use crate::format::span;
use crate::model::{AgentStatus, IncidentState, RolloutState, Severity, Timestamp};

/// How long an item stays marked new once the list has shown it.
pub const NEW_FOR: Duration = Duration::seconds(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NeedKind {
    Incident(Severity),
    Approval,
    Rollout,
    Agents,
}

impl NeedKind {
    pub fn signal(self) -> Signal {
        match self {
            NeedKind::Incident(s) => Signal::severity(s),
            NeedKind::Approval => Signal::Approvals,
            NeedKind::Rollout => Signal::Rollouts,
            NeedKind::Agents => Signal::Agents,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            NeedKind::Incident(s) => s.as_str(),
            NeedKind::Approval => "approval",
            NeedKind::Rollout => "rollout",
            NeedKind::Agents => "agents",
        }
    }

    /// Incidents of SEV2 and above are trouble in progress: shown and toasted as errors.
    pub fn is_alarm(self) -> bool {
        matches!(self, NeedKind::Incident(Severity::Sev1 | Severity::Sev2))
    }
}

/// One thing that needs the operator.
#[derive(Debug, Clone, PartialEq)]
pub struct Need {
    /// Unique in the list: the item's id, or `agents:DOMAIN`.
    pub key: String,
    pub kind: NeedKind,
    /// Where Enter takes the operator, and the item selected and opened there.
    pub pane: Pane,
    pub id: String,
    pub domain: String,
    /// The item's summary (untrusted: through `safe` on its way to a widget).
    pub what: String,
    /// Its most urgent number, in words: "escalates in 6m", "open 3m", "12 of 12 down".
    pub urgency: String,
}

/// The console's memory of the list between two looks, and of its last call.
#[derive(Debug, Clone, PartialEq)]
pub struct Attention {
    pub config: AttentionConfig,
    /// `--quiet`: listed and marked, but no bell, notification, title or toast.
    pub quiet: bool,
    /// The keys listed at the last look: a key not among them is new trouble.
    pub known: BTreeSet<String>,
    /// The keys the operator has seen listed or opened; dropped when the item leaves the list,
    /// so that trouble that comes back is new again.
    pub seen: BTreeSet<String>,
    /// When each listed key was first on screen in the list: it stays marked new for
    /// [`NEW_FOR`] after that, so that what just arrived stands out while the list is open.
    pub shown: std::collections::BTreeMap<String, Timestamp>,
    /// The wall clock (a frozen store stops `App::now`, not the rate limit).
    pub wall: Timestamp,
    pub last_call: Option<Timestamp>,
    /// New items that arrived inside the quiet interval and were folded into the last toast.
    pub folded: usize,
    /// The count last written to the terminal title.
    pub title_count: Option<usize>,
}

impl Attention {
    pub fn new(config: AttentionConfig, quiet: bool, wall: Timestamp) -> Attention {
        Attention {
            config,
            quiet,
            known: BTreeSet::new(),
            seen: BTreeSet::new(),
            shown: Default::default(),
            wall,
            last_call: None,
            folded: 0,
            title_count: None,
        }
    }

    pub fn is_new(&self, key: &str) -> bool {
        !self.seen.contains(key)
    }

    /// A call now would be inside the quiet interval after the last one.
    pub fn in_quiet_interval(&self) -> bool {
        self.last_call
            .is_some_and(|at| self.wall - at < self.config.min_interval)
    }

    /// Whether incidents of this severity are listed.
    fn lists(&self, severity: Severity) -> bool {
        severity <= Severity::Sev2 || self.config.signals(Signal::severity(severity))
    }
}

/// What needs the operator, most urgent first: incidents by severity (newest first within
/// one), approvals by time to escalation, rollouts paused by their gate, domains with agents
/// down.
pub fn needs(app: &App) -> Vec<Need> {
    let mut list = Vec::new();
    incidents(app, &mut list);
    approvals(app, &mut list);
    rollouts(app, &mut list);
    agents(app, &mut list);
    list
}

fn incidents(app: &App, list: &mut Vec<Need>) {
    let mut open: Vec<_> = app
        .data
        .incidents
        .values()
        .filter(|i| i.state == IncidentState::Open)
        .filter(|i| app.attention.lists(i.severity) && app.role.covers_domain(&i.domain))
        .collect();
    open.sort_by(|a, b| {
        a.severity
            .cmp(&b.severity)
            .then(b.opened_at.cmp(&a.opened_at))
            .then(b.id.cmp(&a.id))
    });
    list.extend(open.into_iter().map(|i| {
        let left = i.target_at - app.now;
        let target = if left < Duration::zero() {
            format!("target missed {} ago", span(-left))
        } else {
            format!("target in {}", span(left))
        };
        Need {
            key: i.id.clone(),
            kind: NeedKind::Incident(i.severity),
            pane: Pane::Incidents,
            id: i.id.clone(),
            domain: i.domain.clone(),
            what: i.title.clone(),
            urgency: format!("unacked {} · {target}", span(app.now - i.opened_at)),
        }
    }));
}

fn approvals(app: &App, list: &mut Vec<Need>) {
    let operator = &app.info.operator;
    let mut mine: Vec<_> = app
        .data
        .approvals
        .values()
        .filter(|a| a.is_pending())
        .filter(|a| authority::may_decide(&app.role, operator, a.subject()).is_ok())
        .collect();
    mine.sort_by(|a, b| {
        a.next_deadline()
            .0
            .cmp(&b.next_deadline().0)
            .then(a.id.cmp(&b.id))
    });
    list.extend(mine.into_iter().map(|a| {
        let (at, what) = a.next_deadline();
        let left = at - app.now;
        let urgency = if left < Duration::zero() {
            format!("{what} now")
        } else {
            format!("{what} in {}", span(left))
        };
        Need {
            key: a.id.clone(),
            kind: NeedKind::Approval,
            pane: Pane::Approvals,
            id: a.id.clone(),
            domain: a.domain.clone(),
            what: a.summary.clone(),
            urgency,
        }
    }));
}

fn rollouts(app: &App, list: &mut Vec<Need>) {
    let mut paused: Vec<_> = app
        .data
        .rollouts
        .values()
        .filter(|r| r.state == RolloutState::Paused && r.gate_paused)
        .filter(|r| app.role.covers_domain(&r.domain))
        .collect();
    paused.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then(a.id.cmp(&b.id)));
    list.extend(paused.into_iter().map(|r| Need {
        key: r.id.clone(),
        kind: NeedKind::Rollout,
        pane: Pane::Rollouts,
        id: r.id.clone(),
        domain: r.domain.clone(),
        what: format!(
            "{} paused at {}: {}",
            r.name,
            r.current_phase,
            r.paused_reason.as_deref().unwrap_or("its gate tripped")
        ),
        urgency: format!("paused {}", span(app.now - r.updated_at)),
    }));
}

/// One entry per domain with agents down: a dead fleet is one line, not thirty-six.
fn agents(app: &App, list: &mut Vec<Need>) {
    let mut domains: std::collections::BTreeMap<&str, (usize, usize, Option<&str>)> =
        Default::default();
    for a in app.data.agents.values() {
        if !app.role.covers_domain(&a.domain) {
            continue;
        }
        let entry = domains.entry(&a.domain).or_default();
        entry.1 += 1;
        if a.status == AgentStatus::Down {
            entry.0 += 1;
            entry.2.get_or_insert(&a.id);
        }
    }
    list.extend(
        domains
            .into_iter()
            .filter_map(|(domain, (down, all, first))| {
                let first = first?;
                Some(Need {
                    key: format!("agents:{domain}"),
                    kind: NeedKind::Agents,
                    pane: Pane::Agents,
                    id: first.to_string(),
                    domain: domain.to_string(),
                    what: if down == all {
                        format!("no live agent in {domain}")
                    } else {
                        format!("{down} agents down in {domain}")
                    },
                    urgency: format!("{down} of {all} down"),
                })
            }),
    );
}

/// The keys of a list.
pub fn keys(list: &[Need]) -> BTreeSet<String> {
    list.iter().map(|n| n.key.clone()).collect()
}

/// What the terminal receives when the console calls: all of it untrusted text already made
/// safe for a control string by the writer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Call {
    pub bell: bool,
    /// A desktop notification: title and body.
    pub notify: Option<(String, String)>,
    /// The terminal title.
    pub title: Option<String>,
}

/// The terminal title for a count of what needs the operator.
pub fn title(count: usize) -> String {
    match count {
        0 => "opsdeck".to_string(),
        n => format!("opsdeck · {n} need{} you", if n == 1 { "s" } else { "" }),
    }
}

/// One line about a need: "SEV1 INC-12 product: db latency 27%".
pub fn describe(need: &Need) -> String {
    format!(
        "{} {} {}: {}",
        need.kind.label(),
        need.id,
        need.domain,
        need.what
    )
}
