//! `opsdeck serve --demo` under load: the figures of issue 4's "Measure" section.
//!
//! Run: `cargo bench --bench server` (about 2 minutes after the release build). The 1,000 SSE
//! sockets need a soft open-file limit of at least 1,100 in the shell that runs it (the server
//! inherits it): `ulimit -n 4096` if `ulimit -n` says less; the bench checks and says so.
//! `BENCH_SECONDS` shortens the 20-second delivery window for a quick look.
//!
//! The server runs as its own process (the release binary) on a fresh store in a temporary
//! directory: the demo fleet backfills an hour of history, then keeps working on the real clock,
//! so its events flow to every client during every measurement. The SSE clients are raw
//! HTTP/1.1 sockets, tokio tasks on a runtime of their own, so the requests being timed do not
//! queue behind them in one scheduler (they still share the machine's cores with the server).
//! Each client count gets a fresh server process on the same store, so the memory baseline never
//! reuses buffers freed by the previous count.
//!
//! Figures:
//! - memory per client: (server VmRSS with N clients connected, idle, each having received at
//!   least one event) − (VmRSS just before they connected, after warm-up), divided by N.
//! - event delivery p50/p99: incident notes posted at 5 a second for 20 s; for every
//!   (client, note) pair, from the moment the POST was sent to the moment that client read the
//!   event whose seq is the POST's `event_seq`. Missing pairs (a client never saw the event) are
//!   counted, not hidden.
//! - decision round trip p50/p99: sequential POSTs, 20 a second, from send to the whole
//!   response read: incident notes, and one approval in ten, reported apart (escalations the
//!   bench raises as an agent just before, resource requests an executive decides alone). With
//!   no SSE client (each server's warm-up), and with 100 and 1,000, whose events then go out to
//!   every client while the next request is served.
//! - reconnect and resume: the real remote link (`Link::Remote`, full-jitter backoff) follows the
//!   stream; the server gets SIGTERM and is started again on the same store and port, 5 times.
//!   Times from the new server's first /healthz answer (and from its spawn) to the link's first
//!   event over its new connection (and to the connection itself, resumed by Last-Event-ID). The
//!   events it applied must be contiguous by seq from its snapshot on, include a note
//!   acknowledged just before each stop, and catch up with the server's head.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opsdeck::link::{Link, LinkEvent, Remote, Target};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

const BIN: &str = env!("CARGO_BIN_EXE_opsdeck");
const CLIENT_COUNTS: [usize; 2] = [100, 1_000];
/// Notes posted while the clients listen: 5 a second.
const NOTE_INTERVAL: Duration = Duration::from_millis(200);
/// Sequential decisions per round-trip set, paced like a busy room of operators, not a flood.
const ROUND_TRIPS: usize = 200;
const ROUND_TRIP_INTERVAL: Duration = Duration::from_millis(50);
/// Every note's event carries its whole incident, timeline included: a fresh incident every so
/// many notes keeps events the size a real incident's are.
const NOTES_PER_INCIDENT: u32 = 20;
/// One approval among this many round trips, while pending ones last.
const APPROVAL_EVERY: usize = 10;
const RESTARTS: usize = 5;
/// Clients connect this many at a time, so the listen backlog never overflows.
const CONNECT_BATCH: usize = 100;
const STARTUP_LIMIT: Duration = Duration::from_secs(300);
const TARGET_MEMORY_KIB: f64 = 32.0;
const TARGET_DELIVERY_P99: Duration = Duration::from_millis(50);
const TARGET_ROUND_TRIP_P99: Duration = Duration::from_millis(20);
const TARGET_RESUME: Duration = Duration::from_secs(2);

type BenchResult<T> = Result<T, String>;

fn delivery_window() -> Duration {
    let seconds = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    Duration::from_secs(seconds)
}

// ---------------------------------------------------------------------------------------------
// The server process

/// The server's files and address; one operator token for everything the bench does.
struct Setup {
    dir: tempfile::TempDir,
    port: u16,
    token: String,
    /// For raising escalations, so that every round-trip set has approvals to decide.
    agent_token: String,
}

impl Setup {
    fn new() -> BenchResult<Setup> {
        let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
        let token = opsdeck::server::config::new_token();
        let agent_token = opsdeck::server::config::new_token();
        let config = server_config(&token, &agent_token);
        std::fs::write(dir.path().join("config.toml"), config)
            .map_err(|e| format!("writing the server config: {e}"))?;
        Ok(Setup {
            dir,
            port: free_port()?,
            token,
            agent_token,
        })
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    fn base_url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// Starts `opsdeck serve --demo`; its stderr goes to `serve.log` in the bench's directory.
    fn spawn_server(&self) -> BenchResult<Server> {
        let dir = self.dir.path();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("serve.log"))
            .map_err(|e| format!("serve.log: {e}"))?;
        let store = dir.join("bench.db");
        let config = dir.join("config.toml");
        Command::new(BIN)
            .arg("--store")
            .arg(&store)
            .arg("--config")
            .arg(&config)
            .args(["serve", "--demo", "--listen", &self.addr().to_string()])
            // Whatever the shell points opsdeck at must not leak into the bench's server.
            .env_remove("OPSDECK_URL")
            .env_remove("OPSDECK_CONTEXT")
            .env_remove("OPSDECK_TOKEN")
            .env("XDG_STATE_HOME", dir.join("state"))
            .env("XDG_CONFIG_HOME", dir.join("config"))
            .env("XDG_DATA_HOME", dir.join("data"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map(Server)
            .map_err(|e| format!("starting {BIN}: {e}"))
    }

    /// What the server said on stderr, and the warnings and errors in its log file.
    fn server_complaints(&self) -> Vec<String> {
        let dir = self.dir.path();
        let stderr = std::fs::read_to_string(dir.join("serve.log")).unwrap_or_default();
        let log =
            std::fs::read_to_string(dir.join("state/opsdeck/opsdeck.log")).unwrap_or_default();
        let said = stderr
            .lines()
            .filter(|l| !l.starts_with("opsdeck: serving"));
        let logged = log
            .lines()
            .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "));
        said.chain(logged).map(str::to_string).collect()
    }
}

/// The server process; killed if the bench ends early, so none outlives it.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Rate limits far above what the bench sends: they are not what is measured.
fn server_config(token: &str, agent_token: &str) -> String {
    let hash = opsdeck::server::config::token_hash(token);
    let agent_hash = opsdeck::server::config::token_hash(agent_token);
    format!(
        "[server]\noperator_rate_per_minute = 1000000\noperator_burst = 100000\n\n\
         [[server.operators]]\nname = \"bench\"\nrole = \"executive\"\ntoken_sha256 = \"{hash}\"\n\n\
         [[server.agents]]\nname = \"bench-fleet\"\ntoken_sha256 = \"{agent_hash}\"\n"
    )
}

/// A port free now; the server binds it by number on every restart.
fn free_port() -> BenchResult<u16> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

/// SIGTERM (the server ends its streams, drains and closes the store), then waits for the exit.
/// Polls rather than blocks: the remote link's tasks run on this thread too.
async fn stop_server(server: &mut Server) -> BenchResult<Duration> {
    let server = &mut server.0;
    let started = Instant::now();
    Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .map_err(|e| format!("kill -TERM: {e}"))?;
    loop {
        if server.try_wait().map_err(|e| e.to_string())?.is_some() {
            return Ok(started.elapsed());
        }
        if started.elapsed() > Duration::from_secs(30) {
            let _ = server.kill();
            return Err("the server did not stop within 30 s of SIGTERM".into());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Resident memory of a process, in KiB.
fn rss_kib(pid: u32) -> BenchResult<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("/proc/{pid}/status: {e}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("no VmRSS in /proc/{pid}/status"))
}

fn uptime() -> String {
    Command::new("uptime")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|e| format!("uptime: {e}"))
}

/// The soft open-file limit must hold every client socket (no libc here to raise it).
fn check_open_files(clients: usize) -> BenchResult<()> {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let soft: Option<u64> = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|s| s.parse().ok());
    match soft {
        Some(soft) if soft < clients as u64 + 100 => Err(format!(
            "the open-file limit is {soft}: run `ulimit -n 4096` first ({clients} sockets on each side)"
        )),
        _ => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------------
// Requests

/// The operator side of the API, as the bench uses it.
struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
    agent_token: String,
}

/// One timed request.
struct Posted {
    sent: Instant,
    took: Duration,
    status: u16,
    body: Value,
}

impl Api {
    fn new(setup: &Setup) -> BenchResult<Api> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Api {
            http,
            base: setup.base_url(),
            token: setup.token.clone(),
            agent_token: setup.agent_token.clone(),
        })
    }

    async fn get(&self, path: &str) -> BenchResult<Value> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| format!("GET {path}: {e}"))?;
        let status = response.status();
        let body: Value = response
            .json()
            .await
            .map_err(|e| format!("GET {path}: {e}"))?;
        if !status.is_success() {
            return Err(format!("GET {path}: {status} {body}"));
        }
        Ok(body)
    }

    /// A mutation with a fresh idempotency key, timed from send to the last byte of the answer.
    async fn post(&self, path: &str, body: &Value) -> BenchResult<Posted> {
        self.post_as(&self.token, path, body).await
    }

    async fn post_as(&self, token: &str, path: &str, body: &Value) -> BenchResult<Posted> {
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .header("idempotency-key", uuid::Uuid::now_v7().to_string())
            .json(body);
        let sent = Instant::now();
        let response = request
            .send()
            .await
            .map_err(|e| format!("POST {path}: {e}"))?;
        let status = response.status().as_u16();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| format!("POST {path}: {e}"))?;
        let took = sent.elapsed();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Posted {
            sent,
            took,
            status,
            body,
        })
    }

    /// Polls /healthz until the server answers; returns when it did.
    async fn wait_healthy(&self, limit: Duration) -> BenchResult<Instant> {
        let started = Instant::now();
        loop {
            let answer = self
                .http
                .get(format!("{}/healthz", self.base))
                .timeout(Duration::from_millis(500))
                .send()
                .await;
            if answer.is_ok_and(|r| r.status().is_success()) {
                return Ok(Instant::now());
            }
            if started.elapsed() > limit {
                return Err(format!("no /healthz answer within {limit:?}"));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// The incident the bench writes notes on; renewed every `NOTES_PER_INCIDENT` notes.
struct Notepad {
    id: String,
    version: u64,
    notes: u32,
}

async fn open_notepad(api: &Api) -> BenchResult<Notepad> {
    let declared = api
        .post(
            "/v1/incidents",
            &json!({"severity": "SEV4", "title": "bench: notes", "domain": "platform"}),
        )
        .await?;
    let id = declared.body["reply"]["value"]["id"]
        .as_str()
        .ok_or_else(|| format!("declaring an incident answered {}", declared.body))?
        .to_string();
    let version = incident_version(api, &id).await?;
    Ok(Notepad {
        id,
        version,
        notes: 0,
    })
}

async fn incident_version(api: &Api, id: &str) -> BenchResult<u64> {
    let snapshot = api.get("/v1/snapshot").await?;
    snapshot["incidents"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["id"] == id)
        .and_then(|i| i["version"].as_u64())
        .ok_or_else(|| format!("incident {id} is not in the snapshot"))
}

/// Posts one note; a conflict (something else touched the incident) is retried once at the
/// version the server reports.
async fn note(api: &Api, pad: &mut Notepad) -> BenchResult<Posted> {
    if pad.notes >= NOTES_PER_INCIDENT {
        *pad = open_notepad(api).await?;
    }
    let path = format!("/v1/incidents/{}/actions", pad.id);
    for _ in 0..2 {
        let body =
            json!({"action": "note", "note": "bench: still looking", "version": pad.version});
        let posted = api.post(&path, &body).await?;
        match posted.status {
            200 => {
                pad.notes += 1;
                pad.version = posted.body["reply"]["value"]["version"]
                    .as_u64()
                    .unwrap_or(pad.version + 1);
                return Ok(posted);
            }
            409 => {
                pad.version = posted.body["current_version"]
                    .as_u64()
                    .unwrap_or(pad.version)
            }
            status => return Err(format!("a note answered {status}: {}", posted.body)),
        }
    }
    Err(format!("notes on {} keep conflicting", pad.id))
}

fn event_seq(posted: &Posted) -> BenchResult<u64> {
    posted.body["event_seq"]
        .as_u64()
        .ok_or_else(|| format!("no event_seq in {}", posted.body))
}

/// Pending approvals (id, version), oldest last so `pop` takes the newest, least likely to
/// expire mid-request.
async fn pending_approvals(api: &Api) -> BenchResult<Vec<(String, u64)>> {
    let snapshot = api.get("/v1/snapshot").await?;
    let pending = snapshot["approvals"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["state"] == "pending")
        .filter_map(|a| Some((a["id"].as_str()?.to_string(), a["version"].as_u64()?)))
        .collect();
    Ok(pending)
}

/// Raises `count` escalations as one of the demo fleet's agents: resource requests, which an
/// executive decides alone (no quorum).
async fn raise_escalations(api: &Api, count: usize) -> BenchResult<()> {
    let snapshot = api.get("/v1/snapshot").await?;
    let agent = snapshot["agents"][0]["id"]
        .as_str()
        .ok_or("the snapshot holds no agent")?
        .to_string();
    for _ in 0..count {
        let body = json!({
            "agent": agent, "category": "resource_request", "summary": "bench: two more workers",
            "context": "the queue is deep", "options_considered": ["wait", "scale"],
            "recommendation": "scale", "classification": "internal"
        });
        let posted = api
            .post_as(&api.agent_token, "/v1/agent/escalations", &body)
            .await?;
        if posted.status != 200 {
            return Err(format!(
                "raising an escalation answered {}: {}",
                posted.status, posted.body
            ));
        }
    }
    Ok(())
}

async fn approve(api: &Api, id: &str, version: u64) -> BenchResult<Posted> {
    let body = json!({"decision": "approve", "reason": "bench: within budget", "version": version});
    api.post(&format!("/v1/approvals/{id}/decision"), &body)
        .await
}

// ---------------------------------------------------------------------------------------------
// Raw SSE clients

/// What one client saw.
#[derive(Default)]
struct ClientLog {
    events: Vec<(u64, Instant)>,
    resets: usize,
    /// Events whose seq was not the previous one plus one.
    gaps: usize,
    payload_bytes: usize,
    error: Option<String>,
}

impl ClientLog {
    fn record(&mut self, seq: u64, at: Instant, counters: &Counters) {
        match self.events.last() {
            None => {
                counters.heard.fetch_add(1, Ordering::Relaxed);
            }
            Some(&(last, _)) if seq != last + 1 => self.gaps += 1,
            Some(_) => {}
        }
        self.events.push((seq, at));
    }
}

/// How far the clients got, for the driver to wait on.
#[derive(Default)]
struct Counters {
    connected: AtomicUsize,
    failed: AtomicUsize,
    heard: AtomicUsize,
}

/// Undoes HTTP/1.1 chunked transfer coding as bytes arrive (hyper frames the stream that way).
#[derive(Default)]
struct Dechunker {
    pending: Vec<u8>,
    left_in_chunk: usize,
    crlf_due: bool,
}

impl Dechunker {
    /// Appends the payload carried by `input` to `out`.
    fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> BenchResult<()> {
        self.pending.extend_from_slice(input);
        let mut at = 0;
        loop {
            let available = self.pending.len() - at;
            if self.left_in_chunk > 0 {
                let take = self.left_in_chunk.min(available);
                if take == 0 {
                    break;
                }
                out.extend_from_slice(&self.pending[at..at + take]);
                at += take;
                self.left_in_chunk -= take;
                self.crlf_due = self.left_in_chunk == 0;
            } else if self.crlf_due {
                if available < 2 {
                    break;
                }
                at += 2;
                self.crlf_due = false;
            } else {
                let Some(end) = find(&self.pending[at..], b"\r\n") else {
                    break;
                };
                let size = chunk_size(&self.pending[at..at + end])?;
                at += end + 2;
                if size == 0 {
                    return Err("the server ended the stream".into());
                }
                self.left_in_chunk = size;
            }
        }
        self.pending.drain(..at);
        Ok(())
    }
}

fn chunk_size(line: &[u8]) -> BenchResult<usize> {
    let hex = line.split(|&b| b == b';').next().unwrap_or_default();
    std::str::from_utf8(hex)
        .ok()
        .and_then(|h| usize::from_str_radix(h.trim(), 16).ok())
        .ok_or_else(|| format!("bad chunk size {:?}", String::from_utf8_lossy(line)))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Takes the complete SSE lines out of `payload`, noting event ids and resets.
fn take_lines(payload: &mut Vec<u8>, at: Instant, log: &mut ClientLog, counters: &Counters) {
    let mut start = 0;
    while let Some(end) = payload[start..].iter().position(|&b| b == b'\n') {
        let line = payload[start..start + end].trim_ascii();
        if let Some(seq) = line.strip_prefix(b"id:").and_then(parse_seq) {
            log.record(seq, at, counters);
        } else if line == b"event: reset" || line == b"event:reset" {
            log.resets += 1;
        }
        start += end + 1;
    }
    log.payload_bytes += start;
    payload.drain(..start);
}

fn parse_seq(text: &[u8]) -> Option<u64> {
    std::str::from_utf8(text).ok()?.trim().parse().ok()
}

/// The body of the stream as it arrives: chunked or not, then SSE lines.
struct Body {
    dechunker: Option<Dechunker>,
    payload: Vec<u8>,
}

impl Body {
    fn feed(&mut self, bytes: &[u8], log: &mut ClientLog, counters: &Counters) -> BenchResult<()> {
        let at = Instant::now();
        match &mut self.dechunker {
            Some(dechunker) => dechunker.feed(bytes, &mut self.payload)?,
            None => self.payload.extend_from_slice(bytes),
        }
        take_lines(&mut self.payload, at, log, counters);
        Ok(())
    }
}

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
struct Fleet {
    runtime: tokio::runtime::Runtime,
    counters: Arc<Counters>,
    stop: watch::Sender<bool>,
    clients: Vec<JoinHandle<ClientLog>>,
}

impl Fleet {
    fn new() -> BenchResult<Fleet> {
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
    async fn connect(&mut self, count: usize, addr: SocketAddr, token: &str) -> BenchResult<()> {
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
    async fn wait_heard(&self, limit: Duration) -> BenchResult<()> {
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
    async fn stop(self) -> Vec<ClientLog> {
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

// ---------------------------------------------------------------------------------------------
// Measurements

/// p50 and p99 of a set of durations (nearest rank).
#[derive(Clone, Copy)]
struct Spread {
    n: usize,
    p50: Duration,
    p99: Duration,
}

fn spread(mut samples: Vec<Duration>) -> Option<Spread> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_unstable();
    let rank = |p: f64| {
        let index = (p / 100.0 * samples.len() as f64).ceil() as usize;
        samples[index.clamp(1, samples.len()) - 1]
    };
    Some(Spread {
        n: samples.len(),
        p50: rank(50.0),
        p99: rank(99.0),
    })
}

#[derive(Default)]
struct RoundTrips {
    notes: Vec<Duration>,
    approvals: Vec<Duration>,
    /// Approvals answered other than 200 (decided or expired meanwhile, quorum rules...).
    approvals_refused: usize,
}

impl RoundTrips {
    fn extend(&mut self, other: RoundTrips) {
        self.notes.extend(other.notes);
        self.approvals.extend(other.approvals);
        self.approvals_refused += other.approvals_refused;
    }
}

/// Sequential decisions at `ROUND_TRIP_INTERVAL`: notes, and an approval every `APPROVAL_EVERY`
/// (of escalations raised for the purpose, or the demo fleet's own).
async fn measure_round_trips(api: &Api, pad: &mut Notepad) -> BenchResult<RoundTrips> {
    raise_escalations(api, ROUND_TRIPS / APPROVAL_EVERY).await?;
    let mut pending = pending_approvals(api).await?;
    let mut trips = RoundTrips::default();
    let mut pace = tokio::time::interval(ROUND_TRIP_INTERVAL);
    for i in 0..ROUND_TRIPS {
        pace.tick().await;
        if i % APPROVAL_EVERY == APPROVAL_EVERY / 2
            && let Some((id, version)) = pending.pop()
        {
            let posted = approve(api, &id, version).await?;
            match posted.status {
                200 => trips.approvals.push(posted.took),
                _ => trips.approvals_refused += 1,
            }
            continue;
        }
        trips.notes.push(note(api, pad).await?.took);
    }
    Ok(trips)
}

/// A note whose event every client should see.
struct Sent {
    seq: u64,
    at: Instant,
}

/// Notes at `NOTE_INTERVAL` for the delivery window.
async fn send_paced_notes(api: &Api, pad: &mut Notepad) -> BenchResult<Vec<Sent>> {
    let window = delivery_window();
    let started = Instant::now();
    let mut pace = tokio::time::interval(NOTE_INTERVAL);
    pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut sent = Vec::new();
    while started.elapsed() < window {
        pace.tick().await;
        let posted = note(api, pad).await?;
        sent.push(Sent {
            seq: event_seq(&posted)?,
            at: posted.sent,
        });
    }
    Ok(sent)
}

struct Delivery {
    latencies: Vec<Duration>,
    /// Per note, its first reader's latency: the server's own part (commit, publish, first
    /// write), without the fan-out to the other clients.
    first_reader: Vec<Duration>,
    /// (client, note) pairs never seen.
    missing: usize,
}

fn delivery(sent: &[Sent], logs: &[ClientLog]) -> Delivery {
    let sent_at: HashMap<u64, Instant> = sent.iter().map(|s| (s.seq, s.at)).collect();
    let mut first: HashMap<u64, Duration> = HashMap::new();
    let mut latencies = Vec::with_capacity(sent.len() * logs.len());
    for log in logs {
        for (seq, at) in &log.events {
            if let Some(sent) = sent_at.get(seq) {
                let latency = at.saturating_duration_since(*sent);
                latencies.push(latency);
                let earliest = first.entry(*seq).or_insert(latency);
                *earliest = latency.min(*earliest);
            }
        }
    }
    let missing = sent.len() * logs.len() - latencies.len();
    Delivery {
        latencies,
        first_reader: first.into_values().collect(),
        missing,
    }
}

/// Events a second that one client read during the window, and their mean size on the wire.
fn stream_rate(log: &ClientLog, from: Instant, to: Instant) -> (f64, usize) {
    let seen = log
        .events
        .iter()
        .filter(|(_, at)| *at >= from && *at <= to)
        .count();
    let rate = seen as f64 / to.duration_since(from).as_secs_f64();
    let mean_bytes = log.payload_bytes / log.events.len().max(1);
    (rate, mean_bytes)
}

/// Everything measured at one client count.
struct Phase {
    clients: usize,
    rss_idle_kib: u64,
    rss_clients_kib: u64,
    rss_loaded_kib: u64,
    delivery: Option<Spread>,
    first_reader: Option<Spread>,
    pairs: usize,
    missing: usize,
    resets: usize,
    gaps: usize,
    errors: Vec<String>,
    events_per_second: f64,
    notes_per_second: f64,
    mean_event_bytes: usize,
    round_trips: RoundTrips,
}

impl Phase {
    fn kib_per_client(&self) -> f64 {
        (self.rss_clients_kib as f64 - self.rss_idle_kib as f64) / self.clients as f64
    }
}

/// Warm-up (the no-client round trips), memory, delivery, then round trips with `clients`.
async fn measure_phase(
    setup: &Setup,
    api: &Api,
    pid: u32,
    clients: usize,
    idle_trips: &mut RoundTrips,
) -> BenchResult<Phase> {
    let mut pad = open_notepad(api).await?;
    idle_trips.extend(measure_round_trips(api, &mut pad).await?);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_idle_kib = rss_kib(pid)?;

    let mut fleet = Fleet::new()?;
    fleet.connect(clients, setup.addr(), &setup.token).await?;
    fleet.wait_heard(Duration::from_secs(30)).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_clients_kib = rss_kib(pid)?;

    let window_start = Instant::now();
    let sent = send_paced_notes(api, &mut pad).await?;
    let window_end = Instant::now();
    // Let the last note reach every client before the next figures start.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let round_trips = measure_round_trips(api, &mut pad).await?;
    let rss_loaded_kib = rss_kib(pid)?;
    let logs = fleet.stop().await;

    let found = delivery(&sent, &logs);
    let (events_per_second, mean_event_bytes) = stream_rate(&logs[0], window_start, window_end);
    let window = window_end.duration_since(window_start).as_secs_f64();
    Ok(Phase {
        clients,
        rss_idle_kib,
        rss_clients_kib,
        rss_loaded_kib,
        pairs: sent.len() * logs.len(),
        missing: found.missing,
        delivery: spread(found.latencies),
        first_reader: spread(found.first_reader),
        resets: logs.iter().map(|l| l.resets).sum(),
        gaps: logs.iter().map(|l| l.gaps).sum(),
        errors: logs.iter().filter_map(|l| l.error.clone()).collect(),
        events_per_second,
        notes_per_second: sent.len() as f64 / window,
        mean_event_bytes,
        round_trips,
    })
}

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
            LinkEvent::Notice(_) => continue,
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
struct Restart {
    stop: Duration,
    spawn_to_healthy: Duration,
    healthy_to_reconnected: Duration,
    healthy_to_event: Duration,
    spawn_to_event: Duration,
}

/// The link's events over all restarts, checked.
struct Continuity {
    events: usize,
    gaps: usize,
    duplicates: usize,
    resets: usize,
    first_is_next: bool,
    acknowledged_lost: usize,
    caught_up: bool,
}

async fn measure_restarts(
    setup: &Setup,
    api: &Api,
    server: &mut Server,
) -> BenchResult<(Vec<Restart>, Continuity)> {
    let target = Target {
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

// ---------------------------------------------------------------------------------------------
// Report

fn verdict(ok: bool) -> &'static str {
    if ok { "PASS" } else { "MISS" }
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// "p50 / p99 ms PASS" against a p99 target.
fn spread_cell(spread: Option<Spread>, target: Duration) -> String {
    match spread {
        Some(s) => format!(
            "{} / {} ms {} (n={})",
            ms(s.p50),
            ms(s.p99),
            verdict(s.p99 <= target),
            s.n
        ),
        None => "no samples".into(),
    }
}

fn row(label: &str, cells: &[String], target: &str) {
    print!("{label:<32}");
    for cell in cells {
        print!("{cell:<32}");
    }
    println!("{target}");
}

/// One column per client count, the no-client round trips first.
fn print_phases(phases: &[Phase], idle: &RoundTrips) {
    let mut heads = vec!["no SSE client".to_string()];
    heads.extend(phases.iter().map(|p| format!("{} SSE clients", p.clients)));
    row("", &heads, "target");
    let cells = |first: String, f: &dyn Fn(&Phase) -> String| {
        std::iter::once(first)
            .chain(phases.iter().map(f))
            .collect::<Vec<_>>()
    };
    let trips = |samples: &[Duration]| spread_cell(spread(samples.to_vec()), TARGET_ROUND_TRIP_P99);
    let memory = |p: &Phase| {
        let kib = p.kib_per_client();
        format!("{kib:.1} KiB {}", verdict(kib <= TARGET_MEMORY_KIB))
    };
    row(
        "memory per client",
        &cells("-".into(), &memory),
        "<= 32 KiB",
    );
    let delivery = |p: &Phase| spread_cell(p.delivery, TARGET_DELIVERY_P99);
    row(
        "event delivery p50 / p99",
        &cells("-".into(), &delivery),
        "p99 <= 50 ms at 1,000",
    );
    let notes = |p: &Phase| trips(&p.round_trips.notes);
    row(
        "round trip, notes p50 / p99",
        &cells(trips(&idle.notes), &notes),
        "p99 <= 20 ms",
    );
    let approvals = |p: &Phase| trips(&p.round_trips.approvals);
    row(
        "round trip, approvals p50 / p99",
        &cells(trips(&idle.approvals), &approvals),
        "p99 <= 20 ms",
    );
    println!();
    for p in phases {
        print_phase_details(p);
    }
    println!(
        "  approvals refused (decided or expired meanwhile): {} with no client",
        idle.approvals_refused
    );
}

fn print_phase_details(p: &Phase) {
    println!(
        "  {} clients: VmRSS {} KiB idle -> {} KiB connected -> {} KiB after the load",
        p.clients, p.rss_idle_kib, p.rss_clients_kib, p.rss_loaded_kib
    );
    println!(
        "    stream: {:.1} events/s per client during the window ({:.1} the bench's notes, the \
         rest the demo fleet), {} B per event on the wire",
        p.events_per_second, p.notes_per_second, p.mean_event_bytes
    );
    let first = p
        .first_reader
        .map(|s| format!("{} / {} ms", ms(s.p50), ms(s.p99)))
        .unwrap_or_else(|| "-".into());
    println!(
        "    delivery: {} (client, note) pairs, {} missing, {} resets, {} seq gaps, {} client \
         errors{}; first reader per note p50 / p99 {first}; {} approvals refused",
        p.pairs,
        p.missing,
        p.resets,
        p.gaps,
        p.errors.len(),
        p.errors
            .first()
            .map(|e| format!(" (first: {e})"))
            .unwrap_or_default(),
        p.round_trips.approvals_refused
    );
}

fn median_and_max(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort_unstable();
    let median = samples.get(samples.len() / 2).copied().unwrap_or_default();
    (median, samples.last().copied().unwrap_or_default())
}

fn print_restarts(restarts: &[Restart], c: &Continuity) {
    println!();
    println!("reconnect and resume after SIGTERM + restart (the remote link, ms):");
    println!(
        "  {:<4}{:>10}{:>18}{:>24}{:>20}{:>20}",
        "run", "stop", "spawn->healthz", "healthz->reconnected", "healthz->event", "spawn->event"
    );
    for (i, r) in restarts.iter().enumerate() {
        println!(
            "  {:<4}{:>10}{:>18}{:>24}{:>20}{:>20}",
            i + 1,
            ms(r.stop),
            ms(r.spawn_to_healthy),
            ms(r.healthy_to_reconnected),
            ms(r.healthy_to_event),
            ms(r.spawn_to_event)
        );
    }
    let (median, max) = median_and_max(restarts.iter().map(|r| r.healthy_to_event).collect());
    let (spawn_median, spawn_max) =
        median_and_max(restarts.iter().map(|r| r.spawn_to_event).collect());
    println!(
        "  from /healthz: median {} max {} ms {}   from spawn: median {} max {} ms {}   target < 2 s",
        ms(median),
        ms(max),
        verdict(max < TARGET_RESUME),
        ms(spawn_median),
        ms(spawn_max),
        verdict(spawn_max < TARGET_RESUME)
    );
    let contiguous = c.gaps == 0 && c.duplicates == 0 && c.resets == 0 && c.first_is_next;
    println!(
        "  {} events applied: {} gaps, {} duplicates, {} resets, first = snapshot seq + 1: {}; \
         acknowledged notes lost: {}; caught up with the server: {} -> {}",
        c.events,
        c.gaps,
        c.duplicates,
        c.resets,
        c.first_is_next,
        c.acknowledged_lost,
        c.caught_up,
        verdict(contiguous && c.acknowledged_lost == 0 && c.caught_up)
    );
}

// ---------------------------------------------------------------------------------------------

async fn run() -> BenchResult<()> {
    let most = CLIENT_COUNTS.iter().copied().max().unwrap_or_default();
    check_open_files(most)?;
    // reqwest is built without a crypto provider; the server and the link pick ring too.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let setup = Setup::new()?;
    let measured = measure_all(&setup).await;
    if measured.is_err() {
        print_server_complaints(&setup);
    }
    measured
}

async fn measure_all(setup: &Setup) -> BenchResult<()> {
    let load_before = uptime();
    let api = Api::new(setup)?;
    let spawned = Instant::now();
    let mut server = setup.spawn_server()?;
    api.wait_healthy(STARTUP_LIMIT).await?;
    eprintln!(
        "server ready on a fresh store (an hour of demo history backfilled) in {:.1} s",
        spawned.elapsed().as_secs_f64()
    );

    let mut idle_trips = RoundTrips::default();
    let mut phases = Vec::new();
    for (i, &clients) in CLIENT_COUNTS.iter().enumerate() {
        if i > 0 {
            // A fresh process: its memory baseline holds no buffers freed by the last count.
            stop_server(&mut server).await?;
            server = setup.spawn_server()?;
            api.wait_healthy(STARTUP_LIMIT).await?;
        }
        eprintln!("measuring with {clients} SSE clients ...");
        let pid = server.0.id();
        let phase = measure_phase(setup, &api, pid, clients, &mut idle_trips).await?;
        phases.push(phase);
    }
    eprintln!("measuring {RESTARTS} restarts ...");
    let (restarts, continuity) = measure_restarts(setup, &api, &mut server).await?;
    stop_server(&mut server).await?;
    let load_after = uptime();

    println!();
    println!("opsdeck serve --demo on loopback ({})", setup.base_url());
    println!("load at start: {load_before}");
    println!();
    print_phases(&phases, &idle_trips);
    print_restarts(&restarts, &continuity);
    println!();
    println!("load at end:   {load_after}");
    print_server_complaints(setup);
    Ok(())
}

fn print_server_complaints(setup: &Setup) {
    let complaints = setup.server_complaints();
    if !complaints.is_empty() {
        println!("server stderr, warnings and errors ({}):", complaints.len());
        for line in complaints.iter().take(10) {
            println!("  {line}");
        }
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    if let Err(e) = runtime.block_on(run()) {
        eprintln!("bench failed: {e}");
        std::process::exit(1);
    }
}
