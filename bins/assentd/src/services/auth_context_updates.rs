//! Auth-context updates confirmed by a one-time code (SCA): the signed-in user asks for a key
//! and value, gets a code by SMS or email, and the auth context is created when they answer
//! it, in the same transaction. Only the user who asked may answer; wrong answers are limited
//! and stay counted.

use super::auth::SignedIn;
use super::otp::{self, Answered, Destination, Issued, SendRefusal};
use super::{Context, Failure, Internal, commit_even_if_refused, record, refuse};
use crate::delivery::Channel;
use assent_identity::auth_context::{InvalidAuthContext, validate};
use assent_otp::challenge::{ChallengeState, VerifyError};
use assent_repository::auth_context_updates::{self, AuthContextUpdateRow};
use assent_repository::{DbConnection, RepoError, auth_contexts, banks, to_micros, users};
use serde_json::json;

const PURPOSE: &str = "obp:auth-context-update";
/// The auth-context key that names the customer at the bank.
const CUSTOMER_NUMBER: &str = "CUSTOMER_NUMBER";
const INITIATED: &str = "INITIATED";
const ACCEPTED: &str = "ACCEPTED";
const REJECTED: &str = "REJECTED";

/// What the signed-in user asks to add, and where the code goes.
#[derive(Debug, Clone)]
pub struct UpdateRequest {
    pub bank_id: String,
    pub channel: Channel,
    pub key: String,
    pub value: String,
}

/// Why an update request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateRequestRefusal {
    BankNotFound,
    Invalid(InvalidAuthContext),
    /// The key is already set: a customer may add a context, never change one.
    KeyTaken,
    /// The user has no address registered for the channel.
    NoAddress(Channel),
    /// The user's address for the channel is not verified, so no code goes there.
    Unverified(Channel),
    /// `CUSTOMER_NUMBER` names another user's customer number.
    CustomerNumberOfAnother,
    /// The destination has had its codes for today.
    DestinationQuota,
}

/// A stored update request, with its challenge and code to deliver.
#[derive(Debug)]
pub struct Requested {
    pub update: AuthContextUpdateRow,
    pub issued: Issued,
    pub destinations: Vec<Destination>,
}

/// Stores an update request and its challenge, charging the destination's daily allowance;
/// the code is for [`otp::deliver_or_end`], and [`reject_undelivered`] when it could not be
/// sent.
pub fn request(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    input: UpdateRequest,
) -> Result<Requested, Failure<UpdateRequestRefusal>> {
    let (state, now) = (ctx.state, ctx.now);
    let conn = ctx.conn();
    if !assent_identity::bank::is_valid_bank_id(&input.bank_id)
        || banks::find(conn, &input.bank_id)?.is_none()
    {
        return refuse(UpdateRequestRefusal::BankNotFound);
    }
    let (key, value) = validate(&input.key, &input.value)
        .map_err(|e| Failure::Refused(UpdateRequestRefusal::Invalid(e)))?;
    let user = &caller.user;
    // A key already set (perhaps by staff) stays as it is.
    if auth_contexts::has_key(conn, &user.user_id, &key)? {
        return refuse(UpdateRequestRefusal::KeyTaken);
    }
    if key == CUSTOMER_NUMBER && customer_number_of_another(conn, &value, &user.user_id)? {
        return refuse(UpdateRequestRefusal::CustomerNumberOfAnother);
    }
    let channel = input.channel;
    let (registered, verified) = match channel {
        Channel::Email => (Some(user.email.as_str()), user.verified_email()),
        Channel::Sms | Channel::Voice => (user.phone_number.as_deref(), user.verified_phone()),
    };
    if registered.is_none_or(str::is_empty) {
        return refuse(UpdateRequestRefusal::NoAddress(channel));
    }
    let Some(address) = verified.map(str::to_owned) else {
        return refuse(UpdateRequestRefusal::Unverified(channel));
    };
    let destinations = vec![Destination { channel, address }];
    let mut stored = None;
    let issued = otp::create(
        state,
        conn,
        now,
        PURPOSE,
        Some(&user.user_id),
        &destinations,
        |conn, challenge| {
            let update = AuthContextUpdateRow {
                update_id: uuid::Uuid::new_v4().to_string(),
                user_id: user.user_id.clone(),
                bank_id: input.bank_id.clone(),
                context_key: key.clone(),
                context_value: value.clone(),
                status: INITIATED.to_owned(),
                challenge_id: challenge.id().to_string(),
                created_at: to_micros(now),
            };
            auth_context_updates::insert(conn, &update)?;
            stored = Some(update);
            Ok(())
        },
    )
    .map_err(|failure| match failure {
        Failure::Refused(SendRefusal::DestinationQuota) => {
            Failure::Refused(UpdateRequestRefusal::DestinationQuota)
        }
        // A new challenge is never resent; nothing else can refuse one.
        Failure::Refused(SendRefusal::Resend(e)) => {
            Failure::Internal(Internal::Invariant(format!("a new challenge refused: {e}")))
        }
        Failure::Internal(internal) => Failure::Internal(internal),
    })?;
    let update = stored.ok_or(Internal::Invariant("update request not stored".into()))?;
    Ok(Requested {
        update,
        issued,
        destinations,
    })
}

/// Whether `value` names another customer: another user's customer number here, or another
/// user's `CUSTOMER_NUMBER` auth context (the bank's number for them). A customer number is
/// the bank's name for one customer: nobody claims another's.
fn customer_number_of_another(
    conn: &mut DbConnection,
    value: &str,
    user_id: &str,
) -> Result<bool, RepoError> {
    Ok(
        users::find_by_customer_number(conn, value)?.is_some_and(|u| u.user_id != user_id)
            || auth_contexts::held_by_another(conn, CUSTOMER_NUMBER, value, user_id)?,
    )
}

/// Rejects a request whose code could not be delivered (its challenge has been ended).
pub fn reject_undelivered(ctx: &mut Context<'_>, update_id: &str) -> Result<(), Internal> {
    auth_context_updates::transition(ctx.conn(), update_id, INITIATED, REJECTED)?;
    Ok(())
}

/// An answer to an update request's challenge.
#[derive(Debug, Clone)]
pub struct UpdateAnswer {
    pub bank_id: String,
    pub update_id: String,
    pub answer: String,
}

/// Why an answer did not accept the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerRefusal {
    /// No such request of this user at this bank.
    NotFound,
    /// The request was already actioned; its status.
    NotInitiated(String),
    /// The key was set meanwhile (by staff): the request is rejected, nothing overwritten.
    KeyTaken,
    /// The `CUSTOMER_NUMBER` was given to another customer meanwhile: the request is rejected.
    CustomerNumberOfAnother,
    /// The code was not accepted (a wrong answer is counted).
    Code(VerifyError),
}

/// Answers the request's challenge: the right code accepts the request and creates the auth
/// context, audited as `auth_context.set`; wrong answers count and stay counted, and the last
/// one allowed (or an expired or locked challenge) rejects the request.
pub fn answer(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    input: UpdateAnswer,
) -> Result<AuthContextUpdateRow, Failure<AnswerRefusal>> {
    let (state, now) = (ctx.state, ctx.now);
    let conn = ctx.conn();
    let user_id = caller.user.user_id.as_str();
    let request = auth_context_updates::find(conn, &input.update_id)?
        .filter(|r| r.user_id == user_id && r.bank_id == input.bank_id)
        .ok_or(Failure::Refused(AnswerRefusal::NotFound))?;
    if request.status != INITIATED {
        return refuse(AnswerRefusal::NotInitiated(request.status));
    }
    let challenge_id = uuid::Uuid::parse_str(&request.challenge_id).map_err(Internal::from)?;
    let code = input.answer.trim();
    commit_even_if_refused(conn, |conn| {
        let answered = otp::answer(state, conn, &challenge_id, code, now, |c, owner| {
            c.purpose() == PURPOSE && owner == Some(user_id)
        })?;
        match answered {
            Some(Answered::Verified(challenge)) => {
                otp::record_verified(conn, now, &challenge, Some(user_id))?;
                if !auth_context_updates::transition(conn, &request.update_id, INITIATED, ACCEPTED)?
                {
                    // Roll the right answer back with it rather than half-accept.
                    return Err(Failure::Internal(Internal::Invariant(
                        "auth context update changed while it was answered".into(),
                    )));
                }
                // Judged again: another customer may have been given the number meanwhile.
                if request.context_key == CUSTOMER_NUMBER
                    && customer_number_of_another(conn, &request.context_value, user_id)?
                {
                    auth_context_updates::transition(conn, &request.update_id, ACCEPTED, REJECTED)?;
                    return refuse(AnswerRefusal::CustomerNumberOfAnother);
                }
                if auth_contexts::has_key(conn, user_id, &request.context_key)? {
                    auth_context_updates::transition(conn, &request.update_id, ACCEPTED, REJECTED)?;
                    return refuse(AnswerRefusal::KeyTaken);
                }
                let context = auth_contexts::set(
                    conn,
                    user_id,
                    &request.context_key,
                    &request.context_value,
                    now,
                )?;
                record(
                    conn,
                    now,
                    "auth_context.set",
                    Some(user_id),
                    json!({
                        "user_auth_context_id": context.user_auth_context_id,
                        "key": context.context_key,
                        "user_auth_context_update_id": request.update_id,
                    }),
                )?;
                let mut accepted = request.clone();
                accepted.status = ACCEPTED.to_owned();
                Ok(accepted)
            }
            Some(Answered::Refused(error)) => {
                let dead = matches!(
                    error,
                    VerifyError::WrongCode { attempts_left: 0 }
                        | VerifyError::NotPending(
                            ChallengeState::Locked
                                | ChallengeState::Failed
                                | ChallengeState::Expired
                        )
                );
                if dead {
                    auth_context_updates::transition(
                        conn,
                        &request.update_id,
                        INITIATED,
                        REJECTED,
                    )?;
                }
                refuse(AnswerRefusal::Code(error))
            }
            None => refuse(AnswerRefusal::NotFound),
        }
    })
}
