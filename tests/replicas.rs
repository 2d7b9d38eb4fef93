//! Several `opsdeck serve` replicas on one PostgreSQL database: one decision however many
//! deciders race on however many replicas, every replica's consoles see every event with the
//! same seq (and resume on another replica), and exactly one replica runs the clock.

use std::time::Duration;

use crate::support::orchestrator::{
    ALICE, StoreAt, Variant, orchestrator_on, runs, seeded, server_config, target,
};
use opsdeck::link::{Link, LinkEvent, Remote};
use opsdeck::protocol::{ActOnApproval, ApprovalAction, Command};
use opsdeck::server::Server;

/// Three replicas on one copy of the seeded database.
async fn replicas(dir: &std::path::Path) -> Option<(StoreAt, Vec<Server>)> {
    if !runs(Variant::RemotePostgres) {
        return None;
    }
    let at = seeded(Variant::RemotePostgres, dir);
    let mut servers = Vec::new();
    for _ in 0..3 {
        let server = Server::start(orchestrator_on(&at), &server_config(), "127.0.0.1:0", None)
            .await
            .unwrap();
        servers.push(server);
    }
    Some((at, servers))
}

async fn link(server: &Server) -> Link {
    Link::Remote(
        Remote::connect(&target(&server.url(), ALICE), false)
            .await
            .unwrap(),
    )
}

fn approve(id: &str, n: usize) -> Command {
    Command::ActOnApproval(ActOnApproval {
        id: id.into(),
        decision: ApprovalAction::Approve,
        reason: format!("decider {n} checked the capacity"),
        option: None,
        version: None,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_deciders_over_three_replicas_make_one_decision() {
    let dir = tempfile::tempdir().unwrap();
    let Some((at, servers)) = replicas(dir.path()).await else {
        return;
    };
    let mut links = Vec::new();
    for server in &servers {
        links.push(std::sync::Arc::new(link(server).await));
    }
    let snapshot = links[0].snapshot().await.unwrap();
    let id = snapshot
        .approvals
        .iter()
        .find(|a| a.is_pending())
        .expect("a pending approval")
        .id
        .clone();
    let before = snapshot.seq;
    let mut racers = Vec::new();
    for n in 0..16 {
        let link = links[n % 3].clone();
        let id = id.clone();
        racers.push(tokio::spawn(
            async move { link.send(approve(&id, n)).await },
        ));
    }
    let mut decided = 0;
    for racer in racers {
        if racer.await.unwrap().is_ok() {
            decided += 1;
        }
    }
    assert_eq!(
        decided, 1,
        "one decider wins; the others are told it is decided"
    );
    let store = at.open();
    let filter =
        opsdeck::query::parse(&format!("type:decision \"{id}\""), chrono::Utc::now()).unwrap();
    let (records, _) = store.count_audit(&filter, 100).unwrap();
    assert_eq!(records, 1, "one decision record in the trail");
    let verification = store.verify_audit().unwrap();
    assert_eq!(verification.first_bad, None, "the chain is unbroken");
    let events = store.events_since(before, 10_000).unwrap().unwrap();
    for (i, event) in events.iter().enumerate() {
        assert_eq!(event.seq, before + 1 + i as u64, "seq is gapless");
    }
    for server in servers {
        server.stop().await;
    }
}

/// The next event that is not a heartbeat or a notice.
async fn next_event(rx: &mut tokio::sync::mpsc::Receiver<LinkEvent>) -> opsdeck::model::Event {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("an event within 10 s")
            .expect("the subscription is open");
        if let LinkEvent::Event(event) = event {
            return *event;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_decision_on_one_replica_reaches_consoles_on_the_others_and_resumes_there() {
    let dir = tempfile::tempdir().unwrap();
    let Some((_at, servers)) = replicas(dir.path()).await else {
        return;
    };
    let (a, b, c) = (
        link(&servers[0]).await,
        link(&servers[1]).await,
        link(&servers[2]).await,
    );
    let snapshot = b.snapshot().await.unwrap();
    let mut on_b = b.subscribe(snapshot.seq).await.unwrap();
    let id = snapshot
        .approvals
        .iter()
        .find(|x| x.is_pending())
        .unwrap()
        .id
        .clone();
    let outcome = a.send(approve(&id, 0)).await.unwrap();
    let seen = next_event(&mut on_b).await;
    assert_eq!(
        seen.seq, outcome.event_seq,
        "the same event, with the same seq, on another replica"
    );
    assert!(seen.changes.iter().any(
        |ch| matches!(ch, opsdeck::model::Change::Approval(x) if x.id == id && !x.is_pending())
    ));
    // A console that was on A resumes on C from the seq before the decision.
    let mut on_c = c.subscribe(outcome.event_seq - 1).await.unwrap();
    let resumed = next_event(&mut on_c).await;
    assert_eq!(resumed.seq, outcome.event_seq);
    assert_eq!(resumed, seen, "resumed on another replica: the same event");
    for server in servers {
        server.stop().await;
    }
}

async fn holds_clock(client: &reqwest::Client, server: &Server) -> Option<bool> {
    let health: serde_json::Value = client
        .get(format!("{}/healthz", server.url()))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    assert_eq!(health["database"], "reachable", "{health}");
    health["clock"].as_bool()
}

/// Waits until exactly one of `servers` says it holds the clock; its index.
async fn the_clock_holder(client: &reqwest::Client, servers: &[Server]) -> usize {
    let began = std::time::Instant::now();
    loop {
        let mut holders = Vec::new();
        for (i, server) in servers.iter().enumerate() {
            if holds_clock(client, server).await == Some(true) {
                holders.push(i);
            }
        }
        assert!(
            holders.len() <= 1,
            "two replicas hold the clock: {holders:?}"
        );
        if let [one] = holders[..] {
            return one;
        }
        assert!(
            began.elapsed() < Duration::from_secs(15),
            "no replica took the clock"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exactly_one_replica_holds_the_clock_and_another_takes_it_when_it_stops() {
    let dir = tempfile::tempdir().unwrap();
    let Some((_at, mut servers)) = replicas(dir.path()).await else {
        return;
    };
    let client = reqwest::Client::new();
    let first = the_clock_holder(&client, &servers).await;
    servers.remove(first).stop().await;
    let stopped = std::time::Instant::now();
    let second = the_clock_holder(&client, &servers).await;
    eprintln!(
        "the clock moved to another replica in {:?}",
        stopped.elapsed()
    );
    assert!(stopped.elapsed() < Duration::from_secs(5));
    let _ = second;
    for server in servers {
        server.stop().await;
    }
}

const BIN: &str = env!("CARGO_BIN_EXE_opsdeck");

fn opsdeck(args: &[&str]) -> std::process::Output {
    std::process::Command::new(BIN)
        .args(args)
        .env("HOME", "/nonexistent")
        .env_remove("OPSDECK_STORE_PASSWORD")
        .output()
        .unwrap()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A database of its own holding a demo trail of `records` records; its URL.
fn trail_of(pg: &crate::support::postgres::Postgres, name: &str, records: u32) -> String {
    let url = pg.database(name, None);
    let made = opsdeck(&[
        "--store",
        &url,
        "demo",
        "audit",
        "--records",
        &records.to_string(),
    ]);
    assert_eq!(made.status.code(), Some(0), "{}", stderr(&made));
    url
}

/// A read thread keeps a session of its own; when the server ends it (a restart, a failover),
/// the next read connects again and answers, rather than failing once.
#[test]
fn a_read_thread_whose_session_ends_connects_again_and_answers() {
    let Some(pg) = crate::support::postgres::Postgres::shared() else {
        return;
    };
    let url = trail_of(pg, "reads", 200);
    let store = opsdeck::store::Store::connect(&url, None).unwrap();
    let reader = store.reader().unwrap().expect("a reader beside the writer");
    let everything = opsdeck::query::AuditFilter::default();
    assert_eq!(
        reader.search_audit(&everything, None, 50).unwrap().len(),
        50
    );
    let ended = pg.psql_in(
        "reads",
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
          WHERE datname = 'reads' AND pid <> pg_backend_pid()",
    );
    assert_ne!(ended, "0", "the reader's session was ended");
    let found = reader.search_audit(&everything, None, 50).unwrap();
    assert_eq!(found.first().map(|r| r.seq), Some(200));
    let (n, more) = reader.count_audit(&everything, 1_000).unwrap();
    assert_eq!((n, more), (200, false));
}

/// A database an older opsdeck made (schema 1, before the index by classification) is brought
/// up to date by the next replica to connect, its records kept.
#[test]
fn a_database_at_an_older_schema_is_migrated_and_keeps_its_trail() {
    let Some(pg) = crate::support::postgres::Postgres::shared() else {
        return;
    };
    let url = trail_of(pg, "older", 100);
    pg.psql_in(
        "older",
        "DROP INDEX audit_class; DELETE FROM opsdeck_schema WHERE version > 1",
    );
    let store = opsdeck::store::Store::connect(&url, None).unwrap();
    assert_eq!(store.head().unwrap().audit_seq, 100);
    let verified = store.verify_audit().unwrap();
    assert!(verified.first_bad.is_none() && verified.verified == 100);
    drop(store);
    assert_eq!(
        pg.psql_in("older", "SELECT max(version) FROM opsdeck_schema"),
        opsdeck::store::PG_SCHEMA_VERSION.to_string()
    );
    assert_eq!(
        pg.psql_in(
            "older",
            "SELECT count(*) FROM pg_indexes WHERE indexname = 'audit_class'"
        ),
        "1"
    );
}

#[test]
fn a_database_from_a_newer_opsdeck_or_out_of_reach_is_refused_with_exit_1() {
    let Some(pg) = crate::support::postgres::Postgres::shared() else {
        return;
    };
    let url = pg.database("newer", None);
    drop(opsdeck::store::Store::connect(&url, None).unwrap());
    pg.psql_in(
        "newer",
        &format!(
            "INSERT INTO opsdeck_schema(version) VALUES ({})",
            opsdeck::store::PG_SCHEMA_VERSION + 1
        ),
    );
    let out = opsdeck(&["--store", &url, "serve", "--listen", "127.0.0.1:0"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("was written by a newer opsdeck")
            && stderr(&out).contains("upgrade opsdeck"),
        "{}",
        stderr(&out)
    );
    // Nothing of the newer schema was touched.
    let versions = pg.psql_in("newer", "SELECT count(*) FROM opsdeck_schema");
    assert_eq!(
        versions,
        (opsdeck::store::PG_SCHEMA_VERSION + 1).to_string(),
        "one row per version, the newer one's included"
    );

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let gone = format!("postgres://opsdeck@127.0.0.1:{port}/opsdeck");
    let out = opsdeck(&["--store", &gone, "serve", "--listen", "127.0.0.1:0"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot reach the database at")
            && stderr(&out).contains("check that PostgreSQL is running"),
        "{}",
        stderr(&out)
    );
    // A password in the URL is refused before anything is tried: it is a usage error.
    let out = opsdeck(&[
        "--store",
        "postgres://opsdeck:hunter2@127.0.0.1/opsdeck",
        "approvals",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("OPSDECK_STORE_PASSWORD"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("hunter2"), "{}", stderr(&out));
}

#[test]
fn doctor_reports_the_server_the_schema_and_the_chain_of_a_database() {
    let Some(pg) = crate::support::postgres::Postgres::shared() else {
        return;
    };
    let url = pg.database("doctor", None);
    let out = opsdeck(&["--store", &url, "demo", "audit", "--records", "25"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = opsdeck(&["--store", &url, "-o", "json", "doctor"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let store = &report["store"];
    assert!(
        store["server"]
            .as_str()
            .unwrap()
            .starts_with(char::is_numeric),
        "{store}"
    );
    assert_eq!(store["schema_version"], opsdeck::store::PG_SCHEMA_VERSION);
    assert_eq!(store["audit_intact"], true, "{store}");
    assert_eq!(store["audit_records"], 25, "{store}");
    // A record changed behind opsdeck's back is named by seq.
    pg.psql_in(
        "doctor",
        "UPDATE audit SET agent_id = 'agent-666' WHERE seq = 7",
    );
    let out = opsdeck(&["--store", &url, "-o", "json", "doctor"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["store"]["audit_first_bad"]["seq"], 7, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_console_fails_over_to_the_next_replica_and_misses_no_event() {
    let dir = tempfile::tempdir().unwrap();
    let Some((_at, mut servers)) = replicas(dir.path()).await else {
        return;
    };
    // The first URL answers nothing at all: the link starts on the next one.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut target = target(&format!("http://{dead}"), ALICE);
    target.also = servers.iter().map(|s| s.url()).collect();
    let console = Link::Remote(Remote::connect(&target, false).await.unwrap());
    let first = servers[0].addr().to_string();
    assert_eq!(console.info().replica.as_deref(), Some(first.as_str()));
    let snapshot = console.snapshot().await.unwrap();
    let mut events = console.subscribe(snapshot.seq).await.unwrap();
    let pending: Vec<String> = snapshot
        .approvals
        .iter()
        .filter(|a| a.is_pending())
        .map(|a| a.id.clone())
        .collect();
    assert!(
        pending.len() >= 2,
        "the seeded hour leaves two pending approvals"
    );
    let mut replicas = Vec::new();
    let mut seqs = Vec::new();
    // Decided on the first replica, seen on the stream.
    let one = console.send(approve(&pending[0], 1)).await.unwrap();
    // That replica goes away; the next decision goes to another, and so does the stream.
    servers.remove(0).stop().await;
    let stopped = std::time::Instant::now();
    let two = console.send(approve(&pending[1], 2)).await.unwrap();
    assert_eq!(two.event_seq, one.event_seq + 1);
    let mut next_seen = None;
    while seqs.last() != Some(&two.event_seq) {
        let event = tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .expect("the stream goes on within 10 s")
            .expect("the subscription stays open");
        match event {
            LinkEvent::Event(e) => {
                if e.seq == two.event_seq {
                    next_seen = Some(stopped.elapsed());
                }
                seqs.push(e.seq);
            }
            LinkEvent::Replica(name) => replicas.push(name),
            LinkEvent::Reset => panic!("a failover within the window needs no reset"),
            _ => {}
        }
    }
    eprintln!(
        "from the replica stopping to the next event on another: {:?}",
        next_seen.unwrap()
    );
    let expected: Vec<u64> = (snapshot.seq + 1..=two.event_seq).collect();
    assert_eq!(
        seqs, expected,
        "every event once, in order, across the failover"
    );
    assert!(
        replicas.iter().any(|r| *r != first),
        "the stream moved to another replica: {replicas:?}"
    );
    for server in servers {
        server.stop().await;
    }
}

/// A keyed decision in `store`: the key a retry would carry.
fn keyed_decision(store: opsdeck::store::Store) -> opsdeck::protocol::IdempotencyKey {
    use opsdeck::engine::{Clock, Engine};
    let mut engine = Engine::open(
        store,
        opsdeck::config::Config::default(),
        Clock::System,
        None,
    )
    .unwrap();
    let id = engine
        .snapshot()
        .approvals
        .into_iter()
        .find(|a| a.is_pending())
        .unwrap()
        .id;
    let key = opsdeck::protocol::IdempotencyKey {
        caller: "operator:alice".into(),
        key: "move-1".into(),
        fingerprint: format!("approve {id}"),
    };
    let actor = opsdeck::protocol::Actor::operator("alice", opsdeck::authority::Role::Enterprise);
    let done = engine
        .execute_once(&actor, approve(&id, 1), Some(key.clone()))
        .unwrap();
    assert!(matches!(done, opsdeck::protocol::Executed::Fresh(_)));
    key
}

#[test]
fn a_store_moves_to_postgres_and_back_with_its_chain_answers_and_events() {
    let Some(pg) = crate::support::postgres::Postgres::shared() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let source = crate::support::orchestrator::seeded_store(dir.path());
    let key = keyed_decision(opsdeck::store::Store::open(&source).unwrap());
    // Old records purged by retention: their bodies are gone, their hashes chain on.
    let out = opsdeck(&["--store", source.to_str().unwrap(), "audit", "prune"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let db = pg.database("moved", None);
    let back = dir.path().join("back.db");
    for (from, to) in [
        (source.to_str().unwrap(), db.as_str()),
        (&db, back.to_str().unwrap()),
    ] {
        let out = opsdeck(&["store", "copy", "--from", from, "--to", to, "-o", "json"]);
        assert!(out.status.success(), "{from} → {to}: {}", stderr(&out));
        let copied: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(copied["verified"].as_u64().unwrap() > 1_000, "{copied}");
        assert_eq!(copied["answers"], 1, "{copied}");
    }
    let (a, b, c) = (
        opsdeck::store::Store::open(&source).unwrap(),
        opsdeck::store::Store::connect(&db, None).unwrap(),
        opsdeck::store::Store::open(&back).unwrap(),
    );
    let (va, vb, vc) = (
        a.verify_audit().unwrap(),
        b.verify_audit().unwrap(),
        c.verify_audit().unwrap(),
    );
    assert_eq!(va, vb, "the database proves what the file proved");
    assert_eq!(va, vc, "and so does the file it went back to");
    assert_eq!(a.head().unwrap(), b.head().unwrap());
    assert_eq!(a.head().unwrap(), c.head().unwrap());
    let now = chrono::Utc::now();
    for query in [
        "type:decision budget",
        "domain:platform",
        "-legacy approved",
    ] {
        let filter = opsdeck::query::parse(query, now).unwrap();
        let seqs = |s: &opsdeck::store::Store| -> Vec<u64> {
            s.search_audit(&filter, None, 50)
                .unwrap()
                .iter()
                .map(|r| r.seq)
                .collect()
        };
        assert_eq!(seqs(&a), seqs(&b), "{query}");
        assert_eq!(seqs(&a), seqs(&c), "{query}");
    }
    let tasks = |s: &opsdeck::store::Store| {
        let listing = opsdeck::query::Listing::new(
            opsdeck::query::ItemKind::Tasks,
            None,
            None,
            None,
            Some(10_000),
            now,
        )
        .unwrap();
        s.list::<opsdeck::model::Task>(&listing).unwrap()
    };
    assert_eq!(tasks(&a), tasks(&b));
    // A retry that reaches the moved store is answered from the answer the move carried.
    use opsdeck::engine::{Clock, Engine};
    let mut engine =
        Engine::open(b, opsdeck::config::Config::default(), Clock::System, None).unwrap();
    let actor = opsdeck::protocol::Actor::operator("alice", opsdeck::authority::Role::Enterprise);
    let id = key.fingerprint.trim_start_matches("approve ").to_string();
    let again = engine
        .execute_once(&actor, approve(&id, 1), Some(key))
        .unwrap();
    assert!(matches!(again, opsdeck::protocol::Executed::Replayed(_)));
    // A destination that holds a store already is refused, and left as it was.
    let out = opsdeck(&[
        "store",
        "copy",
        "--from",
        source.to_str().unwrap(),
        "--to",
        &db,
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("already holds a store"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_that_loses_its_database_says_so_on_healthz_and_recovers() {
    let Some(pg) = crate::support::postgres::Postgres::shared() else {
        return;
    };
    let url = pg.database("lost", None);
    let at = StoreAt::Url(url);
    let server = Server::start(orchestrator_on(&at), &server_config(), "127.0.0.1:0", None)
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let status = |http: reqwest::Client, url: String| async move {
        http.get(format!("{url}/healthz"))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    };
    assert_eq!(status(http.clone(), server.url()).await, 200);
    // The database refuses this replica's connections and drops the ones it had.
    pg.psql("ALTER DATABASE lost ALLOW_CONNECTIONS false");
    pg.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'lost'");
    let wait_for = |want: u16| {
        let (http, url) = (http.clone(), server.url());
        async move {
            let began = std::time::Instant::now();
            while status(http.clone(), url.clone()).await != want {
                assert!(
                    began.elapsed() < Duration::from_secs(15),
                    "healthz never said {want}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    wait_for(503).await;
    let problem: serde_json::Value = http
        .get(format!("{}/healthz", server.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("cannot reach its database"),
        "{problem}"
    );
    assert!(
        !problem.to_string().contains("postgres://"),
        "no URL in an answer"
    );
    pg.psql("ALTER DATABASE lost ALLOW_CONNECTIONS true");
    wait_for(200).await;
    server.stop().await;
}

/// `serve --demo` on several replicas of an empty database: the demo's made-up hour is written
/// once (by the first replica to hold the clock), not once per replica.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_running_the_demo_on_an_empty_database_backfill_its_hour_once() {
    use opsdeck::config::Config;
    use opsdeck::engine::{Clock, Engine};
    use opsdeck::orchestrator::Orchestrator;
    if !runs(Variant::RemotePostgres) {
        return;
    }
    let pg = crate::support::postgres::Postgres::shared().unwrap();
    let url = pg.database("demo_once", None);
    // Every replica opens the empty store before any starts, as replicas started together do.
    let engines: Vec<Engine> = (0..3)
        .map(|_| {
            let store = opsdeck::store::Store::connect(&url, None).unwrap();
            Engine::open(store, Config::default(), Clock::System, None).unwrap()
        })
        .collect();
    let orchestrators: Vec<Orchestrator> = engines
        .into_iter()
        .map(|engine| Orchestrator::start(engine, Some(7)))
        .collect();
    // The backfill is done once the fleet has registered and the clock's holder has moved on
    // to live time: wait until the store holds the fleet and a while passes without a burst.
    let store = opsdeck::store::Store::connect(&url, None).unwrap();
    let mut last = 0;
    for _ in 0..600 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let seq = store.head().unwrap().event_seq;
        if seq > 100 && seq - last < 20 {
            break;
        }
        last = seq;
    }
    let listing = opsdeck::query::Listing {
        kind: opsdeck::query::ItemKind::Agents,
        state: None,
        since: None,
        domain: None,
        limit: 100_000,
    };
    let agents: Vec<opsdeck::model::Agent> = store.list(&listing).unwrap();
    assert!(!agents.is_empty(), "the demo fleet registered");
    let mut names: Vec<(String, String)> = agents
        .iter()
        .map(|a| (a.domain.clone(), a.name.clone()))
        .collect();
    names.sort();
    let before = names.len();
    names.dedup();
    assert_eq!(
        names.len(),
        before,
        "each demo agent registered once, not once per replica"
    );
    let held = orchestrators.iter().filter(|o| o.demo()).count();
    assert_eq!(
        held, 3,
        "every replica runs the demo when it holds the clock"
    );
    for o in &orchestrators {
        o.stop().await;
    }
}
