//! Several `opsdeck serve` replicas on one PostgreSQL database: issue 16's "Measure" figures.
//!
//! Run: `ulimit -n 8192; cargo bench --bench replicas` (a few minutes). On one 2-core machine
//! the replicas, the database and the load share two cores: the absolute figures are a
//! simulation, so each is printed beside its yardstick from the same run.
//!
//! A durable cluster (fsync on) starts in a temporary directory (the tests' harness); the
//! replicas are the release binary's `serve` processes on a copy of a seeded store.
//! - decisions/s: escalations raised beforehand, then approved by 16 concurrent operators over
//!   HTTP, through one replica and through three; beside a bare loop on the same cluster that
//!   appends one hash-chained row per transaction under a head-row lock.
//! - heartbeats: 10,000 agents beating every 10 s across the three replicas while 20
//!   decisions/s go through them: round trips p50/p99 of each.
//! - delivery: 1,000 SSE consoles spread over the three; escalations raised at 5/s; from the
//!   POST sent to each console reading the event, p50/p99; the replicas' memory per console.
//! - failover: `kill -9` of the replica holding the clock until another holds it; `kill -9` of a
//!   console's replica until the console's next event (over the real link, failing over).
//! - audit search: newest 50 of eight queries at 1,000,000 records, p99, PostgreSQL beside SQLite.

#[path = "../tests/support/ports.rs"]
mod ports;
#[path = "../tests/support/postgres.rs"]
mod postgres;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use opsdeck::config::server::token_hash;
use opsdeck::protocol::{
    ActOnApproval, ApprovalAction, Command as Cmd, Heartbeat, Outcome, RaiseEscalation,
    RegisterAgent, Reply,
};

const BIN: &str = env!("CARGO_BIN_EXE_opsdeck");
const OPERATOR: &str = "opsd_bench_operator";
const FLEET: &str = "opsd_bench_fleet";

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn p50_p99(mut v: Vec<Duration>) -> String {
    v.sort();
    format!(
        "p50 {:.1} ms, p99 {:.1} ms ({} samples)",
        ms(percentile(&v, 0.5)),
        ms(percentile(&v, 0.99)),
        v.len()
    )
}

/// The replicas' config: rate limits out of the way, and a heartbeat timeout longer than the
/// run, since the 10,000 agents beat only in their own part (marking them all down between
/// parts, and up again when they beat, would be another load than the one measured).
fn config_file(dir: &std::path::Path) -> std::path::PathBuf {
    let text = format!(
        "[engine]\nheartbeat_timeout = \"10m\"\n\
         [server]\noperator_rate_per_minute = 10000000\noperator_burst = 1000000\n\
         agent_rate_per_second = 1000000\nagent_burst = 1000000\nmax_connections = 4000\n\
         [[server.operators]]\nname = \"bench\"\nrole = \"executive\"\ntoken_sha256 = \"{}\"\n\
         [[server.agents]]\nname = \"fleet\"\ntoken_sha256 = \"{}\"\n",
        token_hash(OPERATOR),
        token_hash(FLEET)
    );
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
        self.child = Some(
            Command::new(BIN)
                .args([
                    "--config",
                    config.to_str().unwrap(),
                    "--store",
                    store,
                    "serve",
                ])
                .args(["--listen", &format!("127.0.0.1:{}", self.port)])
                .env("XDG_STATE_HOME", dir.join(format!("state-{}", self.port)))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    fn rss_kib(&self) -> u64 {
        let pid = self.child.as_ref().unwrap().id();
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}

/// CPU time spent so far (ms) by processes whose command name starts with `name`: the replicas
/// (`opsdeck`), the database (`postgres`), this bench (`replicas`).
fn cpu_ms(name: &str) -> f64 {
    let tick = 100.0; // USER_HZ on Linux
    let mut total = 0.0;
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        if !stat[open + 1..close].starts_with(name) {
            continue;
        }
        let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        let (user, system): (f64, f64) = (
            fields[11].parse().unwrap_or(0.0),
            fields[12].parse().unwrap_or(0.0),
        );
        total += (user + system) * 1000.0 / tick;
    }
    total
}

/// CPU ms per unit of work of the replicas, the database and the bench's client, around `work`.
async fn cpu_per<T>(n: usize, work: impl std::future::Future<Output = T>) -> (T, String) {
    let names = ["opsdeck", "postgres", "replicas"];
    let before: Vec<f64> = names.iter().map(|n| cpu_ms(n)).collect();
    let done = work.await;
    let spent: Vec<String> = names
        .iter()
        .zip(before)
        .map(|(name, b)| format!("{name} {:.2}", (cpu_ms(name) - b) / n as f64))
        .collect();
    (done, format!("CPU ms each: {}", spent.join(", ")))
}

/// Runs the binary to its end; panics with what it said if it failed.
fn run(args: &[&str]) {
    let out = Command::new(BIN).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn health(http: &reqwest::Client, url: &str) -> Option<serde_json::Value> {
    http.get(format!("{url}/healthz"))
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()
}

async fn wait_up(http: &reqwest::Client, url: &str) {
    let began = Instant::now();
    while health(http, url).await.is_none() {
        assert!(
            began.elapsed() < Duration::from_secs(120),
            "{url} did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends one command; its outcome and round trip.
async fn send(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    command: &Cmd,
) -> (Result<Outcome, String>, Duration) {
    let began = Instant::now();
    let sent = http
        .post(format!("{url}{}", command.path().unwrap()))
        .bearer_auth(token)
        .header("idempotency-key", uuid::Uuid::now_v7().to_string())
        .json(&command.body())
        .send()
        .await;
    let answer = match sent {
        Ok(r) if r.status().is_success() => r.json().await.map_err(|e| e.to_string()),
        Ok(r) => Err(format!(
            "{}: {}",
            r.status(),
            r.text().await.unwrap_or_default()
        )),
        Err(e) => Err(e.to_string()),
    };
    (answer, began.elapsed())
}

fn raise(agent: &str, n: usize) -> Cmd {
    Cmd::RaiseEscalation(RaiseEscalation {
        agent: agent.into(),
        category: opsdeck::model::Category::ResourceRequest,
        summary: format!("bench {n}: two more agents"),
        context: "queue grew".into(),
        options_considered: vec![],
        recommendation: "borrow two".into(),
        classification: opsdeck::model::Classification::Internal,
        related_tasks: vec![],
        tool_call: None,
        session: None,
        callback_url: None,
        policy_rule: None,
    })
}

fn approve(id: &str) -> Cmd {
    Cmd::ActOnApproval(ActOnApproval {
        id: id.into(),
        decision: ApprovalAction::Approve,
        reason: "bench".into(),
        option: None,
        version: Some(1),
    })
}

/// Registers `n` agents through the replicas, `width` at a time; their ids.
async fn register(http: &reqwest::Client, urls: &[String], n: usize, width: usize) -> Vec<String> {
    let ids: Vec<String> = futures::stream::iter(0..n)
        .map(|i| {
            let (http, url) = (http.clone(), urls[i % urls.len()].clone());
            async move {
                let command = Cmd::RegisterAgent(RegisterAgent {
                    name: format!("bench-{i}"),
                    domain: "platform".into(),
                    team: "infra".into(),
                    skills: vec!["go".into()],
                    version: "1.0.0".into(),
                });
                let (done, _) = send(&http, &url, FLEET, &command).await;
                match done
                    .unwrap_or_else(|e| panic!("register bench-{i}: {e}"))
                    .reply
                {
                    Reply::Agent(agent) => agent.id,
                    Reply::Created { id } => id,
                    other => panic!("registered: {other:?}"),
                }
            }
        })
        .buffer_unordered(width)
        .collect()
        .await;
    ids
}

/// Raises `n` escalations (as `agent`); their ids.
async fn raised(http: &reqwest::Client, urls: &[String], agent: &str, n: usize) -> Vec<String> {
    futures::stream::iter(0..n)
        .map(|i| {
            let (http, url, agent) = (
                http.clone(),
                urls[i % urls.len()].clone(),
                agent.to_string(),
            );
            async move {
                let (done, _) = send(&http, &url, FLEET, &raise(&agent, i)).await;
                match done.unwrap_or_else(|e| panic!("raise: {e}")).reply {
                    Reply::Created { id } => id,
                    other => panic!("raised: {other:?}"),
                }
            }
        })
        .buffer_unordered(16)
        .collect()
        .await
}

/// Approves every id, `width` operators at once, through `urls`; decisions per second.
async fn decide_all(
    http: &reqwest::Client,
    urls: &[String],
    ids: Vec<String>,
    width: usize,
) -> f64 {
    let began = Instant::now();
    let n = ids.len();
    futures::stream::iter(ids.into_iter().enumerate())
        .map(|(i, id)| {
            let (http, url) = (http.clone(), urls[i % urls.len()].clone());
            async move {
                let (done, _) = send(&http, &url, OPERATOR, &approve(&id)).await;
                done.unwrap_or_else(|e| panic!("approve {id}: {e}"));
            }
        })
        .buffer_unordered(width)
        .collect::<Vec<()>>()
        .await;
    n as f64 / began.elapsed().as_secs_f64()
}

/// One hash-chained row per transaction under a head-row lock, `clients` at once: the physical
/// yardstick. Each client takes the lock with its BEGIN and writes the row, the head and its
/// COMMIT in one go (statements prepared, requests pipelined): what the database can do at
/// best. Rows appended per second.
async fn bare_loop(url: &str, n: usize, clients: usize) -> f64 {
    let (setup, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    setup
        .batch_execute(
            "DROP TABLE IF EXISTS bare_head, bare_chain;
             CREATE TABLE bare_head (id int PRIMARY KEY, seq bigint, hash text);
             INSERT INTO bare_head VALUES (1, 0, '');
             CREATE TABLE bare_chain (seq bigint PRIMARY KEY, body text, hash text)",
        )
        .await
        .unwrap();
    let mut workers = Vec::new();
    for _ in 0..clients {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        workers.push(client);
    }
    let began = Instant::now();
    let per = n / clients;
    futures::future::join_all(workers.into_iter().map(|client| async move {
        use sha2::Digest;
        use tokio_postgres::types::ToSql;
        let head = client
            .prepare("SELECT seq, hash FROM bare_head WHERE id = 1 FOR UPDATE")
            .await
            .unwrap();
        let insert = client
            .prepare("INSERT INTO bare_chain VALUES ($1, $2, $3)")
            .await
            .unwrap();
        let update = client
            .prepare("UPDATE bare_head SET seq = $1, hash = $2 WHERE id = 1")
            .await
            .unwrap();
        let body = "x".repeat(600);
        for _ in 0..per {
            let (begun, row) =
                futures::join!(client.batch_execute("BEGIN"), client.query_one(&head, &[]));
            begun.unwrap();
            let row = row.unwrap();
            let (seq, prev): (i64, String) = (row.get(0), row.get(1));
            let hash = hex::encode(sha2::Sha256::digest(format!("{prev}{body}")));
            let next = seq + 1;
            let (row, head_row): (&[&(dyn ToSql + Sync)], &[&(dyn ToSql + Sync)]) =
                (&[&next, &body, &hash], &[&next, &hash]);
            let (a, b, c) = futures::join!(
                client.execute(&insert, row),
                client.execute(&update, head_row),
                client.batch_execute("COMMIT")
            );
            a.unwrap();
            b.unwrap();
            c.unwrap();
        }
    }))
    .await;
    (per * clients) as f64 / began.elapsed().as_secs_f64()
}

/// A raw SSE console on `url` from `since`: (seq, when read) for every event.
async fn console(
    http: reqwest::Client,
    url: String,
    since: u64,
    stop: Arc<AtomicBool>,
) -> Vec<(u64, Instant)> {
    let mut seen = Vec::new();
    let Ok(response) = http
        .get(format!("{url}/v1/events"))
        .bearer_auth(OPERATOR)
        .header("last-event-id", since.to_string())
        .send()
        .await
    else {
        return seen;
    };
    let mut bytes = response.bytes_stream();
    let mut line = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        let Ok(Some(Ok(chunk))) = tokio::time::timeout(Duration::from_secs(1), bytes.next()).await
        else {
            continue;
        };
        let now = Instant::now();
        for b in chunk {
            if b == b'\n' {
                if let Some(id) = line.strip_prefix(b"id:")
                    && let Ok(seq) = std::str::from_utf8(id).unwrap_or("").trim().parse()
                {
                    seen.push((seq, now));
                }
                line.clear();
            } else {
                line.push(b);
            }
        }
    }
    seen
}

async fn clock_holder(http: &reqwest::Client, replicas: &[Replica]) -> Option<usize> {
    let mut holders = Vec::new();
    for (i, r) in replicas.iter().enumerate() {
        if r.child.is_some()
            && health(http, &r.url())
                .await
                .and_then(|h| h["clock"].as_bool())
                == Some(true)
        {
            holders.push(i);
        }
    }
    assert!(
        holders.len() <= 1,
        "two replicas hold the clock: {holders:?}"
    );
    holders.first().copied()
}

/// Searches timed per store for each query: enough that a p99 is the 20th slowest, not the
/// 5th.
const SEARCHES: usize = 2_000;

/// p50 and p99 of the newest 50 matching `query` on each store, `(SQLite's, PostgreSQL's)`,
/// read as a server's read thread reads (through the store's reader, on this thread), after a
/// warm-up that fills both stores' caches and prepared statements. The two stores take turns,
/// one search each, so a stall of the machine falls on both alike.
fn search_times(
    sqlite: &opsdeck::store::Store,
    postgres: &opsdeck::store::Store,
    query: &str,
) -> ((Duration, Duration), (Duration, Duration)) {
    let filter = opsdeck::query::parse(query, chrono::Utc::now()).unwrap();
    let readers = [sqlite, postgres].map(|s| s.reader().unwrap().expect("a reader"));
    for reader in &readers {
        for _ in 0..50 {
            reader.search_audit(&filter, None, 50).unwrap();
        }
    }
    let mut times = [Vec::new(), Vec::new()];
    for _ in 0..SEARCHES {
        for (reader, times) in readers.iter().zip(&mut times) {
            let began = Instant::now();
            let found = reader.search_audit(&filter, None, 50).unwrap();
            times.push(began.elapsed());
            assert!(!found.is_empty(), "{query} finds records");
        }
    }
    let [mut s, mut p] = times;
    s.sort();
    p.sort();
    (
        (percentile(&s, 0.5), percentile(&s, 0.99)),
        (percentile(&p, 0.5), percentile(&p, 0.99)),
    )
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let pg =
        postgres::Postgres::start_durable().expect("PostgreSQL (apt-get install -y postgresql)");
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!("opsdeck replicas bench (PostgreSQL, fsync on; 2 cores shared by everything)");
    // `cargo bench --bench replicas -- decisions failover` runs those parts only.
    let parts: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let want = |part: &str| parts.is_empty() || parts.iter().any(|p| p == part);
    if want("search") {
        search(&pg, dir.path(), &runtime);
    }
    runtime.block_on(replicas(&pg, dir.path(), &want));
}

/// Audit search at 1 M records, PostgreSQL beside SQLite, before the replicas load the cores.
fn search(pg: &postgres::Postgres, dir: &std::path::Path, runtime: &tokio::runtime::Runtime) {
    let file = dir.join("trail.db");
    run(&[
        "--store",
        file.to_str().unwrap(),
        "demo",
        "audit",
        "--records",
        "1000000",
    ]);
    let trail = pg.database("trail", None);
    run(&[
        "store",
        "copy",
        "--from",
        file.to_str().unwrap(),
        "--to",
        &trail,
    ]);
    // As a trail that has run a while: vacuumed (hint bits set, the visibility map written),
    // analysed and checkpointed, so neither autovacuum nor the flush of what the vacuum wrote
    // runs in the middle of the measurement.
    pg.psql_in("trail", "VACUUM ANALYZE");
    pg.psql_in("trail", "CHECKPOINT");
    let (sqlite, postgres) = (
        opsdeck::store::Store::open(&file).unwrap(),
        opsdeck::store::Store::connect(&trail, None).unwrap(),
    );
    println!(
        "\naudit search, newest 50 at 1,000,000 records, p99 (target: PostgreSQL ≤ 2× SQLite)"
    );
    let last = sqlite.head().unwrap().last_at.unwrap();
    let window = format!(
        "since:{}",
        (last - chrono::Duration::hours(2)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    for query in [
        "budget",
        "\"budget exception\"",
        "domain:platform",
        "type:decision budget",
        window.as_str(),
        "domain:platform -budget",
        "agent:agent-7",
        "class:sensitive approved",
    ] {
        let ((s50, s), (p50, p)) = search_times(&sqlite, &postgres, query);
        println!(
            "  {query:<28} p99 SQLite {:>6.2} ms  PostgreSQL {:>6.2} ms  {:>4.1}×   (p50 {:.2} / {:.2} ms)",
            ms(s),
            ms(p),
            p.as_secs_f64() / s.as_secs_f64().max(1e-6),
            ms(s50),
            ms(p50)
        );
    }
    drop((sqlite, postgres));
    // The floor under every PostgreSQL query: one round trip on loopback.
    let floor = runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(&trail, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        let statement = client.prepare("SELECT 1").await.unwrap();
        let mut times = Vec::new();
        for _ in 0..1_000 {
            let began = Instant::now();
            client.query_one(&statement, &[]).await.unwrap();
            times.push(began.elapsed());
        }
        times.sort();
        percentile(&times, 0.99)
    });
    println!(
        "  (one round trip to PostgreSQL on loopback, SELECT 1: p99 {:.2} ms)",
        ms(floor)
    );
    // The million records' upkeep (autovacuum, checkpoints) would run on into the replicas'
    // parts: the trail goes, and the cluster checkpoints before they start.
    pg.psql("DROP DATABASE trail");
    pg.psql("CHECKPOINT");
}

async fn replicas(pg: &postgres::Postgres, dir: &std::path::Path, want: &dyn Fn(&str) -> bool) {
    {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .build()
            .unwrap();
        let store = pg.database("replicas", None);
        drop(opsdeck::store::Store::connect(&store, None).unwrap());
        let config = config_file(dir);
        let mut replicas: Vec<Replica> = (0..3)
            .map(|_| Replica {
                port: ports::free_port(),
                child: None,
            })
            .collect();
        for r in &mut replicas {
            r.start(dir, &config, &store);
        }
        let urls: Vec<String> = replicas.iter().map(Replica::url).collect();
        for url in &urls {
            wait_up(&http, url).await;
        }
        let fleet = if want("heartbeats") { 10_000 } else { 10 };
        let began = Instant::now();
        let agents = register(&http, &urls, fleet, 32).await;
        println!(
            "\n({fleet} agents registered through three replicas in {:.1} s)",
            began.elapsed().as_secs_f64()
        );

        if want("decisions") {
            decisions(pg, &http, &urls, &agents[0]).await;
        }
        if want("heartbeats") {
            heartbeats(&http, &urls, &agents).await;
        }
        if want("consoles") {
            consoles(&http, &urls, &replicas, &agents[1]).await;
        }
        if want("failover") {
            failover(
                &http,
                &urls,
                &mut replicas,
                dir,
                &config,
                &store,
                &agents[2],
            )
            .await;
        }
    }
}

/// Write transactions committed in the replicas' database so far: each updates the head row
/// once (the server's statistics, which a busy backend reports up to a second late: this waits
/// for them).
async fn commits(pg: &postgres::Postgres) -> u64 {
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    pg.psql_in(
        "replicas",
        "SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = 'head'",
    )
    .trim()
    .parse()
    .unwrap()
}

/// Durable decisions per second, beside the bare loop.
async fn decisions(pg: &postgres::Postgres, http: &reqwest::Client, urls: &[String], agent: &str) {
    let bare_url = pg.database("bare", None);
    let bare_one = bare_loop(&bare_url, 2_000, 1).await;
    let bare_many = bare_loop(&bare_url, 2_000, 16).await;
    let bare = bare_one.max(bare_many);
    println!("\ndurable decisions/s (target ≥ 60 % of the bare loop)");
    println!(
        "  bare loop, one chained row per transaction: {bare_one:.0}/s from one client, {bare_many:.0}/s from 16"
    );
    for width in [16, 64] {
        for (name, through) in [("one replica", &urls[..1]), ("three replicas", urls)] {
            let ids = raised(http, urls, agent, 2_000).await;
            let commits = commits(pg).await;
            let (rate, cpu) = cpu_per(2_000, decide_all(http, through, ids, width)).await;
            let commits = self::commits(pg).await - commits;
            println!(
                "  {width} operators through {name:<14}: {rate:>5.0}/s = {:>3.0} % of the better bare loop; {:.1} decisions a commit; {cpu}",
                100.0 * rate / bare,
                2_000.0 / commits.max(1) as f64
            );
        }
    }
}

/// 10,000 agents heartbeating every 10 s, and 20 decisions/s, for 20 s.
async fn heartbeats(http: &reqwest::Client, urls: &[String], agents: &[String]) {
    {
        // 10,000 agents heartbeating every 10 s, and 20 decisions/s, for 20 s.
        let pending = raised(http, urls, &agents[0], 400).await;
        let stop = Arc::new(AtomicBool::new(false));
        let beats = {
            let (http, urls, agents, stop) =
                (http.clone(), urls.to_vec(), agents.to_vec(), stop.clone());
            tokio::spawn(async move {
                let mut times = Vec::new();
                let mut tick = tokio::time::interval(Duration::from_millis(10));
                let mut i = 0;
                let mut inflight = futures::stream::FuturesUnordered::new();
                while !stop.load(Ordering::SeqCst) {
                    tokio::select! {
                        _ = tick.tick() => {
                            // 10 beats every 10 ms: 1,000 a second, each agent every 10 s.
                            for _ in 0..10 {
                                let agent = agents[i % agents.len()].clone();
                                let (http, url) = (http.clone(), urls[i % urls.len()].clone());
                                i += 1;
                                inflight.push(async move {
                                    let command = Cmd::Heartbeat(Heartbeat { agent });
                                    send(&http, &url, FLEET, &command).await
                                });
                            }
                        }
                        Some((done, took)) = inflight.next() => {
                            if done.is_ok() { times.push(took); }
                        }
                    }
                }
                while let Some((done, took)) = inflight.next().await {
                    if done.is_ok() {
                        times.push(took);
                    }
                }
                times
            })
        };
        let mut decisions = Vec::new();
        let mut failed = Vec::new();
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        for (i, id) in pending.iter().enumerate() {
            tick.tick().await;
            let (done, took) = send(http, &urls[i % 3], OPERATOR, &approve(id)).await;
            match done {
                Ok(_) => decisions.push(took),
                Err(e) => failed.push(e),
            }
        }
        stop.store(true, Ordering::SeqCst);
        let beats = beats.await.unwrap();
        println!("\n10,000 agents beating every 10 s + 20 decisions/s over three replicas, 20 s");
        println!(
            "  decision round trip:  {}  (target p99 ≤ 100 ms)",
            p50_p99(decisions)
        );
        println!("  heartbeat round trip: {}", p50_p99(beats));
        if let Some(first) = failed.first() {
            println!("  {} decisions failed; the first: {first}", failed.len());
        }
    }
}

/// 1,000 SSE consoles over the three replicas: delivery and memory.
async fn consoles(http: &reqwest::Client, urls: &[String], replicas: &[Replica], agent: &str) {
    {
        let before: Vec<u64> = replicas.iter().map(Replica::rss_kib).collect();
        let head = health(http, &urls[0]).await.unwrap()["seq"]
            .as_u64()
            .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let consoles: Vec<_> = (0..1_000)
            .map(|i| {
                let http = reqwest::Client::new();
                tokio::spawn(console(http, urls[i % 3].clone(), head, stop.clone()))
            })
            .collect();
        tokio::time::sleep(Duration::from_secs(5)).await;
        let after: Vec<u64> = replicas.iter().map(Replica::rss_kib).collect();
        let mut sent = Vec::new();
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        for i in 0..50 {
            tick.tick().await;
            let began = Instant::now();
            let (done, _) = send(http, &urls[i % 3], FLEET, &raise(agent, 10_000 + i)).await;
            sent.push((done.unwrap().event_seq, began));
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
        stop.store(true, Ordering::SeqCst);
        let mut delivery = Vec::new();
        let mut missing = 0;
        for c in consoles {
            let seen = c.await.unwrap();
            for (seq, began) in &sent {
                match seen.iter().find(|(s, _)| s == seq) {
                    Some((_, at)) => delivery.push(at.duration_since(*began)),
                    None => missing += 1,
                }
            }
        }
        let per_console: f64 = after
            .iter()
            .zip(&before)
            .map(|(a, b)| a.saturating_sub(*b) as f64)
            .sum::<f64>()
            / 1_000.0;
        println!("\n1,000 SSE consoles over three replicas, 50 escalations at 5/s");
        println!(
            "  delivery, POST sent to console read: {}  (target p99 ≤ 250 ms); {missing} missed",
            p50_p99(delivery)
        );
        println!("  replicas' memory per console: {per_console:.1} KiB");
    }
}

/// `kill -9` of the clock's holder, and of a console's replica.
#[allow(clippy::too_many_arguments)]
async fn failover(
    http: &reqwest::Client,
    urls: &[String],
    replicas: &mut [Replica],
    dir: &std::path::Path,
    config: &std::path::Path,
    store: &str,
    agent: &str,
) {
    {
        let mut clock_moves = Vec::new();
        for _ in 0..3 {
            let holder = loop {
                if let Some(h) = clock_holder(http, replicas).await {
                    break h;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            };
            replicas[holder].kill();
            let killed = Instant::now();
            loop {
                if clock_holder(http, replicas).await.is_some() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            clock_moves.push(killed.elapsed());
            replicas[holder].start(dir, config, store);
            wait_up(http, &replicas[holder].url()).await;
        }
        let mut stream_moves = Vec::new();
        for round in 0..3 {
            let first = round % 3;
            let mut order = urls.to_vec();
            order.rotate_left(first);
            let target = opsdeck::config::context::Target {
                context: None,
                url: order[0].clone(),
                also: order[1..].to_vec(),
                token: OPERATOR.into(),
                read_only: true,
            };
            let link = opsdeck::link::Remote::connect(&target, true).await.unwrap();
            let seq = link.snapshot().await.unwrap().seq;
            let mut events = link.subscribe(seq).await.unwrap();
            tokio::time::sleep(Duration::from_millis(500)).await;
            replicas[first].kill();
            let killed = Instant::now();
            let (other, n) = (urls[(first + 1) % 3].clone(), 20_000 + round);
            let (http2, agent) = (http.clone(), agent.to_string());
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(100)).await;
                send(&http2, &other, FLEET, &raise(&agent, n)).await
            });
            loop {
                match tokio::time::timeout(Duration::from_secs(30), events.recv()).await {
                    Ok(Some(opsdeck::link::LinkEvent::Event(e))) if e.seq > seq => break,
                    Ok(Some(_)) => {}
                    other => panic!("no event after the failover: {other:?}"),
                }
            }
            stream_moves.push(killed.elapsed());
            replicas[first].start(dir, config, store);
            wait_up(http, &replicas[first].url()).await;
        }
        let show = |v: &[Duration]| {
            v.iter()
                .map(|d| format!("{:.0} ms", ms(*d)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        println!("\nfailover (target ≤ 3 s each)");
        println!(
            "  kill -9 of the clock's holder to the clock elsewhere: {}",
            show(&clock_moves)
        );
        println!(
            "  kill -9 of a console's replica to its next event elsewhere: {}",
            show(&stream_moves)
        );
    }
}
