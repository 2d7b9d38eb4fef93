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

use chrono::{DateTime, Datelike, Duration, NaiveDate, SecondsFormat, Utc};

use crate::model::{ActionType, Classification};
use crate::store::AuditFilter;

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

const FIELDS: [&str; 7] = ["domain", "type", "agent", "class", "task", "since", "until"];

const EXPECTED_TERM: &str =
    "expected domain:, type:, agent:, class:, task:, since:, until:, a word or a \"phrase\"";

const TIME_FORMS: &str = "expected a time before now like 2h, 7d or 1h30m, a date like 2026-11-20 \
     or a date-time like 2026-11-20T10:00:00Z";

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

// ---------------------------------------------------------------------------------------------
// Parsing

/// The terms of `input`, each with the column it starts at.
fn parse_spanned(input: &str) -> Result<Vec<(usize, Term)>, QueryError> {
    let mut parser = Parser {
        chars: input.chars().collect(),
        pos: 0,
    };
    let mut terms = Vec::new();
    loop {
        parser.skip_whitespace();
        if parser.at_end() {
            return Ok(terms);
        }
        let column = parser.column();
        terms.push((column, parser.term()?));
    }
}

struct Parser {
    chars: Vec<char>,
    /// Index into `chars`; the column is `pos + 1`.
    pos: usize,
}

fn error(column: usize, message: impl Into<String>) -> QueryError {
    QueryError {
        column,
        message: message.into(),
    }
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    fn at_boundary(&self) -> bool {
        self.peek().is_none_or(char::is_whitespace)
    }

    fn column(&self) -> usize {
        self.pos + 1
    }

    fn skip_whitespace(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    /// `letters:` at the cursor: the field name, however it is spelt.
    fn field_name(&self) -> Option<String> {
        let letters: String = self.chars[self.pos..]
            .iter()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect();
        let after = self.chars.get(self.pos + letters.len());
        (!letters.is_empty() && after == Some(&':')).then_some(letters)
    }

    fn term(&mut self) -> Result<Term, QueryError> {
        let start = self.column();
        match self.peek() {
            Some('"') => Ok(Term::Phrase(self.phrase()?)),
            Some('-') => {
                self.pos += 1;
                match self.peek() {
                    None => Err(lone_dash(start)),
                    Some(c) if c.is_whitespace() => Err(lone_dash(start)),
                    Some('"') => Ok(Term::Exclude(Box::new(Term::Phrase(self.phrase()?)))),
                    Some('-') => Err(error(
                        self.column(),
                        "expected a word or a \"phrase\" after -, not another -; \
                         to exclude a word that starts with -, quote it: -\"--word\"",
                    )),
                    Some(_) => match self.field_name() {
                        Some(name) if FIELDS.contains(&name.as_str()) => Err(error(
                            start,
                            format!(
                                "-{name}: cannot be excluded: exclusion only applies to words \
                                 and phrases; expected -word or -\"phrase\""
                            ),
                        )),
                        Some(name) => Err(unknown_field(self.column(), &name)),
                        None => Ok(Term::Exclude(Box::new(Term::Word(self.bare()?)))),
                    },
                }
            }
            _ => match self.field_name() {
                Some(name) if FIELDS.contains(&name.as_str()) => {
                    self.pos += name.len() + 1;
                    self.field(&name)
                }
                Some(name) => Err(unknown_field(start, &name)),
                None => Ok(Term::Word(self.bare()?)),
            },
        }
    }

    /// The value after `name:`, turned into its term.
    fn field(&mut self, name: &str) -> Result<Term, QueryError> {
        let column = self.column();
        let value = match self.peek() {
            Some('"') => self.phrase_text()?,
            _ if self.at_boundary() => String::new(),
            _ => self.bare()?,
        };
        if value.trim().is_empty() {
            return Err(error(column, needs_a_value(name)));
        }
        Ok(match name {
            "domain" => Term::Domain(value),
            "agent" => Term::Agent(value),
            "task" => Term::Task(value),
            "type" => Term::Type(match value.as_str() {
                "decision" => ActionType::Decision,
                "execution" => ActionType::Execution,
                "escalation" => ActionType::Escalation,
                _ => {
                    return Err(error(
                        column,
                        format!(
                            "type:{value} is not an action type; \
                             expected decision, execution or escalation"
                        ),
                    ));
                }
            }),
            "class" => Term::Class(match value.as_str() {
                "public" => Classification::Public,
                "internal" => Classification::Internal,
                "sensitive" => Classification::Sensitive,
                _ => {
                    return Err(error(
                        column,
                        format!(
                            "class:{value} is not a classification; \
                             expected public, internal or sensitive"
                        ),
                    ));
                }
            }),
            "since" => Term::Since(time_bound(name, &value, column)?),
            "until" => Term::Until(time_bound(name, &value, column)?),
            _ => unreachable!("FIELDS lists every field handled here"),
        })
    }

    /// Characters up to whitespace or the end; a quote among them is an error.
    fn bare(&mut self) -> Result<String, QueryError> {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if c.is_whitespace() {
                break;
            }
            if c == '"' {
                return Err(error(
                    self.column(),
                    "unexpected \" inside a word; expected a space before a \"phrase\", \
                     or quotes around the whole word or value",
                ));
            }
            out.push(c);
            self.pos += 1;
        }
        Ok(out)
    }

    /// A quoted phrase that must hold some text.
    fn phrase(&mut self) -> Result<String, QueryError> {
        let column = self.column();
        let text = self.phrase_text()?;
        if text.trim().is_empty() {
            return Err(error(
                column,
                "empty phrase; expected some text between the quotes",
            ));
        }
        Ok(text)
    }

    /// `"…"` at the cursor, unescaped, followed by whitespace or the end.
    fn phrase_text(&mut self) -> Result<String, QueryError> {
        let open = self.column();
        debug_assert_eq!(self.peek(), Some('"'));
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => {
                    return Err(error(
                        open,
                        "unterminated quote; expected a closing \" (write \\\" for a quote \
                         inside a phrase)",
                    ));
                }
                Some('"') => {
                    self.pos += 1;
                    break;
                }
                Some('\\') => match self.chars.get(self.pos + 1) {
                    Some(&c @ ('"' | '\\')) => {
                        out.push(c);
                        self.pos += 2;
                    }
                    _ => {
                        out.push('\\');
                        self.pos += 1;
                    }
                },
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
        if !self.at_boundary() {
            return Err(error(
                self.column(),
                "expected a space after the closing quote",
            ));
        }
        Ok(out)
    }
}

fn lone_dash(column: usize) -> QueryError {
    error(
        column,
        "a lone - excludes nothing; expected a word or a \"phrase\" right after it, e.g. -legacy",
    )
}

fn unknown_field(column: usize, name: &str) -> QueryError {
    let hint = if FIELDS.contains(&name.to_ascii_lowercase().as_str()) {
        " (fields are lowercase)"
    } else {
        ""
    };
    error(
        column,
        format!("unknown field {name}:{hint}; {EXPECTED_TERM}"),
    )
}

fn needs_a_value(name: &str) -> String {
    let example = match name {
        "domain" => "domain:platform",
        "type" => "type:decision",
        "agent" => "agent:agent-17",
        "class" => "class:sensitive",
        "task" => "task:T-42",
        "since" => "since:2h",
        _ => "until:2026-11-20",
    };
    format!("{name}: needs a value, e.g. {example}")
}

/// A date written exactly `YYYY-MM-DD` (chrono alone also takes `-78-7-8`).
fn plain_date(value: &str) -> Option<NaiveDate> {
    let b = value.as_bytes();
    let shaped = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    if !shaped {
        return None;
    }
    NaiveDate::parse_from_str(value, "%Y-%m-%d").ok()
}

fn time_bound(name: &str, value: &str, column: usize) -> Result<TimeBound, QueryError> {
    let absolute = DateTime::parse_from_rfc3339(value)
        .map(|at| at.with_timezone(&Utc))
        .ok()
        .or_else(|| plain_date(value).map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc()));
    if let Some(at) = absolute {
        // An offset can carry 0000-01-01 or 9999-12-31 out of the years RFC 3339 can write.
        if !(0..=9999).contains(&at.year()) {
            return Err(error(
                column,
                format!("{name}:{value} is outside the years 0000 to 9999 in UTC; {TIME_FORMS}"),
            ));
        }
        return Ok(TimeBound::At(at));
    }
    match crate::duration::parse(value) {
        Ok(d) => Ok(TimeBound::Ago(d)),
        Err(e) => {
            // Say why a duration was refused only when it looks like one (`99999999999w`).
            let looks_like_duration = value.starts_with(|c: char| c.is_ascii_digit())
                && value.chars().all(|c| c.is_ascii_alphanumeric());
            let why = if looks_like_duration {
                format!(" ({})", e.why)
            } else {
                String::new()
            };
            Err(error(
                column,
                format!("{name}:{value} is not a time{why}; {TIME_FORMS}"),
            ))
        }
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
