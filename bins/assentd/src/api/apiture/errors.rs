//! How the use cases' refusals read in Apiture's dialect: every mapping lives here.

use super::ApitureError;
use crate::api::RetryAfter;
use crate::services::Failure;
use crate::services::customer_sessions::ResumeRefusal;
use crate::services::otp::{DeliveryFailed, SendRefusal};
use crate::services::step_up::StepUpRefusal;
use crate::services::system_callers::UnknownSystemKey;
use actix_web::http::StatusCode;
use assent_otp::challenge::{ChallengeState, ResendError, VerifyError};
use serde_json::json;

impl<R> From<Failure<R>> for ApitureError
where
    ApitureError: From<R>,
{
    fn from(failure: Failure<R>) -> Self {
        match failure {
            Failure::Refused(refusal) => ApitureError::from(refusal),
            Failure::Internal(internal) => ApitureError::internal(internal),
        }
    }
}

impl From<UnknownSystemKey> for ApitureError {
    fn from(UnknownSystemKey: UnknownSystemKey) -> Self {
        ApitureError::unauthorized()
    }
}

// --- customer sessions ---

impl From<ResumeRefusal> for ApitureError {
    fn from(refusal: ResumeRefusal) -> Self {
        let unprocessable = |slug, title, detail: &str| {
            ApitureError::new(StatusCode::UNPROCESSABLE_ENTITY, slug, title, detail)
        };
        match refusal {
            ResumeRefusal::Unknown => unprocessable(
                "unknownSession",
                "Unknown Session",
                "No session has this id.",
            ),
            ResumeRefusal::Terminated => unprocessable(
                "terminatedSession",
                "Terminated Session",
                "The session was terminated; the customer must sign in again.",
            ),
            ResumeRefusal::Expired => unprocessable(
                "expiredSession",
                "Expired Session",
                "The session has expired. Send customerId and institutionId of its owner to replace it, or have the customer sign in again.",
            ),
            ResumeRefusal::NoFactors => ApitureError::new(
                StatusCode::FORBIDDEN,
                "noChallengeFactors",
                "No Challenge Factors",
                "The customer must verify their identity but has no verified phone or email, authenticator or security questions to do it with: they must sign in again (and may verify a contact with OBP's POST /obp/v5.1.0/users/current/contact-verifications).",
            ),
            ResumeRefusal::ChallengeRequired(attributes) => ApitureError::new(
                StatusCode::UNAUTHORIZED,
                "challengeRequired",
                "Challenge Required",
                "The customer must verify their identity: complete one of the factors, then retry with the Apiture-Challenge header.",
            )
            .with_attributes(attributes),
        }
    }
}

// --- identity challenges ---

fn invalid_response(detail: &str) -> ApitureError {
    ApitureError::new(
        StatusCode::BAD_REQUEST,
        "invalidChallengeResponse",
        "Invalid Challenge Response",
        detail,
    )
}

fn too_many_codes(detail: impl Into<String>, retry_after: RetryAfter) -> ApitureError {
    ApitureError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "tooManyCodes",
        "Too Many Codes",
        detail,
    )
    .with_retry_after(retry_after)
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

impl From<StepUpRefusal> for ApitureError {
    fn from(refusal: StepUpRefusal) -> Self {
        match refusal {
            StepUpRefusal::ChallengeNotFound => ApitureError::new(
                StatusCode::NOT_FOUND,
                "challengeNotFound",
                "Challenge Not Found",
                "No identity challenge has this id.",
            ),
            StepUpRefusal::FactorNotFound => ApitureError::new(
                StatusCode::NOT_FOUND,
                "challengeFactorNotFound",
                "Challenge Factor Not Found",
                "The challenge offers no factor with this id.",
            ),
            StepUpRefusal::NotPending(state)
            | StepUpRefusal::Send(SendRefusal::Resend(ResendError::NotPending(state)))
            | StepUpRefusal::Answer(VerifyError::NotPending(state)) => not_pending(state),
            StepUpRefusal::TooManyFailures => ApitureError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "tooManyFailures",
                "Too Many Failures",
                "Too many wrong responses today, across this customer's challenges. Try again tomorrow.",
            )
            .with_retry_after(RetryAfter::NextUtcDay),
            StepUpRefusal::MissingCode => invalid_response("Send the code: {\"code\": \"...\"}."),
            StepUpRefusal::MissingAnswers => {
                invalid_response("Send the answers: {\"answers\": [{\"promptId\", \"answer\"}]}.")
            }
            StepUpRefusal::WrongQuestions => invalid_response(
                "Answer exactly the questions asked, each once, 1 to 100 characters.",
            ),
            StepUpRefusal::Send(SendRefusal::Resend(ResendError::TooSoon { retry_in })) => {
                let seconds = retry_in.whole_seconds().max(1);
                too_many_codes(
                    format!("Wait {seconds} seconds before asking for another code."),
                    RetryAfter::seconds(seconds),
                )
            }
            // Waiting gets this challenge no more codes; the operation may start a new
            // challenge at once, so the shortest wait is the honest one.
            StepUpRefusal::Send(SendRefusal::Resend(ResendError::LimitReached)) => {
                too_many_codes(
                    "No more codes can be sent for this challenge.",
                    RetryAfter::seconds(1),
                )
            }
            StepUpRefusal::Send(SendRefusal::DestinationQuota) => too_many_codes(
                "Too many codes have been sent to this destination today.",
                RetryAfter::NextUtcDay,
            ),
            StepUpRefusal::Answer(VerifyError::Malformed) => invalid_response(
                "The code is not of the expected length or holds other characters than digits.",
            ),
            StepUpRefusal::Answer(VerifyError::NoCodeSent) => ApitureError::new(
                StatusCode::CONFLICT,
                "challengeFactorNotStarted",
                "Challenge Factor Not Started",
                "No code has been sent for this challenge yet: start the factor first.",
            ),
            StepUpRefusal::Answer(VerifyError::WrongCode { attempts_left: 0 }) => {
                not_pending(ChallengeState::Locked)
            }
            StepUpRefusal::Answer(VerifyError::WrongCode { attempts_left }) => ApitureError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "incorrectChallengeResponse",
                "Incorrect Challenge Response",
                format!("The response is not right. {attempts_left} attempts left."),
            )
            .with_attributes(json!({ "remainingAttempts": attempts_left })),
        }
    }
}

impl From<DeliveryFailed> for ApitureError {
    fn from(DeliveryFailed: DeliveryFailed) -> Self {
        ApitureError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "codeNotDelivered",
            "Code Not Delivered",
            "The code could not be sent; the challenge has ended. Retry the operation later.",
        )
        .with_retry_after(RetryAfter::seconds(DeliveryFailed::RETRY_AFTER_SECS))
    }
}
