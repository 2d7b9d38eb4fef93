//! Agents waiting on people: the figures of issue 14's "Measure" section.
//!
//! Run: `cargo bench --bench waiters` (a minute after the release build; needs a soft
//! open-file limit of at least 2,200: `ulimit -n 4096`). The server is the release binary,
//! `opsdeck serve` on a fresh store in a temporary directory, its limits raised for the load.
//!
//! Figures:
//! - decision to waiter: 1,000 long polls (`GET /v1/agent/escalations/{id}?wait=50`), one per
//!   escalation, all waiting at once; the escalations are then decided one by one, 50 a
//!   second. For each: from sending the decision to its waiter's answer, beside the decision's
//!   own round trip (the floor: a waiter cannot hear before the commit).
//! - one item, 1,000 waiters: from sending the decision to the last of them answered.
//! - memory per waiting long poll: (server VmRSS with the 1,000 polls waiting) − (VmRSS just
//!   before they connected), over 1,000.
//! - the gate: `opsdeck escalate --wait 5m` as a process, a console in a real pseudo-terminal
//!   approving it; from the `y` that confirms the approval (written to the console's terminal)
//!   to the gate process's exit, 5 times.

#[path = "../tests/support/pty.rs"]
mod pty;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use opsdeck::config::server::token_hash;
use pty::Pty;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_opsdeck");
const AGENT: &str = "opsd_bench_agent_token_0123456789";
const OPERATOR: &str = "opsd_bench_operator_token_0123456789";
const WAITERS: usize = 1_000;

type R<T> = Result<T, String>;

fn config(dir: &Path, port: u16) -> R<std::path::PathBuf> {
    let path = dir.join("config.toml");
    let text = format!(
        r#"[server]
listen = "127.0.0.1:{port}"
max_connections = 4096
agent_rate_per_second = 100000
agent_burst = 100000
operator_rate_per_minute = 1000000
operator_burst = 100000
agent_bytes_per_minute = 1000000000

[[server.agents]]
name = "bench"
token_sha256 = "{}"

[[server.operators]]
name = "erin"
role = "executive"
token_sha256 = "{}"
"#,
        token_hash(AGENT),
        token_hash(OPERATOR)
    );
    std::fs::write(&path, text).map_err(|e| e.to_string())?;
    Ok(path)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(7399)
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn check_open_files() -> R<()> {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let soft: Option<u64> = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|s| s.parse().ok());
    match soft {
        Some(s) if s < 2 * WAITERS as u64 + 200 => Err(format!(
            "the open-file limit is {s}: run `ulimit -n 4096` first"
        )),
        _ => Ok(()),
    }
}

struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start(dir: &Path) -> R<Server> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let port = free_port();
    let config = config(dir, port)?;
    let child = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&config)
        .arg("--store")
        .arg(dir.join("bench.db"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    for _ in 0..600 {
        if http.get(format!("{url}/healthz")).send().await.is_ok() {
            return Ok(Server { child, url });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err("the server did not start".into())
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn post(http: &reqwest::Client, url: &str, token: &str, body: Value) -> R<Value> {
    let r = http
        .post(url)
        .bearer_auth(token)
        .header("idempotency-key", uuid::Uuid::now_v7().to_string())
        .json(&body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = r.status();
    let body: Value = r.json().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("{url}: {status} {body}"));
    }
    Ok(body)
}

async fn raise(http: &reqwest::Client, url: &str, agent: &str, summary: &str) -> R<String> {
    let body = post(
        http,
        &format!("{url}/v1/agent/escalations"),
        AGENT,
        json!({"agent": agent, "category": "scope_change", "summary": summary, "context": "",
               "recommendation": "", "classification": "internal"}),
    )
    .await?;
    body["reply"]["value"]["id"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("no id in {body}"))
}

fn waiter(http: &reqwest::Client, url: &str, id: &str) -> tokio::task::JoinHandle<R<Instant>> {
    let http = http.clone();
    let url = format!("{url}/v1/agent/escalations/{id}?wait=50");
    tokio::spawn(async move {
        let body: Value = http
            .get(url)
            .bearer_auth(AGENT)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        let at = Instant::now();
        if body["state"] != "approved" {
            return Err(format!("a waiter answered {body}"));
        }
        Ok(at)
    })
}

async fn long_polls(dir: &Path) -> R<()> {
    let server = start(dir).await?;
    let url = server.url.clone();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(2 * WAITERS)
        .build()
        .map_err(|e| e.to_string())?;
    let agent = post(
        &http,
        &format!("{url}/v1/agent/register"),
        AGENT,
        json!({"name": "bench", "domain": "platform", "team": "gate", "version": "1"}),
    )
    .await?["reply"]["value"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut ids = Vec::with_capacity(WAITERS);
    for n in 0..WAITERS {
        ids.push(raise(&http, &url, &agent, &format!("deploy {n}")).await?);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let pid = server.child.id();
    let before = rss_kib(pid);
    let waiters: Vec<_> = ids.iter().map(|id| waiter(&http, &url, id)).collect();
    // Every poll connected and waiting (the server holds them; nothing answers yet).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let during = rss_kib(pid);
    let mut release = Vec::with_capacity(WAITERS);
    let mut round_trip = Vec::with_capacity(WAITERS);
    let mut sent_at = Vec::with_capacity(WAITERS);
    let started = Instant::now();
    for (n, id) in ids.iter().enumerate() {
        let due = started + Duration::from_millis(20 * n as u64);
        tokio::time::sleep_until(due.into()).await;
        let sent = Instant::now();
        post(
            &http,
            &format!("{url}/v1/approvals/{id}/decision"),
            OPERATOR,
            json!({"decision": "approve", "reason": "bench", "version": 1}),
        )
        .await?;
        round_trip.push(ms(sent.elapsed()));
        sent_at.push(sent);
    }
    for (w, sent) in waiters.into_iter().zip(&sent_at) {
        let at = w.await.map_err(|e| e.to_string())??;
        release.push(ms(at.saturating_duration_since(*sent)));
    }
    release.sort_by(f64::total_cmp);
    round_trip.sort_by(f64::total_cmp);
    println!(
        "{WAITERS} long polls waiting at once, one per escalation, decided one by one at 50/s:"
    );
    println!(
        "  decision sent → its waiter answered  p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms  (target p99 <= 100 ms: {})",
        pct(&release, 0.5),
        pct(&release, 0.99),
        pct(&release, 1.0),
        if pct(&release, 0.99) <= 100.0 {
            "PASS"
        } else {
            "MISS"
        }
    );
    println!(
        "  the decision's own round trip        p50 {:.2} ms  p99 {:.2} ms  (the floor)",
        pct(&round_trip, 0.5),
        pct(&round_trip, 0.99)
    );
    println!(
        "  server VmRSS {before} KiB idle -> {during} KiB with {WAITERS} polls waiting: {:.1} KiB per waiting poll",
        (during.saturating_sub(before)) as f64 / WAITERS as f64
    );

    // One item, every waiter on it.
    let id = raise(&http, &url, &agent, "one item, many waiters").await?;
    let waiters: Vec<_> = (0..WAITERS).map(|_| waiter(&http, &url, &id)).collect();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let sent = Instant::now();
    post(
        &http,
        &format!("{url}/v1/approvals/{id}/decision"),
        OPERATOR,
        json!({"decision": "approve", "reason": "bench", "version": 1}),
    )
    .await?;
    let decided = ms(sent.elapsed());
    let mut last = 0.0f64;
    let mut all = Vec::new();
    for w in waiters {
        let at = w.await.map_err(|e| e.to_string())??;
        let t = ms(at.saturating_duration_since(sent));
        last = last.max(t);
        all.push(t);
    }
    all.sort_by(f64::total_cmp);
    println!(
        "one escalation, {WAITERS} waiters: decision round trip {decided:.2} ms; waiters answered p50 {:.2} ms, last {last:.2} ms after it was sent",
        pct(&all, 0.5)
    );
    Ok(())
}

/// `opsdeck escalate --wait` exits after the approving keypress in a console.
async fn gate_after_keypress(dir: &Path) -> R<()> {
    let server = start(dir).await?;
    let url = server.url.clone();
    let home = dir.join("console-home");
    std::fs::create_dir_all(&home).map_err(|e| e.to_string())?;
    let mut times = Vec::new();
    for n in 0..5 {
        let summary = format!("gate bench {n}");
        let mut gate = Command::new(BIN)
            .args([
                "escalate",
                "--category",
                "scope_change",
                "--summary",
                &summary,
                "--wait",
                "5m",
                "--domain",
                "platform",
                "--connect",
                &url,
                "-o",
                "json",
            ])
            .env("OPSDECK_TOKEN", AGENT)
            .env("XDG_CONFIG_HOME", home.join("gate-config"))
            .env("XDG_STATE_HOME", home.join("gate-state"))
            .env_remove("OPSDECK_CONTEXT")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        let mut console = Pty::spawn(
            BIN,
            &["--connect", &url],
            120,
            36,
            &home,
            &[("OPSDECK_TOKEN", OPERATOR)],
        );
        console.wait_for("pending", Duration::from_secs(30));
        console.send("5");
        console.wait_for("Approvals ·", Duration::from_secs(10));
        console.send("/");
        console.send(&summary);
        console.send("\r");
        console.wait_for(&format!("filter /{summary}"), Duration::from_secs(10));
        console.send("a");
        console.wait_for("reason (required)", Duration::from_secs(10));
        console.send("go ahead");
        console.send("\r");
        console.wait_for("Confirm?", Duration::from_secs(10));
        let pressed = Instant::now();
        console.send("y");
        let exit = tokio::task::spawn_blocking(move || {
            let status = gate.wait();
            (status, Instant::now())
        })
        .await
        .map_err(|e| e.to_string())?;
        let (status, at) = exit;
        let code = status.map_err(|e| e.to_string())?.code();
        if code != Some(0) {
            return Err(format!("the gate exited {code:?}"));
        }
        times.push(ms(at.saturating_duration_since(pressed)));
        console.send("q");
        console.kill();
    }
    times.sort_by(f64::total_cmp);
    println!(
        "approving keypress in a console → `opsdeck escalate --wait` exited: {} ms (median {:.1} ms; target <= 1000 ms: {})",
        times
            .iter()
            .map(|t| format!("{t:.1}"))
            .collect::<Vec<_>>()
            .join(", "),
        pct(&times, 0.5),
        if times.iter().all(|t| *t <= 1000.0) {
            "PASS"
        } else {
            "MISS"
        }
    );
    Ok(())
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let result = runtime.block_on(async {
        check_open_files()?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let only = std::env::var("BENCH_ONLY").unwrap_or_default();
        if only.is_empty() || only == "polls" {
            long_polls(&dir.path().join("polls")).await?;
        }
        if only.is_empty() || only == "gate" {
            gate_after_keypress(&dir.path().join("gate")).await?;
        }
        R::Ok(())
    });
    if let Err(e) = result {
        eprintln!("waiters bench: {e}");
        std::process::exit(1);
    }
}
