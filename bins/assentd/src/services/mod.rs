//! The application's use cases: load state through the repository, apply the domain rules,
//! persist the outcome in one transaction. Synchronous, so HTTP handlers run them on the
//! blocking pool and the CLI calls them directly; the one exception is the delivery of
//! one-time codes ([`otp::deliver_or_end`]), which is network I/O.

pub mod access;
pub mod auth;
pub mod consents;
pub mod customer_sessions;
pub mod otp;
pub mod roles;
pub mod step_up;
pub mod users;

use assent_repository::{DbConnection, RepoError, audit};
use time::OffsetDateTime;

/// The current time: read once at the edge and passed into the domain.
#[expect(
    clippy::disallowed_methods,
    reason = "the one place the server reads the clock"
)]
pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// An unexpected failure. Its text goes to the log, never to a response.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Internal {
    message: String,
    /// The database was too busy (see [`RepoError::is_busy`]): worth a retry, not a bug.
    busy: bool,
}

impl Internal {
    pub fn new(message: impl Into<String>) -> Self {
        Internal {
            message: message.into(),
            busy: false,
        }
    }
}

impl From<RepoError> for Internal {
    fn from(error: RepoError) -> Self {
        Internal {
            busy: error.is_busy(),
            message: error.to_string(),
        }
    }
}

/// Whether an unexpected failure was the database being too busy, so the answer is 503 with
/// `Retry-After` rather than 500: a [`RepoError`] or an [`Internal`] made from one.
pub fn is_busy(cause: &dyn std::any::Any) -> bool {
    cause
        .downcast_ref::<RepoError>()
        .is_some_and(RepoError::is_busy)
        || cause.downcast_ref::<Internal>().is_some_and(|i| i.busy)
}

/// Seconds a client is asked to wait when the database was too busy.
pub const BUSY_RETRY_AFTER_SECS: u32 = 1;

/// Appends an audit event (call inside the transaction that makes the change).
pub fn record(
    conn: &mut DbConnection,
    now: OffsetDateTime,
    kind: &str,
    user_id: Option<&str>,
    detail: serde_json::Value,
) -> Result<(), RepoError> {
    audit::append(conn, uuid::Uuid::new_v4(), now, kind, user_id, &detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_database_is_told_apart_from_other_failures() {
        assert!(is_busy(&RepoError::WriteQueueTimeout));
        assert!(is_busy(&RepoError::Contention("sessions")));
        assert!(is_busy(&Internal::from(RepoError::WriteQueueTimeout)));
        assert!(!is_busy(&RepoError::UnsupportedUrl));
        assert!(!is_busy(&RepoError::WriteInReadSnapshot));
        assert!(!is_busy(&Internal::from(RepoError::Migration("x".into()))));
        assert!(!is_busy(&Internal::new("a bug")));
        assert!(!is_busy(&"some other error"));
    }
}
