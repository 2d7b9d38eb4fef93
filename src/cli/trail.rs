//! `audit prune`, `demo audit`: operations on the whole trail.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::context::Context;
use super::error::CliError;
use super::output::emit_one;
use crate::model::{ActionType, AuditDetails, AuditDraft, Classification, Retention, Timestamp};
use crate::store::{ClockMode, Prepared};

/// Records appended per transaction by `demo audit`.
const BATCH: usize = 50_000;
/// Records made at a time by `demo audit`'s second thread.
const CHUNK: u64 = 5_000;
pub fn prune(ctx: &Context, dry_run: bool) -> Result<(), CliError> {
    if !dry_run {
        ctx.require_writable()?;
    }
    let mut store = ctx.existing_store()?;
    let now = store.now()?;
    let mut write = store.write()?;
    let mut pruned = write.prune_audit(now, dry_run)?;
    let total: u64 = pruned.by_class.values().sum();
    if dry_run || total == 0 {
        drop(write);
    } else {
        // The purge is itself a chained record, in the same transaction: verify accepts a
        // NULL body only where such a record accounts for it.
        let actor = crate::authority::operator_actor(&ctx.operator);
        write.record_purge(uuid::Uuid::now_v7(), now, &actor, &mut pruned)?;
        write.commit()?;
    }
    emit_one(ctx.format(), &pruned, || {
        let parts: Vec<String> = pruned
            .by_class
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        format!(
            "{} {total} record bodies past retention ({}); headers and hashes kept{}",
            if dry_run { "would purge" } else { "purged" },
            parts.join(", "),
            match pruned.purge_record {
                Some(seq) => format!("; purge record at seq {seq}"),
                None => String::new(),
            }
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
    // Records are made and prepared on a second thread, in order, while this one writes.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Prepared>>(4);
    let maker = std::thread::spawn(move || {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let span_ms = chrono::Duration::days(90).num_milliseconds();
        let step = (span_ms / records as i64).max(1);
        let start = end - chrono::Duration::days(90);
        let mut k = 0u64;
        while k < records {
            let n = (records - k).min(CHUNK);
            let chunk = (k..k + n)
                .map(|k| {
                    let at = start + chrono::Duration::milliseconds(k as i64 * step);
                    let (id, d) = synthetic_record(&mut rng, at, k);
                    Prepared::new(id, at, d)
                })
                .collect();
            if tx.send(chunk).is_err() {
                break;
            }
            k += n;
        }
    });
    let mut chunks = rx.into_iter().peekable();
    while chunks.peek().is_some() {
        let mut write = store.write()?;
        write.set_clock(ClockMode::Simulated);
        write.index_inline()?;
        let mut chainer = write.chainer()?;
        for chunk in chunks.by_ref().take(BATCH / CHUNK as usize) {
            write.append_chained(&chainer.chain(chunk))?;
        }
        write.commit()?;
    }
    let _ = maker.join();
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
