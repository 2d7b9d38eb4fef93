//! Entities as JSON bodies beside the few columns the store filters on.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::read;
use crate::model::audit::millis;
use crate::model::{Change, Event, Ids, LiveWindow, Lived, State, Task};
use crate::store::types::StoredHead;
use crate::store::{ClockMode, Head};

use crate::store::EVENT_WINDOW;

/// An agent's body with its last plain heartbeat laid over it.
pub(super) const AGENT_BODY: &str =
    "CASE WHEN beat IS NULL THEN body ELSE json_set(body, '$.last_heartbeat', beat) END";
/// A task's body with the lease its agent's last heartbeat extended.
pub(super) const TASK_BODY: &str =
    "CASE WHEN lease IS NULL THEN body ELSE json_set(body, '$.lease_expires_at', lease) END";

/// What to select as `body` from a table: the stored body, with any column written since laid
/// over it.
pub(super) fn body_of(table: &str) -> &'static str {
    match table {
        "agents" => AGENT_BODY,
        "tasks" => TASK_BODY,
        _ => "body",
    }
}

pub(super) fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("model types always serialise")
}

pub(super) fn decode<T: DeserializeOwned>(
    table: &str,
    key: &str,
    body: &str,
) -> rusqlite::Result<T> {
    serde_json::from_str(body).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("row {key:?} of table {table} cannot be read: {e}").into(),
        )
    })
}

pub(super) fn rows<T: DeserializeOwned>(
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
        Some(h) => h.with_trail(audit_seq, audit_hash),
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
    put_meta(conn, "head", &StoredHead::of(head))
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

/// The live set (see [`crate::model::live`]): every item still moving, and the closed items
/// within `window` of the store's last time, newest first; a finished task a live task waits on
/// comes too. Each kind is read through its `(state, at)` and `at` indexes, so the load follows
/// the live set, not the history.
pub fn load_state(conn: &Connection, window: &LiveWindow) -> rusqlite::Result<State> {
    let head = head(conn)?;
    let cutoff = head
        .last_at
        .map(|t| millis::format(&(t - window.horizon)))
        .unwrap_or_default();
    let mut state = State::default();
    let agents = format!("SELECT id, {AGENT_BODY} FROM agents");
    for (k, v) in rows(conn, "agents", &agents, [])? {
        state.agents.insert(k, v);
    }
    state.tasks = live(
        conn,
        "tasks",
        &["queued", "blocked", "leased", "running"],
        &cutoff,
        window,
    )?;
    for id in state.waited_on_elsewhere() {
        if let Some(task) = super::items::by_id::<Task>(conn, &id)? {
            state.tasks.insert(id, task);
        }
    }
    for (k, v) in rows(conn, "queues", "SELECT name, body FROM queues", [])? {
        state.queues.insert(k, v);
    }
    state.incidents = live(
        conn,
        "incidents",
        &["open", "acknowledged", "mitigated"],
        &cutoff,
        window,
    )?;
    state.approvals = live(conn, "approvals", &["pending"], &cutoff, window)?;
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

/// Items of `table` in one of the `moving` states, and the newest closed ones since `cutoff`.
fn live<T: DeserializeOwned>(
    conn: &Connection,
    table: &str,
    moving: &[&str],
    cutoff: &str,
    window: &LiveWindow,
) -> rusqlite::Result<BTreeMap<String, T>> {
    let list = moving
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let body = body_of(table);
    let sql = format!(
        "SELECT id, {body} FROM {table} WHERE state IN ({list})
         UNION ALL
         SELECT * FROM (SELECT id, {body} FROM {table} WHERE at >= ?1 AND state NOT IN ({list})
                        ORDER BY at DESC LIMIT ?2)"
    );
    Ok(
        rows(conn, table, &sql, params![cutoff, window.closed as i64])?
            .into_iter()
            .collect(),
    )
}

pub fn put(conn: &Connection, change: &Change) -> rusqlite::Result<()> {
    match change {
        Change::Agent(a) => conn
            .prepare_cached(
                "INSERT INTO agents(id, domain, body) VALUES (?1, ?2, ?3)
                 ON CONFLICT(id) DO UPDATE SET domain = excluded.domain, body = excluded.body,
                     beat = NULL",
            )?
            .execute(params![a.id, a.domain, json(a)]),
        Change::Task(t) => conn
            .prepare_cached(
                "INSERT INTO tasks(id, state, domain, finished_at, at, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(id) DO UPDATE SET state = excluded.state,
                     finished_at = excluded.finished_at, at = excluded.at, body = excluded.body,
                     lease = NULL",
            )?
            .execute(params![
                t.id,
                t.state.as_str(),
                t.domain,
                t.finished_at.map(|f| millis::format(&f)),
                millis::format(&t.moved_at()),
                json(t)
            ]),
        Change::Queue(q) => upsert(conn, "queues", "name", &q.name, &json(q)),
        Change::Incident(i) => dated(conn, "incidents", &i.id, i.state.as_str(), &i.domain, i, i),
        Change::Approval(a) => dated(conn, "approvals", &a.id, a.state.as_str(), &a.domain, a, a),
        Change::Rollout(r) => dated(conn, "rollouts", &r.id, r.state.as_str(), &r.domain, r, r),
        Change::Alert(a) => upsert(conn, "alerts", "key", &a.key, &json(a)),
        Change::Domain(d) => upsert(conn, "domains", "name", &d.name, &json(d)),
        // Audit records are appended through the chain, never upserted.
        Change::Audit(_) => Ok(0),
        // Closed items leave memory only: the store keeps them.
        Change::Retire(_) => Ok(0),
        Change::Beat(beat) => {
            conn.prepare_cached("UPDATE agents SET beat = ?2 WHERE id = ?1")?
                .execute(params![beat.agent, millis::format(&beat.at)])?;
            match &beat.lease {
                Some((task, expires)) => conn
                    .prepare_cached("UPDATE tasks SET lease = ?2 WHERE id = ?1")?
                    .execute(params![task, millis::format(expires)]),
                None => Ok(0),
            }
        }
    }
    .map(|_| ())
}

fn dated<T: Serialize>(
    conn: &Connection,
    table: &str,
    id: &str,
    state: &str,
    domain: &str,
    lived: &dyn Lived,
    item: &T,
) -> rusqlite::Result<usize> {
    conn.prepare_cached(&format!(
        "INSERT INTO {table}(id, state, domain, at, body) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(id) DO UPDATE SET state = excluded.state, domain = excluded.domain,
             at = excluded.at, body = excluded.body"
    ))?
    .execute(params![
        id,
        state,
        domain,
        millis::format(&lived.moved_at()),
        json(item)
    ])
}

fn upsert(
    conn: &Connection,
    table: &str,
    key_col: &str,
    key: &str,
    body: &str,
) -> rusqlite::Result<usize> {
    conn.prepare_cached(&format!(
        "INSERT INTO {table}({key_col}, body) VALUES (?1, ?2)
         ON CONFLICT({key_col}) DO UPDATE SET body = excluded.body"
    ))?
    .execute(params![key, body])
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
