//! The route × caller matrix: every route of `opsdeck::server::ROUTES`, tried by every kind of
//! caller, answers as the table says (401, 403, or admitted), on real items of a domain.

use std::collections::BTreeMap;

use crate::support::orchestrator::{ALICE, FLEET, VIEWER, server_config};
use opsdeck::authority::Role;
use opsdeck::config::server::{OperatorToken, token_hash};
use opsdeck::server::{CallerKind, ROUTES, ServerConfig, Verdict, verdict};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Fixture, fixture_with};

const DOMAINS: [&str; 3] = ["platform", "product", "operations"];
const EXECUTIVE: &str = "opsd_erin_executive";

fn token_of(role: &Role) -> String {
    format!("opsd_matrix_{}", role.to_string().replace(':', "_"))
}

fn matrix_config() -> ServerConfig {
    let mut config = server_config();
    // Room for every request of the matrix in one burst.
    config.operator_burst = 10_000;
    config.operator_rate_per_minute = 10_000;
    for d in DOMAINS {
        for role in [Role::Oncall(d.into()), Role::Lead(d.into())] {
            config.operators.push(OperatorToken {
                name: format!("m-{}", role.to_string().replace(':', "-")),
                token_sha256: token_hash(&token_of(&role)),
                role,
            });
        }
    }
    config.operators.push(OperatorToken {
        name: "erin".into(),
        role: Role::Executive,
        token_sha256: token_hash(EXECUTIVE),
    });
    config
}

/// The token a kind of caller sends, for an item of `here` (`None`: no Authorization header).
fn token(kind: CallerKind, here: &str) -> Option<String> {
    let other = DOMAINS.iter().find(|d| **d != here).unwrap();
    match kind {
        CallerKind::NoToken => None,
        CallerKind::WrongToken => Some("opsd_not_a_token_anyone_holds".into()),
        CallerKind::Agent => Some(FLEET.into()),
        CallerKind::Viewer => Some(VIEWER.into()),
        CallerKind::Enterprise => Some(ALICE.into()),
        CallerKind::Executive => Some(EXECUTIVE.into()),
        other_kind => Some(token_of(&other_kind.role(here, other).unwrap())),
    }
}

/// The items the matrix acts on, read as the enterprise operator sees them.
struct Items {
    snapshot: Value,
}

impl Items {
    async fn read(f: &Fixture) -> Items {
        Items {
            snapshot: f.snapshot().await,
        }
    }

    fn find(&self, list: &str, pick: impl Fn(&Value) -> bool) -> Option<Value> {
        self.snapshot[list]
            .as_array()?
            .iter()
            .find(|v| pick(v))
            .cloned()
    }
}

/// A request for `route` that its callers may legitimately make: the path filled with a real
/// item, the item's domain, and a body.
async fn request_for(
    f: &Fixture,
    path: &str,
    agent: &str,
    n: usize,
) -> Option<(String, String, Option<Value>)> {
    let items = Items::read(f).await;
    let plain = |p: &str| Some((p.to_string(), "platform".to_string(), None));
    match path {
        "/healthz" | "/openapi.json" | "/metrics" | "/v1/whoami" | "/v1/snapshot" | "/v1/audit"
        | "/v1/audit/count" | "/v1/agent/state" => plain(path),
        "/v1/events" | "/v1/policy" => plain(path),
        "/v1/hooks/claude-code" => Some((
            "/v1/hooks/claude-code?agent=matrix-hooks&domain=platform".into(),
            "platform".into(),
            Some(json!({"hook_event_name": "Stop", "session_id": "matrix", "cwd": "/"})),
        )),
        "/v1/agent/permission" => Some((
            path.into(),
            "platform".into(),
            Some(json!({"agent": agent, "tool_name": "Read", "input": {"file_path": "/tmp/x"}})),
        )),
        "/v1/items/{kind}" => plain("/v1/items/tasks?state=queued&since=1h"),
        "/v1/items/{kind}/{id}" => {
            let a = items.find("approvals", |a| a["domain"] == "platform")?;
            Some((
                format!("/v1/items/approvals/{}", a["id"].as_str()?),
                "platform".into(),
                None,
            ))
        }
        "/v1/agent/escalations/{id}" => {
            let a = items.find("approvals", |a| a["domain"] == "platform")?;
            Some((
                format!("/v1/agent/escalations/{}", a["id"].as_str()?),
                "platform".into(),
                None,
            ))
        }
        "/v1/claims/{id}" => {
            let a = items.find("approvals", |a| a["domain"] == "platform")?;
            Some((
                format!("/v1/claims/{}", a["id"].as_str()?),
                "platform".into(),
                None,
            ))
        }
        "/v1/audit/{seq}/reveal" => {
            // The sensitive record the matrix's agent raised in platform.
            let (status, page) = super::answer(
                f.get(
                    "/v1/audit?q=class:sensitive%20domain:platform&limit=1",
                    Some(ALICE),
                )
                .send()
                .await
                .unwrap(),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{page}");
            let seq = page["records"][0]["seq"].as_u64()?;
            Some((
                format!("/v1/audit/{seq}/reveal"),
                "platform".into(),
                Some(json!({})),
            ))
        }
        "/v1/approvals/{id}/decision" => {
            // A pending one while any is left; then a decided one (409: admitted, too late).
            let platform =
                |a: &Value| a["level"] == "domain" && a["quorum"] == 1 && a["domain"] == "platform";
            let a = items
                .find("approvals", |a| platform(a) && a["state"] == "pending")
                .or_else(|| items.find("approvals", platform))?;
            Some((
                format!("/v1/approvals/{}/decision", a["id"].as_str()?),
                "platform".into(),
                Some(json!({"decision": "approve", "reason": "matrix", "version": a["version"]})),
            ))
        }
        "/v1/incidents" => Some((
            path.into(),
            "platform".into(),
            Some(json!({"severity": "SEV4", "title": format!("matrix {n}"), "domain": "platform"})),
        )),
        "/v1/incidents/{id}/actions" => {
            let i = items.find("incidents", |i| i["state"] != "resolved")?;
            Some((
                format!("/v1/incidents/{}/actions", i["id"].as_str()?),
                i["domain"].as_str()?.into(),
                Some(json!({"action": "note", "note": "matrix", "version": i["version"]})),
            ))
        }
        "/v1/rollouts/{id}/actions" => {
            let r = items.find("rollouts", |r| {
                r["state"] == "progressing" || r["state"] == "paused"
            })?;
            let action = if r["state"] == "paused" {
                "resume"
            } else {
                "pause"
            };
            Some((
                format!("/v1/rollouts/{}/actions", r["id"].as_str()?),
                r["domain"].as_str()?.into(),
                Some(json!({"action": action, "reason": "matrix", "version": r["version"]})),
            ))
        }
        "/v1/agents/{id}/actions" => {
            let a = items.find("agents", |a| a["domain"] == "platform")?;
            let action = if a["status"] == "paused" {
                "resume"
            } else {
                "pause"
            };
            Some((
                format!("/v1/agents/{}/actions", a["id"].as_str()?),
                "platform".into(),
                Some(json!({"action": action, "reason": "matrix"})),
            ))
        }
        "/v1/agent/register" => Some((
            path.into(),
            "platform".into(),
            Some(
                json!({"name": format!("m{n}"), "domain": "platform", "team": "data", "version": "1"}),
            ),
        )),
        "/v1/agent/heartbeat" | "/v1/agent/lease" => {
            plain(path).map(|(p, d, _)| (p, d, Some(json!({"agent": agent}))))
        }
        "/v1/agent/complete" => plain(path).map(|(p, d, _)| {
            (
                p,
                d,
                Some(json!({"agent": agent, "task": "T-0", "outcome": {"result": "succeeded"}})),
            )
        }),
        "/v1/agent/escalations" => plain(path).map(|(p, d, _)| {
            (
                p,
                d,
                Some(
                    json!({"agent": agent, "category": "scope_change", "summary": "s",
                "context": "c", "recommendation": "r", "classification": "internal"}),
                ),
            )
        }),
        "/v1/agent/incidents" => plain(path).map(|(p, d, _)| {
            (
                p,
                d,
                Some(json!({"agent": agent, "severity": "SEV4", "title": "slow"})),
            )
        }),
        "/v1/agent/tasks" => plain(path).map(|(p, d, _)| {
            (
                p,
                d,
                Some(json!({"title": "t", "domain": "platform", "team": "data", "priority": 3})),
            )
        }),
        "/v1/agent/executions" => {
            plain(path).map(|(p, d, _)| (p, d, Some(json!({"agent": agent, "summary": "ran"}))))
        }
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_every_kind_of_caller_as_the_table_says() {
    let f = fixture_with(matrix_config()).await;
    // An agent of the fleet token, for the agent routes.
    let (status, body) = super::answer(
        f.post("/v1/agent/register", FLEET, "matrix-agent")
            .json(&json!({"name": "matrix", "domain": "platform", "team": "data", "version": "1"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let agent = body["reply"]["value"]["id"].as_str().unwrap().to_string();
    // A sensitive record of platform, for the reveal route.
    let (status, body) = super::answer(
        f.post("/v1/agent/escalations", FLEET, "matrix-sensitive")
            .json(
                &json!({"agent": agent, "category": "external_communication",
                "summary": "tell the regulator", "context": "12 accounts exposed",
                "recommendation": "tell them now", "classification": "sensitive"}),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(status.is_success(), "{body}");

    let mut counts: BTreeMap<&str, [usize; 3]> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut n = 0;
    for rule in ROUTES {
        // Refusals first, so the admitted callers' changes cannot hide one.
        let mut kinds = CallerKind::ALL.to_vec();
        kinds.sort_by_key(|k| verdict(rule.access, *k, false) == Verdict::Allowed);
        for kind in kinds {
            n += 1;
            let want = verdict(rule.access, kind, false);
            let Some((path, here, body)) = request_for(&f, rule.path, &agent, n).await else {
                failures.push(format!(
                    "{} {}: no item to try it on",
                    rule.method, rule.path
                ));
                continue;
            };
            let url = format!("{}{path}", f.base);
            let mut request = match rule.method {
                "GET" => f.http.get(url),
                _ => f
                    .http
                    .post(url)
                    .header("idempotency-key", format!("matrix-{n}"))
                    .json(&body.unwrap_or(json!({}))),
            };
            if let Some(t) = token(kind, &here) {
                request = request.bearer_auth(t);
            }
            let response = request.send().await.unwrap();
            let status = response.status();
            let detail = if status.is_success() {
                String::new()
            } else {
                response.text().await.unwrap_or_default()
            };
            let column = match want {
                Verdict::Allowed => 0,
                Verdict::Unauthorized => 1,
                Verdict::Forbidden => 2,
            };
            let ok = match want {
                Verdict::Allowed => {
                    status != StatusCode::UNAUTHORIZED
                        && status != StatusCode::FORBIDDEN
                        && !status.is_server_error()
                }
                Verdict::Unauthorized => status == StatusCode::UNAUTHORIZED,
                Verdict::Forbidden => status == StatusCode::FORBIDDEN,
            };
            if ok {
                counts.entry(rule.path).or_default()[column] += 1;
            } else {
                failures.push(format!(
                    "{} {path} as {kind:?} (item in {here}): want {want:?}, got {status} {detail}",
                    rule.method
                ));
            }
            if kind == CallerKind::Agent && want == Verdict::Forbidden {
                assert!(detail.contains("scope"), "{path}: {detail}");
            }
        }
    }
    println!("route × caller matrix (passes: allowed / 401 / 403):");
    let mut total = 0;
    for (path, c) in &counts {
        println!("  {path:32} {:2} / {:2} / {:2}", c[0], c[1], c[2]);
        total += c.iter().sum::<usize>();
    }
    println!("  {total} of {n} cells pass");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(total, ROUTES.len() * CallerKind::ALL.len());
    f.server.stop().await;
}
