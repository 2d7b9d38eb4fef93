//! The control plane: a single writer that validates each command against the current state,
//! commits its state change and audit record in one store transaction, then publishes one event.

mod agents;
mod alerts;
mod approvals;
pub mod clock;
mod command;
mod error;
mod guard;
mod incidents;
mod metrics;
mod rollouts;
mod tasks;
mod txn;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tokio::sync::broadcast;

pub use clock::Clock;
pub use command::{
    Actor, Command, Decision, IncidentAction, Outcome, Reply, RolloutAction, TaskOutcome,
};
pub use error::EngineError;
pub use tasks::backoff;

use crate::config::Config;
use crate::model::{Change, Event, Snapshot, State, Timestamp};
use crate::store::{ClockMode, Store, StoreError, WriteTx};
use txn::Txn;

/// Events a slow subscriber may fall behind by before it must take a fresh snapshot.
const EVENT_BUFFER: usize = 4096;

pub struct Engine {
    store: Store,
    state: State,
    config: Config,
    clock: Clock,
    rng: ChaCha8Rng,
    events: broadcast::Sender<Event>,
    last_at: Option<Timestamp>,
}

impl Engine {
    /// Opens the engine on a store. A store written on a simulated clock keeps that clock (frozen
    /// at its last time) unless the caller brings a manual clock of its own.
    pub fn open(
        mut store: Store,
        config: Config,
        clock: Clock,
        seed: Option<u64>,
    ) -> Result<Engine, StoreError> {
        let (state, head) = store.load()?;
        let clock = match (&clock, head.clock, head.last_at) {
            (Clock::System, ClockMode::Simulated, Some(at)) => Clock::manual(at),
            _ => clock,
        };
        let rng = match seed {
            Some(seed) => ChaCha8Rng::seed_from_u64(seed),
            None => ChaCha8Rng::from_rng(&mut rand::rng()),
        };
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        Ok(Engine {
            store,
            state,
            config,
            clock,
            rng,
            events,
            last_at: head.last_at,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Swaps the clock: the demo fills its first hour on a simulated clock, then goes live.
    pub fn set_clock(&mut self, clock: Clock) {
        self.clock = clock;
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    /// The engine's now: the clock, but never before the last record written.
    pub fn now(&self) -> Timestamp {
        let now = self.clock.now();
        match self.last_at {
            Some(last) if last > now => last,
            _ => now,
        }
    }

    pub fn snapshot(&self) -> Snapshot {
        self.state.snapshot(self.now())
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// A handle for subscribing from other threads than the engine's.
    pub fn event_sender(&self) -> broadcast::Sender<Event> {
        self.events.clone()
    }

    /// Runs one command in its own transaction.
    pub fn execute(&mut self, actor: &Actor, command: Command) -> Result<Outcome, EngineError> {
        let mut results = self.execute_batch(vec![(actor.clone(), command)])?;
        results.pop().expect("one result per command")
    }

    /// Runs several commands in one transaction (one fsync); each still gets its own audit
    /// records and event, and a refused command leaves no trace while the others go through.
    pub fn execute_batch(
        &mut self,
        commands: Vec<(Actor, Command)>,
    ) -> Result<Vec<Result<Outcome, EngineError>>, EngineError> {
        let (outcomes, _) = self.transact(false, |txn| {
            commands
                .into_iter()
                .map(|(actor, command)| {
                    txn.step(command.name(), |txn| dispatch(txn, &actor, command))
                })
                .collect()
        })?;
        Ok(outcomes)
    }

    /// Runs the engine's timers and rules: leases, retries, deadlines, metrics, alert rules and
    /// rollout gates, in one transaction. Returns the event, if anything changed.
    pub fn tick(&mut self) -> Result<Option<Event>, EngineError> {
        let (mut outcomes, mut events) = self.transact(true, |txn| {
            vec![txn.step("tick", |txn| tick(txn).map(|()| Reply::Done))]
        })?;
        outcomes.pop().expect("one result")?;
        Ok(events.pop())
    }

    /// Reloads the state from the store, after a failed commit or to pick up other writers.
    pub fn reload(&mut self) -> Result<(), StoreError> {
        let (state, head) = self.store.load()?;
        self.state = state;
        self.last_at = head.last_at;
        Ok(())
    }

    /// Runs `work` in one write transaction. `index_text` also catches the audit trail's
    /// full-text index up (the clock does it once a second, off the decisions' path).
    fn transact(
        &mut self,
        index_text: bool,
        work: impl FnOnce(&mut Txn<'_>) -> Vec<Result<(Reply, Step), EngineError>>,
    ) -> Result<Persisted, EngineError> {
        let mut write = self.store.write()?;
        if write.head().event_seq != self.state.seq {
            // Another process wrote since we last looked: start from what is on disk, and pass
            // its events on so that consoles following this engine see them too.
            let missed = write.events_since(self.state.seq)?;
            self.state = write.load_state()?;
            for event in missed.into_iter().flatten() {
                let _ = self.events.send(event);
            }
        }
        let mut now = self.clock.now();
        if let Some(last) = write.head().last_at.filter(|l| *l > now) {
            now = last;
        }
        let metrics_before = self.state.metrics.clone();
        let results = {
            let mut txn = Txn::new(&mut self.state, &self.config, now, &mut self.rng);
            work(&mut txn)
        };
        write.set_clock(if self.clock.is_manual() {
            ClockMode::Simulated
        } else {
            ClockMode::Real
        });
        let persisted = persist(
            &mut write,
            &mut self.rng,
            &self.state,
            &metrics_before,
            now,
            results,
        );
        let indexed = persisted.and_then(|done| {
            if index_text {
                write.index_audit_text()?;
            }
            Ok(done)
        });
        let committed = indexed.and_then(|done| Ok((done, write.commit()?)));
        match committed {
            Ok(((outcomes, events), head)) => {
                self.last_at = head.last_at;
                self.state.seq = head.event_seq;
                for event in &events {
                    for change in &event.changes {
                        if let Change::Audit(_) = change {
                            self.state.apply(change);
                        }
                    }
                    // Nobody listening is fine: consoles subscribe when they want events.
                    let _ = self.events.send(event.clone());
                }
                Ok((outcomes, events))
            }
            Err(e) => {
                // The transaction rolled back; the in-memory state may hold its changes.
                self.reload()?;
                Err(e.into())
            }
        }
    }
}

/// What one successful command changed, before it is written.
pub(crate) struct Step {
    cause: &'static str,
    changes: Vec<Change>,
    audits: Vec<crate::model::AuditDraft>,
}

type Persisted = (Vec<Result<Outcome, EngineError>>, Vec<Event>);

fn persist(
    write: &mut WriteTx<'_>,
    rng: &mut ChaCha8Rng,
    state: &State,
    metrics_before: &crate::model::Metrics,
    now: Timestamp,
    results: Vec<Result<(Reply, Step), EngineError>>,
) -> Result<Persisted, StoreError> {
    let mut outcomes = Vec::with_capacity(results.len());
    let mut events = Vec::new();
    // Plain heartbeats (nothing audited) share one event per transaction, carrying each
    // agent's final value, so a fleet reporting in does not flood the event log.
    let mut heartbeats: Vec<(usize, String)> = Vec::new();
    for result in results {
        let (reply, step) = match result {
            Ok(done) => done,
            Err(e) => {
                outcomes.push(Err(e));
                continue;
            }
        };
        let mut changes = step.changes;
        for change in &changes {
            write.put(change)?;
        }
        if step.cause == HEARTBEAT && step.audits.is_empty() {
            for change in &changes {
                if let Change::Agent(a) = change {
                    heartbeats.push((outcomes.len(), a.id.clone()));
                }
            }
            outcomes.push(Ok(Outcome {
                reply,
                event_seq: 0,
                audit_seqs: Vec::new(),
            }));
            continue;
        }
        let mut audit_seqs = Vec::with_capacity(step.audits.len());
        for draft in step.audits {
            let record = write.append_audit(audit_id(now, rng), now, draft)?;
            audit_seqs.push(record.seq);
            changes.push(Change::Audit(record));
        }
        let event_seq = if changes.is_empty() {
            write.head().event_seq
        } else {
            let event = write.append_event(now, step.cause, changes)?;
            let seq = event.seq;
            events.push(event);
            seq
        };
        outcomes.push(Ok(Outcome {
            reply,
            event_seq,
            audit_seqs,
        }));
    }
    if !heartbeats.is_empty() {
        let mut ids: Vec<&String> = heartbeats.iter().map(|(_, id)| id).collect();
        ids.sort();
        ids.dedup();
        let changes = ids
            .into_iter()
            .filter_map(|id| state.agents.get(id).cloned().map(Change::Agent))
            .collect();
        let event = write.append_event(now, HEARTBEAT, changes)?;
        for (i, _) in &heartbeats {
            if let Some(Ok(outcome)) = outcomes.get_mut(*i) {
                outcome.event_seq = event.seq;
            }
        }
        events.push(event);
    }
    write.set_ids(&state.ids);
    if state.metrics != *metrics_before {
        write.put_metrics(&state.metrics)?;
    }
    Ok((outcomes, events))
}

const HEARTBEAT: &str = "agent.heartbeat";

/// A UUIDv7 from the engine's clock and random source, so a seeded demo is reproducible.
fn audit_id(now: Timestamp, rng: &mut ChaCha8Rng) -> uuid::Uuid {
    use rand::RngExt;
    let bytes: [u8; 10] = rng.random();
    uuid::Builder::from_unix_timestamp_millis(now.timestamp_millis().max(0) as u64, &bytes)
        .into_uuid()
}

fn dispatch(txn: &mut Txn<'_>, actor: &Actor, command: Command) -> Result<Reply, EngineError> {
    match command {
        Command::DecideApproval {
            id,
            decision,
            reason,
            expected_version,
        } => approvals::decide(txn, actor, &id, decision, &reason, expected_version),
        Command::EscalateApproval {
            id,
            reason,
            expected_version,
        } => approvals::escalate(txn, actor, &id, &reason, expected_version),
        Command::RaiseEscalation {
            agent,
            category,
            summary,
            context,
            options_considered,
            recommendation,
            classification,
            related_tasks,
        } => {
            guard::agent_is(actor, &agent)?;
            approvals::raise(
                txn,
                &actor.audit_id(),
                &agent,
                approvals::Request {
                    domain: None,
                    category,
                    summary,
                    context,
                    options_considered,
                    recommendation,
                    classification,
                    related_tasks,
                },
            )
        }
        Command::IncidentAction {
            id,
            action,
            note,
            expected_version,
        } => incidents::act(txn, actor, &id, action, note, expected_version),
        Command::DeclareIncident {
            severity,
            title,
            domain,
        } => incidents::declare(txn, actor, severity, &title, &domain),
        Command::ReportIncident {
            agent,
            severity,
            title,
        } => incidents::report(txn, actor, &agent, severity, &title),
        Command::RolloutAction {
            id,
            action,
            reason,
            expected_version,
        } => rollouts::act(txn, actor, &id, action, reason, expected_version),
        Command::StartRollout {
            name,
            kind,
            target_version,
            domain,
            auto_promote,
        } => rollouts::start(
            txn,
            actor,
            &name,
            kind,
            &target_version,
            &domain,
            auto_promote,
        ),
        Command::PauseAgent { id, reason } => agents::pause(txn, actor, &id, &reason),
        Command::RevealAudit { seq, domain } => reveal(txn, actor, seq, &domain),
        Command::ResumeAgent { id } => agents::resume(txn, actor, &id),
        Command::RegisterAgent {
            name,
            domain,
            team,
            skills,
            version,
        } => agents::register(txn, actor, &name, &domain, &team, skills, &version),
        Command::Heartbeat { agent } => agents::heartbeat(txn, actor, &agent),
        Command::SubmitTask {
            title,
            domain,
            team,
            priority,
            skills,
            depends_on,
        } => tasks::submit(
            txn, actor, &title, &domain, &team, priority, skills, depends_on,
        ),
        Command::LeaseTask { agent } => tasks::lease(txn, actor, &agent),
        Command::CompleteTask {
            agent,
            task,
            outcome,
        } => tasks::complete(txn, actor, &agent, &task, outcome),
        Command::RecordExecution {
            agent,
            summary,
            context,
            outcome,
            related_tasks,
        } => agents::record_execution(
            txn,
            actor,
            &agent,
            &summary,
            &context,
            &outcome,
            related_tasks,
        ),
    }
}

/// Reading a sensitive record leaves a trace: who opened which record, when.
fn reveal(txn: &mut Txn<'_>, actor: &Actor, seq: u64, domain: &str) -> Result<Reply, EngineError> {
    if !matches!(actor, Actor::Operator { .. }) {
        return Err(EngineError::refused(
            "only operators reveal sensitive records",
        ));
    }
    if seq == 0 {
        return Err(EngineError::Invalid("audit records start at seq 1".into()));
    }
    txn.audit(crate::model::AuditDraft {
        agent_id: actor.audit_id(),
        action_type: crate::model::ActionType::Execution,
        domain: domain.to_string(),
        summary: format!("revealed sensitive audit record seq {seq}"),
        details: crate::model::AuditDetails {
            decision: "reveal".into(),
            outcome: "shown to the operator".into(),
            ..Default::default()
        },
        classification: crate::model::Classification::Sensitive,
        related_tasks: vec![],
        retention: crate::model::Retention::Compliance,
    });
    Ok(Reply::Done)
}

fn tick(txn: &mut Txn<'_>) -> Result<(), EngineError> {
    agents::check_heartbeats(txn);
    agents::close_circuits(txn);
    tasks::expire_leases(txn);
    tasks::unblock(txn);
    tasks::assign(txn);
    approvals::run_deadlines(txn);
    rollouts::progress(txn);
    if metrics::due(txn) {
        metrics::refresh(txn);
        alerts::evaluate(txn);
    }
    Ok(())
}
