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
        "{location} is damaged ({detail}); opsdeck will not read or write it: run `opsdeck doctor` to see the damage, then restore the store from a backup or start a new one with --store"
    )]
    Corrupt { location: Location, detail: String },
    #[error(
        "cannot read or write {location}: the disk or file system failed ({detail}); opsdeck stopped writing to it: check the disk, then run `opsdeck doctor` before using the store again"
    )]
    Io { location: Location, detail: String },
    #[error("cannot open {location}: {why}")]
    Unusable { location: Location, why: String },
    #[error(
        "cannot reach the database at {location}: {detail}; check that PostgreSQL is running there, the URL, and the password (OPSDECK_STORE_PASSWORD or [store] password_file)"
    )]
    Unreachable { location: Location, detail: String },
    /// The server was reached but the TLS session failed (its certificate refused, or no TLS
    /// where the URL's `sslmode=require` asks for it): `detail` says what to do.
    #[error("cannot reach the database at {location}: TLS failed: {detail}")]
    Tls { location: Location, detail: String },
    /// Anything else PostgreSQL reports, in its own words.
    #[error("store error on {location}: {detail}")]
    Postgres { location: Location, detail: String },
    /// Anything else SQLite reports (see `sqlite::error` for the codes told apart above).
    #[error("store error on {location}: {source}")]
    Sqlite {
        location: Location,
        source: rusqlite::Error,
    },
}

impl StoreError {
    /// The file itself is broken (damaged pages, not a database any more, the disk failing):
    /// whoever holds the store must stop writing to it, unlike a busy or full store, where the
    /// next try may work.
    pub fn is_damage(&self) -> bool {
        matches!(
            self,
            StoreError::Corrupt { .. } | StoreError::NotOpsdeck { .. } | StoreError::Io { .. }
        )
    }
}
