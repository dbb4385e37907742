//! OAuth 2.0 token introspection (RFC 7662) for API gateways. Answers and errors follow the
//! RFC (and RFC 6749's error form), not one of the three API families.

use crate::services::introspection::{self, ActiveToken, TokenType};
use crate::services::{self, Failure};
use crate::state::AppState;
use actix_web::http::{Method, StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use assent_identity::SecretString;
use serde_json::{Value, json};

pub fn endpoints() -> Vec<crate::api::RouteSpec> {
    vec![(Method::POST, "/oauth2/introspect", || {
        web::route().to(introspect)
    })]
}

/// The form RFC 7662 section 2.1 defines; `token_type_hint` is allowed and not needed.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct IntrospectionForm {
    /// A session token or a consent JWT.
    #[serde(default)]
    #[schema(min_length = 1, required = true)]
    token: String,
    /// `session` or `consent`; not needed, as the token says what it is.
    #[serde(rename = "token_type_hint")]
    #[schema(rename = "token_type_hint")]
    _token_type_hint: Option<String>,
}

/// Longest token looked at: session tokens and consent JWTs are far shorter.
const MAX_TOKEN_LEN: usize = 8 * 1024;

fn oauth_error(status: StatusCode, error: &str, description: &str) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response.insert_header((header::CACHE_CONTROL, "no-store"));
    if status == StatusCode::UNAUTHORIZED {
        response.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"assent\""));
    }
    response.json(json!({ "error": error, "error_description": description }))
}

fn answer(body: Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body)
}

/// The system key of `Authorization: Bearer <key>`.
fn bearer_key(req: &HttpRequest) -> Option<SecretString> {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, key)| key.trim())
        .filter(|k| !k.is_empty() && k.len() <= 128)
        .map(|k| SecretString::new(k.to_owned()))
}

fn is_form(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// The RFC 7662 answer for a live token.
fn active_json(token: ActiveToken) -> Value {
    let mut body = json!({
        "active": true,
        "token_type": match token.token_type {
            TokenType::Session => "session",
            TokenType::Consent => "consent",
        },
        "sub": token.subject,
        "exp": token.expires_at,
        "iat": token.issued_at,
        "iss": token.issuer,
        "jti": token.token_id,
    });
    if let Some(client_id) = token.client_id {
        body["client_id"] = json!(client_id);
    }
    if let Some(consent) = token.consent {
        body["bank_id"] = json!(consent.bank_id);
        body["everything"] = json!(consent.everything);
        body["views"] = json!(consent.views);
        body["roles"] = json!(consent.roles);
    }
    body
}

/// Introspect a token (RFC 7662).
#[utoipa::path(
    post, path = "/oauth2/introspect", tag = "OAuth 2.0",
    security(("systemKey" = [])),
    request_body(content = IntrospectionForm, content_type = "application/x-www-form-urlencoded",
        description = "`token=<session token or consent JWT>` (and optionally `token_type_hint`)"),
    responses(
        (status = 200, description = "`{\"active\": true, \"token_type\": \"session\"|\"consent\", \"sub\", \"client_id\", \"exp\", \"iat\", \"iss\", \"jti\"}` (a consent adds `bank_id`, `everything`, `views`, `roles`), or `{\"active\": false}` for any token that is not live", body = Object),
        (status = 400, description = "`{\"error\": \"invalid_request\"}`: not a form, or no `token`", body = Object),
        (status = 401, description = "`{\"error\": \"invalid_client\"}`: no valid system key", body = Object),
        (status = 503, description = "`{\"error\": \"temporarily_unavailable\"}`: the database is busy or out of reach; retry after `Retry-After`", body = Object),
    )
)]
pub async fn introspect(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> HttpResponse {
    let Some(key) = bearer_key(&req) else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "a system key is required: Authorization: Bearer <key>",
        );
    };
    if !is_form(&req) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body must be application/x-www-form-urlencoded",
        );
    }
    let token = match serde_urlencoded::from_bytes::<IntrospectionForm>(&body) {
        Ok(IntrospectionForm { token, .. }) if !token.is_empty() => token,
        Ok(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "the form field token is required",
            );
        }
        Err(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "the body is not a valid form",
            );
        }
    };
    let checked = services::on_connection(state.into_inner(), move |ctx| {
        let asker = match services::system_callers::sign_in(ctx, &key) {
            Ok(asker) => asker,
            Err(Failure::Refused(_)) => return Ok(None),
            Err(Failure::Internal(internal)) => return Err(internal),
        };
        if token.len() > MAX_TOKEN_LEN {
            return Ok(Some(None));
        }
        introspection::introspect(ctx, &asker, &token).map(Some)
    })
    .await
    .and_then(|answered| answered);
    match checked {
        Ok(None) => oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown or revoked system key",
        ),
        Ok(Some(Some(active))) => answer(active_json(active)),
        Ok(Some(None)) => answer(json!({ "active": false })),
        Err(internal) => match crate::api::log_unexpected(&internal) {
            crate::api::Unexpected::Unavailable { retry_after_secs } => {
                HttpResponse::ServiceUnavailable()
                    .insert_header((header::CACHE_CONTROL, "no-store"))
                    .insert_header(crate::api::retry_after(retry_after_secs))
                    .json(json!({
                        "error": "temporarily_unavailable",
                        "error_description": "the database is busy or out of reach",
                    }))
            }
            crate::api::Unexpected::Bug => oauth_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "internal error",
            ),
        },
    }
}
