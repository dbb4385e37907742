//! Authenticator apps (TOTP, RFC 6238) for the signed-in user: enrol (the `otpauth://` URI is
//! shown once), confirm with a first code, remove. The secret is sealed at rest; each accepted
//! code's step is recorded so no code is accepted twice; wrong codes during enrolment are
//! limited.

use super::auth::Authenticated;
use super::errors::*;
use super::users::ErrorJson;
use crate::services::auth::{ReconfirmError, reconfirm_password};
use crate::services::record;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use assent_identity::SecretString;
use assent_otp::totp::{STEP_SECONDS, TotpAlgorithm, TotpError, TotpSecret};
use assent_repository::totp::{self, TotpRow};
use assent_repository::users::UserDetailsRow;
use assent_repository::{DbConnection, RepoError, to_micros, transaction};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

/// Wrong codes before a pending enrolment is discarded.
const MAX_FAILED_CONFIRMATIONS: i32 = 5;

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

fn internal(e: impl Into<crate::failure::Internal>) -> ObpError {
    ObpError::internal(e)
}

/// Runs `work` for the signed-in caller once they have given their password again (Argon2id,
/// on the hashing pool).
async fn with_password<T: Send + 'static>(
    state: &web::Data<AppState>,
    caller: Authenticated,
    password: String,
    work: impl FnOnce(&AppState, &mut DbConnection, &UserDetailsRow) -> Result<T, ObpError>
    + Send
    + 'static,
) -> Result<T, ObpError> {
    let user = caller.run(state, |_, caller| Ok(caller.user)).await?;
    let password = SecretString::new(password);
    state
        .clone()
        .into_inner()
        .on_hashing_pool(move |state| {
            let mut conn = state.pool.get().map_err(|e| internal(e))?;
            reconfirm_password(state, &mut conn, &user, &password, state.clock.now()).map_err(
                |e| match e {
                    ReconfirmError::WrongPassword => {
                        ObpError::unauthorized(INVALID_LOGIN_CREDENTIALS)
                    }
                    ReconfirmError::Locked => ObpError::unauthorized(ACCOUNT_LOCKED),
                    ReconfirmError::Internal(e) => internal(e),
                },
            )?;
            work(state, &mut conn, &user)
        })
        .await?
}

/// Register an authenticator app: a fresh 160-bit secret, replacing any enrolment not yet
/// confirmed. The caller gives their password again.
#[utoipa::path(
    post, path = "/obp/v5.1.0/my/authenticators/totp", tag = "OBP: users",
    request_body = PasswordJson, security(("directLogin" = [])),
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
        |state, conn, user| {
            let secret = TotpSecret::generate(&mut rand::rng());
            let at = state.clock.now();
            let row = TotpRow {
                user_id: user.user_id.clone(),
                secret_sealed: state.totp_sealer.seal(secret.expose_bytes(), &user.user_id),
                algorithm: secret.algorithm().name().to_owned(),
                digits: i32::try_from(secret.digits()).unwrap_or(6),
                confirmed_at: None,
                last_used_step: None,
                failed_confirmations: 0,
                created_at: to_micros(at),
            };
            if !totp::start(conn, &row).map_err(|e| internal(e))? {
                return Err(ObpError::new(StatusCode::CONFLICT, TOTP_ALREADY_REGISTERED));
            }
            Ok(TotpEnrolmentJson {
                uri: secret.uri(&state.config.totp_issuer, &user.username),
                algorithm: secret.algorithm().name().to_owned(),
                digits: secret.digits(),
                period: STEP_SECONDS,
                status: "PENDING_CONFIRMATION".to_owned(),
            })
        },
    )
    .await?;
    Ok(HttpResponse::Created().json(enrolment))
}

/// The user's authenticator and its secret.
fn load(
    state: &AppState,
    conn: &mut DbConnection,
    user_id: &str,
) -> Result<Option<(TotpRow, TotpSecret)>, ObpError> {
    let Some(row) = totp::find(conn, user_id).map_err(|e| internal(e))? else {
        return Ok(None);
    };
    let bytes = state
        .totp_sealer
        .open(&row.secret_sealed, user_id)
        .map_err(|_| internal("a sealed TOTP secret does not open"))?;
    let algorithm = TotpAlgorithm::parse(&row.algorithm)
        .ok_or_else(|| internal("unknown TOTP algorithm in storage"))?;
    let digits = u32::try_from(row.digits).map_err(|e| internal(e))?;
    let secret = TotpSecret::from_bytes(bytes, algorithm, digits)
        .map_err(|_| internal("unusable TOTP parameters in storage"))?;
    Ok(Some((row, secret)))
}

/// Confirm the authenticator with a code it shows now.
#[utoipa::path(
    post, path = "/obp/v5.1.0/my/authenticators/totp/confirm", tag = "OBP: users",
    request_body = TotpCodeJson, security(("directLogin" = [])),
    responses(
        (status = 200, description = "Confirmed", body = Object),
        (status = 400, description = "OBP-10001 bad JSON, OBP-30286 wrong or malformed code (attempts left), OBP-30287 too many wrong codes: enrolment discarded", body = ErrorJson),
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
            let (state, conn, _) = ctx.legacy_parts();
            let user_id = caller.user.user_id;
            // A concurrent answer changes the row; load again and decide on the fresh state.
            for _ in 0..10 {
                let Some((row, secret)) = load(state, conn, &user_id)? else {
                    return Err(ObpError::new(StatusCode::NOT_FOUND, TOTP_NOT_REGISTERED));
                };
                if row.confirmed_at.is_some() {
                    return Err(ObpError::new(StatusCode::CONFLICT, TOTP_ALREADY_REGISTERED));
                }
                let at = state.clock.now();
                match secret.verify(code.trim(), at, None) {
                    Ok(step) => {
                        let step = i64::try_from(step).map_err(|e| internal(e))?;
                        let confirmed = transaction(conn, |conn| {
                            let confirmed = totp::confirm(conn, &row, step, at)?;
                            if confirmed {
                                record(conn, at, "totp.enrolled", Some(&user_id), json!({}))?;
                            }
                            Ok::<_, RepoError>(confirmed)
                        })
                        .map_err(|e| internal(e))?;
                        if confirmed {
                            return Ok(());
                        }
                    }
                    Err(TotpError::Malformed) => {
                        return Err(ObpError::bad_request(format!(
                            "{INVALID_TOTP_CODE} Send the {} digits the app shows.",
                            secret.digits()
                        )));
                    }
                    Err(TotpError::Wrong | TotpError::Replayed) => {
                        let failed = totp::fail_confirmation(
                            conn,
                            &user_id,
                            row.failed_confirmations,
                            MAX_FAILED_CONFIRMATIONS,
                        )
                        .map_err(|e| internal(e))?;
                        match failed {
                            Some(n) if n >= MAX_FAILED_CONFIRMATIONS => {
                                return Err(ObpError::bad_request(TOTP_ENROLMENT_DISCARDED));
                            }
                            Some(n) => {
                                return Err(ObpError::bad_request(format!(
                                    "{INVALID_TOTP_CODE} {} attempts left.",
                                    MAX_FAILED_CONFIRMATIONS - n
                                )));
                            }
                            None => {}
                        }
                    }
                }
            }
            Err(ObpError::new(StatusCode::CONFLICT, TOTP_BUSY))
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "status": "CONFIRMED" })))
}

/// Remove the user's authenticator (pending or confirmed). The caller gives their password
/// again.
#[utoipa::path(
    delete, path = "/obp/v5.1.0/my/authenticators/totp", tag = "OBP: users",
    request_body = PasswordJson, security(("directLogin" = [])),
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
        |state, conn, user| {
            let user_id = user.user_id.clone();
            let removed = transaction(conn, |conn| {
                let removed = totp::delete(conn, &user_id)?;
                if removed {
                    record(
                        conn,
                        state.clock.now(),
                        "totp.removed",
                        Some(&user_id),
                        json!({}),
                    )?;
                }
                Ok::<_, RepoError>(removed)
            })
            .map_err(|e| internal(e))?;
            if removed {
                Ok(())
            } else {
                Err(ObpError::new(StatusCode::NOT_FOUND, TOTP_NOT_REGISTERED))
            }
        },
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
