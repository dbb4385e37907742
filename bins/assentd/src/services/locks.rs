//! Lockout administration: a user's failed-login count, unlocking, and administrative locks.

use super::auth::SignedIn;
use super::roles::{MissingRoles, Need, require};
use super::{Context, Failure, record, rollback_if_refused};
use assent_identity::registration::username_key;
use assent_identity::roles;
use assent_repository::lockout::{self, UserLockRow};
use assent_repository::users::{self, UserRow};
use assent_repository::{DbConnection, RepoError, sessions};

/// How an administrator's lock is recorded.
const LOCK_VIA_API: &str = "lock_via_api";

/// Why a lockout use case was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockRefusal {
    MissingRoles(MissingRoles),
    /// No user has this username.
    UserNotFound,
}

impl From<MissingRoles> for LockRefusal {
    fn from(missing: MissingRoles) -> Self {
        LockRefusal::MissingRoles(missing)
    }
}

/// A username's failed logins since the last success or unlock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockStatus {
    pub username: String,
    pub bad_attempts: i32,
    /// Microseconds since the epoch; `None` if the username never failed to log in.
    pub last_failure_at: Option<i64>,
}

fn find_user(ctx: &mut Context<'_>, username: &str) -> Result<UserRow, Failure<LockRefusal>> {
    let state = ctx.state;
    users::find_by_username(ctx.conn(), &state.config.provider, &username_key(username))?
        .ok_or(Failure::Refused(LockRefusal::UserNotFound))
}

fn status_of(
    conn: &mut DbConnection,
    provider: &str,
    user: &UserRow,
) -> Result<LockStatus, RepoError> {
    let attempts = lockout::attempts(conn, provider, &user.username_key)?;
    Ok(LockStatus {
        username: user.username.clone(),
        bad_attempts: attempts.as_ref().map_or(0, |a| a.bad_attempts),
        last_failure_at: attempts.and_then(|a| a.last_failure_at),
    })
}

/// A user's lock status; needs `CanReadUserLockedStatus`.
pub fn status(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    username: &str,
) -> Result<LockStatus, Failure<LockRefusal>> {
    require(
        ctx,
        caller,
        &[Need::System(roles::CAN_READ_USER_LOCKED_STATUS)],
    )?;
    let user = find_user(ctx, username)?;
    let state = ctx.state;
    Ok(status_of(ctx.conn(), &state.config.provider, &user)?)
}

/// Clears a user's failure count and any administrative lock, audited as `user.unlocked`;
/// needs `CanUnlockUser`.
pub fn unlock(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    username: &str,
) -> Result<LockStatus, Failure<LockRefusal>> {
    require(ctx, caller, &[Need::System(roles::CAN_UNLOCK_USER)])?;
    let user = find_user(ctx, username)?;
    let (state, now) = (ctx.state, ctx.now);
    let provider = state.config.provider.as_str();
    rollback_if_refused(ctx.conn(), |conn| {
        lockout::unlock(conn, provider, &user.username_key, &user.user_id)?;
        record(
            conn,
            now,
            "user.unlocked",
            Some(&user.user_id),
            serde_json::json!({ "by": caller.user.user_id }),
        )?;
        Ok(status_of(conn, provider, &user)?)
    })
}

/// Locks a user until an unlock and ends their sessions at once, audited as `user.locked`;
/// needs `CanLockUser`.
pub fn lock(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    username: &str,
) -> Result<UserLockRow, Failure<LockRefusal>> {
    require(ctx, caller, &[Need::System(roles::CAN_LOCK_USER)])?;
    let user = find_user(ctx, username)?;
    let now = ctx.now;
    rollback_if_refused(ctx.conn(), |conn| {
        let lock = lockout::lock(conn, &user.user_id, LOCK_VIA_API, now)?;
        let ended =
            sessions::terminate_all_for_user(conn, &user.user_id, now, "administrator_lock", None)?;
        record(
            conn,
            now,
            "user.locked",
            Some(&user.user_id),
            serde_json::json!({
                "by": caller.user.user_id, "type_of_lock": LOCK_VIA_API,
                "sessions_terminated": ended,
            }),
        )?;
        Ok(lock)
    })
}
