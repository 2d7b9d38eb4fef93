//! Reconnect and resume: the real remote link follows the stream while the server restarts.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opsdeck::link::{Link, LinkEvent, Remote, Target};
use tokio::sync::mpsc;

use crate::BenchResult;
use crate::api::Api;
use crate::decisions::{event_seq, note, open_notepad};
use crate::server::{Server, Setup, stop_server};

pub const RESTARTS: usize = 5;

/// What the remote link delivered, and when.
#[derive(Clone, Copy, PartialEq)]
enum Heard {
    Event(u64),
    Reset,
    /// The link (re)connected, or the server's heartbeat comment came.
    Alive,
    Reconnecting,
}

type LinkLog = Arc<Mutex<Vec<(Instant, Heard)>>>;

async fn record_link(mut events: mpsc::Receiver<LinkEvent>, log: LinkLog) {
    while let Some(event) = events.recv().await {
        let heard = match event {
            LinkEvent::Event(e) => Heard::Event(e.seq),
            LinkEvent::Reset => Heard::Reset,
            LinkEvent::Heartbeat => Heard::Alive,
            LinkEvent::Reconnecting { .. } => Heard::Reconnecting,
            LinkEvent::Notice(_) | LinkEvent::Replica(_) => continue,
        };
        log.lock().unwrap().push((Instant::now(), heard));
    }
}

/// Waits until the link log holds an entry at index `from` or later that `wanted` accepts;
/// returns its index and when it came.
async fn wait_for_link(
    log: &LinkLog,
    from: usize,
    wanted: impl Fn(Heard) -> bool,
    limit: Duration,
) -> BenchResult<(usize, Instant)> {
    let started = Instant::now();
    loop {
        let found = {
            let heard = log.lock().unwrap();
            (from..heard.len())
                .find(|&i| wanted(heard[i].1))
                .map(|i| (i, heard[i].0))
        };
        if let Some(found) = found {
            return Ok(found);
        }
        if started.elapsed() > limit {
            return Err(format!("the remote link heard nothing within {limit:?}"));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// One restart, timed.
pub struct Restart {
    pub stop: Duration,
    pub spawn_to_healthy: Duration,
    pub healthy_to_reconnected: Duration,
    pub healthy_to_event: Duration,
    pub spawn_to_event: Duration,
}

/// The link's events over all restarts, checked.
pub struct Continuity {
    pub events: usize,
    pub gaps: usize,
    pub duplicates: usize,
    pub resets: usize,
    pub first_is_next: bool,
    pub acknowledged_lost: usize,
    pub caught_up: bool,
}

pub async fn measure_restarts(
    setup: &Setup,
    api: &Api,
    server: &mut Server,
) -> BenchResult<(Vec<Restart>, Continuity)> {
    let target = Target {
        also: Vec::new(),
        context: None,
        url: setup.base_url(),
        token: setup.token.clone(),
        read_only: false,
    };
    let link = Link::Remote(
        Remote::connect(&target, false)
            .await
            .map_err(|e| format!("remote link: {e}"))?,
    );
    let since = link.snapshot().await.map_err(|e| e.to_string())?.seq;
    let events = link.subscribe(since).await.map_err(|e| e.to_string())?;
    let log = LinkLog::default();
    tokio::spawn(record_link(events, log.clone()));
    let is_event = |h: Heard| matches!(h, Heard::Event(_));
    wait_for_link(&log, 0, is_event, Duration::from_secs(10)).await?;

    let mut pad = open_notepad(api).await?;
    let mut acknowledged = Vec::new();
    let mut restarts = Vec::new();
    for _ in 0..RESTARTS {
        // Following steadily, with one acknowledged action just before the stop.
        tokio::time::sleep(Duration::from_secs(2)).await;
        acknowledged.push(event_seq(&note(api, &mut pad).await?)?);
        let before_stop = log.lock().unwrap().len();
        let stop = stop_server(server).await?;
        let spawned = Instant::now();
        *server = setup.spawn_server()?;
        let healthy = api.wait_healthy(Duration::from_secs(60)).await?;
        // The old stream's end, then the new connection, then what came over it: so nothing
        // the old server sent counts as "after the restart".
        let limit = Duration::from_secs(30);
        let (lost, _) =
            wait_for_link(&log, before_stop, |h| h == Heard::Reconnecting, limit).await?;
        let (back, reconnected) = wait_for_link(&log, lost, |h| h == Heard::Alive, limit).await?;
        let (_, event) = wait_for_link(&log, back, is_event, limit).await?;
        restarts.push(Restart {
            stop,
            spawn_to_healthy: healthy - spawned,
            healthy_to_reconnected: reconnected.saturating_duration_since(healthy),
            healthy_to_event: event.saturating_duration_since(healthy),
            spawn_to_event: event - spawned,
        });
    }
    let head = api.get("/healthz").await?["seq"].as_u64().unwrap_or(0);
    let caught_up = wait_for_link(
        &log,
        0,
        |h| h == Heard::Event(head),
        Duration::from_secs(10),
    )
    .await
    .is_ok();
    let heard = log.lock().unwrap().clone();
    Ok((
        restarts,
        continuity(&heard, since, &acknowledged, caught_up),
    ))
}

fn continuity(
    heard: &[(Instant, Heard)],
    since: u64,
    acknowledged: &[u64],
    caught_up: bool,
) -> Continuity {
    let seqs: Vec<u64> = heard
        .iter()
        .filter_map(|(_, h)| match h {
            Heard::Event(seq) => Some(*seq),
            _ => None,
        })
        .collect();
    let pairs = || seqs.windows(2).map(|w| (w[0], w[1]));
    Continuity {
        events: seqs.len(),
        gaps: pairs().filter(|(a, b)| *b > a + 1).count(),
        duplicates: pairs().filter(|(a, b)| b <= a).count(),
        resets: heard.iter().filter(|(_, h)| *h == Heard::Reset).count(),
        first_is_next: seqs.first() == Some(&(since + 1)),
        acknowledged_lost: acknowledged.iter().filter(|s| !seqs.contains(s)).count(),
        caught_up,
    }
}
