//! `opsdeck config path | show`.

use std::io::{IsTerminal, Write};

use serde::Serialize;

use super::args::{ConfigCmd, Format, Global};
use super::context::{Context, config_location};
use super::error::CliError;
use super::output::{Json, write_json};
use crate::text::SafeText;

pub fn run(global: Global, cmd: &ConfigCmd) -> Result<(), CliError> {
    match cmd {
        ConfigCmd::Path => path(&global),
        ConfigCmd::Show => show(global),
    }
}

#[derive(Serialize)]
struct Location {
    path: String,
    exists: bool,
    /// Asked for with --config or OPSDECK_CONFIG, rather than the default place.
    explicit: bool,
}

/// The path alone when piped (for `$EDITOR "$(opsdeck config path)"`), with whether it exists
/// on a terminal or with `-o table`, and as JSON with `-o json`.
fn path(global: &Global) -> Result<(), CliError> {
    let (path, explicit) = config_location(global)?;
    let found = Location {
        path: path.display().to_string(),
        exists: path.exists(),
        explicit,
    };
    let terminal = std::io::stdout().is_terminal();
    let mut out = std::io::stdout().lock();
    let annotated = match global.output {
        Some(Format::Json) => {
            write_json(&mut out, &found, Json::Pretty, terminal)?;
            return Ok(out.flush()?);
        }
        Some(Format::Jsonl) => {
            write_json(&mut out, &found, Json::Line, terminal)?;
            return Ok(out.flush()?);
        }
        Some(Format::Table) => true,
        None => std::io::stdout().is_terminal(),
    };
    let shown = SafeText::new(&found.path);
    if !annotated {
        writeln!(out, "{shown}")?;
    } else if found.exists {
        writeln!(out, "{shown} (exists)")?;
    } else if explicit {
        writeln!(out, "{shown} (does not exist)")?;
    } else {
        writeln!(
            out,
            "{shown} (does not exist: the defaults are in use; config.example.toml lists them)"
        )?;
    }
    Ok(out.flush()?)
}

/// The configuration in effect: the defaults, the file over them, the flags over that.
fn show(global: Global) -> Result<(), CliError> {
    let (path, _) = config_location(&global)?;
    let ctx = Context::load(global)?;
    let mut config = ctx.config.clone();
    let g = &ctx.global;
    if let Some(name) = &g.as_operator {
        config.operator.name = name.clone();
    }
    if let Some(store) = &g.store {
        config.store.path = store.display().to_string();
    }
    if let Some(theme) = &g.theme {
        config.console.theme = theme.clone();
    }
    if let Some(color) = g.color {
        config.console.color = color;
    }
    let mut value = toml::Value::try_from(&config)
        .map_err(|e| CliError::Runtime(format!("cannot show the config: {e}")))?;
    redact(&mut value);
    let terminal = std::io::stdout().is_terminal();
    let mut out = std::io::stdout().lock();
    match g.output {
        Some(Format::Json) => write_json(&mut out, &value, Json::Pretty, terminal)?,
        Some(Format::Jsonl) => write_json(&mut out, &value, Json::Line, terminal)?,
        Some(Format::Table) | None => {
            let text = toml::to_string_pretty(&value)
                .map_err(|e| CliError::Runtime(format!("cannot show the config: {e}")))?;
            let from = if path.exists() {
                format!("{} over the defaults", path.display())
            } else {
                "the defaults (no config file)".to_string()
            };
            writeln!(
                out,
                "# The configuration in effect: {}, then the flags. Secrets are redacted.\n",
                SafeText::new(&from)
            )?;
            // Values from the file may hold anything; the terminal sees them made safe.
            for line in text.lines() {
                writeln!(out, "{}", SafeText::new(line))?;
            }
        }
    }
    Ok(out.flush()?)
}

/// What `config show` prints instead of a secret.
pub const REDACTED: &str = "<redacted>";

/// Whether a key holds a secret, by its name: `token`, `token_sha256`, `client_secret`,
/// `password`, `api_key` and the like, wherever they are in the tree.
fn is_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "token",
        "secret",
        "password",
        "passwd",
        "credential",
        "api_key",
        "private_key",
    ]
    .iter()
    .any(|word| key.contains(word))
}

/// Replaces every non-empty secret value in the tree (tables, arrays of tables) with
/// `<redacted>`. An empty one stays empty: it shows that nothing is set without showing more.
pub fn redact(value: &mut toml::Value) {
    match value {
        toml::Value::Table(table) => {
            for (key, v) in table.iter_mut() {
                if is_secret(key) && !is_empty(v) {
                    *v = toml::Value::String(REDACTED.into());
                } else {
                    redact(v);
                }
            }
        }
        toml::Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

fn is_empty(value: &toml::Value) -> bool {
    match value {
        toml::Value::String(s) => s.is_empty(),
        toml::Value::Array(a) => a.is_empty(),
        toml::Value::Table(t) => t.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_wherever_they_are() {
        let mut value: toml::Value = toml::from_str(
            r#"
            token = "s3cr3t"
            [server]
            listen = "127.0.0.1:7300"
            token_sha256 = "ab12"
            [[server.operators]]
            name = "alice"
            token = "alice-token"
            [[contexts]]
            name = "prod"
            url = "https://ops.example:7300"
            token = "prod-token"
            client_secret = "shh"
            password = ""
            "#,
        )
        .unwrap();
        redact(&mut value);
        let text = toml::to_string(&value).unwrap();
        for secret in ["s3cr3t", "ab12", "alice-token", "prod-token", "shh"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        assert_eq!(value["token"].as_str(), Some(REDACTED));
        assert_eq!(value["server"]["token_sha256"].as_str(), Some(REDACTED));
        assert_eq!(value["contexts"][0]["token"].as_str(), Some(REDACTED));
        assert_eq!(value["contexts"][0]["password"].as_str(), Some(""));
        // Everything else is left as it was.
        assert_eq!(
            value["contexts"][0]["url"].as_str(),
            Some("https://ops.example:7300")
        );
        assert_eq!(
            value["server"]["operators"][0]["name"].as_str(),
            Some("alice")
        );
    }

    #[test]
    fn the_default_config_has_nothing_to_redact() {
        let mut value = toml::Value::try_from(crate::config::Config::default()).unwrap();
        let before = value.clone();
        redact(&mut value);
        assert_eq!(value, before);
    }
}
