//! Multi-factor flows as Temenos Infinity runs them (`DbxUser`): a pre-login flow that proves
//! a phone number for account opening, and a flow that confirms a change of security
//! questions. A flow is one challenge: its id is the `serviceKey`, and its `securityKey`
//! ([`otp::security_key`]) names its current code, so a client always answers the code it
//! was last sent.

use super::auth::SignedIn;
use super::otp::{self, Answered, Destination, SendRefusal, Unredeemable};
use super::{Context, Failure, commit_even_if_refused, record, refuse, rollback_if_refused};
use crate::delivery::Channel;
use crate::state::AppState;
use assent_identity::registration::is_valid_email;
use assent_identity::secret::SecretString;
use assent_otp::challenge::{Challenge, ChallengeState, OneTimeCode, RedeemError, VerifyError};
use assent_repository::users::UserDetailsRow;
use assent_repository::{DbConnection, RepoError, challenges, security_answers};
use serde_json::json;
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

/// Why a flow did not go on.
#[derive(Debug)]
pub enum MfaRefusal {
    /// No flow of this kind (and, signed in, of this customer) has this `serviceKey`.
    UnknownFlow,
    /// The client's hourly allowance of pre-login requests is spent.
    ClientOverQuota,
    /// The `securityKey` given does not name the flow's latest code.
    StaleSecurityKey,
    /// The customer has no registered phone number or email address the delivery serves.
    NoDestination,
    /// The customer has verified none of the phone numbers and email addresses the delivery
    /// serves.
    Unverified,
    /// No code was issued or sent.
    Send(SendRefusal),
    /// The answer was not accepted (`flow` is the flow's `serviceKey`).
    Answer { flow: Uuid, error: VerifyError },
    /// The flow has already been used for an update.
    AlreadyUsed,
    /// The flow was not verified, or longer ago than the update allows.
    NotVerified,
    /// A new pre-login flow needs the phone number it proves (`service_key_given`: the
    /// request named a flow, but none of this kind has that `serviceKey`).
    MissingPhone { service_key_given: bool },
    /// The `Phone` (or `Email`, `field`) of the request is not where this flow's codes go:
    /// codes go only to the number a pre-login flow proves, or to the customer's registered
    /// contacts.
    NotTheFlowsContact { field: &'static str },
}

/// A request for a code: a resend of the flow `service_key` names, or else a new flow.
#[derive(Debug, Default)]
pub struct CodeRequest {
    /// The flow whose code to resend, as given. None, or one that names no flow of this kind
    /// (and, signed in, of this customer), starts a new flow.
    pub service_key: Option<String>,
    /// The `securityKey` of the flow's latest code, as given (resends only).
    pub security_key: Option<String>,
    /// The `Phone` of the request, in E.164 (`+` and digits). A pre-login flow proves it and
    /// sends its codes there; anywhere else it must be where the flow's codes already go.
    pub phone: Option<String>,
    /// The `Email` of the request, checked as an address. It never receives a pre-login code;
    /// signed in, it must be the customer's registered email.
    pub email: Option<String>,
}

/// An answer to a flow's current code.
#[derive(Debug, Default)]
pub struct CodeAnswer {
    /// The flow answered, as given.
    pub service_key: String,
    /// The `securityKey` of the flow's latest code, as given.
    pub security_key: Option<String>,
    /// The code.
    pub code: String,
}

/// A code issued and stored, to deliver with [`otp::deliver_or_end`], then drop.
#[derive(Debug)]
pub struct Sent {
    pub challenge: Challenge,
    pub code: OneTimeCode,
    pub destinations: Vec<Destination>,
    /// For each destination, in order, its opaque reference in this flow
    /// ([`otp::destination_reference`]): what Temenos shows as `referenceId` and `unmasked`.
    pub references: Vec<String>,
    /// The `securityKey` of this code.
    pub security_key: String,
}

/// `requestOTPPreLoginMB`: resends the code of the flow `serviceKey` names to where it went,
/// or else starts a flow that sends a code to `Phone` (the number it proves). Every request,
/// refused or not, counts towards the client's hourly allowance.
pub fn request_pre_login(
    ctx: &mut Context<'_>,
    client: &str,
    request: CodeRequest,
) -> Result<Sent, Failure<MfaRefusal>> {
    let start = request.phone.clone().map(|phone| {
        vec![Destination {
            channel: Channel::Sms,
            address: phone,
        }]
    });
    request_code(ctx, Flow::PreLogin, None, Some(client), start, request)
}

/// `verifyOTPPreLoginMB`: answers a pre-login flow's code. Every answer, refused or not,
/// counts towards the client's hourly allowance; a wrong one counts against the flow.
pub fn verify_pre_login(
    ctx: &mut Context<'_>,
    client: &str,
    answer: CodeAnswer,
) -> Result<(), Failure<MfaRefusal>> {
    verify_code(ctx, Flow::PreLogin, None, Some(client), answer)
}

/// `requestUpdateSecurityQuestionsOTP`: starts the customer's flow, with a code to their
/// registered phone and email, or resends its code.
pub fn request_security_questions_code(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    request: CodeRequest,
) -> Result<Sent, Failure<MfaRefusal>> {
    // Codes go only to the registered contacts: a contact in the request may name one of
    // them, never another.
    let user = &caller.user;
    if let Some(phone) = request.phone.as_deref()
        && user.phone_number.as_deref() != Some(phone)
    {
        return refuse(MfaRefusal::NotTheFlowsContact { field: "Phone" });
    }
    if let Some(email) = request.email.as_deref()
        && !email.eq_ignore_ascii_case(&user.email)
    {
        return refuse(MfaRefusal::NotTheFlowsContact { field: "Email" });
    }
    let destinations = destinations_of(ctx.state, user)?;
    request_code(
        ctx,
        Flow::SecurityQuestions,
        Some(&user.user_id),
        None,
        Some(destinations),
        request,
    )
}

/// `verifyUpdateSecurityQuestionsOTP`: answers the customer's own flow.
pub fn verify_security_questions_code(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    answer: CodeAnswer,
) -> Result<(), Failure<MfaRefusal>> {
    verify_code(
        ctx,
        Flow::SecurityQuestions,
        Some(&caller.user.user_id),
        None,
        answer,
    )
}

/// `updateSecurityQuestions`: replaces the customer's answers (`answers`: question ids with
/// normalised answers), given the flow they verified within the last 5 minutes, which this
/// uses up. Hashes every answer (Argon2id): run on the hashing pool.
pub fn update_security_questions(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    flow: Uuid,
    answers: Vec<(String, String)>,
) -> Result<(), Failure<MfaRefusal>> {
    let user_id = caller.user.user_id.as_str();
    let state = ctx.state;
    // Look before paying for the hashes (the redeem below still decides): a request without
    // a fresh verified flow of this user's must not cost Argon2id work.
    let at = ctx.now;
    let Some(found) = find_flow(ctx.conn(), &flow, Flow::SecurityQuestions, Some(user_id))? else {
        return refuse(MfaRefusal::UnknownFlow);
    };
    if found.state(at) == ChallengeState::Redeemed {
        return refuse(MfaRefusal::AlreadyUsed);
    }
    let fresh = found.state(at) == ChallengeState::Verified
        && found.verified_at().is_some_and(|v| at - v <= UPDATE_WINDOW);
    if !fresh {
        return refuse(MfaRefusal::NotVerified);
    }
    let mut hashed = Vec::with_capacity(answers.len());
    for (question, answer) in answers {
        let hash = state
            .password_hasher
            .hash(&SecretString::new(answer), &mut rand::rng())
            .map_err(super::Internal::from)?;
        hashed.push((question, hash));
    }
    // The hashes take a while: the window is judged again, and the answers stored, as of now.
    let now = state.clock.now();
    rollback_if_refused(ctx.conn(), |conn| {
        otp::redeem(
            conn,
            &flow,
            Flow::SecurityQuestions.purpose(),
            user_id,
            now,
            UPDATE_WINDOW,
        )
        .map_err(|failure| {
            failure.map_refusal(|unredeemable| match unredeemable {
                Unredeemable::Unknown => MfaRefusal::UnknownFlow,
                Unredeemable::Refused(RedeemError::NotVerified(ChallengeState::Redeemed)) => {
                    MfaRefusal::AlreadyUsed
                }
                Unredeemable::Refused(RedeemError::NotVerified(_) | RedeemError::Stale) => {
                    MfaRefusal::NotVerified
                }
            })
        })?;
        security_answers::replace(conn, user_id, &hashed, now)?;
        record(
            conn,
            now,
            "security_questions.updated",
            Some(user_id),
            json!({ "questions": hashed.len() }),
        )?;
        Ok(())
    })
}

/// The flow a `serviceKey` names (its challenge's id).
pub fn flow_of(service_key: &str) -> Result<Uuid, MfaRefusal> {
    Uuid::try_parse(service_key.trim()).map_err(|_| MfaRefusal::UnknownFlow)
}

/// Resends the code of the flow `request.service_key` names, or else starts a flow that sends
/// to `start` (refused when there is nowhere to start one). The client's allowance and the
/// challenge are one transaction (one commit); the client's charge stays when the code is
/// refused.
fn request_code(
    ctx: &mut Context<'_>,
    flow: Flow,
    user_id: Option<&str>,
    client: Option<&str>,
    start: Option<Vec<Destination>>,
    request: CodeRequest,
) -> Result<Sent, Failure<MfaRefusal>> {
    // A key that is not even a flow id names no flow, like one that is not stored.
    let named = request
        .service_key
        .as_deref()
        .and_then(|key| flow_of(key).ok());
    let (state, now) = (ctx.state, ctx.now);
    let (challenge, code, destinations) = commit_even_if_refused(ctx.conn(), |conn| {
        if let Some(client) = client
            && !otp::charge_client(state, conn, client, now)?
        {
            return refuse(MfaRefusal::ClientOverQuota);
        }
        let known = match named {
            Some(id) => find_flow(conn, &id, flow, user_id)?,
            None => None,
        };
        let Some(challenge) = known else {
            let Some(destinations) = start.as_ref() else {
                return refuse(MfaRefusal::MissingPhone {
                    service_key_given: request.service_key.is_some(),
                });
            };
            let (challenge, code) = otp::create(
                state,
                conn,
                now,
                flow.purpose(),
                user_id,
                destinations,
                |_, _| Ok(()),
            )
            .map_err(|f| f.map_refusal(MfaRefusal::Send))?;
            return Ok((challenge, code, destinations.clone()));
        };
        let id = challenge.id();
        check_security_key(state, &challenge, request.security_key.as_deref())?;
        let stored = otp::destinations(conn, &id)?;
        // A pre-login flow proves one number: a resend cannot point it at another.
        if flow == Flow::PreLogin
            && let Some(phone) = request.phone.as_deref()
            && !stored
                .iter()
                .any(|d| d.channel == Channel::Sms && d.address == phone)
        {
            return refuse(MfaRefusal::NotTheFlowsContact { field: "Phone" });
        }
        match otp::send_code(state, conn, &id, &stored, now)
            .map_err(|f| f.map_refusal(MfaRefusal::Send))?
        {
            Some((challenge, code)) => Ok((challenge, code, stored)),
            None => refuse(MfaRefusal::UnknownFlow),
        }
    })?;
    let security_key = otp::security_key(state, &challenge);
    let references = destinations
        .iter()
        .enumerate()
        .map(|(index, destination)| {
            otp::destination_reference(state, &challenge, index, destination)
        })
        .collect();
    Ok(Sent {
        challenge,
        code,
        destinations,
        references,
        security_key,
    })
}

/// Answers a flow's current code. The client's allowance, the answer and its audit are one
/// transaction (one commit): a wrong answer stays counted.
fn verify_code(
    ctx: &mut Context<'_>,
    flow: Flow,
    user_id: Option<&str>,
    client: Option<&str>,
    answer: CodeAnswer,
) -> Result<(), Failure<MfaRefusal>> {
    let id = flow_of(&answer.service_key).map_err(Failure::Refused)?;
    let (state, now) = (ctx.state, ctx.now);
    commit_even_if_refused(ctx.conn(), |conn| {
        if let Some(client) = client
            && !otp::charge_client(state, conn, client, now)?
        {
            return refuse(MfaRefusal::ClientOverQuota);
        }
        let Some(challenge) = find_flow(conn, &id, flow, user_id)? else {
            return refuse(MfaRefusal::UnknownFlow);
        };
        check_security_key(state, &challenge, answer.security_key.as_deref())?;
        let outcome = otp::answer(state, conn, &id, answer.code.trim(), now, |c, owner| {
            c.purpose() == flow.purpose() && owner == user_id
        })?;
        match outcome {
            None => refuse(MfaRefusal::UnknownFlow),
            Some(Answered::Refused(error)) => refuse(MfaRefusal::Answer { flow: id, error }),
            Some(Answered::Verified(_)) => {
                record(
                    conn,
                    now,
                    "otp.verified",
                    user_id,
                    json!({ "purpose": flow.purpose(), "challenge_id": id.to_string() }),
                )?;
                Ok(())
            }
        }
    })
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
) -> Result<(), Failure<MfaRefusal>> {
    match given {
        Some(given) if given.trim() == otp::security_key(state, challenge) => Ok(()),
        _ => refuse(MfaRefusal::StaleSecurityKey),
    }
}

/// Where a customer's codes go: their phone, then their email, as far as the delivery serves
/// them and the customer has verified them.
fn destinations_of(
    state: &AppState,
    user: &UserDetailsRow,
) -> Result<Vec<Destination>, Failure<MfaRefusal>> {
    let mut registered = Vec::new();
    if let Some(phone) = user.phone_number.as_deref().filter(|p| !p.is_empty()) {
        let verified = user.verified_phone().is_some();
        registered.push((Channel::Sms, phone, verified));
    }
    if is_valid_email(&user.email) {
        registered.push((
            Channel::Email,
            user.email.as_str(),
            user.verified_email().is_some(),
        ));
    }
    registered.retain(|(channel, _, _)| state.delivery.serves(*channel));
    if registered.is_empty() {
        return refuse(MfaRefusal::NoDestination);
    }
    let destinations: Vec<Destination> = registered
        .into_iter()
        .filter(|(_, _, verified)| *verified)
        .map(|(channel, address, _)| Destination {
            channel,
            address: address.to_owned(),
        })
        .collect();
    if destinations.is_empty() {
        return refuse(MfaRefusal::Unverified);
    }
    Ok(destinations)
}
