//! Verifying the signed-in customer's email address or phone number with a one-time code:
//! codes for strong customer authentication go only to verified contacts.

use super::auth::Authenticated;
use super::errors::*;
use super::users::ErrorJson;
use crate::delivery::Channel;
use crate::services::contact_verifications::{self, Verification};
use crate::services::otp;
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactVerificationRequestJson {
    /// `EMAIL` or `SMS`.
    #[schema(example = "EMAIL", pattern = "^(EMAIL|SMS)$")]
    pub channel: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactVerificationAnswerJson {
    #[schema(example = "123456")]
    pub answer: String,
}

#[derive(Serialize, ToSchema)]
pub struct ContactVerificationJson {
    pub verification_id: String,
    /// `EMAIL` or `SMS`.
    pub channel: String,
    /// The contact the code went to, masked.
    #[schema(example = "fe***@example.com")]
    pub destination: String,
    /// `INITIATED` or `VERIFIED`.
    pub status: String,
}

fn verification_json(verification: &Verification) -> ContactVerificationJson {
    let destination = &verification.destination;
    ContactVerificationJson {
        verification_id: verification.verification_id.to_string(),
        channel: match destination.channel {
            Channel::Email => "EMAIL",
            Channel::Sms | Channel::Voice => "SMS",
        }
        .to_owned(),
        destination: destination.channel.mask(&destination.address),
        status: verification.status.as_str().to_owned(),
    }
}

/// Create Contact Verification: sends a one-time code to the caller's own email address
/// (`EMAIL`) or phone number (`SMS`).
#[utoipa::path(
    post, path = "/obp/v5.1.0/users/current/contact-verifications", tag = "OBP: users",
    request_body = ContactVerificationRequestJson, security(("directLogin" = []), ("dAuth" = [])),
    responses(
        (status = 201, description = "A code was sent; `status: INITIATED`", body = ContactVerificationJson),
        (status = 400, description = "OBP-10001 bad JSON, OBP-30301 channel not EMAIL or SMS", body = ErrorJson),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
        (status = 403, description = "OBP-35042 a consent cannot verify contacts", body = ErrorJson),
        (status = 409, description = "OBP-30302 already verified, OBP-30283 no phone number, OBP-30291 no email address", body = ErrorJson),
        (status = 429, description = "OBP-30303 the account's verification codes for today are spent, OBP-30284 the destination's", body = ErrorJson),
        (status = 503, description = "OBP-35010 the code could not be sent", body = ErrorJson),
    )
)]
pub async fn start_verification(
    state: web::Data<AppState>,
    caller: Authenticated,
    body: web::Json<ContactVerificationRequestJson>,
) -> Result<HttpResponse, ObpError> {
    let channel = match body.channel.as_str() {
        "EMAIL" => Channel::Email,
        "SMS" => Channel::Sms,
        _ => return Err(ObpError::bad_request(INVALID_VERIFICATION_CHANNEL)),
    };
    let started = caller
        .run(&state, move |ctx, caller| {
            Ok(contact_verifications::start(ctx, &caller, channel)?)
        })
        .await?;
    let verification = &started.verification;
    let destinations = std::slice::from_ref(&verification.destination);
    if otp::deliver_or_end(
        &state.into_inner(),
        &started.challenge,
        &started.code,
        destinations,
    )
    .await
    .is_err()
    {
        return Err(otp::DeliveryFailed.into());
    }
    Ok(HttpResponse::Created().json(verification_json(verification)))
}

/// Answer Contact Verification: the right code marks the contact verified; wrong answers stay
/// counted, and the fifth ends the verification.
#[utoipa::path(
    post, path = "/obp/v5.1.0/users/current/contact-verifications/{verification_id}/challenge",
    tag = "OBP: users",
    params(("verification_id" = String, Path)),
    request_body = ContactVerificationAnswerJson, security(("directLogin" = []), ("dAuth" = [])),
    responses(
        (status = 200, description = "`status: VERIFIED`", body = ContactVerificationJson),
        (status = 400, description = "OBP-10001 bad JSON, OBP-40016 not the digits of a code", body = ErrorJson),
        (status = 403, description = "OBP-40016 wrong (attempts left), OBP-40014 attempts used up, OBP-20211 expired", body = ErrorJson),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
        (status = 404, description = "OBP-30304 no such verification of the caller's", body = ErrorJson),
        (status = 409, description = "OBP-30305 the contact changed after the code was sent", body = ErrorJson),
    )
)]
pub async fn answer_verification(
    state: web::Data<AppState>,
    caller: Authenticated,
    verification_id: web::Path<String>,
    body: web::Json<ContactVerificationAnswerJson>,
) -> Result<HttpResponse, ObpError> {
    let verification_id = verification_id.into_inner();
    let answer = body.into_inner().answer;
    let verified = caller
        .run(&state, move |ctx, caller| {
            Ok(contact_verifications::answer(
                ctx,
                &caller,
                &verification_id,
                &answer,
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(verification_json(&verified)))
}
