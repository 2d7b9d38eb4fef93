//! How fast new trouble reaches the on-call engineer, and what calling costs while nothing happens.
//!
//! In a real pseudo-terminal at 120×36, the console (the release binary) with `[attention]` on
//! (its defaults, the quiet interval set to 0 s so that every trial rings):
//! - embedded on a store with no fleet: a SEV1 declared by `opsdeck incident declare` on the same
//!   store, from the moment that command exits (the incident is committed) to the bell (BEL) on
//!   the terminal; target ≤ 1 s;
//! - over `--connect` to an orchestrator served on loopback: a SEV1 declared through the HTTP API,
//!   from the moment the POST is sent (the commit is inside it, so this is an upper bound) to
//!   the bell; target ≤ 2 s. The event stream often rings the console before the POST's own
//!   answer is back;
//! - beside them, the floor of the path: a shell in the same kind of terminal that rings as soon
//!   as it reads a line (`read; printf '\a'`), from the line written to the bell;
//! - the idle console's bytes per second on both, attention on, over `BENCH_SECONDS` (default 30);
//!   target ≤ 50 B/s.

#[path = "../tests/support/pty.rs"]
mod pty;

use std::path::Path;
use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use opsdeck::config::server::{OperatorToken, token_hash};
use opsdeck::config::{Config, attention::AttentionConfig};
use opsdeck::engine::{Clock, Engine};
use opsdeck::link::{Remote, Target};
use opsdeck::model::{Role, Severity};
use opsdeck::orchestrator::Orchestrator;
use opsdeck::protocol::{Command as Cmd, DeclareIncident};
use opsdeck::server::{Server, ServerConfig};
use opsdeck::store::Store;
use pty::Pty;

const BIN: &str = env!("CARGO_BIN_EXE_opsdeck");
const TOKEN: &str = "opsd_bench_enterprise_operator";
const TRIALS: usize = 10;
const LIMIT: Duration = Duration::from_secs(30);

fn seconds() -> u64 {
    std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30)
}

/// A config that rings on every new item (no quiet interval) and binds this OS user to an
/// enterprise operator.
fn config(home: &Path) -> String {
    let path = home.join("bench.toml");
    let user = Command::new("id").arg("-un").output().unwrap().stdout;
    let user = String::from_utf8(user).unwrap();
    std::fs::write(
        &path,
        format!(
            "[attention]\nmin_interval = \"0s\"\n\n[[operators]]\nname = \"bench\"\nos_user = \"{}\"\nrole = \"enterprise\"\n",
            user.trim()
        ),
    )
    .unwrap();
    assert_eq!(AttentionConfig::default().signal.len(), 5);
    path.to_str().unwrap().to_string()
}

/// Waits for the bell after `seen` bells, and returns when it reached the terminal.
fn next_bell(pty: &Pty, seen: usize) -> Instant {
    let start = Instant::now();
    loop {
        if let Some(at) = pty.bells().get(seen) {
            return *at;
        }
        assert!(
            start.elapsed() < LIMIT,
            "no bell; screen:\n{}",
            pty.screen()
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

struct Stats {
    label: String,
    samples: Vec<f64>,
}

impl Stats {
    fn print(&self) {
        let mut s = self.samples.clone();
        s.sort_by(f64::total_cmp);
        let at = |q: f64| s[((s.len() - 1) as f64 * q).round() as usize];
        println!(
            "{:<46} {:>8.1} {:>8.1} {:>8.1} {:>8.1}",
            self.label,
            s[0],
            at(0.5),
            at(0.9),
            s[s.len() - 1]
        );
    }
}

fn idle_bytes_per_s(pty: &Pty) -> f64 {
    // The first frame and start-up settle first.
    std::thread::sleep(Duration::from_secs(2));
    let before = pty.bytes.load(Ordering::Relaxed);
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(seconds()));
    (pty.bytes.load(Ordering::Relaxed) - before) as f64 / start.elapsed().as_secs_f64()
}

fn embedded(home: &Path, config: &str) -> (Stats, f64) {
    let store = home.join("embedded.db");
    let store = store.to_str().unwrap();
    let pty = Pty::spawn(
        BIN,
        &["--store", store, "--no-demo", "--config", config],
        120,
        36,
        home,
        &[("TMUX", "")],
    );
    pty.wait_for("nothing needs you", LIMIT);
    let idle = idle_bytes_per_s(&pty);
    let mut samples = Vec::new();
    for n in 0..TRIALS {
        let seen = pty.bells().len();
        let out = Command::new(BIN)
            .args(["--store", store, "--config", config, "incident", "declare"])
            .args(["--severity", "SEV1", "--domain", "product"])
            .args(["--title", &format!("bench trial {n}")])
            .env("HOME", home)
            .env("XDG_CONFIG_HOME", home.join("xdg_config_home"))
            .output()
            .unwrap();
        let committed = Instant::now();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        samples.push(millis(next_bell(&pty, seen) - committed));
        // Trials land at different points of the console's and the engine's seconds.
        std::thread::sleep(Duration::from_millis(370));
    }
    let label = "embedded: committed → bell (ms)".to_string();
    (Stats { label, samples }, idle)
}

fn remote(home: &Path, config: &str) -> (Stats, f64) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let store = home.join("served.db");
    let engine = Engine::open(
        Store::open(&store).unwrap(),
        Config::default(),
        Clock::System,
        None,
    )
    .unwrap();
    let server_config = ServerConfig {
        operators: vec![OperatorToken {
            name: "bench".into(),
            role: Role::Enterprise,
            token_sha256: token_hash(TOKEN),
        }],
        ..ServerConfig::default()
    };
    let server: Server = runtime
        .block_on(Server::start(
            Orchestrator::start(engine, None),
            &server_config,
            "127.0.0.1:0",
            None,
        ))
        .unwrap();
    let url = server.url();
    let pty = Pty::spawn(
        BIN,
        &["--connect", &url, "--config", config],
        120,
        36,
        home,
        &[("OPSDECK_TOKEN", TOKEN), ("TMUX", "")],
    );
    pty.wait_for("nothing needs you", LIMIT);
    let idle = idle_bytes_per_s(&pty);
    let target = Target {
        context: None,
        url: url.clone(),
        also: Vec::new(),
        token: TOKEN.into(),
        read_only: false,
    };
    let link = runtime
        .block_on(Remote::connect(&target, false))
        .expect("the bench's own link");
    let mut samples = Vec::new();
    for n in 0..TRIALS {
        let seen = pty.bells().len();
        let sent = Instant::now();
        runtime
            .block_on(link.send(Cmd::DeclareIncident(DeclareIncident {
                severity: Severity::Sev1,
                title: format!("bench trial {n}"),
                domain: "product".into(),
            })))
            .unwrap();
        samples.push(millis(next_bell(&pty, seen) - sent));
        std::thread::sleep(Duration::from_millis(370));
    }
    drop(pty);
    let label = "--connect: POST sent → bell (ms)".to_string();
    (Stats { label, samples }, idle)
}

/// The floor: a shell that rings as soon as it reads a line, in the same kind of terminal.
fn floor(home: &Path) -> Stats {
    let mut samples = Vec::new();
    for _ in 0..TRIALS {
        let mut pty = Pty::spawn(
            "sh",
            &["-c", "echo ready; read x; printf '\\a'; sleep 1"],
            120,
            36,
            home,
            &[],
        );
        pty.wait_for("ready", LIMIT);
        let sent = Instant::now();
        pty.send("\n");
        samples.push(millis(next_bell(&pty, 0) - sent));
    }
    let label = "floor: line to a shell → its bell (ms)".to_string();
    Stats { label, samples }
}

fn main() {
    let home = tempfile::tempdir().unwrap();
    let config = config(home.path());
    let (embedded, embedded_idle) = embedded(home.path(), &config);
    let (remote, remote_idle) = remote(home.path(), &config);
    let floor = floor(home.path());
    println!(
        "\n{:<46} {:>8} {:>8} {:>8} {:>8}",
        format!("time to the bell, {TRIALS} SEV1s each"),
        "min",
        "p50",
        "p90",
        "max"
    );
    embedded.print();
    remote.print();
    floor.print();
    println!("targets: embedded ≤ 1000 ms, --connect ≤ 2000 ms");
    println!(
        "\nidle console, attention on, {} s: embedded {embedded_idle:.1} B/s, --connect {remote_idle:.1} B/s (target ≤ 50)",
        seconds()
    );
}
