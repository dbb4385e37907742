//! User auth contexts: key/value pairs that map a user to the bank's own customer records,
//! kept by staff holding the auth-context roles.

use super::auth::SignedIn;
use super::roles::{MissingRoles, Need, require};
use super::{Context, Failure, record, refuse, rollback_if_refused};
use assent_identity::auth_context::{InvalidAuthContext, validate};
use assent_identity::roles;
use assent_repository::DbConnection;
use assent_repository::auth_contexts::{self, AuthContextRow};
use serde_json::json;

/// Why an auth-context use case was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthContextRefusal {
    MissingRoles(MissingRoles),
    Invalid(InvalidAuthContext),
    UserNotFound,
    /// The user has no auth context of that id.
    NotFound,
}

impl From<MissingRoles> for AuthContextRefusal {
    fn from(missing: MissingRoles) -> Self {
        AuthContextRefusal::MissingRoles(missing)
    }
}

type Outcome<T> = Result<T, Failure<AuthContextRefusal>>;

fn existing_user(conn: &mut DbConnection, user_id: &str) -> Outcome<String> {
    super::users::existing_user(conn, user_id)?
        .ok_or(Failure::Refused(AuthContextRefusal::UserNotFound))
}

/// A key and value to set for a user.
#[derive(Debug, Clone)]
pub struct SetAuthContext {
    pub user_id: String,
    pub key: String,
    pub value: String,
}

/// Sets a key for a user (setting it again replaces its value), audited as
/// `auth_context.set`. Needs `CanCreateUserAuthContext`.
pub fn set(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    input: SetAuthContext,
) -> Outcome<AuthContextRow> {
    require(
        ctx,
        caller,
        &[Need::System(roles::CAN_CREATE_USER_AUTH_CONTEXT)],
    )?;
    let (key, value) = validate(&input.key, &input.value)
        .map_err(|e| Failure::Refused(AuthContextRefusal::Invalid(e)))?;
    let now = ctx.now;
    let conn = ctx.conn();
    let user_id = existing_user(conn, &input.user_id)?;
    rollback_if_refused(conn, |conn| {
        let row = auth_contexts::set(conn, &user_id, &key, &value, now)?;
        record(
            conn,
            now,
            "auth_context.set",
            Some(&user_id),
            json!({
                "user_auth_context_id": row.user_auth_context_id, "key": row.context_key,
                "by": caller.user.user_id,
            }),
        )?;
        Ok(row)
    })
}

/// A user's auth contexts. Needs `CanGetUserAuthContext`.
pub fn list(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    user_id: &str,
) -> Outcome<Vec<AuthContextRow>> {
    require(
        ctx,
        caller,
        &[Need::System(roles::CAN_GET_USER_AUTH_CONTEXT)],
    )?;
    let conn = ctx.conn();
    let user_id = existing_user(conn, user_id)?;
    Ok(auth_contexts::list(conn, &user_id)?)
}

/// Deletes every auth context of a user, audited as `auth_context.deleted` with the count.
/// Needs `CanDeleteUserAuthContext`.
pub fn delete_all(ctx: &mut Context<'_>, caller: &SignedIn, user_id: &str) -> Outcome<()> {
    require(
        ctx,
        caller,
        &[Need::System(roles::CAN_DELETE_USER_AUTH_CONTEXT)],
    )?;
    let now = ctx.now;
    let conn = ctx.conn();
    let user_id = existing_user(conn, user_id)?;
    rollback_if_refused(conn, |conn| {
        let deleted = auth_contexts::delete_all(conn, &user_id)?;
        record(
            conn,
            now,
            "auth_context.deleted",
            Some(&user_id),
            json!({ "count": deleted, "by": caller.user.user_id }),
        )?;
        Ok(())
    })
}

/// One auth context of a user.
#[derive(Debug, Clone)]
pub struct AuthContextRef {
    pub user_id: String,
    pub user_auth_context_id: String,
}

/// Deletes one auth context of a user, audited as `auth_context.deleted`. Needs
/// `CanDeleteUserAuthContext`.
pub fn delete(ctx: &mut Context<'_>, caller: &SignedIn, target: AuthContextRef) -> Outcome<()> {
    require(
        ctx,
        caller,
        &[Need::System(roles::CAN_DELETE_USER_AUTH_CONTEXT)],
    )?;
    let now = ctx.now;
    let conn = ctx.conn();
    let user_id = existing_user(conn, &target.user_id)?;
    let context_id = target.user_auth_context_id.as_str();
    rollback_if_refused(conn, |conn| {
        if !auth_contexts::delete(conn, &user_id, context_id)? {
            return refuse(AuthContextRefusal::NotFound);
        }
        record(
            conn,
            now,
            "auth_context.deleted",
            Some(&user_id),
            json!({ "user_auth_context_id": context_id, "by": caller.user.user_id }),
        )?;
        Ok(())
    })
}
