//! Authenticator apps (TOTP, RFC 6238) for the signed-in user: enrol (the `otpauth://` URI is
//! shown once), confirm with a first code, remove. The secret is sealed at rest; each accepted
//! code's step is recorded so no code is accepted twice; wrong codes during enrolment are
//! limited.

use super::auth::Authenticated;
use super::errors::*;
use super::users::ErrorJson;
use crate::services::authenticators::{self, AuthenticatorRefusal};
use crate::services::{self, Context, Failure};
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use assent_identity::SecretString;
use assent_repository::users::UserDetailsRow;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct TotpEnrolmentJson {
    /// The `otpauth://` URI with the secret, for a QR code. Shown once.
    pub uri: String,
    pub algorithm: String,
    pub digits: u32,
    pub period: i64,
    /// `PENDING_CONFIRMATION` until a first code is confirmed.
    pub status: String,
}

/// The caller's password, asked again: a stolen session token alone must not add or remove a
/// second factor.
#[derive(Deserialize, ToSchema)]
pub struct PasswordJson {
    #[schema(example = "Tr0ub4dour&3x")]
    pub password: String,
}

#[derive(Deserialize, ToSchema)]
pub struct TotpCodeJson {
    #[schema(example = "123456")]
    pub code: String,
}

/// Runs `work` (a use case that checks the caller's password again: Argon2id) for the
/// signed-in caller on the hashing pool.
async fn with_password<T: Send + 'static>(
    state: &web::Data<AppState>,
    caller: Authenticated,
    password: String,
    work: impl FnOnce(
        &mut Context<'_>,
        &UserDetailsRow,
        &SecretString,
    ) -> Result<T, Failure<AuthenticatorRefusal>>
    + Send
    + 'static,
) -> Result<T, ObpError> {
    let user = caller.run(state, |_, caller| Ok(caller.user)).await?;
    let password = SecretString::new(password);
    Ok(
        services::on_hashing_pool(state.clone().into_inner(), move |ctx| {
            work(ctx, &user, &password)
        })
        .await??,
    )
}

/// Register an authenticator app: a fresh 160-bit secret, replacing any enrolment not yet
/// confirmed. The caller gives their password again.
#[utoipa::path(
    post, path = "/obp/v5.1.0/my/authenticators/totp", tag = "OBP: users",
    request_body = PasswordJson, security(("directLogin" = []), ("dAuth" = [])),
    responses(
        (status = 201, description = "Pending: confirm with a first code", body = TotpEnrolmentJson),
        (status = 400, description = "OBP-10001 bad JSON", body = ErrorJson),
        (status = 401, description = "OBP-20001 / OBP-20003; OBP-20004 wrong password (counts towards the lockout); OBP-20013 locked", body = ErrorJson),
        (status = 409, description = "OBP-30285 an authenticator is already registered", body = ErrorJson),
    )
)]
pub async fn enrol(
    state: web::Data<AppState>,
    caller: Authenticated,
    body: web::Json<PasswordJson>,
) -> Result<HttpResponse, ObpError> {
    let enrolment = with_password(
        &state,
        caller,
        body.into_inner().password,
        authenticators::enrol,
    )
    .await?;
    Ok(HttpResponse::Created().json(TotpEnrolmentJson {
        uri: enrolment.uri,
        algorithm: enrolment.algorithm.to_owned(),
        digits: enrolment.digits,
        period: enrolment.period,
        status: "PENDING_CONFIRMATION".to_owned(),
    }))
}
/// Confirm the authenticator with a code it shows now.
#[utoipa::path(
    post, path = "/obp/v5.1.0/my/authenticators/totp/confirm", tag = "OBP: users",
    request_body = TotpCodeJson, security(("directLogin" = []), ("dAuth" = [])),
    responses(
        (status = 200, description = "Confirmed", body = Object),
        (status = 400, description = "OBP-10001 bad JSON, OBP-30286 not the digits the app shows", body = ErrorJson),
        (status = 403, description = "OBP-30286 wrong code (attempts left), OBP-30287 too many wrong codes: enrolment discarded", body = ErrorJson),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
        (status = 404, description = "OBP-30288 no enrolment waiting for confirmation", body = ErrorJson),
        (status = 409, description = "OBP-30285 already confirmed", body = ErrorJson),
    )
)]
pub async fn confirm(
    state: web::Data<AppState>,
    caller: Authenticated,
    body: web::Json<TotpCodeJson>,
) -> Result<HttpResponse, ObpError> {
    let code = body.into_inner().code;
    caller
        .run(&state, move |ctx, caller| {
            Ok(authenticators::confirm(ctx, &caller.user.user_id, &code)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "status": "CONFIRMED" })))
}

/// Remove the user's authenticator (pending or confirmed). The caller gives their password
/// again.
#[utoipa::path(
    delete, path = "/obp/v5.1.0/my/authenticators/totp", tag = "OBP: users",
    request_body = PasswordJson, security(("directLogin" = []), ("dAuth" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, description = "OBP-10001 bad JSON", body = ErrorJson),
        (status = 401, description = "OBP-20001 / OBP-20003; OBP-20004 wrong password; OBP-20013 locked", body = ErrorJson),
        (status = 404, description = "OBP-30288 none registered", body = ErrorJson),
    )
)]
pub async fn remove(
    state: web::Data<AppState>,
    caller: Authenticated,
    body: web::Json<PasswordJson>,
) -> Result<HttpResponse, ObpError> {
    with_password(
        &state,
        caller,
        body.into_inner().password,
        authenticators::remove,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
