//! OBP's account permission routes: the account's holders see who holds which views, and
//! grant and revoke views of a user named by provider and provider id. The rules are those of
//! the `account-access` routes.

use super::accounts::view_json;
use super::auth::Authenticated;
use super::errors::*;
use super::users::ErrorJson;
use crate::services::access::{self, AccountRef, ProviderUser, ViewRequest};
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

/// A view id as these routes name one: ids starting with `_` are custom views.
fn view_named(view_id: String) -> ViewRequest {
    ViewRequest {
        is_system: !view_id.starts_with('_'),
        view_id,
    }
}

/// A provider is often a URL: its `/` arrive percent-encoded in the path, and stay so.
fn decoded(segment: String) -> String {
    percent_encoding::percent_decode_str(&segment)
        .decode_utf8()
        .map(|text| text.into_owned())
        .unwrap_or(segment)
}

fn account_and_user(
    bank_id: String,
    account_id: String,
    provider: String,
    provider_id: String,
) -> (AccountRef, ProviderUser) {
    (
        AccountRef {
            bank_id,
            account_id,
        },
        ProviderUser {
            provider: decoded(provider),
            provider_id: decoded(provider_id),
        },
    )
}

/// Get access: who holds which views on the account (its holders only).
#[utoipa::path(
    get, path = "/obp/v5.1.0/banks/{bank_id}/accounts/{account_id}/permissions", tag = "OBP: accounts",
    params(("bank_id" = String, Path), ("account_id" = String, Path)), security(("directLogin" = []), ("dAuth" = [])),
    responses(
        (status = 200, description = "`{permissions: [{user: {id, provider, display_name}, views: [...]}]}`", body = Object),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
        (status = 403, description = "OBP-20047 not a holder of the account", body = ErrorJson),
        (status = 404, description = "OBP-30001 unknown bank, OBP-30018 unknown account", body = ErrorJson),
    )
)]
pub async fn account_permissions(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ObpError> {
    let (bank_id, account_id) = path.into_inner();
    let account = AccountRef {
        bank_id,
        account_id,
    };
    let found = caller
        .run(&state, move |ctx, caller| {
            Ok(access::account_permissions(ctx, &caller, account)?)
        })
        .await?;
    let permissions: Vec<_> = found
        .iter()
        .map(|access| {
            json!({
                "user": {
                    "id": access.user.user_id,
                    "provider": access.user.provider,
                    "display_name": access.user.username,
                },
                "views": access.views.iter().map(view_json).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "permissions": permissions })))
}

/// Get Account access for User: the views one user holds on the account (for its holders,
/// and for the user themselves).
#[utoipa::path(
    get, path = "/obp/v5.1.0/banks/{bank_id}/accounts/{account_id}/permissions/{provider}/{provider_id}",
    tag = "OBP: accounts",
    params(("bank_id" = String, Path), ("account_id" = String, Path),
        ("provider" = String, Path, description = "URL-encoded"), ("provider_id" = String, Path)),
    security(("directLogin" = []), ("dAuth" = [])),
    responses(
        (status = 200, description = "`{views: [...]}`", body = Object),
        (status = 403, description = "OBP-20047 neither a holder nor the user", body = ErrorJson),
        (status = 404, description = "OBP-30001, OBP-30018, OBP-20005 unknown user (holders only)", body = ErrorJson),
    )
)]
pub async fn user_permissions(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String, String, String)>,
) -> Result<HttpResponse, ObpError> {
    let (bank_id, account_id, provider, provider_id) = path.into_inner();
    let (account, user) = account_and_user(bank_id, account_id, provider, provider_id);
    let views = caller
        .run(&state, move |ctx, caller| {
            Ok(access::user_account_permissions(
                ctx, &caller, account, user,
            )?)
        })
        .await?;
    Ok(
        HttpResponse::Ok()
            .json(json!({ "views": views.iter().map(view_json).collect::<Vec<_>>() })),
    )
}

/// Grant User access to View.
#[utoipa::path(
    post, path = "/obp/v5.1.0/banks/{bank_id}/accounts/{account_id}/permissions/{provider}/{provider_id}/views/{view_id}",
    tag = "OBP: accounts",
    params(("bank_id" = String, Path), ("account_id" = String, Path),
        ("provider" = String, Path, description = "URL-encoded"), ("provider_id" = String, Path),
        ("view_id" = String, Path, description = "ids starting with `_` are custom views")),
    security(("directLogin" = []), ("dAuth" = [])),
    responses(
        (status = 201, description = "The view granted", body = Object),
        (status = 400, description = "OBP-30252 unknown system view, OBP-30005 unknown custom view", body = ErrorJson),
        (status = 403, description = "OBP-20047 no view of the caller allows it, OBP-30307 only holders give views that hand on access", body = ErrorJson),
        (status = 404, description = "OBP-30001, OBP-30018, OBP-20005", body = ErrorJson),
    )
)]
pub async fn grant_view(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String, String, String, String)>,
) -> Result<HttpResponse, ObpError> {
    let (bank_id, account_id, provider, provider_id, view_id) = path.into_inner();
    let (account, user) = account_and_user(bank_id, account_id, provider, provider_id);
    let views = vec![view_named(view_id)];
    let granted = caller
        .run(&state, move |ctx, caller| {
            Ok(access::grant_to_provider_user(
                ctx, &caller, account, user, views,
            )?)
        })
        .await?;
    let view = granted.first().map(view_json).unwrap_or_default();
    Ok(HttpResponse::Created().json(view))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ViewIdsJson {
    /// View ids; ids starting with `_` are custom views.
    pub views: Vec<String>,
}

/// Grant User access to a list of views: all or nothing.
#[utoipa::path(
    post, path = "/obp/v5.1.0/banks/{bank_id}/accounts/{account_id}/permissions/{provider}/{provider_id}/views",
    tag = "OBP: accounts",
    params(("bank_id" = String, Path), ("account_id" = String, Path),
        ("provider" = String, Path, description = "URL-encoded"), ("provider_id" = String, Path)),
    request_body = ViewIdsJson, security(("directLogin" = []), ("dAuth" = [])),
    responses(
        (status = 201, description = "`{views: [...]}`: every view granted", body = Object),
        (status = 400, description = "OBP-10001, OBP-30252, OBP-30005; nothing granted", body = ErrorJson),
        (status = 403, description = "OBP-20047, OBP-30307; nothing granted", body = ErrorJson),
        (status = 404, description = "OBP-30001, OBP-30018, OBP-20005", body = ErrorJson),
    )
)]
pub async fn grant_views(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String, String, String)>,
    body: web::Json<ViewIdsJson>,
) -> Result<HttpResponse, ObpError> {
    let (bank_id, account_id, provider, provider_id) = path.into_inner();
    let (account, user) = account_and_user(bank_id, account_id, provider, provider_id);
    let views = body
        .into_inner()
        .views
        .into_iter()
        .map(view_named)
        .collect();
    let granted = caller
        .run(&state, move |ctx, caller| {
            Ok(access::grant_to_provider_user(
                ctx, &caller, account, user, views,
            )?)
        })
        .await?;
    Ok(HttpResponse::Created()
        .json(json!({ "views": granted.iter().map(view_json).collect::<Vec<_>>() })))
}

/// Revoke access to one View.
#[utoipa::path(
    delete, path = "/obp/v5.1.0/banks/{bank_id}/accounts/{account_id}/permissions/{provider}/{provider_id}/views/{view_id}",
    tag = "OBP: accounts",
    params(("bank_id" = String, Path), ("account_id" = String, Path),
        ("provider" = String, Path, description = "URL-encoded"), ("provider_id" = String, Path),
        ("view_id" = String, Path)),
    security(("directLogin" = []), ("dAuth" = [])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, description = "OBP-30065 not held, OBP-30292 the account's last owner", body = ErrorJson),
        (status = 403, description = "OBP-20047", body = ErrorJson),
        (status = 404, description = "OBP-30001, OBP-30018, OBP-20005", body = ErrorJson),
    )
)]
pub async fn revoke_view(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String, String, String, String)>,
) -> Result<HttpResponse, ObpError> {
    let (bank_id, account_id, provider, provider_id, view_id) = path.into_inner();
    let (account, user) = account_and_user(bank_id, account_id, provider, provider_id);
    let views = Some(vec![view_named(view_id)]);
    caller
        .run(&state, move |ctx, caller| {
            Ok(access::revoke_from_provider_user(
                ctx, &caller, account, user, views,
            )?)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Revoke access to all Views on Account: all or nothing; the account's last owner stays.
#[utoipa::path(
    delete, path = "/obp/v5.1.0/banks/{bank_id}/accounts/{account_id}/permissions/{provider}/{provider_id}/views",
    tag = "OBP: accounts",
    params(("bank_id" = String, Path), ("account_id" = String, Path),
        ("provider" = String, Path, description = "URL-encoded"), ("provider_id" = String, Path)),
    security(("directLogin" = []), ("dAuth" = [])),
    responses(
        (status = 204, description = "Every view revoked"),
        (status = 400, description = "OBP-30292 the user is the account's last owner; nothing revoked", body = ErrorJson),
        (status = 403, description = "OBP-20047; nothing revoked", body = ErrorJson),
        (status = 404, description = "OBP-30001, OBP-30018, OBP-20005", body = ErrorJson),
    )
)]
pub async fn revoke_all_views(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String, String, String)>,
) -> Result<HttpResponse, ObpError> {
    let (bank_id, account_id, provider, provider_id) = path.into_inner();
    let (account, user) = account_and_user(bank_id, account_id, provider, provider_id);
    caller
        .run(&state, move |ctx, caller| {
            Ok(access::revoke_from_provider_user(
                ctx, &caller, account, user, None,
            )?)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
