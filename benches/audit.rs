//! Audit search at scale: import rate, bytes per record, latency of the newest 50 results for
//! five kinds of query, beside rg and jq returning the same records from the same trail exported
//! as JSONL; and, in the console, keystroke to results on screen.
//!
//! Then the same queries as whole processes (`opsdeck audit search`), beside rg and
//! `tac | grep -F -m 50`, which reads the file from its end and stops at the 50th match.
//!
//! `BENCH_SIZES=1000000` (comma-separated) chooses the trail sizes; the default is 100 k, 1 M and
//! 5 M.
//! `OPSDECK_BENCH_DIR` chooses where the trails are written (the default is the temp dir; 10 M
//! records need about 17 GB at a time: the generated store is removed once exported). `BENCH_SKIP_JQ=1` leaves out the jq runs (minutes each at 10 M)
//! and prints `-` in their place.

#[path = "../tests/support/pty.rs"]
mod pty;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use opsdeck::store::Store;

const BIN: &str = env!("CARGO_BIN_EXE_opsdeck");
const RUNS: usize = 200;
const PROCESS_RUNS: usize = 15;

fn opsdeck(home: &Path, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .env("HOME", home)
        .env("XDG_STATE_HOME", home.join("state"))
        .output()
        .expect("opsdeck runs");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn ensure(tool: &str, package: &str) {
    if Command::new(tool).arg("--version").output().is_ok() {
        return;
    }
    eprintln!("{tool} is missing; installing {package} from Debian");
    let _ = Command::new("apt-get")
        .args(["install", "-y", "-qq", package])
        .status();
    assert!(
        Command::new(tool).arg("--version").output().is_ok(),
        "{tool} could not be installed"
    );
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

/// p50 and p99 in milliseconds of the newest 50 results over RUNS searches, and their ids,
/// newest first.
fn latency(
    store: &Store,
    query: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> (f64, f64, Vec<String>) {
    let filter = opsdeck::query::parse(query, now).expect("query parses");
    let mut samples = Vec::with_capacity(RUNS);
    let mut found = Vec::new();
    for _ in 0..RUNS {
        let start = Instant::now();
        found = store.search_audit(&filter, None, 50).unwrap();
        samples.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    samples.sort_by(f64::total_cmp);
    let ids = found.into_iter().map(|r| r.id).collect();
    (percentile(&samples, 0.5), percentile(&samples, 0.99), ids)
}

/// The ids of the JSONL lines a pipeline printed, newest first (the file is oldest first).
fn ids_of(lines: &str) -> Vec<String> {
    let mut ids: Vec<String> = lines
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|v| v["id"].as_str().map(str::to_string))
        .collect();
    ids.reverse();
    ids
}

/// Best wall time of `runs` runs of a shell pipeline that prints the newest 50 matches, and
/// the ids of the records it printed.
fn pipeline_ms(script: &str, runs: usize) -> (f64, Vec<String>) {
    let mut best = f64::MAX;
    let mut ids = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        let out = Command::new("sh")
            .arg("-c")
            .arg(script)
            .stderr(Stdio::null())
            .output()
            .unwrap();
        best = best.min(start.elapsed().as_secs_f64() * 1000.0);
        ids = ids_of(&String::from_utf8_lossy(&out.stdout));
    }
    (best, ids)
}

/// `opsdeck audit search` as a whole process, newest 50 as JSON: median and worst wall time of
/// PROCESS_RUNS runs after one to warm up (the first open of a new store checks every page once),
/// and the ids it printed, newest first.
fn process_ms(home: &Path, store: &str, query: &str) -> (f64, f64, Vec<String>) {
    let args = [
        "--store", store, "audit", "search", query, "--limit", "50", "-o", "json",
    ];
    opsdeck(home, &args);
    let mut samples = Vec::with_capacity(PROCESS_RUNS);
    let mut out = String::new();
    for _ in 0..PROCESS_RUNS {
        let start = Instant::now();
        out = opsdeck(home, &args);
        samples.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    samples.sort_by(f64::total_cmp);
    let records: Vec<serde_json::Value> = serde_json::from_str(&out).expect("a JSON array");
    let ids = records
        .iter()
        .filter_map(|r| r["id"].as_str().map(str::to_string))
        .collect();
    (samples[samples.len() / 2], samples[samples.len() - 1], ids)
}

struct Case {
    name: &'static str,
    query: &'static str,
    rg: String,
    /// The newest first straight from the end of the file: stops at the 50th match.
    tac: String,
    jq: &'static str,
}

fn cases(jsonl: &str) -> Vec<Case> {
    vec![
        Case {
            name: "word",
            query: "freeze",
            rg: format!("rg -F freeze {jsonl} | tail -50"),
            tac: format!("tac {jsonl} | grep -F -m 50 freeze"),
            jq: r#"select((.summary + " " + (.details|tostring)) | test("freeze"))"#,
        },
        Case {
            name: "phrase",
            query: "\"budget exception\"",
            rg: format!("rg -F 'budget exception' {jsonl} | tail -50"),
            tac: format!("tac {jsonl} | grep -F -m 50 'budget exception'"),
            jq: r#"select((.summary + " " + (.details|tostring)) | test("budget exception"))"#,
        },
        Case {
            name: "field",
            query: "agent:operator:kim",
            rg: format!("rg -F '\"agent_id\":\"operator:kim\"' {jsonl} | tail -50"),
            tac: format!("tac {jsonl} | grep -F -m 50 '\"agent_id\":\"operator:kim\"'"),
            jq: r#"select(.agent_id == "operator:kim")"#,
        },
        Case {
            name: "field + word",
            query: "domain:platform quota",
            rg: format!("rg -F '\"domain\":\"platform\"' {jsonl} | rg -F quota | tail -50"),
            tac: format!("tac {jsonl} | grep -F '\"domain\":\"platform\"' | grep -F -m 50 quota"),
            jq: r#"select(.domain == "platform" and ((.summary + " " + (.details|tostring)) | test("quota")))"#,
        },
        Case {
            name: "time window",
            query: "since:2026-10-01 until:2026-10-02",
            rg: format!("rg '\"timestamp\":\"2026-10-01T' {jsonl} | tail -50"),
            tac: format!("tac {jsonl} | grep -m 50 '\"timestamp\":\"2026-10-01T'"),
            jq: r#"select(.timestamp >= "2026-10-01" and .timestamp < "2026-10-02")"#,
        },
        // Combinations, where a poor plan would walk every match of one part.
        Case {
            name: "the question",
            query: "domain:platform \"budget exception\" since:2026-10-01 until:2026-10-08",
            rg: format!(
                "rg '\"timestamp\":\"2026-10-0[1-7]T' {jsonl} | rg -F '\"domain\":\"platform\"' \
                 | rg -F 'budget exception' | tail -50"
            ),
            tac: format!(
                "tac {jsonl} | grep '\"timestamp\":\"2026-10-0[1-7]T' | grep -F '\"domain\":\"platform\"' \\
                 | grep -F -m 50 'budget exception'"
            ),
            jq: r#"select(.domain == "platform" and .timestamp >= "2026-10-01" and .timestamp < "2026-10-08" and ((.summary + " " + (.details|tostring)) | test("budget exception")))"#,
        },
        Case {
            name: "word -word",
            query: "quota -budget",
            rg: format!("rg -F quota {jsonl} | rg -v -F budget | tail -50"),
            tac: format!("tac {jsonl} | grep -F quota | grep -v -F -m 50 budget"),
            jq: r#"select((.summary + " " + (.details|tostring)) as $t | ($t | test("quota")) and ($t | test("budget") | not))"#,
        },
        Case {
            name: "task + word",
            query: "task:T-5 quota",
            rg: format!("rg -F '\"T-5\"' {jsonl} | rg -F quota | tail -50"),
            tac: format!("tac {jsonl} | grep -F '\"T-5\"' | grep -F -m 50 quota"),
            jq: r#"select(any(.related_tasks[]; . == "T-5") and ((.summary + " " + (.details|tostring)) | test("quota")))"#,
        },
    ]
}

fn console_keystroke_ms(home: &Path, store: &str) -> f64 {
    let mut samples = Vec::new();
    let mut pty = pty::Pty::spawn(BIN, &["--store", store, "--no-demo"], 120, 36, home, &[]);
    pty.wait_for("Audit tail", Duration::from_secs(120));
    pty.send("6");
    pty.wait_for("Audit trail", Duration::from_secs(30));
    for (n, word) in ["freeze", "quota", "legacy", "rotation", "maintenance"]
        .iter()
        .enumerate()
    {
        pty.send("/");
        pty.send(&"\u{7f}".repeat(40));
        pty.send(word);
        let start = Instant::now();
        pty.send("\r");
        pty.wait_for(&format!("search {word} ·"), Duration::from_secs(30));
        if n > 0 {
            samples.push(start.elapsed().as_secs_f64() * 1000.0);
        }
    }
    pty.send("q");
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn main() {
    let skip_jq = std::env::var("BENCH_SKIP_JQ").is_ok_and(|v| !v.is_empty() && v != "0");
    ensure("rg", "ripgrep");
    if !skip_jq {
        ensure("jq", "jq");
    }
    let sizes: Vec<u64> = std::env::var("BENCH_SIZES")
        .unwrap_or_else(|_| "100000,1000000,5000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let root = std::env::var_os("OPSDECK_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    for size in sizes {
        let home = tempfile::tempdir_in(&root).unwrap();
        let h = home.path();
        let source = h.join("source.db");
        let jsonl = h.join("trail.jsonl");
        let imported = h.join("imported.db");
        println!("\n== {size} records");
        let t = Instant::now();
        opsdeck(
            h,
            &[
                "--store",
                source.to_str().unwrap(),
                "demo",
                "audit",
                "--records",
                &size.to_string(),
                "-o",
                "json",
            ],
        );
        println!(
            "generate (demo audit)        {:>10.1} s",
            t.elapsed().as_secs_f64()
        );
        let t = Instant::now();
        opsdeck(
            h,
            &[
                "--store",
                source.to_str().unwrap(),
                "audit",
                "export",
                // Whole records: a redacted one cannot join a trail on import.
                "--include-sensitive",
                "--output-file",
                jsonl.to_str().unwrap(),
            ],
        );
        println!(
            "export JSONL                 {:>10.1} s",
            t.elapsed().as_secs_f64()
        );
        // The generated store has served its purpose; its space is needed for the import.
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", source.display()));
        }
        let t = Instant::now();
        opsdeck(
            h,
            &[
                "--store",
                imported.to_str().unwrap(),
                "audit",
                "import",
                jsonl.to_str().unwrap(),
            ],
        );
        let secs = t.elapsed().as_secs_f64();
        println!(
            "import                       {:>10.0} records/s (target >= 50000) {}",
            size as f64 / secs,
            if size as f64 / secs >= 50_000.0 {
                "PASS"
            } else {
                "MISS"
            }
        );
        let bytes: u64 = ["", "-wal"]
            .iter()
            .filter_map(|s| std::fs::metadata(format!("{}{s}", imported.display())).ok())
            .map(|m| m.len())
            .sum();
        println!(
            "on disk                      {:>10.0} bytes/record (JSONL: {:.0})",
            bytes as f64 / size as f64,
            std::fs::metadata(&jsonl).unwrap().len() as f64 / size as f64
        );
        let store = Store::open(&imported).unwrap();
        let now: chrono::DateTime<chrono::Utc> = "2026-11-02T00:00:00Z".parse().unwrap();
        let target = if size <= 1_000_000 { 10.0 } else { 30.0 };
        println!(
            "{:<14} {:>9} {:>9} {:>6} {:>10} {:>10} {:>8} {:>8} {:>6}",
            "query", "p50 ms", "p99 ms", "found", "rg ms", "jq ms", "vs rg", "vs jq", "same"
        );
        let jsonl_s = jsonl.to_str().unwrap();
        for case in cases(jsonl_s) {
            let (p50, p99, found) = latency(&store, case.query, now);
            let (rg, rg_ids) = pipeline_ms(&case.rg, 3);
            // jq takes seconds a run; one run is enough to compare.
            let jq = (!skip_jq)
                .then(|| pipeline_ms(&format!("jq -c '{}' {jsonl_s} | tail -50", case.jq), 1));
            // The comparison only counts if rg and jq printed the very records opsdeck found.
            let same = rg_ids == found && jq.as_ref().is_none_or(|(_, ids)| *ids == found);
            let jq = jq.map(|(ms, _)| ms);
            let shown = |v: Option<f64>, digits: usize| {
                v.map_or("-".to_string(), |v| format!("{v:.digits$}"))
            };
            println!(
                "{:<14} {:>9.2} {:>9.2} {:>6} {:>10.0} {:>10} {:>7.0}× {:>7}× {:>6}  {}",
                case.name,
                p50,
                p99,
                found.len(),
                rg,
                shown(jq, 0),
                rg / p99,
                shown(jq.map(|jq| jq / p99), 0),
                if same { "yes" } else { "NO" },
                if same && p99 <= target && rg / p99 >= 5.0 && jq.is_none_or(|jq| jq / p99 >= 50.0)
                {
                    "PASS"
                } else {
                    "MISS"
                }
            );
        }
        println!(
            "as a whole process (`opsdeck audit search Q -o json`), beside rg and tac | grep \
             (newest first, stops at the 50th):"
        );
        println!(
            "{:<14} {:>9} {:>9} {:>9} {:>9} {:>8} {:>8} {:>6}",
            "query", "p50 ms", "max ms", "rg ms", "tac ms", "vs rg", "vs tac", "same"
        );
        let (mut all_fast, mut beats_rg) = (true, true);
        for case in cases(jsonl_s) {
            let (p50, max, printed) = process_ms(h, imported.to_str().unwrap(), case.query);
            let (rg, rg_ids) = pipeline_ms(&case.rg, 3);
            let (tac, mut tac_ids) = pipeline_ms(&case.tac, 3);
            // tac prints newest first already; `ids_of` turned it around.
            tac_ids.reverse();
            let same = printed == rg_ids && printed == tac_ids;
            all_fast &= same && max <= 10.0;
            beats_rg &= rg / p50 >= 2.0;
            println!(
                "{:<14} {:>9.2} {:>9.2} {:>9.1} {:>9.1} {:>7.1}× {:>7.1}× {:>6}",
                case.name,
                p50,
                max,
                rg,
                tac,
                rg / p50,
                tac / p50,
                if same { "yes" } else { "NO" },
            );
        }
        println!(
            "target every query ≤ 10 ms as a process: {}",
            if all_fast { "PASS" } else { "MISS" }
        );
        if size <= 100_000 {
            println!(
                "target ≥ 2× faster than rg at 100 k: {}",
                if beats_rg { "PASS" } else { "MISS" }
            );
        }
        if size <= 1_000_000 {
            let ms = console_keystroke_ms(h, imported.to_str().unwrap());
            println!(
                "console: keystroke to results {ms:.1} ms (target <= 50) {}",
                if ms <= 50.0 { "PASS" } else { "MISS" }
            );
        }
    }
}
