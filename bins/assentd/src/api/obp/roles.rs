//! The role catalogue and entitlements (roles granted to users).

use super::auth::Authenticated;
use super::errors::*;
use super::users::{EntitlementJson, ErrorJson};
use crate::services::caller::Operator;
use crate::services::roles::{self, Grantee, NewEntitlement};
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use assent_identity::roles::ROLES;
use assent_repository::entitlements::EntitlementRow;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct RoleJson {
    pub role: String,
    pub requires_bank_id: bool,
}

#[derive(Serialize, ToSchema)]
pub struct RolesJson {
    pub roles: Vec<RoleJson>,
}

#[derive(Serialize, ToSchema)]
pub struct EntitlementListJson {
    pub list: Vec<EntitlementJson>,
}

/// Body of `POST /users/USER_ID/entitlements`.
#[derive(Deserialize, ToSchema)]
pub struct CreateEntitlementJson {
    /// Empty for a system role.
    #[schema(example = "")]
    pub bank_id: String,
    #[schema(example = "CanGetAnyUser")]
    pub role_name: String,
}

pub fn list_json(rows: Vec<EntitlementRow>) -> EntitlementListJson {
    EntitlementListJson {
        list: rows.into_iter().map(EntitlementJson::from).collect(),
    }
}

/// Get Roles: every role an entitlement may name.
#[utoipa::path(
    get, path = "/obp/v5.1.0/roles", tag = "OBP: roles", security(("directLogin" = []), ("dAuth" = []), ("consentJwt" = [], "consumerKey" = [])),
    responses(
        (status = 200, description = "The role catalogue", body = RolesJson),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
    )
)]
pub async fn get_roles(
    state: web::Data<AppState>,
    caller: Authenticated,
) -> Result<HttpResponse, ObpError> {
    caller.run(&state, |_, _| Ok::<_, ObpError>(())).await?;
    Ok(HttpResponse::Ok().json(RolesJson {
        roles: ROLES
            .iter()
            .map(|r| RoleJson {
                role: r.name().to_owned(),
                requires_bank_id: r.requires_bank_id(),
            })
            .collect(),
    }))
}

/// Add Entitlement for a User.
#[utoipa::path(
    post, path = "/obp/v5.1.0/users/{user_id}/entitlements", tag = "OBP: roles",
    params(("user_id" = String, Path)), request_body = CreateEntitlementJson, security(("directLogin" = []), ("dAuth" = [])),
    responses(
        (status = 201, description = "Granted", body = EntitlementJson),
        (status = 400, description = "OBP-10001 bad JSON, OBP-10007 unknown role, OBP-30205 bank role without bank, OBP-30206 system role with bank", body = ErrorJson),
        (status = 409, description = "OBP-30216 duplicate", body = ErrorJson),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
        (status = 403, description = "OBP-20006: needs CanCreateEntitlementAtAnyBank, or CanCreateEntitlementAtOneBank at that bank", body = ErrorJson),
        (status = 404, description = "OBP-20005 unknown user, OBP-30001 unknown bank", body = ErrorJson),
    )
)]
pub async fn add_entitlement(
    state: web::Data<AppState>,
    caller: Authenticated,
    user_id: web::Path<String>,
    body: web::Json<CreateEntitlementJson>,
) -> Result<HttpResponse, ObpError> {
    let body = body.into_inner();
    let grant = NewEntitlement {
        grantee: Grantee::Id(user_id.into_inner()),
        role_name: body.role_name,
        bank_id: Some(body.bank_id),
    };
    let row = caller
        .run(&state, move |ctx, caller| {
            Ok(roles::grant(ctx, Operator::User(&caller), grant)?)
        })
        .await?;
    Ok(HttpResponse::Created().json(EntitlementJson::from(row)))
}

/// Delete Entitlement.
#[utoipa::path(
    delete, path = "/obp/v5.1.0/users/{user_id}/entitlement/{entitlement_id}", tag = "OBP: roles",
    params(("user_id" = String, Path), ("entitlement_id" = String, Path)), security(("directLogin" = []), ("dAuth" = [])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
        (status = 403, description = "OBP-20006: needs CanDeleteEntitlementAtAnyBank", body = ErrorJson),
        (status = 404, description = "OBP-20005 unknown user, OBP-30212 unknown entitlement", body = ErrorJson),
    )
)]
pub async fn delete_entitlement(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ObpError> {
    let (user_id, entitlement_id) = path.into_inner();
    caller
        .run(&state, move |ctx, caller| {
            Ok(roles::revoke(ctx, &caller, &user_id, &entitlement_id)?)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Get Entitlements for User.
#[utoipa::path(
    get, path = "/obp/v5.1.0/users/{user_id}/entitlements", tag = "OBP: roles",
    params(("user_id" = String, Path)), security(("directLogin" = []), ("dAuth" = []), ("consentJwt" = [], "consumerKey" = [])),
    responses(
        (status = 200, description = "The user's entitlements", body = EntitlementListJson),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
        (status = 403, description = "OBP-20006: needs CanGetEntitlementsForAnyUserAtAnyBank", body = ErrorJson),
        (status = 404, description = "OBP-20005 unknown user", body = ErrorJson),
    )
)]
pub async fn user_entitlements(
    state: web::Data<AppState>,
    caller: Authenticated,
    user_id: web::Path<String>,
) -> Result<HttpResponse, ObpError> {
    let user_id = user_id.into_inner();
    let rows = caller
        .run(&state, move |ctx, caller| {
            Ok(roles::of_user(ctx, &caller, &user_id)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(list_json(rows)))
}

/// Get my Entitlements.
#[utoipa::path(
    get, path = "/obp/v5.1.0/my/entitlements", tag = "OBP: roles", security(("directLogin" = []), ("dAuth" = [])),
    responses(
        (status = 200, description = "The caller's entitlements", body = EntitlementListJson),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
    )
)]
pub async fn my_entitlements(
    state: web::Data<AppState>,
    caller: Authenticated,
) -> Result<HttpResponse, ObpError> {
    let rows = caller
        .run(&state, |ctx, caller| Ok(roles::mine(ctx, &caller)?))
        .await?;
    Ok(HttpResponse::Ok().json(list_json(rows)))
}

/// Get all Entitlements.
#[utoipa::path(
    get, path = "/obp/v5.1.0/entitlements", tag = "OBP: roles", security(("directLogin" = []), ("dAuth" = []), ("consentJwt" = [], "consumerKey" = [])),
    responses(
        (status = 200, description = "Every entitlement", body = EntitlementListJson),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
        (status = 403, description = "OBP-20006: needs CanGetEntitlementsForAnyUserAtAnyBank", body = ErrorJson),
    )
)]
pub async fn all_entitlements(
    state: web::Data<AppState>,
    caller: Authenticated,
) -> Result<HttpResponse, ObpError> {
    let rows = caller
        .run(&state, |ctx, caller| Ok(roles::all(ctx, &caller)?))
        .await?;
    Ok(HttpResponse::Ok().json(list_json(rows)))
}

/// Get Entitlements for One Bank: a user's entitlements at a bank.
#[utoipa::path(
    get, path = "/obp/v5.1.0/banks/{bank_id}/users/{user_id}/entitlements", tag = "OBP: roles",
    params(("bank_id" = String, Path), ("user_id" = String, Path)), security(("directLogin" = []), ("dAuth" = []), ("consentJwt" = [], "consumerKey" = [])),
    responses(
        (status = 200, description = "The user's entitlements at the bank", body = EntitlementListJson),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
        (status = 403, description = "OBP-20006: needs CanGetEntitlementsForAnyUserAtAnyBank, or CanGetEntitlementsForAnyUserAtOneBank at that bank", body = ErrorJson),
        (status = 404, description = "OBP-30001 unknown bank, OBP-20005 unknown user", body = ErrorJson),
    )
)]
pub async fn bank_user_entitlements(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ObpError> {
    let (bank_id, user_id) = path.into_inner();
    let rows = caller
        .run(&state, move |ctx, caller| {
            Ok(roles::of_user_at_bank(ctx, &caller, &bank_id, &user_id)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(list_json(rows)))
}
