//! `audit search | verify | export`.

use std::io::{IsTerminal, Write};

use super::args::AuditCmd;
use super::context::Context;
use super::error::CliError;
use super::output::{Rows, emit_list, emit_one, truncate};
use crate::query::AuditFilter;
use crate::text::SafeText;

/// The query words of the command line, joined and parsed by the shared query language, with
/// relative times counted back from the store's own now.
pub fn parse_filter(
    words: &[String],
    now: crate::model::Timestamp,
) -> Result<AuditFilter, CliError> {
    let query = words.join(" ");
    crate::query::parse(&query, now)
        .map_err(|e| CliError::Usage(format!("bad query {query:?}: {e}")))
}

use crate::protocol::{COUNT_CAP, PAGE_MAX};

/// Newest first, with the count of all matches: on the local store, or through the server.
fn search(ctx: &Context, query: &str, limit: usize) -> Result<(), CliError> {
    if limit == 0 || limit > 10_000 {
        return Err(CliError::Usage(
            "--limit must be between 1 and 10000".into(),
        ));
    }
    let found = ctx.with_link(|link| async move {
        let mut records = Vec::new();
        while records.len() < limit {
            let cursor = records.last().map(|r: &crate::model::AuditRecord| r.seq);
            let want = (limit - records.len()).min(PAGE_MAX);
            let page = link.search_audit(query, cursor, want).await?;
            let done = page.len() < want;
            records.extend(page);
            if done {
                break;
            }
        }
        let count = link.count_audit(query, COUNT_CAP).await?;
        Ok((records, count))
    });
    let (records, (n, more)) = found.map_err(|e| match e {
        CliError::Usage(why) => CliError::Usage(format!("bad query {query:?}: {why}")),
        other => other,
    })?;
    let format = ctx.format();
    emit_list(format, &records, || Rows {
        headers: &["SEQ", "TIME", "ACTOR", "TYPE", "DOMAIN", "CLASS", "SUMMARY"],
        rows: records
            .iter()
            .map(|r| {
                vec![
                    r.seq.to_string(),
                    r.timestamp.format("%Y-%m-%d %H:%M:%S").to_string(),
                    r.agent_id.clone(),
                    r.action_type.as_str().into(),
                    r.domain.clone(),
                    r.classification.as_str().into(),
                    truncate(&r.summary, 70),
                ]
            })
            .collect(),
    })?;
    if format == super::args::Format::Table {
        let total = if more { format!("{n}+") } else { n.to_string() };
        println!(
            "showing {} of {total} matching records, newest first",
            records.len()
        );
    }
    Ok(())
}

pub fn run(ctx: &Context, cmd: &AuditCmd) -> Result<(), CliError> {
    match cmd {
        AuditCmd::Import { file } => return super::import::import(ctx, file),
        AuditCmd::Prune { dry_run } => return super::trail::prune(ctx, *dry_run),
        _ => {}
    }
    if let AuditCmd::Search { query, limit } = cmd {
        return search(ctx, &query.join(" "), *limit);
    }
    ctx.require_local(match cmd {
        AuditCmd::Verify => "audit verify",
        _ => "audit export",
    })?;
    let store = ctx.existing_store()?;
    match cmd {
        AuditCmd::Search { .. } => unreachable!("handled above"),
        AuditCmd::Import { .. } | AuditCmd::Prune { .. } => unreachable!("handled above"),
        AuditCmd::Verify => {
            let v = store.verify_audit()?;
            let location = store.location().to_string();
            match &v.first_bad {
                None => emit_one(ctx.format(), &v, || {
                    format!(
                        "audit chain intact: {} records verified in {location}{}",
                        v.verified,
                        if v.purged > 0 {
                            format!(" ({} bodies purged by retention)", v.purged)
                        } else {
                            String::new()
                        }
                    )
                }),
                Some(bad) => {
                    emit_one(ctx.format(), &v, || {
                        format!(
                            "audit chain BROKEN at seq {}: {} ({} records verified before it)",
                            bad.seq, bad.reason, v.verified
                        )
                    })?;
                    Err(CliError::Runtime(format!(
                        "audit verification failed at seq {}; restore the store from a backup and compare",
                        bad.seq
                    )))
                }
            }
        }
        AuditCmd::Export {
            output_file,
            query,
            format,
        } => {
            let filter = match query {
                Some(q) => parse_filter(std::slice::from_ref(q), store.now()?)?,
                None => AuditFilter::default(),
            };
            let (sink, terminal): (Box<dyn Write>, bool) = match output_file {
                Some(path) => (
                    Box::new(std::fs::File::create(path).map_err(|e| {
                        CliError::Runtime(format!("cannot create {}: {e}", path.display()))
                    })?),
                    false,
                ),
                None => (
                    Box::new(std::io::stdout().lock()),
                    std::io::stdout().is_terminal(),
                ),
            };
            let count = super::export::export(&store, &filter, *format, sink, terminal)?;
            if let Some(path) = output_file {
                eprintln!(
                    "exported {count} audit records to {}",
                    SafeText::new(&path.display().to_string())
                );
            }
            Ok(())
        }
    }
}
