//! Entitlements: roles granted to users, system-wide or at one bank.

use crate::connection::on_backend;
use crate::schema::entitlements;
use crate::{DbConnection, RepoError, to_micros};
use diesel::prelude::*;
use time::OffsetDateTime;
use uuid::Uuid;

/// An `entitlements` row. `bank_id` is `""` for a system-wide role.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = entitlements)]
pub struct EntitlementRow {
    /// UUID text.
    pub entitlement_id: String,
    /// Holder's UUID text.
    pub user_id: String,
    /// Role name.
    pub role_name: String,
    /// Bank id, or `""` for a system-wide role.
    pub bank_id: String,
    /// Microseconds since the epoch.
    pub created_at: i64,
}

/// Outcome of [`insert`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InsertEntitlement {
    /// Stored.
    Created(EntitlementRow),
    /// The user already has this role at this bank.
    AlreadyExists,
}

/// Grants a role. The unique constraint makes a duplicate grant a no-op answer, not a second row.
pub fn insert(
    conn: &mut DbConnection,
    entitlement_id: Uuid,
    user_id: &str,
    role_name: &str,
    bank_id: Option<&str>,
    now: OffsetDateTime,
) -> Result<InsertEntitlement, RepoError> {
    let row = EntitlementRow {
        entitlement_id: entitlement_id.to_string(),
        user_id: user_id.to_owned(),
        role_name: role_name.to_owned(),
        bank_id: bank_id.unwrap_or("").to_owned(),
        created_at: to_micros(now),
    };
    let created = crate::insert_unless_conflict(conn, |conn| {
        diesel::insert_into(entitlements::table)
            .values(&row)
            .execute(conn)
    })?;
    Ok(if created {
        InsertEntitlement::Created(row)
    } else {
        InsertEntitlement::AlreadyExists
    })
}

/// A user's entitlements, oldest first.
pub fn list_for_user(
    conn: &mut DbConnection,
    user_id: &str,
) -> Result<Vec<EntitlementRow>, RepoError> {
    // Read on every `GET /users/current`: on the backend's own connection (see `on_backend!`).
    Ok(on_backend!(conn, |conn| entitlements::table
        .filter(entitlements::user_id.eq(user_id))
        .order((
            entitlements::created_at.asc(),
            entitlements::entitlement_id.asc(),
        ))
        .select(EntitlementRow::as_select())
        .load(conn))?)
}

/// Whether the user holds any of `role_names`, system-wide (`bank_id` `None`) or at that bank.
pub fn holds_any(
    conn: &mut DbConnection,
    user_id: &str,
    role_names: &[&str],
    bank_id: Option<&str>,
) -> Result<bool, RepoError> {
    let count: i64 = entitlements::table
        .filter(entitlements::user_id.eq(user_id))
        .filter(entitlements::role_name.eq_any(role_names))
        .filter(entitlements::bank_id.eq(bank_id.unwrap_or("")))
        .count()
        .get_result(conn)?;
    Ok(count > 0)
}

/// One entitlement by id.
pub fn find(
    conn: &mut DbConnection,
    entitlement_id: &str,
) -> Result<Option<EntitlementRow>, RepoError> {
    Ok(entitlements::table
        .find(entitlement_id)
        .select(EntitlementRow::as_select())
        .get_result(conn)
        .optional()?)
}

/// Deletes one entitlement; false if it was already gone.
pub fn delete(conn: &mut DbConnection, entitlement_id: &str) -> Result<bool, RepoError> {
    crate::connection::write(conn, |conn| {
        Ok(diesel::delete(entitlements::table.find(entitlement_id)).execute(conn)? == 1)
    })
}

/// Every entitlement, oldest first.
pub fn list_all(conn: &mut DbConnection) -> Result<Vec<EntitlementRow>, RepoError> {
    Ok(entitlements::table
        .order((
            entitlements::created_at.asc(),
            entitlements::entitlement_id.asc(),
        ))
        .select(EntitlementRow::as_select())
        .load(conn)?)
}

/// The entitlements of several users at once, oldest first.
pub fn list_for_users(
    conn: &mut DbConnection,
    user_ids: &[&str],
) -> Result<Vec<EntitlementRow>, RepoError> {
    Ok(entitlements::table
        .filter(entitlements::user_id.eq_any(user_ids))
        .order((
            entitlements::created_at.asc(),
            entitlements::entitlement_id.asc(),
        ))
        .select(EntitlementRow::as_select())
        .load(conn)?)
}

/// Entitlements at one bank, of one user or of everyone, oldest first.
pub fn list_at_bank(
    conn: &mut DbConnection,
    bank_id: &str,
    user_id: Option<&str>,
) -> Result<Vec<EntitlementRow>, RepoError> {
    let mut query = entitlements::table
        .filter(entitlements::bank_id.eq(bank_id.to_owned()))
        .select(EntitlementRow::as_select())
        .order((
            entitlements::created_at.asc(),
            entitlements::entitlement_id.asc(),
        ))
        .into_boxed();
    if let Some(user_id) = user_id {
        query = query.filter(entitlements::user_id.eq(user_id.to_owned()));
    }
    Ok(query.load(conn)?)
}

/// An `entitlement_requests` row. `bank_id` is `""` for a system role.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = crate::schema::entitlement_requests)]
pub struct EntitlementRequestRow {
    /// UUID text.
    pub entitlement_request_id: String,
    /// Requester's UUID text.
    pub user_id: String,
    /// Role name.
    pub role_name: String,
    /// Bank id, or `""`.
    pub bank_id: String,
    /// Microseconds since the epoch.
    pub created_at: i64,
}

/// Stores a request; `None` if the user already asked for this role at this bank.
pub fn insert_request(
    conn: &mut DbConnection,
    row: &EntitlementRequestRow,
) -> Result<Option<EntitlementRequestRow>, RepoError> {
    use crate::schema::entitlement_requests;
    let created = crate::insert_unless_conflict(conn, |conn| {
        diesel::insert_into(entitlement_requests::table)
            .values(row)
            .execute(conn)
    })?;
    Ok(created.then(|| row.clone()))
}

/// Requests with their requesters, of one user or of everyone, oldest first.
pub fn list_requests(
    conn: &mut DbConnection,
    user_id: Option<&str>,
) -> Result<Vec<(EntitlementRequestRow, crate::users::UserDetailsRow)>, RepoError> {
    use crate::schema::{entitlement_requests, users};
    let mut query = entitlement_requests::table
        .inner_join(users::table)
        .select((
            EntitlementRequestRow::as_select(),
            crate::users::UserDetailsRow::as_select(),
        ))
        .order((
            entitlement_requests::created_at.asc(),
            entitlement_requests::entitlement_request_id.asc(),
        ))
        .into_boxed();
    if let Some(user_id) = user_id {
        query = query.filter(entitlement_requests::user_id.eq(user_id.to_owned()));
    }
    Ok(query.load(conn)?)
}

/// Deletes a request; false if there was none.
pub fn delete_request(conn: &mut DbConnection, id: &str) -> Result<bool, RepoError> {
    crate::connection::write(conn, |conn| {
        use crate::schema::entitlement_requests;
        Ok(diesel::delete(entitlement_requests::table.find(id)).execute(conn)? == 1)
    })
}
