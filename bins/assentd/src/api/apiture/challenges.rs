//! Apiture identity challenges (step-up): start a factor (sends the code for sms, email and
//! voice) and verify it (a code, or answers to security questions). System callers only.

use super::{ApitureError, bearer_key, check_system_key};
use crate::api::blocking;
use crate::services::otp::{self, SendRefusal};
use crate::services::record;
use crate::services::step_up::{self, Factor, FactorType};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use assent_otp::challenge::{Challenge, ChallengeState, ResendError, VerifyError};
use assent_repository::{DbConnection, RepoError, transaction};
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

fn not_found() -> ApitureError {
    ApitureError::new(
        StatusCode::NOT_FOUND,
        "challengeNotFound",
        "Challenge Not Found",
        "No identity challenge has this id.",
    )
}

fn factor_not_found() -> ApitureError {
    ApitureError::new(
        StatusCode::NOT_FOUND,
        "challengeFactorNotFound",
        "Challenge Factor Not Found",
        "The challenge offers no factor with this id.",
    )
}

fn invalid_response(detail: &str) -> ApitureError {
    ApitureError::new(
        StatusCode::BAD_REQUEST,
        "invalidChallengeResponse",
        "Invalid Challenge Response",
        detail,
    )
}

fn not_pending(state: ChallengeState) -> ApitureError {
    match state {
        ChallengeState::Expired => ApitureError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "challengeExpired",
            "Challenge Expired",
            "The challenge has expired. Retry the operation for a new one.",
        ),
        ChallengeState::Locked => ApitureError::new(
            StatusCode::FORBIDDEN,
            "challengeLocked",
            "Challenge Locked",
            "Too many wrong responses: the challenge is locked. Retry the operation for a new one.",
        ),
        ChallengeState::Failed => ApitureError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "challengeFailed",
            "Challenge Failed",
            "The challenge ended because its code could not be delivered.",
        ),
        ChallengeState::Verified | ChallengeState::Redeemed | ChallengeState::Pending => {
            ApitureError::new(
                StatusCode::CONFLICT,
                "challengeAlreadyVerified",
                "Challenge Already Verified",
                "The challenge has already been answered.",
            )
        }
    }
}

fn too_many_failures() -> ApitureError {
    ApitureError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "tooManyFailures",
        "Too Many Failures",
        "Too many wrong responses today, across this customer's challenges. Try again tomorrow.",
    )
}

fn parse_id(raw: &str) -> Result<Uuid, ApitureError> {
    Uuid::try_parse(raw).map_err(|_| not_found())
}

/// Checks the system key, then loads the challenge and the factor named in the path.
fn load(
    state: &AppState,
    conn: &mut DbConnection,
    key: &assent_identity::secret::SecretString,
    challenge_id: &Uuid,
    factor_id: &str,
) -> Result<(Challenge, String, Factor), ApitureError> {
    check_system_key(state, conn, key)?;
    let (challenge, owner, factors) = step_up::load(conn, challenge_id)
        .map_err(|e| ApitureError::internal(e))?
        .ok_or_else(not_found)?;
    let factor = factors
        .into_iter()
        .find(|f| f.id() == factor_id)
        .ok_or_else(factor_not_found)?;
    Ok((challenge, owner, factor))
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
    let key = bearer_key(&req)?;
    let (challenge_id, factor_id) = path.into_inner();
    let id = parse_id(&challenge_id).map_err(|e| e.at(&instance))?;
    let worker = state.clone().into_inner();
    let sent = blocking(move || -> Result<_, ApitureError> {
        let state = worker;
        let mut conn = state.pool.get().map_err(|e| ApitureError::internal(e))?;
        let (challenge, _, factor) = load(&state, &mut conn, &key, &id, &factor_id)?;
        let Some(destination) = factor.destination() else {
            let current = challenge.state(state.clock.now());
            if current != ChallengeState::Pending {
                return Err(not_pending(current));
            }
            return Ok((factor, None));
        };
        let destinations = vec![destination];
        let issued = otp::send_code(&state, &mut conn, &id, &destinations, state.clock.now())?
            .ok_or_else(not_found)?
            .map_err(|refusal| match refusal {
                SendRefusal::Resend(ResendError::NotPending(s)) => not_pending(s),
                SendRefusal::Resend(ResendError::TooSoon { retry_in }) => ApitureError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "tooManyCodes",
                    "Too Many Codes",
                    format!(
                        "Wait {} seconds before asking for another code.",
                        retry_in.whole_seconds().max(1)
                    ),
                ),
                SendRefusal::Resend(ResendError::LimitReached) => ApitureError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "tooManyCodes",
                    "Too Many Codes",
                    "No more codes can be sent for this challenge.",
                ),
                SendRefusal::DestinationQuota => ApitureError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "tooManyCodes",
                    "Too Many Codes",
                    "Too many codes have been sent to this destination today.",
                ),
            })?;
        Ok((factor, Some((issued, destinations))))
    })
    .await?
    .map_err(|e| e.at(&instance))?;
    let (factor, issued) = sent;
    let code_sent = issued.is_some();
    if let Some(((challenge, code), destinations)) = issued {
        otp::deliver_or_end(
            &state.clone().into_inner(),
            &challenge,
            &code,
            &destinations,
        )
        .await
        .map_err(|_| {
            ApitureError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "codeNotDelivered",
                "Code Not Delivered",
                "The code could not be sent; the challenge has ended. Retry the operation later.",
            )
            .at(&instance)
        })?;
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
    body: web::Json<ChallengeVerification>,
) -> Result<HttpResponse, ApitureError> {
    let instance = req.path().to_owned();
    let key = bearer_key(&req)?;
    let (challenge_id, factor_id) = path.into_inner();
    let id = parse_id(&challenge_id).map_err(|e| e.at(&instance))?;
    let body = body.into_inner();
    // Security answers are Argon2id checks: they run on the hashing pool, before the
    // transaction that records the outcome.
    let outcome = state
        .into_inner()
        .on_hashing_pool(move |state| -> Result<_, ApitureError> {
            let mut conn = state.pool.get().map_err(|e| ApitureError::internal(e))?;
            let (challenge, owner, factor) = load(state, &mut conn, &key, &id, &factor_id)?;
            let at = state.clock.now();
            let code = match factor.kind {
                FactorType::SecurityQuestions => None,
                _ => Some(body.code.clone().ok_or_else(|| {
                    invalid_response("Send the code: {\"code\": \"...\"}.")
                })?),
            };
            let answers_right = match factor.kind {
                FactorType::SecurityQuestions => {
                    let given: Vec<(String, String)> = body
                        .answers
                        .ok_or_else(|| {
                            invalid_response(
                                "Send the answers: {\"answers\": [{\"promptId\", \"answer\"}]}.",
                            )
                        })?
                        .into_iter()
                        .map(|a| (a.prompt_id, a.answer))
                        .collect();
                    let current = challenge.state(at);
                    if current != ChallengeState::Pending {
                        return Err(not_pending(current));
                    }
                    if step_up::failures_exhausted(state, &mut conn, &owner, at)? {
                        return Err(too_many_failures());
                    }
                    Some(
                        step_up::check_answers(state, &mut conn, &owner, &factor.questions(), &given)?
                            .map_err(|_| {
                                invalid_response(
                                    "Answer exactly the questions asked, each once, 1 to 100 characters.",
                                )
                            })?,
                    )
                }
                _ => None,
            };
            // The answer, the day's failure count and the audit event: one transaction.
            let decided = transaction(&mut conn, |conn| -> Result<Result<_, ApitureError>, RepoError> {
                if step_up::failures_exhausted(state, conn, &owner, at)? {
                    return Ok(Err(too_many_failures()));
                }
                let result = match (factor.kind, &code, answers_right) {
                    (FactorType::SecurityQuestions, _, Some(right)) => {
                        let outcome = assent_repository::challenges::update(conn, &id, |c| {
                            c.verify_with(at, || right)
                        })?;
                        if let Some(Err(VerifyError::WrongCode { attempts_left })) = &outcome {
                            otp::record_wrong_answer(conn, at, &challenge, Some(&owner), *attempts_left)?;
                        }
                        outcome
                    }
                    (FactorType::AuthenticatorToken, Some(code), _) => {
                        step_up::verify_authenticator(state, conn, &id, &owner, code.trim(), at)?
                    }
                    (_, Some(code), _) => {
                        otp::answer(state, conn, &id, code.trim(), at, |_, _| true)?.map(
                            |answered| match answered {
                                otp::Answered::Verified(_) => Ok(()),
                                otp::Answered::Refused(e) => Err(e),
                            },
                        )
                    }
                    _ => None,
                };
                let Some(result) = result else {
                    return Ok(Err(not_found()));
                };
                match result {
                    Ok(()) => record(
                        conn,
                        at,
                        "otp.verified",
                        Some(&owner),
                        json!({ "purpose": challenge.purpose(), "challenge_id": id.to_string(), "factor": factor.id() }),
                    )?,
                    Err(VerifyError::WrongCode { .. }) => {
                        step_up::count_failure(state, conn, &owner, at)?;
                    }
                    Err(_) => {}
                }
                Ok(Ok(result))
            })?;
            Ok((challenge, decided?))
        })
        .await?
        .map_err(|e| e.at(&instance))?;
    let (challenge, result) = outcome;
    match result {
        Ok(()) => Ok(HttpResponse::Ok().json(json!({
            "challengeId": challenge_id,
            "operationId": step_up::operation_of(&challenge).unwrap_or_default(),
            "state": "verified",
        }))),
        Err(VerifyError::Malformed) => Err(invalid_response(
            "The code is not of the expected length or holds other characters than digits.",
        )
        .at(&instance)),
        Err(VerifyError::NoCodeSent) => Err(ApitureError::new(
            StatusCode::CONFLICT,
            "challengeFactorNotStarted",
            "Challenge Factor Not Started",
            "No code has been sent for this challenge yet: start the factor first.",
        )
        .at(&instance)),
        Err(VerifyError::WrongCode { attempts_left: 0 }) => {
            Err(not_pending(ChallengeState::Locked).at(&instance))
        }
        Err(VerifyError::WrongCode { attempts_left }) => Err(ApitureError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "incorrectChallengeResponse",
            "Incorrect Challenge Response",
            format!("The response is not right. {attempts_left} attempts left."),
        )
        .with_attributes(json!({ "remainingAttempts": attempts_left }))
        .at(&instance)),
        Err(VerifyError::NotPending(state)) => Err(not_pending(state).at(&instance)),
    }
}
