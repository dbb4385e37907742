//! Accounts and account access: creating an account, its views (system and custom), granting
//! and revoking views, and listing who holds what.

use super::auth::Authenticated;
use super::errors::*;
use super::users::ErrorJson;
use crate::services::access::{
    self, AccessChange, AccountRef, CustomViewRef, DAuthUserAccess, GrantView, OpenAccount,
    OwnAccessChange, ViewRequest,
};
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use assent_identity::account::NewAccount;
use assent_repository::accounts::Grant;
use assent_view_permissions::view::{CustomViewFields, View};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

/// A view as OBP's view JSON has it: every `can_*` field, plus what its holder may grant and
/// revoke.
pub fn view_json(view: &View) -> Value {
    let mut out = json!({
        "id": view.view_id(),
        "short_name": view.short_name(),
        "description": view.description(),
        "metadata_view": view.metadata_view(),
        "is_public": view.is_public(),
        "is_system": view.is_system(),
        "is_firehose": view.is_firehose(),
        "alias": view.alias().as_str(),
        "hide_metadata_if_alias_used": view.hide_metadata_if_alias_used(),
        "can_grant_access_to_views": view.can_grant().system_views,
        "can_revoke_access_to_views": view.can_revoke().system_views,
        "can_grant_access_to_custom_views": view.can_grant().custom_views,
        "can_revoke_access_to_custom_views": view.can_revoke().custom_views,
    });
    if let (Some(map), Ok(Value::Object(permissions))) = (
        out.as_object_mut(),
        serde_json::to_value(view.permissions()),
    ) {
        map.extend(permissions);
    }
    out
}

#[derive(Deserialize, ToSchema)]
pub struct BalanceJson {
    #[schema(example = "EUR", pattern = "^[A-Z]{3}$")]
    pub currency: String,
    /// A decimal: an optional `-`, 1 to 15 digits, and up to 4 after a `.`.
    #[schema(example = "0", pattern = "^-?[0-9]{1,15}(\\.[0-9]{1,4})?$")]
    pub amount: String,
}

#[derive(Deserialize, ToSchema)]
pub struct CreateAccountJson {
    pub user_id: String,
    #[schema(pattern = r"^[^\u0000-\u001f\u007f-\u009f]{1,255}$")]
    pub label: String,
    #[schema(pattern = "^[A-Za-z0-9_.-]{1,64}$")]
    pub product_code: String,
    pub balance: BalanceJson,
}

/// Create Account: makes `user_id` the holder, with `owner` and `ManageCustomViews`.
#[utoipa::path(
    put, path = "/obp/v5.1.0/banks/{bank_id}/accounts/{account_id}", tag = "OBP: accounts",
    params(("bank_id" = String, Path), ("account_id" = String, Path, pattern = "^[A-Za-z0-9._-]{1,255}$", description = "The new account's id")),
    request_body = CreateAccountJson, security(("directLogin" = []), ("dAuth" = [])),
    responses(
        (status = 201, description = "Created", body = Object),
        (status = 400, description = "OBP-10001 bad JSON, OBP-30293 invalid account fields", body = ErrorJson),
        (status = 409, description = "OBP-30208 account id taken", body = ErrorJson),
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
    let holder = body.user_id.clone();
    let input = OpenAccount {
        bank_id,
        holder: body.user_id,
        account: NewAccount {
            id: account_id,
            label: body.label,
            product_code: body.product_code,
            currency: body.balance.currency,
            amount: body.balance.amount,
        },
    };
    let row = caller
        .run(&state, move |ctx, caller| {
            Ok(access::create_account(ctx, &caller, input)?)
        })
        .await?;
    let created = json!({
        "account_id": row.account_id,
        "bank_id": row.bank_id,
        "user_id": holder,
        "label": row.label,
        "product_code": row.product_code,
        "balance": { "currency": row.currency, "amount": row.balance_amount },
        "account_routings": [],
    });
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
    params(("bank_id" = String, Path), ("account_id" = String, Path)), security(("directLogin" = []), ("dAuth" = []), ("consentJwt" = [], "consumerKey" = [])),
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
    let account = AccountRef {
        bank_id,
        account_id,
    };
    let views = caller
        .run(&state, move |ctx, caller| {
            Ok(access::list_views(ctx, &caller, account)?)
        })
        .await?;
    let views = views.iter().map(view_json).collect();
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

impl From<CustomViewJson> for CustomViewFields {
    fn from(body: CustomViewJson) -> Self {
        CustomViewFields {
            name: body.name,
            description: body.description,
            metadata_view: body.metadata_view,
            is_public: body.is_public,
            alias: body.which_alias_to_use,
            hide_metadata_if_alias_used: body.hide_metadata_if_alias_used,
            permissions: body.allowed_actions,
            can_grant_custom_views: body.can_grant_access_to_custom_views,
            can_revoke_custom_views: body.can_revoke_access_to_custom_views,
        }
    }
}

/// Create Custom View.
#[utoipa::path(
    post, path = "/obp/v5.1.0/banks/{bank_id}/accounts/{account_id}/views", tag = "OBP: accounts",
    params(("bank_id" = String, Path), ("account_id" = String, Path)),
    request_body = CustomViewJson, security(("directLogin" = []), ("dAuth" = [])),
    responses(
        (status = 201, description = "The view", body = Object),
        (status = 400, description = "OBP-20020 name without _, OBP-30294 invalid view, OBP-30296 unknown permission", body = ErrorJson),
        (status = 409, description = "OBP-30295 name taken", body = ErrorJson),
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
    let account = AccountRef {
        bank_id,
        account_id,
    };
    let fields = CustomViewFields::from(body.into_inner());
    let view = caller
        .run(&state, move |ctx, caller| {
            Ok(access::create_custom_view(ctx, &caller, account, fields)?)
        })
        .await?;
    Ok(HttpResponse::Created().json(view_json(&view)))
}

/// Update Custom View: fields not sent keep their value (unlike OBP); `allowed_actions`, when
/// sent, is the whole new set.
#[utoipa::path(
    put, path = "/obp/v5.1.0/banks/{bank_id}/accounts/{account_id}/views/{view_id}", tag = "OBP: accounts",
    params(("bank_id" = String, Path), ("account_id" = String, Path), ("view_id" = String, Path)),
    request_body = CustomViewJson, security(("directLogin" = []), ("dAuth" = [])),
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
    let target = CustomViewRef {
        account: AccountRef {
            bank_id,
            account_id,
        },
        view_id,
    };
    let fields = CustomViewFields::from(body.into_inner());
    let view = caller
        .run(&state, move |ctx, caller| {
            Ok(access::update_custom_view(ctx, &caller, target, fields)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view_json(&view)))
}

/// Delete Custom View, and every grant of it.
#[utoipa::path(
    delete, path = "/obp/v5.1.0/banks/{bank_id}/accounts/{account_id}/views/{view_id}", tag = "OBP: accounts",
    params(("bank_id" = String, Path), ("account_id" = String, Path), ("view_id" = String, Path)),
    security(("directLogin" = []), ("dAuth" = [])),
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
    let target = CustomViewRef {
        account: AccountRef {
            bank_id,
            account_id,
        },
        view_id,
    };
    caller
        .run(&state, move |ctx, caller| {
            Ok(access::delete_custom_view(ctx, &caller, target)?)
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
    request_body = GrantJson, security(("directLogin" = []), ("dAuth" = [])),
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
    let input = GrantView {
        account: AccountRef {
            bank_id,
            account_id,
        },
        user_id: body.user_id,
        view: ViewRequest::from(body.view),
    };
    let granted = caller
        .run(&state, move |ctx, caller| {
            Ok(access::grant(ctx, &caller, input)?)
        })
        .await?;
    Ok(HttpResponse::Created().json(view_json(&granted)))
}

/// Revoke User access to View. The account's last owner cannot be revoked.
#[utoipa::path(
    post, path = "/obp/v5.1.0/banks/{bank_id}/accounts/{account_id}/account-access/revoke", tag = "OBP: accounts",
    params(("bank_id" = String, Path), ("account_id" = String, Path)),
    request_body = GrantJson, security(("directLogin" = []), ("dAuth" = [])),
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
    let change = AccessChange {
        account: AccountRef {
            bank_id,
            account_id,
        },
        user_id: body.user_id,
        grants: Vec::new(),
        revokes: vec![ViewRequest::from(body.view)],
    };
    caller
        .run(&state, move |ctx, caller| {
            Ok(access::change_access(ctx, &caller, change)?)
        })
        .await?;
    Ok(HttpResponse::Created().json(json!({ "revoked": true })))
}

/// Body of Revoke/Grant User access to Views: the caller's own views to change. It names no
/// user, and a body that does is refused: a client meaning another user's views must not
/// change the caller's.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkAccessJson {
    /// View ids to grant to the caller (ids starting with `_` are custom views).
    #[serde(default)]
    #[schema(example = json!(["auditor"]))]
    pub grant: Vec<String>,
    /// View ids to revoke from the caller.
    #[serde(default)]
    #[schema(example = json!(["accountant"]))]
    pub revoke: Vec<String>,
}

fn by_id(view_id: String) -> ViewRequest {
    ViewRequest {
        is_system: !view_id.starts_with('_'),
        view_id,
    }
}

/// Revoke/Grant User access to Views: the signed-in user's own views on the account, all or
/// nothing, in one transaction. Each view must be one the caller's views delegate, as for a
/// grant to anyone; the account keeps an owner.
#[utoipa::path(
    put, path = "/obp/v5.1.0/banks/{bank_id}/accounts/{account_id}/account-access", tag = "OBP: accounts",
    params(("bank_id" = String, Path), ("account_id" = String, Path)),
    request_body = BulkAccessJson, security(("directLogin" = []), ("dAuth" = [])),
    responses(
        (status = 200, description = "`{revoked: true}`: every change made", body = Object),
        (status = 400, description = "OBP-10001 bad JSON (a `user_id` included), OBP-30298 a view in both lists, OBP-30065 a view to revoke not held, OBP-30292 the last owner, OBP-30252, OBP-30005; nothing changed", body = ErrorJson),
        (status = 403, description = "OBP-20047; nothing changed", body = ErrorJson),
        (status = 404, description = "OBP-30001, OBP-30018", body = ErrorJson),
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
    let change = OwnAccessChange {
        account: AccountRef {
            bank_id,
            account_id,
        },
        grants: body.grant.into_iter().map(by_id).collect(),
        revokes: body.revoke.into_iter().map(by_id).collect(),
    };
    caller
        .run(&state, move |ctx, caller| {
            Ok(access::change_own_access(ctx, &caller, change)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "revoked": true })))
}

#[derive(Deserialize, ToSchema)]
pub struct DAuthUserAccessJson {
    /// The smart contract's address.
    #[schema(pattern = "^[A-Za-z0-9._@-]{1,100}$")]
    pub username: String,
    /// `dauth.` and the network's name.
    #[schema(pattern = "^dauth\\.[A-Za-z0-9_-]{1,50}$")]
    pub provider: String,
    pub views: Vec<ViewRefJson>,
}

/// Create (DAuth) User with Account Access: gets or creates the user and grants the views,
/// all or nothing. Only the account's holders may.
#[utoipa::path(
    post, path = "/obp/v5.1.0/banks/{bank_id}/accounts/{account_id}/user-account-access", tag = "OBP: accounts",
    params(("bank_id" = String, Path), ("account_id" = String, Path)),
    request_body = DAuthUserAccessJson, security(("directLogin" = []), ("dAuth" = [])),
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
    let input = DAuthUserAccess {
        account: AccountRef {
            bank_id,
            account_id,
        },
        provider: body.provider,
        username: body.username,
        views: body.views.into_iter().map(ViewRequest::from).collect(),
    };
    let granted = caller
        .run(&state, move |ctx, caller| {
            Ok(access::give_dauth_user_access(ctx, &caller, input)?)
        })
        .await?;
    // As the reference answers: the views granted, in full.
    let created = Value::Array(granted.iter().map(view_json).collect());
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

fn access_list(grants: Vec<Grant>) -> AccountsAccessJson {
    let mut accounts: Vec<AccountAccessJson> = Vec::new();
    for grant in grants {
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
    AccountsAccessJson { accounts }
}

/// Get My Account Access: the views the caller holds, by account.
#[utoipa::path(
    get, path = "/obp/v5.1.0/my/account-access", tag = "OBP: accounts",
    security(("directLogin" = []), ("dAuth" = [])),
    responses(
        (status = 200, description = "By account", body = AccountsAccessJson),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
    )
)]
pub async fn my_access(
    state: web::Data<AppState>,
    caller: Authenticated,
) -> Result<HttpResponse, ObpError> {
    let grants = caller
        .run(&state, |ctx, caller| Ok(access::my_access(ctx, &caller)?))
        .await?;
    Ok(HttpResponse::Ok().json(access_list(grants)))
}

/// Get Account Access for a User.
#[utoipa::path(
    get, path = "/obp/v5.1.0/users/{user_id}/account-access", tag = "OBP: accounts",
    params(("user_id" = String, Path)), security(("directLogin" = []), ("dAuth" = []), ("consentJwt" = [], "consumerKey" = [])),
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
    let grants = caller
        .run(&state, move |ctx, caller| {
            Ok(access::user_access(ctx, &caller, &user_id)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(access_list(grants)))
}

/// Refresh User: gives the user back the default access of every account they hold (`owner`
/// and `ManageCustomViews`).
#[utoipa::path(
    post, path = "/obp/v5.1.0/users/{user_id}/refresh", tag = "OBP: users",
    params(("user_id" = String, Path)), security(("directLogin" = []), ("dAuth" = [])),
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
            Ok(access::refresh_holder_access(ctx, &caller, &user_id)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({
        "duration_time": format!("{} ms", started.elapsed().as_millis()),
        "restored_grants": restored,
    })))
}
