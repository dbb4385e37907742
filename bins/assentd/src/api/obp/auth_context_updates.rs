//! Auth-context updates confirmed by a one-time code (SCA): the signed-in user asks for a key
//! and value, gets a code by SMS or email, and the auth context is created when they answer
//! it, in the same transaction. Only the user who asked may answer; wrong answers are limited.

use super::auth::Authenticated;
use super::errors::*;
use super::users::ErrorJson;
use crate::delivery::Channel;
use crate::services::otp::{self, Answered, Destination, SendRefusal};
use crate::services::record;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use assent_identity::auth_context::validate;
use assent_otp::challenge::{ChallengeState, VerifyError};
use assent_repository::auth_context_updates::{self, AuthContextUpdateRow};
use assent_repository::{RepoError, auth_contexts, banks, to_micros, transaction};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

const PURPOSE: &str = "obp:auth-context-update";
const INITIATED: &str = "INITIATED";
const ACCEPTED: &str = "ACCEPTED";
const REJECTED: &str = "REJECTED";

#[derive(Deserialize, ToSchema)]
pub struct AuthContextUpdateRequestJson {
    #[schema(example = "CUSTOMER_NUMBER")]
    pub key: String,
    #[schema(example = "78987432")]
    pub value: String,
}

#[derive(Deserialize, ToSchema)]
pub struct ChallengeAnswerJson {
    #[schema(example = "123456")]
    pub answer: String,
}

#[derive(Serialize, ToSchema)]
pub struct AuthContextUpdateJson {
    pub user_auth_context_update_id: String,
    pub user_id: String,
    pub key: String,
    pub value: String,
    /// `INITIATED`, `ACCEPTED` or `REJECTED`.
    pub status: String,
}

fn update_json(row: AuthContextUpdateRow) -> AuthContextUpdateJson {
    AuthContextUpdateJson {
        user_auth_context_update_id: row.update_id,
        user_id: row.user_id,
        key: row.context_key,
        value: row.context_value,
        status: row.status,
    }
}

fn code_refused(refusal: SendRefusal) -> ObpError {
    match refusal {
        SendRefusal::DestinationQuota => {
            ObpError::new(StatusCode::TOO_MANY_REQUESTS, OTP_DESTINATION_QUOTA)
        }
        // A new challenge is never resent; nothing else can refuse one.
        SendRefusal::Resend(e) => ObpError::internal(crate::failure::Internal::Invariant(format!(
            "a new challenge refused: {e}"
        ))),
    }
}

/// Create User Auth Context Update Request: sends a one-time code by `SMS` (to the user's
/// registered phone number) or `EMAIL`.
#[utoipa::path(
    post, path = "/obp/v5.1.0/banks/{bank_id}/users/current/auth-context-updates/{sca_method}",
    tag = "OBP: users",
    params(("bank_id" = String, Path), ("sca_method" = String, Path, description = "SMS or EMAIL")),
    request_body = AuthContextUpdateRequestJson, security(("directLogin" = [])),
    responses(
        (status = 201, description = "Requested; a code was sent", body = AuthContextUpdateJson),
        (status = 400, description = "OBP-10001 bad JSON, OBP-30281 bad key or value, OBP-35034 SCA method not SMS or EMAIL, OBP-30283 no phone number for SMS, OBP-30291 no email address", body = ErrorJson),
        (status = 409, description = "OBP-30290 the key is already set", body = ErrorJson),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
        (status = 404, description = "OBP-30001 unknown bank", body = ErrorJson),
        (status = 429, description = "OBP-30284 too many codes to this destination today", body = ErrorJson),
        (status = 503, description = "OBP-35010 the code could not be sent", body = ErrorJson),
    )
)]
pub async fn create_update_request(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
    body: web::Json<AuthContextUpdateRequestJson>,
) -> Result<HttpResponse, ObpError> {
    let (bank_id, sca_method) = path.into_inner();
    let channel = match sca_method.as_str() {
        "SMS" => Channel::Sms,
        "EMAIL" => Channel::Email,
        _ => return Err(ObpError::bad_request(UNSUPPORTED_SCA_METHOD)),
    };
    let body = body.into_inner();
    let (created, challenge, code, destinations) = caller
        .run(&state, move |ctx, caller| {
            let (state, conn, _) = ctx.legacy_parts();
            if !assent_identity::bank::is_valid_bank_id(&bank_id)
                || banks::find(conn, &bank_id)
                    .map_err(|e| ObpError::internal(e))?
                    .is_none()
            {
                return Err(ObpError::new(StatusCode::NOT_FOUND, BANK_NOT_FOUND));
            }
            let (key, value) = validate(&body.key, &body.value)
                .map_err(|_| ObpError::bad_request(INVALID_AUTH_CONTEXT))?;
            let user = caller.user;
            // A customer may add a context, never change one: a key already set (perhaps by
            // staff) stays as it is.
            if auth_contexts::has_key(conn, &user.user_id, &key)? {
                return Err(ObpError::new(StatusCode::CONFLICT, AUTH_CONTEXT_KEY_TAKEN));
            }
            let address = match channel {
                Channel::Email => Some(user.email.clone()),
                Channel::Sms | Channel::Voice => user.phone_number.clone(),
            }
            .filter(|a| !a.is_empty())
            .ok_or_else(|| {
                ObpError::bad_request(if channel == Channel::Email {
                    NO_EMAIL_FOR_EMAIL
                } else {
                    NO_PHONE_FOR_SMS
                })
            })?;
            let destinations = vec![Destination { channel, address }];
            let at = state.clock.now();
            let mut row = None;
            let (challenge, code) = otp::create(
                state,
                conn,
                at,
                PURPOSE,
                Some(&user.user_id),
                &destinations,
                |conn, challenge| {
                    let update = AuthContextUpdateRow {
                        update_id: uuid::Uuid::new_v4().to_string(),
                        user_id: user.user_id.clone(),
                        bank_id: bank_id.clone(),
                        context_key: key.clone(),
                        context_value: value.clone(),
                        status: INITIATED.to_owned(),
                        challenge_id: challenge.id.to_string(),
                        created_at: to_micros(at),
                    };
                    auth_context_updates::insert(conn, &update)?;
                    row = Some(update);
                    Ok(())
                },
            )
            .map_err(|f| f.map_refusal(code_refused))?;
            let row = row.ok_or_else(|| ObpError::internal("update request not stored"))?;
            Ok((row, challenge, code, destinations))
        })
        .await?;
    let shared = state.clone().into_inner();
    if otp::deliver_or_end(&shared, &challenge, &code, &destinations)
        .await
        .is_err()
    {
        let update_id = created.update_id.clone();
        crate::api::blocking(move || {
            let mut conn = shared.pool.get()?;
            auth_context_updates::transition(&mut conn, &update_id, INITIATED, REJECTED)
        })
        .await?
        .map_err(|e| ObpError::internal(e))?;
        return Err(ObpError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            OTP_NOT_DELIVERED,
        ));
    }
    Ok(HttpResponse::Created().json(update_json(created)))
}

/// What answering did.
enum Outcome {
    Accepted(AuthContextUpdateRow),
    /// The key was set meanwhile (by staff): the request is rejected, nothing overwritten.
    KeyTaken,
    Refused(VerifyError),
}

/// Answer Auth Context Update Challenge: the right code accepts the request and creates the
/// auth context; wrong codes count (5 in all, then the request is REJECTED).
#[utoipa::path(
    post, path = "/obp/v5.1.0/banks/{bank_id}/users/current/auth-context-updates/{auth_context_update_id}/challenge",
    tag = "OBP: users",
    params(("bank_id" = String, Path), ("auth_context_update_id" = String, Path)),
    request_body = ChallengeAnswerJson, security(("directLogin" = [])),
    responses(
        (status = 201, description = "Accepted: the auth context exists", body = AuthContextUpdateJson),
        (status = 400, description = "OBP-10001 bad JSON, OBP-40016 wrong answer (attempts left in the message), OBP-40014 attempts used up (now REJECTED), OBP-20211 code expired, OBP-30090 not INITIATED", body = ErrorJson),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
        (status = 404, description = "OBP-30057 no such request of this user at this bank", body = ErrorJson),
    )
)]
pub async fn answer_challenge(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
    body: web::Json<ChallengeAnswerJson>,
) -> Result<HttpResponse, ObpError> {
    let (bank_id, update_id) = path.into_inner();
    let answer = body.into_inner().answer;
    let outcome = caller
        .run(&state, move |ctx, caller| {
            let (state, conn, _) = ctx.legacy_parts();
            let not_found = || ObpError::new(StatusCode::NOT_FOUND, AUTH_CONTEXT_UPDATE_NOT_FOUND);
            let request = auth_context_updates::find(conn, &update_id)
                .map_err(|e| ObpError::internal(e))?
                .filter(|r| r.user_id == caller.user.user_id && r.bank_id == bank_id)
                .ok_or_else(not_found)?;
            if request.status != INITIATED {
                return Err(ObpError::bad_request(format!(
                    "{AUTH_CONTEXT_UPDATE_NOT_INITIATED} Its status is {}.",
                    request.status
                )));
            }
            let challenge_id =
                uuid::Uuid::parse_str(&request.challenge_id).map_err(|e| ObpError::internal(e))?;
            let user_id = caller.user.user_id;
            let at = state.clock.now();
            transaction(conn, |conn| {
                let answered =
                    otp::answer(state, conn, &challenge_id, answer.trim(), at, |c, owner| {
                        c.purpose == PURPOSE && owner == Some(user_id.as_str())
                    })?;
                match answered {
                    Some(Answered::Verified(_)) => {
                        if !auth_context_updates::transition(
                            conn,
                            &request.update_id,
                            INITIATED,
                            ACCEPTED,
                        )? {
                            // Roll the right answer back with it rather than half-accept.
                            return Err(RepoError::Connection(
                                "auth context update changed while it was answered".into(),
                            ));
                        }
                        if auth_contexts::has_key(conn, &user_id, &request.context_key)? {
                            auth_context_updates::transition(
                                conn,
                                &request.update_id,
                                ACCEPTED,
                                REJECTED,
                            )?;
                            return Ok(Some(Outcome::KeyTaken));
                        }
                        let context = auth_contexts::set(
                            conn,
                            &user_id,
                            &request.context_key,
                            &request.context_value,
                            at,
                        )?;
                        record(
                            conn,
                            at,
                            "auth_context.set",
                            Some(&user_id),
                            json!({
                                "user_auth_context_id": context.user_auth_context_id,
                                "key": context.context_key,
                                "user_auth_context_update_id": request.update_id,
                            }),
                        )?;
                        let mut accepted = request.clone();
                        accepted.status = ACCEPTED.to_owned();
                        Ok(Some(Outcome::Accepted(accepted)))
                    }
                    Some(Answered::Refused(error)) => {
                        let dead = matches!(
                            error,
                            VerifyError::WrongCode { attempts_left: 0 }
                                | VerifyError::NotPending(
                                    ChallengeState::Locked
                                        | ChallengeState::Failed
                                        | ChallengeState::Expired
                                )
                        );
                        if dead {
                            auth_context_updates::transition(
                                conn,
                                &request.update_id,
                                INITIATED,
                                REJECTED,
                            )?;
                        }
                        Ok(Some(Outcome::Refused(error)))
                    }
                    None => Ok(None),
                }
            })
            .map_err(|e: RepoError| ObpError::internal(e))?
            .ok_or_else(not_found)
        })
        .await?;
    match outcome {
        Outcome::Accepted(row) => Ok(HttpResponse::Created().json(update_json(row))),
        Outcome::KeyTaken => Err(ObpError::new(StatusCode::CONFLICT, AUTH_CONTEXT_KEY_TAKEN)),
        Outcome::Refused(VerifyError::Malformed | VerifyError::NoCodeSent) => {
            Err(ObpError::bad_request(format!(
                "{INVALID_CHALLENGE_ANSWER} The answer is the digits of the code that was sent."
            )))
        }
        Outcome::Refused(VerifyError::WrongCode { attempts_left: 0 })
        | Outcome::Refused(VerifyError::NotPending(ChallengeState::Locked)) => {
            Err(ObpError::bad_request(ATTEMPTS_USED_UP))
        }
        Outcome::Refused(VerifyError::WrongCode { attempts_left }) => Err(ObpError::bad_request(
            format!("{INVALID_CHALLENGE_ANSWER} {attempts_left} attempts left."),
        )),
        Outcome::Refused(VerifyError::NotPending(ChallengeState::Expired)) => {
            Err(ObpError::bad_request(OTP_EXPIRED))
        }
        Outcome::Refused(VerifyError::NotPending(_)) => Err(ObpError::bad_request(format!(
            "{AUTH_CONTEXT_UPDATE_NOT_INITIATED} The code can no longer be answered."
        ))),
    }
}
