//! A seeded orchestrator for the link and server tests: an hour of the demo fleet on a
//! simulated clock, written once per test process and copied into each test's own directory,
//! served embedded or over HTTP on 127.0.0.1:0.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use chrono::{DateTime, Duration, Utc};
use opsdeck::authority::Role;
use opsdeck::config::Config;
use opsdeck::config::server::{AgentToken, OperatorToken, token_hash};
use opsdeck::engine::{Clock, Engine};
use opsdeck::link::{Embedded, EmbeddedOptions, Link, Remote, Target};
use opsdeck::orchestrator::Orchestrator;
use opsdeck::protocol::Actor;
use opsdeck::server::{Server, ServerConfig};
use opsdeck::store::Store;

pub const ALICE: &str = "opsd_alice_enterprise";
pub const VIEWER: &str = "opsd_victor_viewer";
pub const ONCALL: &str = "opsd_olga_oncall_product";
pub const FLEET: &str = "opsd_fleet_agents";
/// A second fleet's token, limited to the platform domain.
/// An agent token the config lists `agent-1` (one of the seeded store's own agents) for.
pub const LISTED_FLEET: &str = "opsd_listed_fleet_agents";
pub const PLATFORM_FLEET: &str = "opsd_platform_fleet_agents";

pub fn start() -> DateTime<Utc> {
    "2026-11-02T00:00:00Z".parse().unwrap()
}

fn template() -> &'static Path {
    static TEMPLATE: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = TEMPLATE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("template.db");
        let store = Store::open(&path).unwrap();
        let mut engine =
            Engine::open(store, Config::default(), Clock::manual(start()), Some(7)).unwrap();
        opsdeck::sim::Sim::new(7)
            .run(&mut engine, start(), Duration::hours(1))
            .unwrap();
        drop(engine);
        (dir, path)
    });
    path
}

/// A copy of the seeded store in `dir`.
pub fn seeded_store(dir: &Path) -> PathBuf {
    let path = dir.join("opsdeck.db");
    std::fs::copy(template(), &path).unwrap();
    path
}

pub fn server_config() -> ServerConfig {
    let operator = |name: &str, role: Role, token: &str| OperatorToken {
        name: name.into(),
        role,
        token_sha256: token_hash(token),
    };
    ServerConfig {
        name: "test-orchestrator".into(),
        operators: vec![
            operator("alice", Role::Enterprise, ALICE),
            operator("victor", Role::Viewer, VIEWER),
            operator("olga", Role::Oncall("product".into()), ONCALL),
        ],
        agents: vec![
            AgentToken {
                name: "fleet".into(),
                token_sha256: token_hash(FLEET),
                domains: vec![],
                agents: vec![],
            },
            AgentToken {
                name: "platform-fleet".into(),
                token_sha256: token_hash(PLATFORM_FLEET),
                domains: vec!["platform".into()],
                agents: vec![],
            },
            AgentToken {
                name: "listed-fleet".into(),
                token_sha256: token_hash(LISTED_FLEET),
                domains: vec![],
                agents: vec!["agent-1".into()],
            },
        ],
        ..ServerConfig::default()
    }
}

pub fn orchestrator(store: &Path) -> Orchestrator {
    let engine = Engine::open(
        Store::open(store).unwrap(),
        Config::default(),
        Clock::System,
        None,
    )
    .unwrap();
    Orchestrator::start(engine, None)
}

pub fn orchestrator_on(store: &StoreAt) -> Orchestrator {
    let engine = Engine::open(store.open(), Config::default(), Clock::System, None).unwrap();
    Orchestrator::start(engine, None)
}

pub async fn serve(store: &Path, config: &ServerConfig, listen: &str) -> Server {
    Server::start(orchestrator(store), config, listen, None)
        .await
        .unwrap()
}

pub fn target(url: &str, token: &str) -> Target {
    Target {
        context: None,
        url: url.into(),
        also: Vec::new(),
        token: token.into(),
        read_only: false,
    }
}

/// Where a test's orchestrator runs (in process, or behind `opsdeck serve`) and on which store.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Variant {
    Embedded,
    Remote,
    EmbeddedPostgres,
    RemotePostgres,
}

/// A test's own store: a copy of the seeded SQLite file, or a copy of the seeded database in
/// the test process's PostgreSQL cluster.
#[derive(Debug, Clone)]
pub enum StoreAt {
    File(PathBuf),
    Url(String),
}

impl StoreAt {
    pub fn open(&self) -> Store {
        match self {
            StoreAt::File(path) => Store::open(path).unwrap(),
            StoreAt::Url(url) => Store::connect(url, None).unwrap(),
        }
    }
}

/// The seeded hour in a database of the shared cluster, made once per test process from the
/// same seed and clock as the SQLite template, so both hold the same story.
fn seeded_database() -> &'static str {
    static SEEDED: OnceLock<()> = OnceLock::new();
    SEEDED.get_or_init(|| {
        let pg = crate::support::postgres::Postgres::shared().expect("a PostgreSQL cluster");
        let url = pg.database("seeded", None);
        let store = Store::connect(&url, None).unwrap();
        let mut engine =
            Engine::open(store, Config::default(), Clock::manual(start()), Some(7)).unwrap();
        opsdeck::sim::Sim::new(7)
            .run(&mut engine, start(), Duration::hours(1))
            .unwrap();
    });
    "seeded"
}

/// A copy of the seeded store for one test on `variant`'s backend.
pub fn seeded(variant: Variant, dir: &Path) -> StoreAt {
    match variant {
        Variant::Embedded | Variant::Remote => StoreAt::File(seeded_store(dir)),
        Variant::EmbeddedPostgres | Variant::RemotePostgres => {
            static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            let template = seeded_database();
            let pg = crate::support::postgres::Postgres::shared().expect("a PostgreSQL cluster");
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            StoreAt::Url(pg.database(&format!("t{n}"), Some(template)))
        }
    }
}

/// Whether a PostgreSQL variant can run here; `false` (said loudly by the harness) only with
/// `OPSDECK_NO_POSTGRES=1`.
pub fn runs(variant: Variant) -> bool {
    match variant {
        Variant::Embedded | Variant::Remote => true,
        Variant::EmbeddedPostgres | Variant::RemotePostgres => {
            crate::support::postgres::Postgres::shared().is_some()
        }
    }
}

/// A console's link as `name` with `role`, on either variant; the server (if any) lives as
/// long as the returned value.
pub struct Console {
    pub link: Link,
    pub server: Option<Server>,
    pub dir: tempfile::TempDir,
    pub store: StoreAt,
}

pub async fn console(variant: Variant, token: &str, read_only: bool) -> Console {
    let dir = tempfile::tempdir().unwrap();
    let at = seeded(variant, dir.path());
    let config = server_config();
    match variant {
        Variant::Embedded | Variant::EmbeddedPostgres => {
            let op = config
                .operators
                .iter()
                .find(|o| o.token_sha256 == token_hash(token))
                .unwrap();
            let link = Link::Embedded(Embedded::on(
                orchestrator_on(&at),
                EmbeddedOptions {
                    actor: Actor::operator(&op.name, op.role.clone()),
                    read_only,
                },
            ));
            Console {
                link,
                server: None,
                dir,
                store: at,
            }
        }
        Variant::Remote | Variant::RemotePostgres => {
            let server = Server::start(orchestrator_on(&at), &config, "127.0.0.1:0", None)
                .await
                .unwrap();
            let remote = Remote::connect(&target(&server.url(), token), read_only)
                .await
                .unwrap();
            Console {
                link: Link::Remote(remote),
                server: Some(server),
                dir,
                store: at,
            }
        }
    }
}

/// Writes a sensitive escalation from an agent of `domain` into the store at `store` (which an
/// orchestrator may have open: it reads the trail from the file); the seeded hour has none.
pub fn sensitive_escalation(store: &StoreAt, domain: &str) {
    use opsdeck::model::{Category, Classification};
    use opsdeck::protocol::{Command, RaiseEscalation};
    let mut engine = Engine::open(store.open(), Config::default(), Clock::System, None).unwrap();
    let agent = engine
        .snapshot()
        .agents
        .into_iter()
        .find(|a| a.domain == domain)
        .expect("an agent in the domain")
        .id;
    engine
        .execute(
            &Actor::agent(&agent),
            Command::RaiseEscalation(RaiseEscalation {
                agent: agent.clone(),
                category: Category::ExternalCommunication,
                summary: format!("notify the regulator about {domain}"),
                context: "customer records of 12 accounts were exposed".into(),
                options_considered: vec!["notify now".into(), "wait for legal".into()],
                recommendation: "notify now".into(),
                classification: Classification::Sensitive,
                related_tasks: vec![],
                tool_call: None,
                session: None,
                callback_url: None,
                policy_rule: None,
            }),
        )
        .unwrap();
}

/// Alice (enterprise) decides approval `id` at version 1 over HTTP, with `reason` and, on
/// approve, `option`; panics with the server's answer if it was refused.
pub async fn decide(url: &str, id: &str, decision: &str, reason: &str, option: Option<&str>) {
    let mut body = serde_json::json!({"decision": decision, "reason": reason, "version": 1});
    if let Some(o) = option {
        body["option"] = serde_json::json!(o);
    }
    let response = reqwest::Client::new()
        .post(format!("{url}/v1/approvals/{id}/decision"))
        .bearer_auth(ALICE)
        .header("idempotency-key", uuid::Uuid::now_v7().to_string())
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    assert!(
        status.is_success(),
        "{status}: {}",
        response.text().await.unwrap()
    );
}

/// `GET url` with `token`, read as JSON.
pub async fn get_json(url: &str, token: &str) -> serde_json::Value {
    reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
