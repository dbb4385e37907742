//! Apiture customer sessions for trusted system callers: terminate and resume.

use super::{ApitureError, SystemKey};
use crate::services::customer_sessions::{self, ClaimedOwner, Resume, Resumed};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

/// The longest session id the reference allows.
const MAX_SESSION_ID: usize = 128;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TerminatedCustomerSession {
    /// The session to end (at most 128 characters).
    #[schema(min_length = 1, max_length = 128)]
    session_id: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResumedCustomerSession {
    /// The session to resume (at most 128 characters).
    #[schema(min_length = 1, max_length = 128)]
    session_id: String,
    /// The customer's numeric id (6 to 38 digits): with `institutionId`, allows replacing an
    /// expired session.
    #[schema(pattern = "^[0-9]{6,38}$")]
    customer_id: Option<String>,
    /// The institution (`^[A-Z0-9_]{2,8}$`).
    #[schema(pattern = "^[A-Z0-9_]{2,8}$")]
    institution_id: Option<String>,
}

fn invalid(detail: &str) -> ApitureError {
    ApitureError::new(
        StatusCode::BAD_REQUEST,
        "invalidRequest",
        "Invalid Request",
        detail,
    )
}

fn check_session_id(id: &str) -> Result<(), ApitureError> {
    if id.is_empty() || id.chars().count() > MAX_SESSION_ID {
        return Err(invalid("sessionId must be 1 to 128 characters."));
    }
    Ok(())
}

fn is_customer_id(id: &str) -> bool {
    (6..=38).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit())
}

fn is_institution_id(id: &str) -> bool {
    (2..=8).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// The verified identity challenge a retried request presents.
fn presented_challenge(req: &HttpRequest) -> Result<Option<uuid::Uuid>, ApitureError> {
    let Some(value) = req.headers().get("Apiture-Challenge") else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|v| uuid::Uuid::try_parse(v.trim()).ok())
        .map(Some)
        .ok_or_else(|| {
            invalid("Apiture-Challenge must be the challengeId of a verified challenge.")
        })
}

/// Terminate a customer session: it, and every token bound to it, stop working at once.
/// Unknown and already terminated sessions answer 204 too.
#[utoipa::path(
    post, path = "/system/terminatedCustomerSessions", tag = "Apiture: customer sessions",
    request_body = TerminatedCustomerSession, security(("systemKey" = [])),
    responses(
        (status = 204, description = "Terminated (or nothing to terminate)"),
        (status = 400, description = "malformedRequestBody, invalidRequest", body = Object),
        (status = 401, description = "unauthorized", body = Object),
    )
)]
pub async fn terminate(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<TerminatedCustomerSession>,
) -> Result<HttpResponse, ApitureError> {
    let instance = req.path().to_owned();
    let key = SystemKey::of(&req)?;
    let session_id = body.into_inner().session_id;
    check_session_id(&session_id).map_err(|e| e.at(&instance))?;
    key.run(state.into_inner(), move |ctx, caller| {
        Ok(customer_sessions::terminate_for_system(
            ctx,
            &caller,
            &session_id,
        )?)
    })
    .await
    .map_err(|e| e.at(&instance))?;
    Ok(HttpResponse::NoContent().finish())
}

/// Resume a customer session: an active one is kept alive (200); an expired one is replaced by
/// a new session when `customerId` and `institutionId` name its owner (201). When the
/// customer must verify their identity again, the answer is 401 `challengeRequired`; retry with
/// `Apiture-Challenge: <challengeId>` once the challenge is verified.
#[utoipa::path(
    post, path = "/system/resumedCustomerSessions", tag = "Apiture: customer sessions",
    request_body = ResumedCustomerSession, security(("systemKey" = [])),
    params(("Apiture-Challenge" = Option<uuid::Uuid>, Header, description = "The `challengeId` of a verified identity challenge, when retrying after 401 `challengeRequired`")),
    responses(
        (status = 200, description = "Kept alive: `{sessionId}`", body = Object),
        (status = 201, description = "Replaced: `{sessionId, accessToken}`", body = Object),
        (status = 400, description = "malformedRequestBody, invalidRequest", body = Object),
        (status = 401, description = "unauthorized; challengeRequired (attributes: requiredIdentityChallenge)", body = Object),
        (status = 422, description = "unknownSession, terminatedSession, expiredSession", body = Object),
    )
)]
pub async fn resume(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<ResumedCustomerSession>,
) -> Result<HttpResponse, ApitureError> {
    let instance = req.path().to_owned();
    let key = SystemKey::of(&req)?;
    let body = body.into_inner();
    let validated = (|| {
        check_session_id(&body.session_id)?;
        if body
            .customer_id
            .as_deref()
            .is_some_and(|c| !is_customer_id(c))
        {
            return Err(invalid("customerId must be 6 to 38 digits."));
        }
        if body
            .institution_id
            .as_deref()
            .is_some_and(|i| !is_institution_id(i))
        {
            return Err(invalid(
                "institutionId must be 2 to 8 characters from A-Z, 0-9 and _.",
            ));
        }
        presented_challenge(&req)
    })();
    let challenge = validated.map_err(|e| e.at(&instance))?;
    let resume = Resume {
        session_id: body.session_id,
        claimed: ClaimedOwner {
            customer_id: body.customer_id,
            institution_id: body.institution_id,
        },
        challenge,
    };
    let resumed = key
        .run(state.into_inner(), move |ctx, _| {
            Ok(customer_sessions::resume(ctx, resume)?)
        })
        .await
        .map_err(|e| e.at(&instance))?;
    Ok(match resumed {
        Resumed::KeptAlive(session_id) => {
            HttpResponse::Ok().json(json!({ "sessionId": session_id }))
        }
        Resumed::Replaced { session_id, token } => {
            HttpResponse::Created().json(json!({ "sessionId": session_id, "accessToken": token }))
        }
    })
}
