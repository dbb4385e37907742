//! The HTTP surface: three API families over one core. Each family has an adapter module that
//! renders errors in its own dialect; this module holds what they share (the route table,
//! fallbacks for unknown routes and wrong methods, body limits, metrics, request ids).

pub mod apiture;
pub mod explorer;
pub mod health;
pub mod oauth2;
pub mod obp;
pub mod openapi;
pub mod temenos;

use crate::state::AppState;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, Route, web};
use std::time::Instant;

/// The API family a path belongs to, which decides the error dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Obp,
    Apiture,
    Temenos,
}

impl Dialect {
    pub fn for_path(path: &str) -> Self {
        if path.starts_with("/system/") || path == "/system" {
            Dialect::Apiture
        } else if path.starts_with("/services/") || path == "/services" {
            Dialect::Temenos
        } else {
            Dialect::Obp
        }
    }

    /// A generic error (404, 405, 413, 400 bad body) in this dialect.
    pub fn error(self, kind: GenericError, instance: &str) -> HttpResponse {
        match self {
            Dialect::Obp => obp::errors::generic(kind),
            Dialect::Apiture => apiture::generic(kind, instance),
            Dialect::Temenos => temenos::generic(kind),
        }
    }
}

/// Errors every family must render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GenericError {
    NotFound,
    MethodNotAllowed,
    PayloadTooLarge,
    BadJson,
    BadQuery,
    Internal,
}

impl GenericError {
    pub fn status(self) -> StatusCode {
        match self {
            GenericError::NotFound => StatusCode::NOT_FOUND,
            GenericError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            GenericError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            GenericError::BadJson | GenericError::BadQuery => StatusCode::BAD_REQUEST,
            GenericError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// One endpoint: method, full path pattern, handler. The server registers exactly these, and a
/// test checks that the OpenAPI document describes exactly these.
pub struct Endpoint {
    pub method: Method,
    pub path: String,
    pub route: fn() -> Route,
}

/// (method, path, handler) as each family lists its endpoints.
pub type RouteSpec = (Method, &'static str, fn() -> Route);

/// The versions every OBP endpoint answers under.
pub const OBP_VERSIONS: [&str; 3] = ["v3.1.0", "v4.0.0", "v5.1.0"];

/// Every endpoint of the server.
pub fn endpoints() -> Vec<Endpoint> {
    let mut all = Vec::new();
    for version in OBP_VERSIONS {
        for (method, path, route) in obp::versioned_endpoints() {
            all.push(Endpoint {
                method,
                path: format!("/obp/{version}{path}"),
                route,
            });
        }
    }
    for (method, path, route) in obp::unversioned_endpoints()
        .into_iter()
        .chain(health::endpoints())
        .chain(openapi::endpoints())
        .chain(oauth2::endpoints())
        .chain(temenos::endpoints())
        .chain(apiture::endpoints())
    {
        all.push(Endpoint {
            method,
            path: path.to_owned(),
            route,
        });
    }
    all
}

/// Registers every endpoint. Operations and unversioned routes sit at the root; each OBP
/// version gets a scope, so routing a request walks only the routes of its own prefix (actix
/// tries resources in order: one flat list of every version's routes measurably slowed every
/// request, see docs/benchmarks.md).
pub fn configure(cfg: &mut web::ServiceConfig) {
    let root: Vec<RouteSpec> = health::endpoints()
        .into_iter()
        .chain(openapi::endpoints())
        .chain(oauth2::endpoints())
        .chain(obp::unversioned_endpoints())
        .chain(temenos::endpoints())
        .chain(apiture::endpoints())
        .collect();
    // actix-web tries services in registration order, and a dynamic path costs a regular
    // expression each time it is tried: the OBP scopes (a prefix check each, nothing else lives
    // under them) go first, and within each list fixed paths go before patterns.
    for version in OBP_VERSIONS {
        cfg.service(
            web::scope(&format!("/obp/{version}"))
                .configure(|scope| register(scope, obp::versioned_endpoints()))
                .default_service(web::to(not_found)),
        );
    }
    register(cfg, root);
}

/// One resource per path, answering other methods with 405 in the family's dialect.
fn register(cfg: &mut web::ServiceConfig, specs: Vec<RouteSpec>) {
    let mut paths: Vec<&'static str> = Vec::new();
    for (_, path, _) in &specs {
        if !paths.contains(path) {
            paths.push(path);
        }
    }
    // Fixed paths first (`/users/current` before `/users/{user_id}`), patterns in their
    // declared order after them.
    paths.sort_by_key(|path| path.contains('{'));
    for path in paths {
        let here: Vec<&RouteSpec> = specs.iter().filter(|(_, p, _)| *p == path).collect();
        let allow = here
            .iter()
            .map(|(method, _, _)| method.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let mut resource = web::resource(path);
        for (method, _, route) in here {
            resource = resource.route(route().method(method.clone()));
        }
        resource = resource.default_service(web::to(move |req: HttpRequest| {
            let allow = allow.clone();
            async move {
                let mut response =
                    Dialect::for_path(req.path()).error(GenericError::MethodNotAllowed, req.path());
                if let Ok(value) = header::HeaderValue::from_str(&allow) {
                    response.headers_mut().insert(header::ALLOW, value);
                }
                response
            }
        }));
        cfg.service(resource);
    }
}

/// What an unexpected failure was, once logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unexpected {
    /// The database was too busy or could not be reached: each dialect answers 503 with
    /// [`retry_after`] of these seconds.
    Unavailable { retry_after_secs: u32 },
    /// Anything else: each dialect answers 500 and says nothing more.
    Bug,
}

/// Logs an unexpected failure with its whole chain (a warning when the database was busy, an
/// error when it could not be reached or on anything else) and says which it was. The client
/// is told neither.
pub fn log_unexpected(cause: &crate::failure::Internal) -> Unexpected {
    if cause.is_unreachable() {
        tracing::error!(error = %cause.chain(), "database unreachable");
        Unexpected::Unavailable {
            retry_after_secs: crate::failure::UNREACHABLE_RETRY_AFTER_SECS,
        }
    } else if cause.is_busy() {
        tracing::warn!(error = %cause.chain(), "database busy");
        Unexpected::Unavailable {
            retry_after_secs: crate::failure::BUSY_RETRY_AFTER_SECS,
        }
    } else {
        tracing::error!(error = %cause.chain(), "internal error");
        Unexpected::Bug
    }
}

/// Puts `Retry-After` on an answer of `status` in any dialect: `retry_after` when the refusal
/// said when; every 429 and 503 must say it, so one without is a bug (an assertion in debug
/// builds, which the tests run; a second in release builds). `what` names the answer in the
/// assertion.
pub fn insert_retry_after(
    response: &mut actix_web::HttpResponseBuilder,
    status: StatusCode,
    retry_after: Option<RetryAfter>,
    what: &dyn std::fmt::Display,
) {
    match retry_after {
        Some(retry_after) => {
            response.insert_header(retry_after.header());
        }
        None if needs_retry_after(status) => {
            debug_assert!(false, "a {status} without Retry-After: {what}");
            response.insert_header(self::retry_after(crate::failure::BUSY_RETRY_AFTER_SECS));
        }
        None => {}
    }
}

/// Whether an answer with this status must say when to come back: every 429 and every 503
/// carries `Retry-After`, in every dialect.
pub fn needs_retry_after(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE
}

/// When a client may try again: what `Retry-After` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfter {
    /// After this many seconds.
    Seconds(u32),
    /// At the start of the next UTC hour (an hourly allowance).
    NextUtcHour,
    /// At the next UTC midnight (a daily allowance).
    NextUtcDay,
}

impl RetryAfter {
    /// After `seconds` (at least one).
    pub fn seconds(seconds: impl TryInto<u32>) -> Self {
        RetryAfter::Seconds(seconds.try_into().unwrap_or(1).max(1))
    }

    /// The header, counted from the time the request arrived. Called when the answer is
    /// rendered, on the request's worker: a refusal may be built on a blocking thread, where
    /// the request's time is not known.
    pub fn header(self) -> (&'static str, String) {
        use crate::services::allowances::{seconds_to_next_day, seconds_to_next_hour};
        let now = crate::clock::request_time();
        retry_after(match self {
            RetryAfter::Seconds(seconds) => u64::from(seconds),
            RetryAfter::NextUtcHour => seconds_to_next_hour(now),
            RetryAfter::NextUtcDay => seconds_to_next_day(now),
        })
    }
}

/// The `Retry-After` header asking a client to wait `seconds` (at least one): the one way
/// every dialect says it.
pub fn retry_after(seconds: impl TryInto<u64>) -> (&'static str, String) {
    let seconds = seconds.try_into().unwrap_or(1).max(1);
    ("Retry-After", seconds.to_string())
}

/// Unknown routes: 404 in the family's dialect.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    Dialect::for_path(req.path()).error(GenericError::NotFound, req.path())
}

/// JSON body errors in the family's dialect: 413 past the limit, 400 otherwise. Nothing of the
/// parser's message is echoed beyond a short reason.
pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .content_type_required(false)
        .error_handler(|error, req| {
            use actix_web::error::JsonPayloadError;
            let kind = match &error {
                JsonPayloadError::Overflow { .. }
                | JsonPayloadError::OverflowKnownLength { .. } => GenericError::PayloadTooLarge,
                _ => GenericError::BadJson,
            };
            // serde's messages can quote the offending value (a password sent as a number,
            // say), so only the position and category are logged.
            let reason = match &error {
                JsonPayloadError::Deserialize(e) => {
                    format!(
                        "{:?} at line {} column {}",
                        e.classify(),
                        e.line(),
                        e.column()
                    )
                }
                JsonPayloadError::Overflow { .. }
                | JsonPayloadError::OverflowKnownLength { .. } => "body too large".to_owned(),
                JsonPayloadError::ContentType => "unsupported content type".to_owned(),
                _ => "unreadable body".to_owned(),
            };
            let response = Dialect::for_path(req.path()).error(kind, req.path());
            actix_web::error::InternalError::from_response(
                format!("rejected JSON body: {reason}"),
                response,
            )
            .into()
        })
}

/// A JSON body that must be an object. serde's derived structs also read an array of their
/// fields in order, so a struct whose fields are all optional would take `[]` or `[null, null]`
/// as an empty request and act on it; no client means that, and the document says `object`.
/// Bad bodies answer as [`json_config`]'s do.
pub struct JsonObject<T>(pub T);

impl<T> JsonObject<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: serde::de::DeserializeOwned + 'static> actix_web::FromRequest for JsonObject<T> {
    type Error = actix_web::Error;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let map =
            web::Json::<serde_json::Map<String, serde_json::Value>>::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let map = map.await?.into_inner();
            object_from_map(map).map(JsonObject).map_err(|error| {
                let response =
                    Dialect::for_path(req.path()).error(GenericError::BadJson, req.path());
                actix_web::error::InternalError::from_response(
                    format!("rejected JSON body: {:?}", error.classify()),
                    response,
                )
                .into()
            })
        })
    }
}

fn object_from_map<T: serde::de::DeserializeOwned>(
    map: serde_json::Map<String, serde_json::Value>,
) -> Result<T, serde_json::Error> {
    serde_json::from_value(serde_json::Value::Object(map))
}

/// `deserialize_with` for an optional nested struct that must be a JSON object when present,
/// for the reason [`JsonObject`] gives. Use with `#[serde(default)]`.
pub fn optional_object<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    use serde::Deserialize;
    match Option::<serde_json::Map<String, serde_json::Value>>::deserialize(deserializer)? {
        None => Ok(None),
        Some(map) => object_from_map(map)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

/// Query-string errors in the family's dialect.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|error, req| {
        let response = Dialect::for_path(req.path()).error(GenericError::BadQuery, req.path());
        actix_web::error::InternalError::from_response(format!("rejected query: {error}"), response)
            .into()
    })
}

/// Cross-cutting request handling: refuses oversized bodies before any handler runs, adds the
/// request id to the response, and records metrics by matched route.
pub async fn edge(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let arrived = state
        .as_ref()
        .map_or(time::OffsetDateTime::UNIX_EPOCH, |s| s.clock.now());
    crate::clock::serving_at(arrived, edge_at(req, next, state)).await
}

async fn edge_at(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
    state: Option<web::Data<AppState>>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let limit = state
        .as_ref()
        .map_or(64 * 1024, |s| s.config.max_body_bytes);
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let method = req.method().to_string();
    let request_id = req
        .extensions()
        .get::<tracing_actix_web::RequestId>()
        .map(|id| id.to_string());
    // No id, name or key of ours holds a control character; refusing them here, in the path
    // and in the query string, keeps them from ever reaching a query (PostgreSQL refuses NUL
    // in text with an error, not a miss).
    let control_in_path = percent_decoded_has_control(req.path());
    let control_in_query = percent_decoded_has_control(req.query_string());
    let mut response = if control_in_path {
        let path = req.path().to_owned();
        let response = Dialect::for_path(&path).error(GenericError::NotFound, &path);
        req.into_response(response).map_into_boxed_body()
    } else if control_in_query {
        let path = req.path().to_owned();
        let response = Dialect::for_path(&path).error(GenericError::BadQuery, &path);
        req.into_response(response).map_into_boxed_body()
    } else if declared.is_some_and(|len| len > limit as u64) {
        let path = req.path().to_owned();
        let response = Dialect::for_path(&path).error(GenericError::PayloadTooLarge, &path);
        req.into_response(response).map_into_boxed_body()
    } else {
        next.call(req).await?.map_into_boxed_body()
    };
    let headers = response.headers_mut();
    if let Some(id) = request_id.and_then(|id| header::HeaderValue::from_str(&id).ok()) {
        headers.insert(header::HeaderName::from_static("x-request-id"), id);
    }
    // Answers carry tokens and personal data: no cache between the client and us may keep
    // them (RFC 6749 section 5.1 for tokens, OWASP ASVS V8.2.1). An answer meant to be
    // cached says so itself. Browsers must not guess another type than the one we declare.
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        header::HeaderValue::from_static("nosniff"),
    );
    if let Some(state) = state {
        let route = response
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_owned());
        state.metrics.observe(
            &method,
            &route,
            response.status().as_u16(),
            started.elapsed().as_secs_f64(),
        );
    }
    Ok(response)
}

/// Whether the path, percent-decoded, holds a control character (NUL included).
fn percent_decoded_has_control(path: &str) -> bool {
    let bytes = path.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let byte = if b == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok());
            match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                Some(decoded) => {
                    i += 2;
                    decoded
                }
                None => b,
            }
        } else {
            b
        };
        if byte < 0x20 || byte == 0x7f {
            return true;
        }
        i += 1;
    }
    false
}

pub use crate::runtime::blocking;
