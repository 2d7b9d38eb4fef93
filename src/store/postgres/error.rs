//! PostgreSQL's errors as the store's, worded for the operator: an unreachable server, a TLS
//! session that failed, a schema from a newer opsdeck, a row that cannot be read, and the rest
//! with the server's own words.

use tokio_postgres::error::SqlState;

use crate::store::{Location, StoreError};

/// What a PostgreSQL operation can fail with before the location is known.
#[derive(Debug)]
pub enum PgError {
    Db(tokio_postgres::Error),
    Pool(deadpool_postgres::PoolError),
    /// A row whose body does not read as what it should hold.
    Decode(String),
    NotOpsdeck,
    TooNew(i64),
}

impl From<tokio_postgres::Error> for PgError {
    fn from(e: tokio_postgres::Error) -> Self {
        PgError::Db(e)
    }
}

impl From<deadpool_postgres::PoolError> for PgError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        PgError::Pool(e)
    }
}

/// The server's message and code, without the client library's framing.
pub(super) fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                text.push_str(": ");
                text.push_str(&s.to_string());
                source = s.source();
            }
            text
        }
    }
}

impl PgError {
    pub fn at(self, location: &Location) -> StoreError {
        let location = location.clone();
        match self {
            PgError::NotOpsdeck => StoreError::NotOpsdeck { location },
            PgError::TooNew(found) => StoreError::TooNew {
                location,
                found,
                known: super::schema::SCHEMA_VERSION,
            },
            PgError::Decode(detail) => StoreError::Corrupt { location, detail },
            PgError::Pool(deadpool_postgres::PoolError::Backend(e)) => PgError::Db(e).at(&location),
            PgError::Pool(e) => StoreError::Unreachable {
                location,
                detail: e.to_string(),
            },
            PgError::Db(e) => {
                if let Some(detail) = super::tls::failure(&e) {
                    return StoreError::Tls { location, detail };
                }
                let code = e.code().cloned();
                let detail = describe(&e);
                match code {
                    None if e.is_closed() || e.as_db_error().is_none() => {
                        StoreError::Unreachable { location, detail }
                    }
                    Some(c) if c == SqlState::DISK_FULL => StoreError::Full { location },
                    Some(c) if c == SqlState::READ_ONLY_SQL_TRANSACTION => {
                        StoreError::ReadOnly { location }
                    }
                    Some(c) if c == SqlState::DATA_CORRUPTED || c == SqlState::INDEX_CORRUPTED => {
                        StoreError::Corrupt { location, detail }
                    }
                    Some(c)
                        if c == SqlState::LOCK_NOT_AVAILABLE
                            || c == SqlState::T_R_DEADLOCK_DETECTED
                            || c == SqlState::QUERY_CANCELED =>
                    {
                        StoreError::Busy { location }
                    }
                    Some(c)
                        if c == SqlState::ADMIN_SHUTDOWN
                            || c == SqlState::CRASH_SHUTDOWN
                            || c == SqlState::CANNOT_CONNECT_NOW
                            || c == SqlState::CONNECTION_FAILURE
                            || c == SqlState::INVALID_PASSWORD
                            || c == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
                            || c == SqlState::INVALID_CATALOG_NAME =>
                    {
                        StoreError::Unreachable { location, detail }
                    }
                    _ => StoreError::Postgres { location, detail },
                }
            }
        }
    }
}

/// A decode failure of `table`'s row `key`.
pub fn decode_error(table: &str, key: &str, e: impl std::fmt::Display) -> PgError {
    PgError::Decode(format!("row {key:?} of table {table} cannot be read: {e}"))
}
