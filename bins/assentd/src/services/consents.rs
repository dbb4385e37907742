//! Consents: a customer's request (confirmed by a one-time code), answering it, revoking it,
//! and checking a consent JWT that a third party presents.

use super::otp::{self, Answered, Destination, SendRefusal};
use super::record;
use crate::delivery::Channel;
use crate::state::AppState;
use assent_consent::consent::{
    Access, ConsentError, ConsentRequest, RoleAccess, Scope, Validity, ViewAccess,
};
use assent_consent::status::{ConsentEvent, ConsentStatus};
use assent_consent::token::{CONSENT_TOKEN_TYP, ConsentClaims};
use assent_identity::consumer::CONSUMER_KEY_LABEL;
use assent_identity::secret::SecretString;
use assent_otp::challenge::{Challenge, OneTimeCode, VerifyError};
use assent_repository::consents::{self, ConsentRow};
use assent_repository::sessions::ConsumerGate;
use assent_repository::users::UserDetailsRow;
use assent_repository::{
    DbConnection, RepoError, accounts, banks, consumers, entitlements, from_micros, to_micros,
    transaction,
};
use serde_json::json;
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
    BankNotFound,
    ConsumerNotFound,
    ConsumerDisabled,
    /// No `consumer_id` given and the caller's session has no consumer.
    NoConsumer,
    Invalid(ConsentError),
    /// The user has nowhere for this method to send a code.
    NoDestination(ScaMethod),
    /// The contact given in the request is not the user's registered one.
    NotRegistered,
    Send(SendRefusal),
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

fn scope_of(everything: bool, scope: &str) -> Result<Scope, RepoError> {
    let access: Access = serde_json::from_str(scope).map_err(|e| RepoError::CorruptRow {
        table: "consents",
        reason: e.to_string(),
    })?;
    Ok(Scope { everything, access })
}

/// The JWT of a consent row.
pub fn jwt_of(state: &AppState, row: &ConsentRow) -> Result<String, RepoError> {
    let scope = scope_of(row.everything, &row.scope)?;
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
        views: if scope.everything {
            Vec::new()
        } else {
            scope.access.views
        },
        entitlements: if scope.everything {
            Vec::new()
        } else {
            scope.access.entitlements
        },
        created_by_user_id: row.user_id.clone(),
    };
    state
        .keys
        .sign(CONSENT_TOKEN_TYP, &claims)
        .map_err(|e| RepoError::Connection(e.to_string()))
}

/// Creates a consent INITIATED with its SCA challenge (one transaction); the code is then
/// delivered by the caller.
#[expect(
    clippy::too_many_arguments,
    reason = "one use case with its inputs; a struct would only rename them"
)]
pub fn create(
    state: &AppState,
    conn: &mut DbConnection,
    user: &UserDetailsRow,
    session_consumer: Option<Uuid>,
    bank_id: &str,
    method: ScaMethod,
    request: &ConsentRequest,
    consumer_id: Option<&str>,
    claimed_contact: Option<&str>,
    now: OffsetDateTime,
) -> Result<Result<Created, CreateRefusal>, RepoError> {
    if !assent_identity::bank::is_valid_bank_id(bank_id) || banks::find(conn, bank_id)?.is_none() {
        return Ok(Err(CreateRefusal::BankNotFound));
    }
    let consumer_id = match consumer_id {
        Some(given) => {
            let Ok(id) = Uuid::parse_str(given) else {
                return Ok(Err(CreateRefusal::ConsumerNotFound));
            };
            match consumers::find(conn, &id)? {
                None => return Ok(Err(CreateRefusal::ConsumerNotFound)),
                Some((c, _)) if !c.enabled => return Ok(Err(CreateRefusal::ConsumerDisabled)),
                Some((c, _)) => c.consumer_id,
            }
        }
        None => match session_consumer {
            Some(id) => id,
            None => return Ok(Err(CreateRefusal::NoConsumer)),
        },
    };
    let held = held_access(conn, &user.user_id)?;
    let max = Duration::seconds(
        i64::try_from(state.config.consents_max_time_to_live_secs).unwrap_or(i64::MAX),
    );
    let validity = match request.validate(now, max, &held) {
        Ok(v) => v,
        Err(e) => return Ok(Err(CreateRefusal::Invalid(e))),
    };
    let phone = user.phone_number.clone().filter(|p| !p.is_empty());
    let email = Some(user.email.clone()).filter(|e| !e.is_empty());
    let destination = match method {
        ScaMethod::Email => email.map(|a| (Channel::Email, a)),
        ScaMethod::Sms => phone.map(|a| (Channel::Sms, a)),
        ScaMethod::Implicit => phone
            .map(|a| (Channel::Sms, a))
            .or(email.map(|a| (Channel::Email, a))),
    };
    let Some((channel, address)) = destination else {
        return Ok(Err(CreateRefusal::NoDestination(method)));
    };
    // A contact in the request must be the registered one: codes go only where the customer
    // registered, never where a request says.
    if let Some(claimed) = claimed_contact.map(str::trim).filter(|c| !c.is_empty()) {
        let same = match channel {
            Channel::Email => claimed.eq_ignore_ascii_case(&address),
            Channel::Sms | Channel::Voice => {
                assent_otp::masking::normalise_phone(claimed)
                    .ok()
                    .as_deref()
                    == address.strip_prefix('+')
            }
        };
        if !same {
            return Ok(Err(CreateRefusal::NotRegistered));
        }
    }
    let destinations = vec![Destination { channel, address }];
    let consent_id = Uuid::new_v4().to_string();
    let scope_json = serde_json::to_string(&request.scope.access)
        .map_err(|e| RepoError::Connection(e.to_string()))?;
    let mut stored = None;
    let created = otp::create(
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
                bank_id: bank_id.to_owned(),
                everything: request.scope.everything,
                scope: scope_json.clone(),
                valid_from: to_micros(validity.valid_from),
                expires_at: to_micros(validity.expires_at),
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
    )?;
    let (challenge, code) = match created {
        Ok(pair) => pair,
        Err(refusal) => return Ok(Err(CreateRefusal::Send(refusal))),
    };
    let row = stored.ok_or_else(|| RepoError::Connection("consent not stored".into()))?;
    let jwt = jwt_of(state, &row)?;
    Ok(Ok(Created {
        row,
        jwt,
        challenge,
        code,
        destinations,
    }))
}

/// Ends a consent whose code could not be sent: it is REJECTED.
pub fn reject_undelivered(
    conn: &mut DbConnection,
    consent_id: &str,
    now: OffsetDateTime,
) -> Result<(), RepoError> {
    consents::transition(conn, consent_id, "INITIATED", "REJECTED", now)?;
    Ok(())
}

/// What answering a consent's challenge did.
#[derive(Debug)]
pub enum AnswerOutcome {
    Accepted(Box<ConsentRow>),
    Refused(VerifyError),
    /// No consent of this user at this bank with this id.
    NotFound,
    /// The consent is no longer INITIATED.
    NotInitiated(String),
}

/// Answers a consent's challenge: only its user may; right -> ACCEPTED; wrong -> stays
/// INITIATED with attempts left; the last wrong answer -> REJECTED. One transaction.
pub fn answer(
    state: &AppState,
    conn: &mut DbConnection,
    user_id: &str,
    bank_id: &str,
    consent_id: &str,
    code: &str,
    now: OffsetDateTime,
) -> Result<AnswerOutcome, RepoError> {
    transaction(conn, |conn| {
        let Some(row) = consents::find(conn, consent_id)?
            .filter(|r| r.user_id == user_id && r.bank_id == bank_id)
        else {
            return Ok(AnswerOutcome::NotFound);
        };
        if row.status != ConsentStatus::Initiated.as_str() {
            return Ok(AnswerOutcome::NotInitiated(row.status));
        }
        let challenge_id =
            Uuid::parse_str(&row.challenge_id).map_err(|e| RepoError::CorruptRow {
                table: "consents",
                reason: e.to_string(),
            })?;
        let wanted = purpose(consent_id);
        let answered = otp::answer(state, conn, &challenge_id, code, now, |c, owner| {
            c.purpose() == wanted && owner == Some(user_id)
        })?;
        Ok(match answered {
            None => AnswerOutcome::NotFound,
            Some(Answered::Verified(_)) => {
                let next = ConsentStatus::Initiated
                    .apply(ConsentEvent::ChallengeAnswered)
                    .map_err(|e| RepoError::Connection(e.to_string()))?;
                if !consents::transition(conn, consent_id, "INITIATED", next.as_str(), now)? {
                    return Err(RepoError::Connection(
                        "consent changed while it was answered".into(),
                    ));
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
                AnswerOutcome::Accepted(Box::new(accepted))
            }
            Some(Answered::Refused(error)) => {
                let dead = matches!(
                    error,
                    VerifyError::WrongCode { attempts_left: 0 }
                        | VerifyError::NotPending(
                            assent_otp::challenge::ChallengeState::Locked
                                | assent_otp::challenge::ChallengeState::Failed
                                | assent_otp::challenge::ChallengeState::Expired
                        )
                );
                if dead && consents::transition(conn, consent_id, "INITIATED", "REJECTED", now)? {
                    record(
                        conn,
                        now,
                        "consent.rejected",
                        Some(user_id),
                        json!({ "consent_id": consent_id }),
                    )?;
                }
                AnswerOutcome::Refused(error)
            }
        })
    })
}

/// What revoking did.
#[derive(Debug, PartialEq, Eq)]
pub enum RevokeOutcome {
    Revoked(Box<ConsentRow>),
    NotFound,
    /// Already revoked, or in a status that cannot be revoked.
    NotRevocable(String),
}

/// The user revokes their consent: from that moment its JWT stops working everywhere.
pub fn revoke(
    conn: &mut DbConnection,
    user_id: &str,
    bank_id: &str,
    consent_id: &str,
    now: OffsetDateTime,
) -> Result<RevokeOutcome, RepoError> {
    transaction(conn, |conn| {
        let Some(row) = consents::find(conn, consent_id)?
            .filter(|r| r.user_id == user_id && r.bank_id == bank_id)
        else {
            return Ok(RevokeOutcome::NotFound);
        };
        let Some(status) = ConsentStatus::parse(&row.status) else {
            return Err(RepoError::CorruptRow {
                table: "consents",
                reason: "unknown status".into(),
            });
        };
        let current = effective_status(status, from_micros(row.expires_at), now);
        let Ok(next) = current.apply(ConsentEvent::RevokedByUser) else {
            return Ok(RevokeOutcome::NotRevocable(current.as_str().to_owned()));
        };
        if !consents::transition(conn, consent_id, status.as_str(), next.as_str(), now)? {
            // Changed meanwhile (revoked in parallel, or swept): say what it is now.
            let status_now = consents::find(conn, consent_id)?.map_or(row.status, |r| r.status);
            return Ok(RevokeOutcome::NotRevocable(status_now));
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
        Ok(RevokeOutcome::Revoked(Box::new(revoked)))
    })
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
    pub scope: Scope,
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
/// revocation is immediate on every replica).
pub fn check_use(
    state: &AppState,
    conn: &mut DbConnection,
    claims: &ConsentClaims,
    consumer_key: &SecretString,
    now: OffsetDateTime,
) -> Result<Result<ConsentUse, ConsentRefusal>, RepoError> {
    let Some(consents::ConsentView {
        consent: row,
        user,
        user_locked,
        consumer,
    }) = consents::find_for_use(conn, &claims.jti)?
    else {
        return Ok(Err(ConsentRefusal::NotUsable));
    };
    let status = ConsentStatus::parse(&row.status).unwrap_or(ConsentStatus::Rejected);
    if !effective_status(status, from_micros(row.expires_at), now).is_usable()
        || row.user_id != claims.sub
    {
        return Ok(Err(ConsentRefusal::NotUsable));
    }
    let validity = Validity {
        valid_from: from_micros(row.valid_from),
        expires_at: from_micros(row.expires_at),
    };
    if validity.check(now).is_err() {
        return Ok(Err(ConsentRefusal::OutsideValidity));
    }
    // The key must be the consent's consumer's (compared as keyed hashes, in constant time),
    // and that consumer enabled.
    let presented = state.secret_hasher.hash(CONSUMER_KEY_LABEL, consumer_key);
    let consumer = match consumer {
        Some((gate, key_hash))
            if gate.enabled && bool::from(presented.as_bytes().ct_eq(key_hash.as_bytes())) =>
        {
            gate
        }
        _ => return Ok(Err(ConsentRefusal::WrongConsumer)),
    };
    if user_locked {
        return Ok(Err(ConsentRefusal::UserLocked));
    }
    Ok(Ok(ConsentUse {
        user,
        consumer,
        scope: scope_of(row.everything, &row.scope)?,
        consent_id: claims.jti.clone(),
    }))
}

/// Marks consents past their expiry EXPIRED (housekeeping).
pub fn expire(conn: &mut DbConnection, now: OffsetDateTime) -> Result<usize, RepoError> {
    // The transition table lets only an accepted consent expire.
    consents::expire_before(conn, now, &[ConsentStatus::Accepted.as_str()])
}
