//! Lock status, unlock and administrative locks.

use super::auth::{Authenticated, Need, require};
use super::errors::*;
use super::users::ErrorJson;
use crate::services::record;
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use assent_identity::registration::username_key;
use assent_repository::users::{self, UserRow};
use assent_repository::{DbConnection, RepoError, lockout, sessions, transaction};
use serde::Serialize;
use utoipa::ToSchema;

/// How `POST /users/USERNAME/locks` locks an account.
const LOCK_VIA_API: &str = "lock_via_api";

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

fn find_user(
    conn: &mut DbConnection,
    state: &AppState,
    username: &str,
) -> Result<UserRow, ObpError> {
    users::find_by_username(conn, &state.config.provider, &username_key(username))
        .map_err(|e| ObpError::internal(e))?
        .ok_or_else(|| {
            ObpError::new(
                actix_web::http::StatusCode::NOT_FOUND,
                USER_NOT_FOUND_BY_USERNAME,
            )
        })
}

fn lock_status(
    conn: &mut DbConnection,
    state: &AppState,
    user: &UserRow,
) -> Result<LockStatusJson, RepoError> {
    let attempts = lockout::attempts(conn, &state.config.provider, &user.username_key)?;
    Ok(LockStatusJson {
        username: user.username.clone(),
        bad_attempts_since_last_success_or_reset: attempts.as_ref().map_or(0, |a| a.bad_attempts),
        last_failure_date: attempts
            .and_then(|a| a.last_failure_at)
            .map(super::timestamp),
    })
}

/// Get User Lock Status.
#[utoipa::path(
    get, path = "/obp/v5.1.0/users/{username}/lock-status", tag = "OBP: users",
    params(("username" = String, Path)), security(("directLogin" = [])),
    responses(
        (status = 200, description = "Failed logins since the last success or unlock", body = LockStatusJson),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
        (status = 403, description = "OBP-20006: needs CanReadUserLockedStatus", body = ErrorJson),
        (status = 404, description = "OBP-20027 unknown username", body = ErrorJson),
    )
)]
pub async fn get_lock_status(
    state: web::Data<AppState>,
    caller: Authenticated,
    username: web::Path<String>,
) -> Result<HttpResponse, ObpError> {
    let username = username.into_inner();
    let status = caller
        .run(&state, move |ctx, caller| {
            let (state, conn, _) = ctx.legacy_parts();
            require(conn, &caller, &[Need::System("CanReadUserLockedStatus")])?;
            let user = find_user(conn, state, &username)?;
            lock_status(conn, state, &user).map_err(|e| ObpError::internal(e))
        })
        .await?;
    Ok(HttpResponse::Ok().json(status))
}

/// Unlock the user: clears the failure count and any administrative lock.
#[utoipa::path(
    put, path = "/obp/v5.1.0/users/{username}/lock-status", tag = "OBP: users",
    params(("username" = String, Path)), security(("directLogin" = [])),
    responses(
        (status = 200, description = "Unlocked", body = LockStatusJson),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
        (status = 403, description = "OBP-20006: needs CanUnlockUser", body = ErrorJson),
        (status = 404, description = "OBP-20027 unknown username", body = ErrorJson),
    )
)]
pub async fn unlock_user(
    state: web::Data<AppState>,
    caller: Authenticated,
    username: web::Path<String>,
) -> Result<HttpResponse, ObpError> {
    let username = username.into_inner();
    let status = caller
        .run(&state, move |ctx, caller| {
            let (state, conn, _) = ctx.legacy_parts();
            require(conn, &caller, &[Need::System("CanUnlockUser")])?;
            let user = find_user(conn, state, &username)?;
            let at = state.clock.now();
            transaction(conn, |conn| {
                lockout::unlock(
                    conn,
                    &state.config.provider,
                    &user.username_key,
                    &user.user_id,
                )?;
                record(
                    conn,
                    at,
                    "user.unlocked",
                    Some(&user.user_id),
                    serde_json::json!({ "by": caller.user.user_id }),
                )?;
                lock_status(conn, state, &user)
            })
            .map_err(|e: RepoError| ObpError::internal(e))
        })
        .await?;
    Ok(HttpResponse::Ok().json(status))
}

/// Lock User: locks the account until an unlock, and ends its sessions at once.
#[utoipa::path(
    post, path = "/obp/v5.1.0/users/{username}/locks", tag = "OBP: users",
    params(("username" = String, Path)), security(("directLogin" = [])),
    responses(
        (status = 201, description = "Locked", body = UserLockJson),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
        (status = 403, description = "OBP-20006: needs CanLockUser", body = ErrorJson),
        (status = 404, description = "OBP-20027 unknown username", body = ErrorJson),
    )
)]
pub async fn lock_user(
    state: web::Data<AppState>,
    caller: Authenticated,
    username: web::Path<String>,
) -> Result<HttpResponse, ObpError> {
    let username = username.into_inner();
    let lock = caller
        .run(&state, move |ctx, caller| {
            let (state, conn, _) = ctx.legacy_parts();
            require(conn, &caller, &[Need::System("CanLockUser")])?;
            let user = find_user(conn, state, &username)?;
            let at = state.clock.now();
            transaction(conn, |conn| {
                let lock = lockout::lock(conn, &user.user_id, LOCK_VIA_API, at)?;
                let ended = sessions::terminate_all_for_user(conn, &user.user_id, at, "administrator_lock", None)?;
                record(conn, at, "user.locked", Some(&user.user_id), serde_json::json!({
                    "by": caller.user.user_id, "type_of_lock": LOCK_VIA_API, "sessions_terminated": ended,
                }))?;
                Ok(lock)
            })
            .map_err(|e: RepoError| ObpError::internal(e))
        })
        .await?;
    Ok(HttpResponse::Created().json(UserLockJson {
        user_id: lock.user_id,
        type_of_lock: lock.type_of_lock,
        last_lock_date: super::timestamp(lock.locked_at),
    }))
}
