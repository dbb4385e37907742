//! Authenticator apps (TOTP): one per user, sealed secret, single-use steps. Every change is
//! a conditional statement, so parallel confirmations or uses cannot both succeed.

use crate::schema::totp_authenticators;
use crate::{DbConnection, RepoError, insert_unless_conflict, to_micros};
use diesel::prelude::*;
use time::OffsetDateTime;

/// A `totp_authenticators` row.
#[derive(Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = totp_authenticators)]
pub struct TotpRow {
    /// Owner's UUID text.
    pub user_id: String,
    /// The secret, sealed by the server (never in clear).
    pub secret_sealed: String,
    /// `SHA1`, `SHA256` or `SHA512`.
    pub algorithm: String,
    /// Digits per code.
    pub digits: i32,
    /// When the user proved they hold it; `None` while the enrolment is pending.
    pub confirmed_at: Option<i64>,
    /// The last 30-second step whose code was accepted.
    pub last_used_step: Option<i64>,
    /// Wrong codes during enrolment.
    pub failed_confirmations: i32,
    /// Microseconds since the epoch.
    pub created_at: i64,
}

crate::redacted::debug_redacting!(TotpRow {
    user_id, algorithm, digits, confirmed_at, last_used_step, failed_confirmations, created_at,
} secret { secret_sealed });

/// Starts an enrolment with `row` (unconfirmed), replacing any pending one. `false` when the
/// user already has a confirmed authenticator (or another enrolment won a race).
pub fn start(conn: &mut DbConnection, row: &TotpRow) -> Result<bool, RepoError> {
    crate::connection::write(conn, |conn| {
        diesel::delete(
            totp_authenticators::table
                .filter(totp_authenticators::user_id.eq(&row.user_id))
                .filter(totp_authenticators::confirmed_at.is_null()),
        )
        .execute(conn)?;
        insert_unless_conflict(conn, |conn| {
            diesel::insert_into(totp_authenticators::table)
                .values(row)
                .execute(conn)
        })
    })
}

/// The user's authenticator, pending or confirmed.
pub fn find(conn: &mut DbConnection, user_id: &str) -> Result<Option<TotpRow>, RepoError> {
    Ok(totp_authenticators::table
        .find(user_id)
        .select(TotpRow::as_select())
        .get_result(conn)
        .optional()?)
}

/// Confirms the pending enrolment `seen` whose code matched at `step`, if the row still holds
/// that enrolment with the failures it was loaded with. The step counts as used.
pub fn confirm(
    conn: &mut DbConnection,
    seen: &TotpRow,
    step: i64,
    now: OffsetDateTime,
) -> Result<bool, RepoError> {
    crate::connection::write(conn, |conn| {
        // The secret is part of the guard: an enrolment started again meanwhile has another
        // secret, which the code was not checked against.
        let changed = diesel::update(
            totp_authenticators::table
                .find(&seen.user_id)
                .filter(totp_authenticators::confirmed_at.is_null())
                .filter(totp_authenticators::secret_sealed.eq(&seen.secret_sealed))
                .filter(totp_authenticators::failed_confirmations.eq(seen.failed_confirmations)),
        )
        .set((
            totp_authenticators::confirmed_at.eq(Some(to_micros(now))),
            totp_authenticators::last_used_step.eq(Some(step)),
        ))
        .execute(conn)?;
        Ok(changed == 1)
    })
}

/// Counts a wrong code against a pending enrolment loaded with `failures_seen` failures;
/// at `limit` the enrolment is discarded. Returns the failures now recorded, or `None` if
/// the enrolment changed meanwhile (the caller loads it again).
pub fn fail_confirmation(
    conn: &mut DbConnection,
    user_id: &str,
    failures_seen: i32,
    limit: i32,
) -> Result<Option<i32>, RepoError> {
    crate::connection::write(conn, |conn| {
        let pending = totp_authenticators::table
            .find(user_id)
            .filter(totp_authenticators::confirmed_at.is_null())
            .filter(totp_authenticators::failed_confirmations.eq(failures_seen));
        let now_failed = failures_seen.saturating_add(1);
        let changed = if now_failed >= limit {
            diesel::delete(pending).execute(conn)?
        } else {
            diesel::update(pending)
                .set(totp_authenticators::failed_confirmations.eq(now_failed))
                .execute(conn)?
        };
        Ok((changed == 1).then_some(now_failed))
    })
}

/// Records that the code of `step` was accepted, unless that step or a later one already
/// was: `false` means a replay (or no confirmed authenticator).
pub fn use_step(conn: &mut DbConnection, user_id: &str, step: i64) -> Result<bool, RepoError> {
    crate::connection::write(conn, |conn| {
        let changed = diesel::update(
            totp_authenticators::table
                .find(user_id)
                .filter(totp_authenticators::confirmed_at.is_not_null())
                .filter(
                    totp_authenticators::last_used_step
                        .is_null()
                        .or(totp_authenticators::last_used_step.lt(step)),
                ),
        )
        .set(totp_authenticators::last_used_step.eq(Some(step)))
        .execute(conn)?;
        Ok(changed == 1)
    })
}

/// Removes the user's authenticator; `false` if there was none.
pub fn delete(conn: &mut DbConnection, user_id: &str) -> Result<bool, RepoError> {
    crate::connection::write(conn, |conn| {
        let removed = diesel::delete(totp_authenticators::table.find(user_id)).execute(conn)?;
        Ok(removed == 1)
    })
}
