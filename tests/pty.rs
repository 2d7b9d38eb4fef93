//! End to end in a real pseudo-terminal: start the console, approve a pending item with a
//! reason, quit, and check with the CLI that it is decided and audited.

use std::process::Command;
use std::time::Duration;

use crate::support::pty::Pty;

const BIN: &str = env!("CARGO_BIN_EXE_opsdeck");
const LIMIT: Duration = Duration::from_secs(60);

fn cli(home: &std::path::Path, store: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let out = Command::new(BIN)
        .arg("--store")
        .arg(store)
        .args(args)
        .args(["-o", "json"])
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn approve_in_the_console_then_the_cli_sees_it_decided_and_audited() {
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("demo.db");
    cli(
        home.path(),
        &store,
        &["demo", "run", "--seed", "7", "--duration", "2h"],
    );
    let approvals = cli(home.path(), &store, &["approvals", "--state", "pending"]);
    let target = approvals
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["level"] != "executive" && a["quorum"] == 1)
        .expect("a pending item an enterprise operator can decide alone")["id"]
        .as_str()
        .unwrap()
        .to_string();

    let store_arg = store.to_str().unwrap();
    let config = home.path().join("erin.toml");
    std::fs::write(
        &config,
        format!(
            "[[operators]]\nname = \"erin\"\nos_user = \"{}\"\nrole = \"enterprise\"\n",
            crate::support::os_user()
        ),
    )
    .unwrap();
    let mut pty = Pty::spawn(
        BIN,
        &[
            "--store",
            store_arg,
            "--no-demo",
            "--config",
            config.to_str().unwrap(),
            "--as",
            "erin",
        ],
        120,
        36,
        home.path(),
        &[],
    );
    pty.wait_for("pending", LIMIT);
    assert!(
        pty.alternate_screen(),
        "the console runs on the alternate screen"
    );
    pty.send("5");
    pty.wait_for("Approvals ·", LIMIT);
    pty.send("/");
    pty.send(&target);
    pty.send("\r");
    pty.wait_for(&format!("filter /{target}"), LIMIT);
    pty.send("a");
    pty.wait_for("reason (required)", LIMIT);
    pty.send("fits this quarter's plan");
    pty.send("\r");
    pty.wait_for("Confirm?", LIMIT);
    pty.wait_for(&format!("approve {target} as erin, 1 of"), LIMIT);
    // Enter on the review decides nothing; only `y` does.
    pty.send("\r");
    pty.wait_for("press y to confirm", LIMIT);
    pty.send("y");
    pty.wait_for(&format!("{target} is approved"), LIMIT);
    pty.send("q");
    let status = pty.wait_exit(LIMIT);
    assert!(status.success(), "{status:?}");
    assert!(!pty.alternate_screen(), "the terminal is restored on quit");

    let decided = cli(home.path(), &store, &["approvals"]);
    let item = decided
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == target.as_str())
        .unwrap();
    assert_eq!(item["state"], "approved");
    assert_eq!(item["votes"][0]["by"], "operator:erin");
    assert_eq!(item["votes"][0]["reason"], "fits this quarter's plan");
    let trail = cli(
        home.path(),
        &store,
        &["audit", "search", &target, "type:decision"],
    );
    let record = trail
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["agent_id"] == "operator:erin")
        .expect("the decision is in the audit trail");
    assert_eq!(record["details"]["reasoning"], "fits this quarter's plan");
    let verify = cli(home.path(), &store, &["audit", "verify"]);
    assert!(verify["first_bad"].is_null());
}

#[test]
fn the_terminal_is_restored_on_sigterm() {
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("quiet.db");
    let store_arg = store.to_str().unwrap();
    let mut pty = Pty::spawn(
        BIN,
        &["--store", store_arg, "--no-demo"],
        100,
        30,
        home.path(),
        &[],
    );
    pty.wait_for("nothing awaits a decision", LIMIT);
    // Nothing in the config gives this OS user a role: the header says whose role it holds.
    pty.wait_for("(enterprise, demo default)", LIMIT);
    assert!(pty.alternate_screen());
    let pid = pty.pid().expect("a pid");
    let killed = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    pty.wait_exit(LIMIT);
    assert!(
        !pty.alternate_screen(),
        "SIGTERM leaves the alternate screen"
    );
}

#[test]
fn without_a_terminal_the_console_refuses_with_a_clear_message() {
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["--ephemeral", "--no-demo"])
        .env("HOME", home.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("needs a terminal"), "{err}");
    assert!(out.stdout.is_empty(), "no escape sequences on a pipe");
}

/// A new SEV1 on the orchestrator reaches a console over `--connect` as exactly one bell and
/// one desktop notification (OSC 9 and OSC 777), the title counts it, and the title is put
/// back on exit.
#[test]
fn a_new_sev1_rings_the_bell_and_notifies_exactly_once() {
    use crate::support::orchestrator::{ALICE, serve, server_config, target};
    use opsdeck::link::Remote;
    use opsdeck::model::Severity;
    use opsdeck::protocol::{Command, DeclareIncident};

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("quiet.db");
    let server = runtime.block_on(serve(&store, &server_config(), "127.0.0.1:0"));
    let url = server.url();
    let mut pty = Pty::spawn(
        BIN,
        &["--connect", &url],
        120,
        36,
        home.path(),
        &[("OPSDECK_TOKEN", ALICE), ("TMUX", "")],
    );
    pty.wait_for("nothing needs you", LIMIT);
    assert!(pty.bells().is_empty(), "nothing new, nothing rings");
    runtime.block_on(async {
        let link = Remote::connect(&target(&url, ALICE), false).await.unwrap();
        link.send(Command::DeclareIncident(DeclareIncident {
            severity: Severity::Sev1,
            title: "checkout\x07 down\x1b]2;owned".into(),
            domain: "product".into(),
        }))
        .await
        .unwrap();
    });
    pty.wait_for("needs you: SEV1 INC-1", LIMIT);
    pty.wait_for("Needs me · 1 · 1 new", LIMIT);
    pty.send("q");
    let (status, raw) = pty.run_to_end(LIMIT);
    assert!(status.success(), "{status:?}");
    let count = |needle: &[u8]| raw.windows(needle.len()).filter(|w| *w == needle).count();
    assert_eq!(
        count(b"\x07"),
        1,
        "one bell, and no BEL from the agent's title"
    );
    assert_eq!(count(b"\x1b]9;"), 1, "one OSC 9 notification");
    assert_eq!(count(b"\x1b]777;notify;"), 1, "one OSC 777 notification");
    assert_eq!(
        count(b"\x1b]2;owned"),
        0,
        "the agent's title never sets the terminal's"
    );
    assert_eq!(count(b"\x1b]2;opsdeck \xc2\xb7 1 needs you\x1b\\"), 1);
    assert_eq!(count(b"\x1b[22;0t"), 1, "the terminal's title is saved");
    assert_eq!(count(b"\x1b[23;0t"), 1, "and put back");
}

/// One demo fleet per store: a second console on the same store shows the first one's fleet,
/// says so, and starts none of its own; the header marks the simulated colleagues in both.
#[test]
fn a_second_console_on_a_store_starts_no_second_demo_fleet() {
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("shared.db");
    let store = store.to_str().unwrap();
    let mut first = Pty::spawn(BIN, &["--store", store], 140, 36, home.path(), &[]);
    first.wait_for("pending", LIMIT);
    first.wait_for("◆ demo: sim:… are simulated", LIMIT);
    let holder = std::fs::read_to_string(format!("{store}.demo-lock")).unwrap();
    assert_eq!(Some(holder.trim().parse::<u32>().unwrap()), first.pid());
    let mut second = Pty::spawn(BIN, &["--store", store], 140, 36, home.path(), &[]);
    second.wait_for(
        &format!("already runs on this store in process {}", holder.trim()),
        LIMIT,
    );
    second.wait_for("◆ demo: sim:… are simulated", LIMIT);
    second.send("q");
    assert!(second.wait_exit(LIMIT).success());
    first.send("q");
    assert!(first.wait_exit(LIMIT).success());
    // With the first gone, the next console runs the fleet itself.
    let mut third = Pty::spawn(BIN, &["--store", store], 140, 36, home.path(), &[]);
    third.wait_for("◆ demo: sim:… are simulated", LIMIT);
    let holder = std::fs::read_to_string(format!("{store}.demo-lock")).unwrap();
    assert_eq!(Some(holder.trim().parse::<u32>().unwrap()), third.pid());
    third.send("q");
    assert!(third.wait_exit(LIMIT).success());
}
