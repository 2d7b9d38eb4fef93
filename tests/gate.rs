//! `opsdeck escalate --wait` as a script runs it: a real process against a real `serve` on
//! loopback, whose exit code is the decision (0 approved, 3 rejected, 4 expired), through a
//! restart of the server in the middle of the wait.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use crate::support::orchestrator::{ALICE, FLEET, decide, get_json, seeded_store, server_config};
use opsdeck::server::Server;
use serde_json::{Value, json};

fn opsdeck(dir: &Path, url: &str, token: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_opsdeck"));
    cmd.args(args)
        .args(["--connect", url])
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("HOME", dir)
        .env("OPSDECK_TOKEN", token)
        .env_remove("OPSDECK_STORE")
        .env_remove("OPSDECK_CONFIG")
        .env_remove("OPSDECK_URL")
        .env_remove("OPSDECK_CONTEXT")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn gate(dir: &Path, url: &str, summary: &str, wait: &str) -> Child {
    opsdeck(
        dir,
        url,
        FLEET,
        &[
            "escalate",
            "--category",
            "scope_change",
            "--summary",
            summary,
            "--details",
            "the pipeline waits here",
            "--option",
            "deploy",
            "--option",
            "hold",
            "--session",
            "ci-run-7",
            "--wait",
            wait,
            "-o",
            "json",
        ],
    )
    .spawn()
    .unwrap()
}

async fn finish(child: Child) -> Output {
    tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap()
}

async fn engine_server(store: &Path, listen: &str, config: opsdeck::config::Config) -> Server {
    let engine = opsdeck::engine::Engine::open(
        opsdeck::store::Store::open(store).unwrap(),
        config,
        opsdeck::engine::Clock::System,
        None,
    )
    .unwrap();
    let orchestrator = opsdeck::orchestrator::Orchestrator::start(engine, None);
    Server::start(orchestrator, &server_config(), listen, None)
        .await
        .unwrap()
}

/// The pending escalation whose summary is `summary`, once the gate has raised it.
async fn raised(url: &str, summary: &str) -> String {
    for _ in 0..200 {
        let list: Value = get_json(&format!("{url}/v1/items/approvals?state=pending"), ALICE).await;
        if let Some(a) = list
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["summary"] == summary)
        {
            return a["id"].as_str().unwrap().to_string();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the gate never raised {summary:?}");
}

fn decision(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_exit_code_is_the_decision() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded_store(dir.path());
    let server = engine_server(&store, "127.0.0.1:0", opsdeck::config::Config::default()).await;
    let url = server.url();

    let child = gate(dir.path(), &url, "deploy 4.2", "2m");
    let id = raised(&url, "deploy 4.2").await;
    decide(
        &url,
        &id,
        "approve",
        "approved by the release lead",
        Some("deploy"),
    )
    .await;
    let out = finish(child).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let d = decision(&out);
    assert_eq!(d["state"], "approved");
    assert_eq!(d["chosen_option"], "deploy");
    assert_eq!(d["votes"][0]["by"], "operator:alice");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("{id} raised")), "{stderr}");
    assert!(
        stderr.contains(&format!("/v1/items/approvals/{id}")),
        "{stderr}"
    );

    let child = gate(dir.path(), &url, "deploy 4.3", "2m");
    let id = raised(&url, "deploy 4.3").await;
    decide(&url, &id, "reject", "rejectd by the release lead", None).await;
    let out = finish(child).await;
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(decision(&out)["state"], "rejected");
    assert_eq!(
        decision(&out)["votes"][0]["reason"],
        "rejectd by the release lead"
    );

    // The gate's agent was registered once, under the token's name, and is reused.
    let agents: Value = get_json(&format!("{url}/v1/agent/state"), FLEET).await;
    let gates: Vec<_> = agents["agents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["name"] == "fleet")
        .collect();
    assert_eq!(gates.len(), 1, "{agents}");

    // No decision within the wait: 4, with the item still pending.
    let out = finish(gate(dir.path(), &url, "deploy 4.4", "2s")).await;
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(decision(&out)["state"], "pending");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_escalation_exits_four() {
    let dir = tempfile::tempdir().unwrap();
    // A new store: the seeded one's clock is frozen at its end, so nothing would expire.
    let store = dir.path().join("fresh.db");
    let mut config = opsdeck::config::Config::default();
    config.approvals.expiry = chrono::Duration::seconds(2);
    let server = engine_server(&store, "127.0.0.1:0", config).await;
    let out = finish(gate(dir.path(), &server.url(), "deploy 5.0", "1m")).await;
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let d = decision(&out);
    assert_eq!(d["state"], "expired");
    assert_eq!(d["votes"], json!([]));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gate_waits_through_a_server_restart() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded_store(dir.path());
    let server = engine_server(&store, "127.0.0.1:0", opsdeck::config::Config::default()).await;
    let listen = server.addr().to_string();
    let url = server.url();
    let child = gate(dir.path(), &url, "migrate the orders table", "2m");
    let id = raised(&url, "migrate the orders table").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.stop().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let server = engine_server(&store, &listen, opsdeck::config::Config::default()).await;
    decide(&url, &id, "approve", "approved by the release lead", None).await;
    let out = finish(child).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(decision(&out)["state"], "approved");
    assert_eq!(decision(&out)["escalation_id"], id.as_str());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gate_refuses_what_cannot_work_before_sending() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], token: &str| {
        opsdeck(dir.path(), "http://127.0.0.1:9", token, args)
            .output()
            .unwrap()
    };
    let out = run(
        &["escalate", "--category", "lunch", "--summary", "x"],
        FLEET,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("scope_change"));
    let out = run(&["escalate", "--category", "scope_change"], FLEET);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--summary"));
    let out = run(
        &[
            "escalate",
            "--category",
            "scope_change",
            "--summary",
            "x",
            "--wait",
            "soon",
        ],
        FLEET,
    );
    assert_eq!(out.status.code(), Some(2));
    let out = run(
        &[
            "escalate",
            "APR-1",
            "--category",
            "scope_change",
            "--summary",
            "x",
        ],
        FLEET,
    );
    assert_eq!(out.status.code(), Some(2));
    // An operator token is not an agent's.
    let store = seeded_store(dir.path());
    let server = engine_server(&store, "127.0.0.1:0", opsdeck::config::Config::default()).await;
    let out = opsdeck(
        dir.path(),
        &server.url(),
        ALICE,
        &["escalate", "--category", "scope_change", "--summary", "x"],
    )
    .output()
    .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("agent token"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gate_waits_for_an_orchestrator_that_is_not_up_yet() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded_store(dir.path());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let child = gate(dir.path(), &url, "rotate the signing key", "1m");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let server = engine_server(
        &store,
        &format!("127.0.0.1:{port}"),
        opsdeck::config::Config::default(),
    )
    .await;
    let id = raised(&url, "rotate the signing key").await;
    decide(&url, &id, "approve", "approved by the release lead", None).await;
    let out = finish(child).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("trying again until the wait ends"),
        "{stderr}"
    );
    assert_eq!(decision(&out)["state"], "approved");
    server.stop().await;
}
