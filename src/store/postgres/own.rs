//! A thread's own connection (the engine's, each read thread's), driven by a current-thread
//! runtime on that thread: a query goes out and its answer comes back on the thread that asked.
//! Through the pool, the request is handed to the pool runtime's thread and the answer handed
//! back, and on a busy machine each handoff waits for a wake-up: most of a short search's time
//! beyond the server's own, and time the head row's lock is held in a write.

use std::collections::HashMap;
use std::future::Future;
use std::ops::Deref;
use std::sync::Mutex;

use deadpool_postgres::ClientWrapper;
use tokio_postgres::{Client, Statement};

use super::Shared;
use super::error::PgError;

/// Statements a connection of its own keeps prepared; past that it starts afresh (a query's
/// text depends only on the shape of its filter, so a few dozen cover what people search for).
const KEPT: usize = 256;

/// A connection that keeps its statements prepared: a pooled one, or a thread's own.
pub(super) trait Cached: Deref<Target = Client> + Sync {
    /// `Send`, so that work on a pooled connection can run on the pool's runtime.
    fn prepared(
        &self,
        sql: &str,
    ) -> impl Future<Output = Result<Statement, tokio_postgres::Error>> + Send;
}

impl Cached for ClientWrapper {
    async fn prepared(&self, sql: &str) -> Result<Statement, tokio_postgres::Error> {
        self.prepare_cached(sql).await
    }
}

pub(super) struct Own {
    /// Runs the connection's task, and only while a query of this thread waits on it; always
    /// `Some` until dropped.
    runtime: Option<tokio::runtime::Runtime>,
    client: Client,
    /// Locked only to look up or keep a statement (a session is used by one thread at a time).
    statements: Mutex<HashMap<String, Statement>>,
    /// Set when the session cannot be trusted with another transaction (a ROLLBACK failed).
    discarded: std::sync::atomic::AtomicBool,
}

impl Deref for Own {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

impl Cached for Own {
    async fn prepared(&self, sql: &str) -> Result<Statement, tokio_postgres::Error> {
        if let Some(statement) = self.kept().get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql).await?;
        let mut kept = self.kept();
        if kept.len() >= KEPT {
            kept.clear();
        }
        kept.insert(sql.to_string(), statement.clone());
        Ok(statement)
    }
}

impl Own {
    /// A session with the pool's settings and TLS; `None` when this thread cannot drive a
    /// runtime of its own (it is inside one), and the pool serves it instead.
    pub(super) fn connect(shared: &Shared) -> Option<Result<Own, PgError>> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return None;
        }
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(e) => {
                tracing::debug!("this thread uses the pool: {e}");
                return None;
            }
        };
        let connected = runtime.block_on(shared.config.connect(shared.tls.clone()));
        Some(
            connected
                .map_err(PgError::from)
                .map(|(client, connection)| {
                    runtime.spawn(connection);
                    Own {
                        runtime: Some(runtime),
                        client,
                        statements: Mutex::default(),
                        discarded: Default::default(),
                    }
                }),
        )
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, HashMap<String, Statement>> {
        self.statements
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `work` on this connection, on the calling thread.
    pub(super) fn run<T>(&self, work: impl std::future::Future<Output = T>) -> T {
        self.runtime
            .as_ref()
            .expect("a runtime until dropped")
            .block_on(work)
    }

    /// Whether the session has ended (the server restarted, a failover) or was discarded: the
    /// next use connects again.
    pub(super) fn is_closed(&self) -> bool {
        self.client.is_closed() || self.discarded.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Lets the session go at its next use (it may be left inside a transaction).
    pub(super) fn discard(&self) {
        self.discarded
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Drop for Own {
    /// A reader may be dropped inside an async context, where a runtime cannot wait for its
    /// tasks; the connection's task needs no waiting for.
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
