//! Temenos Infinity MFA flows (`DbxUser`): a pre-login flow for account opening, and a flow
//! that confirms a change of security questions. A flow is one challenge: `serviceKey` is its
//! id and `OTP.securityKey` names its current code (it changes with every resend). Unlike the
//! reference, responses never carry a code or an unmasked destination, codes expire, and
//! wrong answers are limited.

use super::TemenosError;
use crate::api::blocking;
use crate::delivery::Channel;
use crate::services::auth::{SessionError, SignedIn, check_session};
use crate::services::otp::{self, Answered, Destination, SendRefusal};
use crate::services::record;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use assent_identity::registration::is_valid_email;
use assent_identity::secret::SecretString;
use assent_otp::challenge::{Challenge, ChallengeState, RedeemError, ResendError, VerifyError};
use assent_otp::masking::normalise_phone;
use assent_otp::security_questions::{self, CATALOGUE, QuestionsError};
use assent_repository::users::UserDetailsRow;
use assent_repository::{DbConnection, RepoError, challenges, security_answers, transaction};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use uuid::Uuid;

/// How long after its verification a security-questions flow may be used for the update.
const UPDATE_WINDOW: time::Duration = time::Duration::minutes(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    PreLogin,
    SecurityQuestions,
}

impl Flow {
    fn purpose(self) -> &'static str {
        match self {
            Flow::PreLogin => "temenos:pre-login",
            Flow::SecurityQuestions => "temenos:update-security-questions",
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct FlowRequest {
    #[serde(rename = "Phone")]
    phone: Option<String>,
    #[serde(rename = "Email")]
    email: Option<String>,
    #[serde(rename = "MFAAttributes")]
    mfa: Option<MfaAttributes>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct MfaAttributes {
    #[serde(rename = "serviceKey")]
    service_key: Option<String>,
    #[serde(rename = "OTP")]
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
    #[serde(rename = "MFAAttributes")]
    mfa: Option<MfaAttributes>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct UpdateQuestionsRequest {
    #[serde(rename = "serviceKey")]
    service_key: Option<String>,
    #[serde(rename = "securityQuestions")]
    security_questions: Option<Vec<QuestionAnswer>>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct QuestionAnswer {
    #[serde(rename = "questionId")]
    question_id: String,
    answer: String,
}

fn bad_request(errcode: u32, errmsg: &str) -> TemenosError {
    TemenosError::new(StatusCode::BAD_REQUEST, errcode, errmsg)
}

fn unknown_flow() -> TemenosError {
    TemenosError::new(
        StatusCode::NOT_FOUND,
        10802,
        "Unknown MFA flow: check MFAAttributes.serviceKey.",
    )
}

fn client_over_quota() -> TemenosError {
    let mut error = TemenosError::new(
        StatusCode::TOO_MANY_REQUESTS,
        10807,
        "Too many requests from this client. Try again later.",
    );
    error.retry_after_secs = Some(3600);
    error
}

fn refusal_error(refusal: SendRefusal) -> TemenosError {
    match refusal {
        SendRefusal::DestinationQuota => {
            let mut error = TemenosError::new(
                StatusCode::TOO_MANY_REQUESTS,
                10806,
                "Too many codes have been sent to this destination today.",
            );
            // The allowance comes back at the next UTC midnight.
            let now = crate::clock::request_time();
            let midnight = now.replace_time(time::Time::MIDNIGHT) + time::Duration::days(1);
            error.retry_after_secs = Some((midnight - now).whole_seconds().max(1));
            error
        }
        SendRefusal::Resend(ResendError::LimitReached) => {
            bad_request(10804, "No resends left for this flow. Start a new one.")
        }
        SendRefusal::Resend(ResendError::TooSoon { retry_in }) => {
            let secs = retry_in.whole_seconds().max(1);
            let mut error = TemenosError::new(
                StatusCode::TOO_MANY_REQUESTS,
                10805,
                format!("Wait {secs} seconds before asking for another code."),
            );
            error.retry_after_secs = Some(secs);
            error
        }
        SendRefusal::Resend(ResendError::NotPending(state)) => not_pending(state),
    }
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

fn not_verified() -> TemenosError {
    TemenosError::new(
        StatusCode::FORBIDDEN,
        10816,
        "Verify a code first: security questions can be updated within 5 minutes of verifying a requestUpdateSecurityQuestionsOTP flow.",
    )
}

fn delivery_failed() -> TemenosError {
    TemenosError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        10812,
        "The Secure Access Code could not be sent. Try again later.",
    )
}

fn client_address(state: &AppState, req: &HttpRequest) -> String {
    state
        .client_ip(req)
        .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
}

fn parse_service_key(key: &str) -> Result<Uuid, TemenosError> {
    Uuid::try_parse(key.trim()).map_err(|_| unknown_flow())
}

/// The flow's challenge, if it is of this kind and (for signed-in flows) this user's.
fn find_flow(
    conn: &mut DbConnection,
    id: &Uuid,
    flow: Flow,
    user_id: Option<&str>,
) -> Result<Option<Challenge>, RepoError> {
    Ok(match challenges::find(conn, id)? {
        Some((challenge, owner))
            if challenge.purpose() == flow.purpose() && owner.as_deref() == user_id =>
        {
            Some(challenge)
        }
        _ => None,
    })
}

fn check_security_key(
    state: &AppState,
    challenge: &Challenge,
    given: Option<&str>,
) -> Result<(), TemenosError> {
    let expected = otp::security_key(state, challenge);
    match given {
        Some(given) if given.trim() == expected => Ok(()),
        _ => Err(bad_request(
            10803,
            "MFAAttributes.OTP.securityKey does not name the latest code: use the securityKey of the last response.",
        )),
    }
}

/// The response to a request or a resend.
fn sent(state: &AppState, challenge: &Challenge, destinations: &[Destination]) -> HttpResponse {
    let mut phone = Vec::new();
    let mut email = Vec::new();
    for (index, destination) in destinations.iter().enumerate() {
        let entry = json!({
            "masked": destination.channel.mask(&destination.address),
            "referenceId": format!("{}-{index}", destination.channel.as_str()),
        });
        match destination.channel {
            Channel::Email => email.push(entry),
            Channel::Sms | Channel::Voice => phone.push(entry),
        }
    }
    let policy = challenge.policy();
    HttpResponse::Ok().json(json!({
        "success": "OTP request sent successfully.",
        "opstatus": "0",
        "httpStatusCode": "200",
        "MFAAttributes": {
            "serviceKey": challenge.id().to_string(),
            "OTP": { "securityKey": otp::security_key(state, challenge) },
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

/// Starts a flow (no `serviceKey`) or resends its code (`serviceKey` and `OTP.securityKey`).
async fn request_code(
    state: Arc<AppState>,
    flow: Flow,
    user_id: Option<String>,
    destinations: Vec<Destination>,
    mfa: Option<MfaAttributes>,
    client: Option<String>,
) -> Result<HttpResponse, TemenosError> {
    let mfa = mfa.unwrap_or_default();
    let resend_of = mfa
        .service_key
        .as_deref()
        .map(parse_service_key)
        .transpose()?;
    let security_key = mfa.otp.and_then(|o| o.security_key);
    let worker = state.clone();
    let issued = blocking(move || -> Result<_, TemenosError> {
        let state = worker;
        let now = state.clock.now();
        let mut conn = state.pool.get().map_err(|e| TemenosError::internal(e))?;
        // One transaction (one commit) for the client's allowance and the challenge.
        transaction(
            &mut conn,
            |conn| -> Result<Result<_, TemenosError>, RepoError> {
                if let Some(client) = &client
                    && !otp::charge_client(&state, conn, client, now)?
                {
                    return Ok(Err(client_over_quota()));
                }
                Ok(match resend_of {
                    None => otp::create(
                        &state,
                        conn,
                        now,
                        flow.purpose(),
                        user_id.as_deref(),
                        &destinations,
                        |_, _| Ok(()),
                    )?
                    .map(|(challenge, code)| (challenge, code, destinations.clone()))
                    .map_err(refusal_error),
                    Some(id) => {
                        let Some(challenge) = find_flow(conn, &id, flow, user_id.as_deref())?
                        else {
                            return Ok(Err(unknown_flow()));
                        };
                        if let Err(error) =
                            check_security_key(&state, &challenge, security_key.as_deref())
                        {
                            return Ok(Err(error));
                        }
                        match otp::resend(&state, conn, &id, now)? {
                            None => Err(unknown_flow()),
                            Some(Err(refusal)) => Err(refusal_error(refusal)),
                            Some(Ok((challenge, code))) => {
                                Ok((challenge, code, otp::destinations(conn, &id)?))
                            }
                        }
                    }
                })
            },
        )?
    })
    .await??;
    let (challenge, code, destinations) = issued;
    otp::deliver_or_end(&state, &challenge, &code, &destinations)
        .await
        .map_err(|_| delivery_failed())?;
    Ok(sent(&state, &challenge, &destinations))
}

/// Answers a flow's current code.
async fn verify_code(
    state: Arc<AppState>,
    flow: Flow,
    user_id: Option<String>,
    mfa: Option<MfaAttributes>,
    client: Option<String>,
) -> Result<HttpResponse, TemenosError> {
    let mfa = mfa.unwrap_or_default();
    let id = parse_service_key(mfa.service_key.as_deref().unwrap_or_default())?;
    let otp_in = mfa.otp.unwrap_or_default();
    let answer = otp_in.otp.unwrap_or_default();
    let security_key = otp_in.security_key;
    let answered = blocking(move || -> Result<_, TemenosError> {
        let now = state.clock.now();
        let mut conn = state.pool.get().map_err(|e| TemenosError::internal(e))?;
        // One transaction (one commit) for the client's allowance, the answer and its audit.
        transaction(
            &mut conn,
            |conn| -> Result<Result<_, TemenosError>, RepoError> {
                if let Some(client) = &client
                    && !otp::charge_client(&state, conn, client, now)?
                {
                    return Ok(Err(client_over_quota()));
                }
                let Some(challenge) = find_flow(conn, &id, flow, user_id.as_deref())? else {
                    return Ok(Err(unknown_flow()));
                };
                if let Err(error) = check_security_key(&state, &challenge, security_key.as_deref())
                {
                    return Ok(Err(error));
                }
                let outcome = otp::answer(&state, conn, &id, answer.trim(), now, |c, owner| {
                    c.purpose() == flow.purpose() && owner == user_id.as_deref()
                })?;
                let Some(outcome) = outcome else {
                    return Ok(Err(unknown_flow()));
                };
                if let Answered::Verified(_) = outcome {
                    record(
                        conn,
                        now,
                        "otp.verified",
                        user_id.as_deref(),
                        json!({ "purpose": flow.purpose(), "challenge_id": id.to_string() }),
                    )?;
                }
                Ok(Ok(outcome))
            },
        )?
    })
    .await??;
    match answered {
        Answered::Verified(_) => Ok(HttpResponse::Ok().json(json!({
            "success": "Secure Access Code verified.",
            "isOtpVerified": "true",
            "opstatus": "0",
            "httpStatusCode": "200",
        }))),
        Answered::Refused(VerifyError::Malformed | VerifyError::NoCodeSent) => Err(bad_request(
            10813,
            "MFAAttributes.OTP.otp must be the digits of the code.",
        )),
        Answered::Refused(VerifyError::WrongCode { attempts_left: 0 }) => {
            Err(not_pending(ChallengeState::Locked))
        }
        Answered::Refused(VerifyError::WrongCode { attempts_left }) => {
            let mut error = TemenosError::new(
                StatusCode::UNAUTHORIZED,
                10808,
                format!("Invalid Secure Access Code. {attempts_left} attempts left."),
            );
            error.mfa_attributes = Some(json!({
                "serviceKey": id.to_string(),
                "remainingFailedAttempts": attempts_left.to_string(),
                "isOtpVerified": "false",
            }));
            Err(error)
        }
        Answered::Refused(VerifyError::NotPending(state)) => Err(not_pending(state)),
    }
}

/// `requestOTPPreLoginMB` (public): starts an account-opening flow that sends a code to
/// `Phone` (an `Email`, if given, is checked but gets no code), or resends its code.
#[utoipa::path(post, path = "/services/data/v1/RBObjects/operations/DbxUser/requestOTPPreLoginMB", tag = "Temenos: MFA",
    request_body = FlowRequest,
    responses(
        (status = 200, description = "Code sent: serviceKey, OTP.securityKey, masked destinations", body = Object),
        (status = 400, description = "10400 bad JSON, 10800 bad Phone, 10801 bad Email, 10803 stale securityKey, 10804 no resends left, 10809 expired, 10810 locked", body = Object),
        (status = 404, description = "10802 unknown serviceKey", body = Object),
        (status = 429, description = "10805 resend too soon, 10806 destination's daily allowance spent, 10807 client's hourly allowance spent", body = Object),
        (status = 503, description = "10812 the code could not be sent", body = Object),
    )
)]
pub async fn request_pre_login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<FlowRequest>,
) -> Result<HttpResponse, TemenosError> {
    let body = body.into_inner();
    let resend = body.mfa.as_ref().is_some_and(|m| m.service_key.is_some());
    let mut destinations = Vec::new();
    if !resend {
        let phone = body
            .phone
            .as_deref()
            .and_then(|p| normalise_phone(p).ok())
            .ok_or_else(|| {
                bad_request(
                    10800,
                    "Phone is required: an international number, + and 8 to 15 digits.",
                )
            })?;
        destinations.push(Destination {
            channel: Channel::Sms,
            address: format!("+{phone}"),
        });
        if let Some(email) = body
            .email
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            // Checked, but no code goes there: one code answered from either channel would not
            // prove the phone number, which is what this flow verifies.
            if !is_valid_email(email) {
                return Err(bad_request(10801, "Email is not a valid address."));
            }
        }
    }
    let client = client_address(&state, &req);
    request_code(
        state.into_inner(),
        Flow::PreLogin,
        None,
        destinations,
        body.mfa,
        Some(client),
    )
    .await
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
    body: web::Json<VerifyRequest>,
) -> Result<HttpResponse, TemenosError> {
    let client = client_address(&state, &req);
    verify_code(
        state.into_inner(),
        Flow::PreLogin,
        None,
        body.into_inner().mfa,
        Some(client),
    )
    .await
}

fn unauthenticated() -> TemenosError {
    TemenosError::new(
        StatusCode::UNAUTHORIZED,
        10814,
        "Sign in first: send the session token in X-Kony-Authorization.",
    )
}

/// The signed-in user of `X-Kony-Authorization` (a session token from DirectLogin), checked
/// against the database on `conn`.
fn kony_claims(
    req: &HttpRequest,
    state: &AppState,
) -> Result<assent_session::SessionClaims, TemenosError> {
    let token = req
        .headers()
        .get("X-Kony-Authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(unauthenticated)?;
    state
        .verify_session_token(token, state.clock.now())
        .map_err(|_| unauthenticated())
}

fn signed_in(
    state: &AppState,
    conn: &mut DbConnection,
    claims: &assent_session::SessionClaims,
) -> Result<SignedIn, TemenosError> {
    check_session(state, conn, claims, state.clock.now()).map_err(|e| match e {
        SessionError::Invalid => unauthenticated(),
        SessionError::RateLimited(exceeded) => {
            let mut error = TemenosError::new(
                StatusCode::TOO_MANY_REQUESTS,
                10819,
                format!(
                    "Too many requests: {} per {} for this application.",
                    exceeded.limit,
                    exceeded.period.name()
                ),
            );
            error.retry_after_secs = Some(exceeded.reset_in_seconds);
            error
        }
        SessionError::Internal(e) => TemenosError::internal(e),
    })
}

/// The signed-in user.
async fn signed_in_user(
    req: &HttpRequest,
    state: &web::Data<AppState>,
) -> Result<UserDetailsRow, TemenosError> {
    let claims = kony_claims(req, state)?;
    let state = state.clone().into_inner();
    blocking(move || {
        let mut conn = state.pool.get().map_err(|e| TemenosError::internal(e))?;
        Ok(signed_in(&state, &mut conn, &claims)?.user)
    })
    .await?
}

/// Where a user's codes go: their phone, then their email, as far as the delivery serves them.
fn destinations_of(
    state: &AppState,
    user: UserDetailsRow,
) -> Result<Vec<Destination>, TemenosError> {
    let mut destinations = Vec::new();
    if let Some(phone) = user.phone_number.filter(|p| !p.is_empty()) {
        destinations.push(Destination {
            channel: Channel::Sms,
            address: phone,
        });
    }
    if is_valid_email(&user.email) {
        destinations.push(Destination {
            channel: Channel::Email,
            address: user.email,
        });
    }
    destinations.retain(|d| state.delivery.serves(d.channel));
    if destinations.is_empty() {
        return Err(bad_request(
            10815,
            "There is no registered phone number or email address to send a code to.",
        ));
    }
    Ok(destinations)
}

/// `requestUpdateSecurityQuestionsOTP` (signed in): sends a code to the user's registered
/// phone and email, or resends it.
#[utoipa::path(post, path = "/services/data/v1/RBObjects/operations/DbxUser/requestUpdateSecurityQuestionsOTP", tag = "Temenos: MFA",
    security(("konyAuthorization" = [])),
    request_body = VerifyRequest,
    responses(
        (status = 200, description = "Code sent to the user's registered phone and email", body = Object),
        (status = 400, description = "10803, 10804, 10809, 10810, 10815 nowhere to send a code", body = Object),
        (status = 401, description = "10814 not signed in", body = Object),
        (status = 404, description = "10802 unknown serviceKey", body = Object),
        (status = 429, description = "10805, 10806", body = Object),
        (status = 503, description = "10812 the code could not be sent", body = Object),
    )
)]
pub async fn request_security_questions_update(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<VerifyRequest>,
) -> Result<HttpResponse, TemenosError> {
    let user = signed_in_user(&req, &state).await?;
    let user_id = user.user_id.clone();
    let destinations = destinations_of(&state, user)?;
    request_code(
        state.into_inner(),
        Flow::SecurityQuestions,
        Some(user_id),
        destinations,
        body.into_inner().mfa,
        None,
    )
    .await
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
    body: web::Json<VerifyRequest>,
) -> Result<HttpResponse, TemenosError> {
    // Answering needs only who is signed in, not where codes would go.
    let user_id = signed_in_user(&req, &state).await?.user_id;
    verify_code(
        state.into_inner(),
        Flow::SecurityQuestions,
        Some(user_id),
        body.into_inner().mfa,
        None,
    )
    .await
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
    let claims = kony_claims(&req, &state)?;
    let worker = state.clone().into_inner();
    blocking(move || {
        let mut conn = worker.pool.get().map_err(|e| TemenosError::internal(e))?;
        signed_in(&worker, &mut conn, &claims).map(|_| ())
    })
    .await??;
    let questions: Vec<_> = CATALOGUE
        .iter()
        .map(|(id, prompt)| json!({ "questionId": id, "question": prompt }))
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "securityQuestions": questions,
        "minimumAnswers": security_questions::MIN_ENROLLED.to_string(),
        "maximumAnswers": security_questions::MAX_ENROLLED.to_string(),
        "opstatus": "0",
        "httpStatusCode": "200",
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
    body: web::Json<UpdateQuestionsRequest>,
) -> Result<HttpResponse, TemenosError> {
    let claims = kony_claims(&req, &state)?;
    let body = body.into_inner();
    let id = parse_service_key(body.service_key.as_deref().unwrap_or_default())?;
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
    let outcome = state
        .into_inner()
        .on_hashing_pool(move |state| -> Result<(), TemenosError> {
            let mut conn = state.pool.get().map_err(|e| TemenosError::internal(e))?;
            let user = signed_in(state, &mut conn, &claims)?.user;
            // Look before paying for the hashes (the redeem below still decides): a request
            // without a fresh verified flow of this user's must not cost Argon2id work.
            let at = state.clock.now();
            match find_flow(&mut conn, &id, Flow::SecurityQuestions, Some(&user.user_id))? {
                None => return Err(unknown_flow()),
                Some(flow) => {
                    let fresh = flow.state(at) == ChallengeState::Verified
                        && flow.verified_at().is_some_and(|v| at - v <= UPDATE_WINDOW);
                    if flow.state(at) == ChallengeState::Redeemed {
                        return Err(not_pending(ChallengeState::Redeemed));
                    }
                    if !fresh {
                        return Err(not_verified());
                    }
                }
            }
            let mut hashed = Vec::with_capacity(normalised.len());
            for (question, answer) in normalised {
                let hash = state
                    .password_hasher
                    .hash(&SecretString::new(answer), &mut rand::rng())
                    .map_err(|e| TemenosError::internal(e))?;
                hashed.push((question, hash));
            }
            let now = state.clock.now();
            let redeemed = transaction(&mut conn, |conn| {
                let redeemed = otp::redeem(
                    conn,
                    &id,
                    Flow::SecurityQuestions.purpose(),
                    &user.user_id,
                    now,
                    UPDATE_WINDOW,
                )?;
                if let Some(Ok(())) = redeemed {
                    security_answers::replace(conn, &user.user_id, &hashed, now)?;
                    record(
                        conn,
                        now,
                        "security_questions.updated",
                        Some(&user.user_id),
                        json!({ "questions": hashed.len() }),
                    )?;
                }
                Ok::<_, assent_repository::RepoError>(redeemed)
            })
            .map_err(|e| TemenosError::internal(e))?;
            match redeemed {
                Some(Ok(())) => Ok(()),
                None => Err(unknown_flow()),
                Some(Err(RedeemError::NotVerified(ChallengeState::Redeemed))) => {
                    Err(not_pending(ChallengeState::Redeemed))
                }
                Some(Err(RedeemError::NotVerified(_) | RedeemError::Stale)) => Err(not_verified()),
            }
        })
        .await?;
    outcome?;
    Ok(HttpResponse::Ok().json(json!({
        "success": "Security questions updated.",
        "opstatus": "0",
        "httpStatusCode": "200",
    })))
}
