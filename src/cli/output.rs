//! Printing results: a table for people, JSON or JSON lines for scripts.

use std::io::Write;

use comfy_table::{ContentArrangement, Table, presets};
use serde::Serialize;

use super::args::Format;
use super::error::CliError;
use crate::text::SafeText;

/// Rows for the table form of a listing; every cell passes through SafeText.
pub struct Rows {
    pub headers: &'static [&'static str],
    pub rows: Vec<Vec<String>>,
}

pub fn emit_list<T: Serialize>(
    format: Format,
    items: &[T],
    rows: impl FnOnce() -> Rows,
) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, items).map_err(json_err)?;
            writeln!(out)?;
        }
        Format::Jsonl => {
            for item in items {
                serde_json::to_writer(&mut out, item).map_err(json_err)?;
                writeln!(out)?;
            }
        }
        Format::Table => {
            let rows = rows();
            if rows.rows.is_empty() {
                writeln!(out, "(none)")?;
            } else {
                writeln!(out, "{}", table(rows))?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// One item: its JSON, or a line for people.
pub fn emit_one<T: Serialize>(
    format: Format,
    item: &T,
    line: impl FnOnce() -> String,
) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, item).map_err(json_err)?;
            writeln!(out)?;
        }
        Format::Jsonl => {
            serde_json::to_writer(&mut out, item).map_err(json_err)?;
            writeln!(out)?;
        }
        Format::Table => writeln!(out, "{}", SafeText::new(&line()))?,
    }
    out.flush()?;
    Ok(())
}

fn json_err(e: serde_json::Error) -> CliError {
    if e.io_error_kind() == Some(std::io::ErrorKind::BrokenPipe) {
        CliError::BrokenPipe
    } else {
        CliError::Runtime(format!("cannot write JSON: {e}"))
    }
}

fn table(rows: Rows) -> String {
    let mut table = Table::new();
    table
        .load_style(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(rows.headers.iter().map(|h| h.to_string()));
    for row in rows.rows {
        table.add_row(row.iter().map(|c| SafeText::new(c).into_string()));
    }
    // The preset pads with one space each side; trim the left edge like kubectl.
    table
        .to_string()
        .lines()
        .map(|l| l.strip_prefix(' ').unwrap_or(l).trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

pub use crate::format::{left, span, truncate};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_cells_are_made_safe() {
        let t = table(Rows {
            headers: &["A"],
            rows: vec![vec!["x\x1b[2Jy\u{202E}".into()]],
        });
        assert!(t.contains("x^[[2Jy<U+202E>"), "{t}");
        assert!(!t.contains('\x1b'));
    }
}
