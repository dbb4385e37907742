//! Accounts, their holders, custom views and who holds which view. Every change to an
//! account's access first bumps the account's `access_version`: that one conditional write
//! serialises concurrent changes to the same account (a row lock on PostgreSQL, the write lock
//! on SQLite), so rules that count (the last owner) hold, and it tells caches what changed.

use crate::connection::on_backend;
use crate::schema::{account_access, account_holders, accounts, custom_views};
use crate::{DbConnection, RepoError, insert_unless_conflict, to_micros};
use assent_view_permissions::permission::PermissionSet;
use assent_view_permissions::system::system_view;
use assent_view_permissions::view::{CustomViewInput, View};
use diesel::prelude::*;
use time::OffsetDateTime;

/// An `accounts` row.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = accounts)]
pub struct AccountRow {
    /// Bank.
    pub bank_id: String,
    /// Account id at the bank.
    pub account_id: String,
    /// Label.
    pub label: String,
    /// Product code.
    pub product_code: String,
    /// ISO 4217 code.
    pub currency: String,
    /// Decimal amount, as given.
    pub balance_amount: String,
    /// Microseconds since the epoch.
    pub created_at: i64,
    /// Bumped by every access change.
    pub access_version: i64,
}

/// Stores a new account with `holder` as its holder, holding `owner` and
/// `ManageCustomViews`. `false` if the account id is taken at the bank.
pub fn create(
    conn: &mut DbConnection,
    row: &AccountRow,
    holder: &str,
    now: OffsetDateTime,
) -> Result<bool, RepoError> {
    crate::connection::write(conn, |conn| {
        let created = insert_unless_conflict(conn, |conn| {
            diesel::insert_into(accounts::table)
                .values(row)
                .execute(conn)
        })?;
        if !created {
            return Ok(false);
        }
        diesel::insert_into(account_holders::table)
            .values((
                account_holders::bank_id.eq(&row.bank_id),
                account_holders::account_id.eq(&row.account_id),
                account_holders::user_id.eq(holder),
            ))
            .execute(conn)?;
        for view in ["owner", "ManageCustomViews"] {
            grant(
                conn,
                &row.bank_id,
                &row.account_id,
                holder,
                view,
                true,
                None,
                now,
            )?;
        }
        Ok(true)
    })
}

/// An account.
pub fn find(
    conn: &mut DbConnection,
    bank_id: &str,
    account_id: &str,
) -> Result<Option<AccountRow>, RepoError> {
    Ok(accounts::table
        .find((bank_id, account_id))
        .select(AccountRow::as_select())
        .get_result(conn)
        .optional()?)
}

/// Whether `user_id` holds the account.
pub fn is_holder(
    conn: &mut DbConnection,
    bank_id: &str,
    account_id: &str,
    user_id: &str,
) -> Result<bool, RepoError> {
    use diesel::dsl::{exists, select};
    Ok(select(exists(
        account_holders::table.find((bank_id, account_id, user_id)),
    ))
    .get_result(conn)?)
}

/// Marks a change to the account's access, serialising it with every other change to the
/// same account until the transaction ends. `false` if the account does not exist.
pub fn lock_access(
    conn: &mut DbConnection,
    bank_id: &str,
    account_id: &str,
) -> Result<bool, RepoError> {
    crate::connection::write(conn, |conn| {
        let bumped = diesel::update(accounts::table.find((bank_id, account_id)))
            .set(accounts::access_version.eq(accounts::access_version + 1))
            .execute(conn)?;
        Ok(bumped == 1)
    })
}

/// Grants a view; granting a view already held changes nothing. Returns whether a row was
/// added.
#[allow(clippy::too_many_arguments)]
pub fn grant(
    conn: &mut DbConnection,
    bank_id: &str,
    account_id: &str,
    user_id: &str,
    view_id: &str,
    is_system: bool,
    granted_by: Option<&str>,
    now: OffsetDateTime,
) -> Result<bool, RepoError> {
    let created = insert_unless_conflict(conn, |conn| {
        diesel::insert_into(account_access::table)
            .values((
                account_access::bank_id.eq(bank_id),
                account_access::account_id.eq(account_id),
                account_access::user_id.eq(user_id),
                account_access::view_id.eq(view_id),
                account_access::is_system.eq(is_system),
                account_access::granted_at.eq(to_micros(now)),
                account_access::granted_by.eq(granted_by),
            ))
            .execute(conn)
    })?;
    // A view someone gave themselves, granted again by someone else, is theirs by that grant
    // now: it no longer goes when their own power does.
    if !created && let Some(granter) = granted_by.filter(|g| *g != user_id) {
        crate::connection::write(conn, |conn| {
            diesel::update(
                account_access::table
                    .find((bank_id, account_id, user_id, view_id))
                    .filter(account_access::granted_by.eq(user_id)),
            )
            .set(account_access::granted_by.eq(granter))
            .execute(conn)?;
            Ok::<_, RepoError>(())
        })?;
    }
    Ok(created)
}

/// Revokes a view; `false` if the user did not hold it.
pub fn revoke(
    conn: &mut DbConnection,
    bank_id: &str,
    account_id: &str,
    user_id: &str,
    view_id: &str,
) -> Result<bool, RepoError> {
    crate::connection::write(conn, |conn| {
        let removed =
            diesel::delete(account_access::table.find((bank_id, account_id, user_id, view_id)))
                .execute(conn)?;
        Ok(removed == 1)
    })
}

/// How many users hold `view_id` on the account.
pub fn holders_of_view(
    conn: &mut DbConnection,
    bank_id: &str,
    account_id: &str,
    view_id: &str,
) -> Result<i64, RepoError> {
    Ok(account_access::table
        .filter(account_access::bank_id.eq(bank_id))
        .filter(account_access::account_id.eq(account_id))
        .filter(account_access::view_id.eq(view_id))
        .count()
        .get_result(conn)?)
}

/// A `custom_views` row.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = custom_views)]
pub struct CustomViewRow {
    /// Bank.
    pub bank_id: String,
    /// Account.
    pub account_id: String,
    /// View id (starts with `_`).
    pub view_id: String,
    /// Name as given.
    pub short_name: String,
    /// Description.
    pub description: String,
    /// Metadata view id.
    pub metadata_view: String,
    /// Public or not.
    pub is_public: bool,
    /// `public`, `private` or empty.
    pub alias: String,
    /// Hide metadata when an alias is shown.
    pub hide_metadata_if_alias_used: bool,
    /// The permission set, stored.
    pub permissions: String,
    /// Holders may grant custom views.
    pub can_grant_custom_views: bool,
    /// Holders may revoke custom views.
    pub can_revoke_custom_views: bool,
    /// Microseconds since the epoch.
    pub created_at: i64,
}

impl CustomViewRow {
    /// The row of `view` on an account.
    pub fn new(bank_id: &str, account_id: &str, view: &View, now: OffsetDateTime) -> Self {
        Self {
            bank_id: bank_id.to_owned(),
            account_id: account_id.to_owned(),
            view_id: view.view_id().to_owned(),
            short_name: view.short_name().to_owned(),
            description: view.description().to_owned(),
            metadata_view: view.metadata_view().to_owned(),
            is_public: view.is_public(),
            alias: view.alias().as_str().to_owned(),
            hide_metadata_if_alias_used: view.hide_metadata_if_alias_used(),
            permissions: view.permissions().to_storage(),
            can_grant_custom_views: view.can_grant().custom_views,
            can_revoke_custom_views: view.can_revoke().custom_views,
            created_at: to_micros(now),
        }
    }

    /// The view it stores.
    pub fn view(&self) -> Result<View, RepoError> {
        let corrupt = |reason: &str| RepoError::CorruptRow {
            table: "custom_views",
            reason: reason.to_owned(),
        };
        let view = CustomViewInput {
            name: self.short_name.clone(),
            description: self.description.clone(),
            metadata_view: self.metadata_view.clone(),
            is_public: self.is_public,
            alias: self.alias.clone(),
            hide_metadata_if_alias_used: self.hide_metadata_if_alias_used,
            permissions: PermissionSet::from_storage(&self.permissions)
                .ok_or_else(|| corrupt("permissions"))?,
            can_grant_custom_views: self.can_grant_custom_views,
            can_revoke_custom_views: self.can_revoke_custom_views,
        }
        .into_view()
        .map_err(|e| corrupt(&e.to_string()))?;
        if view.view_id() != self.view_id {
            return Err(corrupt("view id"));
        }
        Ok(view)
    }
}

/// Stores a custom view; `false` if the account has one with that id.
pub fn create_custom_view(conn: &mut DbConnection, row: &CustomViewRow) -> Result<bool, RepoError> {
    insert_unless_conflict(conn, |conn| {
        diesel::insert_into(custom_views::table)
            .values(row)
            .execute(conn)
    })
}

/// Replaces a custom view's definition; `false` if there is none.
pub fn update_custom_view(conn: &mut DbConnection, row: &CustomViewRow) -> Result<bool, RepoError> {
    crate::connection::write(conn, |conn| {
        let updated =
            diesel::update(custom_views::table.find((&row.bank_id, &row.account_id, &row.view_id)))
                .set((
                    custom_views::description.eq(&row.description),
                    custom_views::metadata_view.eq(&row.metadata_view),
                    custom_views::is_public.eq(row.is_public),
                    custom_views::alias.eq(&row.alias),
                    custom_views::hide_metadata_if_alias_used.eq(row.hide_metadata_if_alias_used),
                    custom_views::permissions.eq(&row.permissions),
                    custom_views::can_grant_custom_views.eq(row.can_grant_custom_views),
                    custom_views::can_revoke_custom_views.eq(row.can_revoke_custom_views),
                ))
                .execute(conn)?;
        Ok(updated == 1)
    })
}

/// Deletes a custom view and every grant of it; `false` if there is none.
pub fn delete_custom_view(
    conn: &mut DbConnection,
    bank_id: &str,
    account_id: &str,
    view_id: &str,
) -> Result<bool, RepoError> {
    crate::connection::write(conn, |conn| {
        diesel::delete(
            account_access::table
                .filter(account_access::bank_id.eq(bank_id))
                .filter(account_access::account_id.eq(account_id))
                .filter(account_access::view_id.eq(view_id))
                .filter(account_access::is_system.eq(false)),
        )
        .execute(conn)?;
        let removed = diesel::delete(custom_views::table.find((bank_id, account_id, view_id)))
            .execute(conn)?;
        Ok(removed == 1)
    })
}

/// A custom view of the account.
pub fn custom_view(
    conn: &mut DbConnection,
    bank_id: &str,
    account_id: &str,
    view_id: &str,
) -> Result<Option<CustomViewRow>, RepoError> {
    Ok(custom_views::table
        .find((bank_id, account_id, view_id))
        .select(CustomViewRow::as_select())
        .get_result(conn)
        .optional()?)
}

/// The account's custom views, by id.
pub fn custom_views_of(
    conn: &mut DbConnection,
    bank_id: &str,
    account_id: &str,
) -> Result<Vec<CustomViewRow>, RepoError> {
    Ok(custom_views::table
        .filter(custom_views::bank_id.eq(bank_id))
        .filter(custom_views::account_id.eq(account_id))
        .order(custom_views::view_id.asc())
        .select(CustomViewRow::as_select())
        .load(conn)?)
}

/// The views `user_id` holds on an account: system views from their definitions, custom
/// views from their rows, in one query.
pub fn views_held(
    conn: &mut DbConnection,
    bank_id: &str,
    account_id: &str,
    user_id: &str,
) -> Result<Vec<View>, RepoError> {
    Ok(access_held(conn, bank_id, account_id, Some(user_id))?
        .into_iter()
        .map(|held| held.view)
        .collect())
}

/// A view a user holds on an account, and who gave it to them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldView {
    /// Who holds it.
    pub user_id: String,
    /// The view.
    pub view: View,
    /// Who granted it; `None` for the account's opening and grants older than this record.
    pub granted_by: Option<String>,
}

/// A grant as read: user, view id, whether a system view, granter, and the custom view's row.
type HeldRow = (String, String, bool, Option<String>, Option<CustomViewRow>);

/// Every view held on an account (by `user_id` only, if given), by user and view.
pub fn access_held(
    conn: &mut DbConnection,
    bank_id: &str,
    account_id: &str,
    user_id: Option<&str>,
) -> Result<Vec<HeldView>, RepoError> {
    let mut query = account_access::table
        .left_join(
            custom_views::table.on(custom_views::bank_id
                .eq(account_access::bank_id)
                .and(custom_views::account_id.eq(account_access::account_id))
                .and(custom_views::view_id.eq(account_access::view_id))),
        )
        .filter(account_access::bank_id.eq(bank_id))
        .filter(account_access::account_id.eq(account_id))
        .order((account_access::user_id.asc(), account_access::view_id.asc()))
        .select((
            account_access::user_id,
            account_access::view_id,
            account_access::is_system,
            account_access::granted_by,
            custom_views::all_columns.nullable(),
        ))
        .into_boxed();
    if let Some(user_id) = user_id {
        query = query.filter(account_access::user_id.eq(user_id));
    }
    let rows: Vec<HeldRow> = query.load(conn)?;
    rows.into_iter()
        .filter_map(|(user_id, view_id, is_system, granted_by, custom)| {
            let view = match (is_system, custom) {
                (true, _) => system_view(&view_id).map(Ok),
                (false, Some(row)) => Some(row.view()),
                (false, None) => None,
            }?;
            Some(view.map(|view| HeldView {
                user_id,
                view,
                granted_by,
            }))
        })
        .collect()
}

/// One grant: which account, which view.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct Grant {
    /// Bank.
    pub bank_id: String,
    /// Account.
    pub account_id: String,
    /// View id.
    pub view_id: String,
    /// System view or custom.
    pub is_system: bool,
}

/// Every view `user_id` holds, on every account, by bank, account and view.
pub fn grants_of_user(conn: &mut DbConnection, user_id: &str) -> Result<Vec<Grant>, RepoError> {
    // Read on every `GET /users/current`: on the backend's own connection (see `on_backend!`).
    Ok(on_backend!(conn, |conn| account_access::table
        .filter(account_access::user_id.eq(user_id))
        .order((
            account_access::bank_id.asc(),
            account_access::account_id.asc(),
            account_access::view_id.asc(),
        ))
        .select((
            account_access::bank_id,
            account_access::account_id,
            account_access::view_id,
            account_access::is_system,
        ))
        .load(conn))?)
}

/// The accounts `user_id` holds, as `(bank_id, account_id)`.
pub fn held_by(conn: &mut DbConnection, user_id: &str) -> Result<Vec<(String, String)>, RepoError> {
    Ok(account_holders::table
        .filter(account_holders::user_id.eq(user_id))
        .order((
            account_holders::bank_id.asc(),
            account_holders::account_id.asc(),
        ))
        .select((account_holders::bank_id, account_holders::account_id))
        .load(conn)?)
}

/// Removes `user_id` from the account's holders; `false` if they were not one.
pub fn remove_holder(
    conn: &mut DbConnection,
    bank_id: &str,
    account_id: &str,
    user_id: &str,
) -> Result<bool, RepoError> {
    crate::connection::write(conn, |conn| {
        let removed = diesel::delete(account_holders::table.find((bank_id, account_id, user_id)))
            .execute(conn)?;
        Ok(removed == 1)
    })
}
