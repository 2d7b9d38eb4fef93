//! Contexts: named remote orchestrators in the config (`[[contexts]]`), chosen with
//! `--context NAME`, like kubectl's. The token comes from an environment variable or a file,
//! never from the config itself.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextConfig {
    pub name: String,
    /// The orchestrator's base URL, e.g. `https://ops.example.com:7300`.
    #[serde(default)]
    pub url: String,
    /// Several replicas of one orchestrator (instead of `url`): the link uses the first that
    /// answers and fails over to the next when its connection is lost.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
    /// Environment variable that holds the token.
    #[serde(default)]
    pub token_env: String,
    /// File that holds the token (read when the context is used; `~/` is the home directory).
    #[serde(default)]
    pub token_file: String,
    /// This context never acts, whatever the token may do.
    #[serde(default)]
    pub read_only: bool,
}

/// Where a console or command connects: the orchestrator's URL and the operator's token.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// The context's name, when one was chosen.
    pub context: Option<String>,
    pub url: String,
    /// Other replicas of the same orchestrator, tried in order when `url` cannot be reached.
    pub also: Vec<String>,
    pub token: String,
    pub read_only: bool,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ContextError {
    #[error("no context named {name:?} in the config (known: {known}); add a [[contexts]] entry")]
    Unknown { name: String, known: String },
    #[error("context {name}: {problem}")]
    Token { name: String, problem: String },
}

/// Checks the contexts as a whole: unique names, usable URLs, one token source each.
pub fn validate(contexts: &[ContextConfig]) -> Result<(), String> {
    let mut names = std::collections::BTreeSet::new();
    for c in contexts {
        if !super::server::valid_name(&c.name) {
            return Err(format!(
                "contexts: name {:?} must be 1-64 letters, digits, '.', '_' or '-'; ",
                c.name
            ));
        }
        if !names.insert(&c.name) {
            return Err(format!("contexts: {} is named twice; ", c.name));
        }
        if c.url.is_empty() == c.urls.is_empty() {
            return Err(format!(
                "contexts {}: set exactly one of url (one orchestrator) and urls (its replicas); ",
                c.name
            ));
        }
        for url in c.all_urls() {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(format!(
                    "contexts {}: url {:?} must start with http:// or https://; ",
                    c.name, url
                ));
            }
        }
        if c.token_env.is_empty() == c.token_file.is_empty() {
            return Err(format!(
                "contexts {}: set exactly one of token_env and token_file; ",
                c.name
            ));
        }
    }
    Ok(())
}

impl ContextConfig {
    /// Every URL the context names, the first tried first.
    pub fn all_urls(&self) -> Vec<String> {
        if self.urls.is_empty() {
            vec![self.url.clone()]
        } else {
            self.urls.clone()
        }
    }

    /// Reads the token from where the context says it is.
    pub fn target(&self) -> Result<Target, ContextError> {
        let problem = |problem: String| ContextError::Token {
            name: self.name.clone(),
            problem,
        };
        let token = if !self.token_env.is_empty() {
            std::env::var(&self.token_env).map_err(|_| {
                problem(format!(
                    "the environment variable {} that should hold the token is not set",
                    self.token_env
                ))
            })?
        } else {
            let path = expand_home(&self.token_file);
            std::fs::read_to_string(&path)
                .map_err(|e| problem(format!("cannot read token file {}: {e}", path.display())))?
        };
        let token = token.trim().to_string();
        if token.is_empty() {
            return Err(problem("the token is empty".into()));
        }
        let mut urls = self.all_urls().into_iter();
        Ok(Target {
            context: Some(self.name.clone()),
            url: urls.next().unwrap_or_default(),
            also: urls.collect(),
            token,
            read_only: self.read_only,
        })
    }
}

/// Finds a context by name.
pub fn find<'a>(
    contexts: &'a [ContextConfig],
    name: &str,
) -> Result<&'a ContextConfig, ContextError> {
    contexts
        .iter()
        .find(|c| c.name == name)
        .ok_or_else(|| ContextError::Unknown {
            name: name.to_string(),
            known: if contexts.is_empty() {
                "none".into()
            } else {
                contexts
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        })
}

fn expand_home(path: &str) -> std::path::PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => std::path::Path::new(&home).join(rest),
        _ => path.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(name: &str) -> ContextConfig {
        ContextConfig {
            name: name.into(),
            url: "http://127.0.0.1:7300".into(),
            urls: Vec::new(),
            token_env: String::new(),
            token_file: String::new(),
            read_only: false,
        }
    }

    #[test]
    fn each_context_needs_one_token_source_and_a_url() {
        let mut c = context("prod");
        assert!(
            validate(std::slice::from_ref(&c))
                .unwrap_err()
                .contains("exactly one")
        );
        c.token_file = "/tmp/t".into();
        validate(std::slice::from_ref(&c)).unwrap();
        c.url = "ops.example.com".into();
        assert!(validate(&[c]).unwrap_err().contains("http://"));
    }

    #[test]
    fn a_context_names_one_url_or_its_replicas_urls_in_order() {
        let mut c = context("prod");
        c.token_file = "/tmp/t".into();
        c.urls = vec![
            "https://a.example:7300".into(),
            "https://b.example:7300".into(),
        ];
        assert!(
            validate(std::slice::from_ref(&c))
                .unwrap_err()
                .contains("exactly one of url")
        );
        c.url = String::new();
        validate(std::slice::from_ref(&c)).unwrap();
        c.urls.push("b.example".into());
        assert!(
            validate(std::slice::from_ref(&c))
                .unwrap_err()
                .contains("\"b.example\" must start with http")
        );
        c.urls.pop();
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token");
        std::fs::write(&token, "opsd_x").unwrap();
        c.token_file = token.display().to_string();
        let target = c.target().unwrap();
        assert_eq!(target.url, "https://a.example:7300");
        assert_eq!(target.also, vec!["https://b.example:7300".to_string()]);
    }

    #[test]
    fn tokens_come_from_a_file_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "opsd_abc\n").unwrap();
        let mut c = context("prod");
        c.token_file = path.display().to_string();
        assert_eq!(c.target().unwrap().token, "opsd_abc");
        std::fs::write(&path, "\n").unwrap();
        assert!(c.target().unwrap_err().to_string().contains("empty"));
    }

    #[test]
    fn an_unknown_context_lists_the_known_ones() {
        let err = find(&[context("prod"), context("stage")], "dev").unwrap_err();
        assert!(err.to_string().contains("prod, stage"), "{err}");
    }
}
