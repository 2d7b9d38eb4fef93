//! The control plane: a single writer that validates each command against the current state,
//! commits its state change, audit record and (for a keyed command) its answer in one store
//! transaction, then publishes one event.

mod agents;
mod alerts;
mod approvals;
pub use approvals::Delivery;
pub mod clock;
mod error;
mod guard;
mod incidents;
mod metrics;
mod persist;
mod rollouts;
mod tasks;
mod txn;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tokio::sync::broadcast;

pub use clock::Clock;
pub use error::EngineError;
pub use tasks::backoff;

use crate::config::Config;
use crate::model::{AuditRecord, Change, Event, Snapshot, State, Timestamp};
use crate::protocol::{
    Actor, AgentAction, Command, Executed, IDEMPOTENCY_WINDOW_HOURS, IdempotencyKey, KEY_REUSED,
    Outcome, RecordedAnswer, Reply,
};
use crate::store::{Ahead, ClockMode, Store, StoreError, WriteTx};
use persist::{Persisted, Step, persist};
use txn::Txn;

/// Events a slow subscriber may fall behind by before it must take a fresh snapshot.
pub const EVENT_BUFFER: usize = 4096;

pub struct Engine {
    store: Store,
    state: State,
    config: Config,
    clock: Clock,
    rng: ChaCha8Rng,
    events: broadcast::Sender<Event>,
    last_at: Option<Timestamp>,
    /// Why the engine stopped writing: set by the first write that found the store damaged.
    halted: Option<String>,
    /// The store was written on a simulated clock and time is frozen at its end: what a person
    /// does on it is stamped at that time (the trail's times only grow, and the store's world
    /// has no later time), and each record says when they really acted.
    frozen_store: bool,
    /// The transaction about to run carries a person's command.
    by_person: bool,
    /// The idempotency keys the next transaction runs, read with its lock.
    keys_ahead: Vec<(String, String)>,
    /// When the full-text index was last caught up, and the trail's end then.
    text_indexed: Option<(Timestamp, u64)>,
}

/// The clock catches the full-text index up once this many records wait, or once they have
/// waited this long: large batches keep its segments few (a text search catches up first in
/// any case, so nothing is ever missing from an answer).
const TEXT_BATCH: u64 = 512;
const TEXT_WAIT: chrono::Duration = chrono::Duration::seconds(30);

impl Engine {
    /// Opens the engine on a store. A store written on a simulated clock keeps that clock (frozen
    /// at its last time) unless the caller brings a manual clock of its own.
    pub fn open(
        mut store: Store,
        config: Config,
        clock: Clock,
        seed: Option<u64>,
    ) -> Result<Engine, StoreError> {
        let (state, head) = store.load(&config.engine.live_window())?;
        let frozen_store = matches!(
            (&clock, head.clock, head.last_at),
            (Clock::System, ClockMode::Simulated, Some(_))
        );
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
            halted: None,
            frozen_store,
            by_person: false,
            keys_ahead: Vec::new(),
            text_indexed: None,
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

    /// Runs `work` with its commands' transactions joined into one, committed at the end (see
    /// [`Store::begin_group`]): only for a simulated run nobody watches, since what a command
    /// changed is announced before the group reaches the disk. What committed inside stays
    /// committed when `work` fails part way; when the group's own commit fails, the state is
    /// reloaded from the store, so memory never runs ahead of the disk.
    pub fn grouped<T>(
        &mut self,
        work: impl FnOnce(&mut Engine) -> Result<T, EngineError>,
    ) -> Result<T, EngineError> {
        self.store.begin_group()?;
        let done = work(self);
        if let Err(e) = self.store.end_group() {
            self.reload()?;
            return Err(e.into());
        }
        done
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

    /// Publishes on `sender` from now on (an orchestrator that made its channel before the
    /// engine was opened).
    pub fn set_event_sender(&mut self, sender: broadcast::Sender<Event>) {
        self.events = sender;
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
        let records = self.prepare(commands.iter().map(|(a, c)| (a, c)))?;
        let (outcomes, _) = self.transact(false, |txn, _| {
            commands
                .into_iter()
                .zip(records)
                .map(|((actor, command), record)| command_step(txn, &actor, command, record))
                .collect()
        })?;
        Ok(outcomes)
    }

    /// Runs one command at most once per idempotency key: a key already answered within the
    /// window gets that answer back, byte for byte, and nothing runs; the key with another
    /// request is refused. The answer is recorded in the transaction of the command's effect,
    /// so a crash cannot keep one without the other; a command that fails records nothing (a
    /// retry runs it again).
    pub fn execute_once(
        &mut self,
        actor: &Actor,
        command: Command,
        key: Option<IdempotencyKey>,
    ) -> Result<Executed, EngineError> {
        let Some(key) = key else {
            return self.execute(actor, command).map(Executed::Fresh);
        };
        let mut results = self.execute_keyed(vec![(actor.clone(), command, key)])?;
        results.pop().expect("one result per command")
    }

    /// Runs keyed commands in one transaction (one commit for a group of operators acting at
    /// once), each as [`Engine::execute_once`] would: its key looked up, its answer recorded
    /// with its effect, a refused command leaving no trace while the others go through. Keys
    /// must differ within a group (a retry's second copy would not see the first's answer).
    pub fn execute_keyed(
        &mut self,
        jobs: Vec<(Actor, Command, IdempotencyKey)>,
    ) -> Result<Vec<Result<Executed, EngineError>>, EngineError> {
        let records = self.prepare(jobs.iter().map(|(a, c, _)| (a, c)))?;
        let keys: Vec<IdempotencyKey> = jobs.iter().map(|(.., key)| key.clone()).collect();
        self.keys_ahead = keys
            .iter()
            .map(|k| (k.caller.clone(), k.key.clone()))
            .collect();
        let mut recorded: Vec<Option<RecordedAnswer>> = Vec::new();
        let mut lookup: Result<(), StoreError> = Ok(());
        let (outcomes, _) = self.transact(false, |txn, write| {
            let since = txn.now - chrono::Duration::hours(IDEMPOTENCY_WINDOW_HOURS);
            let asked: Vec<(&str, &str)> = keys
                .iter()
                .map(|k| (k.caller.as_str(), k.key.as_str()))
                .collect();
            recorded = match write.recorded_answers(&asked, since) {
                Ok(found) => found,
                Err(e) => {
                    lookup = Err(e);
                    return Vec::new();
                }
            };
            jobs.into_iter()
                .zip(records)
                .zip(&recorded)
                .filter(|(_, answer)| answer.is_none())
                .map(|(((actor, command, key), record), _)| {
                    let status = command.success_status();
                    command_step(txn, &actor, command, record).map(|(reply, mut step)| {
                        step.answer_key = Some((key, status));
                        (reply, step)
                    })
                })
                .collect()
        })?;
        lookup?;
        let mut outcomes = outcomes.into_iter();
        Ok(recorded
            .into_iter()
            .zip(keys)
            .map(|(answer, key)| match answer {
                Some(answer) if answer.fingerprint == key.fingerprint => {
                    Ok(Executed::Replayed(answer))
                }
                Some(_) => Err(EngineError::Invalid(KEY_REUSED.into())),
                None => outcomes
                    .next()
                    .expect("one result per command run")
                    .map(Executed::Fresh),
            })
            .collect())
    }

    /// What commands about to run in one transaction need from the store first (a reveal's
    /// whole record, tasks they wait on that left memory), and whether a person acts among them.
    fn prepare<'c>(
        &mut self,
        commands: impl Iterator<Item = (&'c Actor, &'c Command)>,
    ) -> Result<Vec<Option<AuditRecord>>, EngineError> {
        let mut records = Vec::new();
        let mut by_person = false;
        for (actor, command) in commands {
            records.push(self.revealed(command)?);
            self.recall_dependencies(command)?;
            by_person |= matches!(actor, Actor::Operator { .. });
        }
        self.by_person = by_person;
        Ok(records)
    }

    /// The whole record a reveal needs (only the store holds it); `None` for other commands.
    fn revealed(&self, command: &Command) -> Result<Option<AuditRecord>, StoreError> {
        match command {
            Command::RevealRecord(c) => self.store.audit_record(c.seq),
            _ => Ok(None),
        }
    }

    /// A new task may wait on one that closed long ago and left memory: it comes back from the
    /// store (as it is there) so the task is decided by it; the next retirement takes it out
    /// again once nothing live waits on it.
    fn recall_dependencies(&mut self, command: &Command) -> Result<(), StoreError> {
        let Command::SubmitTask(c) = command else {
            return Ok(());
        };
        for dep in &c.depends_on {
            if !self.state.tasks.contains_key(dep)
                && let Some(task) = self.store.item::<crate::model::Task>(dep)?
            {
                self.state.tasks.insert(dep.clone(), task);
            }
        }
        Ok(())
    }

    /// Runs the engine's timers and rules: leases, retries, deadlines, metrics, alert rules and
    /// rollout gates, in one transaction. Returns the event, if anything changed.
    pub fn tick(&mut self) -> Result<Option<Event>, EngineError> {
        let (mut outcomes, mut events) = self.transact(true, |txn, _| {
            vec![txn.step("tick", |txn| tick(txn).map(|()| Reply::Done))]
        })?;
        outcomes.pop().expect("one result")?;
        Ok(events.pop())
    }

    /// Records how a decision's callback delivery ended (on the approval, and in the trail).
    pub fn record_delivery(
        &mut self,
        delivery: approvals::Delivery<'_>,
    ) -> Result<Option<Event>, EngineError> {
        let (mut outcomes, mut events) = self.transact(false, |txn, _| {
            vec![txn.step("approval.callback", |txn| {
                approvals::record_delivery(txn, delivery).map(|()| Reply::Done)
            })]
        })?;
        outcomes.pop().expect("one result")?;
        Ok(events.pop())
    }

    /// Applies the events other writers committed since this engine's seq (another process on
    /// the same file, another replica on the same database), without a write: the doorbell and
    /// the clock's poll call it so consoles on this replica see the others' work. Returns how
    /// many events were applied; a log that no longer reaches back reloads the live set.
    pub fn catch_up(&mut self) -> Result<usize, StoreError> {
        let missed = self.store.missed(self.state.seq)?;
        if missed.head.event_seq <= self.state.seq {
            return Ok(0);
        }
        let Some(events) = missed.events else {
            self.reload()?;
            return Ok(0);
        };
        let applied = events.len();
        let mut foreign = Foreign {
            state: &mut self.state,
            last_at: &mut self.last_at,
            events: &self.events,
        };
        foreign.apply(events, &missed.head, missed.metrics.unwrap_or_default());
        Ok(applied)
    }

    /// Reloads the state from the store, after a failed commit or to pick up other writers.
    pub fn reload(&mut self) -> Result<(), StoreError> {
        let (state, head) = self.store.load(&self.config.engine.live_window())?;
        self.state = state;
        self.last_at = head.last_at;
        Ok(())
    }

    /// Set once a write found the store damaged (corrupt pages, not a database, an I/O
    /// error): the engine then refuses every command, and whoever runs it should stop.
    pub fn halted(&self) -> Option<&str> {
        self.halted.as_deref()
    }

    /// Runs `work` in one write transaction (`work` may read the store through it).
    /// `housekeeping` also catches the audit trail's full-text index up and forgets expired
    /// idempotency answers (the clock does both once a second, off the decisions' path). A
    /// store found damaged stops the engine: going on would write over broken pages, and what it
    /// reads back can no longer be trusted. A busy or full store only fails this command.
    fn transact(
        &mut self,
        housekeeping: bool,
        work: impl FnOnce(&mut Txn<'_>, &WriteTx<'_>) -> Vec<Result<(Reply, Step), EngineError>>,
    ) -> Result<Persisted, EngineError> {
        if let Some(why) = &self.halted {
            return Err(EngineError::Halted(why.clone()));
        }
        let by_person = std::mem::take(&mut self.by_person);
        let ahead = Ahead {
            seq: self.state.seq,
            keys: std::mem::take(&mut self.keys_ahead),
        };
        let result = self.transact_once(housekeeping, by_person, &ahead, work);
        if let Err(EngineError::Store(e)) = &result
            && e.is_damage()
        {
            tracing::error!("the engine stops: {e}");
            self.halted = Some(e.to_string());
        }
        result
    }

    fn transact_once(
        &mut self,
        housekeeping: bool,
        by_person: bool,
        ahead: &Ahead,
        work: impl FnOnce(&mut Txn<'_>, &WriteTx<'_>) -> Vec<Result<(Reply, Step), EngineError>>,
    ) -> Result<Persisted, EngineError> {
        let mut write = self.store.write_ahead(ahead)?;
        if write.head().event_seq != self.state.seq {
            // Another process (or replica) wrote since we last looked: apply what it wrote,
            // under the head lock, so this command is decided on the newest state.
            let missed = write.events_since(self.state.seq)?;
            let head = write.head().clone();
            match missed {
                Some(events) => {
                    let metrics = write.metrics()?;
                    let mut foreign = Foreign {
                        state: &mut self.state,
                        last_at: &mut self.last_at,
                        events: &self.events,
                    };
                    foreign.apply(events, &head, metrics);
                }
                None => self.state = write.load_state(&self.config.engine.live_window())?,
            }
        }
        let mut now = self.clock.now();
        if let Some(last) = write.head().last_at.filter(|l| *l > now) {
            now = last;
        }
        let metrics_before = self.state.metrics.clone();
        let results = {
            let mut txn = Txn::new(&mut self.state, &self.config, now, &mut self.rng);
            work(&mut txn, &write)
        };
        let mut results = results;
        if by_person && self.frozen_store {
            let note = format!(
                "recorded at {} on a store whose simulated time is frozen there; the operator acted at {} real time",
                now.format("%Y-%m-%d %H:%M:%S UTC"),
                Clock::System.now().format("%Y-%m-%d %H:%M:%S UTC")
            );
            for (_, step) in results.iter_mut().flatten() {
                for draft in &mut step.audits {
                    let context = &mut draft.details.context;
                    if !context.is_empty() {
                        context.push('\n');
                    }
                    context.push_str(&note);
                }
            }
        }
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
        let end = write.head().audit_seq;
        let text_due = match self.text_indexed {
            None => true,
            Some((at, upto)) => end.saturating_sub(upto) >= TEXT_BATCH || now - at >= TEXT_WAIT,
        };
        let indexed = persisted.and_then(|done| {
            if housekeeping {
                if text_due {
                    write.index_audit_text()?;
                }
                write.prune_answers(now - chrono::Duration::hours(IDEMPOTENCY_WINDOW_HOURS))?;
            }
            Ok(done)
        });
        let committed = indexed.and_then(|done| Ok((done, write.commit()?)));
        match committed {
            Ok(((outcomes, events), head)) => {
                if housekeeping && text_due {
                    self.text_indexed = Some((now, head.audit_seq));
                }
                self.last_at = head.last_at;
                self.state.seq = head.event_seq;
                for event in &events {
                    for change in &event.changes {
                        if let Change::Audit(_) = change {
                            self.state.apply(change);
                        }
                    }
                    // Nobody listening is fine: consoles subscribe when they want events. What
                    // leaves the engine has its sensitive records withheld.
                    let _ = self.events.send(event.clone().withheld());
                }
                Ok((outcomes, events))
            }
            Err(e) if e.is_damage() => Err(e.into()),
            Err(e) => {
                // The transaction rolled back; the in-memory state may hold its changes.
                self.reload()?;
                Err(e.into())
            }
        }
    }
}

/// What other writers' events change in an engine.
struct Foreign<'a> {
    state: &'a mut State,
    last_at: &'a mut Option<Timestamp>,
    events: &'a broadcast::Sender<Event>,
}

impl Foreign<'_> {
    /// Applies other writers' events one by one (never a reload per foreign write), passing
    /// each on to this engine's followers, then takes what events do not carry from the store:
    /// the ids handed out, the metrics, the latest time.
    fn apply(
        &mut self,
        events: Vec<Event>,
        head: &crate::store::Head,
        metrics: crate::model::Metrics,
    ) {
        for event in events {
            if event.seq <= self.state.seq {
                continue;
            }
            self.state.apply_event(&event);
            let _ = self.events.send(event.withheld());
        }
        if head.event_seq >= self.state.seq {
            self.state.ids = head.ids.clone();
            self.state.metrics = metrics;
        }
        if head.last_at > *self.last_at {
            *self.last_at = head.last_at;
        }
    }
}

/// One command as a step of a transaction: a reveal with the record read beforehand, and the
/// caller's door (token, client) named on every record the step writes.
fn command_step(
    txn: &mut Txn<'_>,
    actor: &Actor,
    command: Command,
    record: Option<AuditRecord>,
) -> Result<(Reply, Step), EngineError> {
    let via = actor.via().cloned();
    txn.step(command.name(), |txn| match command {
        Command::RevealRecord(c) => reveal(txn, actor, c.seq, record),
        other => dispatch(txn, actor, other),
    })
    .map(|(reply, step)| (reply, Step { via, ..step }))
}

fn dispatch(txn: &mut Txn<'_>, actor: &Actor, command: Command) -> Result<Reply, EngineError> {
    match command {
        Command::ActOnApproval(c) => approvals::act(
            txn,
            actor,
            &c.id,
            approvals::Act {
                action: c.decision,
                reason: &c.reason,
                expected_version: c.version,
                option: c.option,
            },
        ),
        Command::RaiseEscalation(c) => {
            guard::agent_is(txn.state, actor, &c.agent)?;
            approvals::raise(
                txn,
                &actor.audit_id(),
                &c.agent,
                approvals::Request {
                    domain: None,
                    category: c.category,
                    summary: c.summary,
                    context: c.context,
                    options_considered: c.options_considered,
                    recommendation: c.recommendation,
                    classification: c.classification,
                    related_tasks: c.related_tasks,
                    origin: crate::model::Origin {
                        tool_call: c.tool_call.map(|t| *t),
                        session: c.session,
                        policy_rule: c.policy_rule,
                        callback: c.callback_url.map(|url| crate::model::Callback {
                            url,
                            done_at: None,
                            outcome: None,
                            attempts: 0,
                        }),
                    },
                },
            )
        }
        Command::ActOnIncident(c) => incidents::act(txn, actor, &c.id, c.action, c.note, c.version),
        Command::DeclareIncident(c) => {
            incidents::declare(txn, actor, c.severity, &c.title, &c.domain)
        }
        Command::ReportIncident(c) => incidents::report(txn, actor, &c.agent, c.severity, &c.title),
        Command::ActOnRollout(c) => rollouts::act(txn, actor, &c.id, c.action, c.reason, c.version),
        Command::StartRollout(c) => rollouts::start(
            txn,
            actor,
            &c.name,
            c.kind,
            &c.target_version,
            &c.domain,
            c.auto_promote,
        ),
        Command::ActOnAgent(c) => match c.action {
            AgentAction::Pause => {
                agents::pause(txn, actor, &c.id, c.reason.as_deref().unwrap_or(""))
            }
            AgentAction::Resume => agents::resume(txn, actor, &c.id),
        },
        Command::RevealRecord(c) => reveal(txn, actor, c.seq, None),
        Command::RegisterAgent(c) => agents::register(
            txn, actor, &c.name, &c.domain, &c.team, c.skills, &c.version,
        ),
        Command::Heartbeat(c) => agents::heartbeat(txn, actor, &c.agent),
        Command::SubmitTask(c) => tasks::submit(
            txn,
            actor,
            &c.title,
            &c.domain,
            &c.team,
            c.priority,
            c.skills,
            c.depends_on,
        ),
        Command::LeaseTask(c) => tasks::lease(txn, actor, &c.agent),
        Command::CompleteTask(c) => tasks::complete(txn, actor, &c.agent, &c.task, c.outcome),
        Command::RecordExecution(c) => agents::record_execution(
            txn,
            actor,
            &c.agent,
            &c.summary,
            &c.context,
            &c.outcome,
            c.related_tasks,
        ),
    }
}

/// Reading a sensitive record leaves a trace: who opened which record, when, recorded in the
/// record's own domain before the record is handed over. `record` is the one at `seq`, read by
/// the caller (the transaction sees only the state).
fn reveal(
    txn: &mut Txn<'_>,
    actor: &Actor,
    seq: u64,
    record: Option<AuditRecord>,
) -> Result<Reply, EngineError> {
    let Actor::Operator { role, .. } = actor else {
        return Err(EngineError::refused(
            "only operators reveal sensitive records",
        ));
    };
    let record = record.ok_or(EngineError::NoRecord(seq))?;
    if record.classification != crate::model::Classification::Sensitive {
        return Err(EngineError::Invalid(format!(
            "seq {seq} is {}, not sensitive: nothing in it is withheld",
            record.classification.as_str()
        )));
    }
    crate::authority::may_reveal(role, &record.domain)?;
    txn.audit(crate::model::AuditDraft {
        agent_id: actor.audit_id(),
        action_type: crate::model::ActionType::Execution,
        domain: record.domain.clone(),
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
    Ok(Reply::Record(Box::new(record)))
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
        let retired = txn
            .state
            .retirable(txn.now, &txn.config.engine.live_window());
        txn.retire(retired);
    }
    Ok(())
}
