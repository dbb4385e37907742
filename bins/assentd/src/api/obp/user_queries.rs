//! Finding users (CanGetAnyUser): by username, id, email, or a filtered page of all.

use super::auth::{Authenticated, Need, require};
use super::errors::*;
use super::users::{EntitlementJson, EntitlementsJson, ErrorJson, UserJson};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use assent_identity::UserId;
use assent_identity::registration::username_key;
use assent_repository::users::{self, LockFilter, UserQuery, UserRow};
use assent_repository::{DbConnection, RepoError, entitlements, lockout};
use serde::Serialize;
use std::collections::HashMap;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct UsersJson {
    pub users: Vec<UserJson>,
}

const MAX_LIMIT: i64 = 1000;

/// Reads `limit` (default 50, 1 to 1000), `offset` (default 0), `sort_direction` (`ASC` or
/// `DESC`, default `DESC`, any case) and `locked_status` (`locked` or `active`).
pub fn parse_user_query(
    params: &HashMap<String, String>,
    max_bad_attempts: u32,
) -> Result<UserQuery, ObpError> {
    let limit = match params.get("limit") {
        None => 50,
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| ObpError::bad_request(INVALID_LIMIT))?,
    };
    let offset = match params.get("offset") {
        None => 0,
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| ObpError::bad_request(INVALID_OFFSET))?,
    };
    let ascending = match params.get("sort_direction").map(|v| v.to_ascii_uppercase()) {
        None => false,
        Some(v) if v == "ASC" => true,
        Some(v) if v == "DESC" => false,
        Some(_) => return Err(ObpError::bad_request(INVALID_SORT_DIRECTION)),
    };
    let lock = match params.get("locked_status").map(String::as_str) {
        None => LockFilter::Any,
        Some("locked") => LockFilter::Locked,
        Some("active") => LockFilter::Active,
        Some(_) => return Err(ObpError::bad_request(INVALID_LOCKED_STATUS)),
    };
    Ok(UserQuery {
        limit,
        offset,
        ascending,
        lock,
        max_bad_attempts: i32::try_from(max_bad_attempts).unwrap_or(i32::MAX),
    })
}

/// The JSON of a page of users, with entitlements and lock state: three queries in all.
fn users_json(
    conn: &mut DbConnection,
    state: &AppState,
    rows: Vec<UserRow>,
) -> Result<UsersJson, RepoError> {
    let ids: Vec<&str> = rows.iter().map(|r| r.user_id.as_str()).collect();
    let mut grants = entitlements::list_for_users(conn, &ids)?;
    let locked = lockout::locked_user_ids(conn, &rows, state.lockout.max_bad_attempts())?;
    let mut users = Vec::with_capacity(rows.len());
    for row in rows {
        let (mine, rest): (Vec<_>, Vec<_>) =
            grants.into_iter().partition(|e| e.user_id == row.user_id);
        grants = rest;
        let is_locked = locked.contains(&row.user_id);
        let user = assent_identity::User::try_from(row)?;
        users.push(UserJson {
            user_id: user.user_id.to_string(),
            email: user.email,
            provider_id: user.provider_id,
            provider: user.provider,
            username: user.username,
            customer_number: user.customer_number,
            views: None,
            entitlements: EntitlementsJson {
                list: mine.into_iter().map(EntitlementJson::from).collect(),
            },
            is_locked: Some(is_locked),
        });
    }
    Ok(UsersJson { users })
}

/// Runs a user lookup for a CanGetAnyUser holder; an empty result is 404 with `missing`.
async fn lookup(
    state: web::Data<AppState>,
    caller: Authenticated,
    missing: &'static str,
    find: impl FnOnce(&AppState, &mut DbConnection) -> Result<Vec<UserRow>, ObpError> + Send + 'static,
) -> Result<HttpResponse, ObpError> {
    let users = caller
        .run(&state, move |ctx, caller| {
            let (state, conn, _) = ctx.legacy_parts();
            require(conn, &caller, &[Need::System("CanGetAnyUser")])?;
            let rows = find(state, conn)?;
            if rows.is_empty() {
                return Err(ObpError::new(StatusCode::NOT_FOUND, missing));
            }
            users_json(conn, state, rows).map_err(|e| ObpError::internal(e))
        })
        .await?;
    Ok(HttpResponse::Ok().json(users))
}

/// Get User by USERNAME.
#[utoipa::path(
    get, path = "/obp/v5.1.0/users/username/{username}", tag = "OBP: users",
    params(("username" = String, Path)), security(("directLogin" = [])),
    responses(
        (status = 200, description = "The user (in a list, as OBP answers)", body = UsersJson),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
        (status = 403, description = "OBP-20006: needs CanGetAnyUser", body = ErrorJson),
        (status = 404, description = "OBP-20027 unknown username", body = ErrorJson),
    )
)]
pub async fn by_username(
    state: web::Data<AppState>,
    caller: Authenticated,
    username: web::Path<String>,
) -> Result<HttpResponse, ObpError> {
    let username = username.into_inner();
    lookup(
        state,
        caller,
        USER_NOT_FOUND_BY_USERNAME,
        move |state, conn| {
            users::find_by_username(conn, &state.config.provider, &username_key(&username))
                .map(|row| row.into_iter().collect())
                .map_err(|e| ObpError::internal(e))
        },
    )
    .await
}

/// Get User by USER_ID.
#[utoipa::path(
    get, path = "/obp/v5.1.0/users/user_id/{user_id}", tag = "OBP: users",
    params(("user_id" = String, Path)), security(("directLogin" = [])),
    responses(
        (status = 200, description = "The user (in a list, as OBP answers)", body = UsersJson),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
        (status = 403, description = "OBP-20006: needs CanGetAnyUser", body = ErrorJson),
        (status = 404, description = "OBP-20005 unknown user", body = ErrorJson),
    )
)]
pub async fn by_user_id(
    state: web::Data<AppState>,
    caller: Authenticated,
    user_id: web::Path<String>,
) -> Result<HttpResponse, ObpError> {
    let user_id = user_id.into_inner();
    lookup(state, caller, USER_NOT_FOUND_BY_ID, move |_, conn| {
        let Ok(id) = uuid::Uuid::parse_str(&user_id) else {
            return Ok(Vec::new());
        };
        users::find_by_id(conn, &UserId(id))
            .map(|row| row.into_iter().collect())
            .map_err(|e| ObpError::internal(e))
    })
    .await
}

/// Get Users by Email Address (ignoring case).
#[utoipa::path(
    get, path = "/obp/v5.1.0/users/email/{email}/terminator", tag = "OBP: users",
    params(("email" = String, Path)), security(("directLogin" = [])),
    responses(
        (status = 200, description = "Every user with this email", body = UsersJson),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
        (status = 403, description = "OBP-20006: needs CanGetAnyUser", body = ErrorJson),
        (status = 404, description = "OBP-20007 no user with this email", body = ErrorJson),
    )
)]
pub async fn by_email(
    state: web::Data<AppState>,
    caller: Authenticated,
    email: web::Path<String>,
) -> Result<HttpResponse, ObpError> {
    let email = email.into_inner();
    lookup(state, caller, USER_NOT_FOUND_BY_EMAIL, move |_, conn| {
        users::find_by_email(conn, &email).map_err(|e| ObpError::internal(e))
    })
    .await
}

/// Get all Users: a page, newest first by default.
#[utoipa::path(
    get, path = "/obp/v5.1.0/users", tag = "OBP: users", security(("directLogin" = [])),
    params(
        ("limit" = Option<i64>, Query, description = "1 to 1000, default 50"),
        ("offset" = Option<i64>, Query, description = "default 0"),
        ("sort_direction" = Option<String>, Query, description = "ASC or DESC (default), by registration time"),
        ("locked_status" = Option<String>, Query, description = "locked or active; omitted: both"),
    ),
    responses(
        (status = 200, description = "A page of users", body = UsersJson),
        (status = 400, description = "OBP-10040..10043 bad parameter, OBP-10044 unreadable query", body = ErrorJson),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
        (status = 403, description = "OBP-20006: needs CanGetAnyUser", body = ErrorJson),
    )
)]
pub async fn all_users(
    state: web::Data<AppState>,
    caller: Authenticated,
    params: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ObpError> {
    let params = params.into_inner();
    let users = caller
        .run(&state, move |ctx, caller| {
            let (state, conn, _) = ctx.legacy_parts();
            require(conn, &caller, &[Need::System("CanGetAnyUser")])?;
            let query = parse_user_query(&params, state.lockout.max_bad_attempts())?;
            let rows = users::list(conn, &query).map_err(|e| ObpError::internal(e))?;
            users_json(conn, state, rows).map_err(|e| ObpError::internal(e))
        })
        .await?;
    Ok(HttpResponse::Ok().json(users))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<UserQuery, String> {
        let params = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        parse_user_query(&params, 5).map_err(|e| e.message)
    }

    #[test]
    fn defaults() {
        let q = parse(&[]).unwrap();
        assert_eq!(
            (q.limit, q.offset, q.ascending, q.lock),
            (50, 0, false, LockFilter::Any)
        );
    }

    #[test]
    fn accepted_values() {
        let q = parse(&[
            ("limit", "1000"),
            ("offset", "20"),
            ("sort_direction", "asc"),
            ("locked_status", "locked"),
        ])
        .unwrap();
        assert_eq!(
            (q.limit, q.offset, q.ascending, q.lock),
            (1000, 20, true, LockFilter::Locked)
        );
        assert_eq!(
            parse(&[("locked_status", "active")]).unwrap().lock,
            LockFilter::Active
        );
    }

    #[test]
    fn refused_values() {
        for (pair, code) in [
            (("limit", "0"), "OBP-10040"),
            (("limit", "1001"), "OBP-10040"),
            (("limit", "ten"), "OBP-10040"),
            (("offset", "-1"), "OBP-10041"),
            (("sort_direction", "UP"), "OBP-10042"),
            (("locked_status", "LOCKED"), "OBP-10043"),
        ] {
            assert!(parse(&[pair]).unwrap_err().starts_with(code), "{pair:?}");
        }
    }
}
