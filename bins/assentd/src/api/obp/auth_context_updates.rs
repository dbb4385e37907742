//! Auth-context updates confirmed by a one-time code (SCA): the signed-in user asks for a key
//! and value, gets a code by SMS or email, and the auth context is created when they answer
//! it, in the same transaction. Only the user who asked may answer; wrong answers are limited.

use super::auth::Authenticated;
use super::errors::*;
use super::users::ErrorJson;
use crate::delivery::Channel;
use crate::services::auth_context_updates::{self, UpdateAnswer, UpdateRequest};
use crate::services::{self, otp};
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use assent_repository::auth_context_updates::AuthContextUpdateRow;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
pub struct AuthContextUpdateRequestJson {
    #[schema(example = "CUSTOMER_NUMBER", pattern = "^[A-Za-z0-9_.-]{1,255}$")]
    pub key: String,
    #[schema(
        example = "78987432",
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$",
        max_length = 255
    )]
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

/// Create User Auth Context Update Request: sends a one-time code by `SMS` (to the user's
/// registered phone number) or `EMAIL`.
#[utoipa::path(
    post, path = "/obp/v5.1.0/banks/{bank_id}/users/current/auth-context-updates/{sca_method}",
    tag = "OBP: users",
    params(("bank_id" = String, Path), ("sca_method" = String, Path, pattern = "^(SMS|EMAIL)$", description = "SMS or EMAIL")),
    request_body = AuthContextUpdateRequestJson, security(("directLogin" = []), ("dAuth" = [])),
    responses(
        (status = 201, description = "Requested; a code was sent", body = AuthContextUpdateJson),
        (status = 400, description = "OBP-10001 bad JSON, OBP-30281 bad key or value, OBP-35034 SCA method not SMS or EMAIL", body = ErrorJson),
        (status = 409, description = "OBP-30283 no phone number for SMS, OBP-30291 no email address, OBP-30300 contact not verified, OBP-30290 the key is already set, OBP-30306 the customer number is another user's", body = ErrorJson),
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
    let input = UpdateRequest {
        bank_id,
        channel,
        key: body.key,
        value: body.value,
    };
    let requested = caller
        .run(&state, move |ctx, caller| {
            Ok(auth_context_updates::request(ctx, &caller, input)?)
        })
        .await?;
    let shared = state.clone().into_inner();
    let (challenge, code) = &requested.issued;
    if otp::deliver_or_end(&shared, challenge, code, &requested.destinations)
        .await
        .is_err()
    {
        let update_id = requested.update.update_id.clone();
        services::on_connection(shared, move |ctx| {
            auth_context_updates::reject_undelivered(ctx, &update_id)
        })
        .await??;
        return Err(otp::DeliveryFailed.into());
    }
    let created = requested.update;
    Ok(HttpResponse::Created().json(update_json(created)))
}

/// Answer Auth Context Update Challenge: the right code accepts the request and creates the
/// auth context; wrong codes count (5 in all, then the request is REJECTED).
#[utoipa::path(
    post, path = "/obp/v5.1.0/banks/{bank_id}/users/current/auth-context-updates/{auth_context_update_id}/challenge",
    tag = "OBP: users",
    params(("bank_id" = String, Path), ("auth_context_update_id" = String, Path)),
    request_body = ChallengeAnswerJson, security(("directLogin" = []), ("dAuth" = [])),
    responses(
        (status = 201, description = "Accepted: the auth context exists", body = AuthContextUpdateJson),
        (status = 400, description = "OBP-10001 bad JSON, OBP-40016 not the digits of a code, OBP-30090 not INITIATED", body = ErrorJson),
        (status = 403, description = "OBP-40016 wrong answer (attempts left in the message), OBP-40014 attempts used up (now REJECTED), OBP-20211 code expired", body = ErrorJson),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
        (status = 404, description = "OBP-30057 no such request of this user at this bank", body = ErrorJson),
        (status = 409, description = "OBP-30290 the key was set meanwhile, OBP-30306 the customer number became another user's (the request is REJECTED)", body = ErrorJson),
    )
)]
pub async fn answer_challenge(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
    body: web::Json<ChallengeAnswerJson>,
) -> Result<HttpResponse, ObpError> {
    let (bank_id, update_id) = path.into_inner();
    let input = UpdateAnswer {
        bank_id,
        update_id,
        answer: body.into_inner().answer,
    };
    let accepted = caller
        .run(&state, move |ctx, caller| {
            Ok(auth_context_updates::answer(ctx, &caller, input)?)
        })
        .await?;
    Ok(HttpResponse::Created().json(update_json(accepted)))
}
