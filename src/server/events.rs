//! `GET /v1/events`: server-sent events. `id:` is the event's seq; `Last-Event-ID` resumes right
//! after it from the store's window; a client too far behind gets a `reset` event and must take
//! a fresh snapshot; a heartbeat comment every 10 s. Each event is serialised once and shared by
//! every stream; a stream that falls `client_buffer` events behind is reset, so a slow client
//! never grows the server's memory.

use crate::protocol::Problem;
use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures::Stream;
use serde::Deserialize;
use tokio::sync::broadcast;

use super::auth::Operator;
use super::problem::ApiError;
use super::state::AppState;
use crate::model::Event;
use crate::orchestrator::follow::{self, Item, Sequenced};

/// One event as it goes on the wire.
#[derive(Debug)]
pub enum Frame {
    Event {
        seq: u64,
        json: String,
    },
    /// The server itself fell behind the engine: every stream must resync.
    Reset,
}

impl Frame {
    fn of(event: &Event) -> Frame {
        Frame::Event {
            seq: event.seq,
            json: serde_json::to_string(event).unwrap_or_default(),
        }
    }
}

impl Sequenced for Arc<Frame> {
    fn seq(&self) -> u64 {
        match **self {
            Frame::Event { seq, .. } => seq,
            Frame::Reset => u64::MAX,
        }
    }
}

/// Serialises the engine's events once, for all streams.
pub fn fan_out(
    mut events: broadcast::Receiver<Event>,
    frames: broadcast::Sender<Arc<Frame>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let frame = match events.recv().await {
                Ok(event) => Frame::of(&event),
                Err(broadcast::error::RecvError::Lagged(_)) => Frame::Reset,
                Err(broadcast::error::RecvError::Closed) => return,
            };
            // No stream listening is fine.
            let _ = frames.send(Arc::new(frame));
        }
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EventsParams {
    /// Resume after this seq (as `Last-Event-ID`, for clients that cannot set headers).
    pub since: Option<u64>,
}

fn resume_point(headers: &HeaderMap, params: &EventsParams) -> Result<Option<u64>, ApiError> {
    match headers.get("last-event-id") {
        Some(value) => value
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .map(Some)
            .ok_or_else(|| {
                ApiError::bad_request("Last-Event-ID must be the seq of an event (a whole number)")
            }),
        None => Ok(params.since),
    }
}

fn reset(reason: &str) -> SseEvent {
    SseEvent::default()
        .event("reset")
        .data(serde_json::json!({ "reason": reason }).to_string())
}

/// The live stream of events.
#[utoipa::path(get, path = "/v1/events", params(EventsParams, ("Last-Event-ID" = Option<u64>, Header, description = "resume after this seq")),
    responses((status = 200, description = "text/event-stream: `id:` seq, `data:` the event as JSON; `event: reset` means take a fresh snapshot"), (status = 401, body = Problem)))]
pub async fn events(
    State(state): State<Arc<AppState>>,
    _operator: Operator,
    headers: HeaderMap,
    params: Result<Query<EventsParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let since = resume_point(&headers, &params)?;
    // Subscribe before reading the backlog so nothing falls between the two.
    let live = state.frames.subscribe();
    let head = state.orchestrator.seq().await?;
    let (since, backlog) = match since {
        None => (head, Some(Vec::new())),
        Some(since) => (
            since,
            state
                .orchestrator
                .events_since(since)
                .await?
                .map(|events| events.iter().map(|e| Arc::new(Frame::of(e))).collect()),
        ),
    };
    let follower = follow::follow(since, backlog, live);
    let guard = state.console_connected();
    let closing = state.closing.clone();
    let stream = futures::stream::unfold(
        (follower, guard, closing, false),
        |(mut follower, guard, mut closing, ended)| async move {
            if ended {
                return None;
            }
            let item = tokio::select! {
                item = follower.next() => item,
                _ = closing.wait_for(|c| *c) => None,
            };
            let event = match item {
                Some(Item::Event(frame)) => match &*frame {
                    Frame::Event { seq, json } => {
                        return Some((
                            Ok(SseEvent::default().id(seq.to_string()).data(json)),
                            (follower, guard, closing, false),
                        ));
                    }
                    Frame::Reset => reset("the server fell behind: take a fresh snapshot"),
                },
                Some(Item::Reset) => {
                    reset("too far behind the replay window: take a fresh snapshot")
                }
                None => return None,
            };
            Some((Ok(event), (follower, guard, closing, true)))
        },
    );
    Ok(Sse::new(stream).keep_alive(
        KeepAlive::new()
            .interval(follow::HEARTBEAT)
            .text("heartbeat"),
    ))
}
