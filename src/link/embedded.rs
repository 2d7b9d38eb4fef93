//! The orchestrator in this process: the engine lives on a thread of its own (SQLite calls block),
//! runs its clock every second, optionally with the demo fleet, and answers requests in order.

use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, mpsc, oneshot};

use super::{LinkError, LinkEvent, LinkInfo};
use crate::engine::{Actor, Command, Engine, EngineError, Outcome};
use crate::model::{AuditRecord, Event, Snapshot};
use crate::sim::{Sim, Totals};
use crate::store::{AuditFilter, StoreError};

const TICK: Duration = Duration::from_secs(1);
/// How often a quiet subscription says it is still alive (as the SSE stream will).
const HEARTBEAT: Duration = Duration::from_secs(10);
/// Events a console may lag behind before it gets a reset.
const SUBSCRIBER_BUFFER: usize = 1024;

enum Request {
    Snapshot(oneshot::Sender<Snapshot>),
    Send(Box<Command>, oneshot::Sender<Result<Outcome, EngineError>>),
    Search(
        AuditFilter,
        Option<u64>,
        usize,
        oneshot::Sender<Result<Vec<AuditRecord>, StoreError>>,
    ),
    EventsSince(u64, oneshot::Sender<Result<Option<Vec<Event>>, StoreError>>),
    Count(
        AuditFilter,
        u64,
        oneshot::Sender<Result<(u64, bool), StoreError>>,
    ),
}

pub struct EmbeddedOptions {
    pub actor: Actor,
    pub read_only: bool,
    /// Run the demo fleet with this seed on the real clock.
    pub demo_seed: Option<u64>,
}

pub struct Embedded {
    requests: std_mpsc::Sender<Request>,
    events: broadcast::Sender<Event>,
    info: LinkInfo,
    notices: Vec<String>,
}

impl Embedded {
    /// Moves the engine onto its own thread.
    pub fn start(engine: Engine, options: EmbeddedOptions) -> Embedded {
        let (requests, inbox) = std_mpsc::channel();
        let events = engine.event_sender();
        let (name, role) = match &options.actor {
            Actor::Operator { name, role } => (name.clone(), role.to_string()),
            other => (other.audit_id(), String::new()),
        };
        let mut notices = Vec::new();
        let simulated_store = engine.clock().is_manual();
        let frozen_at = simulated_store.then(|| engine.now());
        let demo = match options.demo_seed {
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
        let actor = options.actor;
        std::thread::Builder::new()
            .name("opsdeck-engine".into())
            .spawn(move || run(engine, actor, demo, inbox))
            .expect("the engine thread starts");
        Embedded {
            requests,
            events,
            info: LinkInfo {
                name: "embedded".into(),
                operator: name,
                role,
                read_only: options.read_only,
                frozen_at,
            },
            notices,
        }
    }

    pub fn info(&self) -> LinkInfo {
        self.info.clone()
    }

    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Request,
    ) -> Result<T, LinkError> {
        let (tx, rx) = oneshot::channel();
        self.requests
            .send(make(tx))
            .map_err(|_| LinkError::Unavailable("the embedded orchestrator stopped".into()))?;
        rx.await
            .map_err(|_| LinkError::Unavailable("the embedded orchestrator stopped".into()))
    }

    pub async fn snapshot(&self) -> Result<Snapshot, LinkError> {
        self.ask(Request::Snapshot).await
    }

    pub async fn send(&self, command: Command) -> Result<Outcome, LinkError> {
        if self.info.read_only {
            return Err(LinkError::Refused(
                "read-only: this console does not act".into(),
            ));
        }
        Ok(self
            .ask(|tx| Request::Send(Box::new(command), tx))
            .await??)
    }

    pub async fn search_audit(
        &self,
        filter: AuditFilter,
        cursor: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, LinkError> {
        self.ask(|tx| Request::Search(filter, cursor, limit, tx))
            .await?
            .map_err(|e| LinkError::Unavailable(e.to_string()))
    }

    pub async fn count_audit(
        &self,
        filter: AuditFilter,
        cap: u64,
    ) -> Result<(u64, bool), LinkError> {
        self.ask(|tx| Request::Count(filter, cap, tx))
            .await?
            .map_err(|e| LinkError::Unavailable(e.to_string()))
    }

    pub async fn subscribe(&self, since: u64) -> Result<mpsc::Receiver<LinkEvent>, LinkError> {
        // Subscribe before reading the backlog so nothing falls between the two.
        let mut live = self.events.subscribe();
        let backlog = self
            .ask(|tx| Request::EventsSince(since, tx))
            .await?
            .map_err(|e| LinkError::Unavailable(e.to_string()))?;
        let (tx, rx) = mpsc::channel(SUBSCRIBER_BUFFER);
        for notice in &self.notices {
            let _ = tx.try_send(LinkEvent::Notice(notice.clone()));
        }
        tokio::spawn(async move {
            let mut last = since;
            match backlog {
                Some(events) => {
                    for event in events {
                        last = event.seq;
                        if tx.send(LinkEvent::Event(Box::new(event))).await.is_err() {
                            return;
                        }
                    }
                }
                None => {
                    let _ = tx.send(LinkEvent::Reset).await;
                    return;
                }
            }
            let mut heartbeat = tokio::time::interval(HEARTBEAT);
            heartbeat.tick().await;
            loop {
                let received = tokio::select! {
                    received = live.recv() => received,
                    _ = heartbeat.tick() => {
                        if tx.send(LinkEvent::Heartbeat).await.is_err() {
                            return;
                        }
                        continue;
                    }
                };
                match received {
                    Ok(event) if event.seq <= last => continue,
                    Ok(event) => {
                        last = event.seq;
                        if tx.send(LinkEvent::Event(Box::new(event))).await.is_err() {
                            return;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        let _ = tx.send(LinkEvent::Reset).await;
                        return;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        Ok(rx)
    }
}

/// How much history the demo fleet makes up on a fresh store, so the first screen has a story.
const DEMO_BACKFILL_MINUTES: i64 = 60;

/// On an empty store, runs the demo's last hour on a simulated clock, then hands over to the
/// real one.
fn backfill(engine: &mut Engine, sim: &mut Sim) {
    if !engine.store().is_empty().unwrap_or(false) {
        return;
    }
    let end = crate::engine::clock::truncate(chrono::Utc::now());
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

fn run(
    mut engine: Engine,
    actor: Actor,
    mut demo: Option<Sim>,
    inbox: std_mpsc::Receiver<Request>,
) {
    if let Some(sim) = demo.as_mut() {
        backfill(&mut engine, sim);
    }
    let mut next_tick = Instant::now();
    let mut totals = Totals::default();
    loop {
        let wait = next_tick.saturating_duration_since(Instant::now());
        match inbox.recv_timeout(wait) {
            Ok(request) => handle(&mut engine, &actor, request),
            Err(std_mpsc::RecvTimeoutError::Timeout) => {
                next_tick += TICK;
                if next_tick < Instant::now() {
                    next_tick = Instant::now() + TICK;
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
            Err(std_mpsc::RecvTimeoutError::Disconnected) => return,
        }
    }
}

fn handle(engine: &mut Engine, actor: &Actor, request: Request) {
    // A requester that went away is no reason to stop.
    match request {
        Request::Snapshot(tx) => {
            let _ = tx.send(engine.snapshot());
        }
        Request::Send(command, tx) => {
            let _ = tx.send(engine.execute(actor, *command));
        }
        Request::Search(filter, cursor, limit, tx) => {
            let _ = tx.send(engine.store().search_audit(&filter, cursor, limit));
        }
        Request::Count(filter, cap, tx) => {
            let _ = tx.send(engine.store().count_audit(&filter, cap));
        }
        Request::EventsSince(since, tx) => {
            let _ = tx.send(engine.store().events_since(since, 100_000));
        }
    }
}
