use serde::{Deserialize, Serialize};

use super::{Classification, Timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionType {
    Decision,
    Execution,
    Escalation,
}

impl ActionType {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionType::Decision => "decision",
            ActionType::Execution => "execution",
            ActionType::Escalation => "escalation",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Retention {
    Standard,
    Significant,
    Compliance,
}

impl Retention {
    pub fn as_str(self) -> &'static str {
        match self {
            Retention::Standard => "standard",
            Retention::Significant => "significant",
            Retention::Compliance => "compliance",
        }
    }

    /// How long the record's body is kept: 90 days, 1 year, 7 years.
    pub fn days(self) -> i64 {
        match self {
            Retention::Standard => 90,
            Retention::Significant => 365,
            Retention::Compliance => 7 * 365,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditDetails {
    pub context: String,
    pub options_considered: Vec<String>,
    pub decision: String,
    pub reasoning: String,
    pub outcome: String,
}

/// One record of the audit trail, in the public schema (field names exactly as published).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditRecord {
    pub id: String,
    #[serde(with = "millis")]
    pub timestamp: Timestamp,
    pub agent_id: String,
    pub action_type: ActionType,
    pub domain: String,
    pub summary: String,
    pub details: AuditDetails,
    pub classification: Classification,
    pub related_tasks: Vec<String>,
    pub seq: u64,
    pub prev_hash: String,
    pub hash: String,
    pub retention: Retention,
}

/// Audit timestamps are RFC 3339 UTC with exactly millisecond precision, so the text that is
/// hashed is the text that is exported.
pub mod millis {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn format(t: &DateTime<Utc>) -> String {
        t.to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| serde::de::Error::custom(format!("timestamp {s:?}: {e}")))
    }
}

/// An audit record before the store gives it its place in the chain.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditDraft {
    pub agent_id: String,
    pub action_type: ActionType,
    pub domain: String,
    pub summary: String,
    pub details: AuditDetails,
    pub classification: Classification,
    pub related_tasks: Vec<String>,
    pub retention: Retention,
}
