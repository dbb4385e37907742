//! User auth contexts: key/value pairs mapping a user to the bank's own records.

use crate::schema::user_auth_contexts;
use crate::{DbConnection, RepoError, to_micros};
use diesel::prelude::*;
use time::OffsetDateTime;
use uuid::Uuid;

/// A `user_auth_contexts` row.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = user_auth_contexts)]
pub struct AuthContextRow {
    /// UUID text.
    pub user_auth_context_id: String,
    /// Owner's UUID text.
    pub user_id: String,
    /// Key, e.g. `CUSTOMER_NUMBER`.
    pub context_key: String,
    /// Value.
    pub context_value: String,
    /// Last change, microseconds since the epoch.
    pub updated_at: i64,
}

/// Whether the user has a pair with this key.
pub fn has_key(conn: &mut DbConnection, user_id: &str, key: &str) -> Result<bool, RepoError> {
    use diesel::dsl::{exists, select};
    Ok(select(exists(
        user_auth_contexts::table
            .filter(user_auth_contexts::user_id.eq(user_id))
            .filter(user_auth_contexts::context_key.eq(key)),
    ))
    .get_result(conn)?)
}

/// Whether a user other than `user_id` has `key` set to `value`.
pub fn held_by_another(
    conn: &mut DbConnection,
    key: &str,
    value: &str,
    user_id: &str,
) -> Result<bool, RepoError> {
    use diesel::dsl::{exists, select};
    Ok(select(exists(
        user_auth_contexts::table
            .filter(user_auth_contexts::context_key.eq(key))
            .filter(user_auth_contexts::context_value.eq(value))
            .filter(user_auth_contexts::user_id.ne(user_id)),
    ))
    .get_result(conn)?)
}

/// Sets `key` to `value` for the user: a new pair, or the existing pair's value replaced
/// (the unique constraint decides between concurrent first writes).
pub fn set(
    conn: &mut DbConnection,
    user_id: &str,
    key: &str,
    value: &str,
    now: OffsetDateTime,
) -> Result<AuthContextRow, RepoError> {
    crate::connection::write(conn, |conn| {
        let update = |conn: &mut DbConnection| {
            diesel::update(
                user_auth_contexts::table
                    .filter(user_auth_contexts::user_id.eq(user_id))
                    .filter(user_auth_contexts::context_key.eq(key)),
            )
            .set((
                user_auth_contexts::context_value.eq(value),
                user_auth_contexts::updated_at.eq(to_micros(now)),
            ))
            .execute(conn)
        };
        let find = |conn: &mut DbConnection| {
            user_auth_contexts::table
                .filter(user_auth_contexts::user_id.eq(user_id))
                .filter(user_auth_contexts::context_key.eq(key))
                .select(AuthContextRow::as_select())
                .get_result(conn)
        };
        if update(conn)? == 1 {
            return Ok(find(conn)?);
        }
        let row = AuthContextRow {
            user_auth_context_id: Uuid::new_v4().to_string(),
            user_id: user_id.to_owned(),
            context_key: key.to_owned(),
            context_value: value.to_owned(),
            updated_at: to_micros(now),
        };
        let inserted = crate::insert_unless_conflict(conn, |conn| {
            diesel::insert_into(user_auth_contexts::table)
                .values(&row)
                .execute(conn)
        })?;
        if inserted {
            Ok(row)
        } else {
            update(conn)?;
            Ok(find(conn)?)
        }
    })
}

/// A user's pairs, by key.
pub fn list(conn: &mut DbConnection, user_id: &str) -> Result<Vec<AuthContextRow>, RepoError> {
    Ok(user_auth_contexts::table
        .filter(user_auth_contexts::user_id.eq(user_id))
        .order(user_auth_contexts::context_key.asc())
        .select(AuthContextRow::as_select())
        .load(conn)?)
}

/// Deletes every pair of a user; returns how many.
pub fn delete_all(conn: &mut DbConnection, user_id: &str) -> Result<usize, RepoError> {
    crate::connection::write(conn, |conn| {
        Ok(diesel::delete(
            user_auth_contexts::table.filter(user_auth_contexts::user_id.eq(user_id)),
        )
        .execute(conn)?)
    })
}

/// Deletes one pair of a user; false if the user has no such pair.
pub fn delete(conn: &mut DbConnection, user_id: &str, id: &str) -> Result<bool, RepoError> {
    crate::connection::write(conn, |conn| {
        Ok(diesel::delete(
            user_auth_contexts::table
                .filter(user_auth_contexts::user_id.eq(user_id))
                .filter(user_auth_contexts::user_auth_context_id.eq(id)),
        )
        .execute(conn)?
            == 1)
    })
}
