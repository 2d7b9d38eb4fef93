use std::path::PathBuf;

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
    /// Anything else SQLite reports (see `sqlite::error` for the codes told apart above).
    #[error("store error on {location}: {source}")]
    Sqlite {
        location: Location,
        source: rusqlite::Error,
    },
}
