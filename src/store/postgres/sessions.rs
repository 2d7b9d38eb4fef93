//! Sessions a replica keeps open beside its pool, each on a thread of its own: the doorbell
//! (`LISTEN`, so a commit on another replica wakes this one at once) and the clock's lease (a
//! session-level advisory lock: exactly one replica runs the timers, and when its process dies
//! its session ends, the lock is released, and another replica takes the clock).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::StreamExt;
use tokio_postgres::{AsyncMessage, Client, Config};

use super::DOORBELL;
use super::tls::Tls;

/// The advisory lock the clock holder keeps (`OPSD` in ASCII, then 2).
const CLOCK_LOCK: i64 = 0x4F50_5344_0002;

/// How often a session looks again: the clock's lease is tried, a lost session noticed.
const RETRY: Duration = Duration::from_millis(500);

/// Stops its thread when dropped (at its next look, within [`RETRY`]).
struct Stop(Arc<AtomicBool>);

impl Drop for Stop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

fn spawn(name: &str, work: impl FnOnce() + Send + 'static) {
    let spawned = std::thread::Builder::new().name(name.into()).spawn(work);
    if let Err(e) = spawned {
        tracing::error!("cannot start the {name} thread: {e}");
    }
}

/// A connection (through TLS as the pool's are) whose messages (notifications) come out of a
/// channel; the connection runs as a task of the current runtime and ends the channel when it
/// ends.
async fn connect(
    config: &Config,
    tls: &Tls,
) -> Result<(Client, tokio::sync::mpsc::UnboundedReceiver<()>), tokio_postgres::Error> {
    let (client, mut connection) = config.connect(tls.clone()).await?;
    let (rang, bells) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(Ok(message)) = messages.next().await {
            if let AsyncMessage::Notification(_) = message
                && rang.send(()).is_err()
            {
                return;
            }
        }
    });
    Ok((client, bells))
}

fn runtime() -> Option<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| tracing::error!("cannot start a database session's runtime: {e}"))
        .ok()
}

/// Rung when another replica committed events (and whenever the session was lost and came
/// back, since notifications may have been missed meanwhile).
pub struct Doorbell {
    rang: Arc<AtomicBool>,
    _stop: Stop,
}

impl Doorbell {
    pub(super) fn start(config: Config, tls: Tls) -> Doorbell {
        let rang = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (bell, stopped) = (rang.clone(), stop.clone());
        spawn("opsdeck-doorbell", move || {
            let Some(runtime) = runtime() else { return };
            runtime.block_on(async move {
                while !stopped.load(Ordering::SeqCst) {
                    match connect(&config, &tls).await {
                        Ok((client, mut bells)) => {
                            if client
                                .batch_execute(&format!("LISTEN {DOORBELL}"))
                                .await
                                .is_ok()
                            {
                                // Whatever was committed while no session listened.
                                bell.store(true, Ordering::SeqCst);
                                loop {
                                    if stopped.load(Ordering::SeqCst) {
                                        return;
                                    }
                                    match tokio::time::timeout(RETRY, bells.recv()).await {
                                        Ok(Some(())) => bell.store(true, Ordering::SeqCst),
                                        Ok(None) => break,
                                        Err(_) => {}
                                    }
                                }
                            }
                        }
                        Err(e) => tracing::debug!("doorbell session: {e}"),
                    }
                    tokio::time::sleep(RETRY).await;
                }
            });
        });
        Doorbell {
            rang,
            _stop: Stop(stop),
        }
    }

    /// Whether it rang since the last look.
    pub fn rang(&self) -> bool {
        self.rang.swap(false, Ordering::SeqCst)
    }
}

/// Whether this replica holds the clock.
pub struct ClockLease {
    held: Arc<AtomicBool>,
    _stop: Stop,
}

impl ClockLease {
    pub(super) fn start(config: Config, tls: Tls) -> ClockLease {
        let held = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (holding, stopped) = (held.clone(), stop.clone());
        spawn("opsdeck-clock-lease", move || {
            let Some(runtime) = runtime() else { return };
            runtime.block_on(async move {
                while !stopped.load(Ordering::SeqCst) {
                    if let Ok((client, _)) = connect(&config, &tls).await {
                        hold(&client, &holding, &stopped).await;
                    }
                    holding.store(false, Ordering::SeqCst);
                    tokio::time::sleep(RETRY).await;
                }
            });
        });
        ClockLease {
            held,
            _stop: Stop(stop),
        }
    }

    pub fn held(&self) -> bool {
        self.held.load(Ordering::SeqCst)
    }
}

/// Tries for the lock until it is held, then checks the session is alive, every [`RETRY`];
/// returns when the session fails (the lock went with it) or the lease is dropped.
async fn hold(client: &Client, held: &AtomicBool, stopped: &AtomicBool) {
    while !stopped.load(Ordering::SeqCst) {
        let looked = if held.load(Ordering::SeqCst) {
            client.simple_query("SELECT 1").await.map(|_| true)
        } else {
            client
                .query_one("SELECT pg_try_advisory_lock($1)", &[&CLOCK_LOCK])
                .await
                .map(|row| row.get::<_, bool>(0))
        };
        match looked {
            Ok(now) => held.store(now, Ordering::SeqCst),
            Err(e) => {
                tracing::warn!("the clock's database session failed: {e}");
                return;
            }
        }
        tokio::time::sleep(RETRY).await;
    }
}
