//! Schema and migrations, keyed by `PRAGMA user_version`.

use rusqlite::Connection;

use super::error::SchemaError;

/// The newest schema this binary knows.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// `OPSD` in ASCII: marks the file as an opsdeck database.
const APPLICATION_ID: i64 = 0x4F50_5344;

/// One SQL batch per schema version, in order (`health` builds its expected objects from them).
pub(super) const MIGRATIONS: [&str; 6] = [
    r#"
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE agents (id TEXT PRIMARY KEY, domain TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE tasks (
    id TEXT PRIMARY KEY, state TEXT NOT NULL, domain TEXT NOT NULL,
    finished_at TEXT, body TEXT NOT NULL);
CREATE INDEX tasks_state ON tasks(state);
CREATE TABLE queues (name TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE incidents (id TEXT PRIMARY KEY, state TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE approvals (id TEXT PRIMARY KEY, state TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE rollouts (id TEXT PRIMARY KEY, state TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE alerts (key TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE domains (name TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE events (seq INTEGER PRIMARY KEY, at TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE audit (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    ts TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    action_type TEXT NOT NULL,
    domain TEXT NOT NULL,
    classification TEXT NOT NULL,
    retention TEXT NOT NULL,
    body TEXT,
    body_sha256 TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL);
CREATE INDEX audit_domain ON audit(domain, seq);
CREATE INDEX audit_type ON audit(action_type, seq);
CREATE INDEX audit_agent ON audit(agent_id, seq);
CREATE INDEX audit_ts ON audit(ts);
CREATE TABLE audit_tasks (task TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (task, seq)) WITHOUT ROWID;
CREATE VIRTUAL TABLE audit_fts USING fts5(summary, details, content='', contentless_delete=1);
"#,
    r#"
-- Audit integrity. Imports find a record by its id (not unique: stores from before this
-- migration may hold duplicated imports, which verify still chains).
CREATE INDEX audit_id ON audit(id);
-- The seqs of the chained purge records; verify reads their (chained) bodies to learn which
-- NULL bodies are legitimate.
CREATE TABLE audit_purges (seq INTEGER PRIMARY KEY);
-- Where imported records came from: runs of consecutive lines of one file that became
-- consecutive seqs.
CREATE TABLE audit_origin (
    first_seq INTEGER PRIMARY KEY,
    last_seq INTEGER NOT NULL,
    file_sha256 TEXT NOT NULL,
    first_line INTEGER NOT NULL);
-- The high-water mark of the trail: the highest seq ever written and its hash.
INSERT OR REPLACE INTO meta(key, value)
    SELECT 'audit_high', json_object('seq', seq, 'hash', hash) FROM audit ORDER BY seq DESC LIMIT 1;
"#,
    // Answers recorded under idempotency keys, in the transaction of the effect they answer, so
    // a retry after a restart gets the first answer instead of acting twice. `at` is the
    // engine's time (RFC 3339, milliseconds, UTC), so text order is time order for pruning.
    r#"
CREATE TABLE idempotency (
    caller TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER NOT NULL,
    answer TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (caller, key));
CREATE INDEX idempotency_at ON idempotency(at);
"#,
    // The full-text index holds each record's actor with its summary: emptied here, it is
    // rebuilt from the trail by the engine's clock (it is derived data).
    r#"
INSERT INTO audit_fts(audit_fts) VALUES ('delete-all');
DELETE FROM meta WHERE key = 'fts_upto';
"#,
    // Listings read items by index, history included: `at` is when an item reached its current
    // state (millisecond RFC 3339, so text order is time order), beside its domain; the live
    // set's load reads closed items newest first through the same index.
    r#"
ALTER TABLE tasks ADD COLUMN at TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN at TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN domain TEXT NOT NULL DEFAULT '';
ALTER TABLE approvals ADD COLUMN at TEXT NOT NULL DEFAULT '';
ALTER TABLE approvals ADD COLUMN domain TEXT NOT NULL DEFAULT '';
ALTER TABLE rollouts ADD COLUMN at TEXT NOT NULL DEFAULT '';
ALTER TABLE rollouts ADD COLUMN domain TEXT NOT NULL DEFAULT '';
UPDATE tasks SET at = strftime('%Y-%m-%dT%H:%M:%fZ', CASE
    WHEN state IN ('succeeded', 'failed', 'cancelled')
        THEN coalesce(json_extract(body, '$.finished_at'), json_extract(body, '$.enqueued_at'))
    WHEN state IN ('leased', 'running')
        THEN coalesce(json_extract(body, '$.leased_at'), json_extract(body, '$.enqueued_at'))
    ELSE json_extract(body, '$.enqueued_at') END);
UPDATE incidents SET domain = json_extract(body, '$.domain'),
    at = strftime('%Y-%m-%dT%H:%M:%fZ', coalesce(json_extract(body, '$.resolved_at'),
        json_extract(body, '$.mitigated_at'), json_extract(body, '$.acked_at'),
        json_extract(body, '$.opened_at')));
UPDATE approvals SET domain = json_extract(body, '$.domain'),
    at = strftime('%Y-%m-%dT%H:%M:%fZ', coalesce(json_extract(body, '$.decided_at'),
        json_extract(body, '$.created_at')));
UPDATE rollouts SET domain = json_extract(body, '$.domain'),
    at = strftime('%Y-%m-%dT%H:%M:%fZ', json_extract(body, '$.updated_at'));
DROP INDEX tasks_state;
CREATE INDEX tasks_state_at ON tasks(state, at);
CREATE INDEX tasks_at ON tasks(at);
CREATE INDEX incidents_state_at ON incidents(state, at);
CREATE INDEX incidents_at ON incidents(at);
CREATE INDEX approvals_state_at ON approvals(state, at);
CREATE INDEX approvals_at ON approvals(at);
CREATE INDEX rollouts_state_at ON rollouts(state, at);
CREATE INDEX rollouts_at ON rollouts(at);
"#,
    // A plain heartbeat writes its time (and its task's lease) into a column of its own rather
    // than the whole body again; a read lays the column over the body (`entities::BODY_*`).
    r#"
ALTER TABLE agents ADD COLUMN beat TEXT;
ALTER TABLE tasks ADD COLUMN lease TEXT;
"#,
];

/// Refuses a file that is not an opsdeck database, or one from a newer opsdeck, read-only.
pub(super) fn check(conn: &Connection) -> Result<(), SchemaError> {
    let app: i64 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if app == 0 {
        let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
        if tables > 0 {
            return Err(SchemaError::NotOpsdeck);
        }
    } else if app != APPLICATION_ID {
        return Err(SchemaError::NotOpsdeck);
    }
    if version > SCHEMA_VERSION {
        return Err(SchemaError::TooNew(version));
    }
    Ok(())
}

pub(super) fn migrate(conn: &mut Connection) -> Result<(), SchemaError> {
    check(conn)?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (index, sql) in MIGRATIONS.iter().enumerate() {
        let target = index as i64 + 1;
        if version >= target {
            continue;
        }
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Another process may have migrated while this one waited for the write lock.
        let now: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if now >= target {
            continue;
        }
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "application_id", APPLICATION_ID)?;
        tx.pragma_update(None, "user_version", target)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store written before idempotency answers were kept gains their table on open, and
    /// keeps what it had.
    #[test]
    fn a_first_version_store_migrates_to_the_newest() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "application_id", APPLICATION_ID)
            .unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute("INSERT INTO meta(key, value) VALUES ('kept', '1')", [])
            .unwrap();
        assert!(migrate(&mut conn).is_ok());
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let answers: i64 = conn
            .query_row("SELECT count(*) FROM idempotency", [], |r| r.get(0))
            .unwrap();
        assert_eq!(answers, 0);
        let kept: String = conn
            .query_row("SELECT value FROM meta WHERE key = 'kept'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(kept, "1");
    }
}
