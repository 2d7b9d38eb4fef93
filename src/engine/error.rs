use crate::authority::Denied;
use crate::model::EntityKind;
use crate::protocol::Failure;
use crate::store::StoreError;

/// Why a command did not change anything.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("no {} with id {id:?}; list them with `{}`", kind.noun(), kind.list_command())]
    NotFound { kind: EntityKind, id: String },
    #[error("no audit record at seq {0}; search the trail with `opsdeck audit search`")]
    NoRecord(u64),
    #[error("refused: {0}")]
    Denied(#[from] Denied),
    #[error("refused: {reason}")]
    Refused { reason: String },
    /// The item moved on: already decided, a stale version, a state that forbids the action.
    #[error("conflict: {reason}")]
    Conflict {
        reason: String,
        current_version: Option<u64>,
    },
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An earlier write found the store damaged; the engine writes nothing more.
    #[error("the engine stopped because the store is damaged: {0}")]
    Halted(String),
}

impl EngineError {
    pub fn refused(reason: impl Into<String>) -> Self {
        EngineError::Refused {
            reason: reason.into(),
        }
    }

    pub fn conflict(reason: impl Into<String>, current_version: Option<u64>) -> Self {
        EngineError::Conflict {
            reason: reason.into(),
            current_version,
        }
    }

    pub fn not_found(kind: EntityKind, id: &str) -> Self {
        EngineError::NotFound {
            kind,
            id: id.to_string(),
        }
    }

    /// Refused, conflicting and denied commands exit with 3 in the CLI and map to 403/409.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            EngineError::Denied(_) | EngineError::Refused { .. } | EngineError::Conflict { .. }
        )
    }

    /// How callers on the other side of the link classify it.
    pub fn failure(&self) -> Failure {
        match self {
            EngineError::NotFound { .. } | EngineError::NoRecord(_) => Failure::NotFound,
            EngineError::Denied(_) => Failure::Denied,
            EngineError::Refused { .. } => Failure::Refused,
            EngineError::Conflict {
                current_version, ..
            } => Failure::Conflict {
                current_version: *current_version,
            },
            EngineError::Invalid(_) => Failure::Invalid,
            EngineError::Store(_) | EngineError::Halted(_) => Failure::Unavailable,
        }
    }
}
