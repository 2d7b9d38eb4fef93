//! The parser: query text to terms, each with the column it starts at.

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use super::{QueryError, Term, TimeBound, error};
use crate::model::{ActionType, Classification};

const FIELDS: [&str; 7] = ["domain", "type", "agent", "class", "task", "since", "until"];

const EXPECTED_TERM: &str =
    "expected domain:, type:, agent:, class:, task:, since:, until:, a word or a \"phrase\"";

const TIME_FORMS: &str = "expected a time before now like 2h, 7d or 1h30m, a date like 2026-11-20 \
     or a date-time like 2026-11-20T10:00:00Z";

/// The terms of `input`, each with the column it starts at.
pub(super) fn parse_spanned(input: &str) -> Result<Vec<(usize, Term)>, QueryError> {
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

pub(super) fn time_bound(name: &str, value: &str, column: usize) -> Result<TimeBound, QueryError> {
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
