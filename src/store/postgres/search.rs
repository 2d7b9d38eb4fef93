//! Audit queries in PostgreSQL: the same query language and results as SQLite's, through the
//! trail's generated `tsvector` (its GIN index) for words and phrases, newest first with keyset
//! pagination on `seq`, and capped counts.
//!
//! Each word and each phrase is matched as a phrase of the tokens PostgreSQL's parser makes of
//! it (`phraseto_tsquery`), as SQLite matches each as a quoted FTS5 string: `agent-35` is the
//! tokens of `agent-35` in a row, not any record holding `agent` and `35` apart.

use tokio_postgres::types::ToSql;

use super::error::PgError;
use super::own::Cached;
use super::trail::{COLUMNS, record};
use crate::model::AuditRecord;
use crate::model::audit::millis;
use crate::query::AuditFilter;

/// A query's WHERE with its arguments.
struct Plan {
    clauses: String,
    args: Vec<Box<dyn ToSql + Sync + Send>>,
}

impl Plan {
    /// Appends `clause`, each `?` in it bound to `value`.
    fn and(&mut self, clause: &str, value: impl ToSql + Sync + Send + 'static) {
        self.args.push(Box::new(value));
        let numbered = format!("${}", self.args.len());
        self.clauses.push_str(" AND ");
        self.clauses.push_str(&clause.replace('?', &numbered));
    }

    fn args(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.args
            .iter()
            .map(|a| a.as_ref() as &(dyn ToSql + Sync))
            .collect()
    }
}

/// Every condition of `filter`, on the `audit` table.
fn plan(filter: &AuditFilter) -> Plan {
    let mut plan = Plan {
        clauses: "true".to_string(),
        args: Vec::new(),
    };
    if let Some(task) = &filter.task {
        plan.and(
            "audit.seq IN (SELECT seq FROM audit_tasks WHERE task = ?)",
            task.clone(),
        );
    }
    for text in filter.words.iter().chain(&filter.phrases) {
        plan.and("audit.tsv @@ phraseto_tsquery('simple', ?)", text.clone());
    }
    for text in &filter.excluded {
        plan.and(
            "NOT (audit.tsv @@ phraseto_tsquery('simple', ?))",
            text.clone(),
        );
    }
    if let Some(domain) = &filter.domain {
        plan.and("audit.domain = ?", domain.clone());
    }
    if let Some(kind) = filter.action_type {
        plan.and("audit.action_type = ?", kind.as_str().to_string());
    }
    if let Some(agent) = &filter.agent {
        plan.and("audit.agent_id = ?", agent.clone());
    }
    if let Some(class) = filter.classification {
        plan.and("audit.classification = ?", class.as_str().to_string());
    }
    if let Some(since) = &filter.since {
        plan.and("audit.ts >= ?", millis::format(since));
    }
    if let Some(until) = &filter.until {
        plan.and("audit.ts < ?", millis::format(until));
    }
    plan
}

/// Newest first, strictly before `before_seq` when given (keyset pagination on seq).
pub async fn search(
    c: &impl Cached,
    filter: &AuditFilter,
    before_seq: Option<u64>,
    limit: usize,
) -> Result<Vec<AuditRecord>, PgError> {
    let mut plan = plan(filter);
    if let Some(before) = before_seq {
        plan.and("audit.seq < ?", i64::try_from(before).unwrap_or(i64::MAX));
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM audit WHERE {} ORDER BY audit.seq DESC LIMIT {}",
        plan.clauses,
        limit.min(i64::MAX as usize)
    );
    let s = c.prepared(&sql).await?;
    c.query(&s, &plan.args())
        .await?
        .iter()
        .map(record)
        .collect()
}

/// Matching records after `after`, oldest first, at most `limit`: a page of an export.
pub async fn page_matching(
    c: &impl Cached,
    filter: &AuditFilter,
    after: u64,
    limit: usize,
) -> Result<Vec<AuditRecord>, PgError> {
    let mut plan = plan(filter);
    plan.and("audit.seq > ?", after as i64);
    let sql = format!(
        "SELECT {COLUMNS} FROM audit WHERE {} ORDER BY audit.seq LIMIT {limit}",
        plan.clauses
    );
    let s = c.prepared(&sql).await?;
    c.query(&s, &plan.args())
        .await?
        .iter()
        .map(record)
        .collect()
}

/// How many records match, exactly up to `cap`; `(cap, true)` means "more than that".
pub async fn count(
    c: &impl Cached,
    filter: &AuditFilter,
    cap: u64,
) -> Result<(u64, bool), PgError> {
    let plan = plan(filter);
    let sql = format!(
        "SELECT count(*) FROM (SELECT 1 FROM audit WHERE {} LIMIT {}) AS matching",
        plan.clauses,
        cap.saturating_add(1).min(i64::MAX as u64)
    );
    let s = c.prepared(&sql).await?;
    let n = c.query_one(&s, &plan.args()).await?.get::<_, i64>(0) as u64;
    Ok(if n > cap { (cap, true) } else { (n, false) })
}
