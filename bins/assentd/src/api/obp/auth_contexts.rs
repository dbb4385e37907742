//! User auth contexts: key/value pairs that map a user to the bank's own customer records.

use super::auth::{Authenticated, Need, require};
use super::errors::*;
use super::roles::existing_user;
use super::users::ErrorJson;
use crate::services::record;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use assent_identity::auth_context::validate;
use assent_repository::auth_contexts::{self, AuthContextRow};
use assent_repository::{RepoError, transaction};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
pub struct CreateAuthContextJson {
    #[schema(example = "CUSTOMER_NUMBER")]
    pub key: String,
    #[schema(example = "78987432")]
    pub value: String,
}

#[derive(Serialize, ToSchema)]
pub struct AuthContextJson {
    pub user_auth_context_id: String,
    pub user_id: String,
    pub key: String,
    pub value: String,
    pub time_stamp: String,
}

#[derive(Serialize, ToSchema)]
pub struct AuthContextsJson {
    pub user_auth_contexts: Vec<AuthContextJson>,
}

fn context_json(row: AuthContextRow) -> AuthContextJson {
    AuthContextJson {
        user_auth_context_id: row.user_auth_context_id,
        user_id: row.user_id,
        key: row.context_key,
        value: row.context_value,
        time_stamp: super::timestamp(row.updated_at),
    }
}

/// Create User Auth Context (setting a key again replaces its value).
#[utoipa::path(
    post, path = "/obp/v5.1.0/users/{user_id}/auth-context", tag = "OBP: users",
    params(("user_id" = String, Path)), request_body = CreateAuthContextJson, security(("directLogin" = [])),
    responses(
        (status = 201, description = "Stored", body = AuthContextJson),
        (status = 400, description = "OBP-10001 bad JSON, OBP-30281 bad key or value", body = ErrorJson),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
        (status = 403, description = "OBP-20006: needs CanCreateUserAuthContext", body = ErrorJson),
        (status = 404, description = "OBP-20005 unknown user", body = ErrorJson),
    )
)]
pub async fn create_auth_context(
    state: web::Data<AppState>,
    caller: Authenticated,
    user_id: web::Path<String>,
    body: web::Json<CreateAuthContextJson>,
) -> Result<HttpResponse, ObpError> {
    let user_id = user_id.into_inner();
    let body = body.into_inner();
    let row = caller
        .run(&state, move |ctx, caller| {
            let (state, conn, _) = ctx.legacy_parts();
            require(conn, &caller, &[Need::System("CanCreateUserAuthContext")])?;
            let (key, value) = validate(&body.key, &body.value).map_err(|_| ObpError::bad_request(INVALID_AUTH_CONTEXT))?;
            let user_id = existing_user(conn, &user_id)?;
            let at = state.clock.now();
            transaction(conn, |conn| {
                let row = auth_contexts::set(conn, &user_id, &key, &value, at)?;
                record(conn, at, "auth_context.set", Some(&user_id), serde_json::json!({
                    "user_auth_context_id": row.user_auth_context_id, "key": row.context_key, "by": caller.user.user_id,
                }))?;
                Ok::<_, RepoError>(row)
            })
            .map_err(|e| ObpError::internal(e))
        })
        .await?;
    Ok(HttpResponse::Created().json(context_json(row)))
}

/// Get User Auth Contexts.
#[utoipa::path(
    get, path = "/obp/v5.1.0/users/{user_id}/auth-context", tag = "OBP: users",
    params(("user_id" = String, Path)), security(("directLogin" = [])),
    responses(
        (status = 200, description = "The user's pairs", body = AuthContextsJson),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
        (status = 403, description = "OBP-20006: needs CanGetUserAuthContext", body = ErrorJson),
        (status = 404, description = "OBP-20005 unknown user", body = ErrorJson),
    )
)]
pub async fn list_auth_contexts(
    state: web::Data<AppState>,
    caller: Authenticated,
    user_id: web::Path<String>,
) -> Result<HttpResponse, ObpError> {
    let user_id = user_id.into_inner();
    let rows = caller
        .run(&state, move |ctx, caller| {
            let (_, conn, _) = ctx.legacy_parts();
            require(conn, &caller, &[Need::System("CanGetUserAuthContext")])?;
            let user_id = existing_user(conn, &user_id)?;
            auth_contexts::list(conn, &user_id).map_err(|e| ObpError::internal(e))
        })
        .await?;
    Ok(HttpResponse::Ok().json(AuthContextsJson {
        user_auth_contexts: rows.into_iter().map(context_json).collect(),
    }))
}

/// Delete User's Auth Contexts (all of them).
#[utoipa::path(
    delete, path = "/obp/v5.1.0/users/{user_id}/auth-context", tag = "OBP: users",
    params(("user_id" = String, Path)), security(("directLogin" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
        (status = 403, description = "OBP-20006: needs CanDeleteUserAuthContext", body = ErrorJson),
        (status = 404, description = "OBP-20005 unknown user", body = ErrorJson),
    )
)]
pub async fn delete_auth_contexts(
    state: web::Data<AppState>,
    caller: Authenticated,
    user_id: web::Path<String>,
) -> Result<HttpResponse, ObpError> {
    let user_id = user_id.into_inner();
    caller
        .run(&state, move |ctx, caller| {
            let (state, conn, _) = ctx.legacy_parts();
            require(conn, &caller, &[Need::System("CanDeleteUserAuthContext")])?;
            let user_id = existing_user(conn, &user_id)?;
            let at = state.clock.now();
            transaction(conn, |conn| {
                let deleted = auth_contexts::delete_all(conn, &user_id)?;
                record(
                    conn,
                    at,
                    "auth_context.deleted",
                    Some(&user_id),
                    serde_json::json!({ "count": deleted, "by": caller.user.user_id }),
                )
            })
            .map_err(|e: RepoError| ObpError::internal(e))
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Delete User Auth Context (one pair).
#[utoipa::path(
    delete, path = "/obp/v5.1.0/users/{user_id}/auth-context/{user_auth_context_id}", tag = "OBP: users",
    params(("user_id" = String, Path), ("user_auth_context_id" = String, Path)), security(("directLogin" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
        (status = 403, description = "OBP-20006: needs CanDeleteUserAuthContext", body = ErrorJson),
        (status = 404, description = "OBP-20005 unknown user, OBP-30280 unknown pair", body = ErrorJson),
    )
)]
pub async fn delete_auth_context(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ObpError> {
    let (user_id, context_id) = path.into_inner();
    caller
        .run(&state, move |ctx, caller| {
            let (state, conn, _) = ctx.legacy_parts();
            require(conn, &caller, &[Need::System("CanDeleteUserAuthContext")])?;
            let user_id = existing_user(conn, &user_id)?;
            let at = state.clock.now();
            let deleted = transaction(conn, |conn| {
                let deleted = auth_contexts::delete(conn, &user_id, &context_id)?;
                if deleted {
                    record(
                        conn,
                        at,
                        "auth_context.deleted",
                        Some(&user_id),
                        serde_json::json!({
                            "user_auth_context_id": context_id, "by": caller.user.user_id,
                        }),
                    )?;
                }
                Ok::<_, RepoError>(deleted)
            })
            .map_err(|e| ObpError::internal(e))?;
            if deleted {
                Ok(())
            } else {
                Err(ObpError::new(StatusCode::NOT_FOUND, AUTH_CONTEXT_NOT_FOUND))
            }
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
