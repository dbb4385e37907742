//! Temenos Infinity's dialect: a body with a non-zero `opstatus`, the `httpStatusCode`, an
//! `errcode` and an `errmsg`. `opstatus` and `httpStatusCode` are strings, as in the
//! reference's examples.

use super::GenericError;
use actix_web::HttpResponse;
use actix_web::http::StatusCode;

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
