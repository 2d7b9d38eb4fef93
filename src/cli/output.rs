//! Printing results: a table for people, JSON or JSON lines for scripts.
//!
//! Everything a command prints is made safe for the terminal it may land on: tables and lines
//! through `SafeText`, JSON on a terminal with control and bidi characters as `\u` escapes
//! (still the same JSON value). JSON into a pipe or a file is exactly what serde writes.

use std::io::{IsTerminal, Write};

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
    let terminal = std::io::stdout().is_terminal();
    // One write per 64 KiB, not per line: stdout is line-buffered, even into a pipe.
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    match format {
        Format::Json => write_json(&mut out, items, Json::Pretty, terminal)?,
        Format::Jsonl => {
            for item in items {
                write_json(&mut out, item, Json::Line, terminal)?;
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
    emit_lines(format, item, || vec![line()])
}

/// One item: its JSON, or lines for people (each made safe on its own, so a newline in the data
/// is shown as `^J`, never taken as the end of a line).
pub fn emit_lines<T: Serialize>(
    format: Format,
    item: &T,
    lines: impl FnOnce() -> Vec<String>,
) -> Result<(), CliError> {
    let terminal = std::io::stdout().is_terminal();
    // One write per 64 KiB, not per line: stdout is line-buffered, even into a pipe.
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    match format {
        Format::Json => write_json(&mut out, item, Json::Pretty, terminal)?,
        Format::Jsonl => write_json(&mut out, item, Json::Line, terminal)?,
        Format::Table => {
            for line in lines() {
                writeln!(out, "{}", SafeText::new(&line))?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// How a JSON value is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Json {
    /// Indented, for `-o json`.
    Pretty,
    /// One line, for `-o jsonl` and exports.
    Line,
}

/// Writes `value` and a newline. With `terminal`, control and bidi characters inside strings
/// become `\u` escapes; otherwise the bytes are exactly serde's.
pub fn write_json<T: Serialize + ?Sized>(
    out: &mut impl Write,
    value: &T,
    layout: Json,
    terminal: bool,
) -> Result<(), CliError> {
    if terminal {
        let text = match layout {
            Json::Pretty => serde_json::to_string_pretty(value),
            Json::Line => serde_json::to_string(value),
        }
        .map_err(json_err)?;
        out.write_all(crate::text::json_for_terminal(&text).as_bytes())?;
    } else {
        match layout {
            Json::Pretty => serde_json::to_writer_pretty(&mut *out, value),
            Json::Line => serde_json::to_writer(&mut *out, value),
        }
        .map_err(json_err)?;
    }
    out.write_all(b"\n")?;
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

    #[test]
    fn json_is_exact_off_a_terminal_and_escaped_on_one() {
        let value = vec!["a\u{9b}b\u{202E}c\x1b]0;t\x07"];
        let mut piped = Vec::new();
        write_json(&mut piped, &value, Json::Line, false).unwrap();
        let mut exact = serde_json::to_vec(&value).unwrap();
        exact.push(b'\n');
        assert_eq!(piped, exact);
        let mut shown = Vec::new();
        write_json(&mut shown, &value, Json::Pretty, true).unwrap();
        let shown = String::from_utf8(shown).unwrap();
        assert!(
            shown.contains("\\u009B") && shown.contains("\\u202E"),
            "{shown}"
        );
        assert!(
            !shown
                .chars()
                .any(|c| c != '\n' && crate::text::needs_escape(c))
        );
        assert_eq!(serde_json::from_str::<Vec<String>>(&shown).unwrap(), value);
    }
}
