//! DirectLogin, logout and the public keys.

use super::auth::Authenticated;
use super::direct_login::{HeaderError, credentials_text, param, parse_params};
use super::errors::*;
use super::users::ErrorJson;
use crate::services::auth::{self, ClientInfo, Credentials};

use crate::hashing::Lane;
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, web};
use assent_identity::SecretString;
use assent_identity::registration::MAX_USERNAME_CHARS;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct TokenJson {
    /// An ES256 JWT naming the new session; send it as `DirectLogin: token=...`.
    pub token: String,
}

/// Characters a username (or email-address username) may hold.
fn username_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || ".-_@+!#$%&'*/=?^`{|}~".contains(c)
}

fn credentials(req: &HttpRequest) -> Result<Credentials, ObpError> {
    let text = credentials_text(req.headers()).map_err(|e| match e {
        HeaderError::Missing => ObpError::bad_request(MISSING_DIRECT_LOGIN_HEADER),
        HeaderError::WrongScheme => ObpError::bad_request(INVALID_DIRECT_LOGIN_HEADER),
        HeaderError::InvalidCharacters => ObpError::bad_request(INVALID_VALUE_CHARACTERS),
    })?;
    let params = parse_params(text).map_err(|_| ObpError::bad_request(INVALID_VALUE_CHARACTERS))?;
    let missing: Vec<&str> = ["username", "password", "consumer_key"]
        .into_iter()
        .filter(|name| param(&params, name).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(ObpError::bad_request(format!(
            "{DIRECT_LOGIN_MISSING_PARAMETERS} {}",
            missing.join(", ")
        )));
    }
    let username = param(&params, "username").unwrap_or_default();
    let password = param(&params, "password").unwrap_or_default();
    let consumer_key = param(&params, "consumer_key").unwrap_or_default();
    if username.chars().count() > MAX_USERNAME_CHARS
        || password.len() > 512
        || consumer_key.len() > 100
    {
        return Err(ObpError::bad_request(VALUE_TOO_LONG));
    }
    if !username.chars().all(username_char)
        || !consumer_key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(ObpError::bad_request(INVALID_VALUE_CHARACTERS));
    }
    Ok(Credentials {
        username: username.to_owned(),
        password: SecretString::from(password),
        consumer_key: SecretString::from(consumer_key),
    })
}

/// DirectLogin: exchanges username, password and consumer key for a session token.
#[utoipa::path(
    post, path = "/my/logins/direct", tag = "OBP: authentication",
    params(("DirectLogin" = String, Header, pattern = r#"^username="[A-Za-z0-9.\-_@+!#$%&'*/=?^`{|}~]{1,100}", password="([\x20-\x21\x23-\x5b\x5d-\x7e]|\\["\\]){1,512}", consumer_key="[A-Za-z0-9_-]{1,100}"$"#,
        description = "username=..., password=..., consumer_key=... (or the same after `Authorization: DirectLogin`). The server takes the three in any order, unquoted values without commas too; the pattern gives the one form every client can send")),
    responses(
        (status = 201, description = "Session started", body = TokenJson),
        (status = 400, description = "OBP-20082 no header, OBP-20083 wrong scheme, OBP-20002 missing parameters, OBP-20010 too long, OBP-20011 bad characters", body = ErrorJson),
        (status = 401, description = "OBP-20008 invalid consumer key, OBP-20004 invalid credentials, OBP-20013 account locked", body = ErrorJson),
    )
)]
pub async fn direct_login(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ObpError> {
    let credentials = credentials(&req)?;
    let client = ClientInfo {
        ip: state.client_ip(&req).map(|ip| ip.to_string()),
        user_agent: req
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    };
    let token = state
        .into_inner()
        .on_hashing_pool(Lane::Account, move |state| {
            auth::direct_login(state, &credentials, &client, state.clock.now())
        })
        .await??;
    Ok(HttpResponse::Created().json(TokenJson { token }))
}

/// Log out: ends the caller's session; its token stops working at once.
#[utoipa::path(
    delete, path = "/my/logins/current", tag = "OBP: authentication",
    security(("directLogin" = [])),
    responses(
        (status = 204, description = "Session ended"),
        (status = 401, description = "OBP-20001 not logged in, OBP-20003 invalid or expired token", body = ErrorJson),
    )
)]
pub async fn logout(
    state: web::Data<AppState>,
    caller: Authenticated,
) -> Result<HttpResponse, ObpError> {
    caller
        .run(&state, |ctx, caller| Ok(auth::logout(ctx, &caller)?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Get JSON Web Key (JWK): the public keys that verify our tokens.
#[utoipa::path(
    get, path = "/obp/v5.1.0/certs", tag = "OBP: authentication",
    responses((status = 200, description = "JWKS (RFC 7517): the key that signs and every earlier key that may have signed a live token; cacheable for `jwks_max_age_secs`", body = Object))
)]
pub async fn certs(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((
            actix_web::http::header::CACHE_CONTROL,
            format!("public, max-age={}", state.config.jwks_max_age_secs),
        ))
        .json(state.keys.jwks())
}
