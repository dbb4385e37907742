use crate::RepoError;
use crate::write_queue::{self, WriteQueue};
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// One connection type over both backends.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    /// PostgreSQL (and compatible engines).
    Postgres(PgConnection),
    /// SQLite, bundled.
    Sqlite(SqliteConnection),
}

/// Runs `$body` with `$inner` bound to the connection of the backend in use.
///
/// For queries on the per-request path only. Diesel's `MultiConnection` renders the SQL text
/// of a query on every execution, even when the prepared statement is cached (its wrapper's
/// `walk_ast` always serialises the inner query); for the session check that rendering was
/// 15 % of a request's CPU. On the backend's own connection a cached statement is found by the
/// query's type and no text is built. The body is compiled once per backend, so it must be a
/// query both accept, like every other query here.
macro_rules! on_backend {
    ($conn:expr, |$inner:ident| $body:expr) => {
        match $conn {
            $crate::DbConnection::Postgres($inner) => $body,
            $crate::DbConnection::Sqlite($inner) => $body,
        }
    };
}
pub(crate) use on_backend;

impl std::fmt::Debug for DbConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DbConnection::Postgres(_) => f.write_str("DbConnection::Postgres"),
            DbConnection::Sqlite(_) => f.write_str("DbConnection::Sqlite"),
        }
    }
}

/// Which backend a URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// `postgres://` or `postgresql://`.
    Postgres(String),
    /// `sqlite://PATH` or a bare file path; holds the path.
    Sqlite(String),
}

impl Backend {
    /// Reads the backend from a database URL. Anything with a scheme other than `sqlite`,
    /// `postgres` or `postgresql` is refused rather than guessed.
    pub fn from_url(url: &str) -> Result<Self, RepoError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres(url.to_owned()))
        } else if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                Err(RepoError::UnsupportedUrl)
            } else {
                Ok(Backend::Sqlite(path.to_owned()))
            }
        } else if url.contains("://") || url.is_empty() || url.starts_with(':') {
            Err(RepoError::UnsupportedUrl)
        } else {
            Ok(Backend::Sqlite(url.to_owned()))
        }
    }
}

/// SQLite's `synchronous` setting for WAL mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SqliteSynchronous {
    /// Every commit reaches the disk before it returns (the default: no committed
    /// state change is lost on power failure).
    #[default]
    Full,
    /// Commits survive a crash of the process but may be lost on power failure; about ten
    /// times the commit rate.
    Normal,
}

/// Pool settings.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    /// Most connections held. Default 10.
    pub max_size: u32,
    /// How long to wait for a free connection and, on SQLite, for the turn to write (see
    /// [`write`]). Default 5 s.
    pub connection_timeout: Duration,
    /// SQLite `busy_timeout`: how long SQLite polls for a lock another process holds.
    /// Default 5 s.
    pub sqlite_busy_timeout: Duration,
    /// SQLite `synchronous`. Default FULL.
    pub sqlite_synchronous: SqliteSynchronous,
    /// The key the audit trail's hash chain is computed under (see [`crate::audit`]). Without
    /// one the chain still links every event, but anyone who can write to the database can
    /// recompute it.
    pub audit_chain_key: Option<Arc<crate::audit::AuditChainKey>>,
    /// Shown every audit event once its transaction has committed (for counters that must
    /// count only what happened).
    pub audit_observer: Option<crate::audit::AuditObserver>,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_size: 10,
            connection_timeout: Duration::from_secs(5),
            sqlite_busy_timeout: Duration::from_secs(5),
            sqlite_synchronous: SqliteSynchronous::Full,
            audit_chain_key: None,
            audit_observer: None,
        }
    }
}

/// Opens connections for the pool and prepares each one (SQLite pragmas are per connection,
/// so they are set on every connection rather than assumed).
#[derive(Debug)]
pub struct Manager {
    backend: Backend,
    options: PoolOptions,
    /// The pool's SQLite writers' queue (see [`write`]).
    write_queue: Option<Arc<WriteQueue>>,
    /// Whether the last attempt to open a connection failed (shared with the [`Pool`]).
    last_connect_failed: Arc<AtomicBool>,
}

impl r2d2::ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        let opened = self.open_backend();
        self.last_connect_failed
            .store(opened.is_err(), Ordering::Relaxed);
        opened
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        use diesel::connection::TransactionManager;
        // A connection handed back by a panicking thread may still be inside a transaction
        // (Diesel does not roll back on unwinding); in the pool it would make every later
        // transaction on it a savepoint that is never committed. Drop it instead.
        std::thread::panicking()
            || in_transaction(conn)
            || <DbConnection as TransactionManager<DbConnection>>::is_broken_transaction_manager(
                conn,
            )
            // A statement on this thread found its connection gone (the server restarted,
            // the network dropped it): a lost PostgreSQL connection never comes back, and
            // outside a transaction nothing else marks it, so it would fail every request it
            // is handed until the pool retires it. One query tells.
            || (take_lost_connection_note() && self.is_valid(conn).is_err())
    }
}

impl Manager {
    /// A new connection, prepared for use.
    fn open_backend(&self) -> Result<DbConnection, diesel::r2d2::Error> {
        match &self.backend {
            Backend::Postgres(url) => {
                let mut conn =
                    PgConnection::establish(url).map_err(diesel::r2d2::Error::ConnectionError)?;
                write_queue::attach(
                    &mut conn,
                    None,
                    self.options.audit_chain_key.clone(),
                    self.options.audit_observer.clone(),
                );
                Ok(DbConnection::Postgres(conn))
            }
            Backend::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(path)
                    .map_err(diesel::r2d2::Error::ConnectionError)?;
                let synchronous = match self.options.sqlite_synchronous {
                    SqliteSynchronous::Full => "FULL",
                    SqliteSynchronous::Normal => "NORMAL",
                };
                // journal_mode is set once per file in `Pool::connect`: it is persistent, and
                // switching it takes a lock that parallel connection setup would fight over.
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {}; PRAGMA synchronous = {synchronous}; \
                     PRAGMA foreign_keys = ON;",
                    self.options.sqlite_busy_timeout.as_millis()
                ))
                .map_err(diesel::r2d2::Error::QueryError)?;
                write_queue::attach(
                    &mut conn,
                    self.write_queue.clone(),
                    self.options.audit_chain_key.clone(),
                    self.options.audit_observer.clone(),
                );
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

/// A pooled connection.
pub type PooledConnection = r2d2::PooledConnection<Manager>;

/// How long a request waits for a connection while the database cannot be reached (the last
/// attempt to open a connection failed), instead of the pool's whole timeout: during an
/// outage every request would otherwise hold a thread for the timeout and stall the server.
const UNREACHABLE_WAIT: Duration = Duration::from_millis(250);

/// A pool of connections to one database.
#[derive(Clone, Debug)]
pub struct Pool {
    inner: r2d2::Pool<Manager>,
    backend_name: &'static str,
    connection_timeout: Duration,
    /// Whether the last attempt to open a connection failed (set by the [`Manager`]).
    last_connect_failed: Arc<AtomicBool>,
    /// On SQLite, the database file as the pool opened it.
    sqlite_file: Option<OpenedFile>,
}

/// A file as it was when opened: its path, and where its contents live (device and inode on
/// Unix), to tell later whether the path still names the same file.
#[derive(Clone, Debug, PartialEq, Eq)]
struct OpenedFile {
    path: std::path::PathBuf,
    identity: FileIdentity,
}

#[cfg(unix)]
type FileIdentity = (u64, u64);
#[cfg(not(unix))]
type FileIdentity = ();

fn file_identity(path: &std::path::Path) -> std::io::Result<FileIdentity> {
    let metadata = std::fs::metadata(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Ok((metadata.dev(), metadata.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = metadata;
        Ok(())
    }
}

impl Pool {
    /// Opens a pool on `url` (see [`Backend::from_url`]). For SQLite, the file's folder is
    /// created if missing.
    pub fn connect(url: &str, options: &PoolOptions) -> Result<Self, RepoError> {
        let backend = Backend::from_url(url)?;
        let mut write_queue = None;
        let mut sqlite_file = None;
        let last_connect_failed = Arc::new(AtomicBool::new(false));
        let backend_name = match &backend {
            Backend::Postgres(_) => "postgres",
            Backend::Sqlite(path) => {
                if let Some(parent) = std::path::Path::new(path).parent()
                    && !parent.as_os_str().is_empty()
                {
                    std::fs::create_dir_all(parent).map_err(|e| {
                        RepoError::Connection(format!(
                            "cannot create the folder {}: {e}",
                            parent.display()
                        ))
                    })?;
                }
                let mut conn = SqliteConnection::establish(path)
                    .map_err(|e| RepoError::Connection(e.to_string()))?;
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL;",
                    options.sqlite_busy_timeout.as_millis()
                ))?;
                let path = std::path::PathBuf::from(path);
                let identity = file_identity(&path)
                    .map_err(|e| RepoError::Connection(format!("{}: {e}", path.display())))?;
                sqlite_file = Some(OpenedFile { path, identity });
                write_queue = Some(WriteQueue::new(options.connection_timeout));
                "sqlite"
            }
        };
        let inner = r2d2::Pool::builder()
            .max_size(options.max_size)
            .connection_timeout(options.connection_timeout)
            .test_on_check_out(false)
            .build(Manager {
                backend,
                options: options.clone(),
                write_queue,
                last_connect_failed: Arc::clone(&last_connect_failed),
            })?;
        Ok(Self {
            inner,
            backend_name,
            connection_timeout: options.connection_timeout,
            last_connect_failed,
            sqlite_file,
        })
    }

    /// A connection, waiting up to the pool's timeout; while the database cannot be reached,
    /// only briefly, and then failing with [`RepoError::Unreachable`].
    pub fn get(&self) -> Result<PooledConnection, RepoError> {
        let unreachable = || self.last_connect_failed.load(Ordering::Relaxed);
        let got = if unreachable() {
            self.inner
                .get_timeout(UNREACHABLE_WAIT.min(self.connection_timeout))
        } else {
            self.inner.get()
        };
        got.map_err(|error| {
            if unreachable() {
                RepoError::Unreachable(error)
            } else {
                RepoError::Pool(error)
            }
        })
    }

    /// On SQLite, checks that the database's path still names the file the pool opened: a
    /// file moved away or replaced while the server runs leaves every connection on the old
    /// file, whose changes nobody will see again. Always `Ok` on PostgreSQL.
    pub fn check_database_file(&self) -> Result<(), RepoError> {
        let Some(opened) = &self.sqlite_file else {
            return Ok(());
        };
        match file_identity(&opened.path) {
            Ok(identity) if identity == opened.identity => Ok(()),
            Ok(_) => Err(RepoError::DatabaseFileChanged(format!(
                "{} is another file than the one opened at start",
                opened.path.display()
            ))),
            Err(error) => Err(RepoError::DatabaseFileChanged(format!(
                "{}: {error}",
                opened.path.display()
            ))),
        }
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend_name(&self) -> &'static str {
        self.backend_name
    }

    /// Connections open and idle, for metrics.
    pub fn state(&self) -> r2d2::State {
        self.inner.state()
    }
}

/// Runs the embedded migrations of the connection's backend that have not run yet.
/// Returns how many ran.
pub fn run_migrations(conn: &mut DbConnection) -> Result<usize, RepoError> {
    let result = match conn {
        DbConnection::Postgres(pg) => pg
            .run_pending_migrations(POSTGRES_MIGRATIONS)
            .map(|v| v.len()),
        DbConnection::Sqlite(sqlite) => sqlite
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(|v| v.len()),
    };
    result.map_err(|e| RepoError::Migration(e.to_string()))
}

/// Reverts every applied migration, newest first, running each one's `down.sql`; answers how
/// many were reverted. For tests of the migrations themselves: it drops every table.
pub fn revert_all_migrations(conn: &mut DbConnection) -> Result<usize, RepoError> {
    let result = match conn {
        DbConnection::Postgres(pg) => pg
            .revert_all_migrations(POSTGRES_MIGRATIONS)
            .map(|v| v.len()),
        DbConnection::Sqlite(sqlite) => sqlite
            .revert_all_migrations(SQLITE_MIGRATIONS)
            .map(|v| v.len()),
    };
    result.map_err(|e| RepoError::Migration(e.to_string()))
}

/// Checks that the database answers.
pub fn ping(conn: &mut DbConnection) -> Result<(), RepoError> {
    Ok(conn.batch_execute("SELECT 1")?)
}

/// Runs an insert in its own savepoint (a nested transaction), answering `Ok(false)` when it
/// hits a unique constraint. Inside a larger transaction this matters on PostgreSQL: a failed
/// statement aborts the whole transaction unless it ran in a savepoint, so "insert, and on
/// conflict update instead" would otherwise fail at the update.
pub fn insert_unless_conflict(
    conn: &mut DbConnection,
    insert: impl FnOnce(&mut DbConnection) -> Result<usize, diesel::result::Error>,
) -> Result<bool, RepoError> {
    let inserted = write(conn, |conn| {
        conn.transaction(insert).map_err(Into::<RepoError>::into)
    });
    match inserted {
        Ok(_) => Ok(true),
        Err(error) => {
            if error.is_unique_violation() {
                Ok(false)
            } else {
                Err(error)
            }
        }
    }
}

/// Most attempts of a transaction that keeps hitting serialization failures.
const MAX_TRANSACTION_ATTEMPTS: u32 = 5;

/// Runs `work` in one transaction, running it again (up to 5 times in all, with a short
/// growing pause) when the database reports a serialization failure or a busy SQLite file.
/// On SQLite the transaction waits for its turn to write (see the `write_queue` module) and
/// takes the write lock before anything else, so a transaction that reads before it writes
/// waits for other writers instead of failing.
/// `work` must therefore be safe to run more than once: it should only touch the database.
///
/// Audit events appended inside are linked into the audit trail's hash chain just before the
/// commit (see [`crate::audit`]).
pub fn transaction<T, E>(
    conn: &mut DbConnection,
    mut work: impl FnMut(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<RepoError> + From<diesel::result::Error> + RetryableError,
{
    if IN_READ_SNAPSHOT.with(std::cell::Cell::get) {
        return Err(E::from(RepoError::WriteInReadSnapshot));
    }
    if in_transaction(conn) {
        // Nested: a savepoint, run once. A serialization failure dooms the whole outer
        // transaction, so only the outermost level may run the work again.
        let outcome = conn.transaction(|conn| crate::audit::sealed_on_success(conn, &mut work));
        crate::audit::after_transaction(conn, outcome.is_ok());
        return outcome;
    }
    let mut attempt = 1;
    loop {
        let outcome = write(conn, |conn| {
            conn.transaction(|conn| {
                if matches!(conn, DbConnection::Sqlite(_)) {
                    // Take SQLite's write lock first (see the write_gate migration).
                    diesel::sql_query("UPDATE write_gate SET id = id").execute(conn)?;
                }
                crate::audit::sealed_on_success(conn, &mut work)
            })
        });
        crate::audit::after_transaction(conn, outcome.is_ok());
        match outcome {
            Err(error) if error.is_retryable() && attempt < MAX_TRANSACTION_ATTEMPTS => {
                tracing::debug!(attempt, "transaction conflict, retrying");
                std::thread::sleep(Duration::from_millis(u64::from(attempt) * 5));
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Runs `work`, which writes, in its database's turn: on a SQLite connection from a [`Pool`],
/// it first waits for the other threads writing to the database to finish, in the order they
/// came (see the `write_queue` module for why SQLite's own waiting is not enough). A thread
/// already in turn (inside [`transaction`], or a write function calling another) goes on. On
/// PostgreSQL, and on connections opened outside a pool, `work` just runs.
///
/// Every statement that writes goes through here or through [`transaction`]. Waiting longer
/// than the pool's connection timeout (the patience for any of the pool's shared resources)
/// fails with [`RepoError::WriteQueueTimeout`].
pub(crate) fn write<T, E>(
    conn: &mut DbConnection,
    work: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<RepoError>,
{
    let queue = write_queue::of(conn);
    match queue {
        Some(queue) => queue.in_turn(|| work(conn)),
        None => work(conn),
    }
}

/// Runs read-only `work` on one snapshot. On SQLite that is one read transaction: its locks
/// are taken once, not once per statement (the database file's and the WAL index's locks are
/// system calls, the largest cost of a small read there). On PostgreSQL each statement keeps
/// its own snapshot, as before: `BEGIN` and `COMMIT` would cost two more round trips. Inside a
/// transaction or another snapshot on this thread, `work` just runs.
///
/// The read transaction's `BEGIN` and `COMMIT` are prepared statements kept in the
/// connection's statement cache: Diesel's transaction manager would parse and plan them again
/// on every call, a twentieth of a small read's time. A connection whose `COMMIT` fails is in
/// an unknown state, so it is marked broken and the pool drops it.
///
/// `work` must not write: SQLite could not upgrade the read transaction to the write lock
/// that [`transaction`] takes first. [`transaction`] refuses to start inside it, on both
/// backends, so the tests of either catch the mistake.
pub fn read_snapshot<T, E>(
    conn: &mut DbConnection,
    work: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<RepoError>,
{
    let reading = ReadSnapshotGuard::enter();
    if reading.outer || !matches!(conn, DbConnection::Sqlite(_)) || in_transaction(conn) {
        return work(conn);
    }
    run_statement(conn, Begin).map_err(|e| E::from(e.into()))?;
    let outcome = work(conn);
    if let Err(error) = run_statement(conn, Commit) {
        use diesel::connection::TransactionManager;
        <DbConnection as TransactionManager<DbConnection>>::transaction_manager_status_mut(conn)
            .set_in_error();
        return outcome.and(Err(E::from(error.into())));
    }
    outcome
}

/// Runs a fixed statement through the connection's statement cache.
fn run_statement<S>(conn: &mut DbConnection, statement: S) -> QueryResult<()>
where
    S: diesel::query_builder::QueryFragment<diesel::sqlite::Sqlite>
        + diesel::query_builder::QueryFragment<diesel::pg::Pg>
        + diesel::query_builder::QueryId
        + RunQueryDsl<SqliteConnection>
        + RunQueryDsl<PgConnection>,
{
    on_backend!(conn, |inner| statement.execute(inner)).map(|_| ())
}

/// A fixed SQL statement as a type of its own: Diesel caches a prepared statement by its
/// query's type, and prepares any other query (`sql_query` included) on every call.
macro_rules! fixed_statement {
    ($name:ident, $sql:literal) => {
        #[derive(Debug, Clone, Copy, diesel::query_builder::QueryId)]
        struct $name;

        impl<DB: diesel::backend::Backend> diesel::query_builder::QueryFragment<DB> for $name {
            fn walk_ast<'b>(
                &'b self,
                mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
            ) -> QueryResult<()> {
                out.push_sql($sql);
                Ok(())
            }
        }

        impl<Conn> RunQueryDsl<Conn> for $name {}
    };
}

// SQLite's `BEGIN` is deferred: it takes the read lock at the first read.
fixed_statement!(Begin, "BEGIN");
fixed_statement!(Commit, "COMMIT");

thread_local! {
    /// Set when a statement on this thread found its connection lost (see
    /// `Manager::has_broken`), until the connection is handed back.
    static LOST_CONNECTION: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Notes that a statement on this thread found its connection gone.
pub(crate) fn note_lost_connection() {
    LOST_CONNECTION.with(|lost| lost.set(true));
}

/// Whether a lost connection was noted on this thread since the last call.
fn take_lost_connection_note() -> bool {
    LOST_CONNECTION.with(|lost| lost.replace(false))
}

thread_local! {
    /// Set while this thread runs the work of a [`read_snapshot`].
    static IN_READ_SNAPSHOT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Marks the thread as inside a read snapshot until dropped (nested snapshots restore the
/// outer one's mark).
struct ReadSnapshotGuard {
    /// Whether this thread was inside a snapshot already.
    outer: bool,
}

impl ReadSnapshotGuard {
    fn enter() -> Self {
        ReadSnapshotGuard {
            outer: IN_READ_SNAPSHOT.with(|flag| flag.replace(true)),
        }
    }
}

impl Drop for ReadSnapshotGuard {
    fn drop(&mut self) {
        IN_READ_SNAPSHOT.with(|flag| flag.set(self.outer));
    }
}

/// Whether a transaction is open on the connection.
fn in_transaction(conn: &mut DbConnection) -> bool {
    use diesel::connection::TransactionManager;
    let depth =
        <DbConnection as TransactionManager<DbConnection>>::transaction_manager_status_mut(conn)
            .transaction_depth();
    // A broken transaction manager reports an error: treat it as open, so nothing is retried
    // on a connection in an unknown state.
    !matches!(depth, Ok(None))
}

/// Errors that can say whether the transaction that raised them may succeed on a retry.
pub trait RetryableError {
    /// See [`RepoError::is_retryable`].
    fn is_retryable(&self) -> bool;
}

impl RetryableError for RepoError {
    fn is_retryable(&self) -> bool {
        RepoError::is_retryable(self)
    }
}

impl From<diesel::r2d2::Error> for RepoError {
    fn from(error: diesel::r2d2::Error) -> Self {
        match error {
            diesel::r2d2::Error::QueryError(e) => e.into(),
            diesel::r2d2::Error::ConnectionError(e) => RepoError::Connection(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_from_url() {
        assert_eq!(
            Backend::from_url("sqlite://./data/assent.db").unwrap(),
            Backend::Sqlite("./data/assent.db".into())
        );
        assert_eq!(
            Backend::from_url("/var/lib/assent.db").unwrap(),
            Backend::Sqlite("/var/lib/assent.db".into())
        );
        assert!(matches!(
            Backend::from_url("postgres://u@h/db").unwrap(),
            Backend::Postgres(_)
        ));
        assert!(matches!(
            Backend::from_url("postgresql://u@h/db").unwrap(),
            Backend::Postgres(_)
        ));
        assert!(Backend::from_url("mysql://u@h/db").is_err());
        assert!(Backend::from_url("sqlite://").is_err());
        assert!(Backend::from_url(":memory:").is_err());
        assert!(Backend::from_url("").is_err());
    }
}
