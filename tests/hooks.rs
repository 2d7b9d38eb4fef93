//! Claude Code's hooks against a real `serve`: golden request/response pairs for each hook
//! event (the requests are Claude Code's hook input, kept in tests/fixtures/claude-code/), and
//! the settings `opsdeck hooks print` writes, checked for what happens when opsdeck cannot be
//! reached.

use std::path::Path;

use opsdeck::config::policy::{Policy, PolicyConfig, RuleConfig, Verdict};
use serde_json::{Value, json};

use crate::support::orchestrator::{
    ALICE, FLEET, decide, get_json, seeded_store, serve, server_config,
};

fn policy() -> PolicyConfig {
    let rule = |tool: &str, decision: &str| RuleConfig {
        tool: tool.into(),
        decision: decision.into(),
    };
    PolicyConfig {
        default: "defer".into(),
        wait_s: 1,
        rules: vec![
            rule("Bash(git push:*)", "escalate(scope_change)"),
            rule("Bash(ls:*)", "allow"),
            rule("Edit(/etc/**)", "deny"),
            rule("mcp__github", "escalate(external_communication)"),
        ],
    }
}

fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/claude-code")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Ids that change from run to run, made stable: APR-12 → APR-N, agent-7 → agent-N.
fn stable(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = ["APR-", "agent-"]
        .iter()
        .filter_map(|p| rest.find(p).map(|i| (i, *p)))
        .min()
    {
        let (i, prefix) = at;
        out.push_str(&rest[..i + prefix.len()]);
        rest = &rest[i + prefix.len()..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 {
            out.push('N');
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

async fn hook(http: &reqwest::Client, url: &str, case: &str) -> Value {
    let response = http
        .post(format!(
            "{url}/v1/hooks/claude-code?agent=claude-dev&domain=platform"
        ))
        .bearer_auth(FLEET)
        .json(&fixture(&format!("{case}.request.json")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        200,
        "{case}: {}",
        response.text().await.unwrap()
    );
    let got: Value = response.json().await.unwrap();
    let want = fixture(&format!("{case}.response.json"));
    assert_eq!(
        serde_json::from_str::<Value>(&stable(&got.to_string())).unwrap(),
        want,
        "{case}"
    );
    got
}

/// The escalation id a hook's answer names.
fn escalation(answer: &Value) -> String {
    let text = answer.to_string();
    let at = text.find("APR-").expect("an escalation id");
    text[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_hook_event_gets_its_golden_answer() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = server_config();
    config.policy = policy();
    let server = serve(&seeded_store(dir.path()), &config, "127.0.0.1:0").await;
    let url = server.url();
    let http = reqwest::Client::new();
    hook(&http, &url, "session_start").await;
    hook(&http, &url, "pre_tool_use_allow").await;
    hook(&http, &url, "pre_tool_use_deny").await;
    hook(&http, &url, "pre_tool_use_defer").await;
    // Escalated: ask now, with the id; the permission dialog's hook waits for people.
    let asked = hook(&http, &url, "pre_tool_use_escalate").await;
    let id = escalation(&asked);
    let item: Value = get_json(&format!("{url}/v1/items/approvals/{id}"), ALICE).await;
    assert_eq!(item["origin"]["tool_call"]["name"], "Bash");
    assert_eq!(
        item["origin"]["tool_call"]["tool_use_id"],
        "toolu_01PuAAAAAAAAAAAAAAAAAAAA"
    );
    assert_eq!(
        item["origin"]["session"],
        "9f2c6d1e-3b7a-4c55-8e0f-1a2b3c4d5e6f"
    );
    assert_eq!(item["origin"]["policy_rule"], "Bash(git push:*)");
    decide(&url, &id, "approve", "release window is open", None).await;
    let allowed = hook(&http, &url, "permission_request_approved").await;
    assert_eq!(
        allowed["hookSpecificOutput"]["decision"]["behavior"],
        "allow"
    );
    // Without a user to ask (bypassPermissions): not yet is no, after the policy's wait.
    let denied = hook(&http, &url, "pre_tool_use_headless").await;
    let id = escalation(&denied);
    decide(
        &url,
        &id,
        "reject",
        "force-pushing main rewrites history",
        None,
    )
    .await;
    hook(&http, &url, "permission_request_rejected").await;
    // After the tool ran, and when the session stops: execution records in the trail.
    hook(&http, &url, "post_tool_use").await;
    hook(&http, &url, "stop").await;
    hook(&http, &url, "notification").await;
    let page: Value = get_json(
        &format!("{url}/v1/audit?q=type:execution%20claude&limit=10"),
        ALICE,
    )
    .await;
    let summaries: Vec<String> = page["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["summary"].as_str().unwrap().to_string())
        .collect();
    assert!(
        summaries.iter().any(|s| s.contains("stopped")),
        "{summaries:?}"
    );
    let page: Value = get_json(
        &format!("{url}/v1/audit?q=type:execution%20push&limit=10"),
        ALICE,
    )
    .await;
    assert!(
        page["records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["summary"].as_str().unwrap().starts_with("ran Bash")),
        "{page}"
    );
    // Bad input is told why; an operator token is not an agent's.
    let r = http
        .post(format!("{url}/v1/hooks/claude-code"))
        .bearer_auth(FLEET)
        .body("{\"tool_name\": 1}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("hook_event_name"));
    let r = http
        .post(format!("{url}/v1/hooks/claude-code"))
        .bearer_auth(ALICE)
        .json(&fixture("stop.request.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // A Write carries a whole file: up to 1 MiB is taken.
    let mut big = fixture("pre_tool_use_deny.request.json");
    big["tool_name"] = json!("Write");
    big["tool_input"] = json!({"file_path": "/etc/motd", "content": "x".repeat(300_000)});
    let r = http
        .post(format!(
            "{url}/v1/hooks/claude-code?agent=claude-dev&domain=platform"
        ))
        .bearer_auth(FLEET)
        .json(&big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let answer: Value = r.json().await.unwrap();
    assert_eq!(answer["hookSpecificOutput"]["permissionDecision"], "deny");
    server.stop().await;
}

fn print(dir: &Path, args: &[&str], token: Option<&str>) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_opsdeck"));
    cmd.args(["hooks", "print"])
        .args(args)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("HOME", dir)
        .env_remove("OPSDECK_CONTEXT")
        .env_remove("OPSDECK_URL")
        .env_remove("OPSDECK_CONFIG");
    match token {
        Some(t) => cmd.env("OPSDECK_TOKEN", t),
        None => cmd.env_remove("OPSDECK_TOKEN"),
    };
    cmd.output().unwrap()
}

/// What a Claude Code without `onFailure` does with a tool call when the hook cannot reach
/// opsdeck (a non-blocking error: the call goes on to Claude Code's own permissions): deny if a
/// deny rule matches, ask if an ask rule matches; never allow on opsdeck's behalf, since no
/// allow rule is printed. (With `onFailure: block`, 2.1.332, every such call is blocked.)
fn unreachable_verdict(settings: &Value, tool: &str, input: &Value) -> &'static str {
    let patterns = |kind: &str| -> Vec<String> {
        settings["permissions"][kind]
            .as_array()
            .map(|a| a.iter().map(|p| p.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    };
    let as_policy = |kind: &str, verdict: &str| {
        Policy::from_config(&PolicyConfig {
            default: "defer".into(),
            wait_s: 1,
            rules: patterns(kind)
                .into_iter()
                .map(|tool| RuleConfig {
                    tool,
                    decision: verdict.into(),
                })
                .collect(),
        })
        .unwrap()
    };
    if as_policy("deny", "deny")
        .rule(tool, input, Some("/work"))
        .verdict
        == Verdict::Deny
    {
        return "deny";
    }
    if as_policy("ask", "escalate(scope_change)")
        .rule(tool, input, Some("/work"))
        .verdict
        != Verdict::Defer
    {
        return "ask";
    }
    "claude code's own settings"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn printed_settings_never_mean_a_silent_allow_when_opsdeck_is_unreachable() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = server_config();
    config.policy = policy();
    let server = serve(&seeded_store(dir.path()), &config, "127.0.0.1:0").await;
    let url = server.url();
    let out = tokio::task::spawn_blocking({
        let dir = dir.path().to_path_buf();
        let url = url.clone();
        move || {
            print(
                &dir,
                &["--agent", "claude-dev", "--connect", &url],
                Some(FLEET),
            )
        }
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains(FLEET), "the token itself is never printed");
    let settings: Value = serde_json::from_str(&text).unwrap();
    // SessionStart runs no HTTP hook in Claude Code: a command posts its input with curl.
    let start = &settings["hooks"]["SessionStart"][0]["hooks"][0];
    assert_eq!(start["type"], "command");
    let command = start["command"].as_str().unwrap();
    assert!(
        command.contains("$OPSDECK_TOKEN") && command.contains("--data-binary @-"),
        "{command}"
    );
    assert!(command.contains(&format!("{url}/v1/hooks/claude-code?agent=claude-dev")));
    for event in ["PreToolUse", "PermissionRequest", "PostToolUse", "Stop"] {
        let hook = &settings["hooks"][event][0]["hooks"][0];
        assert_eq!(hook["type"], "http", "{event}");
        assert_eq!(
            hook["url"],
            format!("{url}/v1/hooks/claude-code?agent=claude-dev&domain=operations"),
            "{event}"
        );
        assert_eq!(hook["headers"]["Authorization"], "Bearer $OPSDECK_TOKEN");
        assert_eq!(hook["allowedEnvVars"], json!(["OPSDECK_TOKEN"]));
        assert!(hook["timeout"].as_u64().unwrap() >= 10, "{event}");
    }
    // The hooks that decide block the call when opsdeck cannot answer, and outlast the
    // policy's wait; the others never hold a session up.
    for event in ["PreToolUse", "PermissionRequest"] {
        let hook = &settings["hooks"][event][0]["hooks"][0];
        assert!(hook["timeout"].as_u64().unwrap() > 1);
        assert_eq!(hook["onFailure"], "block", "{event}");
    }
    for event in ["SessionStart", "PostToolUse", "Stop"] {
        assert!(
            settings["hooks"][event][0]["hooks"][0]
                .get("onFailure")
                .is_none()
        );
    }
    assert_eq!(
        settings["permissions"]["ask"],
        json!(["Bash(git push:*)", "mcp__github"])
    );
    // Absolute paths as Claude Code writes them (a single / is relative to the settings file).
    assert_eq!(settings["permissions"]["deny"], json!(["Edit(//etc/**)"]));
    assert!(
        settings["permissions"].get("allow").is_none(),
        "no allow is printed"
    );
    // With opsdeck unreachable, what the policy escalates is asked, what it denies is denied.
    let cases = [
        ("Bash", json!({"command": "git push origin main"}), "ask"),
        ("mcp__github__create_issue", json!({}), "ask"),
        ("Edit", json!({"file_path": "/etc/hosts"}), "deny"),
        (
            "Bash",
            json!({"command": "ls"}),
            "claude code's own settings",
        ),
    ];
    for (tool, input, want) in cases {
        assert_eq!(
            unreachable_verdict(&settings, tool, &input),
            want,
            "{tool} {input}"
        );
    }
    server.stop().await;

    // Without a server: the local config's table, and --url says where the hooks go.
    let config_dir = dir.path().join("config/opsdeck");
    std::fs::create_dir_all(&config_dir).unwrap();
    std::fs::write(
        config_dir.join("config.toml"),
        "[server.policy]\nrules = [{ tool = \"Bash(rm:*)\", decision = \"deny\" }]\n",
    )
    .unwrap();
    let out = print(
        dir.path(),
        &["--agent", "ci", "--url", "https://ops.example.com:7300"],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let settings: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(settings["permissions"]["deny"], json!(["Bash(rm:*)"]));
    assert!(
        settings["hooks"]["Stop"][0]["hooks"][0]["url"]
            .as_str()
            .unwrap()
            .starts_with("https://ops.example.com:7300/v1/hooks/claude-code?agent=ci")
    );
    // Nowhere to send them: a usage error that says what to give.
    let out = print(dir.path(), &["--agent", "ci"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--url"));
}

/// The files the README's recipes use are what the commands make and read.
#[test]
fn the_examples_are_what_the_commands_make() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let out = print(
        dir.path(),
        &[
            "--config",
            root.join("examples/claude-code/policy.toml")
                .to_str()
                .unwrap(),
            "--agent",
            "claude-dev",
            "--domain",
            "platform",
            "--url",
            "https://ops.example.com:7300",
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let kept: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("examples/claude-code/settings.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        printed, kept,
        "regenerate examples/claude-code/settings.json"
    );
    for file in ["mcp.json", "mcp-http.json"] {
        let mcp: Value = serde_json::from_str(
            &std::fs::read_to_string(root.join("examples/claude-code").join(file)).unwrap(),
        )
        .unwrap();
        assert!(mcp["mcpServers"]["opsdeck"].is_object(), "{file}");
    }
    let stdio = std::fs::read_to_string(root.join("examples/claude-code/mcp.json")).unwrap();
    assert!(stdio.contains("\"mcp\""), "runs `opsdeck mcp`");
}
