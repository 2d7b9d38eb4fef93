//! Who the local operator is, in embedded mode: the OS user, mapped to a name and a role by
//! `[[operators]]`. One OS user is one operator, so `--as` can never turn one terminal into two
//! votes of a quorum.

use serde::{Deserialize, Serialize};

use super::Config;
use crate::model::Role;

/// `[[operators]]`: an operator of this machine, bound to the OS user who may act as them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalOperator {
    /// The name in the audit trail (`operator:<name>`).
    pub name: String,
    pub role: Role,
    /// The OS account that acts as this operator; empty: the account called `name`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub os_user: String,
}

impl LocalOperator {
    pub fn os_user(&self) -> &str {
        if self.os_user.is_empty() {
            &self.name
        } else {
            &self.os_user
        }
    }
}

/// Where the local operator's role comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleSource {
    /// An `[[operators]]` entry bound to this OS user.
    Bound,
    /// `[operator] role`.
    Configured,
    /// Nothing in the config: the demo's enterprise role (the console says so).
    DemoDefault,
}

/// The local operator as the config and the OS user make them.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    pub name: String,
    pub role: Role,
    pub source: RoleSource,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IdentityError {
    #[error(
        "--as {asked}: no [[operators]] entry named {asked} is bound to your OS user {os_user}, and you act as {yourself}; bind one in the config (name = \"{asked}\", os_user = \"{os_user}\", role = ...): one OS user is one operator, so two votes from one terminal never make a quorum"
    )]
    NotYours {
        asked: String,
        os_user: String,
        yourself: String,
    },
}

/// Checks `[[operators]]`: names are usable and unique, and each OS user is bound once.
pub(super) fn validate(operators: &[LocalOperator]) -> Result<(), String> {
    for (i, o) in operators.iter().enumerate() {
        if o.name.is_empty()
            || o.name.len() > 64
            || o.name.chars().any(|c| c.is_control() || c == ':')
        {
            return Err(format!(
                "operators[{i}].name must be 1-64 bytes without colons or control characters; "
            ));
        }
        for earlier in &operators[..i] {
            if earlier.name == o.name {
                return Err(format!(
                    "operators: {} is named twice; give each operator one entry; ",
                    o.name
                ));
            }
            if earlier.os_user() == o.os_user() {
                return Err(format!(
                    "operators: OS user {} is bound to both {} and {}: one OS user is one operator (two names would let one terminal cast two votes of a quorum); ",
                    o.os_user(),
                    earlier.name,
                    o.name
                ));
            }
        }
    }
    Ok(())
}

/// The local operator: `--as` (only an operator bound to this OS user), else the
/// `[[operators]]` entry bound to it, else `[operator]` (its name, or the OS user's).
pub fn resolve(
    config: &Config,
    os_user: &str,
    asked: Option<&str>,
) -> Result<Identity, IdentityError> {
    let bound = config.operators.iter().find(|o| o.os_user() == os_user);
    let own = match bound {
        Some(o) => Identity {
            name: o.name.clone(),
            role: o.role.clone(),
            source: RoleSource::Bound,
        },
        None => Identity {
            name: Some(config.operator.name.clone())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| os_user.to_string()),
            role: config.operator.role.clone().unwrap_or(Role::Enterprise),
            source: match config.operator.role {
                Some(_) => RoleSource::Configured,
                None => RoleSource::DemoDefault,
            },
        },
    };
    match asked {
        None => Ok(own),
        Some(name) if name == own.name => Ok(own),
        Some(name) => Err(IdentityError::NotYours {
            asked: name.to_string(),
            os_user: os_user.to_string(),
            yourself: own.name,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        Config::parse(text).unwrap()
    }

    #[test]
    fn the_os_user_is_the_operator_and_as_names_only_them() {
        let c = config(
            "[[operators]]\nname = \"alice\"\nos_user = \"al\"\nrole = \"lead:platform\"\n\n[[operators]]\nname = \"bob\"\nrole = \"viewer\"\n",
        );
        let alice = resolve(&c, "al", None).unwrap();
        assert_eq!(
            (alice.name.as_str(), &alice.role, alice.source),
            ("alice", &Role::Lead("platform".into()), RoleSource::Bound)
        );
        assert_eq!(resolve(&c, "al", Some("alice")).unwrap(), alice);
        let err = resolve(&c, "al", Some("bob")).unwrap_err();
        assert!(err.to_string().contains("not") || err.to_string().contains("no [[operators]]"));
        assert!(resolve(&c, "al", Some("alice2")).is_err());
        assert_eq!(resolve(&c, "bob", None).unwrap().role, Role::Viewer);
        // An OS user the config does not bind: [operator], or the demo's enterprise role.
        let plain = resolve(&c, "carol", None).unwrap();
        assert_eq!(
            (plain.name.as_str(), plain.source),
            ("carol", RoleSource::DemoDefault)
        );
        assert!(resolve(&c, "carol", Some("alice")).is_err());
        let set = config("[operator]\nname = \"cee\"\nrole = \"oncall:product\"\n");
        let cee = resolve(&set, "carol", None).unwrap();
        assert_eq!(
            (cee.name.as_str(), cee.source),
            ("cee", RoleSource::Configured)
        );
    }

    #[test]
    fn one_os_user_is_bound_to_one_operator() {
        let err = Config::parse(
            "[[operators]]\nname = \"alice\"\nos_user = \"al\"\nrole = \"enterprise\"\n\n[[operators]]\nname = \"alice2\"\nos_user = \"al\"\nrole = \"enterprise\"\n",
        )
        .unwrap_err();
        assert!(err.contains("one OS user is one operator"), "{err}");
        let err = Config::parse("[[operators]]\nname = \"a:b\"\nrole = \"viewer\"\n").unwrap_err();
        assert!(err.contains("colons"), "{err}");
    }
}
