//! Customer sessions as the bank's front-end servers and the customers themselves manage
//! them: resume (keep alive, or replace an expired one), terminate, list, and housekeeping.

use super::step_up;
use crate::state::AppState;
use assent_otp::challenge::RedeemError;
use assent_repository::users::UserRow;
use assent_repository::{DbConnection, RepoError, challenges, quotas, sessions, users};
use assent_session::{ResumeError, SESSION_TOKEN_TYP, Session, SessionClaims, SessionState};
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
    Unknown,
    Terminated,
    /// Expired, and the request did not name its owner (customer and institution).
    Expired,
    /// The customer must verify their identity first: the `requiredIdentityChallenge`.
    ChallengeRequired(Value),
}

/// Who the request says owns the session (both must match to replace an expired one).
#[derive(Debug, Clone, Default)]
pub struct ClaimedOwner {
    pub customer_id: Option<String>,
    pub institution_id: Option<String>,
}

fn owner_matches(session: &Session, user: &UserRow, claimed: &ClaimedOwner) -> bool {
    match (&claimed.customer_id, &claimed.institution_id) {
        (Some(customer), Some(institution)) => {
            user.customer_number.as_deref() == Some(customer.as_str())
                && session.institution_id == *institution
        }
        _ => false,
    }
}

/// Most reloads when writers keep colliding on one session.
const MAX_ATTEMPTS: usize = 20;

/// Resumes `session_id`. When the customer's last strong authentication is too old, a
/// verified identity challenge must be presented (`challenge`); otherwise one is opened and
/// returned. An active session is kept alive; an expired one is replaced by a new session if
/// the request names its owner; a terminated one is never revived.
pub fn resume(
    state: &AppState,
    conn: &mut DbConnection,
    session_id: &str,
    claimed: &ClaimedOwner,
    challenge: Option<Uuid>,
    now: OffsetDateTime,
) -> Result<Result<Resumed, ResumeRefusal>, RepoError> {
    let policy = &state.session_policy;
    let mut strong_auth_recorded = false;
    for _ in 0..MAX_ATTEMPTS {
        let Some(before) = sessions::find(conn, session_id)? else {
            return Ok(Err(ResumeRefusal::Unknown));
        };
        if before.state(now) == SessionState::Terminated {
            return Ok(Err(ResumeRefusal::Terminated));
        }
        let user_id = before.user_id.to_string();
        let Some(user) = users::find_by_id(conn, &assent_identity::UserId(before.user_id))? else {
            return Ok(Err(ResumeRefusal::Unknown));
        };
        let mut after = before.clone();
        if strong_auth_recorded {
            after.authenticated_strongly(now);
        }
        if after.reauthentication_due(now, policy) {
            let redeemed = match challenge {
                Some(id) => step_up::redeem(conn, &id, RESUME_OPERATION, &user_id, now)?,
                None => None,
            };
            match redeemed {
                Some(Ok(())) => {
                    strong_auth_recorded = true;
                    after.authenticated_strongly(now);
                }
                Some(Err(RedeemError::NotVerified(_) | RedeemError::Stale)) | None => {
                    let factors = step_up::factors_for(state, conn, &user)?;
                    let opened =
                        step_up::open(state, conn, now, RESUME_OPERATION, &user_id, &factors)?;
                    return Ok(Err(ResumeRefusal::ChallengeRequired(
                        step_up::required_challenge(&opened, &factors),
                    )));
                }
            }
        }
        match after.resume(now) {
            Ok(()) => {
                if sessions::update_if_unchanged(conn, &before, &after)? {
                    return Ok(Ok(Resumed::KeptAlive(after.session_id.as_str().to_owned())));
                }
            }
            Err(ResumeError::Terminated | ResumeError::StillActive) => {
                return Ok(Err(ResumeRefusal::Terminated));
            }
            Err(ResumeError::Expired) => {
                if !owner_matches(&before, &user, claimed) {
                    return Ok(Err(ResumeRefusal::Expired));
                }
                let Ok(new) = after.replacement(now, policy, &mut rand::rng()) else {
                    return Ok(Err(ResumeRefusal::Expired));
                };
                let mut ended = before.clone();
                ended.terminate(now, "replaced");
                let replaced = assent_repository::transaction(conn, |conn| {
                    // The old session ends here, once: a second replace finds it terminated.
                    if !sessions::update_if_unchanged(conn, &before, &ended)? {
                        return Ok(false);
                    }
                    sessions::insert(conn, &new)?;
                    super::record(
                        conn,
                        now,
                        "session.replaced",
                        Some(&user_id),
                        serde_json::json!({ "institution_id": new.institution_id }),
                    )?;
                    Ok::<_, RepoError>(true)
                })?;
                if replaced {
                    let claims = SessionClaims::for_session(&new, now);
                    let token = state
                        .keys
                        .sign(SESSION_TOKEN_TYP, &claims)
                        .map_err(|e| RepoError::Connection(e.to_string()))?;
                    return Ok(Ok(Resumed::Replaced {
                        session_id: new.session_id.as_str().to_owned(),
                        token,
                    }));
                }
            }
        }
    }
    Err(RepoError::Connection(
        "session update kept colliding".into(),
    ))
}

/// Terminates a session for `reason`; `false` if it was unknown or already terminated.
pub fn terminate(
    conn: &mut DbConnection,
    session_id: &str,
    user_id: Option<&str>,
    reason: &str,
    now: OffsetDateTime,
) -> Result<bool, RepoError> {
    assent_repository::transaction(conn, |conn| {
        let ended = sessions::terminate(conn, session_id, now, reason)?;
        if ended {
            super::record(
                conn,
                now,
                "session.terminated",
                user_id,
                serde_json::json!({ "reason": reason }),
            )?;
        }
        Ok(ended)
    })
}

/// What housekeeping removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub sessions: usize,
    pub challenges: usize,
    pub quota_windows: usize,
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
    swept.challenges = challenges::delete_expired_before(conn, cutoff)?;
    swept.quota_windows = quotas::delete_windows_before(conn, now - Duration::days(2))?;
    Ok(swept)
}
