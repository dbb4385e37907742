use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// What can go wrong in storage. Messages may hold SQL details: log them, never send them.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// The database refused or failed a statement.
    #[error("database error: {0}")]
    Database(#[source] DieselError),
    /// No connection could be had from the pool in time.
    #[error("connection pool: {0}")]
    Pool(#[from] r2d2::Error),
    /// A connection could not be opened.
    #[error("cannot connect: {0}")]
    Connection(String),
    /// No connection could be had from the pool in time, and the last attempt to open one
    /// failed: the database cannot be reached.
    #[error("database unreachable: {0}")]
    Unreachable(#[source] r2d2::Error),
    /// A conditional update kept losing to concurrent writers of the same row.
    #[error("too much contention on {0}")]
    Contention(&'static str),
    /// The database URL names no supported backend.
    #[error("unsupported database URL (use sqlite://PATH, a file path, or postgres://...)")]
    UnsupportedUrl,
    /// The SQLite database's path no longer names the file opened at start (moved away,
    /// deleted or replaced).
    #[error("database file changed: {0}")]
    DatabaseFileChanged(String),
    /// Running the embedded migrations failed.
    #[error("migrations failed: {0}")]
    Migration(String),
    /// A transaction was started inside a read snapshot (a programming error: the work
    /// handed to `read_snapshot` must only read).
    #[error("a write transaction inside a read snapshot")]
    WriteInReadSnapshot,
    /// A writer waited longer than the pool's connection timeout for its turn to write.
    #[error("timed out waiting for the turn to write to the database")]
    WriteQueueTimeout,
    /// A stored row could not be turned into a domain value.
    #[error("corrupt row in {table}: {reason}")]
    CorruptRow {
        /// The table.
        table: &'static str,
        /// What was wrong.
        reason: String,
    },
}

impl RepoError {
    /// Whether the error is a unique-constraint violation (a lost race for a unique value).
    pub fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            RepoError::Database(DieselError::DatabaseError(
                DatabaseErrorKind::UniqueViolation,
                _
            ))
        )
    }

    /// Whether the database was too busy to serve the request in time: no free connection
    /// (or none could be opened) within the pool's timeout, no turn to write, contention that
    /// outlasted the retries. The caller may try again shortly; nothing was changed.
    pub fn is_busy(&self) -> bool {
        matches!(
            self,
            RepoError::Pool(_) | RepoError::WriteQueueTimeout | RepoError::Contention(_)
        ) || self.is_retryable()
    }

    /// Whether the database could not be reached: no connection could be opened, or an open
    /// one was lost (the server went away, the network dropped it). The caller may try again
    /// later; the statement that failed changed nothing it can rely on.
    pub fn is_unreachable(&self) -> bool {
        match self {
            RepoError::Connection(_) | RepoError::Unreachable(_) => true,
            RepoError::Database(error) => is_lost_connection(error),
            _ => false,
        }
    }

    /// Whether running the transaction again may succeed: a serialization failure
    /// (SQLSTATE 40001 on PostgreSQL and compatible engines) or a busy SQLite database.
    pub fn is_retryable(&self) -> bool {
        match self {
            RepoError::Database(DieselError::DatabaseError(kind, info)) => {
                matches!(kind, DatabaseErrorKind::SerializationFailure)
                    || info.message().contains("database is locked")
                    || info.message().contains("database table is locked")
            }
            _ => false,
        }
    }
}

/// Whether a statement failed because its connection is gone.
fn is_lost_connection(error: &DieselError) -> bool {
    matches!(
        error,
        DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _
        )
    )
}

impl From<DieselError> for RepoError {
    fn from(error: DieselError) -> Self {
        if is_lost_connection(&error) {
            // The pool checks this connection before taking it back (see `Manager::has_broken`).
            crate::connection::note_lost_connection();
        }
        RepoError::Database(error)
    }
}
