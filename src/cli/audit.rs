//! `audit search | verify | export`.

use std::io::Write;

use super::args::AuditCmd;
use super::context::Context;
use super::error::CliError;
use super::output::{Rows, emit_list, emit_one, truncate};
use crate::store::AuditFilter;

/// The query words of the command line, joined and parsed by the shared query language.
pub fn parse_filter(words: &[String]) -> Result<AuditFilter, CliError> {
    let query = words.join(" ");
    crate::query::parse(&query).map_err(|e| CliError::Usage(format!("bad query {query:?}: {e}")))
}

pub fn run(ctx: &Context, cmd: &AuditCmd) -> Result<(), CliError> {
    let store = ctx.existing_store()?;
    match cmd {
        AuditCmd::Search { query, limit } => {
            if *limit == 0 || *limit > 10_000 {
                return Err(CliError::Usage(
                    "--limit must be between 1 and 10000".into(),
                ));
            }
            let filter = parse_filter(query)?;
            let records = store.search_audit(&filter, None, *limit)?;
            emit_list(ctx.format(), &records, || Rows {
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
            })
        }
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
        AuditCmd::Export { output_file } => {
            let mut sink: Box<dyn Write> = match output_file {
                Some(path) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(path).map_err(|e| {
                        CliError::Runtime(format!("cannot create {}: {e}", path.display()))
                    })?,
                )),
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            };
            let mut count = 0u64;
            let mut failed: Option<std::io::Error> = None;
            store.each_audit(&mut |record| {
                let written = serde_json::to_writer(&mut sink, &record)
                    .map_err(std::io::Error::from)
                    .and_then(|_| sink.write_all(b"\n"));
                match written {
                    Ok(()) => {
                        count += 1;
                        true
                    }
                    Err(e) => {
                        failed = Some(e);
                        false
                    }
                }
            })?;
            if let Some(e) = failed {
                return Err(e.into());
            }
            sink.flush()?;
            if let Some(path) = output_file {
                eprintln!("exported {count} audit records to {}", path.display());
            }
            Ok(())
        }
    }
}
