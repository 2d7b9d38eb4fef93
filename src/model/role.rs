//! Who acts at which level: the authority levels, operator roles and the facts about an item
//! that decide who may act on it. Plain data; the rules that use it live in `authority`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Agent,
    Domain,
    Enterprise,
    Executive,
}

impl Level {
    pub const ALL: [Level; 4] = [
        Level::Agent,
        Level::Domain,
        Level::Enterprise,
        Level::Executive,
    ];

    /// The level an item goes to when this one must escalate it; executives are the top.
    pub fn next(self) -> Option<Level> {
        match self {
            Level::Agent => Some(Level::Domain),
            Level::Domain => Some(Level::Enterprise),
            Level::Enterprise => Some(Level::Executive),
            Level::Executive => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Agent => "agent",
            Level::Domain => "domain",
            Level::Enterprise => "enterprise",
            Level::Executive => "executive",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an operator may do, fixed by configuration (or by their token on a server).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Role {
    Viewer,
    Oncall(String),
    Lead(String),
    Enterprise,
    Executive,
}

impl Role {
    /// The level the role acts at; viewers act at none.
    pub fn level(&self) -> Option<Level> {
        match self {
            Role::Viewer => None,
            Role::Oncall(_) | Role::Lead(_) => Some(Level::Domain),
            Role::Enterprise => Some(Level::Enterprise),
            Role::Executive => Some(Level::Executive),
        }
    }

    /// Domain roles act for their own domain only.
    pub fn covers_domain(&self, domain: &str) -> bool {
        match self {
            Role::Oncall(d) | Role::Lead(d) => d == domain,
            Role::Viewer => false,
            Role::Enterprise | Role::Executive => true,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Role::Viewer => f.write_str("viewer"),
            Role::Oncall(d) => write!(f, "oncall:{d}"),
            Role::Lead(d) => write!(f, "lead:{d}"),
            Role::Enterprise => f.write_str("enterprise"),
            Role::Executive => f.write_str("executive"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}: use viewer, oncall:<domain>, lead:<domain>, enterprise or executive")]
pub struct RoleParseError(pub String);

impl FromStr for Role {
    type Err = RoleParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || RoleParseError(s.to_string());
        match s.split_once(':') {
            None => match s {
                "viewer" => Ok(Role::Viewer),
                "enterprise" => Ok(Role::Enterprise),
                "executive" => Ok(Role::Executive),
                _ => Err(bad()),
            },
            Some((kind, domain)) if !domain.is_empty() && !domain.contains(':') => match kind {
                "oncall" => Ok(Role::Oncall(domain.to_string())),
                "lead" => Ok(Role::Lead(domain.to_string())),
                _ => Err(bad()),
            },
            Some(_) => Err(bad()),
        }
    }
}

impl Serialize for Role {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Role {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The facts about an item that decide who may act on it.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub level: Level,
    pub domain: &'a str,
    pub requested_by: &'a str,
    /// The votes already given: an operator votes once.
    pub votes: &'a [super::approval::Vote],
}

/// The audit identity of an operator.
pub fn operator_actor(name: &str) -> String {
    if name.starts_with(SIMULATED) {
        return name.to_string();
    }
    format!("operator:{name}")
}

/// The prefix of a simulated colleague of the demo fleet (`sim:lee`): their actor id in the
/// trail, the votes and the timelines is their name, so that nobody takes them for a person.
pub const SIMULATED: &str = "sim:";
