//! Consumer management: register apps, enable or disable them, set their redirect URL and call
//! limits. A key is shown once, at creation.

use super::auth::{Authenticated, Need, require};
use super::errors::*;
use super::users::ErrorJson;
use crate::services::record;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use assent_identity::consumer::{
    CONSUMER_KEY_LABEL, Consumer, generate_consumer_key, validate_consumer_name,
};
use assent_identity::rate_limit::CallLimits;
use assent_identity::registration::is_valid_email;
use assent_repository::{DbConnection, RepoError, consumers, sessions, transaction};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

const MAX_TEXT: usize = 2000;

/// Body of `POST /management/consumers`.
#[derive(Deserialize, ToSchema)]
pub struct CreateConsumerJson {
    #[schema(example = "Budgeting app")]
    pub app_name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    #[schema(example = "dev@example.com")]
    pub developer_email: String,
    #[serde(default)]
    #[schema(example = "https://app.example.com/callback")]
    pub redirect_url: String,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
}

fn enabled_by_default() -> bool {
    true
}

#[derive(Serialize, ToSchema)]
pub struct ConsumerJson {
    pub consumer_id: String,
    pub app_name: String,
    pub description: String,
    pub developer_email: String,
    pub redirect_url: String,
    /// Empty when created with the CLI.
    pub created_by_user_id: String,
    pub enabled: bool,
    pub created: String,
}

/// A new consumer with its key: the only time the key is shown.
#[derive(Serialize, ToSchema)]
pub struct CreatedConsumerJson {
    #[serde(flatten)]
    pub consumer: ConsumerJson,
    pub key: String,
}

#[derive(Serialize, ToSchema)]
pub struct ConsumersJson {
    pub consumers: Vec<ConsumerJson>,
}

#[derive(Deserialize, ToSchema)]
pub struct EnabledJson {
    pub enabled: bool,
}

#[derive(Deserialize, ToSchema)]
pub struct RedirectUrlJson {
    pub redirect_url: String,
}

/// A limit as OBP writes it: a string (`"-1"` unlimited); numbers are accepted too.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum LimitValue {
    Text(String),
    Number(i64),
}

/// Call limits (as OBP: strings, `-1` for unlimited).
#[derive(Serialize, ToSchema)]
pub struct CallLimitsJson {
    pub per_second_call_limit: String,
    pub per_minute_call_limit: String,
    pub per_hour_call_limit: String,
    pub per_day_call_limit: String,
    pub per_week_call_limit: String,
    pub per_month_call_limit: String,
}

/// Body of `PUT .../consumer/call-limits`: every period is required.
#[derive(Deserialize, ToSchema)]
pub struct SetCallLimitsJson {
    pub per_second_call_limit: LimitValue,
    pub per_minute_call_limit: LimitValue,
    pub per_hour_call_limit: LimitValue,
    pub per_day_call_limit: LimitValue,
    pub per_week_call_limit: LimitValue,
    pub per_month_call_limit: LimitValue,
}

fn consumer_json(consumer: Consumer, created: OffsetDateTime) -> ConsumerJson {
    ConsumerJson {
        consumer_id: consumer.consumer_id.to_string(),
        app_name: consumer.name,
        description: consumer.description,
        developer_email: consumer.developer_email,
        redirect_url: consumer.redirect_url,
        created_by_user_id: consumer
            .created_by_user_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        enabled: consumer.enabled,
        created: super::timestamp(assent_repository::to_micros(created)),
    }
}

fn limits_json(limits: &CallLimits) -> CallLimitsJson {
    let [second, minute, hour, day, week, month] = limits.0.map(|l| l.to_string());
    CallLimitsJson {
        per_second_call_limit: second,
        per_minute_call_limit: minute,
        per_hour_call_limit: hour,
        per_day_call_limit: day,
        per_week_call_limit: week,
        per_month_call_limit: month,
    }
}

fn valid_redirect_url(url: &str) -> bool {
    url.is_empty()
        || (url.len() <= 2048
            && (url.starts_with("https://") || url.starts_with("http://"))
            && !url.chars().any(|c| c.is_control() || c.is_whitespace()))
}

fn consumer_not_found() -> ObpError {
    ObpError::new(StatusCode::NOT_FOUND, CONSUMER_NOT_FOUND)
}

fn load(
    conn: &mut DbConnection,
    consumer_id: &str,
) -> Result<(Consumer, OffsetDateTime), ObpError> {
    let id = Uuid::parse_str(consumer_id).map_err(|_| consumer_not_found())?;
    consumers::find(conn, &id)
        .map_err(|e| ObpError::internal(e))?
        .ok_or_else(consumer_not_found)
}

/// Create a Consumer: returns its key, once.
#[utoipa::path(
    post, path = "/obp/v5.1.0/management/consumers", tag = "OBP: consumers",
    request_body = CreateConsumerJson, security(("directLogin" = [])),
    responses(
        (status = 201, description = "Registered; `key` is shown only now", body = CreatedConsumerJson),
        (status = 400, description = "OBP-10001 bad JSON, OBP-30278 bad fields", body = ErrorJson),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
        (status = 403, description = "OBP-20006: needs CanCreateConsumer", body = ErrorJson),
    )
)]
pub async fn create_consumer(
    state: web::Data<AppState>,
    caller: Authenticated,
    body: web::Json<CreateConsumerJson>,
) -> Result<HttpResponse, ObpError> {
    let body = body.into_inner();
    let created = caller
        .run(&state, move |ctx, caller| {
            let (state, conn, _) = ctx.legacy_parts();
            require(conn, &caller, &[Need::System("CanCreateConsumer")])?;
            let name = validate_consumer_name(&body.app_name)
                .map_err(|_| ObpError::bad_request(INVALID_CONSUMER_FIELDS))?;
            let email_ok = body.developer_email.is_empty() || is_valid_email(&body.developer_email);
            if !email_ok
                || !valid_redirect_url(&body.redirect_url)
                || body.description.chars().count() > MAX_TEXT
                || body
                    .description
                    .chars()
                    .any(|c| c.is_control() && c != '\n')
            {
                return Err(ObpError::bad_request(INVALID_CONSUMER_FIELDS));
            }
            let creator =
                Uuid::parse_str(&caller.user.user_id).map_err(|e| ObpError::internal(e))?;
            let consumer = Consumer {
                enabled: body.enabled,
                description: body.description,
                developer_email: body.developer_email,
                redirect_url: body.redirect_url,
                created_by_user_id: Some(creator),
                ..Consumer::new(Uuid::new_v4(), name)
            };
            let key = generate_consumer_key(&mut rand::rng());
            let key_hash = state.secret_hasher.hash(CONSUMER_KEY_LABEL, &key);
            let at = state.clock.now();
            transaction(conn, |conn| {
                consumers::insert(conn, &consumer, &key_hash, at)?;
                record(
                    conn,
                    at,
                    "consumer.created",
                    Some(&caller.user.user_id),
                    serde_json::json!({
                        "consumer_id": consumer.consumer_id, "name": consumer.name,
                    }),
                )
            })
            .map_err(|e: RepoError| ObpError::internal(e))?;
            Ok(CreatedConsumerJson {
                consumer: consumer_json(consumer, at),
                key: key.expose().to_owned(),
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(created))
}

/// Get Consumers.
#[utoipa::path(
    get, path = "/obp/v5.1.0/management/consumers", tag = "OBP: consumers", security(("directLogin" = [])),
    responses(
        (status = 200, description = "Every consumer (never their keys)", body = ConsumersJson),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
        (status = 403, description = "OBP-20006: needs CanGetConsumers", body = ErrorJson),
    )
)]
pub async fn get_consumers(
    state: web::Data<AppState>,
    caller: Authenticated,
) -> Result<HttpResponse, ObpError> {
    let list = caller
        .run(&state, |ctx, caller| {
            let (_, conn, _) = ctx.legacy_parts();
            require(conn, &caller, &[Need::System("CanGetConsumers")])?;
            consumers::list(conn, None).map_err(|e| ObpError::internal(e))
        })
        .await?;
    Ok(HttpResponse::Ok().json(ConsumersJson {
        consumers: list
            .into_iter()
            .map(|(c, at)| consumer_json(c, at))
            .collect(),
    }))
}

/// Get Consumers created by the current user.
#[utoipa::path(
    get, path = "/obp/v5.1.0/management/users/current/consumers", tag = "OBP: consumers", security(("directLogin" = [])),
    responses(
        (status = 200, description = "The caller's consumers", body = ConsumersJson),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
    )
)]
pub async fn my_consumers(
    state: web::Data<AppState>,
    caller: Authenticated,
) -> Result<HttpResponse, ObpError> {
    let list = caller
        .run(&state, |ctx, caller| {
            let (_, conn, _) = ctx.legacy_parts();
            super::auth::customer_only(&caller)?;
            consumers::list(conn, Some(&caller.user.user_id)).map_err(|e| ObpError::internal(e))
        })
        .await?;
    Ok(HttpResponse::Ok().json(ConsumersJson {
        consumers: list
            .into_iter()
            .map(|(c, at)| consumer_json(c, at))
            .collect(),
    }))
}

/// Get Consumer.
#[utoipa::path(
    get, path = "/obp/v5.1.0/management/consumers/{consumer_id}", tag = "OBP: consumers",
    params(("consumer_id" = String, Path)), security(("directLogin" = [])),
    responses(
        (status = 200, description = "The consumer", body = ConsumerJson),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
        (status = 403, description = "OBP-20006: needs CanGetConsumers", body = ErrorJson),
        (status = 404, description = "OBP-30019 unknown consumer", body = ErrorJson),
    )
)]
pub async fn get_consumer(
    state: web::Data<AppState>,
    caller: Authenticated,
    consumer_id: web::Path<String>,
) -> Result<HttpResponse, ObpError> {
    let consumer_id = consumer_id.into_inner();
    let (consumer, at) = caller
        .run(&state, move |ctx, caller| {
            let (_, conn, _) = ctx.legacy_parts();
            require(conn, &caller, &[Need::System("CanGetConsumers")])?;
            load(conn, &consumer_id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(consumer_json(consumer, at)))
}

/// Enable or Disable a Consumer. Disabling ends every session made through it, at once.
#[utoipa::path(
    put, path = "/obp/v5.1.0/management/consumers/{consumer_id}", tag = "OBP: consumers",
    params(("consumer_id" = String, Path)), request_body = EnabledJson, security(("directLogin" = [])),
    responses(
        (status = 200, description = "The consumer", body = ConsumerJson),
        (status = 400, description = "OBP-10001 bad JSON", body = ErrorJson),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
        (status = 403, description = "OBP-20006: needs CanEnableConsumers to enable, CanDisableConsumers to disable", body = ErrorJson),
        (status = 404, description = "OBP-30019 unknown consumer", body = ErrorJson),
    )
)]
pub async fn set_enabled(
    state: web::Data<AppState>,
    caller: Authenticated,
    consumer_id: web::Path<String>,
    body: web::Json<EnabledJson>,
) -> Result<HttpResponse, ObpError> {
    let consumer_id = consumer_id.into_inner();
    let enabled = body.enabled;
    let (consumer, at) = caller
        .run(&state, move |ctx, caller| {
            let (state, conn, _) = ctx.legacy_parts();
            let role = if enabled {
                "CanEnableConsumers"
            } else {
                "CanDisableConsumers"
            };
            require(conn, &caller, &[Need::System(role)])?;
            let (consumer, created) = load(conn, &consumer_id)?;
            let at = state.clock.now();
            transaction(conn, |conn| {
                consumers::set_enabled(conn, &consumer.consumer_id, enabled)?;
                let ended = if enabled {
                    0
                } else {
                    sessions::terminate_all_for_consumer(conn, &consumer.consumer_id, at)?
                };
                record(
                    conn,
                    at,
                    if enabled {
                        "consumer.enabled"
                    } else {
                        "consumer.disabled"
                    },
                    Some(&caller.user.user_id),
                    serde_json::json!({
                        "consumer_id": consumer.consumer_id, "sessions_terminated": ended,
                    }),
                )
            })
            .map_err(|e: RepoError| ObpError::internal(e))?;
            Ok((
                Consumer {
                    enabled,
                    ..consumer
                },
                created,
            ))
        })
        .await?;
    Ok(HttpResponse::Ok().json(consumer_json(consumer, at)))
}

/// Update Consumer RedirectUrl.
#[utoipa::path(
    put, path = "/obp/v5.1.0/management/consumers/{consumer_id}/consumer/redirect_url", tag = "OBP: consumers",
    params(("consumer_id" = String, Path)), request_body = RedirectUrlJson, security(("directLogin" = [])),
    responses(
        (status = 200, description = "The consumer", body = ConsumerJson),
        (status = 400, description = "OBP-10001 bad JSON, OBP-30278 bad URL", body = ErrorJson),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
        (status = 403, description = "OBP-20006: needs CanUpdateConsumerRedirectUrl", body = ErrorJson),
        (status = 404, description = "OBP-30019 unknown consumer", body = ErrorJson),
    )
)]
pub async fn set_redirect_url(
    state: web::Data<AppState>,
    caller: Authenticated,
    consumer_id: web::Path<String>,
    body: web::Json<RedirectUrlJson>,
) -> Result<HttpResponse, ObpError> {
    let consumer_id = consumer_id.into_inner();
    let url = body.into_inner().redirect_url;
    let (consumer, at) = caller
        .run(&state, move |ctx, caller| {
            let (state, conn, _) = ctx.legacy_parts();
            require(
                conn,
                &caller,
                &[Need::System("CanUpdateConsumerRedirectUrl")],
            )?;
            if !valid_redirect_url(&url) {
                return Err(ObpError::bad_request(INVALID_CONSUMER_FIELDS));
            }
            let (consumer, created) = load(conn, &consumer_id)?;
            let at = state.clock.now();
            transaction(conn, |conn| {
                consumers::set_redirect_url(conn, &consumer.consumer_id, &url)?;
                record(
                    conn,
                    at,
                    "consumer.redirect_url_changed",
                    Some(&caller.user.user_id),
                    serde_json::json!({
                        "consumer_id": consumer.consumer_id, "redirect_url": url,
                    }),
                )
            })
            .map_err(|e: RepoError| ObpError::internal(e))?;
            Ok((
                Consumer {
                    redirect_url: url,
                    ..consumer
                },
                created,
            ))
        })
        .await?;
    Ok(HttpResponse::Ok().json(consumer_json(consumer, at)))
}

/// Get Call Limits for a Consumer.
#[utoipa::path(
    get, path = "/obp/v5.1.0/management/consumers/{consumer_id}/consumer/call-limits", tag = "OBP: consumers",
    params(("consumer_id" = String, Path)), security(("directLogin" = [])),
    responses(
        (status = 200, description = "The limits", body = CallLimitsJson),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
        (status = 403, description = "OBP-20006: needs CanReadCallLimits", body = ErrorJson),
        (status = 404, description = "OBP-30019 unknown consumer", body = ErrorJson),
    )
)]
pub async fn get_call_limits(
    state: web::Data<AppState>,
    caller: Authenticated,
    consumer_id: web::Path<String>,
) -> Result<HttpResponse, ObpError> {
    let consumer_id = consumer_id.into_inner();
    let (consumer, _) = caller
        .run(&state, move |ctx, caller| {
            let (_, conn, _) = ctx.legacy_parts();
            require(conn, &caller, &[Need::System("CanReadCallLimits")])?;
            load(conn, &consumer_id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(limits_json(&consumer.call_limits)))
}

fn parse_limit(value: &LimitValue) -> Option<i64> {
    let n = match value {
        LimitValue::Text(text) => text.trim().parse::<i64>().ok()?,
        LimitValue::Number(n) => *n,
    };
    (n >= -1).then_some(n)
}

/// Set Call Limits for a Consumer.
#[utoipa::path(
    put, path = "/obp/v5.1.0/management/consumers/{consumer_id}/consumer/call-limits", tag = "OBP: consumers",
    params(("consumer_id" = String, Path)), request_body = SetCallLimitsJson, security(("directLogin" = [])),
    responses(
        (status = 200, description = "The new limits", body = CallLimitsJson),
        (status = 400, description = "OBP-10001 bad JSON, OBP-30279 a limit below -1 or not a number", body = ErrorJson),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
        (status = 403, description = "OBP-20006: needs CanSetCallLimits", body = ErrorJson),
        (status = 404, description = "OBP-30019 unknown consumer", body = ErrorJson),
    )
)]
pub async fn set_call_limits(
    state: web::Data<AppState>,
    caller: Authenticated,
    consumer_id: web::Path<String>,
    body: web::Json<SetCallLimitsJson>,
) -> Result<HttpResponse, ObpError> {
    let consumer_id = consumer_id.into_inner();
    let body = body.into_inner();
    let limits = caller
        .run(&state, move |ctx, caller| {
            let (state, conn, _) = ctx.legacy_parts();
            require(conn, &caller, &[Need::System("CanSetCallLimits")])?;
            let limits = [
                &body.per_second_call_limit,
                &body.per_minute_call_limit,
                &body.per_hour_call_limit,
                &body.per_day_call_limit,
                &body.per_week_call_limit,
                &body.per_month_call_limit,
            ]
            .map(parse_limit);
            let limits = match limits {
                [Some(a), Some(b), Some(c), Some(d), Some(e), Some(f)] => {
                    CallLimits([a, b, c, d, e, f])
                }
                _ => return Err(ObpError::bad_request(INVALID_CALL_LIMITS)),
            };
            let (consumer, _) = load(conn, &consumer_id)?;
            let at = state.clock.now();
            transaction(conn, |conn| {
                consumers::set_call_limits(conn, &consumer.consumer_id, &limits)?;
                record(
                    conn,
                    at,
                    "consumer.call_limits_changed",
                    Some(&caller.user.user_id),
                    serde_json::json!({
                        "consumer_id": consumer.consumer_id, "limits": limits.0,
                    }),
                )
            })
            .map_err(|e: RepoError| ObpError::internal(e))?;
            Ok(limits)
        })
        .await?;
    Ok(HttpResponse::Ok().json(limits_json(&limits)))
}
