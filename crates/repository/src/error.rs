use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// What can go wrong in storage. Messages may hold SQL details: log them, never send them.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// The database refused or failed a statement.
    #[error("database error: {0}")]
    Database(#[from] DieselError),
    /// No connection could be had from the pool in time.
    #[error("connection pool: {0}")]
    Pool(#[from] r2d2::Error),
    /// A connection could not be opened.
    #[error("cannot connect: {0}")]
    Connection(String),
    /// A conditional update kept losing to concurrent writers of the same row.
    #[error("too much contention on {0}")]
    Contention(&'static str),
    /// The database URL names no supported backend.
    #[error("unsupported database URL (use sqlite://PATH, a file path, or postgres://...)")]
    UnsupportedUrl,
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
