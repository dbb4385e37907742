//! Entitlement requests: a user asks for a role; an administrator grants it (as an entitlement)
//! and deletes the request, or just deletes it.

use super::auth::Authenticated;
use super::errors::*;
use super::users::ErrorJson;
use crate::services::entitlement_requests as requests;
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use assent_repository::entitlements::EntitlementRequestRow;
use assent_repository::users::UserDetailsRow;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
pub struct CreateEntitlementRequestJson {
    /// Empty for a system role.
    #[schema(example = "")]
    pub bank_id: String,
    #[schema(example = "CanGetAnyUser")]
    pub role_name: String,
}

/// The requester, as OBP shows one.
#[derive(Serialize, ToSchema)]
pub struct RequesterJson {
    pub user_id: String,
    pub email: String,
    pub provider_id: String,
    pub provider: String,
    pub username: String,
}

#[derive(Serialize, ToSchema)]
pub struct EntitlementRequestJson {
    pub entitlement_request_id: String,
    pub user: RequesterJson,
    pub role_name: String,
    pub bank_id: String,
    pub created: String,
}

#[derive(Serialize, ToSchema)]
pub struct EntitlementRequestsJson {
    pub entitlement_requests: Vec<EntitlementRequestJson>,
}

fn request_json(row: EntitlementRequestRow, user: UserDetailsRow) -> EntitlementRequestJson {
    EntitlementRequestJson {
        entitlement_request_id: row.entitlement_request_id,
        user: RequesterJson {
            user_id: user.user_id,
            email: user.email,
            provider_id: user.provider_id,
            provider: user.provider,
            username: user.username,
        },
        role_name: row.role_name,
        bank_id: row.bank_id,
        created: super::timestamp(row.created_at),
    }
}

fn list_json(rows: Vec<(EntitlementRequestRow, UserDetailsRow)>) -> EntitlementRequestsJson {
    EntitlementRequestsJson {
        entitlement_requests: rows.into_iter().map(|(r, u)| request_json(r, u)).collect(),
    }
}

/// Create Entitlement Request for the current user.
#[utoipa::path(
    post, path = "/obp/v5.1.0/entitlement-requests", tag = "OBP: roles",
    request_body = CreateEntitlementRequestJson, security(("directLogin" = []), ("dAuth" = [])),
    responses(
        (status = 201, description = "Requested", body = EntitlementRequestJson),
        (status = 400, description = "OBP-10001 bad JSON, OBP-10007 unknown role, OBP-30205 / OBP-30206 bank rules", body = ErrorJson),
        (status = 409, description = "OBP-30214 already requested", body = ErrorJson),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
        (status = 404, description = "OBP-30001 unknown bank", body = ErrorJson),
    )
)]
pub async fn create_entitlement_request(
    state: web::Data<AppState>,
    caller: Authenticated,
    body: web::Json<CreateEntitlementRequestJson>,
) -> Result<HttpResponse, ObpError> {
    let body = body.into_inner();
    let (row, user) = caller
        .run(&state, move |ctx, caller| {
            Ok(requests::create(
                ctx,
                &caller,
                &body.role_name,
                &body.bank_id,
            )?)
        })
        .await?;
    Ok(HttpResponse::Created().json(request_json(row, user)))
}

/// Get Entitlement Requests for the current user.
#[utoipa::path(
    get, path = "/obp/v5.1.0/my/entitlement-requests", tag = "OBP: roles", security(("directLogin" = []), ("dAuth" = [])),
    responses(
        (status = 200, description = "The caller's requests", body = EntitlementRequestsJson),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
    )
)]
pub async fn my_entitlement_requests(
    state: web::Data<AppState>,
    caller: Authenticated,
) -> Result<HttpResponse, ObpError> {
    let rows = caller
        .run(&state, |ctx, caller| Ok(requests::mine(ctx, &caller)?))
        .await?;
    Ok(HttpResponse::Ok().json(list_json(rows)))
}

/// Get Entitlement Requests for a User.
#[utoipa::path(
    get, path = "/obp/v5.1.0/users/{user_id}/entitlement-requests", tag = "OBP: roles",
    params(("user_id" = String, Path)), security(("directLogin" = []), ("dAuth" = []), ("consentJwt" = [], "consumerKey" = [])),
    responses(
        (status = 200, description = "The user's requests", body = EntitlementRequestsJson),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
        (status = 403, description = "OBP-20006: needs CanGetEntitlementRequestsAtAnyBank", body = ErrorJson),
        (status = 404, description = "OBP-20005 unknown user", body = ErrorJson),
    )
)]
pub async fn user_entitlement_requests(
    state: web::Data<AppState>,
    caller: Authenticated,
    user_id: web::Path<String>,
) -> Result<HttpResponse, ObpError> {
    let user_id = user_id.into_inner();
    let rows = caller
        .run(&state, move |ctx, caller| {
            Ok(requests::of_user(ctx, &caller, &user_id)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(list_json(rows)))
}

/// Get all Entitlement Requests.
#[utoipa::path(
    get, path = "/obp/v5.1.0/entitlement-requests", tag = "OBP: roles", security(("directLogin" = []), ("dAuth" = []), ("consentJwt" = [], "consumerKey" = [])),
    responses(
        (status = 200, description = "Every request", body = EntitlementRequestsJson),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
        (status = 403, description = "OBP-20006: needs CanGetEntitlementRequestsAtAnyBank", body = ErrorJson),
    )
)]
pub async fn all_entitlement_requests(
    state: web::Data<AppState>,
    caller: Authenticated,
) -> Result<HttpResponse, ObpError> {
    let rows = caller
        .run(&state, |ctx, caller| Ok(requests::all(ctx, &caller)?))
        .await?;
    Ok(HttpResponse::Ok().json(list_json(rows)))
}

/// Delete Entitlement Request.
#[utoipa::path(
    delete, path = "/obp/v5.1.0/entitlement-requests/{entitlement_request_id}", tag = "OBP: roles",
    params(("entitlement_request_id" = String, Path)), security(("directLogin" = []), ("dAuth" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
        (status = 403, description = "OBP-20006: needs CanDeleteEntitlementRequestsAtAnyBank", body = ErrorJson),
        (status = 404, description = "OBP-30215 unknown request", body = ErrorJson),
    )
)]
pub async fn delete_entitlement_request(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ObpError> {
    let id = id.into_inner();
    caller
        .run(&state, move |ctx, caller| {
            Ok(requests::delete(ctx, &caller, &id)?)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
