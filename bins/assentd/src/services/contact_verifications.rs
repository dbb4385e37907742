//! Proving contact details: a signed-in customer asks for a code at their email address or
//! phone number and answers it. Until then no code for strong customer authentication goes
//! there: a contact given at sign-up is only a claim, and could be someone else's.

use super::allowances::{day_start, subject};
use super::auth::SignedIn;
use super::caller::{ConsentCannot, customer_only};
use super::otp::{self, Answered, Destination, SendRefusal};
use super::{Context, Failure, Internal, commit_even_if_refused, record, refuse};
use crate::delivery::Channel;
use assent_otp::challenge::{Challenge, OneTimeCode, VerifyError};
use assent_repository::users::{self, ContactKind};
use assent_repository::{DbConnection, quotas};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

/// What every verification challenge's purpose starts with (the rest is the channel), so the
/// challenge engine counts its codes in their own allowance.
pub const PURPOSE_PREFIX: &str = "contact-verification:";

/// Verification codes asked for by one account, counted per UTC day.
const ACCOUNT_SCOPE: &str = "contact-verification-account";

/// A verification's state, as the API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerificationStatus {
    Initiated,
    Verified,
}

impl VerificationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            VerificationStatus::Initiated => "INITIATED",
            VerificationStatus::Verified => "VERIFIED",
        }
    }
}

/// A verification: its id (its challenge's), where its code went, and its status.
#[derive(Debug, Clone)]
pub struct Verification {
    pub verification_id: Uuid,
    pub destination: Destination,
    pub status: VerificationStatus,
}

/// A verification started, with its code to deliver with [`otp::deliver_or_end`], then drop.
#[derive(Debug)]
pub struct Started {
    pub verification: Verification,
    pub challenge: Challenge,
    pub code: OneTimeCode,
}

/// Why a verification was not started or not completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerificationRefusal {
    /// A third party acting on a consent cannot prove the customer's contacts.
    Consent,
    /// The user has no contact of this kind.
    NoContact(Channel),
    /// The contact is proved already.
    AlreadyVerified(Channel),
    /// The account has asked for its verification codes for today.
    AccountQuota,
    /// The destination has had its verification codes for today.
    DestinationQuota,
    /// No verification of the caller's has this id.
    NotFound,
    /// The answer was not accepted (wrong, expired, or the verification ended).
    Answer(VerifyError),
    /// The contact changed after the code was sent: the code proves the old one only.
    ContactChanged,
}

impl From<ConsentCannot> for VerificationRefusal {
    fn from(_: ConsentCannot) -> Self {
        VerificationRefusal::Consent
    }
}

fn purpose(channel: Channel) -> String {
    format!("{PURPOSE_PREFIX}{}", channel.as_str())
}

/// Sends a code to the caller's own email address (`Channel::Email`) or phone number
/// (`Channel::Sms`). Each account may ask for `contact_verification_codes_per_day` codes a day,
/// and each destination receive as many, counted apart from the codes of proved contacts, so
/// that whoever signs up with another person's contact cannot spend that person's allowance.
pub fn start(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    channel: Channel,
) -> Result<Started, Failure<VerificationRefusal>> {
    customer_only::<VerificationRefusal>(caller)?;
    let (state, now) = (ctx.state, ctx.now);
    let user = &caller.user;
    let (address, verified) = match channel {
        Channel::Email => (Some(user.email.as_str()), user.email_verified_at),
        Channel::Sms | Channel::Voice => (user.phone_number.as_deref(), user.phone_verified_at),
    };
    let Some(address) = address.filter(|a| !a.is_empty()) else {
        return refuse(VerificationRefusal::NoContact(channel));
    };
    if verified.is_some() {
        return refuse(VerificationRefusal::AlreadyVerified(channel));
    }
    let destination = Destination {
        channel,
        address: address.to_owned(),
    };
    let conn = ctx.conn();
    let account = subject(state, ACCOUNT_SCOPE, &user.user_id);
    let limit = state.config.contact_verification_codes_per_day;
    let (challenge, code) = commit_even_if_refused(conn, |conn| {
        // Counted even when the destination's allowance then refuses: asking is what costs.
        if !quotas::consume(conn, ACCOUNT_SCOPE, &account, day_start(now), limit)? {
            return refuse(VerificationRefusal::AccountQuota);
        }
        Ok(())
    })
    .and_then(|()| {
        otp::create(
            state,
            conn,
            now,
            &purpose(channel),
            Some(&user.user_id),
            std::slice::from_ref(&destination),
            |_, _| Ok(()),
        )
        .map_err(|failure| match failure {
            Failure::Refused(SendRefusal::DestinationQuota) => {
                Failure::Refused(VerificationRefusal::DestinationQuota)
            }
            Failure::Refused(SendRefusal::Resend(e)) => {
                Failure::Internal(Internal::Invariant(format!("a new challenge refused: {e}")))
            }
            Failure::Internal(internal) => Failure::Internal(internal),
        })
    })?;
    Ok(Started {
        verification: Verification {
            verification_id: challenge.id(),
            destination,
            status: VerificationStatus::Initiated,
        },
        challenge,
        code,
    })
}

/// Answers one of the caller's verifications. A right answer marks the contact proved (if it
/// is still the contact the code went to), audited as `contact.verified`; wrong answers stay
/// counted, and the fifth ends the verification.
pub fn answer(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    verification_id: &str,
    answer: &str,
) -> Result<Verification, Failure<VerificationRefusal>> {
    customer_only::<VerificationRefusal>(caller)?;
    let Ok(id) = Uuid::parse_str(verification_id) else {
        return refuse(VerificationRefusal::NotFound);
    };
    let (state, now) = (ctx.state, ctx.now);
    let user_id = caller.user.user_id.as_str();
    commit_even_if_refused(ctx.conn(), |conn| {
        let answered = otp::answer(state, conn, &id, answer.trim(), now, |challenge, owner| {
            challenge.purpose().starts_with(PURPOSE_PREFIX) && owner == Some(user_id)
        })?;
        match answered {
            None => refuse(VerificationRefusal::NotFound),
            Some(Answered::Refused(error)) => refuse(VerificationRefusal::Answer(error)),
            Some(Answered::Verified(challenge)) => {
                otp::record_verified(conn, now, &challenge, Some(user_id))?;
                prove(conn, user_id, &id, now)
            }
        }
    })
}

fn prove(
    conn: &mut DbConnection,
    user_id: &str,
    id: &Uuid,
    now: OffsetDateTime,
) -> Result<Verification, Failure<VerificationRefusal>> {
    let destination = otp::destinations(conn, id)?
        .into_iter()
        .next()
        .ok_or_else(|| Internal::Invariant("a verification without a destination".into()))?;
    let kind = match destination.channel {
        Channel::Email => ContactKind::Email,
        Channel::Sms | Channel::Voice => ContactKind::Phone,
    };
    if !users::mark_contact_verified(conn, user_id, kind, &destination.address, now)? {
        return refuse(VerificationRefusal::ContactChanged);
    }
    record(
        conn,
        now,
        "contact.verified",
        Some(user_id),
        json!({ "channel": destination.channel.as_str(), "verification_id": id }),
    )?;
    Ok(Verification {
        verification_id: *id,
        destination,
        status: VerificationStatus::Verified,
    })
}
