//! The orchestrator running: the engine on a thread of its own (SQLite calls block), its clock
//! every second, optionally the demo fleet, and requests answered in order. The embedded link and
//! `opsdeck serve` both hold one of these; neither touches the engine directly.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

pub mod follow;
mod read_pool;
mod reads;

use tokio::sync::{broadcast, oneshot, watch};

use crate::engine::{Engine, EngineError};
use crate::model::{EntityKind, Event, Snapshot, Timestamp};
use crate::protocol::{Actor, Command, Executed, IdempotencyKey, Outcome};
use crate::query::QueryError;
use crate::sim::{Sim, Totals};
use crate::store::{Reader, Store, StoreError};
use read_pool::ReadPool;

const TICK: Duration = Duration::from_secs(1);

/// How often the engine looks at the doorbell while waiting for requests.
const DOORBELL_LOOK: Duration = Duration::from_millis(20);

/// How long a dialog keeps the demo's simulated colleagues off its item.
pub const CLAIM: chrono::Duration = chrono::Duration::minutes(1);

/// How much history the demo fleet makes up on a fresh store, so the first screen has a story.
const DEMO_BACKFILL_MINUTES: i64 = 60;

/// Most events one catch-up read returns; further behind than the store's window is a reset.
const CATCH_UP_LIMIT: usize = 100_000;

#[derive(Debug, thiserror::Error)]
pub enum OrchestratorError {
    #[error("the orchestrator stopped")]
    Stopped,
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("{0}")]
    Query(#[from] QueryError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the orchestrator stopped: {0}")]
    Halted(String),
}

type Reply<T> = oneshot::Sender<T>;

enum Request {
    Snapshot(Reply<Snapshot>),
    Execute(Box<(Actor, Command)>, Reply<Result<Outcome, EngineError>>),
    ExecuteOnce(
        Box<(Actor, Command, IdempotencyKey)>,
        Reply<Result<Executed, EngineError>>,
    ),
    /// A read the engine's own connection answers (a store in memory has no other).
    Read(Box<dyn FnOnce(&Engine) + Send>),
    EventsSince(u64, Reply<Result<Option<Vec<Event>>, StoreError>>),
    Current(EntityKind, String, Reply<Option<serde_json::Value>>),
    Seq(Reply<u64>),
    /// A decision callback's delivery ended: id, outcome, attempts, delivered.
    Delivered(
        Box<(String, String, u32, bool)>,
        Reply<Result<(), EngineError>>,
    ),
    /// A person opened a dialog on an item: the demo's colleagues leave it alone for a while.
    Claim(String, Reply<()>),
    Stop(Reply<()>),
}

/// Where this replica stands among others on the same database, as the engine's thread last
/// saw it: for `/healthz` and the console's header.
#[derive(Debug, Default)]
pub struct Replica {
    /// Other replicas may share the store (PostgreSQL).
    shared: AtomicBool,
    /// The last look at the database (a catch-up, or a write) reached it.
    reachable: AtomicBool,
    /// This replica runs the clock: leases, deadlines, alert rules, rollout gates.
    clock: AtomicBool,
}

/// What [`Replica`] holds, read at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ReplicaStatus {
    pub shared: bool,
    pub reachable: bool,
    pub clock: bool,
}

impl Replica {
    pub fn status(&self) -> ReplicaStatus {
        ReplicaStatus {
            shared: self.shared.load(Ordering::SeqCst),
            reachable: self.reachable.load(Ordering::SeqCst),
            clock: self.clock.load(Ordering::SeqCst),
        }
    }
}

/// A handle on the running orchestrator; clones share it.
#[derive(Clone)]
pub struct Orchestrator {
    requests: std_mpsc::Sender<Request>,
    events: broadcast::Sender<Event>,
    frozen_at: Option<Timestamp>,
    /// The demo fleet runs here.
    demo: bool,
    notices: Vec<String>,
    /// Why the engine thread stopped on its own (the store is damaged); `None` while it runs.
    halt: watch::Receiver<Option<String>>,
    replica: Arc<Replica>,
    /// Threads and connections of their own for searches, counts and listings; `None` in
    /// memory.
    reads: Option<ReadPool>,
}

/// Opens the engine on its store, the first time a request needs it.
pub type OpenEngine = Box<dyn FnOnce(Store) -> Result<Engine, StoreError> + Send>;

/// The engine an orchestrator runs: opened already, or opened by its thread when a request
/// first needs it (a one-shot listing or search then never loads the state).
enum Opening {
    Open(Box<Engine>),
    OnDemand(Store, OpenEngine),
}

impl Orchestrator {
    /// Moves the engine onto its own thread; with `demo_seed`, the demo fleet runs on the real
    /// clock (after making up an hour of history on an empty store).
    pub fn start(engine: Engine, demo_seed: Option<u64>) -> Orchestrator {
        Orchestrator::spawn(engine, demo_seed, true)
    }

    /// The engine on its own thread, answering requests only: no clock ticks, no demo fleet.
    /// A one-shot command changes nothing but what it asks for.
    pub fn idle(engine: Engine) -> Orchestrator {
        Orchestrator::spawn(engine, None, false)
    }

    /// Like [`Orchestrator::idle`], but the engine (and the live set it loads) is opened only
    /// when a request needs it: listings, searches and counts read the store by index on
    /// connections of their own.
    pub fn on_demand(store: Store, open: OpenEngine) -> Result<Orchestrator, StoreError> {
        let head = store.head()?;
        let frozen_at = match (head.clock, head.last_at) {
            (crate::store::ClockMode::Simulated, Some(at)) => Some(at),
            _ => None,
        };
        let reader = store.reader()?;
        let (events, _) = broadcast::channel(crate::engine::EVENT_BUFFER);
        Ok(Orchestrator::run_thread(
            Opening::OnDemand(store, open),
            events,
            frozen_at,
            None,
            false,
            Vec::new(),
            reader,
        ))
    }

    fn spawn(engine: Engine, demo_seed: Option<u64>, ticking: bool) -> Orchestrator {
        let events = engine.event_sender();
        let simulated_store = engine.clock().is_manual();
        let frozen_at = simulated_store.then(|| engine.now());
        let mut notices = Vec::new();
        let demo = match demo_seed {
            Some(_) if simulated_store => {
                notices.push(
                    "this store was written on a simulated clock: time is frozen at its end and the demo fleet does not run"
                        .to_string(),
                );
                None
            }
            Some(seed) => Some(Sim::new(seed)),
            None => None,
        };
        let reader = match engine.store().reader() {
            Ok(reader) => reader,
            Err(e) => {
                tracing::warn!("reads share the engine's connection: {e}");
                None
            }
        };
        Orchestrator::run_thread(
            Opening::Open(Box::new(engine)),
            events,
            frozen_at,
            demo,
            ticking,
            notices,
            reader,
        )
    }

    fn run_thread(
        opening: Opening,
        events: broadcast::Sender<Event>,
        frozen_at: Option<Timestamp>,
        demo: Option<Sim>,
        ticking: bool,
        notices: Vec<String>,
        reader: Option<Reader>,
    ) -> Orchestrator {
        let (requests, inbox) = std_mpsc::channel();
        let demo_running = demo.is_some();
        let on_demand = matches!(opening, Opening::OnDemand(..));
        let (halted, halt) = watch::channel(None);
        let replica = Arc::new(Replica {
            reachable: AtomicBool::new(true),
            clock: AtomicBool::new(ticking),
            ..Default::default()
        });
        let seen = replica.clone();
        let sender = events.clone();
        std::thread::Builder::new()
            .name("opsdeck-engine".into())
            .spawn(move || {
                let why = match opening {
                    Opening::Open(engine) => run(*engine, demo, ticking, inbox, &seen),
                    Opening::OnDemand(store, open) => {
                        // Wait for the first request before loading anything.
                        match inbox.recv() {
                            Err(_) => None,
                            Ok(Request::Stop(done)) => {
                                drop(store);
                                let _ = done.send(());
                                None
                            }
                            Ok(first) => match open(store) {
                                Ok(mut engine) => {
                                    engine.set_event_sender(sender);
                                    handle(&mut engine, first);
                                    run(engine, demo, ticking, inbox, &seen)
                                }
                                Err(e) => Some(e.to_string()),
                            },
                        }
                    }
                };
                if let Some(why) = why {
                    tracing::error!("the orchestrator stopped: {why}");
                    let _ = halted.send(Some(why));
                }
            })
            .expect("the engine thread starts");
        Orchestrator {
            requests,
            events,
            frozen_at,
            demo: demo_running,
            notices,
            halt,
            replica,
            reads: reader.map(|reader| match on_demand {
                // A one-shot command: nothing to protect from its reads, and one at a time.
                true => ReadPool::start(reader, 1, false),
                // One core fewer than the machine has: a storm of searches queues among itself,
                // below the engine and the request handlers.
                false => ReadPool::start(reader, reads_at_once(), true),
            }),
        }
    }

    /// Where this replica stands among others on its database.
    pub fn replica(&self) -> ReplicaStatus {
        self.replica.status()
    }

    /// Set when the orchestrator's time stands still (a store written on a simulated clock).
    pub fn frozen_at(&self) -> Option<Timestamp> {
        self.frozen_at
    }

    /// The demo fleet (and its simulated colleagues) acts on this orchestrator's store.
    pub fn demo(&self) -> bool {
        self.demo
    }

    /// The demo fleet runs in another process on the same store (one fleet per store): this
    /// orchestrator shows its work, marks it as the demo's, and says so once.
    pub fn demo_elsewhere(mut self, holder: &str) -> Orchestrator {
        self.demo = true;
        self.notices.push(format!(
            "the demo fleet already runs on this store in {holder}: this console shows its work and starts no second fleet"
        ));
        self
    }

    /// Things an operator should know about this orchestrator (e.g. why the demo does not run).
    pub fn notices(&self) -> &[String] {
        &self.notices
    }

    /// Why the engine stopped by itself (its store turned out damaged), if it did.
    pub fn halt_reason(&self) -> Option<String> {
        self.halt.borrow().clone()
    }

    /// Resolves when the engine stops by itself, with why; never while it runs.
    pub async fn halted(&self) -> String {
        let mut halt = self.halt.clone();
        loop {
            if let Some(why) = halt.borrow_and_update().clone() {
                return why;
            }
            if halt.changed().await.is_err() {
                // The engine thread ended without a reason (stopped on request): wait forever.
                std::future::pending::<()>().await;
            }
        }
    }

    /// Live events from now on; a receiver that lags gets `Lagged` and must resync.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Request) -> Result<T, OrchestratorError> {
        let (tx, rx) = oneshot::channel();
        self.send(make(tx)).await?;
        match rx.await {
            Ok(answer) => Ok(answer),
            Err(_) => Err(self.stopped().await),
        }
    }

    async fn send(&self, request: Request) -> Result<(), OrchestratorError> {
        match self.requests.send(request) {
            Ok(()) => Ok(()),
            Err(_) => Err(self.stopped().await),
        }
    }

    /// Why a request found the engine gone: the reason it stopped by itself, when it did.
    async fn stopped(&self) -> OrchestratorError {
        // The thread may be saying why it stopped as the request is dropped.
        let mut halt = self.halt.clone();
        if halt.borrow().is_none() {
            let _ = tokio::time::timeout(Duration::from_millis(200), halt.changed()).await;
        }
        match self.halt_reason() {
            Some(why) => OrchestratorError::Halted(why),
            None => OrchestratorError::Stopped,
        }
    }

    pub async fn snapshot(&self) -> Result<Snapshot, OrchestratorError> {
        self.ask(Request::Snapshot).await
    }

    pub async fn execute(
        &self,
        actor: Actor,
        command: Command,
    ) -> Result<Outcome, OrchestratorError> {
        Ok(self
            .ask(|tx| Request::Execute(Box::new((actor, command)), tx))
            .await??)
    }

    /// Runs a command at most once per idempotency key (see [`Engine::execute_once`]).
    pub async fn execute_once(
        &self,
        actor: Actor,
        command: Command,
        key: IdempotencyKey,
    ) -> Result<Executed, OrchestratorError> {
        Ok(self
            .ask(|tx| Request::ExecuteOnce(Box::new((actor, command, key)), tx))
            .await??)
    }

    /// The events after `since` from the store's window; `None` when `since` is older than it
    /// (or newer than anything this store holds).
    pub async fn events_since(&self, since: u64) -> Result<Option<Vec<Event>>, OrchestratorError> {
        Ok(self.ask(|tx| Request::EventsSince(since, tx)).await??)
    }

    /// The current state of one thing, as JSON (for a conflict's answer).
    pub async fn current(
        &self,
        entity: EntityKind,
        id: &str,
    ) -> Result<Option<serde_json::Value>, OrchestratorError> {
        self.ask(|tx| Request::Current(entity, id.to_string(), tx))
            .await
    }

    /// A person has a dialog open on `id`: the demo fleet's simulated colleagues do not decide
    /// it for [`CLAIM`]. Nothing is written; without a demo fleet this does nothing.
    pub async fn claim(&self, id: &str) -> Result<(), OrchestratorError> {
        self.ask(|tx| Request::Claim(id.to_string(), tx)).await
    }

    /// Records how the callback of approval `id` ended (sent, or given up), once.
    pub async fn record_delivery(
        &self,
        id: &str,
        outcome: &str,
        attempts: u32,
        delivered: bool,
    ) -> Result<(), OrchestratorError> {
        let job = Box::new((id.to_string(), outcome.to_string(), attempts, delivered));
        Ok(self.ask(|tx| Request::Delivered(job, tx)).await??)
    }

    /// The seq of the last event committed.
    pub async fn seq(&self) -> Result<u64, OrchestratorError> {
        self.ask(Request::Seq).await
    }

    /// Stops the engine thread after the requests before this one; the store is closed when
    /// this returns.
    pub async fn stop(&self) {
        let _ = self.ask(Request::Stop).await;
    }
}

/// On an empty store, runs the demo's last hour on a simulated clock, then hands over to the
/// real one.
fn backfill(engine: &mut Engine, sim: &mut Sim) {
    if !engine.store().is_empty().unwrap_or(false) {
        return;
    }
    let end = crate::model::truncate(chrono::Utc::now());
    let start = end - chrono::Duration::minutes(DEMO_BACKFILL_MINUTES);
    engine.set_clock(crate::engine::Clock::manual(start));
    match sim.run(engine, start, end - start) {
        Ok(totals) => tracing::info!(
            "demo backfilled {DEMO_BACKFILL_MINUTES} minutes: {} commands",
            totals.commands
        ),
        Err(e) => tracing::error!("demo backfill failed: {e}"),
    }
    engine.set_clock(crate::engine::Clock::System);
}

fn reads_at_once() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get().saturating_sub(1))
        .unwrap_or(1)
        .max(1)
}

/// Answers requests and runs the clock until asked to stop, every handle is gone, or the
/// engine halts on a damaged store; returns why in that last case.
fn run(
    mut engine: Engine,
    mut demo: Option<Sim>,
    ticking: bool,
    inbox: std_mpsc::Receiver<Request>,
    replica: &Replica,
) -> Option<String> {
    let mut next_tick = Instant::now();
    let mut totals = Totals::default();
    // Replicas sharing a database: other replicas' commits ring the doorbell, and exactly one
    // replica (the lease's holder) runs the clock and the demo fleet.
    let shared = ticking.then(|| engine.store().doorbell().zip(engine.store().clock_lease()));
    let shared = shared.flatten();
    replica.shared.store(shared.is_some(), Ordering::SeqCst);
    // The demo's made-up hour is written once per store: by this process, or, among replicas,
    // by the first to hold the clock (the others find the store no longer empty).
    let mut backfilled = demo.is_none();
    if shared.is_none() {
        if let Some(sim) = demo.as_mut() {
            backfill(&mut engine, sim);
        }
        backfilled = true;
    }
    // A request read while gathering heartbeats, handled next.
    let mut pending: Option<Request> = None;
    loop {
        let received = if let Some(request) = pending.take() {
            Ok(request)
        } else if ticking {
            let mut wait = next_tick.saturating_duration_since(Instant::now());
            if shared.is_some() {
                wait = wait.min(DOORBELL_LOOK);
            }
            inbox.recv_timeout(wait)
        } else {
            inbox
                .recv()
                .map_err(|_| std_mpsc::RecvTimeoutError::Disconnected)
        };
        // A write reads what others committed under the head's lock anyway; anything else
        // (a read, an idle moment) catches up first, so what it shows is theirs too.
        let writes = matches!(
            received,
            Ok(Request::Execute(..) | Request::ExecuteOnce(..) | Request::Delivered(..))
        );
        if let Some((doorbell, _)) = &shared
            && doorbell.rang()
            && !writes
        {
            catch_up(&mut engine, replica);
        }
        match received {
            Ok(Request::Stop(done)) => {
                drop(engine);
                let _ = done.send(());
                return None;
            }
            Ok(Request::Claim(id, done)) => {
                if let Some(sim) = demo.as_mut() {
                    sim.hold(&id, engine.clock().now() + CLAIM);
                }
                let _ = done.send(());
            }
            Ok(Request::Execute(job, tx)) if matches!(job.1, Command::Heartbeat(_)) => {
                pending = heartbeats(&mut engine, *job, tx, &inbox);
            }
            Ok(Request::ExecuteOnce(job, tx)) => {
                pending = keyed(&mut engine, *job, tx, &inbox);
            }
            Ok(request) => handle(&mut engine, request),
            Err(std_mpsc::RecvTimeoutError::Timeout) if Instant::now() < next_tick => {}
            Err(std_mpsc::RecvTimeoutError::Timeout) => {
                next_tick += TICK;
                if next_tick < Instant::now() {
                    next_tick = Instant::now() + TICK;
                }
                if let Some((_, lease)) = &shared {
                    // The poll behind the doorbell: a lost ring costs at most a tick.
                    catch_up(&mut engine, replica);
                    let held = lease.held();
                    replica.clock.store(held, Ordering::SeqCst);
                    if !held {
                        continue;
                    }
                    if let Some(sim) = demo.as_mut().filter(|_| !backfilled) {
                        backfill(&mut engine, sim);
                        backfilled = true;
                        continue;
                    }
                }
                let result = match demo.as_mut() {
                    Some(sim) => {
                        let now = engine.clock().now();
                        sim.step(&mut engine, now, &mut totals)
                    }
                    None => engine.tick().map(|_| ()),
                };
                if let Err(e) = result {
                    tracing::error!("engine tick failed: {e}");
                }
            }
            Err(std_mpsc::RecvTimeoutError::Disconnected) => return None,
        }
        if let Some(why) = engine.halted() {
            // Requests still queued, and every later one, fail as `Stopped`.
            return Some(why.to_string());
        }
    }
}

/// Most heartbeats one transaction takes.
const HEARTBEAT_BATCH: usize = 512;

/// Most keyed commands one transaction takes.
const KEYED_BATCH: usize = 64;

type Beat = ((Actor, Command), Reply<Result<Outcome, EngineError>>);

type Keyed = (
    (Actor, Command, IdempotencyKey),
    Reply<Result<Executed, EngineError>>,
);

/// `first` and the requests queued right behind it that `take` accepts, at most `limit`; the
/// first request it refuses is returned too, to be handled next. Nothing waits: a group is
/// only what already queued while the engine was busy.
fn gather<J>(
    first: J,
    inbox: &std_mpsc::Receiver<Request>,
    limit: usize,
    mut take: impl FnMut(&[J], Request) -> Result<J, Request>,
) -> (Vec<J>, Option<Request>) {
    let mut group = vec![first];
    while group.len() < limit {
        match inbox.try_recv() {
            Ok(request) => match take(&group, request) {
                Ok(job) => group.push(job),
                Err(other) => return (group, Some(other)),
            },
            Err(_) => break,
        }
    }
    (group, None)
}

/// Runs `first` with every heartbeat queued right behind it in one transaction (a fleet of
/// thousands reporting in then costs a few commits a second, not one each, and does not queue
/// ahead of decisions); returns the first other request found, to be handled next.
fn heartbeats(
    engine: &mut Engine,
    first: (Actor, Command),
    tx: Reply<Result<Outcome, EngineError>>,
    inbox: &std_mpsc::Receiver<Request>,
) -> Option<Request> {
    let (beats, next) =
        gather::<Beat>(
            (first, tx),
            inbox,
            HEARTBEAT_BATCH,
            |_, request| match request {
                Request::Execute(job, tx) if matches!(job.1, Command::Heartbeat(_)) => {
                    Ok((*job, tx))
                }
                other => Err(other),
            },
        );
    let (commands, replies): (Vec<_>, Vec<_>) = beats.into_iter().unzip();
    match engine.execute_batch(commands.clone()) {
        Ok(outcomes) => {
            for (reply, outcome) in replies.into_iter().zip(outcomes) {
                let _ = reply.send(outcome);
            }
        }
        // The batch's transaction failed as a whole: each heartbeat alone, so each gets its
        // own answer.
        Err(_) => {
            for (reply, (actor, command)) in replies.into_iter().zip(commands) {
                let _ = reply.send(engine.execute(&actor, command));
            }
        }
    }
    next
}

/// Runs `first` with the keyed commands queued right behind it (operators and agents acting at
/// once) in one transaction: one commit for the group, each command still decided, recorded and
/// answered on its own. A second use of a key already in the group waits for the next one, so
/// that it finds the first's answer. Returns the first other request found, handled next.
fn keyed(
    engine: &mut Engine,
    first: (Actor, Command, IdempotencyKey),
    tx: Reply<Result<Executed, EngineError>>,
    inbox: &std_mpsc::Receiver<Request>,
) -> Option<Request> {
    let (group, next) =
        gather::<Keyed>(
            (first, tx),
            inbox,
            KEYED_BATCH,
            |group, request| match request {
                Request::ExecuteOnce(job, tx)
                    if !group
                        .iter()
                        .any(|((_, _, k), _)| k.caller == job.2.caller && k.key == job.2.key) =>
                {
                    Ok((*job, tx))
                }
                other => Err(other),
            },
        );
    let (jobs, replies): (Vec<_>, Vec<_>) = group.into_iter().unzip();
    match engine.execute_keyed(jobs.clone()) {
        Ok(outcomes) => {
            for (reply, outcome) in replies.into_iter().zip(outcomes) {
                let _ = reply.send(outcome);
            }
        }
        // The group's transaction failed as a whole: each command alone, so each gets its own
        // answer.
        Err(_) => {
            for (reply, (actor, command, key)) in replies.into_iter().zip(jobs) {
                let _ = reply.send(engine.execute_once(&actor, command, Some(key)));
            }
        }
    }
    next
}

/// Applies other replicas' events; a failure is logged (the next ring or tick tries again).
fn catch_up(engine: &mut Engine, replica: &Replica) {
    let caught_up = engine.catch_up();
    replica.reachable.store(caught_up.is_ok(), Ordering::SeqCst);
    if let Err(e) = caught_up {
        tracing::warn!("cannot read other replicas' events: {e}");
    }
}

fn handle(engine: &mut Engine, request: Request) {
    // A requester that went away is no reason to stop.
    match request {
        Request::Snapshot(tx) => {
            let _ = tx.send(engine.snapshot());
        }
        Request::Execute(job, tx) => {
            let (actor, command) = *job;
            let _ = tx.send(engine.execute(&actor, command));
        }
        Request::ExecuteOnce(job, tx) => {
            let (actor, command, key) = *job;
            let _ = tx.send(engine.execute_once(&actor, command, Some(key)));
        }
        Request::Read(read) => read(engine),
        Request::Delivered(job, tx) => {
            let (id, outcome, attempts, delivered) = *job;
            let delivery = crate::engine::Delivery {
                id: &id,
                outcome: &outcome,
                attempts,
                delivered,
            };
            let _ = tx.send(engine.record_delivery(delivery).map(|_| ()));
        }
        Request::EventsSince(since, tx) => {
            // A seq this store never reached: the follower knew another store.
            let events = if since > engine.state().seq {
                Ok(None)
            } else {
                engine
                    .store()
                    .events_since(since, CATCH_UP_LIMIT)
                    .map(|events| events.map(|e| e.into_iter().map(Event::withheld).collect()))
            };
            let _ = tx.send(events);
        }
        Request::Current(entity, id, tx) => {
            let _ = tx.send(current(engine, entity, &id));
        }
        Request::Seq(tx) => {
            let _ = tx.send(engine.state().seq);
        }
        // The loop handles both; only an on-demand engine's first request lands here.
        Request::Stop(done) | Request::Claim(_, done) => {
            let _ = done.send(());
        }
    }
}

fn current(engine: &Engine, entity: EntityKind, id: &str) -> Option<serde_json::Value> {
    let state = engine.state();
    let value = match entity {
        EntityKind::Approval => serde_json::to_value(state.approvals.get(id)?),
        EntityKind::Incident => serde_json::to_value(state.incidents.get(id)?),
        EntityKind::Rollout => serde_json::to_value(state.rollouts.get(id)?),
        EntityKind::Agent => serde_json::to_value(state.agents.get(id)?),
        EntityKind::Task => serde_json::to_value(state.tasks.get(id)?),
    };
    value.ok()
}
