//! The audit query language (DESIGN §3), one grammar for the console's `/`, the CLI's
//! `audit search` and the server's `GET /v1/audit?q=`:
//!
//! ```text
//! domain:platform type:escalation agent:agent-17 class:sensitive task:T-42 since:2h
//! until:2026-11-20 "exact phrase" word -excluded -"excluded phrase"
//! ```
//!
//! Grammar (whitespace separates terms; terms AND together):
//!
//! ```text
//! query   = { space } [ term { space { space } term } ] { space }
//! term    = field ":" value | phrase | "-" word | "-" phrase | word
//! field   = "domain" | "type" | "agent" | "class" | "task" | "since" | "until"
//! value   = phrase | bare                 (may contain colons: agent:operator:alice)
//! phrase  = '"' { char | '\"' | '\\' } '"'   (a backslash before anything else is kept)
//! word    = bare, not starting with '-', not of the form letters ":" …
//! bare    = one or more characters other than whitespace and '"'
//! ```
//!
//! A closing quote must be followed by whitespace or the end. `type:` takes decision, execution or
//! escalation; `class:` public, internal or sensitive; `since:` and `until:` a duration before now
//! (`2h`, `7d`, `1h30m`), a date (`2026-11-20`, midnight UTC) or an RFC 3339 date-time. Fields
//! are lowercase; anything that looks like `letters:` but is not a field is an error rather than a
//! word, so a misspelt field never silently becomes a full-text search. Words are kept as typed.
//!
//! [`parse_query`] gives the syntax tree, [`Query`]'s `Display` prints it back canonically
//! (`parse_query(&q.to_string()) == Ok(q)`), and [`Query::to_filter`] checks the rules that need
//! the whole query (each field at most once, `since` before `until`) and resolves relative times.

use std::fmt;

use chrono::{DateTime, Duration, SecondsFormat, Utc};

use crate::model::{ActionType, Classification};
mod filter;
pub mod items;

pub use filter::AuditFilter;
pub use items::{Item, ItemKind, Listing};

mod parse;

use parse::parse_spanned;

/// A parsed query: its terms in the order written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pub terms: Vec<Term>,
}

/// One term of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    Domain(String),
    Type(ActionType),
    /// An `agent_id` exactly: `agent-17` or `operator:alice`.
    Agent(String),
    Class(Classification),
    Task(String),
    Since(TimeBound),
    Until(TimeBound),
    /// A free word for full-text search, as typed.
    Word(String),
    /// A quoted phrase, unescaped.
    Phrase(String),
    /// `-word` or `-"phrase"`: only [`Term::Word`] or [`Term::Phrase`] inside.
    Exclude(Box<Term>),
}

/// The time a `since:` or `until:` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeBound {
    /// This long before now (`2h`).
    Ago(Duration),
    /// This instant (`2026-11-20`, `2026-11-20T10:00:00Z`).
    At(DateTime<Utc>),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct QueryError {
    /// 1-based, in characters.
    pub column: usize,
    /// What was wrong and what was expected instead.
    pub message: String,
}

/// One time as `since:` takes it (`2h`, `2026-11-20`, an RFC 3339 time), resolved against `now`.
pub fn parse_time(
    name: &str,
    value: &str,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, QueryError> {
    match parse::time_bound(name, value, 1)? {
        TimeBound::At(at) => Ok(at),
        TimeBound::Ago(d) => now.checked_sub_signed(d).ok_or_else(|| {
            error(
                1,
                format!("{name} {value} reaches too far back; expected a shorter time"),
            )
        }),
    }
}

/// Parses a query into its syntax tree. An empty query is valid and matches everything.
pub fn parse_query(input: &str) -> Result<Query, QueryError> {
    let terms = parse_spanned(input)?;
    Ok(Query {
        terms: terms.into_iter().map(|(_, term)| term).collect(),
    })
}

/// Parses a query and turns it into a store filter, resolving relative times against `now`.
/// Every error's column points into `input`.
pub fn parse(input: &str, now: DateTime<Utc>) -> Result<AuditFilter, QueryError> {
    let terms = parse_spanned(input)?;
    filter_from(terms.iter().map(|(column, term)| (*column, term)), now)
}

impl Query {
    /// The store filter this query asks for, with relative times resolved against `now`.
    ///
    /// Columns in errors point into the canonical text (`self.to_string()`); [`parse`] reports
    /// them against the text as typed.
    pub fn to_filter(&self, now: DateTime<Utc>) -> Result<AuditFilter, QueryError> {
        let mut column = 1;
        let spanned = self.terms.iter().map(|term| {
            let at = column;
            column += term.to_string().chars().count() + 1;
            (at, term)
        });
        filter_from(spanned, now)
    }
}

fn error(column: usize, message: impl Into<String>) -> QueryError {
    QueryError {
        column,
        message: message.into(),
    }
}

// ---------------------------------------------------------------------------------------------
// Checking and lowering to a filter

fn filter_from<'a>(
    terms: impl IntoIterator<Item = (usize, &'a Term)>,
    now: DateTime<Utc>,
) -> Result<AuditFilter, QueryError> {
    /// Fills a singular field's slot, refusing a second value before working it out.
    fn once<T>(
        slot: &mut Option<T>,
        name: &str,
        column: usize,
        value: impl FnOnce() -> Result<T, QueryError>,
    ) -> Result<(), QueryError> {
        if slot.is_some() {
            return Err(error(
                column,
                format!(
                    "{name}: given twice; terms AND together, so no record can match two \
                     {name}: values; expected {name}: at most once"
                ),
            ));
        }
        *slot = Some(value()?);
        Ok(())
    }
    let resolve = |bound: &TimeBound, name: &str, column: usize| match *bound {
        TimeBound::At(at) => Ok(at),
        TimeBound::Ago(d) => now.checked_sub_signed(d).ok_or_else(|| {
            error(
                column,
                format!(
                    "{name}:{} reaches too far back; expected a shorter time",
                    crate::duration::format(d)
                ),
            )
        }),
    };

    let mut f = AuditFilter::default();
    // The column of whichever of since: and until: came second, for the order check.
    let mut bounds_column = 0;
    for (column, term) in terms {
        match term {
            Term::Domain(d) => once(&mut f.domain, "domain", column, || Ok(d.clone()))?,
            Term::Type(t) => once(&mut f.action_type, "type", column, || Ok(*t))?,
            Term::Agent(a) => once(&mut f.agent, "agent", column, || Ok(a.clone()))?,
            Term::Class(c) => once(&mut f.classification, "class", column, || Ok(*c))?,
            Term::Task(t) => once(&mut f.task, "task", column, || Ok(t.clone()))?,
            Term::Since(b) => {
                once(&mut f.since, "since", column, || {
                    resolve(b, "since", column)
                })?;
                bounds_column = column;
            }
            Term::Until(b) => {
                once(&mut f.until, "until", column, || {
                    resolve(b, "until", column)
                })?;
                bounds_column = column;
            }
            Term::Word(w) => f.words.push(w.clone()),
            Term::Phrase(p) => f.phrases.push(p.clone()),
            Term::Exclude(inner) => match &**inner {
                Term::Word(text) | Term::Phrase(text) => f.excluded.push(text.clone()),
                _ => {
                    return Err(error(
                        column,
                        "exclusion only applies to words and phrases; \
                         expected -word or -\"phrase\"",
                    ));
                }
            },
        }
    }
    if let (Some(since), Some(until)) = (f.since, f.until)
        && since >= until
    {
        return Err(error(
            bounds_column,
            format!(
                "since: ({}) must be before until: ({}); expected an earlier since: or a later \
                 until:",
                rfc3339(since),
                rfc3339(until)
            ),
        ));
    }
    Ok(f)
}

// ---------------------------------------------------------------------------------------------
// Printing

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// `"…"` with `\` and `"` escaped.
fn write_quoted(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in text.chars() {
        if matches!(c, '"' | '\\') {
            f.write_str("\\")?;
        }
        write!(f, "{c}")?;
    }
    f.write_str("\"")
}

/// A field value bare when it reads back as itself, quoted otherwise.
fn write_value(f: &mut fmt::Formatter<'_>, value: &str) -> fmt::Result {
    if value.is_empty() || value.chars().any(|c| c.is_whitespace() || c == '"') {
        write_quoted(f, value)
    } else {
        f.write_str(value)
    }
}

impl fmt::Display for TimeBound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            TimeBound::Ago(d) => f.write_str(&crate::duration::format(d)),
            TimeBound::At(at) => f.write_str(&rfc3339(at)),
        }
    }
}

/// The canonical spelling of one term. Words are printed as they are, so a [`Term::Word`] that
/// the parser would not produce (holding whitespace or a quote, say) does not read back the same.
impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Term::Domain(v) => {
                f.write_str("domain:")?;
                write_value(f, v)
            }
            Term::Type(t) => write!(f, "type:{}", t.as_str()),
            Term::Agent(v) => {
                f.write_str("agent:")?;
                write_value(f, v)
            }
            Term::Class(c) => write!(f, "class:{}", c.as_str()),
            Term::Task(v) => {
                f.write_str("task:")?;
                write_value(f, v)
            }
            Term::Since(b) => write!(f, "since:{b}"),
            Term::Until(b) => write!(f, "until:{b}"),
            Term::Word(w) => f.write_str(w),
            Term::Phrase(p) => write_quoted(f, p),
            Term::Exclude(inner) => write!(f, "-{inner}"),
        }
    }
}

/// The canonical text: terms joined by one space; `parse_query(&q.to_string()) == Ok(q)` for
/// every query the parser produces.
impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, term) in self.terms.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{term}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
