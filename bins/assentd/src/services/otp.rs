//! One-time-code challenges as every API family uses them: issue a challenge and deliver its
//! code, resend, answer, and redeem a verification for the operation it confirmed.
//!
//! The database steps are synchronous like every other service; delivery is the one async
//! step, so [`deliver_or_end`] ends the challenge when its code cannot be sent and no usable
//! challenge is left behind.

use super::allowances::{client_key, day_start, hour_start, subject};
use super::{Failure, Internal, on_connection, record, refuse, rollback_if_refused};
use crate::delivery::{Channel, OutgoingCode};
use crate::state::AppState;
use assent_otp::challenge::{
    Challenge, ChallengeState, OneTimeCode, RedeemError, ResendError, VerifyError,
};
use assent_repository::{DbConnection, RepoError, challenges, quotas};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// Where a code goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub channel: Channel,
    pub address: String,
}

/// A challenge as saved, and its current code in clear (to deliver, then drop).
pub type Issued = (Challenge, OneTimeCode);

/// Why no code was issued or sent.
#[derive(Debug, thiserror::Error)]
pub enum SendRefusal {
    /// A destination has had its codes for today.
    #[error("too many codes to this destination today")]
    DestinationQuota,
    /// The challenge took no more resends, too soon, or it is no longer pending.
    #[error(transparent)]
    Resend(#[from] ResendError),
}

/// Why a code could not be delivered (the challenge has been ended).
#[derive(Debug, thiserror::Error)]
#[error("the code could not be delivered")]
pub struct DeliveryFailed;

impl DeliveryFailed {
    /// Seconds a client is asked to wait before it tries the operation again: the adapter
    /// has already retried what was worth retrying, so the gateway or relay is likely down
    /// for more than a moment.
    pub const RETRY_AFTER_SECS: u32 = 30;
}

/// Codes to destinations registered to a signed-in customer.
const DESTINATION_SCOPE: &str = "otp-destination";
/// Codes to destinations given by anonymous callers (pre-login), counted apart so that
/// strangers cannot use up a customer's own allowance.
const PUBLIC_DESTINATION_SCOPE: &str = "otp-destination-public";
const CLIENT_SCOPE: &str = "prelogin-client";
/// Codes that prove a contact (see [`super::contact_verifications`]).
const VERIFICATION_DESTINATION_SCOPE: &str = "contact-verification-destination";

/// How a destination is counted: email addresses ignoring case.
fn destination_key(destination: &Destination) -> String {
    match destination.channel {
        Channel::Email => destination.address.trim().to_lowercase(),
        Channel::Sms | Channel::Voice => destination.address.trim().to_owned(),
    }
}

/// The daily allowance a challenge's codes are counted in.
struct Allowance<'a> {
    scope: &'static str,
    limit: u32,
    /// Counted per destination and account (`Some`), or per destination.
    account: Option<&'a str>,
}

/// The allowance of a challenge for `purpose` owned by `owner` (none before login): codes that
/// prove a contact, codes to a customer's proved contacts, and codes to destinations anonymous
/// callers give are each counted apart, so that none can spend another's. Codes that prove a
/// contact are counted per destination and account: whoever claims someone else's contact
/// cannot use up the allowance its owner needs to prove it.
fn allowance<'a>(state: &AppState, purpose: &str, owner: Option<&'a str>) -> Allowance<'a> {
    let per_destination = state.config.otp_codes_per_destination_per_day;
    if purpose.starts_with(super::contact_verifications::PURPOSE_PREFIX) {
        Allowance {
            scope: VERIFICATION_DESTINATION_SCOPE,
            limit: state.config.contact_verification_codes_per_day,
            account: owner,
        }
    } else if owner.is_some() {
        Allowance {
            scope: DESTINATION_SCOPE,
            limit: per_destination,
            account: None,
        }
    } else {
        Allowance {
            scope: PUBLIC_DESTINATION_SCOPE,
            limit: per_destination,
            account: None,
        }
    }
}

fn charge_destinations(
    state: &AppState,
    conn: &mut DbConnection,
    destinations: &[Destination],
    allowance: &Allowance<'_>,
    now: OffsetDateTime,
) -> Result<bool, RepoError> {
    let scope = allowance.scope;
    for destination in destinations {
        let counted = match allowance.account {
            Some(account) => format!("{account} {}", destination_key(destination)),
            None => destination_key(destination),
        };
        let subject = subject(state, scope, &counted);
        if !quotas::consume(conn, scope, &subject, day_start(now), allowance.limit)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Counts one pre-login request from `client` (an IP address) this hour; `false` once the
/// hour's allowance is spent.
pub fn charge_client(
    state: &AppState,
    conn: &mut DbConnection,
    client: &str,
    now: OffsetDateTime,
) -> Result<bool, RepoError> {
    let subject = subject(state, CLIENT_SCOPE, &client_key(Some(client)));
    quotas::consume(
        conn,
        CLIENT_SCOPE,
        &subject,
        hour_start(now),
        state.config.otp_prelogin_requests_per_client_per_hour,
    )
}

/// Issues a challenge for `purpose` to `user_id` (none before login) and stores it with its
/// destinations, after charging each destination's daily allowance; `also` runs in the same
/// transaction (to store what the challenge confirms). Nothing is stored when a destination
/// is over its allowance. The code is returned for [`deliver_or_end`].
pub fn create(
    state: &AppState,
    conn: &mut DbConnection,
    now: OffsetDateTime,
    purpose: &str,
    user_id: Option<&str>,
    destinations: &[Destination],
    mut also: impl FnMut(&mut DbConnection, &Challenge) -> Result<(), Internal>,
) -> Result<Issued, Failure<SendRefusal>> {
    let (challenge, code) = Challenge::issue(
        purpose,
        state.otp_policy,
        now,
        &mut rand::rng(),
        &state.code_hasher,
    );
    let pairs: Vec<(String, String)> = destinations
        .iter()
        .map(|d| (d.channel.as_str().to_owned(), d.address.clone()))
        .collect();
    rollback_if_refused(conn, |conn| {
        let allowance = allowance(state, purpose, user_id);
        if !charge_destinations(state, conn, destinations, &allowance, now)? {
            return refuse(SendRefusal::DestinationQuota);
        }
        challenges::insert(conn, &challenge, user_id)?;
        challenges::insert_destinations(conn, &challenge.id(), &pairs)?;
        also(conn, &challenge)?;
        Ok(())
    })?;
    Ok((challenge, code))
}

/// The stored destinations of a challenge.
pub fn destinations(conn: &mut DbConnection, id: &Uuid) -> Result<Vec<Destination>, RepoError> {
    Ok(challenges::destinations(conn, id)?
        .into_iter()
        .filter_map(|(channel, address)| {
            Channel::parse(&channel).map(|channel| Destination { channel, address })
        })
        .collect())
}

/// A code for a pending challenge, to be sent to `destinations`: its first code if it was
/// opened without one, else a resend under the usual limits; each destination's daily
/// allowance is charged. A refusal leaves the challenge as it was (a resend refused for the
/// allowance is not counted). `None` for an unknown challenge.
pub fn send_code(
    state: &AppState,
    conn: &mut DbConnection,
    id: &Uuid,
    destinations: &[Destination],
    now: OffsetDateTime,
) -> Result<Option<Issued>, Failure<SendRefusal>> {
    let Some((stored, owner)) = challenges::find(conn, id)? else {
        return Ok(None);
    };
    let allowance = allowance(state, stored.purpose(), owner.as_deref());
    rollback_if_refused(conn, |conn| {
        let mut saved = None;
        let outcome = challenges::update(conn, id, |challenge| {
            let result = challenge.send_code(now, &mut rand::rng(), &state.code_hasher);
            saved = Some(challenge.clone());
            result
        })?;
        let (Some(outcome), Some(challenge)) = (outcome, saved) else {
            return Ok(None);
        };
        let code = outcome.map_err(|e| Failure::Refused(e.into()))?;
        if !charge_destinations(state, conn, destinations, &allowance, now)? {
            return refuse(SendRefusal::DestinationQuota);
        }
        Ok(Some((challenge, code)))
    })
}

/// Sends the code to every destination; if any send fails, the challenge is ended (so no
/// usable challenge is left) and the failure logged.
pub async fn deliver_or_end(
    state: &std::sync::Arc<AppState>,
    challenge: &Challenge,
    code: &OneTimeCode,
    destinations: &[Destination],
) -> Result<(), DeliveryFailed> {
    for destination in destinations {
        let message = OutgoingCode {
            channel: destination.channel,
            destination: &destination.address,
            purpose: challenge.purpose(),
            challenge_id: challenge.id(),
            code,
            created_at: challenge.last_sent_at(),
            expires_at: challenge.expires_at(),
        };
        if let Err(error) = state.delivery.send(&message, &state.clock).await {
            state.metrics.delivery_failed(destination.channel.as_str());
            tracing::error!(
                %error,
                channel = destination.channel.as_str(),
                challenge_id = %challenge.id(),
                "one-time code not delivered; challenge ended"
            );
            let id = challenge.id();
            let ended = on_connection(state.clone(), move |ctx| {
                let now = ctx.now;
                challenges::update(ctx.conn(), &id, |c| c.fail(now))
            })
            .await;
            if let Err(error) | Ok(Err(error)) = ended.map(|r| r.map_err(Internal::from)) {
                tracing::error!(%error, challenge_id = %id, "could not end an undelivered challenge");
            }
            return Err(DeliveryFailed);
        }
        state.metrics.code_sent(destination.channel.as_str());
    }
    Ok(())
}

/// The outcome of an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answered {
    /// Right: the challenge is verified.
    Verified(Challenge),
    /// Not accepted.
    Refused(VerifyError),
}

/// Answers a challenge with a code, if `accept` approves the stored challenge (its purpose
/// and owner); `None` for an unknown or unaccepted challenge, which counts nothing.
pub fn answer(
    state: &AppState,
    conn: &mut DbConnection,
    id: &Uuid,
    code: &str,
    now: OffsetDateTime,
    accept: impl Fn(&Challenge, Option<&str>) -> bool,
) -> Result<Option<Answered>, RepoError> {
    let Some((challenge, owner)) = challenges::find(conn, id)? else {
        return Ok(None);
    };
    if !accept(&challenge, owner.as_deref()) {
        return Ok(None);
    }
    let mut saved = None;
    let outcome = challenges::update(conn, id, |challenge| {
        let result = challenge.verify(code, now, &state.code_hasher);
        saved = Some(challenge.clone());
        result
    })?;
    match &outcome {
        Some(Err(VerifyError::WrongCode { attempts_left })) => {
            record_wrong_answer(conn, now, &challenge, owner.as_deref(), *attempts_left)?;
        }
        // Nothing is written for an answer that came too late: counted here.
        Some(Err(VerifyError::NotPending(ChallengeState::Expired))) => {
            state.metrics.answer_too_late();
        }
        _ => {}
    }
    Ok(match (outcome, saved) {
        (Some(Ok(())), Some(challenge)) => Some(Answered::Verified(challenge)),
        (Some(Err(error)), _) => Some(Answered::Refused(error)),
        _ => None,
    })
}

/// Puts a wrong answer in the audit trail, and the lock when it was the last one allowed, so
/// guessing shows up there (with the challenge, its purpose and its owner; never the answer).
pub fn record_wrong_answer(
    conn: &mut DbConnection,
    now: OffsetDateTime,
    challenge: &Challenge,
    owner: Option<&str>,
    attempts_left: u32,
) -> Result<(), RepoError> {
    let details = serde_json::json!({
        "challenge_id": challenge.id().to_string(),
        "purpose": challenge.purpose(),
        "attempts_left": attempts_left,
    });
    record(conn, now, "otp.wrong_answer", owner, details.clone())?;
    if attempts_left == 0 {
        record(conn, now, "otp.locked", owner, details)?;
    }
    Ok(())
}

/// Puts a right answer in the audit trail (with the challenge and its purpose), for the flows
/// whose own events do not say it.
pub fn record_verified(
    conn: &mut DbConnection,
    now: OffsetDateTime,
    challenge: &Challenge,
    owner: Option<&str>,
) -> Result<(), RepoError> {
    record(
        conn,
        now,
        "otp.verified",
        owner,
        serde_json::json!({
            "challenge_id": challenge.id().to_string(),
            "purpose": challenge.purpose(),
        }),
    )
}

/// Why a verified challenge was not redeemed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unredeemable {
    /// No challenge for this purpose and user has this id.
    Unknown,
    /// It was not verified, was redeemed already, or was verified too long ago.
    Refused(RedeemError),
}

/// Uses up a verified challenge for the operation it confirmed: issued for `purpose` to
/// `user_id`, verified at most `max_age` ago, and never redeemed before.
pub fn redeem(
    conn: &mut DbConnection,
    id: &Uuid,
    purpose: &str,
    user_id: &str,
    now: OffsetDateTime,
    max_age: Duration,
) -> Result<(), Failure<Unredeemable>> {
    match challenges::find(conn, id)? {
        Some((challenge, Some(owner))) if challenge.purpose() == purpose && owner == user_id => {}
        _ => return refuse(Unredeemable::Unknown),
    }
    match challenges::update(conn, id, |challenge| challenge.redeem(now, max_age))? {
        Some(Ok(())) => Ok(()),
        Some(Err(error)) => refuse(Unredeemable::Refused(error)),
        None => refuse(Unredeemable::Unknown),
    }
}

/// The Temenos `securityKey` of a challenge's current code: it changes with every resend, so
/// a client always answers the code it was last sent. Not a secret (the code is), but keyed
/// so it cannot be predicted.
pub fn security_key(state: &AppState, challenge: &Challenge) -> String {
    let hash = subject(
        state,
        "otp-security-key",
        &format!("{}:{}", challenge.id(), challenge.resends()),
    );
    let hex = hash.get(..32).unwrap_or(&hash);
    Uuid::try_parse(hex).map_or_else(|_| hex.to_owned(), |u| u.to_string())
}

/// An opaque reference to one destination of a flow (Temenos `referenceId`): keyed, so it
/// cannot be guessed and says nothing of the contact, and bound to the flow (another flow's
/// reference to the same contact differs). It stays the same across resends.
pub fn destination_reference(
    state: &AppState,
    challenge: &Challenge,
    index: usize,
    destination: &Destination,
) -> String {
    let hash = subject(
        state,
        "otp-destination-reference",
        &format!(
            "{}:{}:{index}",
            challenge.id(),
            destination.channel.as_str()
        ),
    );
    hash.get(..32).unwrap_or(&hash).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn destinations_are_counted_by_what_identifies_them() {
        let email = |a: &str| Destination {
            channel: Channel::Email,
            address: a.into(),
        };
        assert_eq!(
            destination_key(&email("Sowmya@Example.COM")),
            destination_key(&email("sowmya@example.com"))
        );
    }

    #[test]
    fn quota_windows_are_utc_days_and_hours() {
        let now = datetime!(2026-12-01 17:39:05.123 UTC);
        assert_eq!(day_start(now), datetime!(2026-12-01 00:00 UTC));
        assert_eq!(hour_start(now), datetime!(2026-12-01 17:00 UTC));
    }
}
