//! The humans of the demo: they decide most escalations (not all, so some escalate themselves or
//! expire), acknowledge and resolve incidents, and promote manual rollouts.

use std::collections::BTreeMap;

use chrono::Duration;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::fleet::{OPERATORS, REASONS_APPROVE, REASONS_REJECT};
use super::{Totals, run_batch};
use crate::authority::{self, Role};
use crate::engine::EngineError;
use crate::model::role::SIMULATED;
use crate::model::{Approval, IncidentState, RolloutState, Timestamp};
use crate::protocol::{
    ActOnApproval, ActOnIncident, ActOnRollout, Actor, ApprovalAction, Command, IncidentAction,
    RolloutAction,
};

enum Plan {
    Decide {
        at: Timestamp,
        approve: bool,
    },
    Ignore,
    Incident {
        ack_at: Option<Timestamp>,
        resolve_at: Option<Timestamp>,
    },
    Promote {
        phase: String,
        at: Timestamp,
    },
}

pub struct Operators {
    rng: ChaCha8Rng,
    people: Vec<(String, Role)>,
    plans: BTreeMap<String, Plan>,
    /// Items a person has a dialog open on, and until when the simulated colleagues keep their
    /// hands off them: nobody's reason is overtaken by a simulation.
    held: BTreeMap<String, Timestamp>,
}

impl Operators {
    pub fn new(seed: u64) -> Operators {
        Operators {
            rng: ChaCha8Rng::seed_from_u64(seed),
            // Simulated colleagues say so wherever they appear: `sim:lee`, never `operator:lee`.
            people: OPERATORS
                .iter()
                .map(|(name, role)| {
                    (
                        format!("{SIMULATED}{name}"),
                        role.parse().expect("valid demo roles"),
                    )
                })
                .collect(),
            plans: BTreeMap::new(),
            held: BTreeMap::new(),
        }
    }

    /// Keeps the simulated colleagues off `id` until `until`.
    pub fn hold(&mut self, id: &str, until: Timestamp) {
        self.held.insert(id.to_string(), until);
    }

    fn is_held(&self, id: &str, now: Timestamp) -> bool {
        self.held.get(id).is_some_and(|until| *until > now)
    }

    fn minutes(&mut self, lo: i64, hi: i64) -> Duration {
        Duration::seconds(self.rng.random_range(lo * 60..hi * 60))
    }

    /// Exponentially distributed delay with the given mean.
    fn delay(&mut self, mean_min: f64) -> Duration {
        let u: f64 = self.rng.random_range(0.0001..1.0);
        Duration::seconds((-u.ln() * mean_min * 60.0) as i64)
    }

    fn eligible(&mut self, a: &Approval) -> Option<(String, Role)> {
        let subject = a.subject();
        let candidates: Vec<&(String, Role)> = self
            .people
            .iter()
            .filter(|(name, role)| authority::may_decide(role, name, subject).is_ok())
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let pick = self.rng.random_range(0..candidates.len());
        Some(candidates[pick].clone())
    }

    fn for_domain(&mut self, domain: &str) -> Option<(String, Role)> {
        let candidates: Vec<(String, Role)> = self
            .people
            .iter()
            .filter(|(_, role)| role.covers_domain(domain))
            .cloned()
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let pick = self.rng.random_range(0..candidates.len());
        Some(candidates[pick].clone())
    }

    pub fn act(
        &mut self,
        engine: &mut impl super::Driver,
        now: Timestamp,
        totals: &mut Totals,
    ) -> Result<(), EngineError> {
        let mut batch = Vec::new();
        self.approvals(engine, now, &mut batch);
        self.incidents(engine, now, &mut batch);
        self.rollouts(engine, now, &mut batch);
        run_batch(engine, batch, totals)?;
        Ok(())
    }

    fn approvals(
        &mut self,
        engine: &impl super::Driver,
        now: Timestamp,
        batch: &mut Vec<(Actor, Command)>,
    ) {
        let pending: Vec<Approval> = engine
            .state()
            .approvals
            .values()
            .filter(|a| a.is_pending())
            .cloned()
            .collect();
        for a in pending {
            if !self.plans.contains_key(&a.id) {
                let plan = if self.rng.random_bool(0.8) {
                    Plan::Decide {
                        at: a.created_at + self.delay(22.0),
                        approve: self.rng.random_bool(0.85),
                    }
                } else {
                    Plan::Ignore
                };
                self.plans.insert(a.id.clone(), plan);
            }
            let Some(Plan::Decide { at, approve }) = self.plans.get(&a.id) else {
                continue;
            };
            let (at, approve) = (*at, *approve);
            if at > now || self.is_held(&a.id, now) {
                continue;
            }
            let Some((name, role)) = self.eligible(&a) else {
                continue;
            };
            let reason = if approve {
                REASONS_APPROVE[self.rng.random_range(0..REASONS_APPROVE.len())]
            } else {
                REASONS_REJECT[self.rng.random_range(0..REASONS_REJECT.len())]
            };
            batch.push((
                Actor::operator(&name, role),
                Command::ActOnApproval(ActOnApproval {
                    id: a.id.clone(),
                    decision: if approve {
                        ApprovalAction::Approve
                    } else {
                        ApprovalAction::Reject
                    },
                    reason: reason.to_string(),
                    option: None,
                    version: Some(a.version),
                }),
            ));
            // A second approver, if the quorum needs one, comes a little later.
            let next = now + self.minutes(3, 15);
            self.plans
                .insert(a.id.clone(), Plan::Decide { at: next, approve });
        }
    }

    fn incidents(
        &mut self,
        engine: &impl super::Driver,
        now: Timestamp,
        batch: &mut Vec<(Actor, Command)>,
    ) {
        let open: Vec<_> = engine
            .state()
            .incidents
            .values()
            .filter(|i| i.is_open())
            .cloned()
            .collect();
        for incident in open {
            if !self.plans.contains_key(&incident.id) {
                let ack_at = self
                    .rng
                    .random_bool(0.9)
                    .then(|| incident.opened_at + self.minutes(2, 25));
                let resolve_at = match ack_at {
                    Some(ack) if self.rng.random_bool(0.8) => Some(ack + self.minutes(20, 180)),
                    _ => None,
                };
                self.plans
                    .insert(incident.id.clone(), Plan::Incident { ack_at, resolve_at });
            }
            let Some(Plan::Incident { ack_at, resolve_at }) = self.plans.get(&incident.id) else {
                continue;
            };
            let (ack_at, resolve_at) = (*ack_at, *resolve_at);
            if self.is_held(&incident.id, now) {
                continue;
            }
            let action = if resolve_at.is_some_and(|t| t <= now) {
                IncidentAction::Resolve
            } else if incident.state == IncidentState::Open && ack_at.is_some_and(|t| t <= now) {
                IncidentAction::Ack
            } else {
                continue;
            };
            let Some((name, role)) = self.for_domain(&incident.domain) else {
                continue;
            };
            let note = match action {
                IncidentAction::Resolve => "fixed and verified; monitoring",
                _ => "looking into it",
            };
            batch.push((
                Actor::operator(&name, role),
                Command::ActOnIncident(ActOnIncident {
                    id: incident.id.clone(),
                    action,
                    note: Some(note.into()),
                    version: Some(incident.version),
                }),
            ));
        }
    }

    fn rollouts(
        &mut self,
        engine: &impl super::Driver,
        now: Timestamp,
        batch: &mut Vec<(Actor, Command)>,
    ) {
        let manual: Vec<_> = engine
            .state()
            .rollouts
            .values()
            .filter(|r| !r.auto_promote && r.state == RolloutState::Progressing)
            .cloned()
            .collect();
        for r in manual {
            let phase = r.current().clone();
            let fresh = !matches!(self.plans.get(&r.id), Some(Plan::Promote { phase: p, .. }) if *p == phase.name);
            if fresh {
                let ready = phase.started_at.unwrap_or(now)
                    + Duration::seconds(phase.min_duration_s as i64);
                let at = ready + self.minutes(2, 15);
                self.plans.insert(
                    r.id.clone(),
                    Plan::Promote {
                        phase: phase.name.clone(),
                        at,
                    },
                );
            }
            let Some(Plan::Promote { at, .. }) = self.plans.get(&r.id) else {
                continue;
            };
            let judged = r.health.samples >= r.min_samples;
            if *at > now || !judged || self.is_held(&r.id, now) {
                continue;
            }
            let Some((name, role)) = self.for_domain(&r.domain) else {
                continue;
            };
            batch.push((
                Actor::operator(&name, role),
                Command::ActOnRollout(ActOnRollout {
                    id: r.id.clone(),
                    action: RolloutAction::Promote,
                    reason: Some("phase healthy; dashboards clean".into()),
                    version: Some(r.version),
                }),
            ));
            self.plans.insert(
                r.id.clone(),
                Plan::Promote {
                    phase: phase.name.clone(),
                    at: now + Duration::hours(100),
                },
            );
        }
    }
}
