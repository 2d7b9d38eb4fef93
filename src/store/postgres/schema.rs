//! The PostgreSQL schema and its migrations, versioned in `opsdeck_schema` as SQLite's are by
//! `user_version`: replicas starting together migrate one at a time (a transaction-scoped
//! advisory lock), and a replica older than the database refuses it.

use deadpool_postgres::ClientWrapper;

use super::error::PgError;

/// The newest schema this binary knows.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The advisory lock key migrations hold (`OPSD` in ASCII, then 1).
const MIGRATION_LOCK: i64 = 0x4F50_5344_0001;

/// One SQL batch per schema version, in order.
///
/// Rows mirror SQLite's (JSON bodies as text, times as millisecond RFC 3339 text so that text
/// order is time order), with a `pos` per row standing in for SQLite's rowid (listings break ties by it, and `store copy` keeps its order), and one
/// `head` row that every write locks `FOR UPDATE`: the end of the event log and of the trail,
/// and the rest of the head as JSON. The trail's text is searchable through a generated
/// `tsvector` (the `simple` configuration: no stemming, no stop words, as SQLite's index).
///
/// 2: records by classification, newest first (`class:sensitive approved` read 5,500 rows of the
/// whole trail backwards where 400 sensitive ones do).
const MIGRATIONS: [&str; 2] = [
    r#"
CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE head (
    id integer PRIMARY KEY CHECK (id = 1),
    event_seq bigint NOT NULL,
    audit_seq bigint NOT NULL,
    audit_hash text NOT NULL,
    body text NOT NULL);
INSERT INTO head VALUES (1, 0, 0,
    '0000000000000000000000000000000000000000000000000000000000000000', '');
CREATE TABLE agents (
    id text PRIMARY KEY, domain text NOT NULL, body text NOT NULL, beat text,
    pos bigint GENERATED ALWAYS AS IDENTITY);
CREATE TABLE tasks (
    id text PRIMARY KEY, state text NOT NULL, domain text NOT NULL, finished_at text,
    at text NOT NULL, body text NOT NULL, lease text, pos bigint GENERATED ALWAYS AS IDENTITY);
CREATE INDEX tasks_state_at ON tasks(state, at);
CREATE INDEX tasks_at ON tasks(at);
CREATE TABLE queues (
    name text PRIMARY KEY, body text NOT NULL, pos bigint GENERATED ALWAYS AS IDENTITY);
CREATE TABLE incidents (
    id text PRIMARY KEY, state text NOT NULL, domain text NOT NULL, at text NOT NULL,
    body text NOT NULL, pos bigint GENERATED ALWAYS AS IDENTITY);
CREATE INDEX incidents_state_at ON incidents(state, at);
CREATE INDEX incidents_at ON incidents(at);
CREATE TABLE approvals (
    id text PRIMARY KEY, state text NOT NULL, domain text NOT NULL, at text NOT NULL,
    body text NOT NULL, pos bigint GENERATED ALWAYS AS IDENTITY);
CREATE INDEX approvals_state_at ON approvals(state, at);
CREATE INDEX approvals_at ON approvals(at);
CREATE TABLE rollouts (
    id text PRIMARY KEY, state text NOT NULL, domain text NOT NULL, at text NOT NULL,
    body text NOT NULL, pos bigint GENERATED ALWAYS AS IDENTITY);
CREATE INDEX rollouts_state_at ON rollouts(state, at);
CREATE INDEX rollouts_at ON rollouts(at);
CREATE TABLE alerts (
    key text PRIMARY KEY, body text NOT NULL, pos bigint GENERATED ALWAYS AS IDENTITY);
CREATE TABLE domains (
    name text PRIMARY KEY, body text NOT NULL, pos bigint GENERATED ALWAYS AS IDENTITY);
CREATE TABLE events (seq bigint PRIMARY KEY, at text NOT NULL, body text NOT NULL);
CREATE TABLE audit (
    seq bigint PRIMARY KEY,
    id text NOT NULL,
    ts text NOT NULL,
    agent_id text NOT NULL,
    action_type text NOT NULL,
    domain text NOT NULL,
    classification text NOT NULL,
    retention text NOT NULL,
    body text,
    body_sha256 text NOT NULL,
    prev_hash text NOT NULL,
    hash text NOT NULL,
    words text,
    tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, coalesce(words, ''))) STORED);
CREATE INDEX audit_domain ON audit(domain, seq);
CREATE INDEX audit_type ON audit(action_type, seq);
CREATE INDEX audit_agent ON audit(agent_id, seq);
CREATE INDEX audit_ts ON audit(ts);
CREATE INDEX audit_id ON audit(id);
CREATE INDEX audit_tsv ON audit USING gin (tsv);
CREATE TABLE audit_tasks (task text NOT NULL, seq bigint NOT NULL, PRIMARY KEY (task, seq));
CREATE TABLE audit_purges (seq bigint PRIMARY KEY);
CREATE TABLE audit_origin (
    first_seq bigint PRIMARY KEY,
    last_seq bigint NOT NULL,
    file_sha256 text NOT NULL,
    first_line bigint NOT NULL);
CREATE TABLE idempotency (
    caller text NOT NULL,
    key text NOT NULL,
    fingerprint text NOT NULL,
    status integer NOT NULL,
    answer text NOT NULL,
    at text NOT NULL,
    PRIMARY KEY (caller, key));
CREATE INDEX idempotency_at ON idempotency(at);
"#,
    "CREATE INDEX audit_class ON audit(classification, seq);",
];

/// The schema version the database holds: 0 when it holds no opsdeck tables; refuses a
/// database whose tables are someone else's.
async fn version(c: &ClientWrapper) -> Result<i64, PgError> {
    let ours = c
        .query_one("SELECT to_regclass('opsdeck_schema') IS NOT NULL", &[])
        .await?
        .get::<_, bool>(0);
    if ours {
        return Ok(c
            .query_one(
                "SELECT coalesce(max(version), 0)::bigint FROM opsdeck_schema",
                &[],
            )
            .await?
            .get(0));
    }
    // Tables of the names opsdeck uses, but no version: another application's database.
    let taken = c
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()
               AND tablename IN ('audit', 'events', 'head', 'approvals')",
            &[],
        )
        .await?
        .get::<_, i64>(0);
    if taken > 0 {
        return Err(PgError::NotOpsdeck);
    }
    Ok(0)
}

/// Refuses a database from a newer opsdeck, before anything is written to it.
pub async fn check(c: &ClientWrapper) -> Result<i64, PgError> {
    let found = version(c).await?;
    if found > SCHEMA_VERSION {
        return Err(PgError::TooNew(found));
    }
    Ok(found)
}

/// Brings the database to [`SCHEMA_VERSION`], one version per transaction.
pub async fn migrate(c: &ClientWrapper) -> Result<(), PgError> {
    if check(c).await? == SCHEMA_VERSION {
        return Ok(());
    }
    for (index, sql) in MIGRATIONS.iter().enumerate() {
        let target = index as i64 + 1;
        c.batch_execute("BEGIN").await?;
        let done = async {
            c.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
                .await?;
            c.batch_execute("CREATE TABLE IF NOT EXISTS opsdeck_schema (version bigint NOT NULL)")
                .await?;
            // Another replica may have migrated while this one waited for the lock.
            let now = check(c).await?;
            if now < target {
                c.batch_execute(sql).await?;
                c.execute(
                    "INSERT INTO opsdeck_schema(version) VALUES ($1)",
                    &[&target],
                )
                .await?;
            }
            Ok::<(), PgError>(())
        }
        .await;
        match done {
            Ok(()) => c.batch_execute("COMMIT").await?,
            Err(e) => {
                let _ = c.batch_execute("ROLLBACK").await;
                return Err(e);
            }
        }
    }
    Ok(())
}

/// The server's version, for `doctor`.
pub async fn server_version(c: &ClientWrapper) -> Result<String, PgError> {
    Ok(c.query_one("SHOW server_version", &[]).await?.get(0))
}
