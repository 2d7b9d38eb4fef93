//! The raw SSE clients: HTTP/1.1 sockets on /v1/events, many at once on a runtime of their own.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::BenchResult;
use crate::stream::{Body, ClientLog, Counters, Dechunker, find};

/// Clients connect this many at a time, so the listen backlog never overflows.
const CONNECT_BATCH: usize = 100;

/// One SSE client: connects, then reads until told to stop.
async fn sse_client(
    addr: SocketAddr,
    token: Arc<str>,
    counters: Arc<Counters>,
    mut stop: watch::Receiver<bool>,
) -> ClientLog {
    let mut log = ClientLog::default();
    let mut connected = false;
    let result = follow_stream(addr, &token, &counters, &mut stop, &mut log, &mut connected).await;
    if let Err(e) = result {
        if !connected {
            counters.failed.fetch_add(1, Ordering::Relaxed);
        }
        log.error = Some(e);
    }
    log
}

async fn follow_stream(
    addr: SocketAddr,
    token: &str,
    counters: &Counters,
    stop: &mut watch::Receiver<bool>,
    log: &mut ClientLog,
    connected: &mut bool,
) -> BenchResult<()> {
    let mut socket = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let _ = socket.set_nodelay(true);
    let request = format!(
        "GET /v1/events HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Accept: text/event-stream\r\n\r\n"
    );
    socket
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("request: {e}"))?;
    let (mut body, rest) = read_head(&mut socket).await?;
    *connected = true;
    counters.connected.fetch_add(1, Ordering::Relaxed);
    body.feed(&rest, log, counters)?;
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        tokio::select! {
            _ = stop.changed() => return Ok(()),
            read = socket.read(&mut buffer) => match read {
                Ok(0) => return Err("the server closed the connection".into()),
                Ok(n) => body.feed(&buffer[..n], log, counters)?,
                Err(e) => return Err(format!("read: {e}")),
            },
        }
    }
}

/// Reads the response head; returns how to read the body and the body bytes already read.
async fn read_head(socket: &mut TcpStream) -> BenchResult<(Body, Vec<u8>)> {
    let mut head = Vec::new();
    let mut buffer = [0u8; 4096];
    let end = loop {
        if let Some(end) = find(&head, b"\r\n\r\n") {
            break end;
        }
        let n = socket
            .read(&mut buffer)
            .await
            .map_err(|e| format!("response: {e}"))?;
        if n == 0 {
            return Err("the server closed before answering".into());
        }
        head.extend_from_slice(&buffer[..n]);
    };
    let text = String::from_utf8_lossy(&head[..end]).to_ascii_lowercase();
    if !text.starts_with("http/1.1 200") {
        let status = text.lines().next().unwrap_or_default().to_string();
        return Err(format!("the server answered {status}"));
    }
    let chunked = text.contains("transfer-encoding: chunked");
    let body = Body {
        dechunker: chunked.then(Dechunker::default),
        payload: Vec::new(),
    };
    Ok((body, head[end + 4..].to_vec()))
}

/// Many SSE clients on a runtime of their own.
pub struct Fleet {
    runtime: tokio::runtime::Runtime,
    counters: Arc<Counters>,
    stop: watch::Sender<bool>,
    clients: Vec<JoinHandle<ClientLog>>,
}

impl Fleet {
    pub fn new() -> BenchResult<Fleet> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("sse-client")
            .enable_all()
            .build()
            .map_err(|e| format!("client runtime: {e}"))?;
        Ok(Fleet {
            runtime,
            counters: Arc::default(),
            stop: watch::channel(false).0,
            clients: Vec::new(),
        })
    }

    /// Connects `count` clients, a batch at a time; fails if any is refused.
    pub async fn connect(
        &mut self,
        count: usize,
        addr: SocketAddr,
        token: &str,
    ) -> BenchResult<()> {
        let token: Arc<str> = token.into();
        while self.clients.len() < count {
            let batch = CONNECT_BATCH.min(count - self.clients.len());
            for _ in 0..batch {
                let client = sse_client(
                    addr,
                    token.clone(),
                    self.counters.clone(),
                    self.stop.subscribe(),
                );
                self.clients.push(self.runtime.spawn(client));
            }
            self.wait_settled(self.clients.len()).await?;
        }
        Ok(())
    }

    async fn wait_settled(&self, count: usize) -> BenchResult<()> {
        let started = Instant::now();
        loop {
            let connected = self.counters.connected.load(Ordering::Relaxed);
            let failed = self.counters.failed.load(Ordering::Relaxed);
            if failed > 0 {
                return Err(format!("{failed} SSE clients could not connect"));
            }
            if connected >= count {
                return Ok(());
            }
            if started.elapsed() > Duration::from_secs(30) {
                return Err(format!("only {connected} of {count} SSE clients connected"));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Waits until every client has read at least one event.
    pub async fn wait_heard(&self, limit: Duration) -> BenchResult<()> {
        let started = Instant::now();
        let count = self.clients.len();
        while self.counters.heard.load(Ordering::Relaxed) < count {
            if started.elapsed() > limit {
                let heard = self.counters.heard.load(Ordering::Relaxed);
                return Err(format!("only {heard} of {count} clients got an event"));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(())
    }

    /// Disconnects every client and returns what each saw.
    pub async fn stop(self) -> Vec<ClientLog> {
        let _ = self.stop.send(true);
        let mut logs = Vec::with_capacity(self.clients.len());
        for client in self.clients {
            logs.push(client.await.unwrap_or_default());
        }
        // Dropping a runtime may block, which an async context forbids.
        self.runtime.shutdown_background();
        logs
    }
}
