//! SQLite's errors as the store's: worded for the operator by their codes.

use rusqlite::ErrorCode;

use crate::store::{Location, StoreError};

impl StoreError {
    pub(in crate::store) fn from_sqlite(e: rusqlite::Error, location: &Location) -> StoreError {
        let location = location.clone();
        let code = e.sqlite_error_code();
        match code {
            Some(ErrorCode::NotADatabase) => StoreError::NotOpsdeck { location },
            Some(ErrorCode::ReadOnly) => StoreError::ReadOnly { location },
            Some(ErrorCode::DiskFull) => StoreError::Full { location },
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
                StoreError::Busy { location }
            }
            Some(ErrorCode::SystemIoFailure) => StoreError::Io {
                location,
                detail: e.to_string(),
            },
            Some(ErrorCode::DatabaseCorrupt) => StoreError::Corrupt {
                location,
                detail: e.to_string(),
            },
            Some(ErrorCode::CannotOpen | ErrorCode::PermissionDenied) => StoreError::Unusable {
                location,
                why: format!("{e} (check the path and its permissions)"),
            },
            _ => match e {
                rusqlite::Error::FromSqlConversionFailure(..)
                | rusqlite::Error::InvalidColumnType(..) => StoreError::Corrupt {
                    location,
                    detail: e.to_string(),
                },
                other => StoreError::Sqlite {
                    location,
                    source: other,
                },
            },
        }
    }
}

/// A schema problem found before the location is known.
pub(super) enum SchemaError {
    NotOpsdeck,
    TooNew(i64),
    Sqlite(rusqlite::Error),
}

impl From<rusqlite::Error> for SchemaError {
    fn from(e: rusqlite::Error) -> Self {
        SchemaError::Sqlite(e)
    }
}

impl SchemaError {
    pub(super) fn at(self, location: &Location) -> StoreError {
        match self {
            SchemaError::NotOpsdeck => StoreError::NotOpsdeck {
                location: location.clone(),
            },
            SchemaError::TooNew(found) => StoreError::TooNew {
                location: location.clone(),
                found,
                known: super::SCHEMA_VERSION,
            },
            SchemaError::Sqlite(e) => StoreError::from_sqlite(e, location),
        }
    }
}
