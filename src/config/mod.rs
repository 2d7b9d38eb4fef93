//! Configuration: TOML at the XDG config path, every key optional and defaulted.
//!
//! `config.example.toml` at the repository root lists every key with its default; a test checks
//! that it parses to exactly `Config::default()`.

pub mod actions;
pub mod attention;
mod color;
pub mod context;
pub mod keys;
pub mod operators;
pub mod policy;
pub mod server;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::Duration;
use serde::{Deserialize, Serialize};

use crate::duration;
use crate::model::Role;

pub use color::ColorMode;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub operator: OperatorConfig,
    /// The operators of this machine, each bound to one OS user (embedded mode).
    pub operators: Vec<operators::LocalOperator>,
    pub store: StoreConfig,
    pub engine: EngineConfig,
    pub approvals: ApprovalConfig,
    pub alerts: AlertConfig,
    pub rollouts: RolloutConfig,
    pub demo: DemoConfig,
    pub console: ConsoleConfig,
    /// How the console calls for attention when something new needs the operator.
    pub attention: attention::AttentionConfig,
    /// Signed checkpoints of the audit chain.
    pub audit: AuditConfig,
    /// `opsdeck serve`: listening address, limits, operator and agent tokens.
    pub server: server::ServerConfig,
    /// Remote orchestrators to connect to by name (`--context NAME`).
    pub contexts: Vec<context::ContextConfig>,
    /// Console key bindings: action name → keys.
    #[serde(default = "keys::default_bindings")]
    pub keymap: BTreeMap<String, Vec<String>>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            operator: OperatorConfig::default(),
            operators: Vec::new(),
            store: StoreConfig::default(),
            engine: EngineConfig::default(),
            approvals: ApprovalConfig::default(),
            alerts: AlertConfig::default(),
            rollouts: RolloutConfig::default(),
            demo: DemoConfig::default(),
            console: ConsoleConfig::default(),
            attention: attention::AttentionConfig::default(),
            audit: AuditConfig::default(),
            server: Default::default(),
            contexts: Vec::new(),
            keymap: keys::default_bindings(),
        }
    }
}

/// The local operator when no `[[operators]]` entry is bound to the OS user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct OperatorConfig {
    /// Empty: the OS user name.
    pub name: String,
    /// Unset: the demo's enterprise role (and the console's header says so).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// Empty: `$XDG_DATA_HOME/opsdeck/opsdeck.db`.
    pub path: String,
    /// A PostgreSQL database (`postgres://USER@HOST:PORT/DATABASE`, never with a password):
    /// when set, the store is there instead of in `path`.
    pub url: String,
    /// A file holding the database password (`OPSDECK_STORE_PASSWORD` wins over it).
    pub password_file: String,
    /// A PEM file of the CA certificates the database server's certificate must chain to
    /// (`OPSDECK_STORE_CA_FILE` wins over it). Empty: the platform's CA certificates.
    pub ca_file: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineConfig {
    pub domains: Vec<String>,
    /// How long an agent holds a task without a heartbeat before it returns to its queue.
    #[serde(with = "duration")]
    pub lease_ttl: Duration,
    /// An agent silent for this long is marked down.
    #[serde(with = "duration")]
    pub heartbeat_timeout: Duration,
    pub max_attempts: u32,
    #[serde(with = "duration")]
    pub retry_base: Duration,
    #[serde(with = "duration")]
    pub retry_max: Duration,
    /// Consecutive failures that take an agent out of rotation.
    pub breaker_failures: u32,
    #[serde(with = "duration")]
    pub breaker_cooldown: Duration,
    /// How often queue and utilization metrics are refreshed (and alert rules evaluated).
    #[serde(with = "duration")]
    pub metrics_interval: Duration,
    /// The rolling window for utilization and error rates.
    #[serde(with = "duration")]
    pub metrics_window: Duration,
    /// A closed item leaves memory this long after it closed.
    #[serde(with = "duration")]
    pub live_horizon: Duration,
    /// At most this many closed items of each kind stay in memory.
    pub live_closed: usize,
}

impl EngineConfig {
    /// What stays in memory and in snapshots.
    pub fn live_window(&self) -> crate::model::LiveWindow {
        crate::model::LiveWindow {
            horizon: self.live_horizon,
            closed: self.live_closed,
        }
    }
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            domains: vec!["product".into(), "platform".into(), "operations".into()],
            lease_ttl: Duration::minutes(2),
            heartbeat_timeout: Duration::seconds(30),
            max_attempts: 4,
            retry_base: Duration::seconds(10),
            retry_max: Duration::minutes(10),
            breaker_failures: 3,
            breaker_cooldown: Duration::minutes(10),
            metrics_interval: Duration::seconds(30),
            metrics_window: Duration::minutes(15),
            live_horizon: crate::model::LiveWindow::default().horizon,
            live_closed: crate::model::LiveWindow::default().closed,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApprovalConfig {
    /// A pending item escalates itself to the next level after this long at its level.
    #[serde(with = "duration")]
    pub domain_deadline: Duration,
    #[serde(with = "duration")]
    pub enterprise_deadline: Duration,
    /// A pending item expires this long after it was raised.
    #[serde(with = "duration")]
    pub expiry: Duration,
}

impl Default for ApprovalConfig {
    fn default() -> Self {
        ApprovalConfig {
            domain_deadline: Duration::minutes(30),
            enterprise_deadline: Duration::hours(2),
            expiry: Duration::hours(24),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertConfig {
    /// Failed share of a domain's finished tasks that pages (twice this opens a SEV1).
    pub error_rate: f64,
    /// Finished tasks a domain needs in the window before its error rate counts.
    pub error_rate_min_samples: u64,
    /// Waiting tasks in one queue that warn.
    pub queue_depth: u32,
    /// Queue wait p95 over this escalates.
    #[serde(with = "duration")]
    pub latency_sla: Duration,
    /// Domain utilization over this plans scaling (raises a resource request).
    pub utilization: f64,
    /// Share of a domain's agents down (no heartbeat within `engine.heartbeat_timeout`) over
    /// which an incident opens: SEV3, or SEV2 when the domain has no live agent left.
    pub agents_down: f64,
}

impl Default for AlertConfig {
    fn default() -> Self {
        AlertConfig {
            error_rate: 0.25,
            error_rate_min_samples: 8,
            queue_depth: 40,
            latency_sla: Duration::minutes(15),
            utilization: 0.9,
            agents_down: 0.5,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RolloutConfig {
    #[serde(with = "duration")]
    pub canary_min: Duration,
    #[serde(with = "duration")]
    pub early_majority_min: Duration,
    #[serde(with = "duration")]
    pub majority_min: Duration,
    /// A canary whose error rate exceeds the baseline by this factor pauses itself.
    pub max_error_ratio: f64,
    /// Canary tasks needed before the health gate judges.
    pub min_samples: u64,
}

impl Default for RolloutConfig {
    fn default() -> Self {
        RolloutConfig {
            canary_min: Duration::minutes(20),
            early_majority_min: Duration::minutes(30),
            majority_min: Duration::minutes(30),
            max_error_ratio: 2.0,
            min_samples: 10,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DemoConfig {
    /// Seed of the demo fleet that runs inside the console and `serve --demo`.
    pub seed: u64,
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig { seed: 7 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsoleConfig {
    /// A built-in theme or `$XDG_CONFIG_HOME/opsdeck/themes/NAME.toml`; `--theme` overrides.
    pub theme: String,
    /// auto, always or never; `--color` overrides.
    pub color: ColorMode,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            theme: "default".into(),
            color: ColorMode::Auto,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// How often `opsdeck serve` and the embedded console write a signed checkpoint of the
    /// audit chain's head into `checkpoint_dir`; 0s: never (`opsdeck audit checkpoint` still
    /// writes one on demand).
    #[serde(with = "duration")]
    pub checkpoint_every: Duration,
    /// Where checkpoints are written. Empty: `audit-checkpoints/` beside the config file.
    pub checkpoint_dir: String,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            checkpoint_every: Duration::zero(),
            checkpoint_dir: String::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "config file {path} is not valid: {message}fix or remove that key (config.example.toml lists every key with its default)"
    )]
    Parse { path: PathBuf, message: String },
}

impl Config {
    /// Reads `path`; a missing file at the default location is the defaults, a missing file that
    /// was asked for explicitly is an error.
    pub fn load(path: &Path, explicit: bool) -> Result<Config, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
                return Ok(Config::default());
            }
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        Config::parse(&text).map_err(|message| ConfigError::Parse {
            path: path.to_path_buf(),
            message,
        })
    }

    pub fn parse(text: &str) -> Result<Config, String> {
        let config: Config = toml::from_str(text).map_err(|e| one_line(text, &e))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), String> {
        let e = &self.engine;
        if e.domains.is_empty() {
            return Err("engine.domains is empty: name at least one domain; ".into());
        }
        if !(0.0..=1.0).contains(&self.alerts.error_rate) {
            return Err("alerts.error_rate must be between 0 and 1; ".into());
        }
        if !(0.0..=1.0).contains(&self.alerts.utilization) {
            return Err("alerts.utilization must be between 0 and 1; ".into());
        }
        if !(0.0..1.0).contains(&self.alerts.agents_down) {
            return Err("alerts.agents_down must be at least 0 and below 1; ".into());
        }
        if e.max_attempts == 0 {
            return Err("engine.max_attempts must be at least 1; ".into());
        }
        if e.metrics_interval <= Duration::zero() || e.lease_ttl <= Duration::zero() {
            return Err("engine.metrics_interval and engine.lease_ttl must be positive; ".into());
        }
        if self.rollouts.max_error_ratio < 1.0 {
            return Err("rollouts.max_error_ratio must be at least 1.0; ".into());
        }
        self.attention.validate()?;
        self.server.validate()?;
        operators::validate(&self.operators)?;
        context::validate(&self.contexts)?;
        keys::resolve(&self.keymap).map_err(|e| format!("{e}; "))?;
        Ok(())
    }
}

/// `line 3, column 1 (key lease_tl): unknown field …`: the TOML error on one line (theme files
/// report their errors the same way).
pub(crate) fn one_line(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim().replace('\n', " ");
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before
                .rsplit('\n')
                .next()
                .map(|l| l.chars().count())
                .unwrap_or(0)
                + 1;
            let line_text = text.lines().nth(line - 1).unwrap_or("");
            let key = match line_text.split_once('=') {
                Some((k, _)) => format!(", key {}", k.trim()),
                None if !line_text.trim().is_empty() => format!(" ({})", line_text.trim()),
                None => String::new(),
            };
            format!("line {line}, column {column}{key}: {message}; ")
        }
        None => format!("{message}; "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_file_is_exactly_the_defaults() {
        let text = include_str!("../../config.example.toml");
        assert_eq!(Config::parse(text).unwrap(), Config::default());
    }

    #[test]
    fn the_example_file_names_every_key() {
        let text = include_str!("../../config.example.toml");
        let defaults = toml::Value::try_from(Config::default()).unwrap();
        let table = defaults.as_table().unwrap();
        for (section, keys) in table {
            // Arrays of tables ([[contexts]]) are empty by default: shown as commented examples.
            let Some(keys) = keys.as_table() else {
                assert!(
                    text.contains(&format!("# [[{section}]]")),
                    "[[{section}]] missing"
                );
                continue;
            };
            assert!(
                text.contains(&format!("[{section}]")),
                "[{section}] missing"
            );
            for (key, value) in keys {
                if value.is_array()
                    && value.as_array().unwrap().is_empty()
                    && key != "domains"
                    && !text.contains(&format!("\n{key} = []"))
                {
                    assert!(
                        text.contains(&format!("# [[{section}.{key}]]")),
                        "[[{section}.{key}]] missing"
                    );
                    continue;
                }
                // A nested table ([server.policy]) is a section of its own, checked key by key.
                if let Some(inner) = value.as_table() {
                    assert!(
                        text.contains(&format!("[{section}.{key}]")),
                        "[{section}.{key}] missing"
                    );
                    for k in inner.keys() {
                        assert!(
                            text.contains(&format!("\n{k} = ")),
                            "{section}.{key}.{k} missing"
                        );
                    }
                    continue;
                }
                let line = format!("\n{key} = ");
                assert!(text.contains(&line), "{section}.{key} missing");
            }
        }
    }

    #[test]
    fn unknown_keys_and_wrong_types_name_the_line_and_key() {
        let err = Config::parse("[engine]\nmax_attempts = 3\nlease_tl = \"1m\"\n").unwrap_err();
        assert!(err.contains("line 3"), "{err}");
        assert!(!err.contains('\n'), "one line: {err}");
        assert!(err.contains("lease_tl"), "{err}");
        let err = Config::parse("[alerts]\nqueue_depth = \"many\"\n").unwrap_err();
        assert!(err.contains("line 2"), "{err}");
        let err = Config::parse("[operator]\nrole = \"admin\"\n").unwrap_err();
        assert!(err.contains("unknown role"), "{err}");
        let err = Config::parse("[engine]\nlease_ttl = \"soon\"\n").unwrap_err();
        assert!(err.contains("invalid duration"), "{err}");
    }
}
