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
    /// Set on a sensitive record whose details and related tasks were withheld from the reader
    /// (see [`AuditRecord::withheld`]); outside the public schema's required fields.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub redacted: bool,
    /// Who called over HTTP (token name and client address); outside the public schema's
    /// required fields, absent on records written in process. Kept in the body, so it is hashed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<Via>,
}

impl AuditRecord {
    /// The record as every read path hands it out: a sensitive record keeps its header and
    /// summary, and its details and related tasks are withheld (and marked so) until a reveal,
    /// which is audited, returns the whole record.
    pub fn withheld(mut self) -> AuditRecord {
        self.withhold();
        self
    }

    /// [`AuditRecord::withheld`] in place.
    pub fn withhold(&mut self) {
        if self.classification == Classification::Sensitive && !self.redacted {
            self.details = AuditDetails::default();
            self.related_tasks = Vec::new();
            self.redacted = true;
        }
    }
}

/// The door a record came in by: the server's token (its name, never the secret) and the
/// client's address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Via {
    pub token: String,
    pub client: String,
}

/// Records read with their text borrowed from the JSON they were read from.
pub mod borrowed {
    use serde::{Deserialize, Serialize};

    use super::{ActionType, Classification, Retention, Timestamp};

    /// Text read from JSON, borrowed from the line unless it held escapes.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(transparent)]
    pub struct Text<'a>(#[serde(borrow)] pub std::borrow::Cow<'a, str>);

    impl std::ops::Deref for Text<'_> {
        type Target = str;

        fn deref(&self) -> &str {
            &self.0
        }
    }

    /// [`super::AuditRecord`] as read from one line of JSON for bulk reads (imports): the same
    /// fields, types, rules and error messages (hence the same name), with the text borrowed from
    /// the line where it can be. One difference: the chain fields (`seq`, `prev_hash`, `hash`)
    /// may be missing, as they are in a plain trail that a store has not chained yet.
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct AuditRecord<'a> {
        #[serde(borrow)]
        pub id: Text<'a>,
        #[serde(with = "super::millis")]
        pub timestamp: Timestamp,
        #[serde(borrow)]
        pub agent_id: Text<'a>,
        pub action_type: ActionType,
        #[serde(borrow)]
        pub domain: Text<'a>,
        #[serde(borrow)]
        pub summary: Text<'a>,
        #[serde(borrow)]
        pub details: AuditDetails<'a>,
        pub classification: Classification,
        #[serde(borrow)]
        pub related_tasks: Vec<Text<'a>>,
        #[serde(default)]
        pub seq: Option<u64>,
        #[serde(borrow, default)]
        pub prev_hash: Option<Text<'a>>,
        #[serde(borrow, default)]
        pub hash: Option<Text<'a>>,
        pub retention: Retention,
        /// A record exported with its details withheld: it cannot be imported.
        #[serde(default)]
        pub redacted: bool,
        #[serde(default)]
        pub via: Option<super::Via>,
    }

    impl AuditRecord<'_> {
        pub fn to_record(&self) -> super::AuditRecord {
            let owned = |t: &Text<'_>| t.0.to_string();
            let d = &self.details;
            super::AuditRecord {
                id: owned(&self.id),
                timestamp: self.timestamp,
                agent_id: owned(&self.agent_id),
                action_type: self.action_type,
                domain: owned(&self.domain),
                summary: owned(&self.summary),
                details: super::AuditDetails {
                    context: owned(&d.context),
                    options_considered: d.options_considered.iter().map(owned).collect(),
                    decision: owned(&d.decision),
                    reasoning: owned(&d.reasoning),
                    outcome: owned(&d.outcome),
                },
                classification: self.classification,
                related_tasks: self.related_tasks.iter().map(owned).collect(),
                seq: self.seq.unwrap_or_default(),
                prev_hash: self.prev_hash.as_ref().map(owned).unwrap_or_default(),
                hash: self.hash.as_ref().map(owned).unwrap_or_default(),
                retention: self.retention,
                redacted: self.redacted,
                via: self.via.clone(),
            }
        }
    }

    /// [`super::AuditDetails`] borrowed, serialised exactly as it is.
    #[derive(Debug, Serialize, Deserialize)]
    pub struct AuditDetails<'a> {
        #[serde(borrow)]
        pub context: Text<'a>,
        #[serde(borrow)]
        pub options_considered: Vec<Text<'a>>,
        #[serde(borrow)]
        pub decision: Text<'a>,
        #[serde(borrow)]
        pub reasoning: Text<'a>,
        #[serde(borrow)]
        pub outcome: Text<'a>,
    }
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
        let s = super::borrowed::Text::deserialize(d)?.0;
        DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| {
                serde::de::Error::custom(format!(
                    "timestamp {s:?} is not an RFC 3339 time like 2026-11-21T03:00:00Z ({e})"
                ))
            })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_borrowed_record_reads_exactly_what_an_owned_one_reads() {
        let good = r#"{"id":"0190f0e0-0000-7000-8000-000000000001","timestamp":"2026-11-20T10:00:00.123Z","agent_id":"agent-1","action_type":"decision","domain":"platform","summary":"a \"quoted\" \u202e summary\n","details":{"context":"c","options_considered":["x","y\\z"],"decision":"d","reasoning":"r","outcome":"o"},"classification":"internal","related_tasks":["T-1","T-2"],"seq":7,"prev_hash":"p","hash":"h","retention":"standard"}"#;
        let lines = [
            good.to_string(),
            format!("  {good}  "),
            good.replace(r#""seq":7"#, r#""seq":7,"extra":1"#),
            good.replace(r#""outcome":"o""#, r#""outcome":"o","extra":1"#),
            good.replace(r#""decision","domain""#, r#""verdict","domain""#),
            good.replace(r#","retention":"standard""#, ""),
            good.replace("2026-11-20T10:00:00.123Z", "yesterday"),
            good.replace("2026-11-20T10:00:00.123Z", "2026-11-20T11:00:00.123+01:00"),
            good.replace(r#""seq":7"#, r#""seq":-7"#),
            good.replace(r#"["T-1","T-2"]"#, r#""T-1""#),
            good.replace(r#"["x","y\z"]"#, "[]"),
            "[]".to_string(),
            "{not json".to_string(),
            String::new(),
        ];
        for line in &lines {
            let owned = serde_json::from_str::<AuditRecord>(line).map_err(|e| e.to_string());
            let borrowed = serde_json::from_str::<borrowed::AuditRecord<'_>>(line)
                .map(|r| r.to_record())
                .map_err(|e| e.to_string());
            assert_eq!(borrowed, owned, "{line}");
        }
        assert!(serde_json::from_str::<AuditRecord>(&lines[0]).is_ok());
    }
}
