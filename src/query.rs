//! The audit query language, first version: free words, `domain:NAME`, `type:KIND`. Shared by the
//! console's `/`, the CLI and (later) the server. Errors point at the column.

use crate::model::ActionType;
use crate::store::AuditFilter;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct QueryError {
    /// 1-based, in characters.
    pub column: usize,
    pub message: String,
}

/// Parses a query such as `domain:platform type:decision budget`.
pub fn parse(query: &str) -> Result<AuditFilter, QueryError> {
    let mut filter = AuditFilter::default();
    let mut column = 1;
    for (offset, term) in split_terms(query) {
        column = query[..offset].chars().count() + 1;
        match term.split_once(':') {
            Some(("domain", d)) if !d.is_empty() => filter.domain = Some(d.to_string()),
            Some(("domain", _)) => {
                return Err(QueryError {
                    column: column + 7,
                    message: "domain: needs a name, e.g. domain:platform".into(),
                });
            }
            Some(("type", t)) => {
                filter.action_type = Some(match t {
                    "decision" => ActionType::Decision,
                    "execution" => ActionType::Execution,
                    "escalation" => ActionType::Escalation,
                    _ => {
                        return Err(QueryError {
                            column: column + 5,
                            message: format!(
                                "type:{t} is not an action type; expected decision, execution or escalation"
                            ),
                        });
                    }
                })
            }
            Some((field, _))
                if !field.is_empty() && field.chars().all(|c| c.is_ascii_alphabetic()) =>
            {
                return Err(QueryError {
                    column,
                    message: format!(
                        "unknown field {field}:; expected domain:, type: or free words"
                    ),
                });
            }
            _ => match term.strip_prefix('-') {
                Some("") => {
                    return Err(QueryError {
                        column,
                        message: "a lone '-' excludes nothing; write -word".into(),
                    });
                }
                Some(word) => filter.excluded.push(word.to_string()),
                None => filter.words.push(term.to_string()),
            },
        }
    }
    let _ = column;
    Ok(filter)
}

/// Whitespace-separated terms with their byte offsets.
fn split_terms(query: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut start = None;
    let mut out = Vec::new();
    for (i, c) in query.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                out.push((s, &query[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, &query[s..]));
    }
    out.into_iter()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_words() {
        let f = parse("domain:platform  type:decision budget exception").unwrap();
        assert_eq!(f.domain.as_deref(), Some("platform"));
        assert_eq!(f.action_type, Some(ActionType::Decision));
        assert_eq!(f.words, vec!["budget", "exception"]);
        assert_eq!(parse("").unwrap(), AuditFilter::default());
        let f = parse("budget -legacy").unwrap();
        assert_eq!(
            (f.words, f.excluded),
            (vec!["budget".to_string()], vec!["legacy".to_string()])
        );
    }

    #[test]
    fn errors_point_at_the_column() {
        let e = parse("budget type:bogus").unwrap_err();
        assert_eq!(e.column, 13);
        assert!(e.message.contains("expected decision"));
        let e = parse("agent:x").unwrap_err();
        assert_eq!(e.column, 1);
        assert!(e.message.contains("unknown field agent"));
        let e = parse("  domain:").unwrap_err();
        assert_eq!(e.column, 10);
    }
}
