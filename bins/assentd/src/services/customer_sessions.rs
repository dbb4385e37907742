//! Customer sessions as the bank's front-end servers and the customers themselves manage
//! them: resume (keep alive, or replace an expired one), terminate, list, and housekeeping.

use super::system_callers::SystemCaller;
use super::{Context, Failure, Internal, record, refuse, rollback_if_refused, step_up};
use crate::state::AppState;
use assent_repository::users::UserDetailsRow;
use assent_repository::{DbConnection, RepoError, challenges, quotas, sessions};
use assent_session::{SESSION_TOKEN_TYP, Session, SessionClaims, SessionId, SessionState};
use serde_json::Value;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// The operation id of resuming a session, as identity challenges name it.
pub const RESUME_OPERATION: &str = "resumeCustomerSession";

/// What a resume did.
#[derive(Debug)]
pub enum Resumed {
    /// The session is active and its idle timer restarted.
    KeptAlive(String),
    /// The session had expired; this new one replaces it (the old one is terminated).
    Replaced { session_id: String, token: String },
}

/// Why a resume was refused.
#[derive(Debug)]
pub enum ResumeRefusal {
    /// No such session, or the owner the request names is not its owner (which reveals
    /// nothing about the session).
    Unknown,
    /// Terminated, replaced, its customer locked or its app disabled.
    Terminated,
    /// Expired, and the request did not name its owner (customer and institution).
    Expired,
    /// The customer must verify their identity first: the `requiredIdentityChallenge`.
    ChallengeRequired(Value),
    /// The customer must verify their identity, and has no factor to do it with.
    NoFactors,
}

/// Who the request says owns the session (both must match to replace an expired one).
#[derive(Debug, Clone, Default)]
pub struct ClaimedOwner {
    pub customer_id: Option<String>,
    pub institution_id: Option<String>,
}

impl ClaimedOwner {
    fn is_named(&self) -> bool {
        self.customer_id.is_some() || self.institution_id.is_some()
    }
}

/// Whether the request names the session's owner: customer and institution both given and
/// both right. Sessions from before institutions were recorded count as the configured one.
fn owner_matches(
    state: &AppState,
    session: &Session,
    user: &UserDetailsRow,
    claimed: &ClaimedOwner,
) -> bool {
    let institution = if session.institution_id().is_empty() {
        state.config.institution_id.as_str()
    } else {
        session.institution_id()
    };
    match (&claimed.customer_id, &claimed.institution_id) {
        (Some(customer), Some(claimed_institution)) => {
            user.customer_number.as_deref() == Some(customer.as_str())
                && institution == claimed_institution
        }
        _ => false,
    }
}

/// A resume as asked for.
#[derive(Debug, Clone)]
pub struct Resume {
    pub session_id: String,
    /// Who the request says owns the session.
    pub claimed: ClaimedOwner,
    /// The verified identity challenge the retried request presents.
    pub challenge: Option<Uuid>,
}

/// Resumes a session. In this order: an unknown session, or one whose named owner does not
/// match, is unknown; a terminated one (or one whose customer is locked or whose app is
/// disabled) stays terminated; an expired one without its owner named stays expired. Only
/// then, when the customer's last strong authentication is too old, a verified identity
/// challenge must be presented, else one is opened (and kept) and returned with the refusal.
/// An active session is kept alive; an expired one is replaced by a new session.
pub fn resume(ctx: &mut Context<'_>, resume: Resume) -> Result<Resumed, Failure<ResumeRefusal>> {
    let Resume {
        session_id,
        claimed,
        challenge,
    } = resume;
    let (state, now) = (ctx.state, ctx.now);
    let policy = &state.session_policy;
    let conn = ctx.conn();
    // Ids Assent issues have one shape; anything else cannot be one (and never reaches a
    // query: PostgreSQL refuses some characters in text with an error).
    if SessionId::parse(&session_id).is_none() {
        return refuse(ResumeRefusal::Unknown);
    }
    let Some(found) = sessions::find_with_user(conn, &session_id)? else {
        return refuse(ResumeRefusal::Unknown);
    };
    let (session, user) = (found.session, found.user);
    if claimed.is_named() && !owner_matches(state, &session, &user, &claimed) {
        return refuse(ResumeRefusal::Unknown);
    }
    let blocked = found.user_locked || found.consumer.is_some_and(|c| !c.enabled);
    let state_now = session.state(now);
    if blocked || state_now == SessionState::Terminated {
        return refuse(ResumeRefusal::Terminated);
    }
    let expired = state_now != SessionState::Active;
    if expired && !owner_matches(state, &session, &user, &claimed) {
        return refuse(ResumeRefusal::Expired);
    }
    let mut strong_auth = false;
    if session.strong_authentication_due(now, policy) {
        let redeemed = match challenge {
            Some(id) => match step_up::redeem(conn, &id, RESUME_OPERATION, &user.user_id, now) {
                Ok(()) => true,
                Err(Failure::Refused(_)) => false,
                Err(Failure::Internal(internal)) => return Err(Failure::Internal(internal)),
            },
            None => false,
        };
        match redeemed {
            true => strong_auth = true,
            false => {
                let factors = step_up::factors_for(state, conn, &user)?;
                if factors.is_empty() {
                    return refuse(ResumeRefusal::NoFactors);
                }
                let opened =
                    step_up::open(state, conn, now, RESUME_OPERATION, &user.user_id, &factors)?;
                return refuse(ResumeRefusal::ChallengeRequired(
                    step_up::required_challenge(&opened, &factors),
                ));
            }
        }
    }
    if !expired {
        if sessions::keep_alive(conn, &session_id, now, strong_auth)? {
            return Ok(Resumed::KeptAlive(session_id));
        }
        // Nothing written: say why from the row as it is now.
        return match sessions::find(conn, &session_id)? {
            Some(now_stored) => match now_stored.state(now) {
                // Another request recorded a later activity: alive all the same.
                SessionState::Active => Ok(Resumed::KeptAlive(session_id)),
                SessionState::Terminated => refuse(ResumeRefusal::Terminated),
                SessionState::IdleExpired | SessionState::Expired => refuse(ResumeRefusal::Expired),
            },
            None => refuse(ResumeRefusal::Unknown),
        };
    }
    let Ok(new) = session.replacement(now, policy, strong_auth, &mut rand::rng()) else {
        return refuse(ResumeRefusal::Expired);
    };
    rollback_if_refused(conn, |conn| {
        // Read inside the transaction: a lock set meanwhile must not be outlived by the new
        // session.
        if assent_repository::lockout::admin_lock(conn, &user.user_id)?.is_some() {
            return refuse(ResumeRefusal::Terminated);
        }
        // The old session ends here, once: a second replace finds it terminated.
        if !sessions::replace(conn, &session, &new, now)? {
            return refuse(ResumeRefusal::Terminated);
        }
        record(
            conn,
            now,
            "session.replaced",
            Some(&user.user_id),
            serde_json::json!({ "institution_id": new.institution_id() }),
        )?;
        Ok(())
    })?;
    let claims = SessionClaims::for_session(&new, &state.config.provider, now);
    let token = state.keys.sign(SESSION_TOKEN_TYP, &claims)?;
    Ok(Resumed::Replaced {
        session_id: new.session_id().as_str().to_owned(),
        token,
    })
}

/// A system caller terminates a session and its whole family (the sessions it replaced and
/// those that replaced it). Unknown and already ended sessions are no error: the caller learns
/// nothing about them.
pub fn terminate_for_system(
    ctx: &mut Context<'_>,
    caller: &SystemCaller,
    session_id: &str,
) -> Result<(), Internal> {
    terminate(
        ctx,
        session_id,
        &format!("system key {}", caller.name),
        "system",
    )?;
    Ok(())
}

/// Terminates a session's whole family for `reason`, however long the chain of replacements;
/// `false` if the id is unknown or nothing in its family was live. `by` names who asked
/// (audit).
pub fn terminate(
    ctx: &mut Context<'_>,
    session_id: &str,
    by: &str,
    reason: &str,
) -> Result<bool, RepoError> {
    if SessionId::parse(session_id).is_none() {
        return Ok(false);
    }
    let now = ctx.now;
    assent_repository::transaction(ctx.conn(), |conn| {
        let owner = sessions::owner_of(conn, session_id)?;
        let ended = sessions::terminate_family(conn, session_id, now, reason)?;
        if ended > 0 {
            record(
                conn,
                now,
                "session.terminated",
                owner.as_deref(),
                serde_json::json!({ "reason": reason, "by": by, "sessions": ended }),
            )?;
        }
        Ok(ended > 0)
    })
}

/// What housekeeping removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub sessions: usize,
    pub challenges: usize,
    pub quota_windows: usize,
    pub consents_expired: usize,
}

/// Sweeps as [`sweep`] does unless another replica is sweeping this database right now
/// (answering `None`): one replica at a time does the round.
pub fn housekeeping(
    state: &AppState,
    conn: &mut DbConnection,
    now: OffsetDateTime,
) -> Result<Option<Swept>, RepoError> {
    assent_repository::coordination::if_not_running_elsewhere(
        conn,
        assent_repository::coordination::locks::HOUSEKEEPING,
        |conn| sweep(state, conn, now),
    )
}

/// Deletes what nobody needs any more: sessions that ended more than the retention period
/// ago, challenges expired as long ago, and abuse-limit windows older than two days. Each
/// statement is idempotent, so replicas running it at once only share the work.
pub fn sweep(
    state: &AppState,
    conn: &mut DbConnection,
    now: OffsetDateTime,
) -> Result<Swept, RepoError> {
    let retention =
        Duration::days(i64::try_from(state.config.session_retention_days).unwrap_or(30));
    let cutoff = now - retention;
    let mut swept = Swept::default();
    loop {
        let deleted = sessions::delete_ended_before(conn, cutoff, 1_000)?;
        swept.sessions += deleted;
        if deleted < 1_000 {
            break;
        }
    }
    loop {
        let deleted = challenges::delete_expired_before(conn, cutoff, 1_000)?;
        swept.challenges += deleted;
        if deleted < 1_000 {
            break;
        }
    }
    swept.quota_windows = quotas::delete_windows_before(conn, now - Duration::days(2))?;
    swept.consents_expired = super::consents::expire(conn, now)?;
    state.metrics.consents_expired(swept.consents_expired);
    Ok(swept)
}
