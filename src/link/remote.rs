//! An orchestrator behind `opsdeck serve`: requests over HTTP (reqwest), events over SSE. The
//! stream reconnects by itself with full-jitter exponential backoff and resumes after the last
//! event it delivered; the console hears how the link is doing through `LinkEvent`s.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use eventsource_stream::Eventsource;
use futures::StreamExt;
use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

use super::replicas::Replicas;
use super::{LinkError, LinkEvent, LinkInfo};
use crate::config::context::Target;
use crate::model::{AuditRecord, EntityKind, Event, Snapshot};
use crate::orchestrator::follow;
use crate::protocol::{self, Problem};
use crate::protocol::{Command, Outcome};
use crate::query::{Item, ItemKind, Listing};

/// A request that takes longer than this is treated as lost (and retried with its key).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The server comments every 10 s; this long without a byte means the stream is dead.
const STREAM_IDLE: Duration = Duration::from_secs(25);
const STREAM_CHECK: Duration = Duration::from_secs(2);
/// Retries of one mutation whose answer was lost (safe: they carry the same key).
const SEND_ATTEMPTS: u32 = 3;

/// Full-jitter exponential backoff: a random wait up to 0.5 s × 2^(attempt-1), at most 30 s.
pub fn backoff(attempt: u32) -> Duration {
    use rand::RngExt;
    let ceiling = Duration::from_millis(500)
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
        .min(Duration::from_secs(30));
    let millis = rand::rng().random_range(0..=ceiling.as_millis() as u64);
    Duration::from_millis(millis.max(50))
}

pub struct Remote {
    client: reqwest::Client,
    replicas: Arc<Replicas>,
    token: String,
    info: LinkInfo,
}

/// An HTTP client for `target`, and its URL as a base to join routes to (ending in `/`).
pub(super) fn http_client(target: &Target) -> Result<(reqwest::Client, Url), LinkError> {
    // reqwest is built without a default crypto provider, so one process-wide choice is made
    // here (the server makes the same one).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut base = Url::parse(&target.url)
        .map_err(|e| LinkError::Invalid(format!("{:?} is not a URL: {e}", target.url)))?;
    if !matches!(base.scheme(), "http" | "https") {
        return Err(LinkError::Invalid(format!(
            "{} must be an http:// or https:// URL",
            target.url
        )));
    }
    if !base.path().ends_with('/') {
        base.set_path(&format!("{}/", base.path()));
    }
    let client = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .user_agent(concat!("opsdeck/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| LinkError::Unavailable(format!("cannot start an HTTP client: {e}")))?;
    Ok((client, base))
}

impl Remote {
    /// Connects and asks who the token belongs to; a wrong URL or token fails here, clearly.
    pub async fn connect(target: &Target, read_only: bool) -> Result<Remote, LinkError> {
        let (client, base) = http_client(target)?;
        let mut bases = vec![base];
        for url in &target.also {
            let (_, base) = http_client(&Target {
                url: url.clone(),
                ..target.clone()
            })?;
            bases.push(base);
        }
        let mut remote = Remote {
            client,
            replicas: Arc::new(Replicas::new(bases)),
            token: target.token.clone(),
            info: LinkInfo {
                name: String::new(),
                context: target.context.clone(),
                remote: true,
                operator: String::new(),
                role: String::new(),
                role_note: None,
                read_only: read_only || target.read_only,
                frozen_at: None,
                demo: false,
                replica: None,
            },
        };
        let identity: protocol::Identity = remote.get("v1/whoami", &()).await?;
        if identity.kind != "operator" {
            return Err(LinkError::Refused(format!(
                "{} holds an agent token; the console needs an operator token",
                identity.name
            )));
        }
        remote.info.name = identity.server;
        remote.info.operator = identity.name;
        remote.info.role = identity.role;
        remote.info.frozen_at = identity.frozen_at;
        remote.info.demo = identity.demo;
        if remote.replicas.many() {
            remote.info.replica = Some(remote.replicas.name(remote.replicas.current().0));
        }
        Ok(remote)
    }

    pub fn info(&self) -> LinkInfo {
        self.info.clone()
    }

    /// The base URL of the replica in use.
    pub fn base_url(&self) -> Url {
        self.replicas.current().1.clone()
    }

    fn url(&self, path: &str) -> Result<Url, LinkError> {
        self.base_url()
            .join(path)
            .map_err(|e| LinkError::Invalid(format!("bad path {path}: {e}")))
    }

    /// The URL of the replica in use with `segments` appended (each escaped as one segment).
    fn url_of(&self, segments: &[&str]) -> Result<Url, LinkError> {
        let mut url = self.base_url();
        url.path_segments_mut()
            .map_err(|_| LinkError::Invalid(format!("{} cannot be a base URL", self.base_url())))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    fn request(&self, method: Method, url: Url) -> reqwest::RequestBuilder {
        self.client
            .request(method, url)
            .bearer_auth(&self.token)
            .timeout(REQUEST_TIMEOUT)
    }

    async fn get<T: DeserializeOwned, Q: Serialize + ?Sized>(
        &self,
        path: &str,
        query: &Q,
    ) -> Result<T, LinkError> {
        // A replica that cannot be reached hands the read to the next, once round them all.
        let mut tries = self.replicas.len();
        loop {
            let (at, base) = self.replicas.current();
            let base = base.clone();
            let url = self.url(path)?;
            match self.request(Method::GET, url).query(query).send().await {
                Ok(response) => return read(response).await,
                Err(e) if tries > 1 && (e.is_connect() || e.is_timeout()) => {
                    tries -= 1;
                    self.replicas.fail_over(at);
                }
                Err(e) => return Err(unreachable_error(&base, &e)),
            }
        }
    }

    pub async fn snapshot(&self) -> Result<Snapshot, LinkError> {
        self.get("v1/snapshot", &()).await
    }

    pub async fn search_audit(
        &self,
        query: &str,
        cursor: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, LinkError> {
        let params = protocol::AuditParams {
            q: query.to_string(),
            cursor,
            limit: Some(limit),
        };
        let page: protocol::AuditPage = self.get("v1/audit", &params).await?;
        Ok(page.records)
    }

    pub async fn count_audit(&self, query: &str, cap: u64) -> Result<(u64, bool), LinkError> {
        let params = protocol::CountParams {
            q: query.to_string(),
            cap: Some(cap),
        };
        let count: protocol::AuditCount = self.get("v1/audit/count", &params).await?;
        Ok((count.count, count.capped))
    }

    /// `GET /v1/items/{kind}`.
    pub async fn list<T: Item>(&self, listing: &Listing) -> Result<Vec<T>, LinkError> {
        let path = format!("v1/items/{}", T::KIND.as_str());
        self.get(&path, &crate::query::items::query_string(listing))
            .await
    }

    /// `GET /v1/items/{kind}/{id}`: a 404 is no such item.
    pub async fn item_json(
        &self,
        kind: ItemKind,
        id: &str,
    ) -> Result<Option<serde_json::Value>, LinkError> {
        let url = self.url_of(&["v1", "items", kind.as_str(), id])?;
        let response = self
            .request(Method::GET, url)
            .send()
            .await
            .map_err(|e| unreachable_error(&self.base_url(), &e))?;
        match read(response).await {
            Ok(item) => Ok(Some(item)),
            Err(LinkError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `POST /v1/claims/{id}`: nothing is written, so nothing is retried.
    pub async fn claim(&self, id: &str) -> Result<(), LinkError> {
        let url = self.url_of(&["v1", "claims", id])?;
        let answer = self
            .request(Method::POST, url)
            .send()
            .await
            .map_err(|e| LinkError::Invalid(format!("claim {id}: {e}")))?;
        if answer.status().is_success() {
            Ok(())
        } else {
            Err(LinkError::Invalid(format!(
                "claim {id}: the orchestrator answered {}",
                answer.status()
            )))
        }
    }

    /// Posts a mutation with a fresh idempotency key; an answer lost on the way is asked for
    /// again with the same key, so the action happens at most once.
    async fn post<B: Serialize>(&self, segments: &[&str], body: &B) -> Result<Outcome, LinkError> {
        let key = uuid::Uuid::now_v7().to_string();
        let mut attempt = 1;
        // Every replica gets a try besides the retries: the key is the same on all of them.
        let attempts = SEND_ATTEMPTS + self.replicas.len() as u32 - 1;
        loop {
            let (at, base) = self.replicas.current();
            let base = base.clone();
            let sent = self
                .request(Method::POST, self.url_of(segments)?)
                .header(protocol::IDEMPOTENCY_KEY, &key)
                .json(body)
                .send()
                .await;
            match sent {
                Ok(response) => return read(response).await,
                Err(e) if attempt < attempts && (e.is_connect() || e.is_timeout()) => {
                    if !self.replicas.fail_over(at) {
                        tokio::time::sleep(backoff(attempt)).await;
                    }
                    attempt += 1;
                }
                Err(e) => return Err(unreachable_error(&base, &e)),
            }
        }
    }

    /// The version of a thing now, for callers (scripts) that did not name the one they saw.
    async fn current_version(&self, kind: EntityKind, id: &str) -> Result<u64, LinkError> {
        let snapshot = self.snapshot().await?;
        let version = match kind {
            EntityKind::Approval => snapshot
                .approvals
                .iter()
                .find(|a| a.id == id)
                .map(|a| a.version),
            EntityKind::Incident => snapshot
                .incidents
                .iter()
                .find(|i| i.id == id)
                .map(|i| i.version),
            _ => snapshot
                .rollouts
                .iter()
                .find(|r| r.id == id)
                .map(|r| r.version),
        };
        version.ok_or_else(|| LinkError::NotFound(format!("no {} with id {id:?}", kind.noun())))
    }

    pub async fn send(&self, mut command: Command) -> Result<Outcome, LinkError> {
        if self.info.read_only {
            return Err(LinkError::Refused(
                "read-only: this console does not act".into(),
            ));
        }
        if let Some((kind, id, None)) = command.versioned() {
            let version = self.current_version(kind, id).await?;
            command.set_version(version);
        }
        let segments = command.segments().filter(|_| !command.is_agents());
        let Some(segments) = segments else {
            return Err(LinkError::Invalid(format!(
                "{} is not an operator action over the remote link",
                command.name()
            )));
        };
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        self.post(&segments, &command.body()).await
    }

    /// Events after `since`, then live ones, across reconnects. Ends after a `Reset` (the
    /// caller takes a fresh snapshot and subscribes again) or when the receiver is dropped.
    pub async fn subscribe(&self, since: u64) -> Result<mpsc::Receiver<LinkEvent>, LinkError> {
        let (tx, rx) = mpsc::channel(follow::BUFFER);
        let stream = Stream {
            client: self.client.clone(),
            replicas: self.replicas.clone(),
            token: self.token.clone(),
            tx,
        };
        tokio::spawn(stream.run(since));
        Ok(rx)
    }
}

/// How one connection of the event stream ended.
enum Ended {
    Reset,
    ReceiverGone,
    Lost(String),
}

struct Stream {
    client: reqwest::Client,
    replicas: Arc<Replicas>,
    token: String,
    tx: mpsc::Sender<LinkEvent>,
}

impl Stream {
    async fn run(self, since: u64) {
        let mut last = since;
        let mut attempt = 0;
        let mut down_since = None;
        loop {
            let why = match self.once(&mut last, &mut attempt, &mut down_since).await {
                Ended::Reset => {
                    let _ = self.tx.send(LinkEvent::Reset).await;
                    return;
                }
                Ended::ReceiverGone => return,
                Ended::Lost(why) => why,
            };
            attempt += 1;
            let since = *down_since.get_or_insert_with(chrono::Utc::now);
            // Another replica is tried at once, each in turn, before waiting longer.
            let (at, _) = self.replicas.current();
            let wait = if self.replicas.fail_over(at) && attempt < self.replicas.len() as u32 {
                Duration::from_millis(50)
            } else {
                backoff(attempt)
            };
            tracing::info!("event stream lost ({why}); attempt {attempt} in {wait:?}");
            let event = LinkEvent::Reconnecting {
                attempt,
                next_in: wait,
                down_since: since,
                why,
            };
            if self.tx.send(event).await.is_err() {
                return;
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// One connection: resume after `last`, deliver until it ends.
    async fn once(
        &self,
        last: &mut u64,
        attempt: &mut u32,
        down_since: &mut Option<crate::model::Timestamp>,
    ) -> Ended {
        let (at, base) = self.replicas.current();
        let Ok(url) = base.join("v1/events") else {
            return Ended::Lost(format!("{base} cannot be a base URL"));
        };
        let response = self
            .client
            .get(url)
            .bearer_auth(&self.token)
            .header("last-event-id", last.to_string())
            .header("accept", "text/event-stream")
            .send()
            .await;
        let response = match response {
            Ok(r) if r.status().is_success() => r,
            Ok(r) => {
                let status = r.status();
                return Ended::Lost(match read::<serde_json::Value>(r).await {
                    Err(e) => e.to_string(),
                    Ok(_) => format!("the server answered {status}"),
                });
            }
            Err(e) => return Ended::Lost(error_chain(&e)),
        };
        *attempt = 0;
        *down_since = None;
        if self.replicas.many()
            && self
                .tx
                .send(LinkEvent::Replica(self.replicas.name(at)))
                .await
                .is_err()
        {
            return Ended::ReceiverGone;
        }
        if self.tx.send(LinkEvent::Heartbeat).await.is_err() {
            return Ended::ReceiverGone;
        }
        // Any byte (an event or the server's heartbeat comment) shows the stream is alive.
        let started = std::time::Instant::now();
        let heard = Arc::new(AtomicU64::new(0));
        let seen = heard.clone();
        let mut events = response
            .bytes_stream()
            .inspect(move |_| seen.store(started.elapsed().as_millis() as u64, Ordering::Relaxed))
            .eventsource();
        let mut reported = 0;
        let mut check = tokio::time::interval(STREAM_CHECK);
        check.tick().await;
        loop {
            tokio::select! {
                next = events.next() => {
                    let event = match next {
                        Some(Ok(event)) => event,
                        Some(Err(e)) => return Ended::Lost(format!("the stream broke: {e}")),
                        None => return Ended::Lost("the server closed the stream".into()),
                    };
                    reported = heard.load(Ordering::Relaxed);
                    if event.event == "reset" {
                        return Ended::Reset;
                    }
                    let Ok(parsed) = serde_json::from_str::<Event>(&event.data) else {
                        return Ended::Lost("the server sent an event that is not valid JSON".into());
                    };
                    if parsed.seq <= *last {
                        continue;
                    }
                    *last = parsed.seq;
                    if self.tx.send(LinkEvent::Event(Box::new(parsed))).await.is_err() {
                        return Ended::ReceiverGone;
                    }
                }
                _ = check.tick() => {
                    let at = heard.load(Ordering::Relaxed);
                    let now = started.elapsed().as_millis() as u64;
                    if now.saturating_sub(at) > STREAM_IDLE.as_millis() as u64 {
                        return Ended::Lost(format!("nothing heard for {} s", STREAM_IDLE.as_secs()));
                    }
                    // A heartbeat comment came in: the data is current.
                    if at > reported {
                        reported = at;
                        if self.tx.send(LinkEvent::Heartbeat).await.is_err() {
                            return Ended::ReceiverGone;
                        }
                    }
                }
            }
        }
    }
}

/// Reads a JSON answer, or turns a problem document into the link's error.
pub(super) async fn read<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, LinkError> {
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| LinkError::Unavailable(format!("the answer was cut off: {e}")))?;
    if status.is_success() {
        return serde_json::from_slice(&bytes).map_err(|e| {
            LinkError::Unavailable(format!(
                "the server's answer is not what opsdeck expects: {e}"
            ))
        });
    }
    let problem: Option<Problem> = serde_json::from_slice(&bytes).ok();
    let detail = problem
        .as_ref()
        .map(|p| p.detail.clone())
        .unwrap_or_else(|| format!("the server answered {status}"));
    Err(match status {
        StatusCode::NOT_FOUND => LinkError::NotFound(detail),
        StatusCode::CONFLICT => LinkError::Conflict {
            message: detail,
            current_version: problem.and_then(|p| p.current_version),
        },
        StatusCode::UNAUTHORIZED => {
            LinkError::Refused(format!("the server does not accept this token: {detail}"))
        }
        StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS => LinkError::Refused(detail),
        s if s.is_client_error() => LinkError::Invalid(detail),
        _ => LinkError::Unavailable(detail),
    })
}

fn error_chain(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

pub(super) fn unreachable_error(base: &Url, e: &reqwest::Error) -> LinkError {
    LinkError::Unavailable(format!(
        "cannot reach the orchestrator at {base}: {}",
        error_chain(e)
    ))
}
