//! The OpenAPI 3.1 document, generated from the handlers' annotations. OBP endpoints are
//! written once under v5.1.0 and copied to every other version they answer under.

use crate::api::OBP_VERSIONS;
use actix_web::http::Method;
use actix_web::{HttpResponse, web};
use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};

#[derive(OpenApi)]
#[openapi(
    info(title = "Assent", description = "Security core for banking APIs: Open Bank Project, Apiture and Temenos Infinity families."),
    paths(
        crate::api::obp::users::create_user,
        crate::api::obp::users::current_user,
        crate::api::obp::login::direct_login,
        crate::api::obp::login::logout,
        crate::api::obp::login::certs,
        crate::api::obp::api_info::root,
        crate::api::obp::api_info::api_root,
        crate::api::obp::api_info::jwks_uris,
        crate::api::obp::api_info::rate_limiting,
        crate::api::obp::user_queries::all_users,
        crate::api::obp::user_queries::by_username,
        crate::api::obp::user_queries::by_user_id,
        crate::api::obp::user_queries::by_email,
        crate::api::obp::locks::get_lock_status,
        crate::api::obp::contact_verifications::start_verification,
        crate::api::obp::contact_verifications::answer_verification,
        crate::api::obp::permissions::account_permissions,
        crate::api::obp::permissions::user_permissions,
        crate::api::obp::permissions::grant_view,
        crate::api::obp::permissions::grant_views,
        crate::api::obp::permissions::revoke_view,
        crate::api::obp::permissions::revoke_all_views,
        crate::api::obp::audit_events::list_audit_events,
        crate::api::obp::locks::unlock_user,
        crate::api::obp::locks::lock_user,
        crate::api::obp::roles::get_roles,
        crate::api::obp::roles::add_entitlement,
        crate::api::obp::roles::user_entitlements,
        crate::api::obp::roles::delete_entitlement,
        crate::api::obp::roles::my_entitlements,
        crate::api::obp::roles::all_entitlements,
        crate::api::obp::roles::bank_user_entitlements,
        crate::api::obp::entitlement_requests::create_entitlement_request,
        crate::api::obp::entitlement_requests::all_entitlement_requests,
        crate::api::obp::entitlement_requests::delete_entitlement_request,
        crate::api::obp::entitlement_requests::my_entitlement_requests,
        crate::api::obp::entitlement_requests::user_entitlement_requests,
        crate::api::obp::auth_contexts::create_auth_context,
        crate::api::obp::accounts::create_account,
        crate::api::obp::accounts::list_views,
        crate::api::obp::accounts::create_custom_view,
        crate::api::obp::accounts::update_custom_view,
        crate::api::obp::accounts::delete_custom_view,
        crate::api::obp::accounts::grant,
        crate::api::obp::accounts::revoke,
        crate::api::obp::accounts::bulk,
        crate::api::obp::accounts::dauth_user_access,
        crate::api::obp::accounts::refresh_user,
        crate::api::obp::accounts::my_access,
        crate::api::obp::consents::create_consent,
        crate::api::obp::consents::answer_consent_challenge,
        crate::api::obp::consents::my_consents,
        crate::api::obp::consents::revoke_consent_get,
        crate::api::obp::consents::revoke_consent,
        crate::api::obp::consents::consent_details,
        crate::api::obp::accounts::user_access,
        crate::api::obp::my_sessions::list,
        crate::api::obp::my_sessions::end_one,
        crate::api::obp::my_sessions::end_others,
        crate::api::obp::my_sessions::end_all_of_user,
        crate::api::obp::authenticators::enrol,
        crate::api::obp::authenticators::confirm,
        crate::api::obp::authenticators::remove,
        crate::api::obp::auth_context_updates::create_update_request,
        crate::api::obp::auth_context_updates::answer_challenge,
        crate::api::obp::auth_contexts::list_auth_contexts,
        crate::api::obp::auth_contexts::delete_auth_contexts,
        crate::api::obp::auth_contexts::delete_auth_context,
        crate::api::obp::consumers::create_consumer,
        crate::api::obp::consumers::get_consumers,
        crate::api::obp::consumers::get_consumer,
        crate::api::obp::consumers::set_enabled,
        crate::api::obp::consumers::set_redirect_url,
        crate::api::obp::consumers::get_call_limits,
        crate::api::obp::consumers::set_call_limits,
        crate::api::obp::consumers::my_consumers,
        crate::api::obp::banks::create_bank,
        crate::api::obp::banks::get_banks,
        crate::api::obp::banks::get_bank,
        crate::api::temenos::mfa::request_pre_login,
        crate::api::temenos::mfa::verify_pre_login,
        crate::api::temenos::mfa::request_security_questions_update,
        crate::api::temenos::mfa::verify_security_questions_update,
        crate::api::temenos::mfa::security_questions,
        crate::api::temenos::mfa::update_security_questions,
        crate::api::apiture::sessions::terminate,
        crate::api::apiture::sessions::resume,
        crate::api::apiture::challenges::start_factor,
        crate::api::apiture::challenges::verify_factor,
        crate::api::oauth2::introspect,
        crate::api::health::live,
        crate::api::health::live_head,
        crate::api::health::ready,
        crate::api::health::ready_head,
        crate::api::health::metrics,
        openapi_json,
    ),
    modifiers(&SecuritySchemes)
)]
struct ApiDoc;

struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "directLogin",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "DirectLogin",
                "token=<session token from POST /my/logins/direct>; also accepted as `Authorization: DirectLogin token=...`",
            ))),
        );
        // A consent is used with two headers at once: operations name both schemes in one
        // security requirement, so a client sends them together.
        components.add_security_scheme(
            "consentJwt",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Consent-JWT",
                "A consent's JWT (from answering its challenge); sent together with Consumer-Key, the key of the consumer the consent was given to. A consent only reads (GET) and reaches what it names",
            ))),
        );
        components.add_security_scheme(
            "consumerKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Consumer-Key",
                "The key of the consumer a consent was given to; sent together with Consent-JWT",
            ))),
        );
        components.add_security_scheme(
            "systemKey",
            SecurityScheme::Http(
                utoipa::openapi::security::HttpBuilder::new()
                    .scheme(utoipa::openapi::security::HttpAuthScheme::Bearer)
                    .description(Some(
                        "A system API key from `assentd admin create-system-key` (Apiture endpoints)",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "konyAuthorization",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Kony-Authorization",
                "The session token from POST /my/logins/direct (Temenos Infinity endpoints)",
            ))),
        );
        components.add_security_scheme(
            "dAuth",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "DAuth",
                "An RS256 JWT from an allowed host with smart_contract_address, network_name, consumer_key, timestamp and request_id; accepted, when the server enables DAuth (off by default), wherever directLogin is except logout (a DAuth call has no session to end)",
            ))),
        );
    }
}

/// The whole document.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    let template = "/obp/v5.1.0/";
    let copies: Vec<(String, utoipa::openapi::PathItem)> = doc
        .paths
        .paths
        .iter()
        .filter(|(path, _)| path.starts_with(template))
        .flat_map(|(path, item)| {
            OBP_VERSIONS
                .iter()
                .filter(|v| **v != "v5.1.0")
                .map(move |v| (path.replacen("v5.1.0", v, 1), copy_for_version(item, v)))
        })
        .collect();
    doc.paths.paths.extend(copies);
    doc
}

/// An OBP path item copied to another version: the same operations, each with an id of its own
/// (the v5.1.0 id and the version, `create_user_v3_1_0`), as OpenAPI requires ids to be unique
/// and code generators name their functions by them.
fn copy_for_version(item: &utoipa::openapi::PathItem, version: &str) -> utoipa::openapi::PathItem {
    let mut copy = item.clone();
    let suffix = version.replace('.', "_");
    for operation in [
        &mut copy.get,
        &mut copy.put,
        &mut copy.post,
        &mut copy.delete,
        &mut copy.options,
        &mut copy.head,
        &mut copy.patch,
        &mut copy.trace,
    ]
    .into_iter()
    .flatten()
    {
        if let Some(id) = &operation.operation_id {
            operation.operation_id = Some(format!("{id}_{suffix}"));
        }
    }
    copy
}

pub fn endpoints() -> Vec<crate::api::RouteSpec> {
    vec![(Method::GET, "/openapi.json", || {
        web::route().to(openapi_json)
    })]
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "OpenAPI 3.1 document", body = Object)))]
pub async fn openapi_json(state: web::Data<crate::state::AppState>) -> HttpResponse {
    HttpResponse::Ok().json(served_at(&state.config.provider))
}

/// The document with the server's public base URL as its one server, so that explorers and
/// generated clients call this server.
pub fn served_at(provider: &str) -> utoipa::openapi::OpenApi {
    let mut doc = document();
    doc.servers = Some(vec![utoipa::openapi::Server::new(
        provider.trim_end_matches('/'),
    )]);
    doc
}
