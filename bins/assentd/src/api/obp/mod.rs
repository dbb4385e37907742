//! The Open Bank Project family: users, DirectLogin, sessions, keys.

pub mod auth;
pub mod direct_login;
pub mod errors;
pub mod login;
pub mod users;

use actix_web::http::Method;
use actix_web::web;

/// Endpoints under every `/obp/vX.Y.Z` prefix: (method, path after the prefix, handler).
pub fn versioned_endpoints() -> Vec<crate::api::RouteSpec> {
    vec![
        (Method::POST, "/users", || {
            web::route().to(users::create_user)
        }),
        (Method::GET, "/users/current", || {
            web::route().to(users::current_user)
        }),
        (Method::GET, "/certs", || web::route().to(login::certs)),
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
