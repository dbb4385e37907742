//! User auth contexts: key/value pairs that map a user to the bank's own customer records.

use super::auth::Authenticated;
use super::errors::*;
use super::users::ErrorJson;
use crate::services::auth_contexts::{self, AuthContextRef, SetAuthContext};
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use assent_repository::auth_contexts::AuthContextRow;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
pub struct CreateAuthContextJson {
    #[schema(example = "CUSTOMER_NUMBER", pattern = "^[A-Za-z0-9_.-]{1,255}$")]
    pub key: String,
    #[schema(
        example = "78987432",
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$",
        max_length = 255
    )]
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
    params(("user_id" = String, Path)), request_body = CreateAuthContextJson, security(("directLogin" = []), ("dAuth" = [])),
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
    let body = body.into_inner();
    let input = SetAuthContext {
        user_id: user_id.into_inner(),
        key: body.key,
        value: body.value,
    };
    let row = caller
        .run(&state, move |ctx, caller| {
            Ok(auth_contexts::set(ctx, &caller, input)?)
        })
        .await?;
    Ok(HttpResponse::Created().json(context_json(row)))
}

/// Get User Auth Contexts.
#[utoipa::path(
    get, path = "/obp/v5.1.0/users/{user_id}/auth-context", tag = "OBP: users",
    params(("user_id" = String, Path)), security(("directLogin" = []), ("dAuth" = []), ("consentJwt" = [], "consumerKey" = [])),
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
            Ok(auth_contexts::list(ctx, &caller, &user_id)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(AuthContextsJson {
        user_auth_contexts: rows.into_iter().map(context_json).collect(),
    }))
}

/// Delete User's Auth Contexts (all of them).
#[utoipa::path(
    delete, path = "/obp/v5.1.0/users/{user_id}/auth-context", tag = "OBP: users",
    params(("user_id" = String, Path)), security(("directLogin" = []), ("dAuth" = [])),
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
            Ok(auth_contexts::delete_all(ctx, &caller, &user_id)?)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Delete User Auth Context (one pair).
#[utoipa::path(
    delete, path = "/obp/v5.1.0/users/{user_id}/auth-context/{user_auth_context_id}", tag = "OBP: users",
    params(("user_id" = String, Path), ("user_auth_context_id" = String, Path)), security(("directLogin" = []), ("dAuth" = [])),
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
    let (user_id, user_auth_context_id) = path.into_inner();
    let target = AuthContextRef {
        user_id,
        user_auth_context_id,
    };
    caller
        .run(&state, move |ctx, caller| {
            Ok(auth_contexts::delete(ctx, &caller, target)?)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
