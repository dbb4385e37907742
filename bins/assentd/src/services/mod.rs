//! The application's use cases: load state through the repository, apply the domain rules,
//! persist the outcome in one transaction. Synchronous, so HTTP handlers run them on the
//! blocking pool and the CLI calls them directly; the one exception is the delivery of
//! one-time codes ([`otp::deliver_or_end`]), which is network I/O.

pub mod access;
pub mod allowances;
pub mod audit_events;
pub mod auth;
pub mod auth_context_updates;
pub mod auth_contexts;
pub mod authenticators;
pub mod banks;
pub mod caller;
pub mod consents;
pub mod consumers;
pub mod contact_verifications;
pub mod customer_sessions;
pub mod entitlement_requests;
pub mod housekeeping;
pub mod introspection;
pub mod locks;
pub mod mfa;
pub mod my_sessions;
pub mod otp;
pub mod paging;
pub mod roles;
pub mod signing_keys;
pub mod step_up;
pub mod system_callers;
pub mod system_keys;
pub mod user_queries;
pub mod users;

pub use crate::failure::{
    BUSY_RETRY_AFTER_SECS, Failure, Internal, commit_even_if_refused, refuse, rollback_if_refused,
};

use crate::state::AppState;
use assent_repository::{DbConnection, RepoError, audit};
use std::sync::Arc;
use time::OffsetDateTime;

/// What a use case runs with: the application state, one pooled database connection, and
/// the request's time, read once from the state's clock.
pub struct Context<'a> {
    /// Configuration, hashers, keys, policies.
    pub state: &'a AppState,
    /// The time of the request.
    pub now: OffsetDateTime,
    conn: &'a mut DbConnection,
}

impl<'a> Context<'a> {
    /// A context over `conn`, at the state's current time.
    pub fn new(state: &'a AppState, conn: &'a mut DbConnection) -> Self {
        Self::at(state, conn, state.clock.now())
    }

    /// A context over `conn` at `now` (the time of a request already under way).
    pub fn at(state: &'a AppState, conn: &'a mut DbConnection, now: OffsetDateTime) -> Self {
        Self { state, now, conn }
    }

    fn conn(&mut self) -> &mut DbConnection {
        self.conn
    }
}

/// Runs `job` on the blocking pool with one pooled connection and the current time.
pub async fn on_connection<T: Send + 'static>(
    state: Arc<AppState>,
    job: impl FnOnce(&mut Context<'_>) -> T + Send + 'static,
) -> Result<T, Internal> {
    crate::runtime::blocking(move || {
        let mut conn = state.pool.get()?;
        Ok(job(&mut Context::new(&state, &mut conn)))
    })
    .await?
}

/// Runs `job` in the account lane of the password-hashing pool (see
/// [`AppState::on_hashing_pool`]) with one pooled connection and the current time: for use
/// cases of existing accounts that hash or check secrets with Argon2id as well as reading and
/// writing the database.
pub async fn on_hashing_pool<T: Send + 'static>(
    state: Arc<AppState>,
    job: impl FnOnce(&mut Context<'_>) -> T + Send + 'static,
) -> Result<T, Internal> {
    state
        .on_hashing_pool(
            crate::hashing::Lane::Account,
            move |state| -> Result<T, Internal> {
                let mut conn = state.pool.get()?;
                Ok(job(&mut Context::new(state, &mut conn)))
            },
        )
        .await?
}

/// Whether the database answers (the readiness check). On SQLite the database's path must
/// also still name the file the pool opened at start: connections keep working on a file
/// moved away or replaced, and what they write there is lost to whoever opens the path next.
pub fn ping(ctx: &mut Context<'_>) -> Result<(), Internal> {
    ctx.state.pool.check_database_file()?;
    Ok(assent_repository::ping(ctx.conn())?)
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
