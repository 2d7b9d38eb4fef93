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
    // The default queue holds 128,000 lines and is allocated whole (about 4 MB resident for the
    // life of every process); a thousand lines absorb any burst we log, and a longer one drops
    // lines rather than making the engine wait on the disk.
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(1024)
        .finish(appender);
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
