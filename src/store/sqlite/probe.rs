//! Looking into a SQLite store's engine room from tests and diagnostics, without handing out
//! its connection or writing SQL outside the store.

use super::SqliteStore;
use crate::store::StoreError;

impl SqliteStore {
    fn probe<T: rusqlite::types::FromSql>(&self, sql: &str) -> Result<T, StoreError> {
        self.conn
            .query_row(sql, [], |r| r.get(0))
            .map_err(|e| StoreError::from_sqlite(e, &self.location))
    }

    /// Everything a bulk append touches (rows, indexes, text, meta), to compare before and
    /// after.
    pub fn fingerprint(&self) -> Result<Vec<String>, StoreError> {
        [
            "SELECT count(*) || ' ' || max(seq) || ' ' || max(hash) FROM audit",
            "SELECT count(*) || ' ' || max(task) FROM audit_tasks",
            "SELECT count(*) || ' ' || sum(length(block)) FROM audit_fts_data",
            "SELECT count(*) || '' FROM audit_fts_docsize",
            "SELECT group_concat(key || '=' || value, ';') FROM meta",
            "SELECT group_concat(k || '=' || v, ';') FROM audit_fts_config",
        ]
        .iter()
        .map(|sql| Ok(self.probe::<Option<String>>(sql)?.unwrap_or_default()))
        .collect()
    }

    /// SQLite's journal mode: `wal`, or `truncate` in the bulk journal.
    pub fn journal_mode(&self) -> Result<String, StoreError> {
        self.probe("PRAGMA journal_mode")
    }

    /// Lets the file grow by `pages` pages at most from now on, on this store's connection: past
    /// that, writes fail as on a full disk. `None` lifts the limit.
    pub fn limit_growth(&self, pages: Option<i64>) -> Result<(), StoreError> {
        let max = match pages {
            Some(pages) => self.probe::<i64>("PRAGMA page_count")? + pages,
            None => 1_000_000_000,
        };
        self.probe::<i64>(&format!("PRAGMA max_page_count = {max}"))
            .map(|_| ())
    }

    /// The full-text index's in-memory buffer as stored (see `WriteTx::set_text_buffer`).
    pub fn text_buffer(&self) -> Result<i64, StoreError> {
        self.probe("SELECT v FROM audit_fts_config WHERE k = 'hashsize'")
    }

    /// Copies the write-ahead log into the database file and empties this connection's page
    /// cache, so the next read of any page comes from the file (tests that damage it underneath).
    pub fn settle_to_file(&self) -> Result<(), StoreError> {
        let _: i64 = self.probe("PRAGMA wal_checkpoint(TRUNCATE)")?;
        let _: i64 = self.probe("PRAGMA shrink_memory").or_else(|e| match e {
            // shrink_memory returns no row.
            StoreError::Sqlite {
                source: rusqlite::Error::QueryReturnedNoRows,
                ..
            } => Ok(0),
            other => Err(other),
        })?;
        Ok(())
    }
}
