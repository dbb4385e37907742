//! Finding users (`CanGetAnyUser`): by username, id or email, or a filtered page of all, each
//! with their entitlements and whether they are locked.

use super::auth::SignedIn;
use super::paging::{InvalidPage, Page, page};
use super::roles::{MissingRoles, Need, require};
use super::{Context, Failure, Internal, refuse};
use assent_identity::registration::username_key;
use assent_identity::roles;
use assent_identity::{User, UserId};
use assent_repository::entitlements::{self, EntitlementRow};
use assent_repository::lockout;
use assent_repository::users::{self, LockFilter, UserQuery, UserRow};
use std::collections::HashMap;

/// Why a user query was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserQueryRefusal {
    MissingRoles(MissingRoles),
    NoUserWithUsername,
    NoUserWithId,
    NoUserWithEmail,
    InvalidLimit,
    InvalidOffset,
    InvalidSortDirection,
    InvalidLockedStatus,
}

impl From<MissingRoles> for UserQueryRefusal {
    fn from(missing: MissingRoles) -> Self {
        UserQueryRefusal::MissingRoles(missing)
    }
}

/// How a user is looked up.
#[derive(Debug, Clone)]
pub enum Lookup {
    Username(String),
    Id(String),
    /// Every user with this email address, ignoring case.
    Email(String),
}

/// A user as a query finds one.
#[derive(Debug, Clone)]
pub struct FoundUser {
    pub user: User,
    pub entitlements: Vec<EntitlementRow>,
    pub is_locked: bool,
}

/// Reads `limit` (default 50, 1 to 1000), `offset` (default 0), `sort_direction` (`ASC` or
/// `DESC`, default `DESC`, any case) and `locked_status` (`locked` or `active`).
pub fn parse_query(
    params: &HashMap<String, String>,
    max_bad_attempts: u32,
) -> Result<UserQuery, UserQueryRefusal> {
    let Page { limit, offset } = page(params).map_err(|invalid| match invalid {
        InvalidPage::Limit => UserQueryRefusal::InvalidLimit,
        InvalidPage::Offset => UserQueryRefusal::InvalidOffset,
    })?;
    let ascending = match params.get("sort_direction").map(|v| v.to_ascii_uppercase()) {
        None => false,
        Some(v) if v == "ASC" => true,
        Some(v) if v == "DESC" => false,
        Some(_) => return Err(UserQueryRefusal::InvalidSortDirection),
    };
    let lock = match params.get("locked_status").map(String::as_str) {
        None => LockFilter::Any,
        Some("locked") => LockFilter::Locked,
        Some("active") => LockFilter::Active,
        Some(_) => return Err(UserQueryRefusal::InvalidLockedStatus),
    };
    Ok(UserQuery {
        limit,
        offset,
        ascending,
        lock,
        max_bad_attempts: i32::try_from(max_bad_attempts).unwrap_or(i32::MAX),
    })
}

/// The users with their entitlements and lock state: three queries in all.
fn found(ctx: &mut Context<'_>, rows: Vec<UserRow>) -> Result<Vec<FoundUser>, Internal> {
    let max_bad_attempts = ctx.state.lockout.max_bad_attempts();
    let conn = ctx.conn();
    let ids: Vec<&str> = rows.iter().map(|r| r.user_id.as_str()).collect();
    let mut grants = entitlements::list_for_users(conn, &ids)?;
    let locked = lockout::locked_user_ids(conn, &rows, max_bad_attempts)?;
    let mut users = Vec::with_capacity(rows.len());
    for row in rows {
        let (mine, rest): (Vec<_>, Vec<_>) =
            grants.into_iter().partition(|e| e.user_id == row.user_id);
        grants = rest;
        let is_locked = locked.contains(&row.user_id);
        users.push(FoundUser {
            user: User::try_from(row)?,
            entitlements: mine,
            is_locked,
        });
    }
    Ok(users)
}

/// The users a lookup finds (at least one).
pub fn find(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    lookup: Lookup,
) -> Result<Vec<FoundUser>, Failure<UserQueryRefusal>> {
    require(ctx, caller, &[Need::System(roles::CAN_GET_ANY_USER)])?;
    let state = ctx.state;
    let (rows, missing) = match lookup {
        Lookup::Username(username) => (
            users::find_by_username(ctx.conn(), &state.config.provider, &username_key(&username))?
                .into_iter()
                .collect(),
            UserQueryRefusal::NoUserWithUsername,
        ),
        Lookup::Id(id) => (
            match uuid::Uuid::parse_str(&id) {
                Ok(id) => users::find_by_id(ctx.conn(), &UserId(id))?
                    .into_iter()
                    .collect(),
                Err(_) => Vec::new(),
            },
            UserQueryRefusal::NoUserWithId,
        ),
        Lookup::Email(email) => (
            users::find_by_email(ctx.conn(), &email)?,
            UserQueryRefusal::NoUserWithEmail,
        ),
    };
    if rows.is_empty() {
        return refuse(missing);
    }
    Ok(found(ctx, rows)?)
}

/// A page of users, newest first by default, as the query `params` ask
/// ([`parse_query`]).
pub fn list(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    params: &HashMap<String, String>,
) -> Result<Vec<FoundUser>, Failure<UserQueryRefusal>> {
    require(ctx, caller, &[Need::System(roles::CAN_GET_ANY_USER)])?;
    let query =
        parse_query(params, ctx.state.lockout.max_bad_attempts()).map_err(Failure::Refused)?;
    let rows = users::list(ctx.conn(), &query)?;
    Ok(found(ctx, rows)?)
}
