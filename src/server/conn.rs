//! The cap on open connections. Every connection is counted from accept to close; one whose
//! request has reached the router is busy until its answer has been sent. At the cap, the
//! connection that has waited longest while still reading a request's header (never sent one,
//! or idle between requests) is closed to make room, so idle or half-sent connections cannot
//! lock anyone out; when all are busy, the newcomer gets a 503 and the refusal is logged.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use futures::task::AtomicWaker;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

/// One open connection.
struct Slot {
    /// Requests being served on it (HTTP/2 may serve several at once).
    busy: AtomicUsize,
    /// When it last started waiting for a request's header.
    idle_since: Mutex<Instant>,
    closed: AtomicBool,
    waker: AtomicWaker,
}

impl Slot {
    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.waker.wake();
    }
}

/// The open connections, by the client's address.
pub struct Connections {
    cap: usize,
    open: Mutex<HashMap<SocketAddr, Arc<Slot>>>,
    /// Seconds since the epoch of the last refusal logged (one warning a second at most).
    last_warned: AtomicU64,
}

impl Connections {
    pub fn new(cap: usize) -> Arc<Connections> {
        Arc::new(Connections {
            cap,
            open: Mutex::new(HashMap::new()),
            last_warned: AtomicU64::new(0),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, Arc<Slot>>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a new connection in, closing the longest-waiting reader at the cap; `None` when
    /// every open connection is busy.
    fn admit(&self, peer: SocketAddr) -> Option<Arc<Slot>> {
        let mut open = self.lock();
        let live = open
            .values()
            .filter(|s| !s.closed.load(Ordering::Acquire))
            .count();
        if live >= self.cap {
            let oldest = open
                .values()
                .filter(|s| !s.closed.load(Ordering::Acquire))
                .filter(|s| s.busy.load(Ordering::Acquire) == 0)
                .map(|s| (*s.idle_since.lock().unwrap_or_else(|e| e.into_inner()), s))
                .min_by_key(|(t, _)| *t)
                .map(|(_, s)| s.clone());
            match oldest {
                Some(slot) => {
                    slot.close();
                    metrics::counter!("opsdeck_connections_closed_total", "reason" => "cap")
                        .increment(1);
                    self.warn(&format!(
                        "at the cap of {} connections: closed the one that waited longest for a request header",
                        self.cap
                    ));
                }
                None => {
                    metrics::counter!("opsdeck_connections_refused_total").increment(1);
                    self.warn(&format!(
                        "at the cap of {} connections, all busy: refused {peer}",
                        self.cap
                    ));
                    return None;
                }
            }
        }
        let slot = Arc::new(Slot {
            busy: AtomicUsize::new(0),
            idle_since: Mutex::new(Instant::now()),
            closed: AtomicBool::new(false),
            waker: AtomicWaker::new(),
        });
        open.insert(peer, slot.clone());
        metrics::gauge!("opsdeck_connections_open").set(open.len() as f64);
        Some(slot)
    }

    fn warn(&self, what: &str) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        if self.last_warned.swap(now, Ordering::Relaxed) != now {
            tracing::warn!("{what} ([server] max_connections)");
        }
    }

    fn remove(&self, peer: SocketAddr, slot: &Arc<Slot>) {
        let mut open = self.lock();
        if open.get(&peer).is_some_and(|s| Arc::ptr_eq(s, slot)) {
            open.remove(&peer);
        }
        metrics::gauge!("opsdeck_connections_open").set(open.len() as f64);
    }

    /// The connection of `peer` is serving a request until the guard is dropped.
    pub fn busy(self: &Arc<Self>, peer: SocketAddr) -> Option<Busy> {
        let slot = self.lock().get(&peer).cloned()?;
        slot.busy.fetch_add(1, Ordering::AcqRel);
        Some(Busy(slot))
    }
}

/// A connection serving a request; dropped when the answer has been sent, the connection goes
/// back to waiting for the next request's header.
pub struct Busy(Arc<Slot>);

impl Drop for Busy {
    fn drop(&mut self) {
        *self.0.idle_since.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        self.0.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Marks the request's connection busy until its answer (a stream included) has been sent.
pub async fn hold(
    axum::extract::State(state): axum::extract::State<Arc<super::state::AppState>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::body::{Body, HttpBody};
    use futures::StreamExt;
    let busy = request
        .extensions()
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .and_then(|info| state.connections.busy(info.0));
    let response = next.run(request).await;
    match busy {
        // A streamed answer (the event stream) keeps the connection busy while it flows.
        Some(busy) if response.body().size_hint().exact().is_none() => response.map(|body| {
            Body::from_stream(body.into_data_stream().map(move |chunk| {
                let _held = &busy;
                chunk
            }))
        }),
        _ => response,
    }
}

/// Counts connections in as they are accepted (before TLS, if any).
#[derive(Clone)]
pub struct CapAcceptor {
    pub connections: Arc<Connections>,
    /// Plain HTTP: a refused client is told so in HTTP (under TLS it is just closed).
    pub plain: bool,
}

const REFUSAL: &str = "{\"type\":\"/problems/too-many-connections\",\"title\":\"Service Unavailable\",\"status\":503,\"detail\":\"the server is at its connection cap and every connection is busy; retry shortly\"}";

impl<S: Send + 'static> axum_server::accept::Accept<TcpStream, S> for CapAcceptor {
    type Stream = Counted;
    type Service = S;
    type Future = Pin<Box<dyn Future<Output = io::Result<(Counted, S)>> + Send>>;

    fn accept(&self, mut stream: TcpStream, service: S) -> Self::Future {
        let connections = self.connections.clone();
        let plain = self.plain;
        Box::pin(async move {
            let peer = stream.peer_addr()?;
            let Some(slot) = connections.admit(peer) else {
                if plain {
                    let answer = format!(
                        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/problem+json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{REFUSAL}",
                        REFUSAL.len()
                    );
                    let _ = tokio::time::timeout(
                        std::time::Duration::from_secs(1),
                        stream.write_all(answer.as_bytes()),
                    )
                    .await;
                }
                return Err(io::Error::other("connection cap reached"));
            };
            Ok((
                Counted {
                    stream,
                    peer,
                    slot,
                    connections,
                },
                service,
            ))
        })
    }
}

/// An accepted connection, counted until it is dropped; reads end when the cap closes it.
pub struct Counted {
    stream: TcpStream,
    peer: SocketAddr,
    slot: Arc<Slot>,
    connections: Arc<Connections>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.connections.remove(self.peer, &self.slot);
    }
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.slot.waker.register(cx.waker());
        if self.slot.closed.load(Ordering::Acquire) {
            // End of stream: the server closes the connection.
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn at_the_cap_the_longest_waiting_reader_goes_and_busy_ones_stay() {
        let c = Connections::new(2);
        let first = c.admit(peer(1)).unwrap();
        let second = c.admit(peer(2)).unwrap();
        let busy = c.busy(peer(1)).unwrap();
        // The first is busy: the second, still reading, makes room.
        let _third = c.admit(peer(3)).unwrap();
        assert!(!first.closed.load(Ordering::Acquire));
        assert!(second.closed.load(Ordering::Acquire));
        c.remove(peer(2), &second);
        let _busy3 = c.busy(peer(3)).unwrap();
        assert!(c.admit(peer(4)).is_none(), "all busy: refused");
        drop(busy);
        assert!(
            c.admit(peer(4)).is_some(),
            "the first waits again: it makes room"
        );
        assert!(first.closed.load(Ordering::Acquire));
    }
}
