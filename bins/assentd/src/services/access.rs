//! Account access: accounts and their holders, custom views, grants and revokes. Each change
//! is one transaction that first locks the account's access (`accounts::lock_access`), so the
//! rules that count (the last owner) hold under concurrency, and any refusal changes nothing.

use super::record;
use super::users::existing_user;
use assent_repository::accounts::{self, AccountRow, CustomViewRow};
use assent_repository::{DbConnection, RepoError, banks, transaction};
use assent_view_permissions::access::{self, AccessRefusal, Actor, OWNER_VIEW};
use assent_view_permissions::names;
use assent_view_permissions::permission::Permission;
use assent_view_permissions::system::system_view;
use assent_view_permissions::view::View;
use serde_json::json;
use time::OffsetDateTime;

/// A view named in a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewRequest {
    pub view_id: String,
    pub is_system: bool,
}

/// Why an access operation was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("bank not found")]
    BankNotFound,
    #[error("account not found")]
    AccountNotFound,
    #[error("user not found")]
    UserNotFound,
    #[error("system view {0} not found")]
    UnknownSystemView(String),
    #[error("custom view {0} not found on the account")]
    UnknownCustomView(String),
    #[error(transparent)]
    Refused(AccessRefusal),
    #[error("the user does not hold view {0}")]
    NoSuchGrant(String),
    #[error(transparent)]
    Repo(#[from] RepoError),
}

impl From<assent_repository::DieselError> for AccessError {
    fn from(error: assent_repository::DieselError) -> Self {
        AccessError::Repo(error.into())
    }
}

impl assent_repository::RetryableError for AccessError {
    fn is_retryable(&self) -> bool {
        matches!(self, AccessError::Repo(e) if e.is_retryable())
    }
}

/// The account, if the bank and the account exist.
pub fn existing_account(
    conn: &mut DbConnection,
    bank_id: &str,
    account_id: &str,
) -> Result<AccountRow, AccessError> {
    if !assent_identity::bank::is_valid_bank_id(bank_id) || banks::find(conn, bank_id)?.is_none() {
        return Err(AccessError::BankNotFound);
    }
    accounts::find(conn, bank_id, account_id)?.ok_or(AccessError::AccountNotFound)
}

/// What `user_id` may do on the account: whether they hold it, and the views they hold.
pub fn actor_of(
    conn: &mut DbConnection,
    bank_id: &str,
    account_id: &str,
    user_id: &str,
) -> Result<(bool, Vec<View>), RepoError> {
    Ok((
        accounts::is_holder(conn, bank_id, account_id, user_id)?,
        accounts::views_held(conn, bank_id, account_id, user_id)?,
    ))
}

/// Whether `user_id` may do `permission` on the account (one query).
pub fn can(
    conn: &mut DbConnection,
    user_id: &str,
    bank_id: &str,
    account_id: &str,
    permission: Permission,
) -> Result<bool, RepoError> {
    Ok(access::can(
        &accounts::views_held(conn, bank_id, account_id, user_id)?,
        permission,
    ))
}

/// The view a request names, on this account.
pub fn resolve(
    conn: &mut DbConnection,
    bank_id: &str,
    account_id: &str,
    view: &ViewRequest,
) -> Result<View, AccessError> {
    if view.is_system {
        system_view(&view.view_id)
            .ok_or_else(|| AccessError::UnknownSystemView(view.view_id.clone()))
    } else if names::custom_view_id(&view.view_id).as_deref() != Ok(view.view_id.as_str()) {
        // Not an id a custom view can have: never looked up (PostgreSQL refuses some
        // characters in text with an error).
        Err(AccessError::UnknownCustomView(view.view_id.clone()))
    } else {
        accounts::custom_view(conn, bank_id, account_id, &view.view_id)?
            .ok_or_else(|| AccessError::UnknownCustomView(view.view_id.clone()))?
            .view()
            .map_err(AccessError::Repo)
    }
}

/// The whole of a grant/revoke change: lock, check every part, then apply every part.
pub struct Change<'a> {
    pub bank_id: &'a str,
    pub account_id: &'a str,
    /// Who asks.
    pub caller: &'a str,
    /// Whose access changes.
    pub user_id: &'a str,
    pub grants: &'a [ViewRequest],
    pub revokes: &'a [ViewRequest],
}

/// Applies a change as a whole: every grant and revoke is allowed and possible, or nothing
/// happens. Returns the views granted.
pub fn apply(
    conn: &mut DbConnection,
    change: &Change<'_>,
    now: OffsetDateTime,
) -> Result<Vec<View>, AccessError> {
    transaction(conn, |conn| {
        existing_account(conn, change.bank_id, change.account_id)?;
        // Serialises every access change to this account until the transaction ends.
        accounts::lock_access(conn, change.bank_id, change.account_id)?;
        let (is_holder, views) = actor_of(conn, change.bank_id, change.account_id, change.caller)?;
        let actor = Actor {
            is_holder,
            views: &views,
        };
        // Someone who may delegate nothing learns nothing about users or views here.
        if !access::delegates_anything(&actor) {
            return Err(AccessError::Refused(AccessRefusal::MayNotGrant(
                String::new(),
            )));
        }
        let user_id = existing_user(conn, change.user_id)?.ok_or(AccessError::UserNotFound)?;
        let grants = change
            .grants
            .iter()
            .map(|v| resolve(conn, change.bank_id, change.account_id, v))
            .collect::<Result<Vec<_>, _>>()?;
        let revokes = change
            .revokes
            .iter()
            .map(|v| resolve(conn, change.bank_id, change.account_id, v))
            .collect::<Result<Vec<_>, _>>()?;
        let held = accounts::views_held(conn, change.bank_id, change.account_id, &user_id)?;
        let target_is_owner = held.iter().any(|v| v.is_system && v.view_id == OWNER_VIEW);
        let owners = usize::try_from(accounts::holders_of_view(
            conn,
            change.bank_id,
            change.account_id,
            OWNER_VIEW,
        )?)
        .unwrap_or(usize::MAX);
        let grant_refs: Vec<&View> = grants.iter().collect();
        let revoke_refs: Vec<&View> = revokes.iter().collect();
        access::decide_bulk(
            &actor,
            &grant_refs,
            &revoke_refs,
            owners,
            target_is_owner,
            user_id == change.caller,
        )
        .map_err(|(_, refusal)| AccessError::Refused(refusal))?;
        for view in &grants {
            accounts::grant(
                conn,
                change.bank_id,
                change.account_id,
                &user_id,
                &view.view_id,
                view.is_system,
                now,
            )?;
        }
        for view in &revokes {
            if !accounts::revoke(
                conn,
                change.bank_id,
                change.account_id,
                &user_id,
                &view.view_id,
            )? {
                return Err(AccessError::NoSuchGrant(view.view_id.clone()));
            }
        }
        // A last safety net under the lock: whatever the change, an owner remains.
        if accounts::holders_of_view(conn, change.bank_id, change.account_id, OWNER_VIEW)? == 0 {
            return Err(AccessError::Refused(AccessRefusal::LastOwner));
        }
        record(
            conn,
            now,
            "account_access.changed",
            Some(&user_id),
            json!({
                "bank_id": change.bank_id, "account_id": change.account_id, "by": change.caller,
                "granted": grants.iter().map(|v| v.view_id.as_str()).collect::<Vec<_>>(),
                "revoked": revokes.iter().map(|v| v.view_id.as_str()).collect::<Vec<_>>(),
            }),
        )?;
        Ok(grants.clone())
    })
}

/// A new account, with `holder` holding it (`owner` and `ManageCustomViews`). `false` if the
/// id is taken at the bank.
pub fn create_account(
    conn: &mut DbConnection,
    row: &AccountRow,
    holder: &str,
    caller: &str,
    now: OffsetDateTime,
) -> Result<bool, AccessError> {
    transaction(conn, |conn| {
        if banks::find(conn, &row.bank_id)?.is_none() {
            return Err(AccessError::BankNotFound);
        }
        let holder = existing_user(conn, holder)?.ok_or(AccessError::UserNotFound)?;
        if !accounts::create(conn, row, &holder, now)? {
            return Ok(false);
        }
        record(
            conn,
            now,
            "account.created",
            Some(&holder),
            json!({ "bank_id": row.bank_id, "account_id": row.account_id, "by": caller }),
        )?;
        Ok(true)
    })
}

/// Whether `caller` may define `view` (create, change or delete it) on the account.
pub fn may_define(
    conn: &mut DbConnection,
    bank_id: &str,
    account_id: &str,
    caller: &str,
    view: &View,
) -> Result<bool, RepoError> {
    let (is_holder, views) = actor_of(conn, bank_id, account_id, caller)?;
    let actor = Actor {
        is_holder,
        views: &views,
    };
    Ok(access::may_define(&actor, view).is_ok())
}

/// Whether `caller` may see the account's views: holders and those who may hand views on.
pub fn may_list_views(
    conn: &mut DbConnection,
    bank_id: &str,
    account_id: &str,
    caller: &str,
) -> Result<bool, RepoError> {
    let (is_holder, views) = actor_of(conn, bank_id, account_id, caller)?;
    Ok(access::delegates_anything(&Actor {
        is_holder,
        views: &views,
    }))
}

/// Deletes a custom view and its grants in one transaction.
pub fn delete_custom_view(
    conn: &mut DbConnection,
    bank_id: &str,
    account_id: &str,
    view_id: &str,
    caller: &str,
    now: OffsetDateTime,
) -> Result<bool, AccessError> {
    transaction(conn, |conn| {
        accounts::lock_access(conn, bank_id, account_id)?;
        let removed = accounts::delete_custom_view(conn, bank_id, account_id, view_id)?;
        if removed {
            record(
                conn,
                now,
                "custom_view.deleted",
                Some(caller),
                json!({
                    "bank_id": bank_id, "account_id": account_id, "view_id": view_id,
                }),
            )?;
        }
        Ok(removed)
    })
}

/// Stores a new custom view or replaces one (`replace`), in one transaction with its audit.
pub fn save_custom_view(
    conn: &mut DbConnection,
    row: &CustomViewRow,
    replace: bool,
    caller: &str,
    now: OffsetDateTime,
) -> Result<bool, AccessError> {
    transaction(conn, |conn| {
        accounts::lock_access(conn, &row.bank_id, &row.account_id)?;
        let saved = if replace {
            accounts::update_custom_view(conn, row)?
        } else {
            accounts::create_custom_view(conn, row)?
        };
        if saved {
            record(
                conn,
                now,
                if replace {
                    "custom_view.updated"
                } else {
                    "custom_view.created"
                },
                Some(caller),
                json!({ "bank_id": row.bank_id, "account_id": row.account_id, "view_id": row.view_id }),
            )?;
        }
        Ok(saved)
    })
}

/// The views every holder has on their account.
const HOLDER_VIEWS: [&str; 2] = [OWNER_VIEW, "ManageCustomViews"];

/// Gives a user back the default access of every account they hold (`owner` and
/// `ManageCustomViews`), in one transaction; returns how many grants were missing.
pub fn refresh_holder_access(
    conn: &mut DbConnection,
    user_id: &str,
    caller: &str,
    now: OffsetDateTime,
) -> Result<usize, AccessError> {
    transaction(conn, |conn| {
        let user_id = existing_user(conn, user_id)?.ok_or(AccessError::UserNotFound)?;
        let mut restored = 0;
        for (bank_id, account_id) in accounts::held_by(conn, &user_id)? {
            accounts::lock_access(conn, &bank_id, &account_id)?;
            for view in HOLDER_VIEWS {
                if accounts::grant(conn, &bank_id, &account_id, &user_id, view, true, now)? {
                    restored += 1;
                }
            }
        }
        record(
            conn,
            now,
            "user.refreshed",
            Some(&user_id),
            json!({
                "restored_grants": restored, "by": caller,
            }),
        )?;
        Ok(restored)
    })
}
