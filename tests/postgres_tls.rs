//! TLS to PostgreSQL: the real binary against a cluster with `ssl = on` and a certificate from
//! a CA of the test's own. With the CA (`OPSDECK_STORE_CA_FILE` or `[store] ca_file`) every
//! session is encrypted, the server says so; without it, or on a host the certificate does not
//! name, opsdeck refuses with exit 1 and says what to set; a CA file that is no CA file is a
//! configuration error (exit 2); `sslmode=disable` still connects in the clear.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::orchestrator::{FLEET, VIEWER};
use crate::support::postgres::Postgres;
use opsdeck::config::server::token_hash;
use opsdeck::protocol::{Command as Cmd, Outcome, RegisterAgent, Reply};

const BIN: &str = env!("CARGO_BIN_EXE_opsdeck");

/// One TLS cluster for this module's tests (each takes a database of its own), stopped after
/// the test process ends.
fn cluster() -> Option<&'static Postgres> {
    Postgres::shared_tls()
}

/// The database `name` on the TLS cluster, reached at `host`, with `query` after the `?`.
fn url(pg: &Postgres, host: &str, name: &str, query: &str) -> String {
    format!("postgres://postgres@{host}:{}/{name}?{query}", pg.port)
}

/// The binary with a clean environment for the store: no password, no CA unless `ca` is given.
fn opsdeck(args: &[&str], ca: Option<&Path>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env("HOME", "/nonexistent")
        .env_remove("OPSDECK_STORE_PASSWORD")
        .env_remove("OPSDECK_STORE_CA_FILE")
        .env_remove("OPSDECK_CONFIG");
    if let Some(ca) = ca {
        cmd.env("OPSDECK_STORE_CA_FILE", ca);
    }
    cmd.output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `doctor -o json`'s store section.
fn doctor(store: &str, ca: Option<&Path>) -> serde_json::Value {
    let out = opsdeck(&["--store", store, "-o", "json", "doctor"], ca);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("doctor's JSON ({e}): {}", stderr(&out)));
    report["store"].clone()
}

#[test]
fn with_the_ca_a_store_is_used_over_tls_by_url_host_name_and_address() {
    let Some(pg) = cluster() else { return };
    pg.database("tls_doctor", None);
    let dir = tempfile::tempdir().unwrap();
    // [store] ca_file in the config file: a store filled over TLS.
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[store]\nca_file = {:?}\n",
            pg.ca_file().display().to_string()
        ),
    )
    .unwrap();
    let require = url(pg, "127.0.0.1", "tls_doctor", "sslmode=require");
    let out = opsdeck(
        &[
            "--config",
            config.to_str().unwrap(),
            "--store",
            &require,
            "demo",
            "audit",
            "--records",
            "25",
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));

    // OPSDECK_STORE_CA_FILE: doctor reads it back over TLS, and the server says its session
    // was encrypted.
    for store in [
        require.clone(),
        url(pg, "localhost", "tls_doctor", "sslmode=require"),
        // No sslmode: prefer, which uses TLS since the server offers it.
        url(pg, "127.0.0.1", "tls_doctor", "connect_timeout=5"),
    ] {
        let found = doctor(&store, Some(pg.ca_file()));
        assert_eq!(found["error"], serde_json::Value::Null, "{store}: {found}");
        assert_eq!(found["audit_records"], 25, "{found}");
        assert_eq!(found["audit_intact"], true, "{found}");
        let tls = found["tls"].as_str().unwrap_or_else(|| panic!("{found}"));
        assert!(tls.starts_with("TLSv1."), "{tls}");
        assert!(tls.contains(&pg.ca_file().display().to_string()), "{tls}");
    }
    let out = opsdeck(&["--store", &require, "doctor"], Some(pg.ca_file()));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("tls") && text.contains("TLSv1."), "{text}");
}

/// The server's config: an agent token, so that a command can be sent over HTTP, and a viewer's,
/// so that a search runs on a read thread.
fn serve_config(dir: &Path, ca: &Path) -> std::path::PathBuf {
    let path = dir.join("serve.toml");
    std::fs::write(
        &path,
        format!(
            "[store]\nca_file = {:?}\n[[server.agents]]\nname = \"fleet\"\ntoken_sha256 = \"{}\"\n[[server.operators]]\nname = \"victor\"\nrole = \"viewer\"\ntoken_sha256 = \"{}\"\n",
            ca.display().to_string(),
            token_hash(FLEET),
            token_hash(VIEWER)
        ),
    )
    .unwrap();
    path
}

struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_on_tls_serves_and_every_session_it_holds_is_encrypted() {
    let Some(pg) = cluster() else { return };
    let _ = rustls::crypto::ring::default_provider().install_default();
    pg.database("tls_serve", None);
    let dir = tempfile::tempdir().unwrap();
    let config = serve_config(dir.path(), pg.ca_file());
    let store = url(pg, "127.0.0.1", "tls_serve", "sslmode=require");
    let port = crate::support::ports::free_port();
    let serving = Serving(
        Command::new(BIN)
            .args(["--config", config.to_str().unwrap(), "--store", &store])
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .env("HOME", "/nonexistent")
            .env("XDG_STATE_HOME", dir.path().join("state"))
            .env_remove("OPSDECK_STORE_CA_FILE")
            .env_remove("OPSDECK_STORE_PASSWORD")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    // Up, on the database, and holding the clock (its lease is a session of its own).
    let began = Instant::now();
    loop {
        let health = async {
            http.get(format!("{base}/healthz"))
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .ok()?
                .json::<serde_json::Value>()
                .await
                .ok()
        }
        .await;
        if let Some(h) = &health
            && h["database"] == "reachable"
            && h["clock"] == true
        {
            break;
        }
        assert!(
            began.elapsed() < Duration::from_secs(30),
            "the replica did not come up on the TLS database: {health:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A command over HTTP lands in the database.
    let register = Cmd::RegisterAgent(RegisterAgent {
        name: "tls".into(),
        domain: "platform".into(),
        team: "infra".into(),
        skills: vec!["go".into()],
        version: "1.0.0".into(),
    });
    let answer = http
        .post(format!("{base}{}", register.path().unwrap()))
        .bearer_auth(FLEET)
        .header("idempotency-key", "tls-register")
        .json(&register.body())
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{:?}", answer.text().await);
    let outcome: Outcome = answer.json().await.unwrap();
    assert!(
        matches!(outcome.reply, Reply::Created { .. }),
        "{outcome:?}"
    );
    let db = opsdeck::store::Store::connect_with(
        &store,
        &opsdeck::store::PgAccess {
            password: None,
            ca: Some(opsdeck::store::CaFile::read(pg.ca_file()).unwrap()),
        },
    )
    .unwrap();
    for seq in &outcome.audit_seqs {
        assert!(db.audit_record(*seq).unwrap().is_some(), "record {seq}");
    }
    drop(db);
    // A search, read on a read thread's session of its own.
    let found = http
        .get(format!("{base}/v1/audit?q=type:execution"))
        .bearer_auth(VIEWER)
        .send()
        .await
        .unwrap();
    assert!(found.status().is_success(), "{:?}", found.text().await);

    // The server's view: the doorbell (LISTEN), the clock's lock, the pool, the engine's
    // session and the read threads', all encrypted.
    let backends = "FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.datname = 'tls_serve' AND a.backend_type = 'client backend'";
    let began = Instant::now();
    loop {
        let listening = pg.psql(&format!(
            "SELECT count(*) {backends} AND a.query LIKE 'LISTEN%'"
        ));
        if listening == "1" {
            break;
        }
        assert!(began.elapsed() < Duration::from_secs(10), "no doorbell");
        std::thread::sleep(Duration::from_millis(100));
    }
    let plain = pg.psql(&format!("SELECT count(*) {backends} AND NOT s.ssl"));
    let encrypted = pg.psql(&format!("SELECT count(*) {backends} AND s.ssl"));
    assert_eq!(plain, "0", "sessions in the clear");
    assert!(
        encrypted.parse::<u32>().unwrap() >= 5,
        "the pool, the doorbell, the clock, the engine's and a read thread's: {encrypted}"
    );
    let doorbell = pg.psql(&format!(
        "SELECT s.ssl {backends} AND a.query LIKE 'LISTEN%'"
    ));
    assert_eq!(doorbell, "t", "the doorbell's session is encrypted");
    let clock = pg.psql(
        "SELECT string_agg(s.ssl::text, ',') FROM pg_locks l JOIN pg_stat_ssl s USING (pid) WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = 'tls_serve')",
    );
    assert_eq!(
        clock, "true",
        "the clock's lease is held on an encrypted session"
    );
    drop(serving);
}

#[test]
fn a_certificate_opsdeck_cannot_trust_is_refused_with_exit_1_saying_to_set_ca_file() {
    let Some(pg) = cluster() else { return };
    pg.database("tls_refused", None);
    let store = url(pg, "127.0.0.1", "tls_refused", "sslmode=require");
    // The platform's roots know nothing of the test's CA; a password set is never shown.
    let mut cmd = Command::new(BIN);
    cmd.args(["--store", &store, "serve", "--listen", "127.0.0.1:0"])
        .env("HOME", "/nonexistent")
        .env("OPSDECK_STORE_PASSWORD", "s3cret-pw-9")
        .env_remove("OPSDECK_STORE_CA_FILE");
    for out in [
        cmd.output().unwrap(),
        opsdeck(&["--store", &store, "approvals"], None),
    ] {
        let said = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{said}");
        assert!(
            said.contains("TLS failed")
                && said.contains("certificate")
                && said.contains("[store] ca_file")
                && said.contains("OPSDECK_STORE_CA_FILE"),
            "{said}"
        );
        assert!(!said.contains("s3cret-pw-9"), "{said}");
    }
    // With the CA, but on a host the certificate does not name.
    let elsewhere = url(pg, "127.0.0.2", "tls_refused", "sslmode=require");
    let out = opsdeck(&["--store", &elsewhere, "approvals"], Some(pg.ca_file()));
    let said = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("TLS failed") && said.contains("not issued for the host"),
        "{said}"
    );
    // doctor names the same problem.
    let found = doctor(&store, None);
    let error = found["error"].as_str().unwrap_or_else(|| panic!("{found}"));
    assert!(
        error.contains("TLS failed") && error.contains("ca_file"),
        "{error}"
    );
}

#[test]
fn a_ca_file_that_cannot_be_read_or_holds_no_certificate_is_a_usage_error() {
    let Some(pg) = cluster() else { return };
    let store = url(pg, "127.0.0.1", "postgres", "sslmode=require");
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-ca.pem");
    let not_pem = dir.path().join("notes.txt");
    std::fs::write(&not_pem, "this is not a certificate\n").unwrap();
    let key = pg.tls_dir().join("server.key");
    for (ca, says) in [
        (&missing, "cannot read the CA file"),
        (&not_pem, "holds no certificate"),
        (&key, "holds no certificate"),
    ] {
        let out = opsdeck(&["--store", &store, "approvals"], Some(ca));
        let said = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{said}");
        assert!(
            said.contains(says)
                && said.contains(&ca.display().to_string())
                && said.contains("OPSDECK_STORE_CA_FILE or [store] ca_file"),
            "{said}"
        );
    }
    // The same from the config file, for doctor too.
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!("[store]\nca_file = {:?}\n", missing.display().to_string()),
    )
    .unwrap();
    let out = opsdeck(
        &[
            "--config",
            config.to_str().unwrap(),
            "--store",
            &store,
            "doctor",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot read the CA file"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn sslmode_disable_connects_in_the_clear_and_require_needs_a_server_with_tls() {
    let Some(pg) = cluster() else { return };
    pg.database("tls_disabled", None);
    // No CA needed, none used: the session is not encrypted.
    let store = url(pg, "127.0.0.1", "tls_disabled", "sslmode=disable");
    let out = opsdeck(
        &["--store", &store, "demo", "audit", "--records", "5"],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let found = doctor(&store, None);
    assert_eq!(found["error"], serde_json::Value::Null, "{found}");
    assert_eq!(found["audit_records"], 5, "{found}");
    assert_eq!(found["tls"], serde_json::Value::Null, "{found}");

    // A server without TLS, asked for it.
    let Some(plain) = Postgres::shared() else {
        return;
    };
    let store = format!("{}?sslmode=require", plain.url());
    let out = opsdeck(&["--store", &store, "approvals"], None);
    let said = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("TLS failed") && said.contains("does not offer TLS"),
        "{said}"
    );
    // libpq's verify-full asks for what require does here: the same refusal.
    let out = opsdeck(
        &[
            "--store",
            &format!("{}?sslmode=verify-full", plain.url()),
            "approvals",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("does not offer TLS"),
        "{}",
        stderr(&out)
    );
}
