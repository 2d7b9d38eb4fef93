//! The MCP server with a real MCP client (rmcp): `opsdeck mcp` spawned on stdio against a real
//! `serve`, and the `/mcp` route over streamable HTTP. Raise, wait, decide from an operator's
//! connection, and see the wait return the decision; only agent tokens, each for its own
//! agents.

use std::time::Duration;

use opsdeck::config::policy::{PolicyConfig, RuleConfig};
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use serde_json::{Value, json};

use crate::support::orchestrator::{
    ALICE, FLEET, PLATFORM_FLEET, decide, get_json, seeded_store, serve, server_config,
};

type Client = RunningService<RoleClient, ()>;

fn policy_config() -> opsdeck::server::ServerConfig {
    let mut config = server_config();
    config.policy = PolicyConfig {
        default: "defer".into(),
        wait_s: 1,
        rules: vec![
            RuleConfig {
                tool: "Bash(git push:*)".into(),
                decision: "escalate(scope_change)".into(),
            },
            RuleConfig {
                tool: "Bash(ls:*)".into(),
                decision: "allow".into(),
            },
            RuleConfig {
                tool: "Edit(/etc/**)".into(),
                decision: "deny".into(),
            },
        ],
    };
    config
}

async fn stdio_client(dir: &std::path::Path, url: &str, token: &str) -> Client {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_opsdeck"));
    cmd.args(["mcp", "--connect", url, "--domain", "platform"])
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("HOME", dir)
        .env("OPSDECK_TOKEN", token)
        .env_remove("OPSDECK_CONTEXT")
        .env_remove("OPSDECK_URL");
    ().serve(TokioChildProcess::new(cmd).unwrap())
        .await
        .expect("the stdio MCP session starts")
}

async fn http_client(url: &str, token: &str, query: &str) -> Result<Client, String> {
    let config = StreamableHttpClientTransportConfig::with_uri(format!("{url}/mcp{query}"))
        .auth_header(token);
    ().serve(StreamableHttpClientTransport::from_config(config))
        .await
        .map_err(|e| e.to_string())
}

async fn call(client: &Client, tool: &'static str, args: Value) -> CallToolResult {
    let args = args.as_object().unwrap().clone();
    client
        .call_tool(CallToolRequestParams::new(tool).with_arguments(args))
        .await
        .unwrap_or_else(|e| panic!("{tool}: {e}"))
}

/// The JSON a tool answered (its one text block), or the error text it gave.
fn value(result: &CallToolResult) -> Result<Value, String> {
    let text = result.content[0]
        .as_text()
        .map(|t| t.text.clone())
        .unwrap_or_default();
    if result.is_error == Some(true) {
        return Err(text);
    }
    Ok(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}")))
}

/// Raise, wait from the client while an operator decides on another connection, and see the
/// wait come back with the decision.
async fn raise_wait_decide(client: &Client, url: &str) {
    let tools = client.list_all_tools().await.unwrap();
    let mut names: Vec<_> = tools.iter().map(|t| t.name.to_string()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "audit_record",
            "escalation_raise",
            "escalation_wait",
            "incident_report",
            "permission_prompt",
            "task_complete",
            "task_lease"
        ]
    );
    assert!(
        tools
            .iter()
            .all(|t| t.description.as_ref().is_some_and(|d| d.len() > 60))
    );
    let raised = value(
        &call(
            client,
            "escalation_raise",
            json!({
                "category": "scope_change", "summary": "push the release tag",
                "context": "CI green", "options_considered": ["push", "hold"],
                "tool_call": {"name": "Bash", "input": {"command": "git push origin v1"}, "tool_use_id": "toolu_9"},
                "session": "sess-1", "wait_s": 0
            }),
        )
        .await,
    )
    .unwrap();
    assert_eq!(raised["state"], "pending", "{raised}");
    let id = raised["escalation_id"].as_str().unwrap().to_string();
    let waiting = {
        let client = client.peer().clone();
        let id = id.clone();
        tokio::spawn(async move {
            let args = json!({"id": id, "wait_s": 30}).as_object().unwrap().clone();
            client
                .call_tool(CallToolRequestParams::new("escalation_wait").with_arguments(args))
                .await
                .unwrap()
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !waiting.is_finished(),
        "the wait answered before anyone decided"
    );
    decide(url, &id, "approve", "looked at the diff", None).await;
    let decided = value(
        &tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(decided["state"], "approved", "{decided}");
    assert_eq!(decided["escalation_id"], id.as_str());
    assert_eq!(decided["votes"][0]["by"], "operator:alice");
    // The other tools reach the control plane as the same agent.
    let incident = value(
        &call(
            client,
            "incident_report",
            json!({"severity": "sev3", "title": "disk filling on db-2"}),
        )
        .await,
    )
    .unwrap();
    assert!(
        incident["reply"]["value"]["id"]
            .as_str()
            .unwrap()
            .starts_with("INC-"),
        "{incident}"
    );
    assert!(
        value(
            &call(
                client,
                "audit_record",
                json!({"summary": "rotated the logs"})
            )
            .await
        )
        .is_ok()
    );
    assert!(value(&call(client, "task_lease", json!({})).await).is_ok());
    let bad = value(
        &call(
            client,
            "escalation_raise",
            json!({"category": "lunch", "summary": "x"}),
        )
        .await,
    );
    assert!(bad.unwrap_err().contains("scope_change"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stdio_server_raises_waits_and_hears_the_decision() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(&seeded_store(dir.path()), &policy_config(), "127.0.0.1:0").await;
    let url = server.url();
    let client = stdio_client(dir.path(), &url, FLEET).await;
    raise_wait_decide(&client, &url).await;
    // permission_prompt answers as Claude Code's --permission-prompt-tool expects.
    let allow = value(
        &call(
            &client,
            "permission_prompt",
            json!({"tool_name": "Bash", "input": {"command": "ls -la"}}),
        )
        .await,
    )
    .unwrap();
    assert_eq!(
        allow,
        json!({"behavior": "allow", "updatedInput": {"command": "ls -la"}})
    );
    let deny = value(
        &call(
            &client,
            "permission_prompt",
            json!({"tool_name": "Edit", "input": {"file_path": "/etc/hosts"}}),
        )
        .await,
    )
    .unwrap();
    assert_eq!(deny["behavior"], "deny");
    assert!(
        deny["message"].as_str().unwrap().contains("Edit(/etc/**)"),
        "{deny}"
    );
    let pending = value(&call(&client, "permission_prompt", json!({"tool_name": "Bash", "input": {"command": "git push origin main"}, "tool_use_id": "toolu_1"})).await).unwrap();
    assert_eq!(
        pending["behavior"], "deny",
        "nobody decided within the wait: {pending}"
    );
    assert!(
        pending["message"].as_str().unwrap().contains("APR-"),
        "{pending}"
    );
    client.cancel().await.unwrap();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_route_raises_waits_and_hears_the_decision() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(&seeded_store(dir.path()), &policy_config(), "127.0.0.1:0").await;
    let url = server.url();
    let client = http_client(&url, FLEET, "?agent=claude-http&domain=platform")
        .await
        .unwrap();
    raise_wait_decide(&client, &url).await;
    client.cancel().await.unwrap();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_agent_tokens_and_only_for_their_own_agents() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(&seeded_store(dir.path()), &policy_config(), "127.0.0.1:0").await;
    let url = server.url();
    // An operator token: refused on /mcp before the protocol starts, and by `opsdeck mcp`.
    let refused = http_client(&url, ALICE, "").await;
    assert!(refused.is_err(), "an operator token opened an MCP session");
    let raw = reqwest::Client::new()
        .post(format!("{url}/mcp"))
        .bearer_auth(ALICE)
        .header("accept", "application/json, text/event-stream")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 403);
    let no_token = reqwest::Client::new()
        .delete(format!("{url}/mcp"))
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), 401);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .args(["mcp", "--connect", &url])
        .env("OPSDECK_TOKEN", ALICE)
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .env("XDG_STATE_HOME", dir.path().join("state"))
        .env_remove("OPSDECK_CONTEXT")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("agent token"));
    // Agent A is the fleet token's; the platform token cannot act as it.
    let a = http_client(&url, FLEET, "?agent=claude-a&domain=platform")
        .await
        .unwrap();
    let raised = value(
        &call(
            &a,
            "escalation_raise",
            json!({"category": "scope_change", "summary": "mine"}),
        )
        .await,
    )
    .unwrap();
    let id = raised["escalation_id"].as_str().unwrap().to_string();
    let state: Value = get_json(&format!("{url}/v1/agent/state"), FLEET).await;
    let agent_a = state["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "claude-a")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let b = http_client(&url, PLATFORM_FLEET, &format!("?agent={agent_a}"))
        .await
        .unwrap();
    let as_a = value(
        &call(
            &b,
            "escalation_raise",
            json!({"category": "scope_change", "summary": "as A"}),
        )
        .await,
    );
    assert!(as_a.unwrap_err().contains("not one of this token's agents"));
    // Nor wait on A's escalation.
    let b2 = http_client(&url, PLATFORM_FLEET, "?agent=claude-b&domain=platform")
        .await
        .unwrap();
    let theirs = value(&call(&b2, "escalation_wait", json!({"id": id, "wait_s": 0})).await);
    assert!(theirs.unwrap_err().contains("no escalation"));
    for c in [a, b, b2] {
        c.cancel().await.unwrap();
    }
    server.stop().await;
}
