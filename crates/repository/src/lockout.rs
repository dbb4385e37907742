//! Failed-login counts (per provider and username, known or not) and administrative locks.
//! Every change is one conditional statement, so parallel logins on other replicas never lose
//! a failure or unlock an account by accident.

use crate::connection::on_backend;
use crate::schema::{login_attempts, user_locks};
use crate::{DbConnection, RepoError, from_micros, to_micros};
use assent_identity::lockout::LoginHistory;
use diesel::prelude::*;
use time::OffsetDateTime;

/// A `login_attempts` row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = login_attempts)]
pub struct LoginAttemptsRow {
    /// Provider.
    pub provider: String,
    /// Lower-cased username.
    pub username_key: String,
    /// Failures since the last success or unlock.
    pub bad_attempts: i32,
    /// Last failure, microseconds since the epoch.
    pub last_failure_at: Option<i64>,
}

/// A `user_locks` row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = user_locks)]
pub struct UserLockRow {
    /// Locked user.
    pub user_id: String,
    /// How it was locked, e.g. `lock_via_api`.
    pub type_of_lock: String,
    /// When, microseconds since the epoch.
    pub locked_at: i64,
}

/// The failure count of a username (zero if it never failed).
pub fn attempts(
    conn: &mut DbConnection,
    provider: &str,
    username_key: &str,
) -> Result<Option<LoginAttemptsRow>, RepoError> {
    Ok(login_attempts::table
        .find((provider, username_key))
        .select(LoginAttemptsRow::as_select())
        .get_result(conn)
        .optional()?)
}

/// The administrative lock of a user, if any.
pub fn admin_lock(
    conn: &mut DbConnection,
    user_id: &str,
) -> Result<Option<UserLockRow>, RepoError> {
    // Read on every request made with a consent: on the backend's own connection.
    Ok(on_backend!(conn, |conn| user_locks::table
        .find(user_id)
        .select(UserLockRow::as_select())
        .get_result(conn)
        .optional())?)
}

/// Everything the lockout rule needs about a username (and its user, if it exists).
pub fn history(
    conn: &mut DbConnection,
    provider: &str,
    username_key: &str,
    user_id: Option<&str>,
) -> Result<LoginHistory, RepoError> {
    let attempts = attempts(conn, provider, username_key)?;
    let locked_by_administrator = match user_id {
        Some(user_id) => admin_lock(conn, user_id)?.is_some(),
        None => false,
    };
    Ok(LoginHistory {
        bad_attempts: attempts
            .as_ref()
            .map_or(0, |a| u32::try_from(a.bad_attempts).unwrap_or(0)),
        last_failure_at: attempts.and_then(|a| a.last_failure_at).map(from_micros),
        locked_by_administrator,
    })
}

/// Counts one failure: an atomic increment, or the first row for this username. Two first
/// failures at once cannot both insert: the loser of the primary-key race increments instead.
/// Answers the count with this failure; inside a transaction the row stays locked until the
/// commit, so of parallel failures exactly one sees each count (the one that reaches the limit
/// is the one that locked the account).
pub fn record_failure(
    conn: &mut DbConnection,
    provider: &str,
    username_key: &str,
    now: OffsetDateTime,
) -> Result<u32, RepoError> {
    count_failure(conn, provider, username_key, now)?;
    let count: i32 = login_attempts::table
        .find((provider, username_key))
        .select(login_attempts::bad_attempts)
        .get_result(conn)?;
    Ok(u32::try_from(count).unwrap_or(u32::MAX))
}

fn count_failure(
    conn: &mut DbConnection,
    provider: &str,
    username_key: &str,
    now: OffsetDateTime,
) -> Result<(), RepoError> {
    crate::connection::write(conn, |conn| {
        let increment = |conn: &mut DbConnection| {
            diesel::update(login_attempts::table.find((provider, username_key)))
                .set((
                    login_attempts::bad_attempts.eq(login_attempts::bad_attempts + 1),
                    login_attempts::last_failure_at.eq(Some(to_micros(now))),
                ))
                .execute(conn)
        };
        if increment(conn)? == 1 {
            return Ok(());
        }
        let row = LoginAttemptsRow {
            provider: provider.to_owned(),
            username_key: username_key.to_owned(),
            bad_attempts: 1,
            last_failure_at: Some(to_micros(now)),
        };
        let inserted = crate::insert_unless_conflict(conn, |conn| {
            diesel::insert_into(login_attempts::table)
                .values(&row)
                .execute(conn)
        })?;
        if !inserted {
            increment(conn)?;
        }
        Ok(())
    })
}

/// After a successful login: resets the count, but only while it is still below `max` (a
/// failure that locked the account in the meantime wins). False if the account is locked.
pub fn reset_after_success(
    conn: &mut DbConnection,
    provider: &str,
    username_key: &str,
    max: u32,
) -> Result<bool, RepoError> {
    crate::connection::write(conn, |conn| {
        let max = i32::try_from(max).unwrap_or(i32::MAX);
        let reset = diesel::update(
            login_attempts::table
                .find((provider, username_key))
                .filter(login_attempts::bad_attempts.lt(max)),
        )
        .set(login_attempts::bad_attempts.eq(0))
        .execute(conn)?;
        if reset == 1 {
            return Ok(true);
        }
        // No row: it never failed, so it is open. A row left alone: it is at the maximum.
        Ok(attempts(conn, provider, username_key)?.is_none())
    })
}

/// Unlocks: clears the count and any administrative lock.
pub fn unlock(
    conn: &mut DbConnection,
    provider: &str,
    username_key: &str,
    user_id: &str,
) -> Result<(), RepoError> {
    crate::connection::write(conn, |conn| {
        diesel::update(login_attempts::table.find((provider, username_key)))
            .set(login_attempts::bad_attempts.eq(0))
            .execute(conn)?;
        diesel::delete(user_locks::table.find(user_id)).execute(conn)?;
        Ok(())
    })
}

/// Locks a user administratively (again: refreshes the time and type).
pub fn lock(
    conn: &mut DbConnection,
    user_id: &str,
    type_of_lock: &str,
    now: OffsetDateTime,
) -> Result<UserLockRow, RepoError> {
    crate::connection::write(conn, |conn| {
        let row = UserLockRow {
            user_id: user_id.to_owned(),
            type_of_lock: type_of_lock.to_owned(),
            locked_at: to_micros(now),
        };
        let inserted = crate::insert_unless_conflict(conn, |conn| {
            diesel::insert_into(user_locks::table)
                .values(&row)
                .execute(conn)
        })?;
        if !inserted {
            diesel::update(user_locks::table.find(user_id))
                .set((
                    user_locks::type_of_lock.eq(type_of_lock),
                    user_locks::locked_at.eq(to_micros(now)),
                ))
                .execute(conn)?;
        }
        Ok(row)
    })
}

/// Of `users`, the ids of those locked now (administrative lock, or at `max` failures): two
/// queries for a whole page.
pub fn locked_user_ids(
    conn: &mut DbConnection,
    users: &[crate::users::UserRow],
    max: u32,
) -> Result<std::collections::HashSet<String>, RepoError> {
    let ids: Vec<&str> = users.iter().map(|u| u.user_id.as_str()).collect();
    let keys: Vec<&str> = users.iter().map(|u| u.username_key.as_str()).collect();
    let mut locked: std::collections::HashSet<String> = user_locks::table
        .filter(user_locks::user_id.eq_any(&ids))
        .select(user_locks::user_id)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    let max = i32::try_from(max).unwrap_or(i32::MAX);
    let failing: Vec<(String, String)> = login_attempts::table
        .filter(login_attempts::username_key.eq_any(&keys))
        .filter(login_attempts::bad_attempts.ge(max))
        .select((login_attempts::provider, login_attempts::username_key))
        .load(conn)?;
    for user in users {
        if failing
            .iter()
            .any(|(provider, key)| *provider == user.provider && *key == user.username_key)
        {
            locked.insert(user.user_id.clone());
        }
    }
    Ok(locked)
}
