//! Audit queries compiled to SQL: the newest records first, keyset pagination on `seq`, capped
//! counts, and streaming for exports.
//!
//! Each query is driven by the smallest source it names, walked newest first, so that "the
//! newest 50" stops early instead of collecting every match:
//! - a task: its few records, from the related-tasks side table;
//! - words or phrases: the full-text index, which holds its doclists in rowid (= seq) order and
//!   takes the time window and exclusions itself (as rowid bounds and `NOT`);
//! - otherwise the audit table, through its (field, seq) indexes.
//!
//! What the driver does not cover is checked row by row, text with a correlated probe of the
//! full-text index for that one rowid, so no query ever materialises every match of a word.

use rusqlite::{Connection, OptionalExtension};

use super::read::record_from_row;
use crate::model::AuditRecord;
use crate::model::audit::millis;
use crate::query::AuditFilter;

/// Columns of a record, qualified for queries that join another table.
const QUALIFIED: &str = "audit.seq, audit.id, audit.ts, audit.agent_id, audit.action_type, \
                         audit.domain, audit.classification, audit.retention, audit.body, \
                         audit.prev_hash, audit.hash";

/// A query's FROM and WHERE with their arguments, and the column that orders it by seq.
struct Plan {
    from: String,
    order: &'static str,
    args: Vec<rusqlite::types::Value>,
}

impl Plan {
    fn new(from: &str, order: &'static str) -> Plan {
        Plan {
            from: from.to_string(),
            order,
            args: Vec::new(),
        }
    }

    /// Appends `clause`, its one `?` bound to `value`.
    fn and(&mut self, clause: &str, value: impl Into<rusqlite::types::Value>) {
        self.args.push(value.into());
        let numbered = format!("?{}", self.args.len());
        self.from.push_str(" AND ");
        self.from.push_str(&clause.replacen('?', &numbered, 1));
    }
}

/// An FTS5 string for one word or phrase: quoted, so that no user text is read as FTS syntax.
fn fts_quote(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// The words and phrases that must all appear, as one FTS5 expression.
fn wanted(filter: &AuditFilter) -> Option<String> {
    let terms: Vec<String> = filter
        .words
        .iter()
        .chain(&filter.phrases)
        .map(|w| fts_quote(w))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" "))
}

/// The words and phrases of which none may appear, as one FTS5 expression.
fn unwanted(filter: &AuditFilter) -> Option<String> {
    let terms: Vec<String> = filter.excluded.iter().map(|w| fts_quote(w)).collect();
    (!terms.is_empty()).then(|| terms.join(" OR "))
}

/// Whether the full-text index holds `?` for the record at hand (one rowid, one probe).
const TEXT_HOLDS: &str =
    "EXISTS (SELECT 1 FROM audit_fts WHERE audit_fts MATCH ? AND audit_fts.rowid = audit.seq)";
const TEXT_LACKS: &str =
    "NOT EXISTS (SELECT 1 FROM audit_fts WHERE audit_fts MATCH ? AND audit_fts.rowid = audit.seq)";

/// The seq range a time window covers, found in two index probes, when the trail's times only
/// ever grow (else `None`: the window is then filtered row by row).
fn window(conn: &Connection, filter: &AuditFilter) -> rusqlite::Result<Option<(i64, i64)>> {
    if filter.since.is_none() && filter.until.is_none() || !super::entities::head(conn)?.ts_monotone
    {
        return Ok(None);
    }
    let probe = |sql: &str, at: &crate::model::Timestamp| -> rusqlite::Result<Option<i64>> {
        conn.prepare_cached(sql)?
            .query_row([millis::format(at)], |r| r.get(0))
            .optional()
    };
    let lo = match &filter.since {
        Some(since) => probe(
            "SELECT seq FROM audit WHERE ts >= ?1 ORDER BY ts, seq LIMIT 1",
            since,
        )?,
        None => Some(1),
    };
    let hi = match &filter.until {
        Some(until) => probe(
            "SELECT seq FROM audit WHERE ts < ?1 ORDER BY ts DESC, seq DESC LIMIT 1",
            until,
        )?,
        None => Some(i64::MAX),
    };
    Ok(Some(match (lo, hi) {
        (Some(lo), Some(hi)) => (lo, hi),
        // Nothing on one side of the window: nothing in it.
        _ => (1, 0),
    }))
}

/// Chooses the driver (see the module's comment) and adds every condition of `filter`.
fn plan(conn: &Connection, filter: &AuditFilter) -> rusqlite::Result<Plan> {
    let window = window(conn, filter)?;
    let (wanted, unwanted) = (wanted(filter), unwanted(filter));
    // CROSS JOIN keeps the driver outermost: SQLite's planner cannot see how few rows a task
    // holds or how selective a word is, and would otherwise walk the audit table.
    let mut plan = if let Some(task) = &filter.task {
        let mut plan = Plan::new(
            "audit_tasks CROSS JOIN audit ON audit.seq = audit_tasks.seq WHERE 1=1",
            "audit_tasks.seq",
        );
        plan.and("audit_tasks.task = ?", task.clone());
        if let Some(wanted) = wanted {
            plan.and(TEXT_HOLDS, wanted);
        }
        if let Some(unwanted) = unwanted {
            plan.and(TEXT_LACKS, unwanted);
        }
        plan
    } else if let Some(wanted) = wanted {
        let mut plan = Plan::new(
            "audit_fts CROSS JOIN audit ON audit.seq = audit_fts.rowid WHERE 1=1",
            "audit_fts.rowid",
        );
        let expression = match unwanted {
            Some(unwanted) => format!("({wanted}) NOT ({unwanted})"),
            None => wanted,
        };
        plan.and("audit_fts MATCH ?", expression);
        plan
    } else {
        let mut plan = Plan::new("audit WHERE 1=1", "audit.seq");
        if let Some(unwanted) = unwanted {
            plan.and(TEXT_LACKS, unwanted);
        }
        plan
    };
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
    // Within a known seq range, bounded on the driver's own column, the time check is only a
    // row check; the unary + keeps SQLite from choosing the time index (and a sort) over
    // walking seq backwards.
    let ts = if let Some((lo, hi)) = window {
        plan.and(&format!("{} >= ?", plan.order), lo);
        plan.and(&format!("{} <= ?", plan.order), hi);
        "+audit.ts"
    } else {
        "audit.ts"
    };
    if let Some(since) = &filter.since {
        plan.and(&format!("{ts} >= ?"), millis::format(since));
    }
    if let Some(until) = &filter.until {
        plan.and(&format!("{ts} < ?"), millis::format(until));
    }
    Ok(plan)
}

/// Newest first, strictly before `before_seq` when given (keyset pagination on seq).
pub fn search(
    conn: &Connection,
    filter: &AuditFilter,
    before_seq: Option<u64>,
    limit: usize,
) -> rusqlite::Result<Vec<AuditRecord>> {
    catch_up_text_index(conn, filter);
    let mut plan = plan(conn, filter)?;
    if let Some(before) = before_seq {
        plan.and(&format!("{} < ?", plan.order), before as i64);
    }
    plan.args.push((limit as i64).into());
    let sql = format!(
        "SELECT {QUALIFIED} FROM {} ORDER BY {} DESC LIMIT ?{}",
        plan.from,
        plan.order,
        plan.args.len()
    );
    let mut stmt = conn.prepare(&sql)?;
    let records = stmt
        .query_map(rusqlite::params_from_iter(plan.args), record_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(records)
}

/// How many records match, exactly up to `cap`; `(cap, true)` means "more than that".
pub fn count(conn: &Connection, filter: &AuditFilter, cap: u64) -> rusqlite::Result<(u64, bool)> {
    catch_up_text_index(conn, filter);
    let plan = plan(conn, filter)?;
    let sql = format!(
        "SELECT count(*) FROM (SELECT 1 FROM {} LIMIT {})",
        plan.from,
        cap + 1
    );
    let n: i64 = conn.query_row(&sql, rusqlite::params_from_iter(plan.args), |r| r.get(0))?;
    let n = n as u64;
    Ok(if n > cap { (cap, true) } else { (n, false) })
}

/// Every matching record, oldest first, streamed.
pub fn each_matching(
    conn: &Connection,
    filter: &AuditFilter,
    visit: &mut dyn FnMut(AuditRecord) -> bool,
) -> rusqlite::Result<()> {
    catch_up_text_index(conn, filter);
    let plan = plan(conn, filter)?;
    let sql = format!(
        "SELECT {QUALIFIED} FROM {} ORDER BY {}",
        plan.from, plan.order
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(plan.args))?;
    while let Some(row) = rows.next()? {
        if !visit(record_from_row(row)?) {
            break;
        }
    }
    Ok(())
}

/// Records written since the last catch-up become searchable before a text query runs. On a
/// read-only store the query runs over what is already indexed.
fn catch_up_text_index(conn: &Connection, filter: &AuditFilter) {
    if !filter.has_text() {
        return;
    }
    let caught_up = conn.unchecked_transaction().and_then(|tx| {
        super::write::index_pending(&tx)?;
        tx.commit()
    });
    if let Err(e) = caught_up {
        tracing::warn!("full-text index not caught up: {e}");
    }
}
