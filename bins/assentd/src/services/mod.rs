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
#[error("{0}")]
pub struct Internal(pub String);

impl From<RepoError> for Internal {
    fn from(error: RepoError) -> Self {
        Internal(error.to_string())
    }
}

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
