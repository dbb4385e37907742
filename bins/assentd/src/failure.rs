//! How a use case fails, and whether a refusal keeps what it counted.
//!
//! A use case answers `Result<T, Failure<R>>`: the caller was [refused](Failure::Refused) for a
//! reason `R` its API dialect can render, or something [unexpected](Failure::Internal) went
//! wrong. Whether a refusal inside a transaction commits or rolls back is a security property
//! (a wrong answer to a challenge must stay counted; a request over its allowance must leave
//! nothing behind), so it is said by the helper that runs the transaction:
//! [`commit_even_if_refused`] or [`rollback_if_refused`].

use crate::keys::KeyError;
use assent_repository::{DbConnection, DieselError, RepoError, RetryableError, transaction};
use std::fmt;

/// An unexpected failure. Its whole chain goes to the log, never into a response.
#[derive(Debug, thiserror::Error)]
pub enum Internal {
    /// The database failed, or was too busy (see [`Internal::is_busy`]).
    #[error("storage")]
    Storage(#[from] RepoError),
    /// A token could not be signed.
    #[error("signing a token")]
    Signing(#[from] KeyError),
    /// A stored value could not be read back (a malformed id or JSON document).
    #[error("decoding a stored value")]
    Decoding(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A password could not be hashed.
    #[error("hashing a password")]
    PasswordHash(#[from] assent_identity::password::HashError),
    /// A thread could not be started.
    #[error("starting a thread")]
    Thread(#[from] std::io::Error),
    /// A worker thread or pool the request needed has stopped.
    #[error("worker: {0}")]
    Worker(&'static str),
    /// Stored or computed data broke an invariant the code relies on.
    #[error("broken invariant: {0}")]
    Invariant(String),
    /// The shared store of call counts could not be answered: limited consumers are refused
    /// (fail closed) until it answers again.
    #[error("call limit store unreachable: {0}")]
    LimitStore(String),
}

impl Internal {
    /// Whether the database was too busy ([`RepoError::is_busy`]): worth a retry, not a bug,
    /// so the answer is 503 with `Retry-After` rather than 500.
    pub fn is_busy(&self) -> bool {
        matches!(self, Internal::Storage(error) if error.is_busy())
    }

    /// Whether the database could not be reached ([`RepoError::is_unreachable`]): no
    /// connection could be opened, or one was lost. Not a bug either: 503 with `Retry-After`.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Internal::Storage(error) if error.is_unreachable())
            || matches!(self, Internal::LimitStore(_))
    }

    /// The error and every cause under it, for the log.
    pub fn chain(&self) -> Chain<'_> {
        Chain(self)
    }
}

impl From<uuid::Error> for Internal {
    fn from(error: uuid::Error) -> Self {
        Internal::Decoding(Box::new(error))
    }
}

impl From<serde_json::Error> for Internal {
    fn from(error: serde_json::Error) -> Self {
        Internal::Decoding(Box::new(error))
    }
}

impl From<std::num::TryFromIntError> for Internal {
    fn from(error: std::num::TryFromIntError) -> Self {
        Internal::Decoding(Box::new(error))
    }
}

impl From<&'static str> for Internal {
    fn from(invariant: &'static str) -> Self {
        Internal::Invariant(invariant.to_owned())
    }
}

impl From<DieselError> for Internal {
    fn from(error: DieselError) -> Self {
        Internal::Storage(error.into())
    }
}

impl RetryableError for Internal {
    fn is_retryable(&self) -> bool {
        matches!(self, Internal::Storage(error) if error.is_retryable())
    }
}

/// An error with its causes, `outer: inner: innermost`.
pub struct Chain<'a>(&'a (dyn std::error::Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(error) = cause {
            write!(f, ": {error}")?;
            cause = error.source();
        }
        Ok(())
    }
}

/// Seconds a client is asked to wait when the database was too busy.
pub const BUSY_RETRY_AFTER_SECS: u32 = 1;

/// Seconds a client is asked to wait when the database could not be reached: long enough not
/// to hammer a database on its way back, short enough to ride out a failover.
pub const UNREACHABLE_RETRY_AFTER_SECS: u32 = 5;

/// Why a use case did not do what was asked.
#[derive(Debug)]
pub enum Failure<R> {
    /// The request was refused for a reason the caller is told.
    Refused(R),
    /// Something unexpected; the caller is told only that it failed.
    Internal(Internal),
}

impl<R> Failure<R> {
    /// The same failure with the refusal mapped (for a use case built on another).
    pub fn map_refusal<S>(self, map: impl FnOnce(R) -> S) -> Failure<S> {
        match self {
            Failure::Refused(refusal) => Failure::Refused(map(refusal)),
            Failure::Internal(internal) => Failure::Internal(internal),
        }
    }
}

impl<R> From<Internal> for Failure<R> {
    fn from(error: Internal) -> Self {
        Failure::Internal(error)
    }
}

impl<R> From<RepoError> for Failure<R> {
    fn from(error: RepoError) -> Self {
        Failure::Internal(error.into())
    }
}

impl<R> From<DieselError> for Failure<R> {
    fn from(error: DieselError) -> Self {
        Failure::Internal(error.into())
    }
}

impl<R> From<KeyError> for Failure<R> {
    fn from(error: KeyError) -> Self {
        Failure::Internal(error.into())
    }
}

impl<R> RetryableError for Failure<R> {
    fn is_retryable(&self) -> bool {
        matches!(self, Failure::Internal(error) if error.is_retryable())
    }
}

/// Refuses with `refusal` (shorthand for `Err(Failure::Refused(refusal))`).
pub fn refuse<T, R>(refusal: R) -> Result<T, Failure<R>> {
    Err(Failure::Refused(refusal))
}

/// Runs `work` in one transaction that commits even when `work` ends in a refusal: for
/// refusals that must leave a trace (a wrong answer counted, a failed login recorded, an
/// audit event of the refusal). An internal failure rolls back.
pub fn commit_even_if_refused<T, R>(
    conn: &mut DbConnection,
    mut work: impl FnMut(&mut DbConnection) -> Result<T, Failure<R>>,
) -> Result<T, Failure<R>> {
    let decided = transaction(conn, |conn| match work(conn) {
        Ok(value) => Ok(Ok(value)),
        Err(Failure::Refused(refusal)) => Ok(Err(refusal)),
        Err(Failure::Internal(internal)) => Err(internal),
    })?;
    decided.map_err(Failure::Refused)
}

/// Runs `work` in one transaction that rolls back when `work` ends in a refusal, as on an
/// internal failure: nothing the refused request did is kept.
pub fn rollback_if_refused<T, R>(
    conn: &mut DbConnection,
    work: impl FnMut(&mut DbConnection) -> Result<T, Failure<R>>,
) -> Result<T, Failure<R>> {
    transaction(conn, work)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_database_is_told_apart_from_other_failures() {
        assert!(Internal::from(RepoError::WriteQueueTimeout).is_busy());
        assert!(Internal::from(RepoError::Contention("sessions")).is_busy());
        assert!(!Internal::from(RepoError::UnsupportedUrl).is_busy());
        assert!(!Internal::from(RepoError::WriteInReadSnapshot).is_busy());
        assert!(!Internal::Invariant("a bug".into()).is_busy());
        assert!(!Internal::Worker("hashing pool stopped").is_busy());
    }

    #[test]
    fn an_unreachable_database_is_told_apart_from_a_busy_one_and_from_bugs() {
        use assent_repository::DatabaseErrorKind;
        use assent_repository::DieselError;
        let lost = |kind| {
            Internal::from(DieselError::DatabaseError(
                kind,
                Box::new("server closed the connection unexpectedly".to_owned()),
            ))
        };
        assert!(lost(DatabaseErrorKind::ClosedConnection).is_unreachable());
        assert!(lost(DatabaseErrorKind::UnableToSendCommand).is_unreachable());
        assert!(!lost(DatabaseErrorKind::Unknown).is_unreachable());
        assert!(!lost(DatabaseErrorKind::ClosedConnection).is_busy());
        assert!(Internal::from(RepoError::Connection("refused".into())).is_unreachable());
        assert!(!Internal::from(RepoError::WriteQueueTimeout).is_unreachable());
        assert!(!Internal::Invariant("a bug".into()).is_unreachable());
    }

    #[test]
    fn the_chain_names_every_cause() {
        let error = Internal::from(RepoError::Migration("no such table".into()));
        assert_eq!(
            error.chain().to_string(),
            "storage: migrations failed: no such table"
        );
    }
}
