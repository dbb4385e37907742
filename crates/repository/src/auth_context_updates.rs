//! Requests to add an auth context, confirmed by a one-time code.

use crate::schema::auth_context_updates;
use crate::{DbConnection, RepoError};
use diesel::prelude::*;

/// An `auth_context_updates` row.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = auth_context_updates)]
pub struct AuthContextUpdateRow {
    /// UUID text.
    pub update_id: String,
    /// Who asked.
    pub user_id: String,
    /// The bank in the request's path.
    pub bank_id: String,
    /// Requested key.
    pub context_key: String,
    /// Requested value.
    pub context_value: String,
    /// `INITIATED`, `ACCEPTED` or `REJECTED`.
    pub status: String,
    /// The challenge that confirms it.
    pub challenge_id: String,
    /// Microseconds since the epoch.
    pub created_at: i64,
}

/// Stores a new request.
pub fn insert(conn: &mut DbConnection, row: &AuthContextUpdateRow) -> Result<(), RepoError> {
    crate::connection::write(conn, |conn| {
        diesel::insert_into(auth_context_updates::table)
            .values(row)
            .execute(conn)?;
        Ok(())
    })
}

/// A request by id.
pub fn find(
    conn: &mut DbConnection,
    update_id: &str,
) -> Result<Option<AuthContextUpdateRow>, RepoError> {
    Ok(auth_context_updates::table
        .find(update_id)
        .select(AuthContextUpdateRow::as_select())
        .get_result(conn)
        .optional()?)
}

/// Moves a request from `from` to `to`; `false` if it was no longer in `from`.
pub fn transition(
    conn: &mut DbConnection,
    update_id: &str,
    from: &str,
    to: &str,
) -> Result<bool, RepoError> {
    crate::connection::write(conn, |conn| {
        let changed = diesel::update(
            auth_context_updates::table
                .find(update_id)
                .filter(auth_context_updates::status.eq(from)),
        )
        .set(auth_context_updates::status.eq(to))
        .execute(conn)?;
        Ok(changed == 1)
    })
}
