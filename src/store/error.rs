use std::path::PathBuf;

use rusqlite::ErrorCode;

use super::Location;

/// What went wrong with the store, worded for the operator who has to fix it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "cannot create the store directory {path}: {source}; pass --store PATH to put the store elsewhere"
    )]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{location} is not an opsdeck database; pass --store with a new or an opsdeck file")]
    NotOpsdeck { location: Location },
    #[error(
        "{location} was written by a newer opsdeck (schema {found}; this binary knows up to {known}); upgrade opsdeck to open it"
    )]
    TooNew {
        location: Location,
        found: i64,
        known: i64,
    },
    #[error("{location} is read-only; make it writable, or pass --store with a writable path")]
    ReadOnly { location: Location },
    #[error("the disk holding {location} is full; nothing was written; free space and retry")]
    Full { location: Location },
    #[error(
        "{location} is locked by another writer for too long; retry, or check for a stuck opsdeck process"
    )]
    Busy { location: Location },
    #[error(
        "{location} is damaged ({detail}); restore it from a backup or start a new store with --store"
    )]
    Corrupt { location: Location, detail: String },
    #[error("cannot open {location}: {why}")]
    Unusable { location: Location, why: String },
    #[error("store error on {location}: {source}")]
    Sqlite {
        location: Location,
        source: rusqlite::Error,
    },
}

impl StoreError {
    pub fn from_sqlite(e: rusqlite::Error, location: &Location) -> StoreError {
        let location = location.clone();
        let code = e.sqlite_error_code();
        match code {
            Some(ErrorCode::NotADatabase) => StoreError::NotOpsdeck { location },
            Some(ErrorCode::ReadOnly) => StoreError::ReadOnly { location },
            Some(ErrorCode::DiskFull) => StoreError::Full { location },
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
                StoreError::Busy { location }
            }
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
