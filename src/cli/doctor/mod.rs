//! `opsdeck doctor`: what an engineer debugging their setup over SSH needs to see, in one place.
//! It reads and never writes: a missing store stays missing, and a broken config is reported,
//! not fatal.

mod contexts;
mod terminal;

use std::io::{IsTerminal, Write};

use serde::Serialize;

pub use contexts::{ContextCheck, check_contexts};

use super::args::{Format, Global};
use super::context::{StoreTarget, config_location, local_identity, store_target};
use super::error::CliError;
use super::output::{Json, write_json};
use crate::config::Config;
use crate::store::BadRecord;
use crate::text::SafeText;
use crate::tui::theme::{ColorMode, Detection, TermEnv, ThemeSource, color};
use terminal::TerminalCheck;

#[derive(Debug, Serialize)]
pub struct Report {
    pub version: &'static str,
    pub terminal: TerminalCheck,
    pub colour: ColourCheck,
    pub theme: ThemeCheck,
    pub config: ConfigCheck,
    pub store: StoreCheck,
    pub contexts: Vec<ContextCheck>,
    /// Everything above that will stop opsdeck from working, in words.
    pub problems: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct ColourCheck {
    pub mode: ColorMode,
    #[serde(flatten)]
    pub detected: Detection,
}

#[derive(Debug, Serialize)]
pub struct ThemeCheck {
    pub requested: String,
    /// The theme drawn with (mono when colour is off); none when the requested one is broken.
    pub used: Option<String>,
    pub source: Option<ThemeSource>,
    pub description: String,
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ConfigCheck {
    pub path: String,
    /// Asked for with --config or OPSDECK_CONFIG.
    pub explicit: bool,
    pub exists: bool,
    pub parses: bool,
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct StoreCheck {
    pub path: String,
    pub exists: bool,
    /// The PostgreSQL server's version, for a store in a database.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// For a store in a database: the session's TLS (`None`: not encrypted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<Option<String>>,
    pub schema_version: Option<i64>,
    pub known_version: i64,
    pub audit_records: Option<u64>,
    pub audit_purged: Option<u64>,
    pub audit_intact: Option<bool>,
    pub audit_first_bad: Option<BadRecord>,
    /// `PRAGMA integrity_check`: none when not run, otherwise what it found (empty: whole).
    pub damage: Option<Vec<String>>,
    /// Tables and indexes the schema should have and the file lacks, by name.
    pub missing: Vec<String>,
    pub error: Option<String>,
}

pub fn run(global: &Global) -> Result<(), CliError> {
    let report = examine(global)?;
    let terminal = std::io::stdout().is_terminal();
    let mut out = std::io::stdout().lock();
    match global.output {
        Some(Format::Json) => write_json(&mut out, &report, Json::Pretty, terminal)?,
        Some(Format::Jsonl) => write_json(&mut out, &report, Json::Line, terminal)?,
        // Text even through a pipe: doctor's output is for pasting into a ticket.
        Some(Format::Table) | None => {
            for line in render(&report) {
                writeln!(out, "{}", SafeText::new(&line))?;
            }
        }
    }
    out.flush()?;
    match report.problems.len() {
        0 => Ok(()),
        1 => Err(CliError::Runtime(
            "doctor found 1 problem (see above)".into(),
        )),
        n => Err(CliError::Runtime(format!(
            "doctor found {n} problems (see above)"
        ))),
    }
}

/// Runs every check; only a missing home directory stops it.
pub fn examine(global: &Global) -> Result<Report, CliError> {
    let mut problems = Vec::new();
    let vars = terminal::vars();
    let terminal = terminal::check(&vars);

    let (config_path, explicit) = config_location(global)?;
    let (config, config_error) = match Config::load(&config_path, explicit) {
        Ok(config) => (config, None),
        Err(e) => {
            problems.push(e.to_string());
            (Config::default(), Some(e.to_string()))
        }
    };
    let config_check = ConfigCheck {
        path: config_path.display().to_string(),
        explicit,
        exists: config_path.exists(),
        parses: config_error.is_none(),
        error: config_error,
    };

    let env = TermEnv::from_process();
    let mode = global.color.unwrap_or(config.console.color);
    let colour = ColourCheck {
        mode,
        detected: color::detect(&env, mode),
    };
    let requested = global
        .theme
        .clone()
        .unwrap_or_else(|| config.console.theme.clone());
    let theme = match super::console::appearance(global, &config.console, &env) {
        Ok(look) => ThemeCheck {
            requested,
            used: Some(look.used),
            source: Some(look.source),
            description: look.description,
            error: None,
        },
        Err(e) => {
            problems.push(e.to_string());
            ThemeCheck {
                requested,
                used: None,
                source: None,
                description: String::new(),
                error: Some(e.to_string()),
            }
        }
    };

    let store = if global.ephemeral {
        StoreCheck::in_memory()
    } else {
        match store_target(global, &config)? {
            StoreTarget::File(path) => StoreCheck::examine(&path, &mut problems),
            StoreTarget::Postgres { url, access } => {
                StoreCheck::examine_database(&url, &access, &mut problems)
            }
        }
    };
    let identity = match local_identity(global, &config) {
        Ok(i) => format!(
            "operator:{} ({}{})",
            i.name,
            i.role,
            match i.source {
                crate::config::operators::RoleSource::DemoDefault => ", the demo's default role",
                _ => "",
            }
        ),
        Err(e) => format!("no local operator: {e}"),
    };
    let contexts = check_contexts(&config, &identity, &store.path);
    problems.extend(contexts.iter().filter_map(|c| {
        c.problem
            .as_ref()
            .map(|p| format!("context {}: {p}", c.name))
    }));
    Ok(Report {
        version: env!("CARGO_PKG_VERSION"),
        terminal,
        colour,
        theme,
        config: config_check,
        store,
        contexts,
        problems,
    })
}

impl StoreCheck {
    fn in_memory() -> StoreCheck {
        StoreCheck {
            path: "(in memory: --ephemeral)".into(),
            exists: false,
            server: None,
            tls: None,
            schema_version: None,
            known_version: crate::store::SCHEMA_VERSION,
            audit_records: None,
            audit_purged: None,
            audit_intact: None,
            audit_first_bad: None,
            damage: None,
            missing: Vec::new(),
            error: None,
        }
    }

    /// What verifying the chain found, and a problem if it is broken.
    fn note_chain(&mut self, audit: crate::store::Verification, problems: &mut Vec<String>) {
        self.audit_records = Some(audit.verified);
        self.audit_purged = Some(audit.purged);
        self.audit_intact = Some(audit.first_bad.is_none());
        if let Some(bad) = &audit.first_bad {
            problems.push(format!(
                "the audit chain of {} is broken at seq {}: {}",
                self.path, bad.seq, bad.reason
            ));
        }
        self.audit_first_bad = audit.first_bad;
    }

    /// A store in a PostgreSQL database, looked at without changing it.
    fn examine_database(
        url: &str,
        access: &crate::store::PgAccess,
        problems: &mut Vec<String>,
    ) -> StoreCheck {
        let mut check = StoreCheck {
            path: url.to_string(),
            known_version: crate::store::PG_SCHEMA_VERSION,
            ..StoreCheck::in_memory()
        };
        match crate::store::PgStore::inspect(url, access) {
            Ok(found) => {
                check.path = found.location;
                check.exists = found.schema_version > 0;
                check.server = Some(found.server);
                check.tls = Some(found.tls);
                check.schema_version = Some(found.schema_version);
                if found.schema_version > check.known_version {
                    problems.push(format!(
                        "{} holds schema {} from a newer opsdeck (this one knows up to {}); upgrade opsdeck",
                        check.path, found.schema_version, check.known_version
                    ));
                }
                if let Some(audit) = found.audit {
                    check.note_chain(audit, problems);
                }
            }
            Err(e) => {
                problems.push(e.to_string());
                check.error = Some(e.to_string());
            }
        }
        check
    }

    fn examine(path: &std::path::Path, problems: &mut Vec<String>) -> StoreCheck {
        let mut check = StoreCheck {
            path: path.display().to_string(),
            exists: path.exists(),
            ..StoreCheck::in_memory()
        };
        if !check.exists {
            return check;
        }
        match crate::store::inspect(path) {
            Ok(found) => {
                check.schema_version = Some(found.schema_version);
                if !found.damage.is_empty() {
                    problems.push(format!(
                        "{} is damaged ({}); restore it from a backup",
                        check.path, found.damage[0]
                    ));
                }
                for name in &found.missing {
                    problems.push(format!(
                        "{} lacks {name}; restore it from a backup",
                        check.path
                    ));
                }
                check.damage = Some(found.damage);
                check.missing = found.missing;
                if let Some(audit) = found.audit {
                    check.note_chain(audit, problems);
                }
            }
            Err(e) => {
                problems.push(e.to_string());
                check.error = Some(e.to_string());
            }
        }
        check
    }
}

/// The report for people: sections of `label  value` lines.
pub fn render(r: &Report) -> Vec<String> {
    let mut lines = vec![format!("opsdeck {} doctor", r.version)];
    let mut section = |title: &str, rows: Vec<(&str, String)>| {
        lines.push(String::new());
        lines.push(title.to_string());
        lines.extend(rows.into_iter().map(|(k, v)| format!("  {k:<14} {v}")));
    };
    let t = &r.terminal;
    let unset = |v: &Option<String>| v.clone().unwrap_or_else(|| "(unset)".into());
    section(
        "Terminal",
        vec![
            (
                "stdout",
                if t.stdout_is_tty {
                    "a terminal".into()
                } else {
                    "not a terminal (a pipe or a file)".into()
                },
            ),
            (
                "size",
                match (t.size, t.fits_console) {
                    (Some(s), Some(true)) => {
                        format!("{}×{} (the console needs 80×24: fits)", s.columns, s.rows)
                    }
                    (Some(s), _) => format!(
                        "{}×{} (too small: the console needs 80×24)",
                        s.columns, s.rows
                    ),
                    (None, _) => "unknown (no terminal attached)".into(),
                },
            ),
            ("TERM", unset(&t.term)),
            ("COLORTERM", unset(&t.colorterm)),
            ("NO_COLOR", unset(&t.no_color)),
            (
                "multiplexer",
                t.multiplexer.clone().unwrap_or("none".into()),
            ),
            (
                "ssh",
                t.ssh_from
                    .as_ref()
                    .map_or("no".into(), |from| format!("yes, from {from}")),
            ),
            (
                "colours",
                format!(
                    "{} ({}; --color {})",
                    r.colour.detected.depth.describe(),
                    r.colour.detected.reason,
                    r.colour.mode.as_str()
                ),
            ),
        ],
    );
    let th = &r.theme;
    section(
        "Theme",
        match (&th.error, &th.used, &th.source) {
            (Some(e), _, _) => vec![("requested", th.requested.clone()), ("error", e.clone())],
            (None, Some(used), Some(source)) => vec![
                (
                    "requested",
                    format!("{} ({source}): {}", th.requested, th.description),
                ),
                (
                    "drawn with",
                    if *used == th.requested {
                        format!("{used}, in {}", r.colour.detected.depth.describe())
                    } else {
                        format!("{used}: colour is off")
                    },
                ),
            ],
            _ => vec![],
        },
    );
    let c = &r.config;
    let mut rows = vec![(
        "file",
        format!(
            "{} ({})",
            c.path,
            match (c.exists, c.explicit) {
                (true, _) => "exists",
                (false, true) => "does not exist",
                (false, false) => "does not exist: the defaults are in use",
            }
        ),
    )];
    rows.push((
        "parses",
        match &c.error {
            None => "yes".into(),
            Some(e) => format!("no: {e}"),
        },
    ));
    section("Config", rows);
    let s = &r.store;
    let place = if s.server.is_some() || crate::store::is_url(&s.path) {
        "database"
    } else {
        "file"
    };
    let mut rows = vec![(place, s.path.clone())];
    if !s.exists && s.error.is_none() && s.schema_version.is_none() {
        if s.path.starts_with('(') {
            rows.push(("state", "nothing to check".into()));
        } else {
            rows.push((
                "state",
                "does not exist yet (`opsdeck` or `opsdeck demo run` creates it)".into(),
            ));
        }
    }
    if let Some(server) = &s.server {
        rows.push(("server", format!("PostgreSQL {server}")));
    }
    if let Some(tls) = &s.tls {
        rows.push((
            "tls",
            tls.clone()
                .unwrap_or_else(|| "none: the session is not encrypted".into()),
        ));
    }
    if let Some(v) = s.schema_version {
        rows.push((
            "schema",
            format!("version {v} (this opsdeck knows up to {})", s.known_version),
        ));
    }
    match &s.damage {
        Some(found) if found.is_empty() => rows.push(("integrity", "ok".into())),
        Some(found) => rows.extend(found.iter().map(|p| ("damage", p.clone()))),
        None => {}
    }
    rows.extend(s.missing.iter().map(|name| ("missing", name.clone())));
    match (s.audit_intact, &s.audit_first_bad) {
        (Some(true), _) => rows.push((
            "audit chain",
            format!(
                "intact: {} records verified{}",
                s.audit_records.unwrap_or(0),
                match s.audit_purged {
                    Some(n) if n > 0 => format!(" ({n} bodies purged by retention)"),
                    _ => String::new(),
                }
            ),
        )),
        (Some(false), Some(bad)) => rows.push((
            "audit chain",
            format!(
                "BROKEN at seq {}: {} ({} records verified before it)",
                bad.seq,
                bad.reason,
                s.audit_records.unwrap_or(0)
            ),
        )),
        _ => {}
    }
    if let Some(e) = &s.error {
        rows.push(("error", e.clone()));
    }
    section("Store", rows);
    section(
        "Contexts",
        r.contexts
            .iter()
            .map(|ctx| {
                let state = match (&ctx.problem, ctx.answers) {
                    (Some(p), _) => format!("✖ {p}"),
                    (None, Some(true)) => "answers".into(),
                    (None, Some(false)) => "does not answer".into(),
                    (None, None) => "in this process".into(),
                };
                (
                    ctx.name.as_str(),
                    format!(
                        "{} on {}, as {}: {state}",
                        ctx.kind, ctx.target, ctx.identity
                    ),
                )
            })
            .collect(),
    );
    lines.push(String::new());
    if r.problems.is_empty() {
        lines.push("✔ no problems found".into());
    } else {
        lines.push(format!("✖ {} problem(s):", r.problems.len()));
        lines.extend(r.problems.iter().map(|p| format!("  - {p}")));
    }
    lines
}
