//! `audit import`, `audit prune`, `demo audit`: operations on the whole trail.

use std::io::{BufRead, BufReader};
use std::path::Path;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

use super::context::Context;
use super::error::CliError;
use super::output::emit_one;
use crate::model::{
    ActionType, AuditDetails, AuditDraft, AuditRecord, Classification, Retention, Timestamp,
};
use crate::store::ClockMode;

/// Records appended per transaction by bulk operations.
const BATCH: usize = 50_000;
/// Bad lines listed before the rest are only counted.
const SHOWN: usize = 20;

fn lines(
    file: &Path,
) -> Result<impl Iterator<Item = (usize, std::io::Result<String>)> + use<>, CliError> {
    let f = std::fs::File::open(file)
        .map_err(|e| CliError::Runtime(format!("cannot read {}: {e}", file.display())))?;
    Ok(BufReader::with_capacity(1 << 20, f)
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l)))
}

fn check(record: &AuditRecord, latest: Timestamp) -> Result<(), String> {
    uuid::Uuid::parse_str(&record.id)
        .map_err(|e| format!("id {:?} is not a UUID ({e})", record.id))?;
    if record.timestamp > latest {
        return Err(format!("timestamp {} is in the future", record.timestamp));
    }
    if record.agent_id.trim().is_empty() || record.domain.trim().is_empty() {
        return Err("agent_id and domain must not be empty".into());
    }
    Ok(())
}

fn draft(r: AuditRecord) -> (uuid::Uuid, Timestamp, AuditDraft) {
    let id = uuid::Uuid::parse_str(&r.id).expect("checked before");
    (
        id,
        r.timestamp,
        AuditDraft {
            agent_id: r.agent_id,
            action_type: r.action_type,
            domain: r.domain,
            summary: r.summary,
            details: r.details,
            classification: r.classification,
            related_tasks: r.related_tasks,
            retention: r.retention,
        },
    )
}

#[derive(serde::Serialize)]
struct Imported {
    file: String,
    records: u64,
    sha256: String,
    /// Whether the file's own hashes chain as opsdeck computes them (an opsdeck export does).
    source_chain_intact: bool,
    first_seq: u64,
    last_seq: u64,
}

pub fn import(ctx: &Context, file: &Path) -> Result<(), CliError> {
    ctx.require_writable()?;
    let latest = crate::engine::clock::truncate(chrono::Utc::now()) + chrono::Duration::minutes(5);
    // First pass: every line is checked before anything is written.
    let mut bad: Vec<String> = Vec::new();
    let mut bad_count = 0usize;
    let mut count = 0u64;
    let mut chained = true;
    let mut prev: Option<String> = None;
    let mut digest = Sha256::new();
    for (n, line) in lines(file)? {
        let line =
            line.map_err(|e| CliError::Runtime(format!("{} line {n}: {e}", file.display())))?;
        digest.update(line.as_bytes());
        digest.update(b"\n");
        if line.trim().is_empty() {
            continue;
        }
        let parsed = serde_json::from_str::<AuditRecord>(&line)
            .map_err(|e| e.to_string())
            .and_then(|r| check(&r, latest).map(|()| r));
        match parsed {
            Ok(r) => {
                count += 1;
                let links = prev.as_ref().is_none_or(|p| *p == r.prev_hash);
                chained = chained && links && crate::store::hash_record(&r) == r.hash;
                prev = Some(r.hash);
            }
            Err(e) => {
                bad_count += 1;
                if bad.len() < SHOWN {
                    bad.push(format!("line {n}: {}", crate::text::SafeText::new(&e)));
                }
            }
        }
    }
    if bad_count > 0 {
        let more = bad_count.saturating_sub(bad.len());
        for line in &bad {
            eprintln!("{}: {line}", file.display());
        }
        return Err(CliError::Usage(format!(
            "{} has {bad_count} bad line{}{}; nothing was imported: fix them and import again",
            file.display(),
            if bad_count == 1 { "" } else { "s" },
            if more > 0 {
                format!(" ({more} not shown)")
            } else {
                String::new()
            }
        )));
    }
    if count == 0 {
        return Err(CliError::Usage(format!(
            "{} holds no records",
            file.display()
        )));
    }
    let sha = hex::encode(digest.finalize());
    let mut store = ctx.open_store()?;
    if let Some(at) = store.write()?.imported_before(&sha)? {
        return Err(CliError::Refused(format!(
            "{} was already imported at {at}; importing it again would duplicate its records",
            file.display()
        )));
    }
    // Second pass: append in large transactions; the first record's seq tells where it landed.
    let first_seq = store.head()?.audit_seq + 1;
    // Reading and parsing run on a second core while this one appends and hashes the chain.
    let reader = lines(file)?;
    let (tx, rx) = std::sync::mpsc::sync_channel::<Result<AuditRecord, CliError>>(4096);
    std::thread::spawn(move || {
        for (_, line) in reader {
            let Ok(line) = line else { break };
            if line.trim().is_empty() {
                continue;
            }
            let parsed = serde_json::from_str::<AuditRecord>(&line)
                .map_err(|e| CliError::Runtime(e.to_string()));
            if tx.send(parsed).is_err() {
                break;
            }
        }
    });
    let mut records = rx.into_iter();
    loop {
        let mut write = store.write()?;
        write.index_inline()?;
        let mut n = 0;
        for record in records.by_ref().take(BATCH) {
            let (id, at, d) = draft(record?);
            write.append_audit(id, at, d)?;
            n += 1;
        }
        if n == 0 {
            let now = crate::engine::clock::truncate(chrono::Utc::now());
            let me = crate::authority::operator_actor(&ctx.operator);
            write.append_audit(
                uuid::Uuid::now_v7(),
                now,
                AuditDraft {
                    agent_id: me,
                    action_type: ActionType::Execution,
                    domain: "enterprise".into(),
                    summary: format!("imported {count} audit records from {}", file.display()),
                    details: AuditDetails {
                        context: format!("sha256 {sha}"),
                        outcome: format!("seq {first_seq}..{}", first_seq + count - 1),
                        ..Default::default()
                    },
                    classification: Classification::Internal,
                    related_tasks: vec![],
                    retention: Retention::Compliance,
                },
            )?;
            write.remember_import(&sha, now)?;
            write.commit()?;
            break;
        }
        write.commit()?;
    }
    let result = Imported {
        file: file.display().to_string(),
        records: count,
        sha256: sha,
        source_chain_intact: chained,
        first_seq,
        last_seq: first_seq + count - 1,
    };
    emit_one(ctx.format(), &result, || {
        format!(
            "imported {} records from {} as seq {}..{} (the file's own chain {})",
            result.records,
            result.file,
            result.first_seq,
            result.last_seq,
            if result.source_chain_intact {
                "verified"
            } else {
                "does not verify as an opsdeck chain"
            }
        )
    })
}

pub fn prune(ctx: &Context, dry_run: bool) -> Result<(), CliError> {
    if !dry_run {
        ctx.require_writable()?;
    }
    let mut store = ctx.existing_store()?;
    let now = store.now()?;
    let mut write = store.write()?;
    let pruned = write.prune_audit(now, dry_run)?;
    let total: u64 = pruned.by_class.values().sum();
    if dry_run || total == 0 {
        drop(write);
    } else {
        write.append_audit(
            uuid::Uuid::now_v7(),
            now,
            AuditDraft {
                agent_id: crate::authority::operator_actor(&ctx.operator),
                action_type: ActionType::Execution,
                domain: "enterprise".into(),
                summary: format!("retention purged the bodies of {total} audit records"),
                details: AuditDetails {
                    context: "standard 90 days, significant 1 year, compliance 7 years".into(),
                    outcome: format!("{:?}", pruned.by_class),
                    ..Default::default()
                },
                classification: Classification::Internal,
                related_tasks: vec![],
                retention: Retention::Compliance,
            },
        )?;
        write.commit()?;
    }
    emit_one(ctx.format(), &pruned, || {
        let parts: Vec<String> = pruned
            .by_class
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        format!(
            "{} {total} record bodies past retention ({}); headers and hashes kept",
            if dry_run { "would purge" } else { "purged" },
            parts.join(", ")
        )
    })
}

/// A synthetic trail for benchmarks: realistic actors, types, domains, texts and tasks, spread
/// over the 90 days before `end`, the same for the same seed.
pub fn synthetic(ctx: &Context, records: u64, seed: u64, end: Timestamp) -> Result<(), CliError> {
    ctx.require_writable()?;
    if records == 0 || records > 100_000_000 {
        return Err(CliError::Usage(
            "--records must be between 1 and 100000000".into(),
        ));
    }
    let mut store = ctx.open_store()?;
    if !store.is_empty()? {
        return Err(CliError::Refused(format!(
            "{} already holds data; demo audit needs an empty store",
            store.location()
        )));
    }
    let began = std::time::Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let span_ms = chrono::Duration::days(90).num_milliseconds();
    let step = (span_ms / records as i64).max(1);
    let start = end - chrono::Duration::days(90);
    let mut written = 0u64;
    while written < records {
        let mut write = store.write()?;
        write.set_clock(ClockMode::Simulated);
        write.index_inline()?;
        let n = (records - written).min(BATCH as u64);
        for i in 0..n {
            let k = written + i;
            let at = start + chrono::Duration::milliseconds(k as i64 * step);
            let (id, d) = synthetic_record(&mut rng, at, k);
            write.append_audit(id, at, d)?;
        }
        written += n;
        write.commit()?;
    }
    let secs = began.elapsed().as_secs_f64();
    let summary = serde_json::json!({
        "records": records, "seed": seed, "seconds": (secs * 1000.0).round() / 1000.0,
        "records_per_second": (records as f64 / secs).round(),
    });
    emit_one(ctx.format(), &summary, || {
        format!("wrote {records} synthetic audit records (seed {seed}) in {secs:.1}s")
    })
}

fn synthetic_record(rng: &mut ChaCha8Rng, at: Timestamp, k: u64) -> (uuid::Uuid, AuditDraft) {
    const DOMAINS: [&str; 3] = ["product", "platform", "operations"];
    const OPERATORS: [&str; 6] = ["dana", "omar", "lee", "priya", "sam", "kim"];
    const VERBS: [&str; 8] = [
        "approved",
        "rejected",
        "escalated",
        "assigned",
        "completed",
        "retried",
        "paused",
        "resolved",
    ];
    const THINGS: [&str; 10] = [
        "budget exception for model inference",
        "scope change for legacy clients",
        "change freeze exception",
        "GPU quota reassignment",
        "customer outage notice",
        "reviewer rotation",
        "retention policy review",
        "canary rollout of agent runtime",
        "database maintenance window",
        "token refresh race fix",
    ];
    const REASONS: [&str; 6] = [
        "cost is within this quarter's plan",
        "customer impact outweighs the delay",
        "not enough evidence yet",
        "reversible and behind a flag",
        "conflicts with the freeze policy",
        "matches the recommendation",
    ];
    let domain = DOMAINS[rng.random_range(0..DOMAINS.len())];
    let operator = rng.random_bool(0.3);
    let agent_id = if operator {
        format!(
            "operator:{}",
            OPERATORS[rng.random_range(0..OPERATORS.len())]
        )
    } else {
        format!("agent-{}", rng.random_range(1..37))
    };
    let action_type = match rng.random_range(0..10) {
        0..=4 => ActionType::Execution,
        5..=8 => ActionType::Decision,
        _ => ActionType::Escalation,
    };
    let task = format!("T-{}", k / 3 + 1);
    let thing = THINGS[rng.random_range(0..THINGS.len())];
    let verb = VERBS[rng.random_range(0..VERBS.len())];
    let reason = REASONS[rng.random_range(0..REASONS.len())];
    let classification = match rng.random_range(0..10) {
        0 => Classification::Sensitive,
        1..=3 => Classification::Public,
        _ => Classification::Internal,
    };
    let bytes: [u8; 10] = rng.random();
    let id = uuid::Builder::from_unix_timestamp_millis(at.timestamp_millis().max(0) as u64, &bytes)
        .into_uuid();
    (
        id,
        AuditDraft {
            agent_id,
            action_type,
            domain: domain.into(),
            summary: format!("{verb} {thing} on {domain} ({task})"),
            details: AuditDetails {
                context: format!("{domain} asked about the {thing} while working on {task}"),
                options_considered: vec!["go ahead".into(), "wait a week".into()],
                decision: verb.into(),
                reasoning: reason.into(),
                outcome: verb.into(),
            },
            classification,
            related_tasks: vec![task],
            retention: if classification == Classification::Sensitive {
                Retention::Compliance
            } else if action_type == ActionType::Execution {
                Retention::Standard
            } else {
                Retention::Significant
            },
        },
    )
}
