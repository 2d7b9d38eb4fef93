//! Chaos on three replicas: real `opsdeck serve` processes on one PostgreSQL database, a client
//! driving decisions, incident reports and agent traffic through all of them with idempotency
//! keys, and `kill -9` of a random replica every two seconds for 30 cycles (each restarted on
//! its port). After it: every acknowledged write is there exactly once (and no unacknowledged
//! one twice), `audit verify` passes, `seq` is gapless, consoles that failed over saw every
//! event once, the clock was never held by two replicas and always came back to one, and no
//! timer fired twice (approvals' deadlines of seconds escalate them all through the run).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::orchestrator::{ALICE, FLEET, Variant, runs, server_config, target};
use opsdeck::link::{Link, LinkEvent, Remote};
use opsdeck::protocol::{
    ActOnApproval, ApprovalAction, Command as Cmd, Heartbeat, Outcome, RaiseEscalation, Reply,
    ReportIncident,
};

const BIN: &str = env!("CARGO_BIN_EXE_opsdeck");
const CYCLES: usize = 30;
const EVERY: Duration = Duration::from_secs(2);

/// The server's config: the test tokens, and rate limits out of the way.
fn config_file(dir: &std::path::Path) -> std::path::PathBuf {
    let config = server_config();
    // Deadlines of seconds: the clock escalates approvals all through the run, so a timer that
    // fired twice (on two replicas, or again after a takeover) would show.
    let mut text = String::from(
        "[approvals]\ndomain_deadline = \"2s\"\nenterprise_deadline = \"3s\"\n[server]\noperator_rate_per_minute = 1000000\noperator_burst = 100000\nagent_rate_per_second = 100000\nagent_burst = 100000\n",
    );
    for o in &config.operators {
        text.push_str(&format!(
            "[[server.operators]]\nname = \"{}\"\nrole = \"{}\"\ntoken_sha256 = \"{}\"\n",
            o.name, o.role, o.token_sha256
        ));
    }
    for a in &config.agents {
        text.push_str(&format!(
            "[[server.agents]]\nname = \"{}\"\ntoken_sha256 = \"{}\"\ndomains = {:?}\nagents = {:?}\n",
            a.name, a.token_sha256, a.domains, a.agents
        ));
    }
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

struct Replica {
    port: u16,
    child: Option<Child>,
}

impl Replica {
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn start(&mut self, dir: &std::path::Path, config: &std::path::Path, store: &str) {
        let child = Command::new(BIN)
            .args([
                "--config",
                config.to_str().unwrap(),
                "--store",
                store,
                "serve",
            ])
            .args(["--listen", &format!("127.0.0.1:{}", self.port)])
            .env("XDG_STATE_HOME", dir.join(format!("state-{}", self.port)))
            .env("HOME", "/nonexistent")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(self.log(dir))
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    /// Where the replica's messages go, every life of it one after another: a replica that did
    /// not start says why there.
    fn log(&self, dir: &std::path::Path) -> std::fs::File {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(format!("replica-{}.log", self.port)))
            .unwrap()
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}

/// What `/healthz` says of the clock; `None` while the replica does not answer.
async fn clock(http: &reqwest::Client, url: &str) -> Option<bool> {
    let health: serde_json::Value = http
        .get(format!("{url}/healthz"))
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    health["clock"].as_bool()
}

/// Sends `command` with `key` to the replicas in turn until one answers for good: the outcome,
/// a refusal (`Err`), or `None` when none answered in time (then it may or may not have acted).
async fn send(
    http: &reqwest::Client,
    urls: &[String],
    token: &str,
    command: &Cmd,
    key: &str,
) -> Option<Result<Outcome, (u16, String)>> {
    let began = Instant::now();
    let mut i = rand_index(urls.len());
    while began.elapsed() < Duration::from_secs(20) {
        let sent = http
            .post(format!(
                "{}{}",
                urls[i % urls.len()],
                command.path().unwrap()
            ))
            .bearer_auth(token)
            .header("idempotency-key", key)
            .json(&command.body())
            .timeout(Duration::from_secs(5))
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => return Some(Ok(r.json().await.unwrap())),
            Ok(r) if r.status().is_client_error() && r.status().as_u16() != 429 => {
                let status = r.status().as_u16();
                return Some(Err((status, r.text().await.unwrap_or_default())));
            }
            _ => {}
        }
        i += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

fn rand_index(n: usize) -> usize {
    use rand::RngExt;
    rand::rng().random_range(0..n)
}

/// Waits until exactly one of `urls` says it holds the clock (never two); its index.
async fn the_one_holder(http: &reqwest::Client, urls: &[String], cycle: usize) -> usize {
    let began = Instant::now();
    loop {
        let mut holders = Vec::new();
        for (i, url) in urls.iter().enumerate() {
            if clock(http, url).await == Some(true) {
                holders.push(i);
            }
        }
        assert!(
            holders.len() <= 1,
            "cycle {cycle}: {holders:?} hold the clock"
        );
        if let [one] = holders[..] {
            return one;
        }
        assert!(
            began.elapsed() < Duration::from_secs(10),
            "cycle {cycle}: no live replica holds the clock"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Where `seqs` is not exactly `first..=last`, each once and in order; `None` when it is.
fn out_of_line(seqs: &[u64], first: u64, last: u64) -> Option<String> {
    let expected = first..=last;
    for (i, (got, want)) in seqs.iter().zip(expected.clone()).enumerate() {
        if *got != want {
            return Some(format!("at {i}: {got} where {want} belongs"));
        }
    }
    let want = expected.count();
    (seqs.len() != want).then(|| format!("{} seqs for {want} ({first}..={last})", seqs.len()))
}

/// What the client was told, to be checked against the store at the end.
#[derive(Default)]
struct Acked {
    raised: Vec<(String, String)>,
    decided: Vec<String>,
    reported: Vec<String>,
    unknown: Vec<String>,
    audit_seqs: Vec<u64>,
}

async fn drive(
    urls: Vec<String>,
    agent: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> Acked {
    let http = reqwest::Client::new();
    let mut acked = Acked::default();
    let mut raised_pending: Vec<String> = Vec::new();
    let mut n = 0;
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        n += 1;
        let marker = format!("chaos{n:05}");
        let agent = agent.clone();
        let (command, token) = match n % 4 {
            0 => (
                Cmd::RaiseEscalation(RaiseEscalation {
                    agent: agent.clone(),
                    category: opsdeck::model::Category::ResourceRequest,
                    summary: format!("{marker} needs two more agents"),
                    context: "queue grew".into(),
                    options_considered: vec![],
                    recommendation: "borrow two".into(),
                    classification: opsdeck::model::Classification::Internal,
                    related_tasks: vec![],
                    tool_call: None,
                    session: None,
                    callback_url: None,
                    policy_rule: None,
                }),
                FLEET,
            ),
            // Every other escalation is decided; the rest wait for the clock's deadlines.
            1 if n % 8 == 1 && !raised_pending.is_empty() => (
                Cmd::ActOnApproval(ActOnApproval {
                    id: raised_pending.remove(0),
                    decision: ApprovalAction::Approve,
                    reason: format!("{marker} approved"),
                    option: None,
                    // As raised; a conflict (someone moved it since) is an answer too.
                    version: Some(1),
                }),
                ALICE,
            ),
            2 => (
                Cmd::ReportIncident(ReportIncident {
                    agent: agent.clone(),
                    severity: opsdeck::model::Severity::Sev4,
                    title: format!("{marker} disk filling"),
                }),
                FLEET,
            ),
            _ => (Cmd::Heartbeat(Heartbeat { agent }), FLEET),
        };
        let key = uuid::Uuid::now_v7().to_string();
        match send(&http, &urls, token, &command, &key).await {
            Some(Ok(outcome)) => {
                acked.audit_seqs.extend(&outcome.audit_seqs);
                match (&command, &outcome.reply) {
                    (Cmd::RaiseEscalation(_), Reply::Created { id }) => {
                        acked.raised.push((id.clone(), marker.clone()));
                        raised_pending.push(id.clone());
                    }
                    (Cmd::RaiseEscalation(_), other) => panic!("raised: {other:?}"),
                    (Cmd::ActOnApproval(c), _) => acked.decided.push(c.id.clone()),
                    (Cmd::ReportIncident(_), _) => acked.reported.push(marker.clone()),
                    _ => {}
                }
            }
            // A decision that lost a race with the clock (the approval escalated past the
            // version it named, or past the operator's level) is refused, and that is an answer.
            Some(Err((status, why))) => {
                assert!(
                    matches!(command, Cmd::ActOnApproval(_)) && matches!(status, 409 | 403),
                    "{} refused with {status}: {why}",
                    command.name()
                );
            }
            None => acked.unknown.push(marker.clone()),
        }
    }
    acked
}

/// A console following the events across replicas: the seqs it saw, in order.
async fn follow(
    urls: Vec<String>,
    since: u64,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    until: std::sync::Arc<std::sync::atomic::AtomicU64>,
) -> Vec<u64> {
    let mut target = target(&urls[0], ALICE);
    target.also = urls[1..].to_vec();
    let link = Link::Remote(Remote::connect(&target, true).await.unwrap());
    let mut events = link.subscribe(since).await.unwrap();
    let mut seen = Vec::new();
    loop {
        let last = seen.last().copied().unwrap_or(since);
        let end = until.load(std::sync::atomic::Ordering::SeqCst);
        if stop.load(std::sync::atomic::Ordering::SeqCst) && end > 0 && last >= end {
            return seen;
        }
        match tokio::time::timeout(Duration::from_secs(60), events.recv()).await {
            Ok(Some(LinkEvent::Event(e))) => seen.push(e.seq),
            Ok(Some(LinkEvent::Reset)) => panic!("a console was reset after seq {last}"),
            Ok(Some(_)) => {}
            Ok(None) => panic!("the subscription ended"),
            Err(_) => panic!("nothing for 60 s after seq {last} (end {end})"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_nine_replicas_for_thirty_cycles_and_lose_nothing() {
    if !runs(Variant::RemotePostgres) {
        return;
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    // A new store on the real clock, so every timer runs.
    let store = crate::support::postgres::Postgres::shared()
        .expect("a cluster")
        .database("chaos", None);
    let config = config_file(dir.path());
    let mut replicas: Vec<Replica> = (0..3)
        .map(|_| Replica {
            port: crate::support::ports::free_port(),
            child: None,
        })
        .collect();
    for r in &mut replicas {
        r.start(dir.path(), &config, &store);
    }
    let urls: Vec<String> = replicas.iter().map(Replica::url).collect();
    let http = reqwest::Client::new();
    for r in &replicas {
        let (url, began) = (r.url(), Instant::now());
        while clock(&http, &url).await.is_none() {
            assert!(
                began.elapsed() < Duration::from_secs(30),
                "{url} did not start: {}",
                std::fs::read_to_string(dir.path().join(format!("replica-{}.log", r.port)))
                    .unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let register = Cmd::RegisterAgent(opsdeck::protocol::RegisterAgent {
        name: "chaos".into(),
        domain: "platform".into(),
        team: "infra".into(),
        skills: vec!["go".into()],
        version: "1.0.0".into(),
    });
    let agent = match send(&http, &urls, FLEET, &register, "register").await {
        Some(Ok(Outcome {
            reply: Reply::Created { id },
            ..
        })) => id,
        other => panic!("registered: {other:?}"),
    };
    let start = opsdeck::store::Store::connect(&store, None)
        .unwrap()
        .head()
        .unwrap()
        .event_seq;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let until = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let client = tokio::spawn(drive(urls.clone(), agent, stop.clone()));
    let consoles: Vec<_> = (0..2)
        .map(|i| {
            let mut order = urls.clone();
            order.rotate_left(i);
            tokio::spawn(follow(order, start, stop.clone(), until.clone()))
        })
        .collect();

    let mut longest_takeover = Duration::ZERO;
    for cycle in 0..CYCLES {
        tokio::time::sleep(EVERY).await;
        let holder = the_one_holder(&http, &urls, cycle).await;
        let victim = rand_index(replicas.len());
        replicas[victim].kill();
        let killed = Instant::now();
        if victim == holder {
            // Another live replica takes the clock within a few seconds.
            let others: Vec<String> = urls
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != victim)
                .map(|(_, u)| u.clone())
                .collect();
            the_one_holder(&http, &others, cycle).await;
            longest_takeover = longest_takeover.max(killed.elapsed());
        }
        replicas[victim].start(dir.path(), &config, &store);
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let acked = client.await.unwrap();
    let db = opsdeck::store::Store::connect(&store, None).unwrap();
    let head = db.head().unwrap();
    until.store(head.event_seq, std::sync::atomic::Ordering::SeqCst);
    for console in consoles {
        // The clock goes on writing after the head was read: what came later is not checked.
        let mut seen = console.await.unwrap();
        seen.retain(|seq| *seq <= head.event_seq);
        if let Some(wrong) = out_of_line(&seen, start + 1, head.event_seq) {
            panic!("a console did not see every event once, in order: {wrong}");
        }
    }
    eprintln!(
        "{CYCLES} kill -9 cycles: {} escalations, {} decisions, {} incidents acknowledged, {} unknown; events {start}..{}; longest clock takeover after killing its holder {longest_takeover:?}",
        acked.raised.len(),
        acked.decided.len(),
        acked.reported.len(),
        acked.unknown.len(),
        head.event_seq
    );
    assert!(acked.raised.len() > 20 && acked.decided.len() > 10 && acked.reported.len() > 20);

    // Every acknowledged write is there exactly once; nothing unacknowledged is there twice.
    let now = chrono::Utc::now();
    let count = |query: &str| {
        let filter = opsdeck::query::parse(query, now).unwrap();
        db.count_audit(&filter, 10).unwrap().0
    };
    for (id, marker) in &acked.raised {
        // The raise itself (the clock's own escalations of it quote its summary too).
        let raised = format!("type:escalation {marker} -\"escalated itself\"");
        assert_eq!(count(&raised), 1, "{marker}");
        let approval: opsdeck::model::Approval = db.item(id).unwrap().expect("raised");
        assert!(approval.summary.starts_with(marker.as_str()));
    }
    // No timer fired twice: each approval left each level by its deadline at most once.
    let mut by_clock = 0;
    for (id, _) in &acked.raised {
        for from in ["domain", "enterprise"] {
            let n = count(&format!("\"{id} escalated itself from {from}\""));
            assert!(n <= 1, "{id} escalated itself from {from} {n} times");
            by_clock += n;
        }
    }
    assert!(
        by_clock > 20,
        "the clock escalated approvals all through the run ({by_clock})"
    );
    for id in &acked.decided {
        let approval: opsdeck::model::Approval = db.item(id).unwrap().unwrap();
        assert!(!approval.is_pending(), "{id} was decided");
        assert_eq!(
            count(&format!("type:decision \"{id}\" approved")),
            1,
            "{id}"
        );
    }
    for marker in &acked.reported {
        assert_eq!(count(&format!("\"{marker} disk filling\"")), 1, "{marker}");
    }
    for marker in &acked.unknown {
        assert!(count(marker) <= 1, "{marker} at most once");
    }
    let mut seqs = acked.audit_seqs.clone();
    seqs.sort_unstable();
    let before = seqs.len();
    seqs.dedup();
    assert_eq!(
        before,
        seqs.len(),
        "no two acknowledgements name one record"
    );
    for seq in seqs {
        assert!(
            db.audit_record(seq).unwrap().is_some(),
            "record {seq} is there"
        );
    }
    // The chain verifies, and the events that remain are gapless up to the head.
    let out = Command::new(BIN)
        .args(["--store", &store, "-o", "json", "audit", "verify"])
        .env("HOME", "/nonexistent")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let kept = head.event_seq.saturating_sub(4_000).max(start);
    let events = db.events_since(kept, 1_000_000).unwrap().unwrap();
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    let last = seqs.last().copied().unwrap_or(kept);
    assert!(last >= head.event_seq);
    if let Some(wrong) = out_of_line(&seqs, kept + 1, last) {
        panic!("seq is not gapless: {wrong}");
    }
}
