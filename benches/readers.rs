//! Reads beside decisions: the round trip of an incident note through a real `opsdeck serve`
//! (its own process) on a store of 1 M audit records, alone and while four clients loop audit
//! searches and counts as fast as the server answers them. The floor is the first row: the same
//! notes with nobody reading.
//!
//! `cargo bench --bench readers`. `OPSDECK_READERS_DIR` names a directory that keeps the
//! generated store (`a1m.db`, made by `opsdeck demo audit --records 1000000`) between runs;
//! `BENCH_RECORDS` changes its size. Target: p99 with readers ≤ 1.5× p99 alone.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_opsdeck");
fn notes_count() -> usize {
    std::env::var("BENCH_NOTES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000)
}
const READERS: usize = 4;
const TOKEN: &str = "opsd_bench_enterprise";

fn store(dir: &Path, records: u64) -> PathBuf {
    let path = dir.join(format!("a{}.db", records_label(records)));
    if !path.exists() {
        eprintln!("making {} ({records} audit records)", path.display());
        let out = Command::new(BIN)
            .args(["--store", path.to_str().unwrap(), "demo", "audit"])
            .args(["--records", &records.to_string()])
            .env("HOME", dir)
            .env("XDG_STATE_HOME", dir.join("state"))
            .output()
            .expect("opsdeck runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    path
}

fn records_label(records: u64) -> String {
    match records {
        n if n % 1_000_000 == 0 => format!("{}m", n / 1_000_000),
        n if n % 1_000 == 0 => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}

/// `opsdeck serve` on a copy of `store`, with one enterprise operator token and no rate limit
/// (the bench times round trips, not what a person's token is allowed).
fn serve(store: &Path, home: &Path) -> (Child, String) {
    let copy = home.join("served.db");
    std::fs::copy(store, &copy).unwrap();
    // A gigabyte of dirty pages being written back would slow every fsync the notes make.
    std::fs::File::open(&copy).unwrap().sync_all().unwrap();
    let config = home.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\noperator_rate_per_minute = 1000000\noperator_burst = 1000000\n\
             [[server.operators]]\nname = \"bench\"\nrole = \"enterprise\"\ntoken_sha256 = \"{}\"\n",
            opsdeck::config::server::token_hash(TOKEN)
        ),
    )
    .unwrap();
    let mut child = Command::new(BIN)
        .args(["--config", config.to_str().unwrap(), "serve"])
        .args(["--store", copy.to_str().unwrap(), "--listen", "127.0.0.1:0"])
        .env("HOME", home)
        .env("XDG_STATE_HOME", home.join("state"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("serve prints where it listens")
            .unwrap();
        if let Some(at) = line.find("http://") {
            break line[at..].split_whitespace().next().unwrap().to_string();
        }
    };
    // Keep draining its output so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, url)
}

async fn post(http: &reqwest::Client, url: String, body: Value) -> Value {
    let answer = http
        .post(url)
        .bearer_auth(TOKEN)
        .header("idempotency-key", uuid::Uuid::now_v7().to_string())
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = answer.status();
    let body: Value = answer.json().await.unwrap();
    assert!(status.is_success(), "{status} {body}");
    body
}

/// `notes_count()` notes, one at a time, on an incident declared for the round (each round
/// starts from the same small body): (p50, p99) in ms.
async fn notes(http: &reqwest::Client, base: &str) -> (f64, f64) {
    let declared = post(
        http,
        format!("{base}/v1/incidents"),
        json!({"severity": "SEV4", "title": "bench: notes", "domain": "platform"}),
    )
    .await;
    let id = declared["reply"]["value"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut version = declared["reply"]["value"]["version"].as_u64().unwrap();
    let mut took = Vec::with_capacity(notes_count());
    for _ in 0..notes_count() {
        let sent = Instant::now();
        let body = post(
            http,
            format!("{base}/v1/incidents/{id}/actions"),
            json!({"action": "note", "note": "bench", "version": version}),
        )
        .await;
        took.push(sent.elapsed().as_secs_f64() * 1000.0);
        version = body["reply"]["value"]["version"].as_u64().unwrap();
    }
    took.sort_by(f64::total_cmp);
    let p99 = took[(took.len() * 99).div_ceil(100) - 1];
    (took[took.len() / 2], p99)
}

/// READERS clients looping a search page and a count each, on a runtime of their own; returns
/// the stop switch, the number of reads answered, and the thread to join.
fn readers(base: &str) -> (Arc<AtomicBool>, Arc<AtomicU64>, std::thread::JoinHandle<()>) {
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicU64::new(0));
    let (base, stop2, answered2) = (base.to_string(), stop.clone(), answered.clone());
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let http = reqwest::Client::new();
            let mut clients = Vec::new();
            for i in 0..READERS {
                let (http, base, stop, answered) =
                    (http.clone(), base.clone(), stop2.clone(), answered2.clone());
                clients.push(tokio::spawn(async move {
                    let queries = ["type:decision", "domain:platform", "quota", "since:2h"];
                    let mut n = 0usize;
                    while !stop.load(Ordering::Relaxed) {
                        let q = queries[(i + n) % queries.len()];
                        for path in ["/v1/audit/count", "/v1/audit"] {
                            let ok = http
                                .get(format!("{base}{path}"))
                                .query(&[("q", q)])
                                .bearer_auth(TOKEN)
                                .send()
                                .await
                                .and_then(|r| r.error_for_status());
                            if let Ok(r) = ok {
                                let _ = r.bytes().await;
                                answered.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        n += 1;
                    }
                }));
            }
            for c in clients {
                let _ = c.await;
            }
        });
    });
    (stop, answered, thread)
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let records: u64 = std::env::var("BENCH_RECORDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let temp = tempfile::tempdir().unwrap();
    let dir = std::env::var_os("OPSDECK_READERS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| temp.path().to_path_buf());
    let store = store(&dir, records);
    let home = temp.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let (mut server, base) = serve(&store, &home);
    // The note client has a thread and a runtime to itself, so its round trips are not queued
    // behind the readers' own work in this process.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let http = reqwest::Client::new();
    let (alone, busy, reads, seconds) = runtime.block_on(async {
        // A first round warms the connection and the pages the notes touch.
        notes(&http, &base).await;
        let alone = notes(&http, &base).await;
        println!(
            "incident note through `opsdeck serve` on {records} audit records, {} notes:",
            notes_count()
        );
        println!(
            "  alone                                    p50 {:>7.2} ms   p99 {:>7.2} ms",
            alone.0, alone.1
        );
        let (stop, answered, thread) = readers(&base);
        tokio::time::sleep(Duration::from_millis(500)).await;
        let before = answered.load(Ordering::Relaxed);
        let started = Instant::now();
        let busy = notes(&http, &base).await;
        let seconds = started.elapsed().as_secs_f64();
        let reads = answered.load(Ordering::Relaxed) - before;
        stop.store(true, Ordering::Relaxed);
        let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        (alone, busy, reads, seconds)
    });
    let _ = server.kill();
    let _ = server.wait();
    println!(
        "  while {READERS} clients loop searches and counts  p50 {:>7.2} ms   p99 {:>7.2} ms   ({:.0} reads/s answered meanwhile)",
        busy.0,
        busy.1,
        reads as f64 / seconds
    );
    println!(
        "target p99 with readers ≤ 1.5× alone: {} ({:.2}×)",
        if busy.1 <= 1.5 * alone.1 {
            "PASS"
        } else {
            "MISS"
        },
        busy.1 / alone.1
    );
}
