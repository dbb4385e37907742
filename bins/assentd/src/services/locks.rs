//! Lockout administration: a user's failed-login count, unlocking, and administrative locks.

use super::auth::SignedIn;
use super::caller::Operator;
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
    /// No user has this username (at the provider named, if one was).
    UserNotFound,
    /// Users at several providers have this username and none was named.
    AmbiguousUsername,
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

/// Whose lock a request means: a username, and the provider it belongs to if the caller named
/// one. Without a provider the server's own users come first; a username found only elsewhere
/// (a DAuth contract's, whose provider is its network) is used if it is found once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockTarget {
    pub username: String,
    pub provider: Option<String>,
}

fn find_user(ctx: &mut Context<'_>, target: &LockTarget) -> Result<UserRow, Failure<LockRefusal>> {
    let state = ctx.state;
    let key = username_key(&target.username);
    let provider = target.provider.as_deref();
    if let Some(user) =
        users::find_by_username(ctx.conn(), provider.unwrap_or(&state.config.provider), &key)?
    {
        return Ok(user);
    }
    if provider.is_some() {
        return Err(Failure::Refused(LockRefusal::UserNotFound));
    }
    let mut found = users::find_by_username_at_any_provider(ctx.conn(), &key, 2)?;
    match (found.pop(), found.pop()) {
        (Some(user), None) => Ok(user),
        (None, _) => Err(Failure::Refused(LockRefusal::UserNotFound)),
        (Some(_), Some(_)) => Err(Failure::Refused(LockRefusal::AmbiguousUsername)),
    }
}

fn status_of(conn: &mut DbConnection, user: &UserRow) -> Result<LockStatus, RepoError> {
    let attempts = lockout::attempts(conn, &user.provider, &user.username_key)?;
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
    target: &LockTarget,
) -> Result<LockStatus, Failure<LockRefusal>> {
    require(
        ctx,
        caller,
        &[Need::System(roles::CAN_READ_USER_LOCKED_STATUS)],
    )?;
    let user = find_user(ctx, target)?;
    Ok(status_of(ctx.conn(), &user)?)
}

/// Clears a user's failure count and any administrative lock, audited as `user.unlocked` with
/// who did it; a user needs `CanUnlockUser`.
pub fn unlock(
    ctx: &mut Context<'_>,
    by: Operator<'_>,
    target: &LockTarget,
) -> Result<LockStatus, Failure<LockRefusal>> {
    by.require(ctx, &[Need::System(roles::CAN_UNLOCK_USER)])?;
    let user = find_user(ctx, target)?;
    let now = ctx.now;
    rollback_if_refused(ctx.conn(), |conn| {
        lockout::unlock(conn, &user.provider, &user.username_key, &user.user_id)?;
        record(
            conn,
            now,
            "user.unlocked",
            Some(&user.user_id),
            serde_json::json!({ "by": by.audit_name() }),
        )?;
        Ok(status_of(conn, &user)?)
    })
}

/// Locks a user until an unlock and ends their sessions at once, audited as `user.locked`;
/// needs `CanLockUser`.
pub fn lock(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    target: &LockTarget,
) -> Result<UserLockRow, Failure<LockRefusal>> {
    require(ctx, caller, &[Need::System(roles::CAN_LOCK_USER)])?;
    let user = find_user(ctx, target)?;
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
