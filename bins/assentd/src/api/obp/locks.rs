//! Lock status, unlock and administrative locks.

use super::auth::Authenticated;
use super::errors::*;
use super::users::ErrorJson;
use crate::services::caller::Operator;
use crate::services::locks::{self, LockStatus, LockTarget};
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The query of the lock routes.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LockQuery {
    /// The user's provider: the server's own if the username is theirs, else the one provider
    /// that has it (a DAuth contract's network). Needed only when several providers have it.
    pub provider: Option<String>,
}

fn target(username: web::Path<String>, query: web::Query<LockQuery>) -> LockTarget {
    LockTarget {
        username: username.into_inner(),
        provider: query.into_inner().provider,
    }
}

#[derive(Serialize, ToSchema)]
pub struct LockStatusJson {
    pub username: String,
    pub bad_attempts_since_last_success_or_reset: i32,
    /// RFC 3339; null if the username never failed to log in.
    pub last_failure_date: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct UserLockJson {
    pub user_id: String,
    pub type_of_lock: String,
    pub last_lock_date: String,
}

pub(crate) fn status_json(status: LockStatus) -> LockStatusJson {
    LockStatusJson {
        username: status.username,
        bad_attempts_since_last_success_or_reset: status.bad_attempts,
        last_failure_date: status.last_failure_at.map(super::timestamp),
    }
}

/// Get User Lock Status.
#[utoipa::path(
    get, path = "/obp/v5.1.0/users/{username}/lock-status", tag = "OBP: users",
    params(("username" = String, Path), LockQuery), security(("directLogin" = []), ("dAuth" = []), ("consentJwt" = [], "consumerKey" = [])),
    responses(
        (status = 200, description = "Failed logins since the last success or unlock", body = LockStatusJson),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
        (status = 403, description = "OBP-20006: needs CanReadUserLockedStatus", body = ErrorJson),
        (status = 400, description = "OBP-20028 username at several providers, none named; OBP-10044 bad query", body = ErrorJson),
        (status = 404, description = "OBP-20027 unknown username", body = ErrorJson),
    )
)]
pub async fn get_lock_status(
    state: web::Data<AppState>,
    caller: Authenticated,
    username: web::Path<String>,
    query: web::Query<LockQuery>,
) -> Result<HttpResponse, ObpError> {
    let target = target(username, query);
    let status = caller
        .run(&state, move |ctx, caller| {
            Ok(locks::status(ctx, &caller, &target)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(status_json(status)))
}

/// Unlock the user: clears the failure count and any administrative lock.
#[utoipa::path(
    put, path = "/obp/v5.1.0/users/{username}/lock-status", tag = "OBP: users",
    params(("username" = String, Path), LockQuery), security(("directLogin" = []), ("dAuth" = [])),
    responses(
        (status = 200, description = "Unlocked", body = LockStatusJson),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
        (status = 403, description = "OBP-20006: needs CanUnlockUser", body = ErrorJson),
        (status = 400, description = "OBP-20028 username at several providers, none named; OBP-10044 bad query", body = ErrorJson),
        (status = 404, description = "OBP-20027 unknown username", body = ErrorJson),
    )
)]
pub async fn unlock_user(
    state: web::Data<AppState>,
    caller: Authenticated,
    username: web::Path<String>,
    query: web::Query<LockQuery>,
) -> Result<HttpResponse, ObpError> {
    let target = target(username, query);
    let status = caller
        .run(&state, move |ctx, caller| {
            Ok(locks::unlock(ctx, Operator::User(&caller), &target)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(status_json(status)))
}

/// Lock User: locks the account until an unlock, and ends its sessions at once.
#[utoipa::path(
    post, path = "/obp/v5.1.0/users/{username}/locks", tag = "OBP: users",
    params(("username" = String, Path), LockQuery), security(("directLogin" = []), ("dAuth" = [])),
    responses(
        (status = 201, description = "Locked", body = UserLockJson),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
        (status = 403, description = "OBP-20006: needs CanLockUser", body = ErrorJson),
        (status = 400, description = "OBP-20028 username at several providers, none named; OBP-10044 bad query", body = ErrorJson),
        (status = 404, description = "OBP-20027 unknown username", body = ErrorJson),
    )
)]
pub async fn lock_user(
    state: web::Data<AppState>,
    caller: Authenticated,
    username: web::Path<String>,
    query: web::Query<LockQuery>,
) -> Result<HttpResponse, ObpError> {
    let target = target(username, query);
    let lock = caller
        .run(&state, move |ctx, caller| {
            Ok(locks::lock(ctx, &caller, &target)?)
        })
        .await?;
    Ok(HttpResponse::Created().json(UserLockJson {
        user_id: lock.user_id,
        type_of_lock: lock.type_of_lock,
        last_lock_date: super::timestamp(lock.locked_at),
    }))
}
