//! `opsdeck tasks` and `opsdeck show ID`: what the store keeps, live or long closed.

use super::args::ListArgs;
use super::context::Context;
use super::error::CliError;
use super::output::{Rows, emit_lines, emit_list, span, truncate};
use super::read::list;
use crate::model::Task;
use crate::query::ItemKind;

pub fn tasks(ctx: &Context, args: &ListArgs) -> Result<(), CliError> {
    let (tasks, at) = list::<Task>(ctx, args)?;
    emit_list(ctx.format(), &tasks, || Rows {
        headers: &[
            "ID", "STATE", "DOMAIN", "TEAM", "PRI", "AGENT", "TRIES", "AGE", "FINISHED", "TITLE",
        ],
        rows: tasks
            .iter()
            .map(|t| {
                vec![
                    t.id.clone(),
                    t.state.as_str().into(),
                    t.domain.clone(),
                    t.team.clone(),
                    format!("P{}", t.priority),
                    t.agent.clone().unwrap_or_else(|| "-".into()),
                    format!("{}/{}", t.attempts, t.max_attempts),
                    span(at - t.created_at),
                    t.finished_at
                        .map(|f| format!("{} ago", span(at - f)))
                        .unwrap_or_else(|| "-".into()),
                    truncate(&t.title, 50),
                ]
            })
            .collect(),
    })
}

/// One item by id: its kind from the id's prefix (an agent or a queue by name otherwise).
pub fn show(ctx: &Context, id: &str) -> Result<(), CliError> {
    let kinds = match ItemKind::of_id(id) {
        Some(kind) => vec![kind],
        None => vec![ItemKind::Agents, ItemKind::Queues],
    };
    let wanted = id.to_string();
    let found = ctx.with_link(|link| async move {
        for kind in kinds {
            if let Some(value) = link.item_json(kind, &wanted).await? {
                return Ok(Some(value));
            }
        }
        Ok(None)
    })?;
    let Some(value) = found else {
        return Err(CliError::Runtime(format!(
            "no item {:?} in this store: ids look like T-12, INC-3, APR-7, RO-2, an agent's id or a queue's name",
            truncate(id, 80)
        )));
    };
    emit_lines(ctx.format(), &value, || lines(&value))
}

/// `key: value` per field, nested values as compact JSON.
fn lines(value: &serde_json::Value) -> Vec<String> {
    let Some(fields) = value.as_object() else {
        return vec![value.to_string()];
    };
    let width = fields.keys().map(String::len).max().unwrap_or(0);
    fields
        .iter()
        .map(|(k, v)| {
            let shown = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => "-".into(),
                other => other.to_string(),
            };
            format!("{k:<width$}  {shown}")
        })
        .collect()
}
