//! The role catalogue and entitlements (roles granted to users).

use super::auth::{Authenticated, Need, require};
use super::errors::*;
use super::users::{EntitlementJson, ErrorJson};
use crate::services::record;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use assent_identity::UserId;
use assent_identity::roles::{EntitlementError, ROLES, Role, check_entitlement};
use assent_repository::entitlements::{self, EntitlementRow, InsertEntitlement};
use assent_repository::{DbConnection, RepoError, banks, transaction, users};
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

pub fn not_found(message: &str) -> ObpError {
    ObpError::new(StatusCode::NOT_FOUND, message)
}

/// The user named by a path id, or 404 OBP-20005.
pub fn existing_user(conn: &mut DbConnection, user_id: &str) -> Result<String, ObpError> {
    let id = uuid::Uuid::parse_str(user_id).map_err(|_| not_found(USER_NOT_FOUND_BY_ID))?;
    users::find_by_id(conn, &UserId(id))
        .map_err(|e| ObpError::internal(e))?
        .map(|row| row.user_id)
        .ok_or_else(|| not_found(USER_NOT_FOUND_BY_ID))
}

/// The catalogue's role for `role_name`, if the bank rules hold and the bank exists.
pub fn checked_role(
    conn: &mut DbConnection,
    role_name: &str,
    bank_id: Option<&str>,
) -> Result<Role, ObpError> {
    let role = check_entitlement(role_name, bank_id).map_err(|e| match e {
        EntitlementError::UnknownRole => ObpError::bad_request(format!(
            "{INCORRECT_ROLE_NAME} {role_name}. Possible roles are {}",
            ROLES
                .iter()
                .map(|r| r.name())
                .collect::<Vec<_>>()
                .join(", ")
        )),
        EntitlementError::BankIdRequired => ObpError::bad_request(ENTITLEMENT_IS_BANK_ROLE),
        EntitlementError::BankIdNotAllowed => ObpError::bad_request(ENTITLEMENT_IS_SYSTEM_ROLE),
    })?;
    if let Some(bank) = bank_id
        && (!assent_identity::bank::is_valid_bank_id(bank)
            || banks::find(conn, bank)
                .map_err(|e| ObpError::internal(e))?
                .is_none())
    {
        return Err(not_found(BANK_NOT_FOUND));
    }
    Ok(role)
}

/// Get Roles: every role an entitlement may name.
#[utoipa::path(
    get, path = "/obp/v5.1.0/roles", tag = "OBP: roles", security(("directLogin" = [])),
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
    params(("user_id" = String, Path)), request_body = CreateEntitlementJson, security(("directLogin" = [])),
    responses(
        (status = 201, description = "Granted", body = EntitlementJson),
        (status = 400, description = "OBP-10001 bad JSON, OBP-10007 unknown role, OBP-30205 bank role without bank, OBP-30206 system role with bank, OBP-30216 duplicate", body = ErrorJson),
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
    let user_id = user_id.into_inner();
    let body = body.into_inner();
    let row = caller
        .run(&state, move |ctx, caller| {
            let (state, conn, _) = ctx.legacy_parts();
            let bank_id = Some(body.bank_id.as_str()).filter(|b| !b.is_empty());
            let mut needs = vec![Need::System("CanCreateEntitlementAtAnyBank")];
            if let Some(bank) = bank_id {
                needs.push(Need::AtBank("CanCreateEntitlementAtOneBank", bank));
            }
            require(conn, &caller, &needs)?;
            let role = checked_role(conn, &body.role_name, bank_id)?;
            let user_id = existing_user(conn, &user_id)?;
            let outcome = crate::services::roles::grant(
                conn,
                &user_id,
                role,
                bank_id,
                &caller.user.user_id,
                state.clock.now(),
            )
            .map_err(|e| ObpError::internal(e))?;
            match outcome {
                InsertEntitlement::Created(row) => Ok(row),
                InsertEntitlement::AlreadyExists => {
                    Err(ObpError::bad_request(ENTITLEMENT_ALREADY_EXISTS))
                }
            }
        })
        .await?;
    Ok(HttpResponse::Created().json(EntitlementJson::from(row)))
}

/// Delete Entitlement.
#[utoipa::path(
    delete, path = "/obp/v5.1.0/users/{user_id}/entitlement/{entitlement_id}", tag = "OBP: roles",
    params(("user_id" = String, Path), ("entitlement_id" = String, Path)), security(("directLogin" = [])),
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
            let (state, conn, _) = ctx.legacy_parts();
            require(
                conn,
                &caller,
                &[Need::System("CanDeleteEntitlementAtAnyBank")],
            )?;
            let user_id = existing_user(conn, &user_id)?;
            let at = state.clock.now();
            let deleted = transaction(conn, |conn| {
                let Some(row) =
                    entitlements::find(conn, &entitlement_id)?.filter(|e| e.user_id == user_id)
                else {
                    return Ok(false);
                };
                let deleted = entitlements::delete(conn, &row.entitlement_id)?;
                if deleted {
                    record(
                        conn,
                        at,
                        "entitlement.revoked",
                        Some(&user_id),
                        serde_json::json!({
                            "entitlement_id": row.entitlement_id, "role_name": row.role_name,
                            "bank_id": row.bank_id, "by": caller.user.user_id,
                        }),
                    )?;
                }
                Ok::<_, RepoError>(deleted)
            })
            .map_err(|e| ObpError::internal(e))?;
            if deleted {
                Ok(())
            } else {
                Err(not_found(ENTITLEMENT_NOT_FOUND))
            }
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Get Entitlements for User.
#[utoipa::path(
    get, path = "/obp/v5.1.0/users/{user_id}/entitlements", tag = "OBP: roles",
    params(("user_id" = String, Path)), security(("directLogin" = [])),
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
            let (_, conn, _) = ctx.legacy_parts();
            require(
                conn,
                &caller,
                &[Need::System("CanGetEntitlementsForAnyUserAtAnyBank")],
            )?;
            let user_id = existing_user(conn, &user_id)?;
            entitlements::list_for_user(conn, &user_id).map_err(|e| ObpError::internal(e))
        })
        .await?;
    Ok(HttpResponse::Ok().json(list_json(rows)))
}

/// Get my Entitlements.
#[utoipa::path(
    get, path = "/obp/v5.1.0/my/entitlements", tag = "OBP: roles", security(("directLogin" = [])),
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
        .run(&state, |ctx, caller| {
            let (_, conn, _) = ctx.legacy_parts();
            super::auth::customer_only(&caller)?;
            entitlements::list_for_user(conn, &caller.user.user_id)
                .map_err(|e| ObpError::internal(e))
        })
        .await?;
    Ok(HttpResponse::Ok().json(list_json(rows)))
}

/// Get all Entitlements.
#[utoipa::path(
    get, path = "/obp/v5.1.0/entitlements", tag = "OBP: roles", security(("directLogin" = [])),
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
        .run(&state, |ctx, caller| {
            let (_, conn, _) = ctx.legacy_parts();
            require(
                conn,
                &caller,
                &[Need::System("CanGetEntitlementsForAnyUserAtAnyBank")],
            )?;
            entitlements::list_all(conn).map_err(|e| ObpError::internal(e))
        })
        .await?;
    Ok(HttpResponse::Ok().json(list_json(rows)))
}

/// Get Entitlements for One Bank: a user's entitlements at a bank.
#[utoipa::path(
    get, path = "/obp/v5.1.0/banks/{bank_id}/users/{user_id}/entitlements", tag = "OBP: roles",
    params(("bank_id" = String, Path), ("user_id" = String, Path)), security(("directLogin" = [])),
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
            let (_, conn, _) = ctx.legacy_parts();
            require(
                conn,
                &caller,
                &[
                    Need::System("CanGetEntitlementsForAnyUserAtAnyBank"),
                    Need::AtBank("CanGetEntitlementsForAnyUserAtOneBank", &bank_id),
                ],
            )?;
            if banks::find(conn, &bank_id)
                .map_err(|e| ObpError::internal(e))?
                .is_none()
            {
                return Err(not_found(BANK_NOT_FOUND));
            }
            let user_id = existing_user(conn, &user_id)?;
            entitlements::list_at_bank(conn, &bank_id, Some(&user_id))
                .map_err(|e| ObpError::internal(e))
        })
        .await?;
    Ok(HttpResponse::Ok().json(list_json(rows)))
}
