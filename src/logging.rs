//! Logs go to a file under the XDG state directory, never to the screen.

use std::sync::OnceLock;

static GUARD: OnceLock<tracing_appender::non_blocking::WorkerGuard> = OnceLock::new();

/// Starts logging to `$XDG_STATE_HOME/opsdeck/opsdeck.log` (level from `OPSDECK_LOG`, default
/// info). Without a writable state directory, logging is off; nothing else changes.
pub fn init() {
    let Ok(dir) = crate::paths::state_dir() else {
        return;
    };
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    let appender = tracing_appender::rolling::never(&dir, "opsdeck.log");
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = tracing_subscriber::EnvFilter::try_from_env("OPSDECK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let installed = tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init()
        .is_ok();
    if installed {
        let _ = GUARD.set(guard);
    }
}
