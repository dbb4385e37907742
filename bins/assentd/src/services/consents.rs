//! Consents: a customer's request (confirmed by a one-time code), answering it, revoking it,
//! and checking a consent JWT that a third party presents.

use super::auth::SignedIn;
use super::caller::{ConsentCannot, customer_only};
use super::otp::{self, Answered, Destination, SendRefusal};
use super::{
    Context, Failure, Internal, commit_even_if_refused, on_connection, record, refuse,
    rollback_if_refused,
};
use crate::delivery::Channel;
use crate::state::AppState;
use assent_consent::consent::{
    Access, BankScope, ConsentError, ConsentRequest, RoleAccess, Scope, Validity, ViewAccess,
};
use assent_consent::status::{ConsentEvent, ConsentStatus};
use assent_consent::token::{CONSENT_TOKEN_TYP, ConsentClaims};
use assent_identity::consumer::CONSUMER_KEY_LABEL;
use assent_identity::secret::SecretString;
use assent_otp::challenge::{Challenge, ChallengeState, OneTimeCode, VerifyError};
use assent_repository::consents::{self, ConsentRow};
use assent_repository::sessions::ConsumerGate;
use assent_repository::users::UserDetailsRow;
use assent_repository::{
    DbConnection, RepoError, accounts, banks, consumers, entitlements, from_micros, to_micros,
};
use serde_json::json;
use std::sync::Arc;
use subtle::ConstantTimeEq;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// How a consent is confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaMethod {
    Email,
    Sms,
    /// The user's registered phone, else their email.
    Implicit,
}

impl ScaMethod {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "EMAIL" => Some(ScaMethod::Email),
            "SMS" => Some(ScaMethod::Sms),
            "IMPLICIT" => Some(ScaMethod::Implicit),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ScaMethod::Email => "EMAIL",
            ScaMethod::Sms => "SMS",
            ScaMethod::Implicit => "IMPLICIT",
        }
    }
}

/// Why a consent could not be created.
#[derive(Debug)]
pub enum CreateRefusal {
    /// A third party acting on a consent cannot give one.
    Consent,
    BankNotFound,
    ConsumerNotFound,
    ConsumerDisabled,
    /// No `consumer_id` given and the caller's session has no consumer.
    NoConsumer,
    Invalid(ConsentError),
    /// The user has nowhere for this method to send a code.
    NoDestination(ScaMethod),
    /// The user's contact for this method is not verified, so no code goes there.
    Unverified(ScaMethod),
    /// The contact given in the request is not the user's registered one.
    NotRegistered,
    Send(SendRefusal),
    /// The code could not be sent (the consent has been REJECTED).
    NotDelivered,
}

/// A consent as a customer asks for it.
#[derive(Debug)]
pub struct NewConsent {
    pub method: ScaMethod,
    pub request: ConsentRequest,
    /// The app the consent is for; none: the app of the caller's session.
    pub consumer_id: Option<String>,
    /// The email address the request names, if any: it must be the registered one, whatever
    /// the method.
    pub claimed_email: Option<String>,
    /// The phone number the request names, if any: it must be the registered one, whatever
    /// the method.
    pub claimed_phone: Option<String>,
}

/// What a new consent request produced.
#[derive(Debug)]
pub struct Created {
    pub row: ConsentRow,
    pub jwt: String,
    pub challenge: Challenge,
    pub code: OneTimeCode,
    pub destinations: Vec<Destination>,
}

/// A consent with its JWT.
#[derive(Debug)]
pub struct Signed {
    pub row: ConsentRow,
    pub jwt: String,
}

/// What the user holds now: their views and roles.
pub fn held_access(conn: &mut DbConnection, user_id: &str) -> Result<Access, RepoError> {
    Ok(Access {
        views: accounts::grants_of_user(conn, user_id)?
            .into_iter()
            .map(|g| ViewAccess {
                bank_id: g.bank_id,
                account_id: g.account_id,
                view_id: g.view_id,
            })
            .collect(),
        entitlements: entitlements::list_for_user(conn, user_id)?
            .into_iter()
            .map(|e| RoleAccess {
                bank_id: e.bank_id,
                role_name: e.role_name,
            })
            .collect(),
    })
}

/// The purpose of a consent's challenge.
fn purpose(consent_id: &str) -> String {
    format!("consent:{consent_id}")
}

/// What a consent reaches, from its stored scope.
fn access_in(scope: &str) -> Result<Access, Internal> {
    Ok(serde_json::from_str(scope)?)
}

/// The JWT of a consent row.
pub fn jwt_of(state: &AppState, row: &ConsentRow) -> Result<String, Internal> {
    let access = access_in(&row.scope)?;
    let claims = ConsentClaims {
        jti: row.consent_id.clone(),
        sub: row.user_id.clone(),
        aud: row.consumer_id.clone(),
        iss: state.config.provider.clone(),
        iat: from_micros(row.created_at).unix_timestamp(),
        nbf: from_micros(row.valid_from).unix_timestamp(),
        exp: from_micros(row.expires_at).unix_timestamp(),
        // With everything, the token names nothing in particular: the customer's access at
        // the moment of use decides.
        views: if row.everything {
            Vec::new()
        } else {
            access.views
        },
        entitlements: if row.everything {
            Vec::new()
        } else {
            access.entitlements
        },
        created_by_user_id: row.user_id.clone(),
    };
    Ok(state.keys.sign(CONSENT_TOKEN_TYP, &claims)?)
}

fn signed(state: &AppState, row: ConsentRow) -> Result<Signed, Internal> {
    let jwt = jwt_of(state, &row)?;
    Ok(Signed { row, jwt })
}

/// Creates a consent INITIATED with its SCA challenge (one transaction, which a refused code
/// leaves without a trace); the code is then delivered with [`deliver`].
pub fn create(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    consent: NewConsent,
) -> Result<Created, Failure<CreateRefusal>> {
    customer_only::<CreateRefusal>(caller)?;
    let NewConsent {
        method,
        request,
        consumer_id,
        claimed_email,
        claimed_phone,
    } = consent;
    let bank_id = request.bank_id.clone();
    let (state, now) = (ctx.state, ctx.now);
    let user = &caller.user;
    let conn = ctx.conn();
    if !assent_identity::bank::is_valid_bank_id(&bank_id) || banks::find(conn, &bank_id)?.is_none()
    {
        return refuse(CreateRefusal::BankNotFound);
    }
    let consumer_id = match consumer_id {
        Some(given) => {
            let Ok(id) = Uuid::parse_str(&given) else {
                return refuse(CreateRefusal::ConsumerNotFound);
            };
            match consumers::find(conn, &id)? {
                None => return refuse(CreateRefusal::ConsumerNotFound),
                Some((c, _)) if !c.enabled => return refuse(CreateRefusal::ConsumerDisabled),
                Some((c, _)) => c.consumer_id,
            }
        }
        None => match caller.consumer.as_ref() {
            Some(consumer) => consumer.consumer_id,
            None => return refuse(CreateRefusal::NoConsumer),
        },
    };
    let held = held_access(conn, &user.user_id)?;
    let max = Duration::seconds(
        i64::try_from(state.config.consents_max_time_to_live_secs).unwrap_or(i64::MAX),
    );
    let validity = request
        .validate(now, max, &held)
        .map_err(|e| Failure::Refused(CreateRefusal::Invalid(e)))?;
    let has_phone = user.phone_number.as_deref().is_some_and(|p| !p.is_empty());
    let has_email = !user.email.is_empty();
    let phone = user.verified_phone().map(|a| (Channel::Sms, a.to_owned()));
    let email = user
        .verified_email()
        .map(|a| (Channel::Email, a.to_owned()));
    let (destination, registered) = match method {
        ScaMethod::Email => (email, has_email),
        ScaMethod::Sms => (phone, has_phone),
        ScaMethod::Implicit => (phone.or(email), has_phone || has_email),
    };
    let Some((channel, address)) = destination else {
        return refuse(if registered {
            CreateRefusal::Unverified(method)
        } else {
            CreateRefusal::NoDestination(method)
        });
    };
    // A contact in the request must be the registered one: codes go only where the customer
    // registered, never where a request says, and a request that names another contact (for
    // any method) is told so rather than having it silently ignored.
    let given = |c: &Option<String>| {
        c.as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
    };
    let email_holds = given(&claimed_email)
        .is_none_or(|claimed| has_email && claimed.eq_ignore_ascii_case(&user.email));
    let phone_holds = given(&claimed_phone).is_none_or(|claimed| {
        let registered = user
            .phone_number
            .as_deref()
            .and_then(|p| p.strip_prefix('+'));
        registered.is_some()
            && assent_otp::masking::normalise_phone(&claimed)
                .ok()
                .as_deref()
                == registered
    });
    if !email_holds || !phone_holds {
        return refuse(CreateRefusal::NotRegistered);
    }
    let destinations = vec![Destination { channel, address }];
    let consent_id = Uuid::new_v4().to_string();
    let scope_json = serde_json::to_string(&request.scope.access).map_err(Internal::from)?;
    let mut stored = None;
    let (challenge, code) = otp::create(
        state,
        conn,
        now,
        &purpose(&consent_id),
        Some(&user.user_id),
        &destinations,
        |conn, challenge| {
            let row = ConsentRow {
                consent_id: consent_id.clone(),
                user_id: user.user_id.clone(),
                consumer_id: consumer_id.to_string(),
                bank_id: bank_id.clone(),
                everything: request.scope.everything,
                scope: scope_json.clone(),
                valid_from: to_micros(validity.valid_from()),
                expires_at: to_micros(validity.expires_at()),
                sca_method: method.as_str().to_owned(),
                status: ConsentStatus::Initiated.as_str().to_owned(),
                challenge_id: challenge.id().to_string(),
                created_at: to_micros(now),
                status_changed_at: to_micros(now),
            };
            consents::insert(conn, &row)?;
            record(
                conn,
                now,
                "consent.created",
                Some(&user.user_id),
                json!({
                    "consent_id": row.consent_id, "consumer_id": row.consumer_id, "bank_id": row.bank_id,
                }),
            )?;
            stored = Some(row);
            Ok(())
        },
    )
    .map_err(|f| f.map_refusal(CreateRefusal::Send))?;
    let row = stored.ok_or_else(|| Internal::Invariant("consent not stored".into()))?;
    let jwt = jwt_of(state, &row)?;
    Ok(Created {
        row,
        jwt,
        challenge,
        code,
        destinations,
    })
}

/// Sends a new consent's code; when it cannot be sent, the consent is REJECTED.
pub async fn deliver(
    state: Arc<AppState>,
    created: &Created,
) -> Result<(), Failure<CreateRefusal>> {
    if otp::deliver_or_end(
        &state,
        &created.challenge,
        &created.code,
        &created.destinations,
    )
    .await
    .is_ok()
    {
        return Ok(());
    }
    let consent_id = created.row.consent_id.clone();
    on_connection(state, move |ctx| {
        let now = ctx.now;
        consents::transition(ctx.conn(), &consent_id, "INITIATED", "REJECTED", now)
    })
    .await??;
    refuse(CreateRefusal::NotDelivered)
}

/// Why a consent's challenge was not answered.
#[derive(Debug)]
pub enum AnswerRefusal {
    /// A third party acting on a consent cannot answer one.
    Consent,
    /// No consent of this user at this bank with this id.
    NotFound,
    /// The consent is no longer INITIATED (its status).
    NotInitiated(String),
    /// The answer was not accepted.
    Refused(VerifyError),
}

/// A consent's challenge as answered.
#[derive(Debug)]
pub struct ConsentAnswer {
    pub bank_id: String,
    pub consent_id: String,
    pub code: String,
}

/// Answers a consent's challenge: only its user may; right -> ACCEPTED; wrong -> stays
/// INITIATED with attempts left; the last wrong answer -> REJECTED. One transaction that
/// commits whatever the outcome: a wrong answer stays counted.
pub fn answer(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    answer: ConsentAnswer,
) -> Result<Signed, Failure<AnswerRefusal>> {
    customer_only::<AnswerRefusal>(caller)?;
    let ConsentAnswer {
        bank_id,
        consent_id,
        code,
    } = answer;
    let user_id = caller.user.user_id.as_str();
    let (state, now) = (ctx.state, ctx.now);
    let accepted = commit_even_if_refused(ctx.conn(), |conn| {
        let Some(row) = consents::find(conn, &consent_id)?
            .filter(|r| r.user_id == user_id && r.bank_id == bank_id)
        else {
            return refuse(AnswerRefusal::NotFound);
        };
        if row.status != ConsentStatus::Initiated.as_str() {
            return refuse(AnswerRefusal::NotInitiated(row.status));
        }
        let challenge_id = Uuid::parse_str(&row.challenge_id).map_err(Internal::from)?;
        let wanted = purpose(&consent_id);
        let answered = otp::answer(state, conn, &challenge_id, code.trim(), now, |c, owner| {
            c.purpose() == wanted && owner == Some(user_id)
        })?;
        match answered {
            None => refuse(AnswerRefusal::NotFound),
            Some(Answered::Verified(challenge)) => {
                otp::record_verified(conn, now, &challenge, Some(user_id))?;
                let next = ConsentStatus::Initiated
                    .apply(ConsentEvent::ChallengeAnswered)
                    .map_err(|e| Internal::Invariant(e.to_string()))?;
                if !consents::transition(conn, &consent_id, "INITIATED", next.as_str(), now)? {
                    // Roll the right answer back with it rather than half-accept.
                    return Err(Failure::Internal(Internal::Invariant(
                        "consent changed while it was answered".into(),
                    )));
                }
                record(
                    conn,
                    now,
                    "consent.accepted",
                    Some(user_id),
                    json!({ "consent_id": consent_id }),
                )?;
                let mut accepted = row;
                accepted.status = next.as_str().to_owned();
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
                if dead && consents::transition(conn, &consent_id, "INITIATED", "REJECTED", now)? {
                    record(
                        conn,
                        now,
                        "consent.rejected",
                        Some(user_id),
                        json!({ "consent_id": consent_id }),
                    )?;
                }
                refuse(AnswerRefusal::Refused(error))
            }
        }
    })?;
    Ok(signed(state, accepted)?)
}

/// Why the caller's consents were not listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListRefusal {
    /// A third party acting on a consent does not see the customer's consents.
    Consent,
    /// A bank that does not exist: nothing is said about consents there.
    BankNotFound,
}

/// The caller's consents at a bank, newest first, with their status as it reads now.
pub fn list(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    bank_id: &str,
) -> Result<Vec<Signed>, Failure<ListRefusal>> {
    customer_only::<ListRefusal>(caller)?;
    if !bank_exists(ctx.conn(), bank_id)? {
        return refuse(ListRefusal::BankNotFound);
    }
    let (state, now) = (ctx.state, ctx.now);
    consents::list_for_user(ctx.conn(), &caller.user.user_id, bank_id)?
        .into_iter()
        .map(|mut row| {
            row.status = status_now(&row, now);
            Ok(signed(state, row)?)
        })
        .collect()
}

fn bank_exists(conn: &mut DbConnection, bank_id: &str) -> Result<bool, RepoError> {
    Ok(assent_identity::bank::is_valid_bank_id(bank_id) && banks::find(conn, bank_id)?.is_some())
}

/// The status of a row as it reads at `now` (see [`effective_status`]).
fn status_now(row: &ConsentRow, now: OffsetDateTime) -> String {
    ConsentStatus::parse(&row.status).map_or_else(
        || row.status.clone(),
        |s| {
            effective_status(s, from_micros(row.expires_at), now)
                .as_str()
                .to_owned()
        },
    )
}

/// Why a consent was not revoked.
#[derive(Debug, PartialEq, Eq)]
pub enum RevokeRefusal {
    /// A third party acting on a consent cannot revoke one.
    Consent,
    BankNotFound,
    NotFound,
    /// Already revoked, or in a status that cannot be revoked (the status).
    NotRevocable(String),
}

/// The user revokes their consent: from that moment its JWT stops working everywhere.
pub fn revoke(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    bank_id: &str,
    consent_id: &str,
) -> Result<Signed, Failure<RevokeRefusal>> {
    customer_only::<RevokeRefusal>(caller)?;
    let user_id = caller.user.user_id.as_str();
    if !bank_exists(ctx.conn(), bank_id)? {
        return refuse(RevokeRefusal::BankNotFound);
    }
    let (state, now) = (ctx.state, ctx.now);
    let revoked = rollback_if_refused(ctx.conn(), |conn| {
        let Some(row) = consents::find(conn, consent_id)?
            .filter(|r| r.user_id == user_id && r.bank_id == bank_id)
        else {
            return refuse(RevokeRefusal::NotFound);
        };
        let Some(status) = ConsentStatus::parse(&row.status) else {
            return Err(Failure::Internal(Internal::Invariant(format!(
                "consent {consent_id} has an unknown status"
            ))));
        };
        let current = effective_status(status, from_micros(row.expires_at), now);
        let Ok(next) = current.apply(ConsentEvent::RevokedByUser) else {
            return refuse(RevokeRefusal::NotRevocable(current.as_str().to_owned()));
        };
        if !consents::transition(conn, consent_id, status.as_str(), next.as_str(), now)? {
            // Changed meanwhile (revoked in parallel, or swept): say what it is now.
            let status_now = consents::find(conn, consent_id)?.map_or(row.status, |r| r.status);
            return refuse(RevokeRefusal::NotRevocable(status_now));
        }
        record(
            conn,
            now,
            "consent.revoked",
            Some(user_id),
            json!({ "consent_id": consent_id }),
        )?;
        let mut revoked = row;
        revoked.status = next.as_str().to_owned();
        Ok(revoked)
    })?;
    Ok(signed(state, revoked)?)
}

/// Why a consent's details were not shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetailsRefusal {
    /// A third party acting on a consent does not see the customer's consents.
    Consent,
    /// No consent of the caller's has this id.
    NotFound,
}

/// A consent in full, as its customer sees it.
#[derive(Debug)]
pub struct Details {
    /// The row, its status as it reads now.
    pub row: ConsentRow,
    pub jwt: String,
    pub access: Access,
}

/// One of the caller's consents, with what it reaches.
pub fn details(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    consent_id: &str,
) -> Result<Details, Failure<DetailsRefusal>> {
    customer_only::<DetailsRefusal>(caller)?;
    let mut row = consents::find(ctx.conn(), consent_id)?
        .filter(|r| r.user_id == caller.user.user_id)
        .ok_or(Failure::Refused(DetailsRefusal::NotFound))?;
    let access = access_in(&row.scope)?;
    let jwt = jwt_of(ctx.state, &row)?;
    row.status = status_now(&row, ctx.now);
    Ok(Details { row, jwt, access })
}

/// The status as it reads now: a usable consent past its expiry reads EXPIRED.
pub fn effective_status(
    status: ConsentStatus,
    expires_at: OffsetDateTime,
    now: OffsetDateTime,
) -> ConsentStatus {
    if now >= expires_at && !status.is_final() {
        status.apply(ConsentEvent::Expired).unwrap_or(status)
    } else {
        status
    }
}

/// A checked consent: whose it is, which app uses it, and what it may reach.
#[derive(Debug, Clone)]
pub struct ConsentUse {
    pub user: UserDetailsRow,
    pub consumer: ConsumerGate,
    pub scope: BankScope,
    pub consent_id: String,
}

/// Why a consent JWT was refused (all answer 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentRefusal {
    /// No such consent, or not ACCEPTED (revoked, rejected, expired, not yet answered).
    NotUsable,
    /// Before `valid_from` or past expiry.
    OutsideValidity,
    /// The `Consumer-Key` is not the consent's consumer's, or that consumer is disabled.
    WrongConsumer,
    /// The user is locked.
    UserLocked,
}

/// Checks a verified consent JWT's claims against the database, on every request (so
/// revocation is immediate on every replica), with the consumer key that came with it.
pub fn check_use(
    ctx: &mut Context<'_>,
    claims: &ConsentClaims,
    consumer_key: &SecretString,
) -> Result<ConsentUse, Failure<ConsentRefusal>> {
    check(ctx, claims, Some(consumer_key))
}

/// As [`check_use`] for someone asking whether the consent is live (token introspection):
/// everything but the consumer's key, which the asker does not have.
pub fn check_live(
    ctx: &mut Context<'_>,
    claims: &ConsentClaims,
) -> Result<ConsentUse, Failure<ConsentRefusal>> {
    check(ctx, claims, None)
}

fn check(
    ctx: &mut Context<'_>,
    claims: &ConsentClaims,
    consumer_key: Option<&SecretString>,
) -> Result<ConsentUse, Failure<ConsentRefusal>> {
    let (state, now) = (ctx.state, ctx.now);
    let Some(consents::ConsentView {
        consent: row,
        user,
        user_locked,
        consumer,
    }) = consents::find_for_use(ctx.conn(), &claims.jti)?
    else {
        return refuse(ConsentRefusal::NotUsable);
    };
    let status = ConsentStatus::parse(&row.status).unwrap_or(ConsentStatus::Rejected);
    if !effective_status(status, from_micros(row.expires_at), now).is_usable()
        || row.user_id != claims.sub
    {
        return refuse(ConsentRefusal::NotUsable);
    }
    let validity = Validity::restore(from_micros(row.valid_from), from_micros(row.expires_at));
    if validity.is_none_or(|validity| validity.check(now).is_err()) {
        return refuse(ConsentRefusal::OutsideValidity);
    }
    // The key, when presented, must be the consent's consumer's (compared as keyed hashes, in
    // constant time); that consumer must be enabled.
    let key_matches = |key_hash: &str| {
        consumer_key.is_none_or(|key| {
            let presented = state.secret_hasher.hash(CONSUMER_KEY_LABEL, key);
            bool::from(presented.as_bytes().ct_eq(key_hash.as_bytes()))
        })
    };
    let consumer = match consumer {
        Some((gate, key_hash)) if gate.enabled && key_matches(&key_hash) => gate,
        _ => return refuse(ConsentRefusal::WrongConsumer),
    };
    if user_locked {
        return refuse(ConsentRefusal::UserLocked);
    }
    Ok(ConsentUse {
        user,
        consumer,
        scope: BankScope::new(
            row.bank_id,
            Scope {
                everything: row.everything,
                access: access_in(&row.scope)?,
            },
        ),
        consent_id: claims.jti.clone(),
    })
}

/// Marks consents past their expiry EXPIRED (housekeeping).
pub fn expire(conn: &mut DbConnection, now: OffsetDateTime) -> Result<usize, RepoError> {
    // The transition table lets only an accepted consent expire.
    consents::expire_before(conn, now, &[ConsentStatus::Accepted.as_str()])
}

macro_rules! refused_to_a_consent {
    ($($refusal:ident),*) => {
        $(impl From<ConsentCannot> for $refusal {
            fn from(_: ConsentCannot) -> Self {
                $refusal::Consent
            }
        })*
    };
}
refused_to_a_consent!(
    CreateRefusal,
    AnswerRefusal,
    ListRefusal,
    RevokeRefusal,
    DetailsRefusal
);
