//! Consumer management: register apps, enable or disable them, set their redirect URL and call
//! limits. A key is shown once, at creation.

use super::auth::Authenticated;
use super::errors::*;
use super::users::ErrorJson;
use crate::services::caller::Operator;
use crate::services::consumers::{self, NewConsumer};
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use assent_identity::consumer::Consumer;
use assent_identity::rate_limit::CallLimits;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

/// Body of `POST /management/consumers`.
#[derive(Deserialize, ToSchema)]
pub struct CreateConsumerJson {
    #[schema(
        example = "Budgeting app",
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$",
        max_length = 100
    )]
    pub app_name: String,
    /// Up to 2000 characters; new lines are the only control characters allowed.
    #[serde(default)]
    #[schema(
        pattern = r"^[^\u0000-\u0009\u000b-\u001f\u007f-\u009f]*$",
        max_length = 2000
    )]
    pub description: String,
    /// Empty, or an email address.
    #[serde(default)]
    #[schema(
        example = "dev@example.com",
        pattern = r"^(|(?=[^@]{1,64}@)[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+)$",
        max_length = 254
    )]
    pub developer_email: String,
    /// Empty, or an http(s) URL.
    #[serde(default)]
    #[schema(
        example = "https://app.example.com/callback",
        pattern = r"^(|https?://[^\s\u0000-\u001f\u007f-\u009f]*)$",
        max_length = 2048
    )]
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
    /// Empty, or an http(s) URL.
    #[schema(
        pattern = r"^(|https?://[^\s\u0000-\u001f\u007f-\u009f]*)$",
        max_length = 2048
    )]
    pub redirect_url: String,
}

/// A limit as OBP writes it: a string (`"-1"` unlimited); numbers are accepted too.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum LimitValue {
    Text(String),
    /// Any JSON number: a whole one written with a fraction (`5.0`) is still a whole number.
    Number(serde_json::Number),
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
    #[schema(schema_with = limit_schema)]
    pub per_second_call_limit: LimitValue,
    #[schema(schema_with = limit_schema)]
    pub per_minute_call_limit: LimitValue,
    #[schema(schema_with = limit_schema)]
    pub per_hour_call_limit: LimitValue,
    #[schema(schema_with = limit_schema)]
    pub per_day_call_limit: LimitValue,
    #[schema(schema_with = limit_schema)]
    pub per_week_call_limit: LimitValue,
    #[schema(schema_with = limit_schema)]
    pub per_month_call_limit: LimitValue,
}

/// What [`parse_limit`] takes: `-1`, or a whole number of at most 18 digits, as a string or a
/// number.
fn limit_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, OneOfBuilder, SchemaFormat, Type};
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(LIMIT_TEXT_PATTERN))
                .examples(["-1"]),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                .minimum(Some(-1))
                .maximum(Some(MAX_LIMIT)),
        )
        .build()
        .into()
}

/// The text of a limit: `-1`, or up to 18 digits (so it always fits an i64).
const LIMIT_TEXT_PATTERN: &str = "^(-1|[0-9]{1,18})$";
const MAX_LIMIT: i64 = 999_999_999_999_999_999;

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
    let [second, minute, hour, day, week, month] = limits.limits().map(|l| l.to_string());
    CallLimitsJson {
        per_second_call_limit: second,
        per_minute_call_limit: minute,
        per_hour_call_limit: hour,
        per_day_call_limit: day,
        per_week_call_limit: week,
        per_month_call_limit: month,
    }
}

/// Create a Consumer: returns its key, once.
#[utoipa::path(
    post, path = "/obp/v5.1.0/management/consumers", tag = "OBP: consumers",
    request_body = CreateConsumerJson, security(("directLogin" = []), ("dAuth" = [])),
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
    let input = NewConsumer {
        name: body.app_name,
        description: body.description,
        developer_email: body.developer_email,
        redirect_url: body.redirect_url,
        enabled: body.enabled,
    };
    let created = caller
        .run(&state, move |ctx, caller| {
            Ok(consumers::create(ctx, Operator::User(&caller), input)?)
        })
        .await?;
    let created = CreatedConsumerJson {
        consumer: consumer_json(created.consumer, created.created),
        key: created.key.expose().to_owned(),
    };
    Ok(HttpResponse::Created().json(created))
}

/// Get Consumers.
#[utoipa::path(
    get, path = "/obp/v5.1.0/management/consumers", tag = "OBP: consumers", security(("directLogin" = []), ("dAuth" = []), ("consentJwt" = [], "consumerKey" = [])),
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
        .run(&state, |ctx, caller| Ok(consumers::list(ctx, &caller)?))
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
    get, path = "/obp/v5.1.0/management/users/current/consumers", tag = "OBP: consumers", security(("directLogin" = []), ("dAuth" = [])),
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
            Ok(consumers::list_mine(ctx, &caller)?)
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
    params(("consumer_id" = String, Path)), security(("directLogin" = []), ("dAuth" = []), ("consentJwt" = [], "consumerKey" = [])),
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
            Ok(consumers::find(ctx, &caller, &consumer_id)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(consumer_json(consumer, at)))
}

/// Enable or Disable a Consumer. Disabling ends every session made through it, at once.
#[utoipa::path(
    put, path = "/obp/v5.1.0/management/consumers/{consumer_id}", tag = "OBP: consumers",
    params(("consumer_id" = String, Path)), request_body = EnabledJson, security(("directLogin" = []), ("dAuth" = [])),
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
            Ok(consumers::set_enabled(ctx, &caller, &consumer_id, enabled)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(consumer_json(consumer, at)))
}

/// Update Consumer RedirectUrl.
#[utoipa::path(
    put, path = "/obp/v5.1.0/management/consumers/{consumer_id}/consumer/redirect_url", tag = "OBP: consumers",
    params(("consumer_id" = String, Path)), request_body = RedirectUrlJson, security(("directLogin" = []), ("dAuth" = [])),
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
            Ok(consumers::set_redirect_url(
                ctx,
                &caller,
                &consumer_id,
                url,
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(consumer_json(consumer, at)))
}

/// Get Call Limits for a Consumer.
#[utoipa::path(
    get, path = "/obp/v5.1.0/management/consumers/{consumer_id}/consumer/call-limits", tag = "OBP: consumers",
    params(("consumer_id" = String, Path)), security(("directLogin" = []), ("dAuth" = []), ("consentJwt" = [], "consumerKey" = [])),
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
    let limits = caller
        .run(&state, move |ctx, caller| {
            Ok(consumers::call_limits(ctx, &caller, &consumer_id)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(limits_json(&limits)))
}

/// The number a limit gives, if it is one.
fn parse_limit(value: &LimitValue) -> Option<i64> {
    match value {
        LimitValue::Text(text) => (text == "-1"
            || (1..=18).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse::<i64>().ok())
        .flatten(),
        LimitValue::Number(n) => n
            .as_i64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() <= MAX_LIMIT as f64)
                    .map(|f| f as i64)
            })
            .filter(|n| *n <= MAX_LIMIT),
    }
}

/// Set Call Limits for a Consumer.
#[utoipa::path(
    put, path = "/obp/v5.1.0/management/consumers/{consumer_id}/consumer/call-limits", tag = "OBP: consumers",
    params(("consumer_id" = String, Path)), request_body = SetCallLimitsJson, security(("directLogin" = []), ("dAuth" = [])),
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
    let limits = [
        &body.per_second_call_limit,
        &body.per_minute_call_limit,
        &body.per_hour_call_limit,
        &body.per_day_call_limit,
        &body.per_week_call_limit,
        &body.per_month_call_limit,
    ]
    .map(parse_limit);
    let limits = caller
        .run(&state, move |ctx, caller| {
            Ok(consumers::set_call_limits(
                ctx,
                &caller,
                &consumer_id,
                limits,
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(limits_json(&limits)))
}
