//! The server process: its config with the bench's tokens, starting it, stopping it.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::BenchResult;

const BIN: &str = env!("CARGO_BIN_EXE_opsdeck");

/// The server's files and address; one operator token for everything the bench does.
pub struct Setup {
    dir: tempfile::TempDir,
    port: u16,
    pub token: String,
    /// For raising escalations, so that every round-trip set has approvals to decide.
    pub agent_token: String,
}

impl Setup {
    pub fn new() -> BenchResult<Setup> {
        let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
        let token = opsdeck::config::server::new_token();
        let agent_token = opsdeck::config::server::new_token();
        let config = server_config(&token, &agent_token);
        std::fs::write(dir.path().join("config.toml"), config)
            .map_err(|e| format!("writing the server config: {e}"))?;
        Ok(Setup {
            dir,
            port: free_port()?,
            token,
            agent_token,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// Starts `opsdeck serve --demo`; its stderr goes to `serve.log` in the bench's directory.
    pub fn spawn_server(&self) -> BenchResult<Server> {
        let dir = self.dir.path();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("serve.log"))
            .map_err(|e| format!("serve.log: {e}"))?;
        let store = dir.join("bench.db");
        let config = dir.join("config.toml");
        Command::new(BIN)
            .arg("--store")
            .arg(&store)
            .arg("--config")
            .arg(&config)
            .args(["serve", "--demo", "--listen", &self.addr().to_string()])
            // Whatever the shell points opsdeck at must not leak into the bench's server.
            .env_remove("OPSDECK_URL")
            .env_remove("OPSDECK_CONTEXT")
            .env_remove("OPSDECK_TOKEN")
            .env("XDG_STATE_HOME", dir.join("state"))
            .env("XDG_CONFIG_HOME", dir.join("config"))
            .env("XDG_DATA_HOME", dir.join("data"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map(Server)
            .map_err(|e| format!("starting {BIN}: {e}"))
    }

    /// What the server said on stderr, and the warnings and errors in its log file.
    pub fn server_complaints(&self) -> Vec<String> {
        let dir = self.dir.path();
        let stderr = std::fs::read_to_string(dir.join("serve.log")).unwrap_or_default();
        let log =
            std::fs::read_to_string(dir.join("state/opsdeck/opsdeck.log")).unwrap_or_default();
        let said = stderr
            .lines()
            .filter(|l| !l.starts_with("opsdeck: serving"));
        let logged = log
            .lines()
            .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "));
        said.chain(logged).map(str::to_string).collect()
    }
}

/// The server process; killed if the bench ends early, so none outlives it.
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Rate limits far above what the bench sends: they are not what is measured.
fn server_config(token: &str, agent_token: &str) -> String {
    let hash = opsdeck::config::server::token_hash(token);
    let agent_hash = opsdeck::config::server::token_hash(agent_token);
    format!(
        "[server]\noperator_rate_per_minute = 1000000\noperator_burst = 100000\n\n\
         [[server.operators]]\nname = \"bench\"\nrole = \"executive\"\ntoken_sha256 = \"{hash}\"\n\n\
         [[server.agents]]\nname = \"bench-fleet\"\ntoken_sha256 = \"{agent_hash}\"\n"
    )
}

/// A port free now; the server binds it by number on every restart.
fn free_port() -> BenchResult<u16> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

/// SIGTERM (the server ends its streams, drains and closes the store), then waits for the exit.
/// Polls rather than blocks: the remote link's tasks run on this thread too.
pub async fn stop_server(server: &mut Server) -> BenchResult<Duration> {
    let server = &mut server.0;
    let started = Instant::now();
    Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .map_err(|e| format!("kill -TERM: {e}"))?;
    loop {
        if server.try_wait().map_err(|e| e.to_string())?.is_some() {
            return Ok(started.elapsed());
        }
        if started.elapsed() > Duration::from_secs(30) {
            let _ = server.kill();
            return Err("the server did not stop within 30 s of SIGTERM".into());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}
