//! A customer's own sessions: where they are signed in, and ending any of them; and
//! administrators ending all sessions of a user.

use super::auth::Authenticated;
use super::errors::*;
use super::users::ErrorJson;
use crate::services::my_sessions;
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use assent_session::{Session, SessionState};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct SessionJson {
    pub session_id: String,
    /// RFC 3339.
    pub created: String,
    /// RFC 3339: the last recorded activity (recorded at most every few seconds).
    pub last_activity: String,
    /// RFC 3339: when the session ends however active it is.
    pub expires: String,
    /// `ACTIVE`, or `IDLE` when unused past its idle timeout (it can no longer be used, only
    /// replaced by a trusted front end).
    pub status: String,
    /// The consumer (app) it was started through, if any.
    pub consumer_id: Option<String>,
    pub institution_id: String,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    /// Whether this is the session of the request.
    pub current: bool,
}

#[derive(Serialize, ToSchema)]
pub struct SessionsJson {
    pub sessions: Vec<SessionJson>,
}

fn session_json(session: Session, current: Option<&str>, at: time::OffsetDateTime) -> SessionJson {
    let stamp = |t: time::OffsetDateTime| super::timestamp(assent_repository::to_micros(t));
    SessionJson {
        current: current == Some(session.session_id().as_str()),
        session_id: session.session_id().as_str().to_owned(),
        created: stamp(session.created_at()),
        last_activity: stamp(session.last_activity_at()),
        expires: stamp(session.expires_at()),
        status: match session.state(at) {
            SessionState::Active => "ACTIVE",
            _ => "IDLE",
        }
        .to_owned(),
        consumer_id: session.consumer_id().map(|c| c.to_string()),
        institution_id: session.institution_id().to_owned(),
        client_ip: session.client_ip().map(str::to_owned),
        user_agent: session.user_agent().map(str::to_owned),
    }
}

/// Get My Sessions: where the caller is signed in (never a token).
#[utoipa::path(
    get, path = "/obp/v5.1.0/my/sessions", tag = "OBP: authentication",
    // Not the function's name: a generated client would name its function after `list`.
    operation_id = "get_my_sessions",
    security(("directLogin" = []), ("dAuth" = [])),
    responses(
        (status = 200, description = "The caller's sessions that have not ended, newest first", body = SessionsJson),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Authenticated,
) -> Result<HttpResponse, ObpError> {
    let listed = caller
        .run(&state, |ctx, caller| {
            let at = ctx.now;
            let current = caller.session_id.as_ref().map(|id| id.as_str().to_owned());
            let rows = my_sessions::list(ctx, &caller)?;
            Ok(rows
                .into_iter()
                .map(|s| session_json(s, current.as_deref(), at))
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(HttpResponse::Ok().json(SessionsJson { sessions: listed }))
}

/// End one of my sessions (this one included).
#[utoipa::path(
    delete, path = "/obp/v5.1.0/my/sessions/{session_id}", tag = "OBP: authentication",
    params(("session_id" = String, Path)), security(("directLogin" = []), ("dAuth" = [])),
    responses(
        (status = 204, description = "Ended: its tokens stop working at once"),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
        (status = 404, description = "OBP-20075 no such live session of the caller", body = ErrorJson),
    )
)]
pub async fn end_one(
    state: web::Data<AppState>,
    caller: Authenticated,
    session_id: web::Path<String>,
) -> Result<HttpResponse, ObpError> {
    let session_id = session_id.into_inner();
    caller
        .run(&state, move |ctx, caller| {
            Ok(my_sessions::end_one(ctx, &caller, &session_id)?)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// End all my other sessions (every one but the caller's).
#[utoipa::path(
    delete, path = "/obp/v5.1.0/my/sessions", tag = "OBP: authentication",
    security(("directLogin" = []), ("dAuth" = [])),
    responses(
        (status = 204, description = "Every other session ended"),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
    )
)]
pub async fn end_others(
    state: web::Data<AppState>,
    caller: Authenticated,
) -> Result<HttpResponse, ObpError> {
    caller
        .run(&state, |ctx, caller| {
            Ok(my_sessions::end_others(ctx, &caller)?)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// End every session of a user (an administrator, on suspected fraud).
#[utoipa::path(
    delete, path = "/obp/v5.1.0/users/{user_id}/sessions", tag = "OBP: users",
    params(("user_id" = String, Path)), security(("directLogin" = []), ("dAuth" = [])),
    responses(
        (status = 204, description = "Every session of the user ended"),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
        (status = 403, description = "OBP-20006: needs CanTerminateUserSessions", body = ErrorJson),
        (status = 404, description = "OBP-20005 unknown user", body = ErrorJson),
    )
)]
pub async fn end_all_of_user(
    state: web::Data<AppState>,
    caller: Authenticated,
    user_id: web::Path<String>,
) -> Result<HttpResponse, ObpError> {
    let user_id = user_id.into_inner();
    caller
        .run(&state, move |ctx, caller| {
            Ok(my_sessions::end_all_of_user(ctx, &caller, &user_id)?)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
