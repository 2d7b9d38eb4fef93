use std::process::ExitCode;

use crate::config::ConfigError;
use crate::engine::EngineError;
use crate::paths::NoHome;
use crate::store::StoreError;

/// A one-line error and the exit code of DESIGN §3.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad flags or arguments: exit 2.
    #[error("{0}")]
    Usage(String),
    /// Something failed at run time: exit 1.
    #[error("{0}")]
    Runtime(String),
    /// Authority, conflict, stale version, already decided, read-only: exit 3.
    #[error("{0}")]
    Refused(String),
    /// The output pipe closed (`| head`): exit quietly.
    #[error("broken pipe")]
    BrokenPipe,
    /// The answer is already printed; exit with this code (the gate: 3 rejected, 4 expired).
    #[error("exit {0}")]
    Exit(u8),
}

impl CliError {
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            CliError::Usage(_) => 2,
            CliError::Runtime(_) => 1,
            CliError::Refused(_) => 3,
            CliError::BrokenPipe => 0,
            CliError::Exit(code) => *code,
        })
    }
}

impl From<EngineError> for CliError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Invalid(_) => CliError::Usage(e.to_string()),
            e if e.is_refusal() => CliError::Refused(e.to_string()),
            e => CliError::Runtime(e.to_string()),
        }
    }
}

impl From<crate::link::LinkError> for CliError {
    fn from(e: crate::link::LinkError) -> Self {
        use crate::link::LinkError;
        match e {
            LinkError::Refused(_) | LinkError::Conflict { .. } => CliError::Refused(e.to_string()),
            LinkError::Invalid(_) => CliError::Usage(e.to_string()),
            LinkError::NotFound(_) | LinkError::Unavailable(_) => CliError::Runtime(e.to_string()),
        }
    }
}

impl From<StoreError> for CliError {
    fn from(e: StoreError) -> Self {
        CliError::Runtime(e.to_string())
    }
}

impl From<ConfigError> for CliError {
    fn from(e: ConfigError) -> Self {
        CliError::Usage(e.to_string())
    }
}

impl From<crate::tui::theme::ThemeError> for CliError {
    fn from(e: crate::tui::theme::ThemeError) -> Self {
        CliError::Usage(e.to_string())
    }
}

impl From<NoHome> for CliError {
    fn from(e: NoHome) -> Self {
        CliError::Runtime(e.to_string())
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            CliError::BrokenPipe
        } else {
            CliError::Runtime(format!("cannot write output: {e}"))
        }
    }
}
