//! `audit export`: the trail as JSON lines (the public schema) or CSV.
//!
//! Both are written exactly to a file or a pipe, with one exception that spreadsheets force: a
//! CSV cell that a spreadsheet would run as a formula (one starting with `=`, `+`, `-`, `@`, a tab
//! or a carriage return) gets a leading `'`, following OWASP's CSV injection guidance, wherever
//! the CSV goes. On a terminal the text is also made safe: JSON with `\u` escapes for control and
//! bidi characters, CSV cells through `SafeText`.

use std::borrow::Cow;
use std::io::Write;

use super::args::ExportFormat;
use super::error::CliError;
use super::output::{Json, write_json};
use crate::model::AuditRecord;
use crate::query::AuditFilter;
use crate::text::SafeText;

const CSV_HEADER: [&str; 17] = [
    "seq",
    "id",
    "timestamp",
    "agent_id",
    "action_type",
    "domain",
    "classification",
    "retention",
    "summary",
    "context",
    "options_considered",
    "decision",
    "reasoning",
    "outcome",
    "related_tasks",
    "prev_hash",
    "hash",
];

/// A cell a spreadsheet would take for a formula, made plain text with a leading `'`.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

/// The I/O error inside a CSV error, so a closed pipe stays a closed pipe.
fn csv_io(e: csv::Error) -> std::io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => io,
        other => std::io::Error::other(format!("{other:?}")),
    }
}

fn csv_row(r: &AuditRecord) -> [String; 17] {
    [
        r.seq.to_string(),
        r.id.clone(),
        crate::model::audit::millis::format(&r.timestamp),
        r.agent_id.clone(),
        r.action_type.as_str().into(),
        r.domain.clone(),
        r.classification.as_str().into(),
        r.retention.as_str().into(),
        r.summary.clone(),
        r.details.context.clone(),
        r.details.options_considered.join(" | "),
        r.details.decision.clone(),
        r.details.reasoning.clone(),
        r.details.outcome.clone(),
        r.related_tasks.join(" "),
        r.prev_hash.clone(),
        r.hash.clone(),
    ]
}

/// Writes the matching records up to `until_seq`, oldest first, each as `shown` makes it (whole
/// or withheld); returns how many. `terminal` says the sink is one.
pub fn export(
    store: &crate::store::Store,
    filter: &AuditFilter,
    format: ExportFormat,
    shown: &dyn Fn(AuditRecord) -> AuditRecord,
    until_seq: u64,
    sink: Box<dyn Write>,
    terminal: bool,
) -> Result<u64, CliError> {
    let mut count = 0u64;
    let mut failed: Option<CliError> = None;
    match format {
        ExportFormat::Jsonl => {
            let mut out = std::io::BufWriter::new(sink);
            store.each_audit_matching(filter, &mut |record| {
                if record.seq > until_seq {
                    return false;
                }
                let written = write_json(&mut out, &shown(record), Json::Line, terminal);
                count += u64::from(written.is_ok());
                written.map_err(|e| failed = Some(e)).is_ok()
            })?;
            if failed.is_none() {
                out.flush()?;
            }
        }
        ExportFormat::Csv => {
            let mut out = csv::Writer::from_writer(sink);
            out.write_record(CSV_HEADER)
                .map_err(|e| CliError::from(csv_io(e)))?;
            store.each_audit_matching(filter, &mut |r| {
                if r.seq > until_seq {
                    return false;
                }
                let row = csv_row(&shown(r)).map(|cell| {
                    let cell = neutralise(&cell).into_owned();
                    if terminal {
                        SafeText::new(&cell).into_string()
                    } else {
                        cell
                    }
                });
                let written = out
                    .write_record(&row)
                    .map_err(|e| CliError::from(csv_io(e)));
                count += u64::from(written.is_ok());
                written.map_err(|e| failed = Some(e)).is_ok()
            })?;
            if failed.is_none() {
                out.flush()?;
            }
        }
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(count),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised_and_others_left_alone() {
        assert_eq!(neutralise("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
        for lead in ["+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(neutralise(lead), format!("'{lead}"));
        }
        for plain in ["", "approve budget", "'already", "1-2", " =x"] {
            assert!(matches!(neutralise(plain), Cow::Borrowed(_)), "{plain:?}");
        }
    }
}
