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
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap()
    }

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    fn terms(input: &str) -> Vec<Term> {
        parse_query(input)
            .unwrap_or_else(|e| panic!("{input:?}: {e}"))
            .terms
    }

    fn one(input: &str) -> Term {
        let mut t = terms(input);
        assert_eq!(t.len(), 1, "{input:?}: {t:?}");
        t.remove(0)
    }

    fn err(input: &str) -> QueryError {
        match parse_query(input) {
            Ok(q) => panic!("{input:?} parsed as {q:?}"),
            Err(e) => e,
        }
    }

    fn filter_err(input: &str) -> QueryError {
        match parse(input, now()) {
            Ok(f) => panic!("{input:?} gave {f:?}"),
            Err(e) => e,
        }
    }

    fn word(w: &str) -> Term {
        Term::Word(w.into())
    }

    fn phrase(p: &str) -> Term {
        Term::Phrase(p.into())
    }

    fn exclude(t: Term) -> Term {
        Term::Exclude(Box::new(t))
    }

    #[test]
    fn empty_and_blank_queries_match_everything() {
        for q in ["", "   ", "\t \n"] {
            assert_eq!(parse_query(q).unwrap(), Query::default());
            assert_eq!(parse(q, now()).unwrap(), AuditFilter::default());
        }
        assert_eq!(Query::default().to_string(), "");
    }

    #[test]
    fn the_design_example() {
        let q = "domain:platform type:escalation agent:agent-17 class:sensitive task:T-42 \
                 since:2h until:2026-11-20 \"exact phrase\" word -excluded";
        assert_eq!(
            terms(q),
            vec![
                Term::Domain("platform".into()),
                Term::Type(ActionType::Escalation),
                Term::Agent("agent-17".into()),
                Term::Class(Classification::Sensitive),
                Term::Task("T-42".into()),
                Term::Since(TimeBound::Ago(Duration::hours(2))),
                Term::Until(TimeBound::At(at(2026, 11, 20, 0, 0, 0))),
                phrase("exact phrase"),
                word("word"),
                exclude(word("excluded")),
            ]
        );
        // Absolute times print in full.
        assert_eq!(
            parse_query(q).unwrap().to_string(),
            q.replace("until:2026-11-20", "until:2026-11-20T00:00:00Z")
        );
    }

    #[test]
    fn string_fields() {
        assert_eq!(one("domain:platform"), Term::Domain("platform".into()));
        assert_eq!(one("agent:agent-17"), Term::Agent("agent-17".into()));
        assert_eq!(one("task:T-42"), Term::Task("T-42".into()));
        // Colons after the first belong to the value.
        assert_eq!(
            one("agent:operator:alice"),
            Term::Agent("operator:alice".into())
        );
        // Quoted values, with spaces, colons and escapes.
        assert_eq!(
            one("agent:\"operator:alice\""),
            Term::Agent("operator:alice".into())
        );
        assert_eq!(
            one(r#"domain:"two words \"q\" \\""#),
            Term::Domain(r#"two words "q" \"#.into())
        );
        // Outside quotes a backslash is just a character, and values may start with -.
        assert_eq!(one(r"task:a\b"), Term::Task(r"a\b".into()));
        assert_eq!(one("domain:-x"), Term::Domain("-x".into()));
    }

    #[test]
    fn type_and_class() {
        for (text, kind) in [
            ("decision", ActionType::Decision),
            ("execution", ActionType::Execution),
            ("escalation", ActionType::Escalation),
        ] {
            assert_eq!(one(&format!("type:{text}")), Term::Type(kind));
            assert_eq!(one(&format!("type:\"{text}\"")), Term::Type(kind));
        }
        for (text, class) in [
            ("public", Classification::Public),
            ("internal", Classification::Internal),
            ("sensitive", Classification::Sensitive),
        ] {
            assert_eq!(one(&format!("class:{text}")), Term::Class(class));
        }
    }

    #[test]
    fn times() {
        assert_eq!(
            one("since:2h"),
            Term::Since(TimeBound::Ago(Duration::hours(2)))
        );
        assert_eq!(
            one("until:7d"),
            Term::Until(TimeBound::Ago(Duration::days(7)))
        );
        assert_eq!(
            one("since:1h30m"),
            Term::Since(TimeBound::Ago(Duration::minutes(90)))
        );
        assert_eq!(
            one("until:2026-11-20"),
            Term::Until(TimeBound::At(at(2026, 11, 20, 0, 0, 0)))
        );
        assert_eq!(
            one("since:2026-11-20T10:00:00Z"),
            Term::Since(TimeBound::At(at(2026, 11, 20, 10, 0, 0)))
        );
        // Offsets are converted to UTC and print back with Z.
        let t = one("since:2026-11-20T10:00:00+02:00");
        assert_eq!(t, Term::Since(TimeBound::At(at(2026, 11, 20, 8, 0, 0))));
        assert_eq!(t.to_string(), "since:2026-11-20T08:00:00Z");
        // Durations print in their shortest spelling.
        assert_eq!(one("since:90m").to_string(), "since:1h30m");
    }

    #[test]
    fn words_and_phrases() {
        assert_eq!(
            terms("  budget\tException  12:30 agent-17 :x a1:b ünïcode "),
            vec![
                word("budget"),
                word("Exception"),
                word("12:30"),
                word("agent-17"),
                word(":x"),
                word("a1:b"),
                word("ünïcode"),
            ]
        );
        assert_eq!(one("\"exact phrase\""), phrase("exact phrase"));
        assert_eq!(
            one(r#""say \"hi\" to C:\\dir""#),
            phrase(r#"say "hi" to C:\dir"#)
        );
        // A backslash before anything else is kept as written.
        assert_eq!(one(r#""a\nb""#), phrase(r"a\nb"));
        assert_eq!(one("\"domain:x\""), phrase("domain:x"));
        assert_eq!(terms("\"a\"\t\"b\""), vec![phrase("a"), phrase("b")]);
    }

    #[test]
    fn exclusions() {
        assert_eq!(
            terms("budget -legacy -\"old plan\" -12:00"),
            vec![
                word("budget"),
                exclude(word("legacy")),
                exclude(phrase("old plan")),
                exclude(word("12:00")),
            ]
        );
        let f = parse("budget -legacy -\"old plan\"", now()).unwrap();
        assert_eq!(f.words, vec!["budget"]);
        assert_eq!(f.excluded, vec!["legacy", "old plan"]);
        // A dash inside a word is part of it.
        assert_eq!(one("a-b"), word("a-b"));
    }

    #[test]
    fn to_filter_maps_every_term() {
        let f = parse(
            "domain:platform type:decision agent:operator:alice class:internal task:T-1 \
             since:2h until:2026-11-21 budget \"big spend\" -legacy -\"old plan\" exception",
            now(),
        )
        .unwrap();
        assert_eq!(
            f,
            AuditFilter {
                domain: Some("platform".into()),
                action_type: Some(ActionType::Decision),
                agent: Some("operator:alice".into()),
                classification: Some(Classification::Internal),
                task: Some("T-1".into()),
                since: Some(at(2026, 11, 20, 10, 0, 0)),
                until: Some(at(2026, 11, 21, 0, 0, 0)),
                words: vec!["budget".into(), "exception".into()],
                phrases: vec!["big spend".into()],
                excluded: vec!["legacy".into(), "old plan".into()],
            }
        );
        // Relative times on both sides.
        let f = parse("since:7d until:1d", now()).unwrap();
        assert_eq!(f.since, Some(at(2026, 11, 13, 12, 0, 0)));
        assert_eq!(f.until, Some(at(2026, 11, 19, 12, 0, 0)));
        // Query::to_filter gives the same as parse.
        let q = parse_query("since:2h word").unwrap();
        assert_eq!(
            q.to_filter(now()).unwrap(),
            parse("since:2h word", now()).unwrap()
        );
    }

    #[test]
    fn syntax_errors_name_the_column_and_what_was_expected() {
        let cases: &[(&str, usize, &str)] = &[
            // Unknown fields, at the field name.
            (
                "budget foo:bar",
                8,
                "unknown field foo:; expected domain:, type:, agent:, class:, task:, since:, until:, a word or a \"phrase\"",
            ),
            (
                "Domain:x",
                1,
                "unknown field Domain: (fields are lowercase)",
            ),
            ("http://example.com", 1, "unknown field http:"),
            ("-foo:bar", 2, "unknown field foo:"),
            // Empty values, where the value should be.
            ("  domain:", 10, "domain: needs a value"),
            ("domain: x", 8, "domain: needs a value"),
            ("agent:\"\"", 7, "agent: needs a value"),
            ("task:\" \"", 6, "task: needs a value"),
            ("since:", 7, "since: needs a value"),
            // Bad type and class values, at the value.
            (
                "budget type:bogus",
                13,
                "type:bogus is not an action type; expected decision, execution or escalation",
            ),
            (
                "type:Decision",
                6,
                "expected decision, execution or escalation",
            ),
            (
                "class:secret",
                7,
                "class:secret is not a classification; expected public, internal or sensitive",
            ),
            // Bad times say the forms accepted.
            (
                "since:yesterday",
                7,
                "since:yesterday is not a time; expected a time before now like 2h, 7d or 1h30m, a date like 2026-11-20 or a date-time like 2026-11-20T10:00:00Z",
            ),
            (
                "until:2026-13-01",
                7,
                "until:2026-13-01 is not a time; expected",
            ),
            (
                "since:10",
                7,
                "since:10 is not a time (the last number has no unit); expected",
            ),
            ("since:-5m", 7, "is not a time; expected"),
            ("since:99999999999999w", 7, "(it is too long)"),
            // Dates are exactly YYYY-MM-DD, in the years RFC 3339 can write (found by fuzzing).
            ("until:-78-7-8", 7, "is not a time; expected"),
            ("since:-2026-11-20", 7, "is not a time; expected"),
            ("until:2026-1-5", 7, "is not a time; expected"),
            ("since:+2026-11-20", 7, "is not a time; expected"),
            (
                "since:0000-01-01T00:00:00+01:00",
                7,
                "outside the years 0000 to 9999",
            ),
            (
                "until:9999-12-31T23:00:00-02:00",
                7,
                "outside the years 0000 to 9999",
            ),
            // Quotes.
            (
                "budget \"open phrase",
                8,
                "unterminated quote; expected a closing \"",
            ),
            ("domain:\"x", 8, "unterminated quote"),
            (r#""ends in escape\""#, 1, "unterminated quote"),
            ("-\"x", 2, "unterminated quote"),
            ("\"a\"b", 4, "expected a space after the closing quote"),
            (
                "agent:\"a\"b",
                10,
                "expected a space after the closing quote",
            ),
            (
                "ab\"c\"",
                3,
                "unexpected \" inside a word; expected a space before a \"phrase\"",
            ),
            ("domain:a\"b", 9, "unexpected \" inside a word"),
            (
                "\"\"",
                1,
                "empty phrase; expected some text between the quotes",
            ),
            ("x -\"  \"", 4, "empty phrase"),
            // Exclusions.
            (
                "budget -",
                8,
                "a lone - excludes nothing; expected a word or a \"phrase\"",
            ),
            ("- budget", 1, "a lone - excludes nothing"),
            ("--force", 2, "expected a word or a \"phrase\" after -"),
            (
                "x -domain:platform",
                3,
                "-domain: cannot be excluded: exclusion only applies to words and phrases",
            ),
            (
                "-since:2h",
                1,
                "exclusion only applies to words and phrases",
            ),
        ];
        for &(input, column, message) in cases {
            let e = err(input);
            assert_eq!(e.column, column, "{input:?}: {e}");
            assert!(
                e.message.contains(message),
                "{input:?}: {:?} should contain {message:?}",
                e.message
            );
            assert_eq!(e.to_string(), format!("column {column}: {}", e.message));
            // parse reports the same error.
            assert_eq!(parse(input, now()).unwrap_err(), e);
        }
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let e = err("ünï café foo:x");
        assert_eq!(e.column, 10);
        let e = err("\"日本語\" type:x");
        assert_eq!(e.column, 12);
    }

    #[test]
    fn filter_errors_name_the_column() {
        for field in [
            "domain:a",
            "type:decision",
            "agent:a",
            "class:public",
            "task:a",
        ] {
            let name = field.split(':').next().unwrap();
            let e = filter_err(&format!("{field} word {field}"));
            assert_eq!(e.column, field.len() + 7, "{field}: {e}");
            assert!(
                e.message
                    .starts_with(&format!("{name}: given twice; terms AND together")),
                "{e}"
            );
        }
        let e = filter_err("since:2h  until:1h since:3h");
        assert_eq!(
            (e.column, e.message.starts_with("since: given twice")),
            (20, true),
            "{e}"
        );
        let e = filter_err("until:1d until:2d");
        assert_eq!(e.column, 10);
        // Given twice is reported before the second value is worked out.
        let e = filter_err("since:2h since:15000000000w");
        assert!(e.message.starts_with("since: given twice"), "{e}");

        // since must be before until, reported at whichever came second.
        let e = filter_err("since:1h word until:2h");
        assert_eq!(e.column, 15, "{e}");
        assert!(
            e.message.contains(
                "since: (2026-11-20T11:00:00Z) must be before until: (2026-11-20T10:00:00Z)"
            ),
            "{e}"
        );
        let e = filter_err("until:2026-11-20 since:2026-11-20");
        assert_eq!(e.column, 18, "{e}");

        // A relative time too far back for the calendar.
        let e = filter_err("x since:15000000000w");
        assert_eq!(e.column, 3);
        assert!(e.message.contains("too far back"), "{e}");

        // Query::to_filter counts columns in the canonical text.
        let q = parse_query("  domain:a    domain:b").unwrap();
        assert_eq!(q.to_filter(now()).unwrap_err().column, 10);
        // A hand-built exclusion of a field is refused rather than ignored.
        let q = Query {
            terms: vec![word("x"), exclude(Term::Domain("d".into()))],
        };
        let e = q.to_filter(now()).unwrap_err();
        assert_eq!(e.column, 3);
        assert!(e.message.contains("exclusion only applies"), "{e}");
    }

    #[test]
    fn canonical_printing() {
        let q = parse_query(
            "  agent:\"operator alice\"  domain:\"a\\\"b\"  task:x\\y \"p \\\\ q\"  -\"r s\" since:2026-11-20",
        )
        .unwrap();
        assert_eq!(
            q.to_string(),
            r#"agent:"operator alice" domain:"a\"b" task:x\y "p \\ q" -"r s" since:2026-11-20T00:00:00Z"#
        );
        assert_eq!(parse_query(&q.to_string()).unwrap(), q);
        // Sub-second instants keep their fraction (seconds precision otherwise).
        let t = one("until:2026-11-20T10:00:00.250Z");
        assert_eq!(t.to_string(), "until:2026-11-20T10:00:00.250Z");
        assert_eq!(one(&t.to_string()), t);
    }

    // -----------------------------------------------------------------------------------------
    // Property tests

    /// Whether `w` parses back as exactly the word `w`.
    fn is_word(w: &str) -> bool {
        parse_query(w).is_ok_and(|q| q.terms == [Term::Word(w.to_string())])
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-zA-Z0-9 :\"\\\\\\-\t]{1,12}",
            ".{1,12}",
            "[a-z]{1,8}(:[a-z0-9]{1,8})?",
        ]
        .prop_filter("needs some text", |s| !s.trim().is_empty())
    }

    fn word_text() -> impl Strategy<Value = String> {
        prop_oneof!["[a-zA-Z0-9_.:/'\\\\-]{1,12}", "[a-z]{1,8}", "[^\\s\"]{1,8}",]
            .prop_filter("must read back as a word", |w| is_word(w))
    }

    fn time_bound_strategy() -> impl Strategy<Value = TimeBound> {
        prop_oneof![
            (0i64..100_000_000_000).prop_map(|s| TimeBound::Ago(Duration::seconds(s))),
            // 0000-01-01 to 9999-12-31, whole seconds.
            (-62_167_219_200i64..253_402_300_800)
                .prop_map(|s| TimeBound::At(DateTime::from_timestamp(s, 0).unwrap())),
        ]
    }

    fn term_strategy() -> impl Strategy<Value = Term> {
        prop_oneof![
            text().prop_map(Term::Domain),
            prop_oneof![
                Just(ActionType::Decision),
                Just(ActionType::Execution),
                Just(ActionType::Escalation),
            ]
            .prop_map(Term::Type),
            text().prop_map(Term::Agent),
            prop_oneof![
                Just(Classification::Public),
                Just(Classification::Internal),
                Just(Classification::Sensitive),
            ]
            .prop_map(Term::Class),
            text().prop_map(Term::Task),
            time_bound_strategy().prop_map(Term::Since),
            time_bound_strategy().prop_map(Term::Until),
            word_text().prop_map(Term::Word),
            text().prop_map(Term::Phrase),
            word_text().prop_map(|w| Term::Exclude(Box::new(Term::Word(w)))),
            text().prop_map(|p| Term::Exclude(Box::new(Term::Phrase(p)))),
        ]
    }

    /// Strings built from the language's own pieces, to reach deep into the parser.
    fn query_like() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop_oneof![
                Just("domain:".to_string()),
                Just("type:".to_string()),
                Just("class:".to_string()),
                Just("since:".to_string()),
                Just("until:".to_string()),
                Just("agent:".to_string()),
                Just("-".to_string()),
                Just("\"".to_string()),
                Just("\\".to_string()),
                Just(" ".to_string()),
                Just(":".to_string()),
                Just("2h".to_string()),
                Just("2026-11-20".to_string()),
                Just("decision".to_string()),
                "[a-z]{1,4}",
                ".{1,3}",
            ],
            0..16,
        )
        .prop_map(|parts| parts.concat())
    }

    fn check_round_trip(input: &str) {
        if let Ok(q) = parse_query(input) {
            let printed = q.to_string();
            assert_eq!(
                parse_query(&printed),
                Ok(q.clone()),
                "{input:?} → {printed:?}"
            );
            let _ = q.to_filter(now());
        }
        let _ = parse(input, now());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn printing_and_parsing_gives_the_same_ast(
            terms in prop::collection::vec(term_strategy(), 0..8)
        ) {
            let q = Query { terms };
            let printed = q.to_string();
            prop_assert_eq!(parse_query(&printed), Ok(q), "printed as {:?}", printed);
        }

        #[test]
        fn arbitrary_strings_never_panic(input in any::<String>()) {
            check_round_trip(&input);
        }

        #[test]
        fn query_like_strings_never_panic_and_round_trip(input in query_like()) {
            check_round_trip(&input);
        }

        #[test]
        fn errors_point_inside_the_input(input in query_like()) {
            if let Err(e) = parse_query(&input) {
                prop_assert!(e.column >= 1 && e.column <= input.chars().count() + 1, "{}", e);
            }
        }
    }
}
