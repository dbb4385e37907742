//! Finding users (CanGetAnyUser): by username, id, email, or a filtered page of all.

use super::auth::Authenticated;
use super::errors::*;
use super::users::{EntitlementJson, EntitlementsJson, ErrorJson, UserJson};
use crate::services::user_queries::{self, FoundUser, Lookup};
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use serde::Serialize;
use std::collections::HashMap;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct UsersJson {
    pub users: Vec<UserJson>,
}

fn users_json(found: Vec<FoundUser>) -> UsersJson {
    UsersJson {
        users: found
            .into_iter()
            .map(|found| {
                let user = found.user;
                UserJson {
                    user_id: user.user_id.to_string(),
                    email_verified: user.verified_email().is_some(),
                    phone_number_verified: user.verified_phone().is_some(),
                    email: user.email,
                    provider_id: user.provider_id,
                    provider: user.provider,
                    username: user.username,
                    customer_number: user.customer_number,
                    views: None,
                    entitlements: EntitlementsJson {
                        list: found
                            .entitlements
                            .into_iter()
                            .map(EntitlementJson::from)
                            .collect(),
                    },
                    is_locked: Some(found.is_locked),
                }
            })
            .collect(),
    }
}

/// Runs a user lookup.
async fn lookup(
    state: web::Data<AppState>,
    caller: Authenticated,
    lookup: Lookup,
) -> Result<HttpResponse, ObpError> {
    let found = caller
        .run(&state, move |ctx, caller| {
            Ok(user_queries::find(ctx, &caller, lookup)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(users_json(found)))
}

/// Get User by USERNAME.
#[utoipa::path(
    get, path = "/obp/v5.1.0/users/username/{username}", tag = "OBP: users",
    params(("username" = String, Path)), security(("directLogin" = []), ("dAuth" = []), ("consentJwt" = [], "consumerKey" = [])),
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
    lookup(state, caller, Lookup::Username(username.into_inner())).await
}

/// Get User by USER_ID.
#[utoipa::path(
    get, path = "/obp/v5.1.0/users/user_id/{user_id}", tag = "OBP: users",
    params(("user_id" = String, Path)), security(("directLogin" = []), ("dAuth" = []), ("consentJwt" = [], "consumerKey" = [])),
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
    lookup(state, caller, Lookup::Id(user_id.into_inner())).await
}

/// Get Users by Email Address (ignoring case).
#[utoipa::path(
    get, path = "/obp/v5.1.0/users/email/{email}/terminator", tag = "OBP: users",
    params(("email" = String, Path)), security(("directLogin" = []), ("dAuth" = []), ("consentJwt" = [], "consumerKey" = [])),
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
    lookup(state, caller, Lookup::Email(email.into_inner())).await
}

/// Get all Users: a page, newest first by default.
#[utoipa::path(
    get, path = "/obp/v5.1.0/users", tag = "OBP: users", security(("directLogin" = []), ("dAuth" = []), ("consentJwt" = [], "consumerKey" = [])),
    params(
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 1000, description = "1 to 1000, default 50"),
        ("offset" = Option<i64>, Query, minimum = 0, description = "default 0"),
        ("sort_direction" = Option<String>, Query, pattern = "^([Aa][Ss][Cc]|[Dd][Ee][Ss][Cc])$", description = "ASC or DESC (default), by registration time"),
        ("locked_status" = Option<String>, Query, pattern = "^(locked|active)$", description = "locked or active; omitted: both"),
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
    let found = caller
        .run(&state, move |ctx, caller| {
            Ok(user_queries::list(ctx, &caller, &params)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(users_json(found)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use assent_repository::users::{LockFilter, UserQuery};

    fn parse(pairs: &[(&str, &str)]) -> Result<UserQuery, String> {
        let params = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        user_queries::parse_query(&params, 5).map_err(|e| ObpError::from(e).message)
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
