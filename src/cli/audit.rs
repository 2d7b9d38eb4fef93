//! `audit search | verify | export`.

use std::io::{IsTerminal, Write};

use super::args::AuditCmd;
use super::context::Context;
use super::error::CliError;
use super::output::{Rows, emit_lines, emit_list, emit_one, truncate};
use crate::model::AuditRecord;
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

use crate::protocol::PAGE_MAX;

/// Matches counted at most, for the table's "of N" line: beyond it the line says "N+".
const SHOWN_COUNT_CAP: u64 = 1_000;

/// Newest first: the page alone, written as soon as it is read. The table then says how many
/// match in all, counted (up to a cap) only when the page was full; JSON never waits for a count.
fn search(ctx: &Context, query: &str, limit: usize) -> Result<(), CliError> {
    if limit == 0 || limit > 10_000 {
        return Err(CliError::Usage(
            "--limit must be between 1 and 10000".into(),
        ));
    }
    let format = ctx.format();
    let table = format == super::args::Format::Table;
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
        let full = records.len() == limit;
        // Written before any count: a broken pipe or a full disk is the command's answer.
        if let Err(e) = emit_records(format, &records) {
            return Ok(Err(e));
        }
        let count = match (table, full) {
            (true, true) => {
                let cap = SHOWN_COUNT_CAP.max(limit as u64 + 1);
                Some(link.count_audit(query, cap).await?)
            }
            _ => None,
        };
        Ok(Ok((records.len(), full, count)))
    });
    let (shown, full, count) = found.map_err(|e| match e {
        CliError::Usage(why) => CliError::Usage(format!("bad query {query:?}: {why}")),
        other => other,
    })??;
    match count {
        Some((n, more)) => {
            let total = if more { format!("{n}+") } else { n.to_string() };
            println!("showing {shown} of {total} matching records, newest first");
        }
        None if table => println!("{shown} matching records, newest first"),
        // The JSON holds the records only: say on stderr that there may be more.
        None if full => {
            eprintln!("opsdeck: showing the newest {shown} matching records; --limit N shows more")
        }
        None => {}
    }
    Ok(())
}

fn emit_records(
    format: super::args::Format,
    records: &[crate::model::AuditRecord],
) -> Result<(), CliError> {
    emit_list(format, records, || Rows {
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

pub fn run(ctx: &Context, cmd: &AuditCmd) -> Result<(), CliError> {
    match cmd {
        AuditCmd::Import { file } => return super::import::import(ctx, file),
        AuditCmd::Prune { dry_run } => return super::trail::prune(ctx, *dry_run),
        AuditCmd::Checkpoint { output_file } => {
            return super::checkpoint::checkpoint(ctx, output_file.as_deref());
        }
        _ => {}
    }
    match cmd {
        AuditCmd::Search { query, limit } => return search(ctx, &query.join(" "), *limit),
        AuditCmd::Reveal { seq } => return reveal(ctx, *seq),
        _ => {}
    }
    ctx.require_local(match cmd {
        AuditCmd::Verify { .. } => "audit verify",
        _ => "audit export",
    })?;
    let store = ctx.existing_store()?;
    match cmd {
        AuditCmd::Search { .. } | AuditCmd::Reveal { .. } => unreachable!("handled above"),
        AuditCmd::Import { .. } | AuditCmd::Prune { .. } | AuditCmd::Checkpoint { .. } => {
            unreachable!("handled above")
        }
        AuditCmd::Verify {
            checkpoint: Some(file),
            public_key,
        } => super::checkpoint::verify(ctx, &store, file, public_key.as_deref()),
        AuditCmd::Verify {
            checkpoint: None, ..
        } => {
            let v = store.verify_audit()?;
            let location = store.location().to_string();
            match &v.first_bad {
                None => emit_one(ctx.format(), &v, || {
                    format!(
                        "audit chain intact: {} records verified in {location}{}",
                        v.verified,
                        if v.purged > 0 {
                            let classes: Vec<String> = v
                                .purged_by_class
                                .iter()
                                .map(|(class, n)| format!("{class} {n}"))
                                .collect();
                            let records: Vec<String> =
                                v.purge_records.iter().map(u64::to_string).collect();
                            format!(
                                " ({} bodies purged by retention: {}; purge records at seq {})",
                                v.purged,
                                classes.join(", "),
                                records.join(", ")
                            )
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
            include_sensitive,
        } => {
            let filter = match query {
                Some(q) => parse_filter(std::slice::from_ref(q), store.now()?)?,
                None => AuditFilter::default(),
            };
            let role = ctx.role.clone();
            let revealable = move |r: &AuditRecord| {
                r.classification == crate::model::Classification::Sensitive
                    && crate::authority::may_reveal(&role, &r.domain).is_ok()
            };
            let mut store = store;
            // The export is the trail as it was asked for: the record of a sensitive export,
            // written first, follows it.
            let until_seq = store.head()?.audit_seq;
            if *include_sensitive {
                ctx.require_writable()?;
                record_sensitive_export(ctx, &mut store, &filter, query.as_deref(), &revealable)?;
            }
            let include = *include_sensitive;
            let shown = move |r: AuditRecord| {
                if include && revealable(&r) {
                    r
                } else {
                    r.withheld()
                }
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
            let count =
                super::export::export(&store, &filter, *format, &shown, until_seq, sink, terminal)?;
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

/// Before sensitive details leave the store in an export, the trail records who exported how
/// many, with which query; a role that may reveal none of them is refused.
fn record_sensitive_export(
    ctx: &Context,
    store: &mut crate::store::Store,
    filter: &AuditFilter,
    query: Option<&str>,
    revealable: &dyn Fn(&AuditRecord) -> bool,
) -> Result<(), CliError> {
    if ctx.role == crate::model::Role::Viewer {
        return Err(CliError::Refused(
            "refused: a viewer may not export the details of sensitive records; export without --include-sensitive (they are withheld)".into(),
        ));
    }
    let mut count = 0u64;
    let mut filter = filter.clone();
    filter
        .classification
        .get_or_insert(crate::model::Classification::Sensitive);
    store.each_audit_matching(&filter, &mut |r| {
        count += u64::from(revealable(&r));
        true
    })?;
    let now = store.now()?;
    let query = query.unwrap_or("(the whole trail)");
    let mut write = store.write()?;
    write.append_audit(
        uuid::Uuid::now_v7(),
        now,
        crate::model::AuditDraft {
            agent_id: crate::authority::operator_actor(&ctx.operator),
            action_type: crate::model::ActionType::Execution,
            domain: "enterprise".into(),
            summary: format!("exported the details of {count} sensitive audit records"),
            details: crate::model::AuditDetails {
                context: format!("query: {query}"),
                decision: "export with --include-sensitive".into(),
                outcome: format!("{count} sensitive records exported whole"),
                ..Default::default()
            },
            classification: crate::model::Classification::Sensitive,
            related_tasks: vec![],
            retention: crate::model::Retention::Compliance,
        },
    )?;
    write.commit()?;
    Ok(())
}

/// `audit reveal SEQ`: the orchestrator records the reveal, then returns the record whole.
fn reveal(ctx: &Context, seq: u64) -> Result<(), CliError> {
    ctx.require_writable()?;
    let command = crate::protocol::Command::RevealRecord(crate::protocol::RevealRecord { seq });
    let outcome = ctx.with_link(|link| async move { link.send(command).await })?;
    let crate::protocol::Reply::Record(record) = outcome.reply else {
        return Err(CliError::Runtime(format!(
            "the orchestrator answered the reveal of seq {seq} without the record"
        )));
    };
    emit_lines(ctx.format(), &record, || {
        let d = &record.details;
        vec![
            format!(
                "seq {} · {} · {}",
                record.seq,
                record.domain,
                record.classification.as_str()
            ),
            format!("summary:   {}", record.summary),
            format!("context:   {}", d.context),
            format!("options:   {}", d.options_considered.join(" | ")),
            format!("decision:  {}", d.decision),
            format!("reasoning: {}", d.reasoning),
            format!("outcome:   {}", d.outcome),
            format!("tasks:     {}", record.related_tasks.join(", ")),
            "(this reveal is recorded in the audit trail)".to_string(),
        ]
    })
}
