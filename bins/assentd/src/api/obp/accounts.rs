//! Accounts and account access: creating an account, its views (system and custom), granting
//! and revoking views, and listing who holds what.

use super::auth::{Authenticated, Need, require};
use super::errors::*;
use super::users::ErrorJson;
use crate::services::access::{self, AccessError, Change, ViewRequest};

use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use assent_repository::accounts::{self, AccountRow, CustomViewRow};
use assent_repository::{DbConnection, to_micros, transaction, users};
use assent_view_permissions::access::AccessRefusal;
use assent_view_permissions::names;
use assent_view_permissions::permission::{Permission, PermissionSet};
use assent_view_permissions::system::system_views;
use assent_view_permissions::view::{CustomViewError, CustomViewInput, View};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

/// A view as OBP's view JSON has it: every `can_*` field, plus what its holder may grant and
/// revoke.
pub fn view_json(view: &View) -> Value {
    let mut out = json!({
        "id": view.view_id,
        "short_name": view.short_name,
        "description": view.description,
        "metadata_view": view.metadata_view,
        "is_public": view.is_public,
        "is_system": view.is_system,
        "is_firehose": view.is_firehose,
        "alias": view.alias.as_str(),
        "hide_metadata_if_alias_used": view.hide_metadata_if_alias_used,
        "can_grant_access_to_views": view.can_grant.system_views,
        "can_revoke_access_to_views": view.can_revoke.system_views,
        "can_grant_access_to_custom_views": view.can_grant.custom_views,
        "can_revoke_access_to_custom_views": view.can_revoke.custom_views,
    });
    if let (Some(map), Ok(Value::Object(permissions))) =
        (out.as_object_mut(), serde_json::to_value(view.permissions))
    {
        map.extend(permissions);
    }
    out
}

fn access_error(error: AccessError) -> ObpError {
    match error {
        AccessError::BankNotFound => ObpError::new(StatusCode::NOT_FOUND, BANK_NOT_FOUND),
        AccessError::AccountNotFound => ObpError::new(StatusCode::NOT_FOUND, ACCOUNT_NOT_FOUND),
        AccessError::UserNotFound => ObpError::new(StatusCode::NOT_FOUND, USER_NOT_FOUND_BY_ID),
        AccessError::UnknownSystemView(_) => ObpError::bad_request(SYSTEM_VIEW_NOT_FOUND),
        AccessError::UnknownCustomView(_) => ObpError::bad_request(VIEW_NOT_FOUND),
        AccessError::Refused(AccessRefusal::LastOwner) => ObpError::bad_request(LAST_OWNER),
        AccessError::Refused(AccessRefusal::Contradictory(_)) => {
            ObpError::bad_request(GRANTED_AND_REVOKED)
        }
        AccessError::Refused(_) => ObpError::new(StatusCode::FORBIDDEN, NO_OWNER_ACCESS),
        AccessError::NoSuchGrant(_) => ObpError::bad_request(ACCOUNT_ACCESS_NOT_FOUND),
        AccessError::Repo(e) => ObpError::internal(e),
    }
}

#[derive(Deserialize, ToSchema)]
pub struct BalanceJson {
    #[schema(example = "EUR")]
    pub currency: String,
    #[schema(example = "0")]
    pub amount: String,
}

#[derive(Deserialize, ToSchema)]
pub struct CreateAccountJson {
    pub user_id: String,
    pub label: String,
    pub product_code: String,
    pub balance: BalanceJson,
}

fn is_text(value: &str, max: usize) -> bool {
    let len = value.chars().count();
    (1..=max).contains(&len) && !value.chars().any(char::is_control)
}

fn is_amount(amount: &str) -> bool {
    let digits = amount.strip_prefix('-').unwrap_or(amount);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    (1..=15).contains(&whole.len())
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.len() <= 4
        && fraction.bytes().all(|b| b.is_ascii_digit())
        && (!digits.contains('.') || !fraction.is_empty())
}

/// Create Account: makes `user_id` the holder, with `owner` and `ManageCustomViews`.
#[utoipa::path(
    put, path = "/obp/v5.1.0/banks/{bank_id}/accounts/{account_id}", tag = "OBP: accounts",
    params(("bank_id" = String, Path), ("account_id" = String, Path)),
    request_body = CreateAccountJson, security(("directLogin" = [])),
    responses(
        (status = 201, description = "Created", body = Object),
        (status = 400, description = "OBP-10001 bad JSON, OBP-30293 invalid account fields, OBP-30208 account id taken", body = ErrorJson),
        (status = 403, description = "OBP-20006: CanCreateAccount at the bank, unless creating one's own account", body = ErrorJson),
        (status = 404, description = "OBP-30001 unknown bank, OBP-20005 unknown user", body = ErrorJson),
    )
)]
pub async fn create_account(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
    body: web::Json<CreateAccountJson>,
) -> Result<HttpResponse, ObpError> {
    let (bank_id, account_id) = path.into_inner();
    let body = body.into_inner();
    let created = caller
        .run(&state, move |ctx, caller| {
            let (state, conn, _) = ctx.legacy_parts();
            if body.user_id != caller.user.user_id {
                require(conn, &caller, &[Need::AtBank("CanCreateAccount", &bank_id)])?;
            }
            let currency_ok = body.balance.currency.len() == 3
                && body
                    .balance
                    .currency
                    .bytes()
                    .all(|b| b.is_ascii_uppercase());
            let product_ok = is_text(&body.product_code, 64)
                && body
                    .product_code
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
            if !assent_identity::bank::is_valid_bank_id(&account_id)
                || !is_text(&body.label, 255)
                || !product_ok
                || !currency_ok
                || !is_amount(&body.balance.amount)
            {
                return Err(ObpError::bad_request(INVALID_ACCOUNT_FIELDS));
            }
            let row = AccountRow {
                bank_id: bank_id.clone(),
                account_id: account_id.clone(),
                label: body.label.trim().to_owned(),
                product_code: body.product_code,
                currency: body.balance.currency,
                balance_amount: body.balance.amount,
                created_at: to_micros(state.clock.now()),
                access_version: 0,
            };
            let created = access::create_account(
                conn,
                &row,
                &body.user_id,
                &caller.user.user_id,
                state.clock.now(),
            )
            .map_err(access_error)?;
            if !created {
                return Err(ObpError::bad_request(ACCOUNT_ID_TAKEN));
            }
            Ok(json!({
                "account_id": row.account_id,
                "bank_id": row.bank_id,
                "user_id": body.user_id,
                "label": row.label,
                "product_code": row.product_code,
                "balance": { "currency": row.currency, "amount": row.balance_amount },
                "account_routings": [],
            }))
        })
        .await?;
    Ok(HttpResponse::Created().json(created))
}

#[derive(Serialize, ToSchema)]
pub struct ViewsJson {
    #[schema(value_type = Vec<Object>)]
    pub views: Vec<Value>,
}

/// Get Views for Account: the system views and the account's custom views.
#[utoipa::path(
    get, path = "/obp/v5.1.0/banks/{bank_id}/accounts/{account_id}/views", tag = "OBP: accounts",
    params(("bank_id" = String, Path), ("account_id" = String, Path)), security(("directLogin" = [])),
    responses(
        (status = 200, description = "Every view of the account", body = ViewsJson),
        (status = 403, description = "OBP-20047: neither a holder nor holding a view that delegates views", body = ErrorJson),
        (status = 404, description = "OBP-30001 unknown bank, OBP-30018 unknown account", body = ErrorJson),
    )
)]
pub async fn list_views(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ObpError> {
    let (bank_id, account_id) = path.into_inner();
    let views = caller
        .run(&state, move |ctx, caller| {
            let (_, conn, _) = ctx.legacy_parts();
            access::existing_account(conn, &bank_id, &account_id).map_err(access_error)?;
            // Through a consent, only the views it names that the customer still holds count,
            // never the customer's standing as a holder.
            if let Some(scope) = caller.consent.as_ref().filter(|s| !s.everything) {
                let held = accounts::views_held(conn, &bank_id, &account_id, &caller.user.user_id)?;
                let reached: Vec<View> = held
                    .into_iter()
                    .filter(|v| {
                        scope.access.views.iter().any(|named| {
                            named.bank_id == bank_id
                                && named.account_id == account_id
                                && named.view_id == v.view_id
                        })
                    })
                    .collect();
                let actor = assent_view_permissions::access::Actor {
                    is_holder: false,
                    views: &reached,
                };
                if !assent_view_permissions::access::delegates_anything(&actor) {
                    return Err(ObpError::new(StatusCode::FORBIDDEN, NO_OWNER_ACCESS));
                }
            } else if !access::may_list_views(conn, &bank_id, &account_id, &caller.user.user_id)? {
                return Err(ObpError::new(StatusCode::FORBIDDEN, NO_OWNER_ACCESS));
            }
            let mut views: Vec<Value> = system_views().iter().map(view_json).collect();
            for row in accounts::custom_views_of(conn, &bank_id, &account_id)? {
                views.push(view_json(&row.view()?));
            }
            Ok(views)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ViewsJson { views }))
}

#[derive(Deserialize, ToSchema)]
pub struct CustomViewJson {
    #[schema(example = "_accountant")]
    pub name: Option<String>,
    pub description: Option<String>,
    pub metadata_view: Option<String>,
    pub is_public: Option<bool>,
    /// `public`, `private` or empty.
    pub which_alias_to_use: Option<String>,
    pub hide_metadata_if_alias_used: Option<bool>,
    /// The view's permissions: `can_*` names.
    pub allowed_actions: Option<Vec<String>>,
    pub can_grant_access_to_custom_views: Option<bool>,
    pub can_revoke_access_to_custom_views: Option<bool>,
}

fn permissions_of(names: &[String]) -> Result<PermissionSet, ObpError> {
    names
        .iter()
        .map(|n| Permission::from_name(n.trim()))
        .collect::<Option<PermissionSet>>()
        .ok_or_else(|| ObpError::bad_request(UNKNOWN_PERMISSION))
}

fn custom_view_error(error: CustomViewError) -> ObpError {
    match error {
        CustomViewError::Name(names::ViewNameError::MissingUnderscore) => {
            ObpError::bad_request(VIEW_NAME_NEEDS_UNDERSCORE)
        }
        _ => ObpError::bad_request(INVALID_CUSTOM_VIEW),
    }
}

/// Holders may define any custom view; managers of custom views only views within what they
/// have themselves (see `assent_view_permissions::access::may_define`).
fn require_may_define(
    conn: &mut DbConnection,
    bank_id: &str,
    account_id: &str,
    caller: &str,
    view: &View,
) -> Result<(), ObpError> {
    if access::may_define(conn, bank_id, account_id, caller, view)? {
        Ok(())
    } else {
        Err(ObpError::new(StatusCode::FORBIDDEN, NO_OWNER_ACCESS))
    }
}

/// Create Custom View.
#[utoipa::path(
    post, path = "/obp/v5.1.0/banks/{bank_id}/accounts/{account_id}/views", tag = "OBP: accounts",
    params(("bank_id" = String, Path), ("account_id" = String, Path)),
    request_body = CustomViewJson, security(("directLogin" = [])),
    responses(
        (status = 201, description = "The view", body = Object),
        (status = 400, description = "OBP-20020 name without _, OBP-30294 invalid view, OBP-30295 name taken, OBP-30296 unknown permission", body = ErrorJson),
        (status = 403, description = "OBP-20047", body = ErrorJson),
        (status = 404, description = "OBP-30001, OBP-30018", body = ErrorJson),
    )
)]
pub async fn create_custom_view(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
    body: web::Json<CustomViewJson>,
) -> Result<HttpResponse, ObpError> {
    let (bank_id, account_id) = path.into_inner();
    let body = body.into_inner();
    let view = caller
        .run(&state, move |ctx, caller| {
            let (state, conn, _) = ctx.legacy_parts();
            access::existing_account(conn, &bank_id, &account_id).map_err(access_error)?;
            let view = CustomViewInput {
                name: body.name.unwrap_or_default(),
                description: body.description.unwrap_or_default(),
                metadata_view: body.metadata_view.unwrap_or_default(),
                is_public: body.is_public.unwrap_or(false),
                alias: body.which_alias_to_use.unwrap_or_default(),
                hide_metadata_if_alias_used: body.hide_metadata_if_alias_used.unwrap_or(false),
                permissions: permissions_of(&body.allowed_actions.unwrap_or_default())?,
                can_grant_custom_views: body.can_grant_access_to_custom_views.unwrap_or(false),
                can_revoke_custom_views: body.can_revoke_access_to_custom_views.unwrap_or(false),
            }
            .into_view()
            .map_err(custom_view_error)?;
            let caller_id = caller.user.user_id.clone();
            under_account_lock(conn, &bank_id, &account_id, |conn| {
                require_may_define(conn, &bank_id, &account_id, &caller_id, &view)?;
                let row = CustomViewRow::new(&bank_id, &account_id, &view, state.clock.now());
                if !access::save_custom_view(conn, &row, false, &caller_id, state.clock.now())
                    .map_err(access_error)?
                {
                    return Err(ObpError::bad_request(CUSTOM_VIEW_EXISTS));
                }
                Ok(())
            })?;
            Ok(view_json(&view))
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// Update Custom View: fields not sent keep their value (unlike OBP); `allowed_actions`, when
/// sent, is the whole new set.
#[utoipa::path(
    put, path = "/obp/v5.1.0/banks/{bank_id}/accounts/{account_id}/views/{view_id}", tag = "OBP: accounts",
    params(("bank_id" = String, Path), ("account_id" = String, Path), ("view_id" = String, Path)),
    request_body = CustomViewJson, security(("directLogin" = [])),
    responses(
        (status = 200, description = "The view", body = Object),
        (status = 400, description = "OBP-30005 no such custom view, OBP-30294 invalid, OBP-30296 unknown permission, OBP-30297 system views cannot change", body = ErrorJson),
        (status = 403, description = "OBP-20047", body = ErrorJson),
    )
)]
pub async fn update_custom_view(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String, String)>,
    body: web::Json<CustomViewJson>,
) -> Result<HttpResponse, ObpError> {
    let (bank_id, account_id, view_id) = path.into_inner();
    let body = body.into_inner();
    let view = caller
        .run(&state, move |ctx, caller| {
            let (state, conn, _) = ctx.legacy_parts();
            access::existing_account(conn, &bank_id, &account_id).map_err(access_error)?;
            if names::is_system_view(&view_id) {
                return Err(ObpError::bad_request(SYSTEM_VIEW_IMMUTABLE));
            }
            let caller_id = caller.user.user_id.clone();
            // Read, merge and write under the account's lock: two partial updates at once
            // never drop each other's fields.
            let view = under_account_lock(conn, &bank_id, &account_id, |conn| {
                merged_custom_view(
                    conn,
                    (&bank_id, &account_id, &view_id),
                    &caller_id,
                    &body,
                    state.clock.now(),
                )
            })?;
            Ok(view_json(&view))
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Why work under an account's lock stopped: the database, or a refusal to answer with.
enum LockedWork {
    Database(assent_repository::RepoError),
    Refused(ObpError),
}

impl From<assent_repository::RepoError> for LockedWork {
    fn from(error: assent_repository::RepoError) -> Self {
        LockedWork::Database(error)
    }
}

impl From<assent_repository::DieselError> for LockedWork {
    fn from(error: assent_repository::DieselError) -> Self {
        LockedWork::Database(error.into())
    }
}

impl assent_repository::RetryableError for LockedWork {
    fn is_retryable(&self) -> bool {
        matches!(self, LockedWork::Database(e) if e.is_retryable())
    }
}

/// Runs `work` in one transaction that takes the account's lock first, so the caller's rights
/// are judged on what is stored when the change is made and changes to one account never
/// interleave. A refusal rolls everything back.
fn under_account_lock<T>(
    conn: &mut DbConnection,
    bank_id: &str,
    account_id: &str,
    mut work: impl FnMut(&mut DbConnection) -> Result<T, ObpError>,
) -> Result<T, ObpError> {
    transaction(conn, |conn| {
        accounts::lock_access(conn, bank_id, account_id)?;
        work(conn).map_err(LockedWork::Refused)
    })
    .map_err(|e| match e {
        LockedWork::Database(e) => ObpError::from(e),
        LockedWork::Refused(e) => e,
    })
}

/// The stored custom view with `body`'s fields applied and saved; call under the account's lock.
fn merged_custom_view(
    conn: &mut DbConnection,
    (bank_id, account_id, view_id): (&str, &str, &str),
    caller_id: &str,
    body: &CustomViewJson,
    now: time::OffsetDateTime,
) -> Result<View, ObpError> {
    let current = accounts::custom_view(conn, bank_id, account_id, view_id)?
        .ok_or_else(|| ObpError::bad_request(VIEW_NOT_FOUND))?
        .view()?;
    require_may_define(conn, bank_id, account_id, caller_id, &current)?;
    let view = CustomViewInput {
        name: current.short_name.clone(),
        description: body.description.clone().unwrap_or(current.description),
        metadata_view: body.metadata_view.clone().unwrap_or(current.metadata_view),
        is_public: body.is_public.unwrap_or(current.is_public),
        alias: body
            .which_alias_to_use
            .clone()
            .unwrap_or_else(|| current.alias.as_str().to_owned()),
        hide_metadata_if_alias_used: body
            .hide_metadata_if_alias_used
            .unwrap_or(current.hide_metadata_if_alias_used),
        permissions: match &body.allowed_actions {
            Some(names) => permissions_of(names)?,
            None => current.permissions,
        },
        can_grant_custom_views: body
            .can_grant_access_to_custom_views
            .unwrap_or(current.can_grant.custom_views),
        can_revoke_custom_views: body
            .can_revoke_access_to_custom_views
            .unwrap_or(current.can_revoke.custom_views),
    }
    .into_view()
    .map_err(custom_view_error)?;
    require_may_define(conn, bank_id, account_id, caller_id, &view)?;
    let row = CustomViewRow::new(bank_id, account_id, &view, now);
    if !access::save_custom_view(conn, &row, true, caller_id, now).map_err(access_error)? {
        return Err(ObpError::bad_request(VIEW_NOT_FOUND));
    }
    Ok(view)
}

/// Delete Custom View, and every grant of it.
#[utoipa::path(
    delete, path = "/obp/v5.1.0/banks/{bank_id}/accounts/{account_id}/views/{view_id}", tag = "OBP: accounts",
    params(("bank_id" = String, Path), ("account_id" = String, Path), ("view_id" = String, Path)),
    security(("directLogin" = [])),
    responses(
        (status = 204, description = "Deleted, with its grants"),
        (status = 400, description = "OBP-30005 no such custom view, OBP-30297 system views cannot change", body = ErrorJson),
        (status = 403, description = "OBP-20047", body = ErrorJson),
    )
)]
pub async fn delete_custom_view(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ObpError> {
    let (bank_id, account_id, view_id) = path.into_inner();
    caller
        .run(&state, move |ctx, caller| {
            let (state, conn, _) = ctx.legacy_parts();
            access::existing_account(conn, &bank_id, &account_id).map_err(access_error)?;
            if names::is_system_view(&view_id) {
                return Err(ObpError::bad_request(SYSTEM_VIEW_IMMUTABLE));
            }
            let caller_id = caller.user.user_id.clone();
            under_account_lock(conn, &bank_id, &account_id, |conn| {
                let current = accounts::custom_view(conn, &bank_id, &account_id, &view_id)?
                    .ok_or_else(|| ObpError::bad_request(VIEW_NOT_FOUND))?
                    .view()?;
                require_may_define(conn, &bank_id, &account_id, &caller_id, &current)?;
                if !access::delete_custom_view(
                    conn,
                    &bank_id,
                    &account_id,
                    &view_id,
                    &caller_id,
                    state.clock.now(),
                )
                .map_err(access_error)?
                {
                    return Err(ObpError::bad_request(VIEW_NOT_FOUND));
                }
                Ok(())
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, ToSchema, Clone)]
pub struct ViewRefJson {
    pub view_id: String,
    pub is_system: bool,
}

impl From<ViewRefJson> for ViewRequest {
    fn from(v: ViewRefJson) -> Self {
        ViewRequest {
            view_id: v.view_id,
            is_system: v.is_system,
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct GrantJson {
    pub user_id: String,
    pub view: ViewRefJson,
}

/// Grant User access to View: idempotent.
#[utoipa::path(
    post, path = "/obp/v5.1.0/banks/{bank_id}/accounts/{account_id}/account-access/grant", tag = "OBP: accounts",
    params(("bank_id" = String, Path), ("account_id" = String, Path)),
    request_body = GrantJson, security(("directLogin" = [])),
    responses(
        (status = 201, description = "The view granted", body = Object),
        (status = 400, description = "OBP-10001, OBP-30252 unknown system view, OBP-30005 unknown custom view", body = ErrorJson),
        (status = 403, description = "OBP-20047: no view of the caller allows granting it", body = ErrorJson),
        (status = 404, description = "OBP-30001, OBP-30018, OBP-20005 unknown user", body = ErrorJson),
    )
)]
pub async fn grant(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
    body: web::Json<GrantJson>,
) -> Result<HttpResponse, ObpError> {
    let (bank_id, account_id) = path.into_inner();
    let body = body.into_inner();
    let granted = caller
        .run(&state, move |ctx, caller| {
            let (state, conn, _) = ctx.legacy_parts();
            let grants = [ViewRequest::from(body.view)];
            let change = Change {
                bank_id: &bank_id,
                account_id: &account_id,
                caller: &caller.user.user_id,
                user_id: &body.user_id,
                grants: &grants,
                revokes: &[],
            };
            let views = access::apply(conn, &change, state.clock.now()).map_err(access_error)?;
            views
                .first()
                .map(view_json)
                .ok_or_else(|| ObpError::internal("no view granted"))
        })
        .await?;
    Ok(HttpResponse::Created().json(granted))
}

/// Revoke User access to View. The account's last owner cannot be revoked.
#[utoipa::path(
    post, path = "/obp/v5.1.0/banks/{bank_id}/accounts/{account_id}/account-access/revoke", tag = "OBP: accounts",
    params(("bank_id" = String, Path), ("account_id" = String, Path)),
    request_body = GrantJson, security(("directLogin" = [])),
    responses(
        (status = 201, description = "`{revoked: true}`", body = Object),
        (status = 400, description = "OBP-30065 the user does not hold it, OBP-30292 last owner, OBP-30252, OBP-30005", body = ErrorJson),
        (status = 403, description = "OBP-20047", body = ErrorJson),
        (status = 404, description = "OBP-30001, OBP-30018, OBP-20005", body = ErrorJson),
    )
)]
pub async fn revoke(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
    body: web::Json<GrantJson>,
) -> Result<HttpResponse, ObpError> {
    let (bank_id, account_id) = path.into_inner();
    let body = body.into_inner();
    caller
        .run(&state, move |ctx, caller| {
            let (state, conn, _) = ctx.legacy_parts();
            let revokes = [ViewRequest::from(body.view)];
            let change = Change {
                bank_id: &bank_id,
                account_id: &account_id,
                caller: &caller.user.user_id,
                user_id: &body.user_id,
                grants: &[],
                revokes: &revokes,
            };
            access::apply(conn, &change, state.clock.now()).map_err(access_error)
        })
        .await?;
    Ok(HttpResponse::Created().json(json!({ "revoked": true })))
}

#[derive(Deserialize, ToSchema)]
pub struct BulkAccessJson {
    pub user_id: String,
    /// View ids to grant (ids starting with `_` are custom views).
    #[serde(default)]
    pub grant: Vec<String>,
    /// View ids to revoke.
    #[serde(default)]
    pub revoke: Vec<String>,
}

fn by_id(view_id: String) -> ViewRequest {
    ViewRequest {
        is_system: !view_id.starts_with('_'),
        view_id,
    }
}

/// Revoke/Grant User access to Views: all or nothing, in one transaction.
#[utoipa::path(
    put, path = "/obp/v5.1.0/banks/{bank_id}/accounts/{account_id}/account-access", tag = "OBP: accounts",
    params(("bank_id" = String, Path), ("account_id" = String, Path)),
    request_body = BulkAccessJson, security(("directLogin" = [])),
    responses(
        (status = 200, description = "`{revoked: true}`: every change made", body = Object),
        (status = 400, description = "any refusal below; nothing changed", body = ErrorJson),
        (status = 403, description = "OBP-20047; nothing changed", body = ErrorJson),
        (status = 404, description = "OBP-30001, OBP-30018, OBP-20005", body = ErrorJson),
    )
)]
pub async fn bulk(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
    body: web::Json<BulkAccessJson>,
) -> Result<HttpResponse, ObpError> {
    let (bank_id, account_id) = path.into_inner();
    let body = body.into_inner();
    caller
        .run(&state, move |ctx, caller| {
            let (state, conn, _) = ctx.legacy_parts();
            let grants: Vec<_> = body.grant.into_iter().map(by_id).collect();
            let revokes: Vec<_> = body.revoke.into_iter().map(by_id).collect();
            let change = Change {
                bank_id: &bank_id,
                account_id: &account_id,
                caller: &caller.user.user_id,
                user_id: &body.user_id,
                grants: &grants,
                revokes: &revokes,
            };
            access::apply(conn, &change, state.clock.now()).map_err(access_error)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "revoked": true })))
}

#[derive(Deserialize, ToSchema)]
pub struct DAuthUserAccessJson {
    /// The smart contract's address.
    pub username: String,
    /// Must start with `dauth.`.
    pub provider: String,
    pub views: Vec<ViewRefJson>,
}

/// Create (DAuth) User with Account Access: gets or creates the user and grants the views,
/// all or nothing. Only the account's holders may.
#[utoipa::path(
    post, path = "/obp/v5.1.0/banks/{bank_id}/accounts/{account_id}/user-account-access", tag = "OBP: accounts",
    params(("bank_id" = String, Path), ("account_id" = String, Path)),
    request_body = DAuthUserAccessJson, security(("directLogin" = [])),
    responses(
        (status = 201, description = "The views granted, as view JSON (an array)", body = Object),
        (status = 400, description = "OBP-20103 provider not dauth.*, OBP-30271 bad username, OBP-30252, OBP-30005; nothing changed", body = ErrorJson),
        (status = 403, description = "OBP-20047 not a holder", body = ErrorJson),
        (status = 404, description = "OBP-30001, OBP-30018", body = ErrorJson),
    )
)]
pub async fn dauth_user_access(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
    body: web::Json<DAuthUserAccessJson>,
) -> Result<HttpResponse, ObpError> {
    let (bank_id, account_id) = path.into_inner();
    let body = body.into_inner();
    let created = caller
        .run(&state, move |ctx, caller| {
            let (state, conn, _) = ctx.legacy_parts();
            // As DAuth logins name providers: "dauth." and a network of letters, digits, '_'
            // and '-', at most 50 characters.
            let network_ok = body.provider.strip_prefix("dauth.").is_some_and(|n| {
                (1..=50).contains(&n.len())
                    && n.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
            });
            if !network_ok {
                return Err(ObpError::bad_request(INVALID_DAUTH_PROVIDER));
            }
            if !assent_identity::registration::is_valid_username(&body.username) {
                return Err(ObpError::bad_request(INVALID_USERNAME));
            }
            access::existing_account(conn, &bank_id, &account_id).map_err(access_error)?;
            if !accounts::is_holder(conn, &bank_id, &account_id, &caller.user.user_id)? {
                return Err(ObpError::new(StatusCode::FORBIDDEN, NO_OWNER_ACCESS));
            }
            let views: Vec<ViewRequest> = body.views.into_iter().map(ViewRequest::from).collect();
            let at = state.clock.now();
            let outcome = assent_repository::transaction(conn, |conn| {
                let user = assent_identity::User {
                    user_id: assent_identity::UserId::generate(&mut rand::rng()),
                    provider: body.provider.clone(),
                    provider_id: body.username.clone(),
                    username: body.username.clone(),
                    email: String::new(),
                    first_name: String::new(),
                    last_name: String::new(),
                    phone_number: None,
                    customer_number: Some(assent_identity::user::generate_customer_number(
                        &mut rand::rng(),
                    )),
                    created_at: at,
                };
                // "!" is no PHC string: nobody logs in to a DAuth user with a password.
                let row = users::UserRow::new(
                    &user,
                    assent_identity::registration::username_key(&body.username),
                    "!".into(),
                );
                let user = users::get_or_create(conn, &row)?;
                let change = Change {
                    bank_id: &bank_id,
                    account_id: &account_id,
                    caller: &caller.user.user_id,
                    user_id: &user.user_id,
                    grants: &views,
                    revokes: &[],
                };
                let granted = access::apply(conn, &change, at)?;
                Ok::<_, AccessError>((user, granted))
            });
            let (_, granted) = outcome.map_err(access_error)?;
            // As the reference answers: the views granted, in full.
            Ok(Value::Array(granted.iter().map(view_json).collect()))
        })
        .await?;
    Ok(HttpResponse::Created().json(created))
}

#[derive(Serialize, ToSchema)]
pub struct AccountAccessJson {
    pub bank_id: String,
    pub account_id: String,
    #[schema(value_type = Vec<Object>)]
    pub views: Vec<Value>,
}

#[derive(Serialize, ToSchema)]
pub struct AccountsAccessJson {
    pub accounts: Vec<AccountAccessJson>,
}

fn access_list(conn: &mut DbConnection, user_id: &str) -> Result<AccountsAccessJson, ObpError> {
    let mut accounts: Vec<AccountAccessJson> = Vec::new();
    for grant in accounts::grants_of_user(conn, user_id)? {
        let view = json!({ "view_id": grant.view_id, "is_system": grant.is_system });
        match accounts.last_mut() {
            Some(last) if last.bank_id == grant.bank_id && last.account_id == grant.account_id => {
                last.views.push(view);
            }
            _ => accounts.push(AccountAccessJson {
                bank_id: grant.bank_id,
                account_id: grant.account_id,
                views: vec![view],
            }),
        }
    }
    Ok(AccountsAccessJson { accounts })
}

/// Get My Account Access: the views the caller holds, by account.
#[utoipa::path(
    get, path = "/obp/v5.1.0/my/account-access", tag = "OBP: accounts",
    security(("directLogin" = [])),
    responses(
        (status = 200, description = "By account", body = AccountsAccessJson),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
    )
)]
pub async fn my_access(
    state: web::Data<AppState>,
    caller: Authenticated,
) -> Result<HttpResponse, ObpError> {
    let listed = caller
        .run(&state, |ctx, caller| {
            let (_, conn, _) = ctx.legacy_parts();
            super::auth::customer_only(&caller)?;
            access_list(conn, &caller.user.user_id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(listed))
}

/// Get Account Access for a User.
#[utoipa::path(
    get, path = "/obp/v5.1.0/users/{user_id}/account-access", tag = "OBP: accounts",
    params(("user_id" = String, Path)), security(("directLogin" = [])),
    responses(
        (status = 200, description = "By account", body = AccountsAccessJson),
        (status = 403, description = "OBP-20006: needs CanSeeAccountAccessForAnyUser", body = ErrorJson),
        (status = 404, description = "OBP-20005 unknown user", body = ErrorJson),
    )
)]
pub async fn user_access(
    state: web::Data<AppState>,
    caller: Authenticated,
    user_id: web::Path<String>,
) -> Result<HttpResponse, ObpError> {
    let user_id = user_id.into_inner();
    let listed = caller
        .run(&state, move |ctx, caller| {
            let (_, conn, _) = ctx.legacy_parts();
            require(
                conn,
                &caller,
                &[Need::System("CanSeeAccountAccessForAnyUser")],
            )?;
            let user_id = super::roles::existing_user(conn, &user_id)?;
            access_list(conn, &user_id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(listed))
}

/// Refresh User: gives the user back the default access of every account they hold (`owner`
/// and `ManageCustomViews`).
#[utoipa::path(
    post, path = "/obp/v5.1.0/users/{user_id}/refresh", tag = "OBP: users",
    params(("user_id" = String, Path)), security(("directLogin" = [])),
    responses(
        (status = 200, description = "`{duration_time: \"N ms\", restored_grants}`", body = Object),
        (status = 403, description = "OBP-20006: needs CanRefreshUser", body = ErrorJson),
        (status = 404, description = "OBP-20005 unknown user", body = ErrorJson),
    )
)]
pub async fn refresh_user(
    state: web::Data<AppState>,
    caller: Authenticated,
    user_id: web::Path<String>,
) -> Result<HttpResponse, ObpError> {
    let user_id = user_id.into_inner();
    let started = std::time::Instant::now();
    let restored = caller
        .run(&state, move |ctx, caller| {
            let (state, conn, _) = ctx.legacy_parts();
            require(conn, &caller, &[Need::System("CanRefreshUser")])?;
            access::refresh_holder_access(conn, &user_id, &caller.user.user_id, state.clock.now())
                .map_err(access_error)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({
        "duration_time": format!("{} ms", started.elapsed().as_millis()),
        "restored_grants": restored,
    })))
}
