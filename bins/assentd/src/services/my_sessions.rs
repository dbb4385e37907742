//! A customer's own sessions (where they are signed in, and ending any of them), and
//! administrators ending every session of a user.

use super::auth::SignedIn;
use super::caller::{ConsentCannot, customer_only};
use super::roles::{MissingRoles, Need, require};
use super::users::existing_user;
use super::{Context, Failure, customer_sessions, record, refuse, rollback_if_refused};
use assent_identity::roles;
use assent_repository::sessions;
use assent_session::Session;

/// Why a session use case was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionRefusal {
    MissingRoles(MissingRoles),
    /// The session is not one of the caller's live sessions.
    NotFound,
    UserNotFound,
}

impl From<MissingRoles> for SessionRefusal {
    fn from(missing: MissingRoles) -> Self {
        SessionRefusal::MissingRoles(missing)
    }
}

/// The caller's sessions that have not ended, newest first.
pub fn list(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
) -> Result<Vec<Session>, Failure<ConsentCannot>> {
    customer_only(caller)?;
    let now = ctx.now;
    Ok(sessions::list_live_for_user(
        ctx.conn(),
        &caller.user.user_id,
        now,
    )?)
}

/// Ends one of the caller's sessions (the current one included) with its whole family.
pub fn end_one(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    session_id: &str,
) -> Result<(), Failure<SessionRefusal>> {
    let owned = sessions::find(ctx.conn(), session_id)?
        .is_some_and(|s| s.user_id().to_string() == caller.user.user_id);
    if !owned || !customer_sessions::terminate(ctx, session_id, "the customer", "customer")? {
        return refuse(SessionRefusal::NotFound);
    }
    Ok(())
}

/// Ends every session of the caller but the current one.
pub fn end_others(ctx: &mut Context<'_>, caller: &SignedIn) -> Result<(), Failure<SessionRefusal>> {
    let keep = caller.session_id.as_ref().map(|id| id.as_str().to_owned());
    let user_id = &caller.user.user_id;
    let now = ctx.now;
    rollback_if_refused(ctx.conn(), |conn| {
        let ended =
            sessions::terminate_all_for_user(conn, user_id, now, "customer", keep.as_deref())?;
        record(
            conn,
            now,
            "session.terminated",
            Some(user_id),
            serde_json::json!({ "reason": "customer", "sessions": ended }),
        )?;
        Ok(())
    })
}

/// Ends every session of a user (an administrator, on suspected fraud); needs
/// `CanTerminateUserSessions`.
pub fn end_all_of_user(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    user_id: &str,
) -> Result<(), Failure<SessionRefusal>> {
    require(
        ctx,
        caller,
        &[Need::System(roles::CAN_TERMINATE_USER_SESSIONS)],
    )?;
    let user_id = existing_user(ctx.conn(), user_id)?
        .ok_or(Failure::Refused(SessionRefusal::UserNotFound))?;
    let now = ctx.now;
    rollback_if_refused(ctx.conn(), |conn| {
        let ended = sessions::terminate_all_for_user(conn, &user_id, now, "administrator", None)?;
        record(
            conn,
            now,
            "session.terminated",
            Some(&user_id),
            serde_json::json!({
                "reason": "administrator", "sessions": ended, "by": caller.user.user_id,
            }),
        )?;
        Ok(())
    })
}
