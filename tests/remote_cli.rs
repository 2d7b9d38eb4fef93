//! The command line against a running server: `--connect`, `--context`, `token new`, `serve`
//! itself, `doctor` on a context, and the demo fleet joining over the agent endpoints.

use std::path::Path;
use std::process::{Output, Stdio};

use crate::support::orchestrator::{ALICE, FLEET, VIEWER, seeded_store, serve, server_config};
use serde_json::Value;

fn opsdeck(dir: &Path, args: &[&str]) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_opsdeck"));
    cmd.args(args)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("HOME", dir)
        .env("USER", "tester")
        .env_remove("OPSDECK_STORE")
        .env_remove("OPSDECK_CONFIG")
        .env_remove("OPSDECK_TOKEN")
        .env_remove("OPSDECK_URL")
        .env_remove("OPSDECK_CONTEXT")
        .stdin(Stdio::null());
    cmd
}

/// `opsdeck ARGS --connect URL -o json` with `token` in OPSDECK_TOKEN.
fn connected(dir: &Path, url: &str, args: &[&str], token: &str) -> std::process::Command {
    let mut cmd = opsdeck(dir, args);
    cmd.args(["--connect", url, "-o", "json"])
        .env("OPSDECK_TOKEN", token);
    cmd
}

/// Runs a command off the async runtime (the server lives on it).
async fn run(mut cmd: std::process::Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_and_acting_over_connect_and_a_context() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(&seeded_store(dir.path()), &server_config(), "127.0.0.1:0").await;
    let url = server.url();
    let connect = |args: &[&str], token: &str| connected(dir.path(), &url, args, token);
    let approvals = run(connect(&["approvals", "--state", "pending"], ALICE)).await;
    assert!(approvals.status.success(), "{}", text(&approvals));
    let list: Value = serde_json::from_slice(&approvals.stdout).unwrap();
    let id = list[0]["id"].as_str().unwrap().to_string();

    // A viewer is refused (exit 3); alice approves without naming a version (a script); the
    // second approval of the same item is refused as already decided (exit 3).
    let viewer = run(connect(
        &["approve", &id, "--reason", "looks right"],
        VIEWER,
    ))
    .await;
    assert_eq!(viewer.status.code(), Some(3), "{}", text(&viewer));
    let approve = run(connect(&["approve", &id, "--reason", "looks right"], ALICE)).await;
    assert!(approve.status.success(), "{}", text(&approve));
    let again = run(connect(&["approve", &id, "--reason", "twice"], ALICE)).await;
    assert_eq!(again.status.code(), Some(3), "{}", text(&again));
    assert!(
        text(&again).contains("already approved"),
        "{}",
        text(&again)
    );

    let search = run(connect(&["audit", "search", &id, "type:decision"], ALICE)).await;
    assert!(search.status.success(), "{}", text(&search));
    let records: Value = serde_json::from_slice(&search.stdout).unwrap();
    assert_eq!(records[0]["agent_id"], "operator:alice");
    let bad = run(connect(&["audit", "search", "domain:"], ALICE)).await;
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    assert!(text(&bad).contains("column"), "{}", text(&bad));

    // Local-only commands say so instead of doing something surprising.
    let verify = run(connect(&["audit", "verify"], ALICE)).await;
    assert_eq!(verify.status.code(), Some(2));
    assert!(text(&verify).contains("local store"), "{}", text(&verify));
    let no_token = run({
        let mut cmd = opsdeck(dir.path(), &["agents", "--connect", &url]);
        cmd.env_remove("OPSDECK_TOKEN");
        cmd
    })
    .await;
    assert_eq!(no_token.status.code(), Some(2));
    assert!(text(&no_token).contains("--token"), "{}", text(&no_token));
    let bad_token = run(connect(&["agents"], "opsd_nobody")).await;
    assert_eq!(bad_token.status.code(), Some(3), "{}", text(&bad_token));
    assert!(text(&bad_token).contains("token"), "{}", text(&bad_token));

    // The same through a context whose token lives in a file; read_only on the context holds.
    std::fs::write(dir.path().join("prod.token"), format!("{ALICE}\n")).unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[[contexts]]\nname = \"prod\"\nurl = \"{url}\"\ntoken_file = \"{}\"\nread_only = true\n",
            dir.path().join("prod.token").display()
        ),
    )
    .unwrap();
    let via_context = |args: &[&str]| {
        let mut cmd = opsdeck(dir.path(), args);
        cmd.args(["--context", "prod", "--config"])
            .arg(&config)
            .args(["-o", "json"]);
        cmd
    };
    let agents = run(via_context(&["agents"])).await;
    assert!(agents.status.success(), "{}", text(&agents));
    let list: Value = serde_json::from_slice(&agents.stdout).unwrap();
    assert!(list.as_array().unwrap().len() >= 30);
    let refused = run(via_context(&["incident", "note", "INC-1", "--note", "hi"])).await;
    assert_eq!(refused.status.code(), Some(3), "{}", text(&refused));
    let unknown = run({
        let mut cmd = opsdeck(dir.path(), &["agents", "--context", "dev", "--config"]);
        cmd.arg(&config);
        cmd
    })
    .await;
    assert_eq!(unknown.status.code(), Some(2));
    assert!(text(&unknown).contains("known: prod"), "{}", text(&unknown));

    // doctor asks the context who its token belongs to.
    let doctor = run(via_context(&["doctor"])).await;
    let report = text(&doctor);
    assert!(
        report.contains("alice") && report.contains("test-orchestrator"),
        "{report}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_fleet_joins_a_remote_orchestrator_as_agents() {
    let dir = tempfile::tempdir().unwrap();
    // An empty store on the real clock: nothing but what the agents bring.
    let store = dir.path().join("empty.db");
    let server = serve(&store, &server_config(), "127.0.0.1:0").await;
    let mut cmd = opsdeck(
        dir.path(),
        &[
            "demo",
            "run",
            "--duration",
            "4s",
            "--agent-token",
            FLEET,
            "-o",
            "json",
        ],
    );
    cmd.args(["--connect", &server.url()]);
    let output = run(cmd).await;
    assert!(output.status.success(), "{}", text(&output));
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["agents"], 36, "{summary}");
    assert!(summary["totals"]["commands"].as_u64().unwrap() > 36);

    // An operator token is not an agent token.
    let mut cmd = opsdeck(
        dir.path(),
        &["demo", "run", "--duration", "1s", "--agent-token", ALICE],
    );
    cmd.args(["--connect", &server.url()]);
    let refused = run(cmd).await;
    assert_eq!(refused.status.code(), Some(1));
    assert!(text(&refused).contains("agent token"), "{}", text(&refused));
    server.stop().await;
}

#[test]
fn token_new_prints_the_token_alone_then_the_config_lines() {
    let dir = tempfile::tempdir().unwrap();
    let output = opsdeck(
        dir.path(),
        &["token", "new", "alice", "--role", "lead:platform"],
    )
    .output()
    .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    let token = stdout.lines().next().unwrap();
    assert!(token.starts_with("opsd_") && !token.contains(' '));
    assert!(
        !stdout[token.len()..].contains(token),
        "the token appears once, alone"
    );
    let hash = opsdeck::config::server::token_hash(token);
    // The printed lines are a working server config.
    let config = opsdeck::config::Config::parse(&stdout[token.len()..]).unwrap();
    assert_eq!(config.server.operators[0].token_sha256, hash);
    assert_eq!(config.server.operators[0].role.to_string(), "lead:platform");

    let agent = opsdeck(dir.path(), &["token", "new", "fleet", "--agent"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(agent.stdout).unwrap();
    assert!(stdout.contains("[[server.agents]]"));
    for bad in [
        &["token", "new", "alice"][..],
        &["token", "new", "alice", "--role", "admin"],
        &["token", "new", "al ice", "--agent"],
    ] {
        let output = opsdeck(dir.path(), bad).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{bad:?}");
    }
}

#[test]
fn serve_refuses_a_bad_listen_address_and_a_missing_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.db");
    let store = store.to_str().unwrap();
    let output = opsdeck(
        dir.path(),
        &["serve", "--store", store, "--listen", "nowhere:99999"],
    )
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output).contains("cannot listen on nowhere:99999"),
        "{}",
        text(&output)
    );
    let output = opsdeck(
        dir.path(),
        &[
            "serve",
            "--store",
            store,
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            "/nope.pem",
            "--tls-key",
            "/nope.key",
        ],
    )
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output).contains("TLS"), "{}", text(&output));
    let bad_config = dir.path().join("c.toml");
    std::fs::write(
        &bad_config,
        "[[server.operators]]\nname = \"a\"\nrole = \"enterprise\"\ntoken_sha256 = \"xyz\"\n",
    )
    .unwrap();
    let output = opsdeck(dir.path(), &["serve", "--store", store, "--config"])
        .arg(&bad_config)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output).contains("64 hex"), "{}", text(&output));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sensitive_details_stay_withheld_over_connect_until_a_reveal() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded_store(dir.path());
    crate::support::orchestrator::sensitive_escalation(
        &crate::support::orchestrator::StoreAt::File(store.clone()),
        "platform",
    );
    let server = serve(&store, &server_config(), "127.0.0.1:0").await;
    let url = server.url();
    let connect = |args: &[&str], token: &str| connected(dir.path(), &url, args, token);
    let found = run(connect(&["audit", "search", "class:sensitive"], VIEWER)).await;
    assert!(found.status.success(), "{}", text(&found));
    let records: Value = serde_json::from_slice(&found.stdout).unwrap();
    let record = &records[0];
    assert_eq!(record["redacted"], true, "{record}");
    assert_eq!(record["details"]["context"], "");
    let seq = record["seq"].as_u64().unwrap().to_string();
    // The viewer may not reveal; alice may, and gets the record whole.
    let refused = run(connect(&["audit", "reveal", &seq], VIEWER)).await;
    assert_eq!(refused.status.code(), Some(3), "{}", text(&refused));
    let shown = run(connect(&["audit", "reveal", &seq], ALICE)).await;
    assert!(shown.status.success(), "{}", text(&shown));
    let whole: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(
        whole["details"]["context"],
        "customer records of 12 accounts were exposed"
    );
    assert!(whole.get("redacted").is_none());
    // Export reads the local store only: over --connect it is refused, so nothing leaks there.
    let export = run(connect(&["audit", "export"], VIEWER)).await;
    assert!(!export.status.success(), "{}", text(&export));
    server.stop().await;
}
