//! `[server]` in the config: where `opsdeck serve` listens, its limits, and who may call it.
//! Tokens are never stored, only their SHA-256 (`opsdeck token new` prints both).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::Role;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// The orchestrator's name, shown in every console's header.
    pub name: String,
    /// Address and port to listen on; `--listen` overrides.
    pub listen: String,
    /// PEM certificate chain and private key for HTTPS; both empty: plain HTTP.
    pub tls_cert: String,
    pub tls_key: String,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Mutations each operator may send per minute, and in one burst.
    pub operator_rate_per_minute: u32,
    pub operator_burst: u32,
    /// Requests each agent token may send per second, and in one burst.
    pub agent_rate_per_second: u32,
    pub agent_burst: u32,
    /// Events a console may fall behind before it is told to take a fresh snapshot.
    pub client_buffer: usize,
    /// Seconds a client has to send a request's headers (also how long an idle keep-alive
    /// connection stays open).
    pub header_read_timeout_secs: u64,
    /// Connections open at once. At the cap, the connection that has waited longest without
    /// sending a whole request is closed to make room; if none is, the newcomer is refused.
    pub max_connections: usize,
    /// Request bytes each agent token may send per minute on the agent endpoints (over: 429).
    pub agent_bytes_per_minute: u32,
    /// Serve /metrics without a token (default: an operator token is needed).
    pub metrics_open: bool,
    pub operators: Vec<OperatorToken>,
    pub agents: Vec<AgentToken>,
    /// A file holding the secret that signs decision callbacks (HMAC-SHA256); empty: no
    /// callbacks.
    pub callback_secret_file: String,
    /// URL prefixes a callback may go to (`https://ci.example.com/hooks/`); a callback_url
    /// outside them is refused when raised.
    pub callback_prefixes: Vec<String>,
    /// What agents' tool calls get (the hook endpoint and MCP's `permission_prompt`).
    pub policy: super::policy::PolicyConfig,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            name: "opsdeck".into(),
            listen: "127.0.0.1:7300".into(),
            tls_cert: String::new(),
            tls_key: String::new(),
            max_body_bytes: 64 * 1024,
            operator_rate_per_minute: 120,
            operator_burst: 20,
            agent_rate_per_second: 200,
            agent_burst: 400,
            client_buffer: 1024,
            header_read_timeout_secs: 10,
            max_connections: 512,
            agent_bytes_per_minute: 8 * 1024 * 1024,
            metrics_open: false,
            operators: Vec::new(),
            agents: Vec::new(),
            callback_secret_file: String::new(),
            callback_prefixes: Vec::new(),
            policy: Default::default(),
        }
    }
}

/// A person who may use the console or the CLI against this server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorToken {
    pub name: String,
    pub role: Role,
    /// Hex SHA-256 of the operator's token.
    pub token_sha256: String,
}

/// A fleet of agents (or one agent) that may use the agent endpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentToken {
    pub name: String,
    pub token_sha256: String,
    /// The domains its agents may join and its work may go to (empty: every domain).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub domains: Vec<String>,
    /// Agents it may act for besides those it registered (e.g. agents that joined before tokens
    /// owned their agents, or the orchestrator's own).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agents: Vec<String>,
}

impl ServerConfig {
    /// Checks what serde cannot: hashes, names, limits.
    pub fn validate(&self) -> Result<(), String> {
        super::policy::Policy::from_config(&self.policy).map_err(|e| format!("{e}; "))?;
        for prefix in &self.callback_prefixes {
            if !(prefix.starts_with("https://") || prefix.starts_with("http://"))
                || prefix
                    .split_once("://")
                    .is_some_and(|(_, r)| !r.contains('/'))
            {
                return Err(format!(
                    "server.callback_prefixes: {prefix:?} must be an http(s) URL with a path, like \"https://ci.example.com/hooks/\"; "
                ));
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        let named = self
            .operators
            .iter()
            .map(|o| ("server.operators", &o.name, &o.token_sha256))
            .chain(
                self.agents
                    .iter()
                    .map(|a| ("server.agents", &a.name, &a.token_sha256)),
            );
        for (section, name, hash) in named {
            if !valid_name(name) {
                return Err(format!(
                    "{section}: name {name:?} must be 1-64 letters, digits, '.', '_' or '-'; "
                ));
            }
            if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!(
                    "{section} {name}: token_sha256 must be 64 hex digits (run `opsdeck token new {name}`); "
                ));
            }
            if !seen.insert(hash.to_ascii_lowercase()) {
                return Err(format!(
                    "{section} {name}: the same token is configured twice; give each its own; "
                ));
            }
        }
        if self.max_body_bytes < 1024 {
            return Err("server.max_body_bytes must be at least 1024; ".into());
        }
        if self.operator_rate_per_minute == 0 || self.agent_rate_per_second == 0 {
            return Err("server rates must be at least 1; ".into());
        }
        if self.client_buffer < 16 {
            return Err("server.client_buffer must be at least 16; ".into());
        }
        if !(1..=300).contains(&self.header_read_timeout_secs) {
            return Err("server.header_read_timeout_secs must be between 1 and 300; ".into());
        }
        if self.max_connections < 8 {
            return Err("server.max_connections must be at least 8; ".into());
        }
        if (self.agent_bytes_per_minute as usize) < self.max_body_bytes {
            return Err(
                "server.agent_bytes_per_minute must be at least server.max_body_bytes, or no agent body that size could ever pass; ".into(),
            );
        }
        if self.tls_cert.is_empty() != self.tls_key.is_empty() {
            return Err(
                "server.tls_cert and server.tls_key go together: set both or neither; ".into(),
            );
        }
        Ok(())
    }
}

pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// Hex SHA-256 of a token, as `token_sha256` holds it.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

/// A fresh token: 32 random bytes from the OS, hex, with a prefix that says what it is.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    format!("opsd_{}", hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_fresh_and_hash_to_64_hex_digits() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert!(a.starts_with("opsd_") && a.len() == 69);
        let hash = token_hash(&a);
        assert_eq!(hash.len(), 64);
        assert_eq!(
            hash,
            token_hash(&format!("{a}\n")),
            "a trailing newline from a file is ignored"
        );
        assert_ne!(hash, token_hash(&b));
    }

    #[test]
    fn validation_names_the_bad_entry() {
        let mut config = ServerConfig::default();
        config.operators.push(OperatorToken {
            name: "alice".into(),
            role: Role::Enterprise,
            token_sha256: "abc".into(),
        });
        let err = config.validate().unwrap_err();
        assert!(err.contains("alice") && err.contains("64 hex"), "{err}");
        config.operators[0].token_sha256 = token_hash("t");
        config.agents.push(AgentToken {
            name: "fleet".into(),
            token_sha256: token_hash("t"),
            domains: vec![],
            agents: vec![],
        });
        assert!(config.validate().unwrap_err().contains("twice"));
        config.agents[0].token_sha256 = token_hash("u");
        config.validate().unwrap();
        config.agents[0].name = "bad name".into();
        assert!(config.validate().unwrap_err().contains("bad name"));
    }
}
