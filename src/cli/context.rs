//! What every command needs: the config, the operator, the store, the output format.

use std::io::IsTerminal;

use super::args::{Format, Global};
use super::error::CliError;
use crate::authority::Role;
use crate::config::Config;
use crate::engine::{Actor, Clock, Engine};
use crate::paths;
use crate::store::Store;

pub struct Context {
    pub global: Global,
    pub config: Config,
    pub operator: String,
    pub role: Role,
}

impl Context {
    pub fn load(global: Global) -> Result<Context, CliError> {
        let (path, explicit) = config_location(&global)?;
        let config = Config::load(&path, explicit)?;
        let operator = operator_name(&global, &config);
        if operator.chars().any(|c| c.is_control() || c == ':') || operator.len() > 64 {
            return Err(CliError::Usage(format!(
                "operator name {:?} is not usable: no colons or control characters, at most 64 bytes",
                crate::text::SafeText::new(&operator).as_str()
            )));
        }
        let role = config.operator.role.clone();
        Ok(Context {
            global,
            config,
            operator,
            role,
        })
    }

    pub fn format(&self) -> Format {
        self.global
            .output
            .unwrap_or(if std::io::stdout().is_terminal() {
                Format::Table
            } else {
                Format::Json
            })
    }

    fn store_path(&self) -> Result<std::path::PathBuf, CliError> {
        store_path(&self.global, &self.config)
    }

    /// Opens the store, creating it if needed (the console, `demo run`).
    pub fn open_store(&self) -> Result<Store, CliError> {
        if self.global.ephemeral {
            return Ok(Store::open_in_memory()?);
        }
        Ok(Store::open(&self.store_path()?)?)
    }

    /// Opens a store that must already exist: a mistyped path is an error, not a new store.
    pub fn existing_store(&self) -> Result<Store, CliError> {
        if !self.global.ephemeral {
            let path = self.store_path()?;
            if !path.exists() {
                return Err(CliError::Runtime(format!(
                    "no opsdeck store at {}: check --store, or create one by running `opsdeck` or `opsdeck demo run`",
                    path.display()
                )));
            }
        }
        self.open_store()
    }

    /// The engine on an existing store, on the store's own clock.
    pub fn engine(&self) -> Result<Engine, CliError> {
        Ok(Engine::open(
            self.existing_store()?,
            self.config.clone(),
            Clock::System,
            None,
        )?)
    }

    pub fn actor(&self) -> Actor {
        Actor::operator(&self.operator, self.role.clone())
    }

    pub fn require_writable(&self) -> Result<(), CliError> {
        if self.global.read_only {
            return Err(CliError::Refused(
                "read-only: this command would change something; drop --read-only to act".into(),
            ));
        }
        Ok(())
    }
}

/// The operator's name: `--as`, else `[operator] name`, else the OS user.
pub fn operator_name(global: &Global, config: &Config) -> String {
    global
        .as_operator
        .clone()
        .filter(|n| !n.trim().is_empty())
        .or_else(|| Some(config.operator.name.clone()).filter(|n| !n.is_empty()))
        .or_else(|| std::env::var("USER").ok().filter(|n| !n.is_empty()))
        .or_else(|| std::env::var("LOGNAME").ok().filter(|n| !n.is_empty()))
        .or_else(os_user)
        .unwrap_or_else(|| "unknown".to_string())
}

/// The store file: `--store`, else `[store] path`, else the XDG default.
pub fn store_path(global: &Global, config: &Config) -> Result<std::path::PathBuf, CliError> {
    Ok(match &global.store {
        Some(p) => p.clone(),
        None if !config.store.path.is_empty() => config.store.path.clone().into(),
        None => paths::default_store()?,
    })
}

/// The config file to read, and whether it was asked for (`--config`, `OPSDECK_CONFIG`) rather
/// than found at the default place.
pub fn config_location(global: &Global) -> Result<(std::path::PathBuf, bool), CliError> {
    Ok(match &global.config {
        Some(p) => (p.clone(), true),
        None => (paths::config_file()?, false),
    })
}

/// The login name of this process's user, from /etc/passwd (when USER and LOGNAME are unset,
/// as under some service managers and in containers).
fn os_user() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .to_string();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        (fields.nth(1)? == uid).then(|| name.to_string())
    })
}
