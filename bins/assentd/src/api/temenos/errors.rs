//! How the use cases' refusals read in Temenos Infinity's dialect: every mapping lives here.

use super::TemenosError;
use crate::api::RetryAfter;
use crate::services::Failure;
use crate::services::auth::SignInRefusal;
use crate::services::mfa::MfaRefusal;
use crate::services::otp::{DeliveryFailed, SendRefusal};
use actix_web::http::StatusCode;
use assent_otp::challenge::{ChallengeState, ResendError, VerifyError};
use serde_json::json;

impl<R> From<Failure<R>> for TemenosError
where
    TemenosError: From<R>,
{
    fn from(failure: Failure<R>) -> Self {
        match failure {
            Failure::Refused(refusal) => TemenosError::from(refusal),
            Failure::Internal(internal) => TemenosError::internal(internal),
        }
    }
}

/// 401 10814: no signed-in session.
pub fn unauthenticated() -> TemenosError {
    TemenosError::new(
        StatusCode::UNAUTHORIZED,
        10814,
        "Sign in first: send the session token in X-Kony-Authorization.",
    )
}

impl From<SignInRefusal> for TemenosError {
    fn from(refusal: SignInRefusal) -> Self {
        match refusal {
            SignInRefusal::RateLimited(exceeded) => TemenosError::new(
                StatusCode::TOO_MANY_REQUESTS,
                10819,
                format!(
                    "Too many requests: {} per {} for this application.",
                    exceeded.limit,
                    exceeded.period.name()
                ),
            )
            .with_retry_after(RetryAfter::seconds(exceeded.reset_in_seconds)),
            SignInRefusal::InvalidSession
            | SignInRefusal::InvalidConsumer
            | SignInRefusal::Replayed
            | SignInRefusal::UserLocked
            | SignInRefusal::Consent(_) => unauthenticated(),
        }
    }
}

// --- MFA flows ---

pub(super) fn bad_request(errcode: u32, errmsg: &str) -> TemenosError {
    TemenosError::new(StatusCode::BAD_REQUEST, errcode, errmsg)
}

fn not_pending(state: ChallengeState) -> TemenosError {
    match state {
        ChallengeState::Expired => bad_request(
            10809,
            "The Secure Access Code has expired. Request a new one.",
        ),
        ChallengeState::Locked => TemenosError::new(
            StatusCode::FORBIDDEN,
            10810,
            "Too many wrong codes: this flow is locked. Start a new one.",
        ),
        ChallengeState::Failed => bad_request(
            10818,
            "This flow ended because its code could not be sent. Start a new one.",
        ),
        ChallengeState::Verified | ChallengeState::Redeemed | ChallengeState::Pending => {
            bad_request(10811, "This Secure Access Code has already been used.")
        }
    }
}

fn send_refused(refusal: SendRefusal) -> TemenosError {
    match refusal {
        SendRefusal::DestinationQuota => TemenosError::new(
            StatusCode::TOO_MANY_REQUESTS,
            10806,
            "Too many codes have been sent to this destination today.",
        )
        .with_retry_after(RetryAfter::NextUtcDay),
        SendRefusal::Resend(ResendError::LimitReached) => {
            bad_request(10804, "No resends left for this flow. Start a new one.")
        }
        SendRefusal::Resend(ResendError::TooSoon { retry_in }) => {
            let secs = retry_in.whole_seconds().max(1);
            TemenosError::new(
                StatusCode::TOO_MANY_REQUESTS,
                10805,
                format!("Wait {secs} seconds before asking for another code."),
            )
            .with_retry_after(RetryAfter::seconds(secs))
        }
        SendRefusal::Resend(ResendError::NotPending(state)) => not_pending(state),
    }
}

impl From<MfaRefusal> for TemenosError {
    fn from(refusal: MfaRefusal) -> Self {
        match refusal {
            MfaRefusal::UnknownFlow => TemenosError::new(
                StatusCode::NOT_FOUND,
                10802,
                "Unknown MFA flow: check MFAAttributes.serviceKey.",
            ),
            MfaRefusal::ClientOverQuota => TemenosError::new(
                StatusCode::TOO_MANY_REQUESTS,
                10807,
                "Too many requests from this client. Try again later.",
            )
            .with_retry_after(RetryAfter::NextUtcHour),
            MfaRefusal::MissingPhone {
                service_key_given: true,
            } => bad_request(
                10800,
                "Phone is required: MFAAttributes.serviceKey names no flow, so this request starts one, and a new flow sends its code to Phone (an international number, + and 8 to 15 digits).",
            ),
            MfaRefusal::MissingPhone {
                service_key_given: false,
            } => bad_request(
                10800,
                "Phone is required to start a flow: an international number, + and 8 to 15 digits.",
            ),
            // The request conflicts with where the customer's or the flow's codes may go.
            MfaRefusal::NotTheFlowsContact { field } => TemenosError::new(
                StatusCode::CONFLICT,
                10821,
                format!(
                    "{field} is not where this flow's codes go: codes go only to the phone number a new flow proves, or to the customer's registered contacts."
                ),
            ),
            MfaRefusal::StaleSecurityKey => bad_request(
                10803,
                "MFAAttributes.OTP.securityKey does not name the latest code: use the securityKey of the last response.",
            ),
            MfaRefusal::NoDestination => TemenosError::new(
                StatusCode::CONFLICT,
                10815,
                "There is no registered phone number or email address to send a code to.",
            ),
            MfaRefusal::Unverified => TemenosError::new(
                StatusCode::CONFLICT,
                10820,
                "The registered phone number and email address are not verified: verify one first (OBP: POST /obp/v5.1.0/users/current/contact-verifications).",
            ),
            MfaRefusal::Send(refusal) => send_refused(refusal),
            MfaRefusal::Answer {
                error: VerifyError::Malformed | VerifyError::NoCodeSent,
                ..
            } => bad_request(
                10813,
                "MFAAttributes.OTP.otp must be the digits of the code.",
            ),
            MfaRefusal::Answer {
                error: VerifyError::WrongCode { attempts_left: 0 },
                ..
            } => not_pending(ChallengeState::Locked),
            MfaRefusal::Answer {
                flow,
                error: VerifyError::WrongCode { attempts_left },
            } => {
                let mut error = TemenosError::new(
                    StatusCode::UNAUTHORIZED,
                    10808,
                    format!("Invalid Secure Access Code. {attempts_left} attempts left."),
                );
                error.mfa_attributes = Some(json!({
                    "serviceKey": flow.to_string(),
                    "remainingFailedAttempts": attempts_left.to_string(),
                    "isOtpVerified": "false",
                }));
                error
            }
            MfaRefusal::Answer {
                error: VerifyError::NotPending(state),
                ..
            } => not_pending(state),
            MfaRefusal::AlreadyUsed => not_pending(ChallengeState::Redeemed),
            MfaRefusal::NotVerified => TemenosError::new(
                StatusCode::FORBIDDEN,
                10816,
                "Verify a code first: security questions can be updated within 5 minutes of verifying a requestUpdateSecurityQuestionsOTP flow.",
            ),
        }
    }
}

impl From<DeliveryFailed> for TemenosError {
    fn from(DeliveryFailed: DeliveryFailed) -> Self {
        TemenosError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            10812,
            "The Secure Access Code could not be sent. Try again later.",
        )
        .with_retry_after(RetryAfter::seconds(DeliveryFailed::RETRY_AFTER_SECS))
    }
}
