//! Apiture identity challenges (step-up): start a factor (sends the code for sms, email and
//! voice) and verify it (a code, or answers to security questions). System callers only.

use super::{ApitureError, SystemKey};
use crate::services::otp;
use crate::services::step_up::{self, FactorResponse, StepUpRefusal};
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChallengeVerification {
    /// The one-time code (sms, email, voice, authenticatorToken).
    code: Option<String>,
    /// Answers to the security questions asked (securityQuestions).
    answers: Option<Vec<PromptAnswer>>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PromptAnswer {
    prompt_id: String,
    answer: String,
}

fn parse_id(raw: &str) -> Result<Uuid, ApitureError> {
    Uuid::try_parse(raw).map_err(|_| StepUpRefusal::ChallengeNotFound.into())
}

/// Start a challenge factor: for sms, email and voice a code is sent (a new one, under the
/// resend limit and cooldown, if one was sent before); other factors need nothing sent.
#[utoipa::path(
    post, path = "/system/challenges/{challenge_id}/factors/{factor_id}/start",
    tag = "Apiture: identity challenges",
    params(("challenge_id" = String, Path), ("factor_id" = String, Path)),
    security(("systemKey" = [])),
    responses(
        (status = 200, description = "Started: `{challengeId, factorId, type, codeSent}`", body = Object),
        (status = 401, description = "unauthorized: missing or unknown system key", body = Object),
        (status = 404, description = "challengeNotFound, challengeFactorNotFound", body = Object),
        (status = 409, description = "challengeAlreadyVerified", body = Object),
        (status = 422, description = "challengeExpired, challengeFailed", body = Object),
        (status = 429, description = "tooManyCodes (resend limit, cooldown, or the destination's daily allowance)", body = Object),
        (status = 503, description = "codeNotDelivered", body = Object),
    )
)]
pub async fn start_factor(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApitureError> {
    let instance = req.path().to_owned();
    let key = SystemKey::of(&req)?;
    let (challenge_id, factor_id) = path.into_inner();
    let id = parse_id(&challenge_id).map_err(|e| e.at(&instance))?;
    let started = key
        .run(state.clone().into_inner(), move |ctx, _| {
            Ok(step_up::start_factor(ctx, &id, &factor_id)?)
        })
        .await
        .map_err(|e| e.at(&instance))?;
    let factor = started.factor;
    let code_sent = started.sent.is_some();
    if let Some(((challenge, code), destinations)) = started.sent {
        otp::deliver_or_end(&state.into_inner(), &challenge, &code, &destinations)
            .await
            .map_err(|e| ApitureError::from(e).at(&instance))?;
    }
    Ok(HttpResponse::Ok().json(json!({
        "challengeId": challenge_id,
        "factorId": factor.id(),
        "type": factor.kind.as_str(),
        "codeSent": code_sent,
    })))
}

/// Verify a challenge factor: `{"code"}` for sms, email, voice and authenticatorToken,
/// `{"answers": [{"promptId", "answer"}]}` for securityQuestions. Wrong responses count
/// against the challenge (5 in all, then it locks).
#[utoipa::path(
    post, path = "/system/challenges/{challenge_id}/factors/{factor_id}/verify",
    tag = "Apiture: identity challenges",
    params(("challenge_id" = String, Path), ("factor_id" = String, Path)),
    request_body = ChallengeVerification,
    security(("systemKey" = [])),
    responses(
        (status = 200, description = "Verified: `{challengeId, operationId, state: \"verified\"}`; present it as `Apiture-Challenge` when retrying the operation", body = Object),
        (status = 400, description = "invalidChallengeResponse (not counted), malformedRequestBody", body = Object),
        (status = 401, description = "unauthorized", body = Object),
        (status = 403, description = "challengeLocked", body = Object),
        (status = 404, description = "challengeNotFound, challengeFactorNotFound", body = Object),
        (status = 409, description = "challengeAlreadyVerified, challengeFactorNotStarted", body = Object),
        (status = 422, description = "incorrectChallengeResponse (attributes.remainingAttempts), challengeExpired, challengeFailed", body = Object),
    )
)]
pub async fn verify_factor(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: crate::api::JsonObject<ChallengeVerification>,
) -> Result<HttpResponse, ApitureError> {
    let instance = req.path().to_owned();
    let key = SystemKey::of(&req)?;
    let (challenge_id, factor_id) = path.into_inner();
    let id = parse_id(&challenge_id).map_err(|e| e.at(&instance))?;
    let body = body.into_inner();
    let response = FactorResponse {
        code: body.code,
        answers: body.answers.map(|answers| {
            answers
                .into_iter()
                .map(|a| (a.prompt_id, a.answer))
                .collect()
        }),
    };
    // Security answers are Argon2id checks: they run on the hashing pool.
    let operation_id = key
        .run_on_hashing_pool(state.into_inner(), move |ctx, _| {
            Ok(step_up::verify_factor(ctx, &id, &factor_id, response)?)
        })
        .await
        .map_err(|e| e.at(&instance))?;
    Ok(HttpResponse::Ok().json(json!({
        "challengeId": challenge_id,
        "operationId": operation_id,
        "state": "verified",
    })))
}
