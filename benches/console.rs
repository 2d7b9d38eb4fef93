//! The console's cost on the wire and on the CPU, measured in a real pseudo-terminal at 120×36.
//!
//! (a) a store whose fleet is stopped: after the first frame only clock changes may be written;
//! (b) the live demo fleet on the real clock; and htop in the same terminal for comparison;
//! plus the time from start to the first complete frame on a demo store.
//! `BENCH_SECONDS` shortens the 60-second windows for a quick look.

#[path = "../tests/support/pty.rs"]
mod pty;

use std::path::Path;
use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use pty::Pty;

const BIN: &str = env!("CARGO_BIN_EXE_opsdeck");
const COLS: u16 = 120;
const ROWS: u16 = 36;

fn seconds() -> u64 {
    std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60)
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let get = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    get(11) + get(12)
}

fn ticks_per_second() -> f64 {
    let out = Command::new("getconf").arg("CLK_TCK").output();
    out.ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

struct Figures {
    label: String,
    bytes_per_s: f64,
    cpu_percent: f64,
}

/// Starts `program`, waits for `ready` on screen, then measures a window of `seconds`.
fn measure(label: &str, program: &str, args: &[&str], home: &Path, ready: &str) -> Figures {
    let pty = Pty::spawn(program, args, COLS, ROWS, home, &[]);
    pty.wait_for(ready, Duration::from_secs(60));
    // Let the first frame and any start-up settle before the window opens.
    std::thread::sleep(Duration::from_secs(2));
    let pid = pty.pid().expect("a pid");
    let bytes0 = pty.bytes.load(Ordering::Relaxed);
    let cpu0 = cpu_ticks(pid);
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(seconds()));
    let elapsed = start.elapsed().as_secs_f64();
    let bytes = pty.bytes.load(Ordering::Relaxed) - bytes0;
    let cpu = (cpu_ticks(pid) - cpu0) as f64 / ticks_per_second();
    Figures {
        label: label.to_string(),
        bytes_per_s: bytes as f64 / elapsed,
        cpu_percent: cpu / elapsed * 100.0,
    }
}

fn demo_store(home: &Path, name: &str, hours: &str) -> String {
    let path = home.join(name);
    let status = Command::new(BIN)
        .args([
            "--store",
            path.to_str().unwrap(),
            "demo",
            "run",
            "--seed",
            "7",
            "--duration",
            hours,
            "-o",
            "json",
        ])
        .env("HOME", home)
        .env("XDG_STATE_HOME", home.join("state"))
        .stdout(std::process::Stdio::null())
        .status()
        .expect("demo run");
    assert!(status.success());
    path.to_str().unwrap().to_string()
}

/// A real-clock store with work in it, and then its fleet stopped.
fn stopped_store(home: &Path) -> String {
    let path = home.join("stopped.db");
    let store = path.to_str().unwrap().to_string();
    let mut pty = Pty::spawn(BIN, &["--store", &store], COLS, ROWS, home, &[]);
    pty.wait_for("pending", Duration::from_secs(60));
    std::thread::sleep(Duration::from_secs(8));
    pty.send("q");
    pty.wait_exit(Duration::from_secs(30));
    store
}

fn first_frame_ms(home: &Path, store: &str) -> f64 {
    let mut samples = Vec::new();
    for _ in 0..7 {
        let start = Instant::now();
        let mut pty = Pty::spawn(BIN, &["--store", store, "--no-demo"], COLS, ROWS, home, &[]);
        // The audit tail is the last section the overview draws.
        pty.wait_for("Audit tail", Duration::from_secs(30));
        samples.push(start.elapsed().as_secs_f64() * 1000.0);
        pty.send("q");
        pty.wait_exit(Duration::from_secs(30));
    }
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn ensure_htop() -> bool {
    if Command::new("htop").arg("--version").output().is_ok() {
        return true;
    }
    eprintln!("htop is missing; installing it from Debian for the comparison");
    let _ = Command::new("apt-get")
        .args(["install", "-y", "-qq", "htop"])
        .status();
    Command::new("htop").arg("--version").output().is_ok()
}

fn main() {
    // `cargo bench` passes --bench; nothing else is expected.
    let home = tempfile::tempdir().unwrap();
    let demo = demo_store(home.path(), "demo.db", "3h");
    let stopped = stopped_store(home.path());
    println!(
        "console in a {COLS}×{ROWS} pseudo-terminal, {}s windows",
        seconds()
    );
    let mut rows = vec![
        measure(
            "(a) fleet stopped, real clock",
            BIN,
            &["--store", &stopped, "--no-demo"],
            home.path(),
            "pending",
        ),
        measure(
            "(a) demo store, time frozen",
            BIN,
            &["--store", &demo, "--no-demo"],
            home.path(),
            "pending",
        ),
        measure(
            "(b) live demo fleet",
            BIN,
            &["--store", &home.path().join("live.db").to_string_lossy()],
            home.path(),
            "pending",
        ),
    ];
    if ensure_htop() {
        rows.push(measure(
            "htop (default settings)",
            "htop",
            &[],
            home.path(),
            "PID",
        ));
    } else {
        println!("htop could not be installed; no comparison row");
    }
    println!("{:<34} {:>12} {:>10}", "run", "bytes/s", "CPU %");
    for r in &rows {
        println!(
            "{:<34} {:>12.1} {:>10.2}",
            r.label, r.bytes_per_s, r.cpu_percent
        );
    }
    let verdict = |ok: bool| if ok { "PASS" } else { "MISS" };
    println!(
        "target (a) < 50 B/s: {}",
        verdict(rows[0].bytes_per_s < 50.0 && rows[1].bytes_per_s < 50.0)
    );
    println!(
        "target (b) < 2048 B/s and < 2 % CPU: {}",
        verdict(rows[2].bytes_per_s < 2048.0 && rows[2].cpu_percent < 2.0)
    );
    let ms = first_frame_ms(home.path(), &demo);
    println!(
        "start to first complete frame (demo store, median of 7): {ms:.1} ms; target < 100 ms: {}",
        verdict(ms < 100.0)
    );
}
