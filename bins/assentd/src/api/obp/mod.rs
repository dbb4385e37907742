//! The Open Bank Project family: users, DirectLogin, sessions, keys.

pub mod accounts;
pub mod api_info;
pub mod audit_events;
pub mod auth;
pub mod auth_context_updates;
pub mod auth_contexts;
pub mod authenticators;
pub mod banks;
pub mod consents;
pub mod consumers;
pub mod contact_verifications;
pub mod direct_login;
pub mod entitlement_requests;
pub mod errors;
pub mod locks;
pub mod login;
pub mod my_sessions;
pub mod permissions;
pub mod roles;
pub mod user_queries;
pub mod users;

use actix_web::http::Method;
use actix_web::web;

/// A stored timestamp (microseconds since the epoch) as RFC 3339, UTC, to the microsecond:
/// for records whose order within a second matters (the audit trail).
pub fn timestamp_micros(micros: i64) -> String {
    assent_repository::from_micros(micros)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A stored timestamp (microseconds since the epoch) as OBP shows times: RFC 3339, UTC, to
/// the second.
pub fn timestamp(micros: i64) -> String {
    let at = assent_repository::from_micros(micros);
    at.replace_nanosecond(0)
        .unwrap_or(at)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Endpoints under every `/obp/vX.Y.Z` prefix: (method, path after the prefix, handler).
/// Order matters: actix takes the first match, so fixed segments (`/users/username/…`) come
/// before patterns that could swallow them (`/users/{username}/…`).
pub fn versioned_endpoints() -> Vec<crate::api::RouteSpec> {
    vec![
        (Method::POST, "/users", || {
            web::route().to(users::create_user)
        }),
        (Method::GET, "/users/current", || {
            web::route().to(users::current_user)
        }),
        (Method::POST, "/users/current/contact-verifications", || {
            web::route().to(contact_verifications::start_verification)
        }),
        (
            Method::POST,
            "/users/current/contact-verifications/{verification_id}/challenge",
            || web::route().to(contact_verifications::answer_verification),
        ),
        (Method::GET, "/certs", || web::route().to(login::certs)),
        (Method::GET, "/jwks-uris", || {
            web::route().to(api_info::jwks_uris)
        }),
        (Method::GET, "/rate-limiting", || {
            web::route().to(api_info::rate_limiting)
        }),
        (Method::GET, "/root", || web::route().to(api_info::root)),
        (Method::GET, "/", || web::route().to(api_info::api_root)),
        (Method::GET, "/users/username/{username}", || {
            web::route().to(user_queries::by_username)
        }),
        (Method::GET, "/users/user_id/{user_id}", || {
            web::route().to(user_queries::by_user_id)
        }),
        (Method::GET, "/users/email/{email}/terminator", || {
            web::route().to(user_queries::by_email)
        }),
        (Method::GET, "/users/{username}/lock-status", || {
            web::route().to(locks::get_lock_status)
        }),
        (Method::PUT, "/users/{username}/lock-status", || {
            web::route().to(locks::unlock_user)
        }),
        (Method::POST, "/users/{username}/locks", || {
            web::route().to(locks::lock_user)
        }),
        (Method::GET, "/users", || {
            web::route().to(user_queries::all_users)
        }),
        (Method::GET, "/roles", || web::route().to(roles::get_roles)),
        (Method::POST, "/users/{user_id}/entitlements", || {
            web::route().to(roles::add_entitlement)
        }),
        (Method::GET, "/users/{user_id}/entitlements", || {
            web::route().to(roles::user_entitlements)
        }),
        (
            Method::DELETE,
            "/users/{user_id}/entitlement/{entitlement_id}",
            || web::route().to(roles::delete_entitlement),
        ),
        (Method::GET, "/my/entitlements", || {
            web::route().to(roles::my_entitlements)
        }),
        (Method::POST, "/users/{user_id}/auth-context", || {
            web::route().to(auth_contexts::create_auth_context)
        }),
        (Method::GET, "/users/{user_id}/auth-context", || {
            web::route().to(auth_contexts::list_auth_contexts)
        }),
        (Method::DELETE, "/users/{user_id}/auth-context", || {
            web::route().to(auth_contexts::delete_auth_contexts)
        }),
        (
            Method::DELETE,
            "/users/{user_id}/auth-context/{user_auth_context_id}",
            || web::route().to(auth_contexts::delete_auth_context),
        ),
        (Method::GET, "/entitlements", || {
            web::route().to(roles::all_entitlements)
        }),
        (
            Method::PUT,
            "/banks/{bank_id}/accounts/{account_id}",
            || web::route().to(accounts::create_account),
        ),
        (
            Method::GET,
            "/banks/{bank_id}/accounts/{account_id}/views",
            || web::route().to(accounts::list_views),
        ),
        (
            Method::POST,
            "/banks/{bank_id}/accounts/{account_id}/views",
            || web::route().to(accounts::create_custom_view),
        ),
        (
            Method::PUT,
            "/banks/{bank_id}/accounts/{account_id}/views/{view_id}",
            || web::route().to(accounts::update_custom_view),
        ),
        (
            Method::DELETE,
            "/banks/{bank_id}/accounts/{account_id}/views/{view_id}",
            || web::route().to(accounts::delete_custom_view),
        ),
        (
            Method::POST,
            "/banks/{bank_id}/accounts/{account_id}/account-access/grant",
            || web::route().to(accounts::grant),
        ),
        (
            Method::POST,
            "/banks/{bank_id}/accounts/{account_id}/account-access/revoke",
            || web::route().to(accounts::revoke),
        ),
        (
            Method::PUT,
            "/banks/{bank_id}/accounts/{account_id}/account-access",
            || web::route().to(accounts::bulk),
        ),
        (
            Method::POST,
            "/banks/{bank_id}/accounts/{account_id}/user-account-access",
            || web::route().to(accounts::dauth_user_access),
        ),
        (
            Method::GET,
            "/banks/{bank_id}/accounts/{account_id}/permissions",
            || web::route().to(permissions::account_permissions),
        ),
        (
            Method::GET,
            "/banks/{bank_id}/accounts/{account_id}/permissions/{provider}/{provider_id}",
            || web::route().to(permissions::user_permissions),
        ),
        (
            Method::POST,
            "/banks/{bank_id}/accounts/{account_id}/permissions/{provider}/{provider_id}/views",
            || web::route().to(permissions::grant_views),
        ),
        (
            Method::DELETE,
            "/banks/{bank_id}/accounts/{account_id}/permissions/{provider}/{provider_id}/views",
            || web::route().to(permissions::revoke_all_views),
        ),
        (
            Method::POST,
            "/banks/{bank_id}/accounts/{account_id}/permissions/{provider}/{provider_id}/views/{view_id}",
            || web::route().to(permissions::grant_view),
        ),
        (
            Method::DELETE,
            "/banks/{bank_id}/accounts/{account_id}/permissions/{provider}/{provider_id}/views/{view_id}",
            || web::route().to(permissions::revoke_view),
        ),
        (Method::POST, "/users/{user_id}/refresh", || {
            web::route().to(accounts::refresh_user)
        }),
        (
            Method::POST,
            "/banks/{bank_id}/my/consents/{sca_method}",
            || web::route().to(consents::create_consent),
        ),
        (
            Method::POST,
            "/banks/{bank_id}/consents/{consent_id}/challenge",
            || web::route().to(consents::answer_consent_challenge),
        ),
        (Method::GET, "/banks/{bank_id}/my/consents", || {
            web::route().to(consents::my_consents)
        }),
        (
            Method::GET,
            "/banks/{bank_id}/my/consents/{consent_id}/revoke",
            || web::route().to(consents::revoke_consent_get),
        ),
        (
            Method::DELETE,
            "/banks/{bank_id}/consents/{consent_id}",
            || web::route().to(consents::revoke_consent),
        ),
        (Method::GET, "/user/current/consents/{consent_id}", || {
            web::route().to(consents::consent_details)
        }),
        (Method::GET, "/my/account-access", || {
            web::route().to(accounts::my_access)
        }),
        (Method::GET, "/users/{user_id}/account-access", || {
            web::route().to(accounts::user_access)
        }),
        (Method::GET, "/my/sessions", || {
            web::route().to(my_sessions::list)
        }),
        (Method::DELETE, "/my/sessions", || {
            web::route().to(my_sessions::end_others)
        }),
        (Method::DELETE, "/my/sessions/{session_id}", || {
            web::route().to(my_sessions::end_one)
        }),
        (Method::DELETE, "/users/{user_id}/sessions", || {
            web::route().to(my_sessions::end_all_of_user)
        }),
        (Method::POST, "/my/authenticators/totp", || {
            web::route().to(authenticators::enrol)
        }),
        (Method::DELETE, "/my/authenticators/totp", || {
            web::route().to(authenticators::remove)
        }),
        (Method::POST, "/my/authenticators/totp/confirm", || {
            web::route().to(authenticators::confirm)
        }),
        (
            Method::POST,
            "/banks/{bank_id}/users/current/auth-context-updates/{sca_method}",
            || web::route().to(auth_context_updates::create_update_request),
        ),
        (
            Method::POST,
            "/banks/{bank_id}/users/current/auth-context-updates/{auth_context_update_id}/challenge",
            || web::route().to(auth_context_updates::answer_challenge),
        ),
        (
            Method::GET,
            "/banks/{bank_id}/users/{user_id}/entitlements",
            || web::route().to(roles::bank_user_entitlements),
        ),
        (Method::POST, "/entitlement-requests", || {
            web::route().to(entitlement_requests::create_entitlement_request)
        }),
        (Method::GET, "/entitlement-requests", || {
            web::route().to(entitlement_requests::all_entitlement_requests)
        }),
        (
            Method::DELETE,
            "/entitlement-requests/{entitlement_request_id}",
            || web::route().to(entitlement_requests::delete_entitlement_request),
        ),
        (Method::GET, "/my/entitlement-requests", || {
            web::route().to(entitlement_requests::my_entitlement_requests)
        }),
        (Method::GET, "/users/{user_id}/entitlement-requests", || {
            web::route().to(entitlement_requests::user_entitlement_requests)
        }),
        (Method::GET, "/management/audit-events", || {
            web::route().to(audit_events::list_audit_events)
        }),
        (Method::POST, "/management/consumers", || {
            web::route().to(consumers::create_consumer)
        }),
        (Method::GET, "/management/consumers", || {
            web::route().to(consumers::get_consumers)
        }),
        (Method::GET, "/management/consumers/{consumer_id}", || {
            web::route().to(consumers::get_consumer)
        }),
        (Method::PUT, "/management/consumers/{consumer_id}", || {
            web::route().to(consumers::set_enabled)
        }),
        (
            Method::PUT,
            "/management/consumers/{consumer_id}/consumer/redirect_url",
            || web::route().to(consumers::set_redirect_url),
        ),
        (
            Method::GET,
            "/management/consumers/{consumer_id}/consumer/call-limits",
            || web::route().to(consumers::get_call_limits),
        ),
        (
            Method::PUT,
            "/management/consumers/{consumer_id}/consumer/call-limits",
            || web::route().to(consumers::set_call_limits),
        ),
        (Method::GET, "/management/users/current/consumers", || {
            web::route().to(consumers::my_consumers)
        }),
        (Method::POST, "/banks", || {
            web::route().to(banks::create_bank)
        }),
        (Method::GET, "/banks", || web::route().to(banks::get_banks)),
        (Method::GET, "/banks/{bank_id}", || {
            web::route().to(banks::get_bank)
        }),
    ]
}

/// OBP endpoints outside the versioned prefixes.
pub fn unversioned_endpoints() -> Vec<crate::api::RouteSpec> {
    vec![
        (Method::POST, "/my/logins/direct", || {
            web::route().to(login::direct_login)
        }),
        (Method::DELETE, "/my/logins/current", || {
            web::route().to(login::logout)
        }),
    ]
}
