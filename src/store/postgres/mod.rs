//! The PostgreSQL store: the store an organisation grows into, where several `opsdeck serve`
//! replicas share one database. The same rows, chain and query language as SQLite's, through
//! `tokio-postgres` with a `deadpool-postgres` pool, on a small runtime of its own so that the
//! engine's thread and the read threads call it as they call SQLite: synchronously.
//!
//! Every write runs in one READ COMMITTED transaction that first takes the `head` row
//! `FOR UPDATE`: writers on every replica queue there, and whoever holds it reads the newest
//! committed end of the event log and the trail, so `seq` stays gapless and the chain unbroken
//! whichever replica writes. After a commit that appended events, a payload-free `NOTIFY` rings
//! the other replicas' doorbell (outside the transaction: a lost notification only delays them
//! until their next poll).
//!
//! Every connection goes through TLS when the URL's `sslmode` allows it (see [`tls`]).

mod dump;
mod entities;
mod error;
mod own;
mod pipeline;
mod schema;
mod search;
mod sessions;
mod tls;
mod trail;
mod tx;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{ClientWrapper, Manager, ManagerConfig, Pool, RecyclingMethod};

pub use error::PgError;
pub use schema::SCHEMA_VERSION as PG_SCHEMA_VERSION;
pub use sessions::{ClockLease, Doorbell};
pub use tls::{CaFile, PgAccess};
pub use tx::PgWriteTx;

use super::{Head, Location, StoreError, Verification};
use crate::model::{AuditRecord, Event, LiveWindow, State};
use crate::query::{AuditFilter, Item, Listing};

/// The channel replicas ring after a commit that appended events.
pub const DOORBELL: &str = "opsdeck_events";

/// Connections a store keeps: the writer, the read threads, the clock's lock and a margin.
const POOL_SIZE: usize = 8;

/// What a store and its readers share: the pool, and the runtime its connections run on.
pub(super) struct Shared {
    pool: Pool,
    /// Always `Some` until dropped (see `Drop`).
    runtime: Option<tokio::runtime::Runtime>,
    location: Location,
    config: tokio_postgres::Config,
    /// How the pool's connections and the sessions of their own make their TLS sessions.
    tls: tls::Tls,
}

/// What `doctor` finds in a database, read-only.
#[derive(Debug)]
pub struct PgInspection {
    pub location: String,
    pub server: String,
    /// The session's TLS as the server sees it (`TLSv1.3 TLS_AES_256_GCM_SHA384`, and what the
    /// certificate was checked against), `None` when it is not encrypted.
    pub tls: Option<String>,
    /// 0: no opsdeck schema yet.
    pub schema_version: i64,
    pub audit: Option<Verification>,
}

impl Shared {
    /// A pool for the database at `url` (its password and CA given apart), on a runtime of its
    /// own; nothing is connected until first used.
    fn open(url: &str, access: &PgAccess) -> Result<Shared, StoreError> {
        let mut config = parse_url(url).map_err(|why| StoreError::Unusable {
            location: Location::Postgres("(store URL)".into()),
            why,
        })?;
        if let Some(password) = &access.password {
            config.password(password);
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        plan_for_storage_without_seeks(&mut config);
        let location = Location::Postgres(describe(&config));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("opsdeck-pg")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Unusable {
                location: location.clone(),
                why: format!("cannot start the database client's runtime: {e}"),
            })?;
        let tls = tls::connector(&config, access.ca.as_ref());
        let manager = Manager::from_config(
            config.clone(),
            tls.clone(),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(30)))
            .create_timeout(Some(Duration::from_secs(10)))
            .build()
            .map_err(|e| StoreError::Unusable {
                location: location.clone(),
                why: format!("cannot build the connection pool: {e}"),
            })?;
        Ok(Shared {
            pool,
            runtime: Some(runtime),
            location,
            config,
            tls,
        })
    }

    /// Runs `work` to its end on the store's runtime, from any thread: one inside another
    /// runtime hands it to a thread of its own (a runtime cannot block inside another).
    fn block<F>(&self, work: F) -> F::Output
    where
        F: Future + Send,
        F::Output: Send,
    {
        let runtime = self.runtime.as_ref().expect("a runtime until dropped");
        if tokio::runtime::Handle::try_current().is_ok() {
            std::thread::scope(|s| {
                s.spawn(|| runtime.block_on(work))
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
        } else {
            runtime.block_on(work)
        }
    }

    fn err(&self, e: PgError) -> StoreError {
        match e.at(&self.location) {
            // A URL without sslmode never asked for TLS: say how to do without it.
            StoreError::Tls { location, detail }
                if self.config.get_ssl_mode() == tokio_postgres::config::SslMode::Prefer =>
            {
                StoreError::Tls {
                    location,
                    detail: format!(
                        "{detail} (the URL's sslmode is prefer, the default: TLS whenever the server offers it; sslmode=disable connects without it)"
                    ),
                }
            }
            other => other,
        }
    }
}

impl Drop for Shared {
    /// The pool's connections close with the runtime, which may be dropped inside another
    /// runtime (a store dropped in async code), where waiting for its threads is not allowed.
    fn drop(&mut self) {
        self.pool.close();
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Runs `$body` with `$c` a pooled connection, on the store's runtime, mapping its errors.
macro_rules! with_client {
    ($shared:expr, |$c:ident| $body:expr) => {{
        let shared: &Shared = &$shared;
        shared
            .block(async {
                let object = shared.pool.get().await?;
                let $c: &ClientWrapper = &object;
                $body.await
            })
            .map_err(|e: PgError| shared.err(e))
    }};
}

/// Runs `$body` with `$c` this reader's own session when it has one (connecting it at first
/// use), else a pooled connection. A session found closed after a read (the server restarted,
/// a failover) is let go, and the read, which changes nothing, is tried once more on a new one.
macro_rules! read {
    ($reader:expr, |$c:ident| $body:expr) => {{
        let reader: &PgReader = &$reader;
        match reader.own() {
            Some(Ok(mut session)) => {
                let mut retried = false;
                loop {
                    let result = match session.as_ref() {
                        Some($c) => $c.run($body),
                        None => unreachable!("own() connects the session it returns"),
                    }
                    .map_err(|e: PgError| reader.shared.err(e));
                    let ended = matches!(result, Err(StoreError::Unreachable { .. }))
                        || session.as_ref().is_some_and(|c| c.is_closed());
                    if !ended {
                        break result;
                    }
                    *session = None;
                    if retried || result.is_ok() {
                        break result;
                    }
                    retried = true;
                    match own::Own::connect(&reader.shared) {
                        Some(Ok(connected)) => *session = Some(connected),
                        Some(Err(e)) => break Err(reader.shared.err(e)),
                        None => break result,
                    }
                }
            }
            Some(Err(e)) => Err(reader.shared.err(e)),
            None => with_client!(reader.shared, |$c| $body),
        }
    }};
}

/// Records fetched per page of a streamed walk (exports, `each_audit`).
const PAGE: usize = 2_000;

/// The trail's `(field, seq)` indexes meet the heap in seq order, but PostgreSQL's default
/// `random_page_cost` (4, priced for disks that seek) counts every row they lead to as a random
/// read, so the planner walks the whole trail backwards rather than one field's index:
/// `type:decision budget` read 1,020 rows where 500 do, at 1.5× the time. 1.1 is the value
/// PostgreSQL's manual gives for storage without seeks. Options the URL gives come after, and
/// win.
fn plan_for_storage_without_seeks(config: &mut tokio_postgres::Config) {
    let theirs = config.get_options().unwrap_or("").to_string();
    config.options(format!("-c random_page_cost=1.1 {theirs}").trim_end());
}

/// Where a store URL points, without its password: for messages, `doctor` and the header.
fn describe(config: &tokio_postgres::Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "postgres://{}@{host}:{port}/{}",
        config.get_user().unwrap_or(""),
        config.get_dbname().unwrap_or("")
    )
}

/// Whether `text` names a PostgreSQL store rather than a file.
pub fn is_url(text: &str) -> bool {
    text.starts_with("postgres://") || text.starts_with("postgresql://")
}

/// A store URL checked: it parses, and it carries no password (a password on a command line or
/// in a config file is readable by others; it comes from an environment variable or a file).
pub fn parse_url(url: &str) -> Result<tokio_postgres::Config, String> {
    // libpq's verify-ca and verify-full ask for what prefer and require do here (the server's
    // certificate and host name are always checked when TLS is used); the URL parser knows
    // only disable, prefer and require.
    let url = &url
        .replace("sslmode=verify-full", "sslmode=require")
        .replace("sslmode=verify-ca", "sslmode=require");
    let config: tokio_postgres::Config = url.parse().map_err(|e| {
        format!(
            "{:?} is not a PostgreSQL URL ({e}); write it as postgres://USER@HOST:PORT/DATABASE",
            url.split('@').next_back().unwrap_or("")
        )
    })?;
    if config.get_password().is_some() {
        return Err(
            "the store URL carries a password, which others can read on a command line or in a config file; remove it from the URL and put it in OPSDECK_STORE_PASSWORD or a file named by [store] password_file"
                .into(),
        );
    }
    Ok(config)
}

pub struct PgStore {
    shared: Arc<Shared>,
    /// The engine thread's own session for its transactions and catch-up reads (see [`own`]):
    /// a write under the head's lock then waits for no handoff between threads.
    session: PgReader,
}

impl PgStore {
    /// Connects to the database at `url` (a password, if any, given apart; TLS checked against
    /// the platform's roots), refuses one from a newer opsdeck or someone else's, and migrates
    /// it to this binary's schema.
    pub fn connect(url: &str, password: Option<&str>) -> Result<PgStore, StoreError> {
        PgStore::connect_with(url, &PgAccess::password(password))
    }

    /// [`PgStore::connect`] with the password and the CA file given apart.
    pub fn connect_with(url: &str, access: &PgAccess) -> Result<PgStore, StoreError> {
        let shared = Arc::new(Shared::open(url, access)?);
        with_client!(shared, |c| schema::migrate(c))?;
        let session = PgReader {
            shared: shared.clone(),
            own: Some(Box::default()),
        };
        Ok(PgStore { shared, session })
    }

    /// Looks at the database without changing it (`doctor`): the server's version, the schema
    /// it holds, and the audit chain verified when there is one.
    pub fn inspect(url: &str, access: &PgAccess) -> Result<PgInspection, StoreError> {
        let shared = Shared::open(url, access)?;
        with_client!(shared, |c| async {
            let server = schema::server_version(c).await?;
            let row = c
                .query_one(
                    "SELECT ssl, coalesce(version, ''), coalesce(cipher, '') FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                    &[],
                )
                .await?;
            let tls = row.get::<_, bool>(0).then(|| {
                let against = match &access.ca {
                    Some(ca) => ca.path().display().to_string(),
                    None => "the platform's CA certificates".into(),
                };
                format!(
                    "{} {}, certificate checked against {against}",
                    row.get::<_, String>(1),
                    row.get::<_, String>(2)
                )
            });
            let schema_version = schema::check(c).await?;
            let audit = match schema_version {
                0 => None,
                _ => Some(trail::verify(c).await?),
            };
            Ok(PgInspection {
                location: shared.location.to_string(),
                server,
                tls,
                schema_version,
                audit,
            })
        })
    }

    pub fn location(&self) -> &Location {
        &self.shared.location
    }

    /// The connection settings (the clock's lock and the doorbell hold connections of their own).
    pub fn config(&self) -> &tokio_postgres::Config {
        &self.shared.config
    }

    /// A doorbell rung by other replicas' commits (a session of its own).
    pub fn doorbell(&self) -> Doorbell {
        Doorbell::start(self.shared.config.clone(), self.shared.tls.clone())
    }

    /// The clock's lease: held by exactly one replica at a time (a session of its own).
    pub fn clock_lease(&self) -> ClockLease {
        ClockLease::start(self.shared.config.clone(), self.shared.tls.clone())
    }

    /// The server's version and the schema the database holds, for `doctor`.
    pub fn describe_server(&self) -> Result<(String, i64), StoreError> {
        with_client!(self.shared, |c| async {
            Ok((schema::server_version(c).await?, schema::check(c).await?))
        })
    }

    pub fn load(&mut self, window: &LiveWindow) -> Result<(State, Head), StoreError> {
        with_client!(self.shared, |c| async {
            // One snapshot for the head and the live set: a commit elsewhere between the two
            // reads would leave the state and its seq apart.
            c.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .await?;
            let loaded = async {
                let head = entities::head(c, false).await?;
                let state = entities::load_state(c, &head, window).await?;
                Ok::<_, PgError>((state, head))
            }
            .await;
            let end = if loaded.is_ok() { "COMMIT" } else { "ROLLBACK" };
            c.batch_execute(end).await?;
            loaded
        })
    }

    /// The head, the events after `since` and the metrics in one snapshot and one round trip.
    pub fn missed(&self, since: u64) -> Result<super::Missed, StoreError> {
        read!(self.session, |c| entities::missed(c, since))
    }

    pub fn metrics(&self) -> Result<crate::model::Metrics, StoreError> {
        read!(self.session, |c| async {
            Ok(entities::get_meta(c, "metrics").await?.unwrap_or_default())
        })
    }

    pub fn head(&self) -> Result<Head, StoreError> {
        read!(self.session, |c| entities::head(c, false))
    }

    pub fn write(&mut self, ahead: &super::Ahead) -> Result<PgWriteTx<'_>, StoreError> {
        let own = self.session.session_mut()?;
        PgWriteTx::begin(&self.shared, own, ahead)
    }

    pub fn events_since(&self, since: u64, limit: usize) -> Result<Option<Vec<Event>>, StoreError> {
        with_client!(self.shared, |c| entities::events_since(c, since, limit))
    }

    pub fn verify_audit(&self) -> Result<Verification, StoreError> {
        with_client!(self.shared, |c| trail::verify(c))
    }

    pub fn audit_last_stored(&self) -> Result<(u64, String), StoreError> {
        with_client!(self.shared, |c| trail::last(c))
    }

    pub fn audit_hash_at(&self, seq: u64) -> Result<Option<String>, StoreError> {
        with_client!(self.shared, |c| trail::hash_at(c, seq))
    }

    pub fn audit_origin(&self, seq: u64) -> Result<Option<(String, u64)>, StoreError> {
        with_client!(self.shared, |c| trail::origin(c, seq))
    }

    pub fn entity_page(
        &self,
        table: crate::store::copy::Table,
        after: i64,
        n: usize,
    ) -> Result<Vec<(i64, String, String)>, StoreError> {
        with_client!(self.shared, |c| dump::entity_page(c, table, after, n))
    }

    pub fn audit_rows(
        &self,
        after: u64,
        n: usize,
    ) -> Result<Vec<crate::store::copy::AuditRow>, StoreError> {
        with_client!(self.shared, |c| dump::audit_rows(c, after, n))
    }

    pub fn purge_seqs(&self) -> Result<Vec<u64>, StoreError> {
        with_client!(self.shared, |c| dump::purge_seqs(c))
    }

    pub fn origins(&self) -> Result<Vec<crate::store::copy::OriginRow>, StoreError> {
        with_client!(self.shared, |c| dump::origins(c))
    }

    pub fn answer_rows(
        &self,
        after: &(String, String),
        n: usize,
    ) -> Result<Vec<crate::store::copy::AnswerRow>, StoreError> {
        with_client!(self.shared, |c| dump::answer_rows(c, after, n))
    }

    /// Reads on the pool's connections, from any thread.
    pub fn reader(&self) -> PgReader {
        PgReader {
            shared: self.shared.clone(),
            own: None,
        }
    }

    /// Reads for the read threads: each clone connects a session of its own at its first read
    /// (see [`own`]), and uses the pool when it is called inside a runtime or from two threads
    /// at once.
    pub fn thread_reader(&self) -> PgReader {
        PgReader {
            shared: self.shared.clone(),
            own: Some(Box::default()),
        }
    }

    /// Every record in seq order, a page at a time, until the visitor returns false.
    pub fn each_audit(&self, visit: &mut dyn FnMut(AuditRecord) -> bool) -> Result<(), StoreError> {
        self.reader().each_matching(&AuditFilter::default(), visit)
    }
}

/// Reads beside the writer: searches, counts, listings.
pub struct PgReader {
    shared: Arc<Shared>,
    /// The session of a read thread's own, once connected; `None` for a reader on the pool.
    own: Option<Box<std::sync::Mutex<Option<own::Own>>>>,
}

impl Clone for PgReader {
    /// A clone connects a session of its own too, never shares this one.
    fn clone(&self) -> PgReader {
        PgReader {
            shared: self.shared.clone(),
            own: self.own.as_ref().map(|_| Box::default()),
        }
    }
}

impl PgReader {
    /// This reader's own session, connected; `None` when the pool serves this read: a reader
    /// on the pool, a caller inside a runtime, or a session another thread is using.
    fn own(&self) -> Option<Result<std::sync::MutexGuard<'_, Option<own::Own>>, PgError>> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return None;
        }
        let mut session = self.own.as_ref()?.try_lock().ok()?;
        if session.as_ref().is_some_and(|s| s.is_closed()) {
            *session = None;
        }
        if session.is_none() {
            match own::Own::connect(&self.shared)? {
                Ok(connected) => *session = Some(connected),
                Err(e) => return Some(Err(e)),
            }
        }
        Some(Ok(session))
    }

    /// The own session for a write transaction on the calling thread, connected now if need
    /// be; `None` when the pool serves it (a reader on the pool, a caller inside a runtime).
    fn session_mut(&mut self) -> Result<Option<&own::Own>, StoreError> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Ok(None);
        }
        let Some(own) = self.own.as_mut() else {
            return Ok(None);
        };
        let session = own
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if session.as_ref().is_some_and(|s| s.is_closed()) {
            *session = None;
        }
        if session.is_none() {
            match own::Own::connect(&self.shared) {
                None => return Ok(None),
                Some(connected) => {
                    *session = Some(connected.map_err(|e| self.shared.err(e))?);
                }
            }
        }
        Ok(session.as_ref())
    }

    pub fn search_audit(
        &self,
        filter: &AuditFilter,
        before_seq: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        read!(self, |c| search::search(c, filter, before_seq, limit))
    }

    pub fn count_audit(&self, filter: &AuditFilter, cap: u64) -> Result<(u64, bool), StoreError> {
        read!(self, |c| search::count(c, filter, cap))
    }

    /// Matching records oldest first, a page at a time, until the visitor returns false.
    pub fn each_matching(
        &self,
        filter: &AuditFilter,
        visit: &mut dyn FnMut(AuditRecord) -> bool,
    ) -> Result<(), StoreError> {
        let mut after = 0;
        loop {
            let page = read!(self, |c| search::page_matching(c, filter, after, PAGE))?;
            let Some(last) = page.last().map(|r| r.seq) else {
                return Ok(());
            };
            for record in page {
                if !visit(record) {
                    return Ok(());
                }
            }
            after = last;
        }
    }

    pub fn audit_record(&self, seq: u64) -> Result<Option<AuditRecord>, StoreError> {
        read!(self, |c| trail::at(c, seq))
    }

    pub fn list<T: Item>(&self, listing: &Listing) -> Result<Vec<T>, StoreError> {
        read!(self, |c| entities::list::<T>(c, listing))
    }

    pub fn item<T: Item>(&self, id: &str) -> Result<Option<T>, StoreError> {
        read!(self, |c| entities::by_id::<T>(c, id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_plan_for_storage_without_seeks_unless_the_url_says_otherwise() {
        let mut ours = parse_url("postgres://opsdeck@db/opsdeck").unwrap();
        plan_for_storage_without_seeks(&mut ours);
        assert_eq!(ours.get_options(), Some("-c random_page_cost=1.1"));
        // PostgreSQL applies a session's options in order: the URL's, after ours, win.
        let mut theirs =
            parse_url("postgres://opsdeck@db/opsdeck?options=-c%20random_page_cost%3D4").unwrap();
        plan_for_storage_without_seeks(&mut theirs);
        assert_eq!(
            theirs.get_options(),
            Some("-c random_page_cost=1.1 -c random_page_cost=4")
        );
    }
}
