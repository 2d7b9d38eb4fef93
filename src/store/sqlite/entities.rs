//! Entities as JSON bodies beside the few columns the store filters on.

use chrono::Duration;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::read;
use crate::model::audit::millis;
use crate::model::{Change, Event, Ids, State};
use crate::store::{ClockMode, Head};

/// Events kept for consoles that resume; older ones are trimmed.
pub const EVENT_WINDOW: u64 = 5_000;

/// Finished tasks and closed items stay in memory this long after they finish.
pub fn memory_window() -> Duration {
    Duration::hours(24)
}

fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("model types always serialise")
}

fn decode<T: DeserializeOwned>(table: &str, key: &str, body: &str) -> rusqlite::Result<T> {
    serde_json::from_str(body).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("row {key:?} of table {table} cannot be read: {e}").into(),
        )
    })
}

fn rows<T: DeserializeOwned>(
    conn: &Connection,
    table: &str,
    sql: &str,
    args: impl rusqlite::Params,
) -> rusqlite::Result<Vec<(String, T)>> {
    let mut stmt = conn.prepare(sql)?;
    let raw = stmt
        .query_map(args, |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    raw.into_iter()
        .map(|(key, body)| Ok((key.clone(), decode(table, &key, &body)?)))
        .collect()
}

#[derive(serde::Serialize, serde::Deserialize)]
struct StoredHead {
    event_seq: u64,
    ids: Ids,
    last_at: Option<crate::model::Timestamp>,
    clock: ClockMode,
    #[serde(default = "monotone")]
    ts_monotone: bool,
}

fn monotone() -> bool {
    true
}

/// The highest audit seq ever written and its hash, kept in `meta` by every transaction that
/// appends: a trail that ends before it was cut.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HighWater {
    pub seq: u64,
    pub hash: String,
}

pub fn high_water(conn: &Connection) -> rusqlite::Result<Option<HighWater>> {
    get_meta(conn, "audit_high")
}

pub fn put_high_water(conn: &Connection, seq: u64, hash: &str) -> rusqlite::Result<()> {
    put_meta(
        conn,
        "audit_high",
        &HighWater {
            seq,
            hash: hash.to_string(),
        },
    )
}

pub fn head(conn: &Connection) -> rusqlite::Result<Head> {
    let stored: Option<StoredHead> = get_meta(conn, "head")?;
    let (mut audit_seq, mut audit_hash) = read::last(conn)?;
    // Records cut off the tail leave their seqs behind: new records follow the highest seq
    // ever written (and verify reports the gap), they never take a lost seq again.
    if let Some(high) = high_water(conn)?
        && high.seq > audit_seq
    {
        (audit_seq, audit_hash) = (high.seq, high.hash);
    }
    Ok(match stored {
        Some(h) => Head {
            event_seq: h.event_seq,
            audit_seq,
            audit_hash,
            ids: h.ids,
            last_at: h.last_at,
            clock: h.clock,
            ts_monotone: h.ts_monotone,
        },
        None => Head {
            event_seq: 0,
            audit_seq,
            audit_hash,
            ids: Ids::default(),
            last_at: None,
            clock: ClockMode::Real,
            ts_monotone: true,
        },
    })
}

pub fn put_head(conn: &Connection, head: &Head) -> rusqlite::Result<()> {
    let stored = StoredHead {
        event_seq: head.event_seq,
        ids: head.ids.clone(),
        last_at: head.last_at,
        clock: head.clock,
        ts_monotone: head.ts_monotone,
    };
    put_meta(conn, "head", &stored)
}

pub(super) fn get_meta<T: DeserializeOwned>(
    conn: &Connection,
    key: &str,
) -> rusqlite::Result<Option<T>> {
    let body: Option<String> = conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?;
    body.map(|b| decode("meta", key, &b)).transpose()
}

pub fn put_meta<T: Serialize>(conn: &Connection, key: &str, value: &T) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO meta(key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![key, json(value)])?;
    Ok(())
}

pub fn load_state(conn: &Connection) -> rusqlite::Result<State> {
    let head = head(conn)?;
    let cutoff = head
        .last_at
        .map(|t| millis::format(&(t - memory_window())))
        .unwrap_or_default();
    let mut state = State::default();
    for (k, v) in rows(conn, "agents", "SELECT id, body FROM agents", [])? {
        state.agents.insert(k, v);
    }
    let tasks_sql = "SELECT id, body FROM tasks
        WHERE state NOT IN ('succeeded','failed','cancelled') OR finished_at >= ?1";
    for (k, v) in rows(conn, "tasks", tasks_sql, [&cutoff])? {
        state.tasks.insert(k, v);
    }
    for (k, v) in rows(conn, "queues", "SELECT name, body FROM queues", [])? {
        state.queues.insert(k, v);
    }
    let incidents_sql = "SELECT id, body FROM incidents
        WHERE state != 'resolved' OR json_extract(body, '$.resolved_at') >= ?1";
    for (k, v) in rows(conn, "incidents", incidents_sql, [&cutoff])? {
        state.incidents.insert(k, v);
    }
    let approvals_sql = "SELECT id, body FROM approvals
        WHERE state = 'pending' OR coalesce(json_extract(body, '$.decided_at'), '') >= ?1";
    for (k, v) in rows(conn, "approvals", approvals_sql, [&cutoff])? {
        state.approvals.insert(k, v);
    }
    for (k, v) in rows(conn, "rollouts", "SELECT id, body FROM rollouts", [])? {
        state.rollouts.insert(k, v);
    }
    for (k, v) in rows(conn, "alerts", "SELECT key, body FROM alerts", [])? {
        state.alerts.insert(k, v);
    }
    for (k, v) in rows(conn, "domains", "SELECT name, body FROM domains", [])? {
        state.domains.insert(k, v);
    }
    state.audit_tail = read::tail(conn, State::AUDIT_TAIL)?;
    state.metrics = get_meta(conn, "metrics")?.unwrap_or_default();
    Ok(state)
}

pub fn put(conn: &Connection, change: &Change) -> rusqlite::Result<()> {
    match change {
        Change::Agent(a) => conn
            .prepare_cached(
                "INSERT INTO agents(id, domain, body) VALUES (?1, ?2, ?3)
                 ON CONFLICT(id) DO UPDATE SET domain = excluded.domain, body = excluded.body",
            )?
            .execute(params![a.id, a.domain, json(a)]),
        Change::Task(t) => conn
            .prepare_cached(
                "INSERT INTO tasks(id, state, domain, finished_at, body) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(id) DO UPDATE SET state = excluded.state,
                     finished_at = excluded.finished_at, body = excluded.body",
            )?
            .execute(params![
                t.id,
                t.state.as_str(),
                t.domain,
                t.finished_at.map(|f| millis::format(&f)),
                json(t)
            ]),
        Change::Queue(q) => upsert(conn, "queues", "name", &q.name, None, &json(q)),
        Change::Incident(i) => upsert(conn, "incidents", "id", &i.id, Some(i.state.as_str()), &json(i)),
        Change::Approval(a) => upsert(conn, "approvals", "id", &a.id, Some(a.state.as_str()), &json(a)),
        Change::Rollout(r) => upsert(conn, "rollouts", "id", &r.id, Some(r.state.as_str()), &json(r)),
        Change::Alert(a) => upsert(conn, "alerts", "key", &a.key, None, &json(a)),
        Change::Domain(d) => upsert(conn, "domains", "name", &d.name, None, &json(d)),
        // Audit records are appended through the chain, never upserted.
        Change::Audit(_) => Ok(0),
    }
    .map(|_| ())
}

fn upsert(
    conn: &Connection,
    table: &str,
    key_col: &str,
    key: &str,
    state: Option<&str>,
    body: &str,
) -> rusqlite::Result<usize> {
    match state {
        Some(state) => conn
            .prepare_cached(&format!(
                "INSERT INTO {table}({key_col}, state, body) VALUES (?1, ?2, ?3)
                 ON CONFLICT({key_col}) DO UPDATE SET state = excluded.state, body = excluded.body"
            ))?
            .execute(params![key, state, body]),
        None => conn
            .prepare_cached(&format!(
                "INSERT INTO {table}({key_col}, body) VALUES (?1, ?2)
                 ON CONFLICT({key_col}) DO UPDATE SET body = excluded.body"
            ))?
            .execute(params![key, body]),
    }
}

pub fn insert_event(conn: &Connection, event: &Event) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT INTO events(seq, at, body) VALUES (?1, ?2, ?3)")?
        .execute(params![
            event.seq as i64,
            millis::format(&event.at),
            json(event)
        ])?;
    Ok(())
}

pub fn trim_events(conn: &Connection, first_seq: u64, last_seq: u64) -> rusqlite::Result<()> {
    // Trimming in steps of a thousand keeps the cost off most commits.
    if last_seq > EVENT_WINDOW && first_seq / 1_000 != last_seq / 1_000 {
        conn.prepare_cached("DELETE FROM events WHERE seq <= ?1")?
            .execute([(last_seq - EVENT_WINDOW) as i64])?;
    }
    Ok(())
}

pub fn events_since(
    conn: &Connection,
    since: u64,
    limit: usize,
) -> rusqlite::Result<Option<Vec<Event>>> {
    let oldest: Option<i64> = conn.query_row("SELECT min(seq) FROM events", [], |r| r.get(0))?;
    if let Some(oldest) = oldest
        && since + 1 < oldest as u64
    {
        return Ok(None);
    }
    let mut stmt =
        conn.prepare_cached("SELECT seq, body FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2")?;
    let raw = stmt
        .query_map(params![since as i64, limit as i64], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    raw.into_iter()
        .map(|(seq, body)| decode("events", &seq.to_string(), &body))
        .collect::<rusqlite::Result<Vec<Event>>>()
        .map(Some)
}
