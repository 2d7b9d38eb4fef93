//! The console's cost on the wire and on the CPU, measured in a real pseudo-terminal at 120×36.
//!
//! (a) a store whose fleet is stopped: after the first frame only clock changes may be written;
//! (b) the live demo fleet on the real clock; and htop in the same terminal for comparison;
//! plus the time from start to the first complete frame on a demo store, and the CPU each redrawn
//! frame costs at 120×36 and 300×80 beside htop and btop.
//! `BENCH_SECONDS` shortens the 60-second windows for a quick look; `BENCH_ONLY=frames` runs
//! only the CPU per frame beside htop and btop.

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
    let cpu0 = cpu_ns(pid);
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(seconds()));
    let elapsed = start.elapsed().as_secs_f64();
    let bytes = pty.bytes.load(Ordering::Relaxed) - bytes0;
    let cpu = (cpu_ns(pid) - cpu0) as f64 / 1e9;
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

/// CPU time of every thread of a process so far, in nanoseconds (the scheduler's own count in
/// `/proc/PID/task/*/schedstat`, finer than the 10 ms ticks of `stat`).
fn cpu_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(|t| t.ok())
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// How often the bench presses a key while it counts frames.
const KEY_EVERY: Duration = Duration::from_millis(100);

/// CPU per redrawn frame: `program` in a `cols`×`rows` terminal for a window of `seconds()`,
/// with `keys` pressed in turn every `KEY_EVERY` so that each press asks for a new frame; its
/// CPU time over the frames it drew (bursts of output after a silence), and the frames.
fn per_frame(
    program: &str,
    args: &[&str],
    size: (u16, u16),
    home: &Path,
    ready: &str,
    (setup, keys): (&str, &[&str]),
) -> (f64, u64) {
    let mut pty = Pty::spawn(program, args, size.0, size.1, home, &[]);
    pty.wait_for(ready, Duration::from_secs(60));
    pty.send(setup);
    std::thread::sleep(Duration::from_secs(3));
    let pid = pty.pid().expect("a pid");
    let frames0 = pty.bursts.load(Ordering::Relaxed);
    let cpu0 = cpu_ns(pid);
    let end = Instant::now() + Duration::from_secs(seconds());
    for key in keys.iter().cycle() {
        if Instant::now() >= end {
            break;
        }
        pty.send(key);
        std::thread::sleep(KEY_EVERY);
    }
    let frames = pty.bursts.load(Ordering::Relaxed) - frames0;
    let cpu_ms = (cpu_ns(pid) - cpu0) as f64 / 1e6;
    (cpu_ms / frames.max(1) as f64, frames)
}

/// What `per_frame` runs: a label, the program and its arguments, the text that says it is
/// ready, a key pressed first and the keys that redraw it.
type Run<'a> = (
    &'a str,
    &'a str,
    Vec<&'a str>,
    &'a str,
    (&'a str, &'a [&'a str]),
);

/// The console's CPU per frame beside htop's and btop's, at two sizes, in one run: each is
/// driven by keys that redraw it (the console switching between the overview and a pane, every
/// cell changing; htop and btop moving their process selection).
fn frames_beside_peers(home: &Path, stopped: &str) {
    let btop = ensure_tool("btop");
    println!(
        "\nCPU per redrawn frame ({}s windows, a key every {} ms; frames = bursts of output):",
        seconds(),
        KEY_EVERY.as_millis()
    );
    println!(
        "{:<52} {:>16} {:>16}",
        "program", "120×36 ms (n)", "300×80 ms (n)"
    );
    const DOWN_UP: &[&str] = &["\x1b[B", "\x1b[A"];
    let live = home.join("frames-live.db");
    let live = live.to_str().unwrap();
    let mut runs: Vec<Run> = vec![
        (
            "opsdeck, fleet stopped: overview ⇄ agents (1, 2)",
            BIN,
            vec!["--store", stopped, "--no-demo"],
            "pending",
            ("", &["2", "1"]),
        ),
        (
            "opsdeck, fleet stopped: approvals selection (j, k)",
            BIN,
            vec!["--store", stopped, "--no-demo"],
            "pending",
            ("5", &["j", "k"]),
        ),
        (
            "opsdeck, live demo: overview ⇄ agents (1, 2)",
            BIN,
            vec!["--store", live],
            "pending",
            ("", &["2", "1"]),
        ),
        (
            "htop (default settings): selection (↓, ↑)",
            "htop",
            vec![],
            "PID",
            ("", DOWN_UP),
        ),
    ];
    if btop {
        runs.push((
            "btop (default settings): selection (↓, ↑)",
            "btop",
            vec![],
            "cpu",
            ("", DOWN_UP),
        ));
    }
    let mut figures = Vec::new();
    for (label, program, args, ready, keys) in &runs {
        let small = per_frame(program, args, (120, 36), home, ready, *keys);
        let large = per_frame(program, args, (300, 80), home, ready, *keys);
        println!(
            "{:<52} {:>9.3} ({:>4}) {:>9.3} ({:>4})",
            label, small.0, small.1, large.0, large.1
        );
        figures.push((small.0, large.0));
    }
    let htop = figures[3];
    let verdict = |(small, large): (f64, f64)| {
        if small <= htop.0 && large <= htop.1 {
            "PASS"
        } else {
            "MISS"
        }
    };
    // Like for like: a selection moving in a list, as htop's and btop's frames here.
    println!(
        "target: a selection frame (fleet stopped) ≤ htop's at both sizes: {}",
        verdict(figures[1])
    );
    // The heavier case: a pane switch changes every cell of the screen.
    println!(
        "target: a full-screen pane switch (fleet stopped) ≤ htop's selection frame at both sizes: {}",
        verdict(figures[0])
    );
}

fn ensure_tool(tool: &str) -> bool {
    if Command::new(tool).arg("--version").output().is_ok() {
        return true;
    }
    eprintln!("{tool} is missing; installing it from Debian for the comparison");
    let _ = Command::new("apt-get")
        .args(["install", "-y", "-qq", tool])
        .status();
    Command::new(tool).arg("--version").output().is_ok()
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

fn main() {
    // `cargo bench` passes --bench; nothing else is expected.
    let home = tempfile::tempdir().unwrap();
    if std::env::var("BENCH_ONLY").as_deref() == Ok("frames") {
        frames_beside_peers(home.path(), &stopped_store(home.path()));
        return;
    }
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
    if ensure_tool("htop") {
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
    frames_beside_peers(home.path(), &stopped);
    let ms = first_frame_ms(home.path(), &demo);
    println!(
        "start to first complete frame (demo store, median of 7): {ms:.1} ms; target < 100 ms: {}",
        verdict(ms < 100.0)
    );
}
