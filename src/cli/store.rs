//! `opsdeck store copy`: a store moved between a SQLite file and a PostgreSQL database.

use super::context::{Context, StoreTarget};
use super::error::CliError;
use super::output::emit_lines;
use crate::store::copy::{CopyError, copy};

/// What `--from` or `--to` names: a path, or a database URL (its password and CA apart).
fn target(ctx: &Context, text: &str) -> Result<StoreTarget, CliError> {
    if crate::store::is_url(text) {
        return StoreTarget::database(text, &ctx.config);
    }
    Ok(StoreTarget::File(text.into()))
}

pub fn copy_store(ctx: &Context, from: &str, to: &str) -> Result<(), CliError> {
    let source = target(ctx, from)?;
    if let StoreTarget::File(path) = &source
        && !path.exists()
    {
        return Err(CliError::Usage(format!(
            "no opsdeck store at {}: check --from",
            path.display()
        )));
    }
    let destination = target(ctx, to)?;
    if let (StoreTarget::File(a), StoreTarget::File(b)) = (&source, &destination)
        && (a == b || a.canonicalize().ok() == b.canonicalize().ok())
    {
        return Err(CliError::Usage(
            "--from and --to name the same file; copy into a new one".into(),
        ));
    }
    let from_store = source.open()?;
    let mut to_store = destination.open()?;
    let copied = copy(&from_store, &mut to_store).map_err(|e| match e {
        CopyError::NotEmpty(_) => CliError::Usage(e.to_string()),
        other => CliError::Runtime(other.to_string()),
    })?;
    emit_lines(ctx.format(), &copied, || {
        let items: Vec<String> = copied
            .items
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(table, n)| format!("{n} {table}"))
            .collect();
        vec![
            format!(
                "copied {} to {}",
                from_store.location(),
                to_store.location()
            ),
            format!("  items          {}", items.join(", ")),
            format!(
                "  audit trail    {} records, verified on arrival; head {}",
                copied.verified, copied.head_hash
            ),
            format!(
                "  events         {} (consoles resume across the move)",
                copied.events
            ),
            format!(
                "  answers        {} idempotency answers (retries still act once)",
                copied.answers
            ),
        ]
    })
}
