//! Apiture's dialect: RFC 9457 `application/problem+json` with `id`, `type`, `title`, `status`
//! (equal to the HTTP status), `occurredAt`, `detail` and `instance`.

pub mod challenges;
mod errors;
pub mod sessions;

use super::GenericError;
use crate::services::system_callers::SystemCaller;
use crate::services::{self, Context};
use crate::state::AppState;
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use assent_identity::secret::SecretString;
use serde::Serialize;
use std::fmt;
use std::sync::Arc;

/// Where problem types are documented.
const TYPE_BASE: &str = "https://assent.dev/problems/";

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    pub id: uuid::Uuid,
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub occurred_at: String,
    pub detail: String,
    pub instance: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<serde_json::Value>,
}

/// Renders a problem response.
pub fn problem(
    status: StatusCode,
    slug: &str,
    title: &str,
    detail: &str,
    instance: &str,
) -> HttpResponse {
    let occurred_at = occurred_at(crate::clock::request_time());
    HttpResponse::build(status)
        .content_type("application/problem+json")
        .json(Problem {
            id: uuid::Uuid::new_v4(),
            problem_type: format!("{TYPE_BASE}{slug}"),
            title: capped(title, MAX_TITLE),
            status: status.as_u16(),
            occurred_at,
            detail: capped(detail, MAX_DETAIL),
            instance: capped(instance, MAX_INSTANCE),
            problems: Vec::new(),
            attributes: None,
        })
}

pub fn generic(kind: GenericError, instance: &str) -> HttpResponse {
    let (slug, title, detail) = match kind {
        GenericError::NotFound => ("notFound", "Not Found", "No resource exists at this path."),
        GenericError::MethodNotAllowed => (
            "methodNotAllowed",
            "Method Not Allowed",
            "This resource does not support this method.",
        ),
        GenericError::PayloadTooLarge => (
            "payloadTooLarge",
            "Payload Too Large",
            "The request body exceeds the size limit.",
        ),
        GenericError::BadJson => (
            "malformedRequestBody",
            "Malformed Request Body",
            "The request body is not valid JSON of the expected shape.",
        ),
        GenericError::BadQuery => (
            "malformedQuery",
            "Malformed Query",
            "The query parameters are not valid.",
        ),
        GenericError::Internal => (
            "internalError",
            "Internal Server Error",
            "The server could not complete the request.",
        ),
    };
    problem(kind.status(), slug, title, detail, instance)
}

/// The reference's length limits of problem fields.
const MAX_TITLE: usize = 120;
const MAX_DETAIL: usize = 256;
const MAX_INSTANCE: usize = 2048;

/// `text` cut to `max` characters (a path of any length can become an `instance`).
fn capped(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// RFC 3339 UTC with milliseconds, as the reference's `occurredAt`.
fn occurred_at(at: time::OffsetDateTime) -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'_>] = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    at.to_offset(time::UtcOffset::UTC)
        .format(FORMAT)
        .unwrap_or_default()
}

/// An Apiture problem as an error: `type` slug, title, detail, the request path as
/// `instance`, and `attributes` where the caller needs more (attempts left, a challenge).
#[derive(Debug, Clone)]
pub struct ApitureError {
    pub status: StatusCode,
    pub slug: &'static str,
    pub title: &'static str,
    pub detail: String,
    pub instance: String,
    /// Boxed: most problems carry none, and every `Result` of a handler carries the room.
    pub attributes: Option<Box<serde_json::Value>>,
    /// When to try again (every 429 and 503 says it).
    pub retry_after: Option<super::RetryAfter>,
}

impl ApitureError {
    pub fn new(
        status: StatusCode,
        slug: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            status,
            slug,
            title,
            detail: detail.into(),
            instance: String::new(),
            attributes: None,
            retry_after: None,
        }
    }

    /// The same problem, telling the client when to try again.
    pub fn with_retry_after(mut self, retry_after: super::RetryAfter) -> Self {
        self.retry_after = Some(retry_after);
        self
    }

    /// The request path the problem is about.
    pub fn at(mut self, instance: &str) -> Self {
        self.instance = instance.to_owned();
        self
    }

    pub fn with_attributes(mut self, attributes: serde_json::Value) -> Self {
        self.attributes = Some(Box::new(attributes));
        self
    }

    /// A 500 whose cause goes to the log only; a 503 `serviceBusy` with `Retry-After` when
    /// the database was too busy or could not be reached (see [`super::log_unexpected`]).
    pub fn internal(cause: impl Into<crate::failure::Internal>) -> Self {
        if let super::Unexpected::Unavailable { retry_after_secs } =
            super::log_unexpected(&cause.into())
        {
            return Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "serviceBusy",
                "Service Busy",
                "The service is busy. Try again shortly.",
            )
            .with_retry_after(super::RetryAfter::seconds(retry_after_secs));
        }
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internalError",
            "Internal Server Error",
            "The server could not complete the request.",
        )
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Unauthorized",
            "Send a system API key: Authorization: Bearer <key>.",
        )
    }
}

impl fmt::Display for ApitureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.slug, self.detail)
    }
}

impl From<crate::services::Internal> for ApitureError {
    fn from(error: crate::services::Internal) -> Self {
        ApitureError::internal(error)
    }
}

impl ResponseError for ApitureError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED && self.slug == "unauthorized" {
            response.insert_header(("WWW-Authenticate", "Bearer realm=\"assent-system\""));
        }
        super::insert_retry_after(&mut response, self.status, self.retry_after, &self.slug);
        response
            .content_type("application/problem+json")
            .json(Problem {
                id: uuid::Uuid::new_v4(),
                problem_type: format!("{TYPE_BASE}{}", self.slug),
                title: capped(self.title, MAX_TITLE),
                status: self.status.as_u16(),
                occurred_at: occurred_at(crate::clock::request_time()),
                detail: capped(&self.detail, MAX_DETAIL),
                instance: capped(&self.instance, MAX_INSTANCE),
                problems: Vec::new(),
                attributes: self.attributes.as_deref().cloned(),
            })
    }
}

/// A system caller's bearer key, read from the request before any database work and checked
/// against the stored keys by [`SystemKey::run`], in the same blocking call as the work.
pub struct SystemKey(SecretString);

impl SystemKey {
    /// The key of `Authorization: Bearer <key>` (401 without one).
    pub fn of(req: &HttpRequest) -> Result<Self, ApitureError> {
        req.headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            // The scheme is case-insensitive (RFC 9110 section 11.1).
            .and_then(|v| v.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, key)| key.trim())
            .filter(|k| !k.is_empty() && k.len() <= 128)
            .map(|k| SystemKey(SecretString::new(k.to_owned())))
            .ok_or_else(|| ApitureError::unauthorized().at(req.path()))
    }

    /// Checks the key, then runs `work` for its caller, on the blocking pool.
    pub async fn run<T: Send + 'static>(
        self,
        state: Arc<AppState>,
        work: impl FnOnce(&mut Context<'_>, SystemCaller) -> Result<T, ApitureError> + Send + 'static,
    ) -> Result<T, ApitureError> {
        services::on_connection(state, move |ctx| {
            let caller = services::system_callers::sign_in(ctx, &self.0)?;
            work(ctx, caller)
        })
        .await?
    }

    /// As [`SystemKey::run`], on the hashing pool, for work that checks secrets with Argon2id.
    pub async fn run_on_hashing_pool<T: Send + 'static>(
        self,
        state: Arc<AppState>,
        work: impl FnOnce(&mut Context<'_>, SystemCaller) -> Result<T, ApitureError> + Send + 'static,
    ) -> Result<T, ApitureError> {
        services::on_hashing_pool(state, move |ctx| {
            let caller = services::system_callers::sign_in(ctx, &self.0)?;
            work(ctx, caller)
        })
        .await?
    }
}

/// The Apiture endpoints.
pub fn endpoints() -> Vec<crate::api::RouteSpec> {
    vec![
        (Method::POST, "/system/terminatedCustomerSessions", || {
            web::route().to(sessions::terminate)
        }),
        (Method::POST, "/system/resumedCustomerSessions", || {
            web::route().to(sessions::resume)
        }),
        (
            Method::POST,
            "/system/challenges/{challenge_id}/factors/{factor_id}/start",
            || web::route().to(challenges::start_factor),
        ),
        (
            Method::POST,
            "/system/challenges/{challenge_id}/factors/{factor_id}/verify",
            || web::route().to(challenges::verify_factor),
        ),
    ]
}
