//! What every command needs: the config, the operator, the store, the output format.

use std::io::IsTerminal;

use super::args::{Format, Global};
use super::error::CliError;
use crate::authority::Role;
use crate::config::Config;
use crate::config::operators::{Identity, RoleSource};
use crate::link::{Embedded, EmbeddedOptions, Link, LinkError, Remote, Target};
use crate::orchestrator::Orchestrator;
use crate::paths;
use crate::protocol::Actor;
use crate::store::{CaFile, PgAccess, Store};

pub struct Context {
    pub global: Global,
    pub config: Config,
    pub operator: String,
    pub role: Role,
    /// Whether the role is bound to the OS user, set in `[operator]`, or the demo's default.
    pub role_source: RoleSource,
}

impl Context {
    pub fn load(global: Global) -> Result<Context, CliError> {
        if token_on_command_line(std::env::args_os()) {
            eprintln!(
                "opsdeck: warning: a token given with --token is visible to other local users (the process list, shell history); put it in OPSDECK_TOKEN or a context's token_file"
            );
        }
        let (path, explicit) = config_location(&global)?;
        let config = Config::load(&path, explicit)?;
        let identity = local_identity(&global, &config)?;
        Ok(Context {
            global,
            config,
            operator: identity.name,
            role: identity.role,
            role_source: identity.source,
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

    /// The demo fleet's lease on this store: `Ok(Some(lease))` when this process may run it
    /// (held until the lease is dropped, released by the OS if the process dies), `Ok(None)`
    /// for an in-memory store, and `Err(holder)` when another process already runs it.
    pub fn demo_lease(&self) -> Result<Option<DemoLease>, String> {
        if self.global.ephemeral {
            return Ok(None);
        }
        // A database's replicas share their demo fleet through the clock (not yet: none runs
        // it by lease there).
        let Ok(StoreTarget::File(path)) = store_target(&self.global, &self.config) else {
            return Ok(None);
        };
        DemoLease::take(&path).map(Some)
    }

    /// Opens the store, creating it if needed (the console, `demo run`).
    pub fn open_store(&self) -> Result<Store, CliError> {
        if self.global.ephemeral {
            return Ok(Store::open_in_memory()?);
        }
        store_target(&self.global, &self.config)?.open()
    }

    /// Opens a store that must already exist: a mistyped path is an error, not a new store.
    pub fn existing_store(&self) -> Result<Store, CliError> {
        if !self.global.ephemeral
            && let StoreTarget::File(path) = store_target(&self.global, &self.config)?
            && !path.exists()
        {
            return Err(CliError::Runtime(format!(
                "no opsdeck store at {}: check --store, or create one by running `opsdeck` or `opsdeck demo run`",
                path.display()
            )));
        }
        self.open_store()
    }

    pub fn actor(&self) -> Actor {
        Actor::operator(&self.operator, self.role.clone())
    }

    /// The remote orchestrator chosen by `--context` or `--connect`, if any.
    pub fn target(&self) -> Result<Option<Target>, CliError> {
        if let Some(name) = &self.global.context {
            let context = crate::config::context::find(&self.config.contexts, name)
                .map_err(|e| CliError::Usage(e.to_string()))?;
            let mut target = context
                .target()
                .map_err(|e| CliError::Usage(e.to_string()))?;
            if let Some(token) = &self.global.token {
                target.token = token.clone();
            }
            return Ok(Some(target));
        }
        let Some(url) = &self.global.connect else {
            return Ok(None);
        };
        let token = self.global.token.clone().filter(|t| !t.trim().is_empty()).ok_or_else(|| {
            CliError::Usage(format!(
                "--connect {url} needs a token: --token TOKEN or OPSDECK_TOKEN (a [[contexts]] entry can keep it in a file)"
            ))
        })?;
        Ok(Some(Target {
            context: None,
            url: url.clone(),
            also: Vec::new(),
            token,
            read_only: false,
        }))
    }

    /// The remote orchestrator for an agent fleet: like `target`, but the token comes later
    /// (`--agent-token`), so none is needed here.
    pub fn target_for_agents(&self) -> Result<Option<Target>, CliError> {
        if self.global.context.is_some() {
            return self.target();
        }
        Ok(self.global.connect.as_ref().map(|url| Target {
            context: None,
            url: url.clone(),
            also: Vec::new(),
            token: String::new(),
            read_only: false,
        }))
    }

    /// Refuses commands that only make sense on a local store.
    pub fn require_local(&self, what: &str) -> Result<(), CliError> {
        if self.global.connect.is_some() || self.global.context.is_some() {
            return Err(CliError::Usage(format!(
                "{what} works on a local store, not over --connect/--context: run it where the store is (the server's host)"
            )));
        }
        Ok(())
    }

    /// Runs `work` through the link: to the remote orchestrator when one was chosen, else to
    /// the local store's engine on its own thread (answering requests only, no clock).
    pub fn with_link<T, F, Fut>(&self, work: F) -> Result<T, CliError>
    where
        F: FnOnce(Link) -> Fut,
        Fut: std::future::Future<Output = Result<T, LinkError>>,
    {
        let target = self.target()?;
        let local = match target {
            Some(_) => None,
            // The engine (and the live set it loads) opens only if the command needs it: a
            // listing or a search reads the store by index.
            None => {
                let config = self.config.clone();
                Some(Orchestrator::on_demand(
                    self.existing_store()?,
                    Box::new(move |store| {
                        crate::engine::Engine::open(
                            store,
                            config,
                            crate::engine::Clock::System,
                            None,
                        )
                    }),
                )?)
            }
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| CliError::Runtime(format!("cannot start the async runtime: {e}")))?;
        runtime
            .block_on(async {
                let link = match (target, local) {
                    (Some(target), _) => {
                        Link::Remote(Remote::connect(&target, self.global.read_only).await?)
                    }
                    (None, orchestrator) => Link::Embedded(Embedded::on(
                        orchestrator.expect("opened above"),
                        EmbeddedOptions {
                            actor: self.actor(),
                            read_only: self.global.read_only,
                        },
                    )),
                };
                work(link).await
            })
            .map_err(CliError::from)
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

/// Whether the token was typed as an argument (rather than read from the environment).
fn token_on_command_line(args: impl Iterator<Item = std::ffi::OsString>) -> bool {
    args.skip(1)
        .take_while(|a| a != "--")
        .any(|a| a == "--token" || a.to_string_lossy().starts_with("--token="))
}

/// The local operator (embedded mode): the OS user as the config binds them (`[[operators]]`,
/// else `[operator]`); `--as` may name only an operator bound to the same OS user.
pub fn local_identity(global: &Global, config: &Config) -> Result<Identity, CliError> {
    let asked = global
        .as_operator
        .as_deref()
        .filter(|n| !n.trim().is_empty());
    for name in asked.into_iter().chain(Some(config.operator.name.as_str())) {
        if name.chars().any(|c| c.is_control() || c == ':') || name.len() > 64 {
            return Err(CliError::Usage(format!(
                "operator name {:?} is not usable: no colons or control characters, at most 64 bytes",
                crate::text::SafeText::new(name).as_str()
            )));
        }
    }
    crate::config::operators::resolve(config, &os_user_name(), asked)
        .map_err(|e| CliError::Usage(e.to_string()))
}

/// The account this process runs as: its real uid's name (not `$USER`, which anyone sets).
pub fn os_user_name() -> String {
    os_user()
        .or_else(|| std::env::var("USER").ok().filter(|n| !n.is_empty()))
        .or_else(|| std::env::var("LOGNAME").ok().filter(|n| !n.is_empty()))
        .unwrap_or_else(|| "unknown".to_string())
}

/// The store file: `--store`, else `[store] path`, else the XDG default.
pub fn store_path(global: &Global, config: &Config) -> Result<std::path::PathBuf, CliError> {
    match store_target(global, config)? {
        StoreTarget::File(path) => Ok(path),
        StoreTarget::Postgres { .. } => Err(CliError::Usage(
            "this command works on a SQLite store file; the store here is a PostgreSQL database (use `opsdeck store copy` to move between them)".into(),
        )),
    }
}

/// Where the store is: a SQLite file, or a PostgreSQL database with its password and CA.
pub enum StoreTarget {
    File(std::path::PathBuf),
    Postgres { url: String, access: PgAccess },
}

impl StoreTarget {
    pub fn open(&self) -> Result<Store, CliError> {
        Ok(match self {
            StoreTarget::File(path) => Store::open(path)?,
            StoreTarget::Postgres { url, access } => Store::connect_with(url, access)?,
        })
    }

    /// A database URL (checked) with its password and CA from the environment or the config.
    pub fn database(url: &str, config: &Config) -> Result<StoreTarget, CliError> {
        crate::store::parse_url(url).map_err(CliError::Usage)?;
        Ok(StoreTarget::Postgres {
            url: url.to_string(),
            access: PgAccess {
                password: store_password(config)?,
                ca: store_ca(config)?,
            },
        })
    }
}

/// The store `--store` names (a path, or a `postgres://` URL), else `[store] url`, else
/// `[store] path`, else the default file. A URL that carries a password is refused: the
/// password comes from `OPSDECK_STORE_PASSWORD` or `[store] password_file`.
pub fn store_target(global: &Global, config: &Config) -> Result<StoreTarget, CliError> {
    let named = global
        .store
        .as_ref()
        .map(|p| p.to_string_lossy().into_owned());
    let url = match named {
        Some(text) if crate::store::is_url(&text) => text,
        Some(_) => return Ok(StoreTarget::File(global.store.clone().expect("named"))),
        None if !config.store.url.is_empty() => config.store.url.clone(),
        None if !config.store.path.is_empty() => {
            return Ok(StoreTarget::File(config.store.path.clone().into()));
        }
        None => return Ok(StoreTarget::File(paths::default_store()?)),
    };
    StoreTarget::database(&url, config)
}

/// The database password: `OPSDECK_STORE_PASSWORD`, else the first line of `[store]
/// password_file`, else none (trust, peer or a `.pgpass` the server accepts).
pub fn store_password(config: &Config) -> Result<Option<String>, CliError> {
    if let Ok(password) = std::env::var("OPSDECK_STORE_PASSWORD")
        && !password.is_empty()
    {
        return Ok(Some(password));
    }
    if config.store.password_file.is_empty() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&config.store.password_file).map_err(|e| {
        CliError::Usage(format!(
            "cannot read the store password file {} ([store] password_file): {e}",
            config.store.password_file
        ))
    })?;
    Ok(text.lines().next().map(str::to_string))
}

/// The CA certificates the database server's certificate is checked against:
/// `OPSDECK_STORE_CA_FILE`, else `[store] ca_file`, else none (the platform's). A file that
/// cannot be read or holds no certificate is a configuration error.
pub fn store_ca(config: &Config) -> Result<Option<CaFile>, CliError> {
    let path = match std::env::var("OPSDECK_STORE_CA_FILE") {
        Ok(path) if !path.is_empty() => path,
        _ if !config.store.ca_file.is_empty() => config.store.ca_file.clone(),
        _ => return Ok(None),
    };
    CaFile::read(path.as_ref()).map(Some).map_err(|e| {
        CliError::Usage(format!(
            "{e} (named by OPSDECK_STORE_CA_FILE or [store] ca_file); point it at the PEM file of the CA that signed the database server's certificate"
        ))
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

/// One demo fleet per store: an exclusive lock on `STORE.demo-lock`, which names the process
/// holding it. A second console (or `serve --demo`) on the same store shows the first one's
/// fleet at work instead of starting another.
pub struct DemoLease {
    _file: std::fs::File,
}

impl DemoLease {
    fn take(store: &std::path::Path) -> Result<DemoLease, String> {
        use std::io::{Read, Seek, Write};
        let mut name = store.as_os_str().to_owned();
        name.push(".demo-lock");
        let path = std::path::PathBuf::from(name);
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {
                let _ = file.set_len(0);
                let _ = file.rewind();
                let _ = write!(file, "{}", std::process::id());
                let _ = file.flush();
                Ok(DemoLease { _file: file })
            }
            Err(_) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                Err(if holder.is_empty() {
                    "another process".to_string()
                } else {
                    format!("process {holder}")
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::token_on_command_line;

    #[test]
    fn a_token_typed_as_an_argument_is_noticed() {
        let args = |list: &[&str]| {
            list.iter()
                .map(std::ffi::OsString::from)
                .collect::<Vec<_>>()
                .into_iter()
        };
        assert!(token_on_command_line(args(&[
            "opsdeck", "--token", "t", "agents"
        ])));
        assert!(token_on_command_line(args(&[
            "opsdeck",
            "agents",
            "--token=t"
        ])));
        assert!(!token_on_command_line(args(&[
            "opsdeck",
            "--connect",
            "u",
            "agents"
        ])));
        assert!(!token_on_command_line(args(&[
            "opsdeck", "audit", "search", "--", "--token"
        ])));
    }
}
