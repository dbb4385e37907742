//! Temenos Infinity MFA flows (`DbxUser`): a pre-login flow for account opening, and a flow
//! that confirms a change of security questions. A flow is one challenge: `serviceKey` is its
//! id and `OTP.securityKey` names its current code (it changes with every resend). Unlike the
//! reference, responses never carry a code or an unmasked destination, codes expire, and
//! wrong answers are limited.

use super::TemenosError;
use super::errors::{bad_request, unauthenticated};
use crate::api::JsonObject;
use crate::delivery::Channel;
use crate::services::auth::{Credential, SignedIn};
use crate::services::mfa::{self, CodeAnswer, CodeRequest, Sent};
use crate::services::otp;
use crate::services::{self, Context};
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, web};
use assent_identity::registration::is_valid_email;
use assent_otp::masking::normalise_phone;
use assent_otp::security_questions::{self, CATALOGUE, QuestionsError};
use assent_session::SessionClaims;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

/// An account-opening code request: a resend when `MFAAttributes.serviceKey` names a
/// pre-login flow, else a new flow. `Phone` is mandatory, as the reference marks it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PreLoginFlowRequest {
    /// E.164 (`+`, then 8 to 15 digits, the first not 0; spaces, dashes, dots and brackets
    /// between them ignored): the number a new flow proves and sends its code to; on a resend
    /// the flow's own number (another is 409 10821).
    #[serde(rename = "Phone")]
    #[schema(
        required = true,
        nullable = false,
        example = "+447700900123",
        pattern = r"^\+[ ().-]*[1-9]([ ().-]*[0-9]){7,14}[ ().-]*$"
    )]
    phone: Option<String>,
    /// Checked, never sent a code: a code answered from the email would not prove the phone.
    #[serde(rename = "Email")]
    #[schema(
        example = "sowmya@example.com",
        pattern = r"^(|[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,30}(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,16}){0,2}@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+)$",
        max_length = 254
    )]
    email: Option<String>,
    #[serde(
        rename = "MFAAttributes",
        default,
        deserialize_with = "crate::api::optional_object"
    )]
    mfa: Option<MfaAttributes>,
}

/// A signed-in code request: a resend when `MFAAttributes.serviceKey` names a flow, else a
/// new flow, whose codes go to the customer's registered phone and email.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct FlowRequest {
    /// Only the customer's registered phone (another is 409 10821), E.164 as in pre-login;
    /// empty is as if not given.
    #[serde(rename = "Phone")]
    #[schema(
        example = "+447700900123",
        pattern = r"^(|\+[ ().-]*[1-9]([ ().-]*[0-9]){7,14}[ ().-]*)$"
    )]
    phone: Option<String>,
    /// Only the customer's registered email (another is 409 10821); empty is as if not given.
    #[serde(rename = "Email")]
    #[schema(
        example = "sowmya@example.com",
        pattern = r"^(|[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,30}(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,16}){0,2}@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+)$",
        max_length = 254
    )]
    email: Option<String>,
    #[serde(
        rename = "MFAAttributes",
        default,
        deserialize_with = "crate::api::optional_object"
    )]
    mfa: Option<MfaAttributes>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct MfaAttributes {
    /// The flow, as the last response named it. A code request whose key names no flow starts
    /// a new one; an answer to such a key is 404 10802.
    #[serde(rename = "serviceKey")]
    service_key: Option<String>,
    #[serde(
        rename = "OTP",
        default,
        deserialize_with = "crate::api::optional_object"
    )]
    otp: Option<OtpAttributes>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct OtpAttributes {
    #[serde(rename = "securityKey")]
    security_key: Option<String>,
    otp: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct VerifyRequest {
    #[serde(
        rename = "MFAAttributes",
        default,
        deserialize_with = "crate::api::optional_object"
    )]
    mfa: Option<MfaAttributes>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct UpdateQuestionsRequest {
    #[serde(rename = "serviceKey")]
    pub service_key: Option<String>,
    #[serde(rename = "securityQuestions")]
    pub security_questions: Option<Vec<QuestionAnswer>>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct QuestionAnswer {
    #[serde(rename = "questionId")]
    pub question_id: String,
    pub answer: String,
}

fn client_address(state: &AppState, req: &HttpRequest) -> String {
    state
        .client_ip(req)
        .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
}

/// The response to a request or a resend. Each destination shows its mask and its opaque
/// reference in the flow, under both of the reference's names for it (`referenceId`, and
/// `unmasked`, where the reference puts the contact or the code): never the contact itself.
fn sent(sent: &Sent) -> HttpResponse {
    let mut phone = Vec::new();
    let mut email = Vec::new();
    for (destination, reference) in sent.destinations.iter().zip(&sent.references) {
        let entry = json!({
            "masked": destination.channel.mask(&destination.address),
            "unmasked": reference,
            "referenceId": reference,
        });
        match destination.channel {
            Channel::Email => email.push(entry),
            Channel::Sms | Channel::Voice => phone.push(entry),
        }
    }
    let challenge = &sent.challenge;
    let policy = challenge.policy();
    super::success(json!({
        "success": "OTP request sent successfully.",
        "MFAAttributes": {
            "serviceKey": challenge.id().to_string(),
            "OTP": { "securityKey": sent.security_key },
            "sacCodeLength": challenge.code_length().to_string(),
            "sacMaxResendRequestsAllowed": policy.max_resends().to_string(),
            "remainingResendAttempts": policy.max_resends().saturating_sub(challenge.resends()).to_string(),
            "remainingFailedAttempts": policy.max_failures().saturating_sub(challenge.failures()).to_string(),
            "expiresInSeconds": (challenge.expires_at() - challenge.last_sent_at()).whole_seconds().to_string(),
            "communicationType": "DISPLAY_ALL",
            "sacPreferenceCriteria": "DISPLAY_ALL",
            "customerCommunication": { "phone": phone, "email": email },
            "isMFARequired": "true",
            "MFAType": "SECURE_ACCESS_CODE",
        }
    }))
}

/// Delivers an issued code and answers with the flow's attributes.
async fn deliver(state: Arc<AppState>, issued: Sent) -> Result<HttpResponse, TemenosError> {
    otp::deliver_or_end(
        &state,
        &issued.challenge,
        &issued.code,
        &issued.destinations,
    )
    .await?;
    Ok(sent(&issued))
}

fn verified() -> HttpResponse {
    super::success(json!({
        "success": "Secure Access Code verified.",
        "isOtpVerified": "true",
    }))
}

/// The request's `Phone` in E.164 and its `Email`, each checked when given.
fn contacts(
    phone: Option<&str>,
    email: Option<&str>,
) -> Result<(Option<String>, Option<String>), TemenosError> {
    let phone = match phone.map(str::trim).filter(|p| !p.is_empty()) {
        None => None,
        Some(phone) => Some(format!(
            "+{}",
            normalise_phone(phone).map_err(|_| bad_request(
                10800,
                "Phone must be an international number, + and 8 to 15 digits.",
            ))?
        )),
    };
    let email = match email.map(str::trim).filter(|e| !e.is_empty()) {
        None => None,
        Some(email) if is_valid_email(email) => Some(email.to_owned()),
        Some(_) => return Err(bad_request(10801, "Email is not a valid address.")),
    };
    Ok((phone, email))
}

fn code_request(
    mfa: Option<MfaAttributes>,
    phone: Option<String>,
    email: Option<String>,
) -> CodeRequest {
    let mfa = mfa.unwrap_or_default();
    CodeRequest {
        service_key: mfa.service_key,
        security_key: mfa.otp.and_then(|o| o.security_key),
        phone,
        email,
    }
}

fn code_answer(mfa: Option<MfaAttributes>) -> CodeAnswer {
    let mfa = mfa.unwrap_or_default();
    let otp = mfa.otp.unwrap_or_default();
    CodeAnswer {
        service_key: mfa.service_key.unwrap_or_default(),
        security_key: otp.security_key,
        code: otp.otp.unwrap_or_default(),
    }
}

/// `requestOTPPreLoginMB` (public): resends the code of the flow `MFAAttributes.serviceKey`
/// names (with its `OTP.securityKey`), or else starts an account-opening flow that sends a
/// code to `Phone` (an `Email`, if given, is checked but gets no code).
#[utoipa::path(post, path = "/services/data/v1/RBObjects/operations/DbxUser/requestOTPPreLoginMB", tag = "Temenos: MFA",
    request_body = PreLoginFlowRequest,
    responses(
        (status = 200, description = "Code sent: serviceKey, OTP.securityKey, each destination masked with its opaque referenceId (also as unmasked)", body = Object),
        (status = 400, description = "10400 bad JSON, 10800 Phone missing or not E.164, 10801 bad Email, 10803 stale securityKey, 10804 no resends left, 10809 expired, 10810 locked", body = Object),
        (status = 409, description = "10821 Phone is not the resent flow's number; nothing is sent", body = Object),
        (status = 404, description = "10802 the flow was removed while its code was being resent", body = Object),
        (status = 429, description = "10805 resend too soon, 10806 destination's daily allowance spent, 10807 client's hourly allowance spent", body = Object),
        (status = 503, description = "10812 the code could not be sent", body = Object),
    )
)]
pub async fn request_pre_login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: JsonObject<PreLoginFlowRequest>,
) -> Result<HttpResponse, TemenosError> {
    let body = body.into_inner();
    let (phone, email) = contacts(body.phone.as_deref(), body.email.as_deref())?;
    if phone.is_none() {
        return Err(bad_request(
            10800,
            "Phone is required: a new flow sends its code to Phone, and a resend names the flow's own number (an international number, + and 8 to 15 digits).",
        ));
    }
    let client = client_address(&state, &req);
    let request = code_request(body.mfa, phone, email);
    let state = state.into_inner();
    let issued = services::on_connection(state.clone(), move |ctx| {
        mfa::request_pre_login(ctx, &client, request)
    })
    .await??;
    deliver(state, issued).await
}

/// `verifyOTPPreLoginMB` (public): answers an account-opening flow's code.
#[utoipa::path(post, path = "/services/data/v1/RBObjects/operations/DbxUser/verifyOTPPreLoginMB", tag = "Temenos: MFA",
    request_body = VerifyRequest,
    responses(
        (status = 200, description = "isOtpVerified: \"true\"", body = Object),
        (status = 400, description = "10803 stale securityKey, 10809 expired, 10811 already used, 10813 malformed code, 10818 delivery failed", body = Object),
        (status = 401, description = "10808 wrong code, with MFAAttributes.remainingFailedAttempts", body = Object),
        (status = 403, description = "10810 locked", body = Object),
        (status = 404, description = "10802 unknown serviceKey", body = Object),
        (status = 429, description = "10807 client's hourly allowance spent", body = Object),
    )
)]
pub async fn verify_pre_login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: JsonObject<VerifyRequest>,
) -> Result<HttpResponse, TemenosError> {
    let client = client_address(&state, &req);
    let answer = code_answer(body.into_inner().mfa);
    services::on_connection(state.into_inner(), move |ctx| {
        mfa::verify_pre_login(ctx, &client, answer)
    })
    .await??;
    Ok(verified())
}

/// The signed-in customer of `X-Kony-Authorization` (a session token from DirectLogin): the
/// token is checked before any database work, its session by [`KonySession::run`], in the
/// same blocking call as the work.
struct KonySession(SessionClaims);

impl KonySession {
    fn of(req: &HttpRequest, state: &AppState) -> Result<Self, TemenosError> {
        let token = req
            .headers()
            .get("X-Kony-Authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(unauthenticated)?;
        state
            .verify_session_token(token, state.clock.now())
            .map(KonySession)
            .map_err(|_| unauthenticated())
    }

    /// Checks the session, then runs `work` for its customer, on the blocking pool.
    async fn run<T: Send + 'static>(
        self,
        state: Arc<AppState>,
        work: impl FnOnce(&mut Context<'_>, SignedIn) -> Result<T, TemenosError> + Send + 'static,
    ) -> Result<T, TemenosError> {
        services::on_connection(state, move |ctx| {
            let caller = services::auth::sign_in(ctx, &Credential::Session(self.0))?;
            work(ctx, caller)
        })
        .await?
    }

    /// As [`KonySession::run`], on the hashing pool, for work that hashes with Argon2id.
    async fn run_on_hashing_pool<T: Send + 'static>(
        self,
        state: Arc<AppState>,
        work: impl FnOnce(&mut Context<'_>, SignedIn) -> Result<T, TemenosError> + Send + 'static,
    ) -> Result<T, TemenosError> {
        services::on_hashing_pool(state, move |ctx| {
            let caller = services::auth::sign_in(ctx, &Credential::Session(self.0))?;
            work(ctx, caller)
        })
        .await?
    }
}

/// `requestUpdateSecurityQuestionsOTP` (signed in): resends the code of the user's flow
/// `MFAAttributes.serviceKey` names, or else starts one, with a code to the user's registered
/// phone and email. A `Phone` or `Email` in the request must be the registered one.
#[utoipa::path(post, path = "/services/data/v1/RBObjects/operations/DbxUser/requestUpdateSecurityQuestionsOTP", tag = "Temenos: MFA",
    security(("konyAuthorization" = [])),
    request_body = FlowRequest,
    responses(
        (status = 200, description = "Code sent to the user's registered phone and email, each masked with its opaque referenceId (also as unmasked)", body = Object),
        (status = 400, description = "10800 bad Phone, 10801 bad Email, 10803, 10804, 10809, 10810", body = Object),
        (status = 409, description = "10815 nowhere to send a code, 10820 not verified, 10821 Phone or Email not the registered one; nothing is sent", body = Object),
        (status = 401, description = "10814 not signed in", body = Object),
        (status = 404, description = "10802 the flow was removed while its code was being resent", body = Object),
        (status = 429, description = "10805, 10806", body = Object),
        (status = 503, description = "10812 the code could not be sent", body = Object),
    )
)]
pub async fn request_security_questions_update(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: JsonObject<FlowRequest>,
) -> Result<HttpResponse, TemenosError> {
    let session = KonySession::of(&req, &state)?;
    let body = body.into_inner();
    let (phone, email) = contacts(body.phone.as_deref(), body.email.as_deref())?;
    let request = code_request(body.mfa, phone, email);
    let state = state.into_inner();
    let issued = session
        .run(state.clone(), move |ctx, caller| {
            Ok(mfa::request_security_questions_code(ctx, &caller, request)?)
        })
        .await?;
    deliver(state, issued).await
}

/// `verifyUpdateSecurityQuestionsOTP` (signed in): answers the user's own flow.
#[utoipa::path(post, path = "/services/data/v1/RBObjects/operations/DbxUser/verifyUpdateSecurityQuestionsOTP", tag = "Temenos: MFA",
    security(("konyAuthorization" = [])),
    request_body = VerifyRequest,
    responses(
        (status = 200, description = "isOtpVerified: \"true\"", body = Object),
        (status = 400, description = "10803, 10809, 10811, 10813", body = Object),
        (status = 401, description = "10808 wrong code, 10814 not signed in", body = Object),
        (status = 403, description = "10810 locked", body = Object),
        (status = 404, description = "10802 unknown serviceKey (or another user's)", body = Object),
    )
)]
pub async fn verify_security_questions_update(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: JsonObject<VerifyRequest>,
) -> Result<HttpResponse, TemenosError> {
    let session = KonySession::of(&req, &state)?;
    let answer = code_answer(body.into_inner().mfa);
    session
        .run(state.into_inner(), move |ctx, caller| {
            Ok(mfa::verify_security_questions_code(ctx, &caller, answer)?)
        })
        .await?;
    Ok(verified())
}

/// `getSecurityQuestions` (signed in): the catalogue.
#[utoipa::path(post, path = "/services/data/v1/RBObjects/operations/DbxUser/getSecurityQuestions", tag = "Temenos: MFA",
    security(("konyAuthorization" = [])),
    responses(
        (status = 200, description = "The catalogue: questionId and question", body = Object),
        (status = 401, description = "10814 not signed in", body = Object),
    )
)]
pub async fn security_questions(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, TemenosError> {
    KonySession::of(&req, &state)?
        .run(state.into_inner(), |_, _| Ok(()))
        .await?;
    let questions: Vec<_> = CATALOGUE
        .iter()
        .map(|(id, prompt)| json!({ "questionId": id, "question": prompt }))
        .collect();
    Ok(super::success(json!({
        "securityQuestions": questions,
        "minimumAnswers": security_questions::MIN_ENROLLED.to_string(),
        "maximumAnswers": security_questions::MAX_ENROLLED.to_string(),
    })))
}

/// `updateSecurityQuestions` (signed in): replaces the user's answers, given the `serviceKey`
/// of a security-questions flow this user verified within the last 5 minutes (used once).
#[utoipa::path(post, path = "/services/data/v1/RBObjects/operations/DbxUser/updateSecurityQuestions", tag = "Temenos: MFA",
    security(("konyAuthorization" = [])),
    request_body = UpdateQuestionsRequest,
    responses(
        (status = 200, description = "Answers replaced", body = Object),
        (status = 400, description = "10811 flow already used, 10817 invalid answers", body = Object),
        (status = 401, description = "10814 not signed in", body = Object),
        (status = 403, description = "10816 no flow verified by this user in the last 5 minutes", body = Object),
        (status = 404, description = "10802 unknown serviceKey", body = Object),
    )
)]
pub async fn update_security_questions(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: JsonObject<UpdateQuestionsRequest>,
) -> Result<HttpResponse, TemenosError> {
    let session = KonySession::of(&req, &state)?;
    let body = body.into_inner();
    let flow = mfa::flow_of(body.service_key.as_deref().unwrap_or_default())?;
    let answers: Vec<(String, String)> = body
        .security_questions
        .unwrap_or_default()
        .into_iter()
        .map(|qa| (qa.question_id, qa.answer))
        .collect();
    let normalised = security_questions::enrol(&answers).map_err(|e| {
        let detail = match e {
            QuestionsError::Count => "answer 3 to 5 questions",
            QuestionsError::UnknownQuestion => "a questionId is not in the catalogue",
            QuestionsError::Duplicate => "a question is answered twice",
            QuestionsError::InvalidAnswer | QuestionsError::WrongQuestions => {
                "answers need 1 to 100 characters, no control characters"
            }
        };
        bad_request(
            10817,
            &format!("Invalid securityQuestions: {detail} (see getSecurityQuestions)."),
        )
    })?;
    session
        .run_on_hashing_pool(state.into_inner(), move |ctx, caller| {
            Ok(mfa::update_security_questions(
                ctx, &caller, flow, normalised,
            )?)
        })
        .await?;
    Ok(super::success(json!({
        "success": "Security questions updated.",
    })))
}
