//! Entities as JSON bodies beside the few columns the store filters on, the head row, the event
//! log, and listings: the same rows and reads as SQLite's, in PostgreSQL's SQL.

use std::collections::BTreeMap;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio_postgres::types::ToSql;

use super::error::{PgError, decode_error};
use super::own::Cached;
use super::pipeline::{Pipeline, params};
use crate::model::audit::millis;
use crate::model::ids::natural_key;
use crate::model::{Change, Event, LiveWindow, Lived, State, Task};
use crate::query::{Item, ItemKind, Listing};
use crate::store::Head;
use crate::store::types::StoredHead;

use crate::store::EVENT_WINDOW;

/// An agent's body with its last plain heartbeat laid over it.
const AGENT_BODY: &str = "CASE WHEN beat IS NULL THEN body \
     ELSE jsonb_set(body::jsonb, '{last_heartbeat}', to_jsonb(beat))::text END";
/// A task's body with the lease its agent's last heartbeat extended.
const TASK_BODY: &str = "CASE WHEN lease IS NULL THEN body \
     ELSE jsonb_set(body::jsonb, '{lease_expires_at}', to_jsonb(lease))::text END";

pub(super) fn body_of(table: &str) -> &'static str {
    match table {
        "agents" => AGENT_BODY,
        "tasks" => TASK_BODY,
        _ => "body",
    }
}

pub fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("model types always serialise")
}

pub fn decode<T: DeserializeOwned>(table: &str, key: &str, body: &str) -> Result<T, PgError> {
    serde_json::from_str(body).map_err(|e| decode_error(table, key, e))
}

async fn rows<T: DeserializeOwned>(
    c: &impl Cached,
    table: &str,
    sql: &str,
    args: &[&(dyn ToSql + Sync)],
) -> Result<Vec<(String, T)>, PgError> {
    let statement = c.prepared(sql).await?;
    c.query(&statement, args)
        .await?
        .iter()
        .map(|r| {
            let key: String = r.get(0);
            let body: &str = r.get(1);
            let item = decode(table, &key, body)?;
            Ok((key, item))
        })
        .collect()
}

pub(super) const HEAD_FOR_UPDATE: &str =
    "SELECT event_seq, audit_seq, audit_hash, body FROM head WHERE id = 1 FOR UPDATE";
pub(super) const EVENTS_AFTER: &str =
    "SELECT seq, body FROM events WHERE seq > $1 ORDER BY seq LIMIT $2";
pub(super) const META: &str = "SELECT value FROM meta WHERE key = $1";

/// The head, the events after `since` and the metrics, in one snapshot: sent together (one
/// round trip) in a read-only transaction.
pub async fn missed(c: &impl Cached, since: u64) -> Result<crate::store::Missed, PgError> {
    use super::pipeline::all_in_order;
    use futures::future::BoxFuture;
    enum Read {
        Done,
        Head(Head),
        Events(Option<Vec<Event>>),
        Metrics(crate::model::Metrics),
    }
    const HEAD: &str = "SELECT event_seq, audit_seq, audit_hash, body FROM head WHERE id = 1";
    for sql in [HEAD, EVENTS_AFTER, META] {
        c.prepared(sql).await?;
    }
    let reads: Vec<BoxFuture<'_, Result<Read, PgError>>> = vec![
        Box::pin(async {
            c.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .await?;
            Ok(Read::Done)
        }),
        Box::pin(async { head(c, false).await.map(Read::Head) }),
        Box::pin(async {
            events_since(c, since, usize::MAX >> 1)
                .await
                .map(Read::Events)
        }),
        Box::pin(async {
            Ok(Read::Metrics(
                get_meta(c, "metrics").await?.unwrap_or_default(),
            ))
        }),
        Box::pin(async {
            c.batch_execute("COMMIT").await?;
            Ok(Read::Done)
        }),
    ];
    let answers = match all_in_order(reads).await {
        Ok(answers) => answers,
        Err(e) => {
            let _ = c.batch_execute("ROLLBACK").await;
            return Err(e);
        }
    };
    let (mut found, mut events, mut metrics) = (None, None, None);
    for read in answers {
        match read {
            Read::Done => {}
            Read::Head(h) => found = Some(h),
            Read::Events(e) => events = Some(e),
            Read::Metrics(m) => metrics = Some(m),
        }
    }
    let head = found.ok_or_else(|| PgError::Decode("no head row".into()))?;
    let events = events.expect("answered");
    let metrics = metrics.filter(|_| events.as_ref().is_none_or(|e| !e.is_empty()));
    Ok(crate::store::Missed {
        head,
        events,
        metrics,
    })
}

/// The head row; `lock` takes it `FOR UPDATE`, so writers on every replica queue there, and
/// whoever holds it sees the newest committed end of the log and the trail.
pub async fn head(c: &impl Cached, lock: bool) -> Result<Head, PgError> {
    let sql = if lock {
        HEAD_FOR_UPDATE
    } else {
        "SELECT event_seq, audit_seq, audit_hash, body FROM head WHERE id = 1"
    };
    let statement = c.prepared(sql).await?;
    let row = c.query_one(&statement, &[]).await?;
    let (event_seq, audit_seq): (i64, i64) = (row.get(0), row.get(1));
    let audit_hash: String = row.get(2);
    let body: &str = row.get(3);
    let stored: StoredHead = if body.is_empty() {
        StoredHead::of(&Head {
            event_seq: 0,
            audit_seq: 0,
            audit_hash: String::new(),
            ids: Default::default(),
            last_at: None,
            clock: crate::store::ClockMode::Real,
            ts_monotone: true,
        })
    } else {
        decode("head", "1", body)?
    };
    let mut head = stored.with_trail(audit_seq as u64, audit_hash);
    head.event_seq = event_seq as u64;
    Ok(head)
}

/// Queues the head row's update (it goes with the commit).
pub fn put_head(p: &mut Pipeline, head: &Head) {
    p.push(
        "UPDATE head SET event_seq = $1, audit_seq = $2, audit_hash = $3, body = $4 WHERE id = 1",
        params![
            head.event_seq as i64,
            head.audit_seq as i64,
            head.audit_hash.clone(),
            json(&StoredHead::of(head)),
        ],
    );
}

pub async fn get_meta<T: DeserializeOwned>(
    c: &impl Cached,
    key: &str,
) -> Result<Option<T>, PgError> {
    let statement = c.prepared(META).await?;
    match c.query_opt(&statement, &[&key]).await? {
        Some(row) => decode("meta", key, row.get::<_, &str>(0)).map(Some),
        None => Ok(None),
    }
}

pub fn put_meta<T: Serialize>(p: &mut Pipeline, key: &'static str, value: &T) {
    p.push(
        "INSERT INTO meta(key, value) VALUES ($1, $2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, json(value)],
    );
}

/// The live set, as SQLite's `load_state` reads it (see there).
pub async fn load_state(
    c: &impl Cached,
    head: &Head,
    window: &LiveWindow,
) -> Result<State, PgError> {
    let cutoff = head
        .last_at
        .map(|t| millis::format(&(t - window.horizon)))
        .unwrap_or_default();
    let mut state = State::default();
    let agents = format!("SELECT id, {AGENT_BODY} FROM agents");
    state.agents = rows(c, "agents", &agents, &[]).await?.into_iter().collect();
    state.tasks = live(
        c,
        "tasks",
        &["queued", "blocked", "leased", "running"],
        &cutoff,
        window,
    )
    .await?;
    for id in state.waited_on_elsewhere() {
        if let Some(task) = by_id::<Task>(c, &id).await? {
            state.tasks.insert(id, task);
        }
    }
    state.queues = rows(c, "queues", "SELECT name, body FROM queues", &[])
        .await?
        .into_iter()
        .collect();
    state.incidents = live(
        c,
        "incidents",
        &["open", "acknowledged", "mitigated"],
        &cutoff,
        window,
    )
    .await?;
    state.approvals = live(c, "approvals", &["pending"], &cutoff, window).await?;
    state.rollouts = rows(c, "rollouts", "SELECT id, body FROM rollouts", &[])
        .await?
        .into_iter()
        .collect();
    state.alerts = rows(c, "alerts", "SELECT key, body FROM alerts", &[])
        .await?
        .into_iter()
        .collect();
    state.domains = rows(c, "domains", "SELECT name, body FROM domains", &[])
        .await?
        .into_iter()
        .collect();
    state.audit_tail = super::trail::tail(c, State::AUDIT_TAIL).await?;
    state.metrics = get_meta(c, "metrics").await?.unwrap_or_default();
    state.ids = head.ids.clone();
    state.seq = head.event_seq;
    Ok(state)
}

async fn live<T: DeserializeOwned>(
    c: &impl Cached,
    table: &str,
    moving: &[&str],
    cutoff: &str,
    window: &LiveWindow,
) -> Result<BTreeMap<String, T>, PgError> {
    let list = moving
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let body = body_of(table);
    let sql = format!(
        "SELECT id, {body} FROM {table} WHERE state IN ({list})
         UNION ALL
         SELECT * FROM (SELECT id, {body} FROM {table} WHERE at >= $1 AND state NOT IN ({list})
                        ORDER BY at DESC LIMIT $2) AS closed"
    );
    Ok(rows(c, table, &sql, &[&cutoff, &(window.closed as i64)])
        .await?
        .into_iter()
        .collect())
}

/// Queues the upsert of a changed entity.
pub fn put(p: &mut Pipeline, change: &Change) {
    match change {
        Change::Agent(a) => p.push(
            "INSERT INTO agents(id, domain, body) VALUES ($1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET domain = excluded.domain, body = excluded.body,
                 beat = NULL",
            params![a.id.clone(), a.domain.clone(), json(a)],
        ),
        Change::Task(t) => p.push(
            "INSERT INTO tasks(id, state, domain, finished_at, at, body)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (id) DO UPDATE SET state = excluded.state,
                 finished_at = excluded.finished_at, at = excluded.at, body = excluded.body,
                 lease = NULL",
            params![
                t.id.clone(),
                t.state.as_str(),
                t.domain.clone(),
                t.finished_at.map(|f| millis::format(&f)),
                millis::format(&t.moved_at()),
                json(t),
            ],
        ),
        Change::Queue(q) => upsert(p, "queues", "name", &q.name, json(q)),
        Change::Incident(i) => dated(p, "incidents", &i.id, i.state.as_str(), &i.domain, i, i),
        Change::Approval(a) => dated(p, "approvals", &a.id, a.state.as_str(), &a.domain, a, a),
        Change::Rollout(r) => dated(p, "rollouts", &r.id, r.state.as_str(), &r.domain, r, r),
        Change::Alert(a) => upsert(p, "alerts", "key", &a.key, json(a)),
        Change::Domain(d) => upsert(p, "domains", "name", &d.name, json(d)),
        // Audit records are appended through the chain, never upserted.
        Change::Audit(_) => {}
        // Closed items leave memory only: the store keeps them.
        Change::Retire(_) => {}
        Change::Beat(beat) => {
            p.push(
                "UPDATE agents SET beat = $2 WHERE id = $1",
                params![beat.agent.clone(), millis::format(&beat.at)],
            );
            if let Some((task, expires)) = &beat.lease {
                p.push(
                    "UPDATE tasks SET lease = $2 WHERE id = $1",
                    params![task.clone(), millis::format(expires)],
                );
            }
        }
    }
}

fn dated<T: Serialize>(
    p: &mut Pipeline,
    table: &str,
    id: &str,
    state: &'static str,
    domain: &str,
    lived: &(dyn Lived + Sync),
    item: &T,
) {
    p.push(
        format!(
            "INSERT INTO {table}(id, state, domain, at, body) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (id) DO UPDATE SET state = excluded.state, domain = excluded.domain,
                 at = excluded.at, body = excluded.body"
        ),
        params![
            id.to_string(),
            state,
            domain.to_string(),
            millis::format(&lived.moved_at()),
            json(item),
        ],
    );
}

fn upsert(p: &mut Pipeline, table: &str, key_col: &str, key: &str, body: String) {
    p.push(
        format!(
            "INSERT INTO {table}({key_col}, body) VALUES ($1, $2)
             ON CONFLICT ({key_col}) DO UPDATE SET body = excluded.body"
        ),
        params![key.to_string(), body],
    );
}

/// Queues an event's row.
pub fn insert_event(p: &mut Pipeline, event: &Event) {
    p.push(
        "INSERT INTO events(seq, at, body) VALUES ($1, $2, $3)",
        params![event.seq as i64, millis::format(&event.at), json(event)],
    );
}

/// Queues trimming the log to its window, when a commit from `first_seq` to `last_seq` crosses
/// a thousand (which keeps the cost off most commits).
pub fn trim_events(p: &mut Pipeline, first_seq: u64, last_seq: u64) {
    if last_seq > EVENT_WINDOW && first_seq / 1_000 != last_seq / 1_000 {
        p.push(
            "DELETE FROM events WHERE seq <= $1",
            params![(last_seq - EVENT_WINDOW) as i64],
        );
    }
}

/// Events after `since`, oldest first, at most `limit`; `None` when the log no longer reaches
/// back that far.
pub async fn events_since(
    c: &impl Cached,
    since: u64,
    limit: usize,
) -> Result<Option<Vec<Event>>, PgError> {
    let s = c.prepared(EVENTS_AFTER).await?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = c.query(&s, &[&(since as i64), &limit]).await?;
    // Seqs are gapless: a log whose first event after `since` is not the next was trimmed
    // past it.
    if rows
        .first()
        .is_some_and(|r| r.get::<_, i64>(0) as u64 != since + 1)
    {
        return Ok(None);
    }
    rows.iter()
        .map(|r| {
            decode(
                "events",
                &r.get::<_, i64>(0).to_string(),
                r.get::<_, &str>(1),
            )
        })
        .collect::<Result<Vec<Event>, PgError>>()
        .map(Some)
}

/// The table and key column of a kind.
fn table(kind: ItemKind) -> (&'static str, &'static str) {
    match kind {
        ItemKind::Queues => ("queues", "name"),
        other => (other.as_str(), "id"),
    }
}

/// The items a listing asks for, as SQLite's `items::list` reads them.
pub async fn list<T: Item>(c: &impl Cached, listing: &Listing) -> Result<Vec<T>, PgError> {
    let (name, key) = table(T::KIND);
    let mut clauses: Vec<(&str, String)> = Vec::new();
    if let Some(state) = &listing.state {
        clauses.push(("state", state.clone()));
    }
    if let Some(since) = listing.since {
        clauses.push(("at >", millis::format(&since)));
    }
    if let Some(domain) = listing
        .domain
        .as_ref()
        .filter(|_| T::KIND != ItemKind::Queues)
    {
        clauses.push(("domain", domain.clone()));
    }
    let mut sql = format!("SELECT {key}, {} FROM {name} WHERE true", body_of(name));
    for (i, (column, _)) in clauses.iter().enumerate() {
        sql.push_str(&format!(" AND {column}= ${}", i + 1));
    }
    let args: Vec<&(dyn ToSql + Sync)> = clauses
        .iter()
        .map(|(_, v)| v as &(dyn ToSql + Sync))
        .collect();
    if T::KIND.dated() {
        sql.push_str(&format!(
            " ORDER BY at DESC, pos DESC LIMIT {}",
            listing.limit
        ));
        let found = rows::<T>(c, name, &sql, &args).await?;
        return Ok(found.into_iter().map(|(_, item)| item).collect());
    }
    let mut found = rows::<T>(c, name, &sql, &args).await?;
    found.sort_by(|a, b| natural_key(&a.0).cmp(&natural_key(&b.0)));
    found.truncate(listing.limit);
    Ok(found.into_iter().map(|(_, item)| item).collect())
}

/// One item by its id (a queue by its name), wherever it is in its life.
pub async fn by_id<T: Item>(c: &impl Cached, id: &str) -> Result<Option<T>, PgError> {
    let (name, key) = table(T::KIND);
    let s = c
        .prepared(&format!(
            "SELECT {} FROM {name} WHERE {key} = $1",
            body_of(name)
        ))
        .await?;
    match c.query_opt(&s, &[&id]).await? {
        Some(row) => decode(name, id, row.get::<_, &str>(0)).map(Some),
        None => Ok(None),
    }
}
