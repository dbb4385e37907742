//! Apiture's dialect: RFC 9457 `application/problem+json` with `id`, `type`, `title`, `status`
//! (equal to the HTTP status), `occurredAt`, `detail` and `instance`.

use super::GenericError;
use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use serde::Serialize;

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
    let occurred_at = crate::services::now()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    HttpResponse::build(status)
        .content_type("application/problem+json")
        .json(Problem {
            id: uuid::Uuid::new_v4(),
            problem_type: format!("{TYPE_BASE}{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            occurred_at,
            detail: detail.to_owned(),
            instance: instance.to_owned(),
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
