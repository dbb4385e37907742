//! Temenos Infinity's dialect. A success is HTTP 200 with `opstatus` and `httpStatusCode` both
//! `"0"`, as in the reference's success examples; an error is a body with a non-zero
//! `opstatus`, the real HTTP status as `httpStatusCode`, an `errcode` and an `errmsg`.
//! `opstatus` and `httpStatusCode` are strings, as in the reference's examples.

mod errors;
pub mod mfa;

use super::GenericError;
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpResponse, ResponseError, web};
use std::fmt;

/// What a success says in `opstatus` and in `httpStatusCode` (the reference's `"0"`).
pub const SUCCESS_STATUS: &str = "0";

/// Renders a Temenos success: HTTP 200 with the operation's fields, plus `opstatus` and
/// `httpStatusCode` both [`SUCCESS_STATUS`].
pub fn success(mut body: serde_json::Value) -> HttpResponse {
    debug_assert!(body.is_object(), "a Temenos success body is a JSON object");
    if let Some(map) = body.as_object_mut() {
        map.insert("opstatus".into(), SUCCESS_STATUS.into());
        map.insert("httpStatusCode".into(), SUCCESS_STATUS.into());
    }
    HttpResponse::Ok().json(body)
}

/// Renders a Temenos error body.
pub fn error(status: StatusCode, errcode: u32, errmsg: &str) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::json!({
        "opstatus": errcode.to_string(),
        "httpStatusCode": status.as_u16().to_string(),
        "errcode": errcode,
        "errmsg": errmsg,
    }))
}

pub fn generic(kind: GenericError) -> HttpResponse {
    let (code, message) = match kind {
        GenericError::NotFound => (10404, "The requested operation does not exist."),
        GenericError::MethodNotAllowed => (10405, "This operation does not support this method."),
        GenericError::PayloadTooLarge => (10413, "The request body exceeds the size limit."),
        GenericError::BadJson => (
            10400,
            "The request body is not valid JSON of the expected shape.",
        ),
        GenericError::BadQuery => (10401, "The query parameters are not valid."),
        GenericError::Internal => (10500, "The server could not complete the request."),
    };
    error(kind.status(), code, message)
}

/// A Temenos error response: the body of [`error`], plus `MFAAttributes` where the caller
/// needs them (attempts left) and `Retry-After` where waiting helps.
#[derive(Debug, Clone)]
pub struct TemenosError {
    pub status: StatusCode,
    pub errcode: u32,
    pub errmsg: String,
    pub mfa_attributes: Option<serde_json::Value>,
    /// When to try again (every 429 and 503 says it).
    pub retry_after: Option<super::RetryAfter>,
}

impl TemenosError {
    pub fn new(status: StatusCode, errcode: u32, errmsg: impl Into<String>) -> Self {
        Self {
            status,
            errcode,
            errmsg: errmsg.into(),
            mfa_attributes: None,
            retry_after: None,
        }
    }

    /// The same error, telling the client when to try again.
    pub fn with_retry_after(mut self, retry_after: super::RetryAfter) -> Self {
        self.retry_after = Some(retry_after);
        self
    }

    /// A 500 whose cause goes to the log only; a 503 with `Retry-After` when the database was
    /// too busy or could not be reached (see [`super::log_unexpected`]).
    pub fn internal(cause: impl Into<crate::failure::Internal>) -> Self {
        if let super::Unexpected::Unavailable { retry_after_secs } =
            super::log_unexpected(&cause.into())
        {
            return Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                10503,
                "The service is busy. Try again shortly.",
            )
            .with_retry_after(super::RetryAfter::seconds(retry_after_secs));
        }
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            10500,
            "The server could not complete the request.",
        )
    }
}

impl fmt::Display for TemenosError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.errcode, self.errmsg)
    }
}

impl From<crate::services::Internal> for TemenosError {
    fn from(error: crate::services::Internal) -> Self {
        TemenosError::internal(error)
    }
}

impl ResponseError for TemenosError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut body = serde_json::json!({
            "opstatus": self.errcode.to_string(),
            "httpStatusCode": self.status.as_u16().to_string(),
            "errcode": self.errcode,
            "errmsg": self.errmsg,
        });
        if let (Some(attributes), Some(map)) = (&self.mfa_attributes, body.as_object_mut()) {
            map.insert("MFAAttributes".into(), attributes.clone());
        }
        let mut response = HttpResponse::build(self.status);
        super::insert_retry_after(&mut response, self.status, self.retry_after, &self.errcode);
        response.json(body)
    }
}

/// The Temenos Infinity endpoints.
pub fn endpoints() -> Vec<crate::api::RouteSpec> {
    vec![
        (
            Method::POST,
            "/services/data/v1/RBObjects/operations/DbxUser/requestOTPPreLoginMB",
            || web::route().to(mfa::request_pre_login),
        ),
        (
            Method::POST,
            "/services/data/v1/RBObjects/operations/DbxUser/verifyOTPPreLoginMB",
            || web::route().to(mfa::verify_pre_login),
        ),
        (
            Method::POST,
            "/services/data/v1/RBObjects/operations/DbxUser/requestUpdateSecurityQuestionsOTP",
            || web::route().to(mfa::request_security_questions_update),
        ),
        (
            Method::POST,
            "/services/data/v1/RBObjects/operations/DbxUser/verifyUpdateSecurityQuestionsOTP",
            || web::route().to(mfa::verify_security_questions_update),
        ),
        (
            Method::POST,
            "/services/data/v1/RBObjects/operations/DbxUser/getSecurityQuestions",
            || web::route().to(mfa::security_questions),
        ),
        (
            Method::POST,
            "/services/data/v1/RBObjects/operations/DbxUser/updateSecurityQuestions",
            || web::route().to(mfa::update_security_questions),
        ),
    ]
}
