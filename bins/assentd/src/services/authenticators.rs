//! Authenticator apps (TOTP, RFC 6238) for the signed-in user: enrol (the `otpauth://` URI is
//! shown once), confirm with a first code, remove. Adding or removing one needs the password
//! again: a stolen session token alone must not change a second factor. The secret is sealed
//! at rest; wrong codes during enrolment are limited.

use super::auth::{ReconfirmError, reconfirm_password};
use super::{Context, Failure, Internal, record, refuse, rollback_if_refused};
use crate::state::AppState;
use assent_identity::SecretString;
use assent_otp::totp::{STEP_SECONDS, TotpAlgorithm, TotpError, TotpSecret};
use assent_repository::totp::{self, TotpRow};
use assent_repository::users::UserDetailsRow;
use assent_repository::{DbConnection, to_micros};
use serde_json::json;

/// Wrong codes before a pending enrolment is discarded.
const MAX_FAILED_CONFIRMATIONS: i32 = 5;

/// Times a confirmation reloads the enrolment after a concurrent answer changed it.
const CONFIRM_ATTEMPTS: usize = 10;

/// Why an authenticator use case was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthenticatorRefusal {
    /// The password given again is wrong (counted towards the login lockout).
    WrongPassword,
    /// The user is locked out.
    Locked,
    /// An authenticator is registered (or confirmed) already.
    AlreadyRegistered,
    /// No authenticator is registered or waiting for confirmation.
    NotRegistered,
    /// The code is not the app's digits.
    Malformed { digits: u32 },
    /// A wrong code; attempts left before the enrolment is discarded.
    WrongCode { attempts_left: i32 },
    /// Too many wrong codes: the enrolment was discarded.
    Discarded,
    /// The enrolment kept changing while it was checked.
    Busy,
}

type Outcome<T> = Result<T, Failure<AuthenticatorRefusal>>;

/// Refuses unless `password` is the signed-in user's (slow: Argon2id, so use cases calling it
/// run on the hashing pool, see [`super::on_hashing_pool`]).
fn reconfirm(ctx: &mut Context<'_>, user: &UserDetailsRow, password: &SecretString) -> Outcome<()> {
    let (state, now) = (ctx.state, ctx.now);
    reconfirm_password(state, ctx.conn(), user, password, now).map_err(|e| match e {
        ReconfirmError::WrongPassword => Failure::Refused(AuthenticatorRefusal::WrongPassword),
        ReconfirmError::Locked => Failure::Refused(AuthenticatorRefusal::Locked),
        ReconfirmError::Internal(e) => Failure::Internal(e),
    })
}

/// A new enrolment, waiting for its first code.
#[derive(Debug)]
pub struct Enrolment {
    /// The `otpauth://` URI with the secret, for a QR code: shown once.
    pub uri: String,
    pub algorithm: &'static str,
    pub digits: u32,
    /// Seconds per code.
    pub period: i64,
}

/// Registers an authenticator app for the user, once they have given their password again:
/// a fresh 160-bit secret, replacing any enrolment not yet confirmed.
pub fn enrol(
    ctx: &mut Context<'_>,
    user: &UserDetailsRow,
    password: &SecretString,
) -> Outcome<Enrolment> {
    reconfirm(ctx, user, password)?;
    let (state, now) = (ctx.state, ctx.now);
    let secret = TotpSecret::generate(&mut rand::rng());
    let row = TotpRow {
        user_id: user.user_id.clone(),
        secret_sealed: state.totp_sealer.seal(secret.expose_bytes(), &user.user_id),
        algorithm: secret.algorithm().name().to_owned(),
        digits: i32::try_from(secret.digits()).unwrap_or(6),
        confirmed_at: None,
        last_used_step: None,
        failed_confirmations: 0,
        created_at: to_micros(now),
    };
    if !totp::start(ctx.conn(), &row)? {
        return refuse(AuthenticatorRefusal::AlreadyRegistered);
    }
    Ok(Enrolment {
        uri: secret.uri(&state.config.totp_issuer, &user.username),
        algorithm: secret.algorithm().name(),
        digits: secret.digits(),
        period: STEP_SECONDS,
    })
}

/// The user's authenticator and its secret.
fn load(
    state: &AppState,
    conn: &mut DbConnection,
    user_id: &str,
) -> Result<Option<(TotpRow, TotpSecret)>, Internal> {
    let Some(row) = totp::find(conn, user_id)? else {
        return Ok(None);
    };
    let bytes = state
        .totp_sealer
        .open(&row.secret_sealed, user_id)
        .map_err(|_| Internal::from("a sealed TOTP secret does not open"))?;
    let algorithm = TotpAlgorithm::parse(&row.algorithm)
        .ok_or(Internal::from("unknown TOTP algorithm in storage"))?;
    let digits = u32::try_from(row.digits)?;
    let secret = TotpSecret::from_bytes(bytes, algorithm, digits)
        .map_err(|_| Internal::from("unusable TOTP parameters in storage"))?;
    Ok(Some((row, secret)))
}

/// Confirms the user's pending enrolment with a code the app shows now, audited as
/// `totp.enrolled`. A wrong code is counted at once (one conditional update), whatever the
/// answer says.
pub fn confirm(ctx: &mut Context<'_>, user_id: &str, code: &str) -> Outcome<()> {
    let (state, now) = (ctx.state, ctx.now);
    let conn = ctx.conn();
    // A concurrent answer changes the row; load again and decide on the fresh state.
    for _ in 0..CONFIRM_ATTEMPTS {
        let Some((row, secret)) = load(state, conn, user_id)? else {
            return refuse(AuthenticatorRefusal::NotRegistered);
        };
        if row.confirmed_at.is_some() {
            return refuse(AuthenticatorRefusal::AlreadyRegistered);
        }
        match secret.verify(code.trim(), now, None) {
            Ok(step) => {
                let step = i64::try_from(step).map_err(Internal::from)?;
                let confirmed = rollback_if_refused(conn, |conn| {
                    let confirmed = totp::confirm(conn, &row, step, now)?;
                    if confirmed {
                        record(conn, now, "totp.enrolled", Some(user_id), json!({}))?;
                    }
                    Ok(confirmed)
                })?;
                if confirmed {
                    return Ok(());
                }
            }
            Err(TotpError::Malformed) => {
                return refuse(AuthenticatorRefusal::Malformed {
                    digits: secret.digits(),
                });
            }
            Err(TotpError::Wrong | TotpError::Replayed) => {
                let failed = totp::fail_confirmation(
                    conn,
                    user_id,
                    row.failed_confirmations,
                    MAX_FAILED_CONFIRMATIONS,
                )?;
                match failed {
                    Some(n) if n >= MAX_FAILED_CONFIRMATIONS => {
                        return refuse(AuthenticatorRefusal::Discarded);
                    }
                    Some(n) => {
                        return refuse(AuthenticatorRefusal::WrongCode {
                            attempts_left: MAX_FAILED_CONFIRMATIONS - n,
                        });
                    }
                    None => {}
                }
            }
        }
    }
    refuse(AuthenticatorRefusal::Busy)
}

/// Removes the user's authenticator (pending or confirmed), once they have given their
/// password again; audited as `totp.removed`.
pub fn remove(
    ctx: &mut Context<'_>,
    user: &UserDetailsRow,
    password: &SecretString,
) -> Outcome<()> {
    reconfirm(ctx, user, password)?;
    let now = ctx.now;
    let user_id = user.user_id.as_str();
    rollback_if_refused(ctx.conn(), |conn| {
        if !totp::delete(conn, user_id)? {
            return refuse(AuthenticatorRefusal::NotRegistered);
        }
        record(conn, now, "totp.removed", Some(user_id), json!({}))?;
        Ok(())
    })
}
