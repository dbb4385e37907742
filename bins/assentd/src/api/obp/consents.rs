//! Consents (OBP): a customer lets a third-party app act on their behalf within a scope and a
//! time they choose, confirms it with a one-time code, and can revoke it at any moment.

use super::auth::Authenticated;
use super::errors::*;
use super::users::ErrorJson;
use crate::services;
use crate::services::consents::{ConsentAnswer, NewConsent, ScaMethod, Signed};
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use assent_consent::consent::{Access, ConsentRequest, RoleAccess, Scope, ViewAccess};
use assent_repository::from_micros;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
pub struct ConsentViewJson {
    pub bank_id: String,
    pub account_id: String,
    pub view_id: String,
}

#[derive(Deserialize, ToSchema)]
pub struct ConsentRoleJson {
    pub bank_id: String,
    pub role_name: String,
}

/// An RFC 3339 time, or null (as if omitted).
fn valid_from_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, OneOfBuilder, SchemaFormat, Type};
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))),
        )
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .build()
        .into()
}

#[derive(Deserialize, ToSchema)]
pub struct CreateConsentJson {
    pub everything: bool,
    #[serde(default)]
    pub views: Vec<ConsentViewJson>,
    #[serde(default)]
    pub entitlements: Vec<ConsentRoleJson>,
    /// The app the consent is for; omitted: the app of the current session.
    pub consumer_id: Option<String>,
    /// If given (with any SCA method), must be the user's registered email: codes go only to
    /// registered contacts.
    pub email: Option<String>,
    /// If given (with any SCA method), must be the user's registered phone; separators such as
    /// spaces are ignored (`+49 170 1234567`).
    pub phone_number: Option<String>,
    /// RFC 3339; omitted: now. At most a minute in the past, and no further ahead than a
    /// consent may last (422 OBP-35043 otherwise).
    #[schema(schema_with = valid_from_schema)]
    pub valid_from: Option<String>,
    /// Seconds; omitted: the lesser of the maximum and an hour.
    pub time_to_live: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct ConsentJson {
    pub consent_id: String,
    pub jwt: String,
    pub status: String,
}

impl From<Signed> for ConsentJson {
    fn from(signed: Signed) -> Self {
        ConsentJson {
            consent_id: signed.row.consent_id,
            jwt: signed.jwt,
            status: signed.row.status,
        }
    }
}

/// The views and roles a consent request's body asks for.
pub fn access_asked(views: Vec<ConsentViewJson>, entitlements: Vec<ConsentRoleJson>) -> Access {
    Access {
        views: views
            .into_iter()
            .map(|v| ViewAccess {
                bank_id: v.bank_id,
                account_id: v.account_id,
                view_id: v.view_id,
            })
            .collect(),
        entitlements: entitlements
            .into_iter()
            .map(|r| RoleAccess {
                bank_id: r.bank_id,
                role_name: r.role_name,
            })
            .collect(),
    }
}

/// Create Consent (EMAIL, SMS or IMPLICIT): INITIATED, with a one-time code sent to the
/// user's registered email or phone.
#[utoipa::path(
    post, path = "/obp/v5.1.0/banks/{bank_id}/my/consents/{sca_method}", tag = "OBP: consents",
    params(("bank_id" = String, Path), ("sca_method" = String, Path, pattern = "^(EMAIL|SMS|IMPLICIT)$", description = "EMAIL, SMS or IMPLICIT")),
    request_body = CreateConsentJson, security(("directLogin" = []), ("dAuth" = [])),
    responses(
        (status = 201, description = "`{consent_id, jwt, status: INITIATED}`", body = ConsentJson),
        (status = 400, description = "OBP-10001, OBP-35009 method, OBP-35020 time to live, OBP-35043 valid_from not an RFC 3339 time, OBP-35045 empty scope, OBP-20058 consumer disabled, OBP-35044 no consumer", body = ErrorJson),
        (status = 403, description = "OBP-35013 a role, OBP-35014 a view the user does not hold", body = ErrorJson),
        (status = 422, description = "OBP-35043 valid_from more than a minute in the past, or further ahead than a consent may last; OBP-35047 a view or bank role at another bank than the path's", body = ErrorJson),
        (status = 409, description = "OBP-35046 contact not registered, OBP-30300 contact not verified, OBP-30283 no phone number for SMS, OBP-30291 no email address", body = ErrorJson),
        (status = 404, description = "OBP-30001 bank, OBP-30019 consumer", body = ErrorJson),
        (status = 429, description = "OBP-30284", body = ErrorJson),
        (status = 503, description = "OBP-35010 the code could not be sent", body = ErrorJson),
    )
)]
pub async fn create_consent(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
    body: web::Json<CreateConsentJson>,
) -> Result<HttpResponse, ObpError> {
    let (bank_id, method) = path.into_inner();
    let method =
        ScaMethod::parse(&method).ok_or_else(|| ObpError::bad_request(CONSENT_SCA_METHOD))?;
    let body = body.into_inner();
    let valid_from = body
        .valid_from
        .as_deref()
        .map(|v| OffsetDateTime::parse(v.trim(), &Rfc3339))
        .transpose()
        .map_err(|_| ObpError::bad_request(CONSENT_VALID_FROM))?;
    let request = ConsentRequest {
        bank_id,
        scope: Scope {
            everything: body.everything,
            access: access_asked(body.views, body.entitlements),
        },
        valid_from,
        time_to_live: body.time_to_live,
    };
    let consent = NewConsent {
        method,
        request,
        consumer_id: body.consumer_id,
        claimed_email: body.email,
        claimed_phone: body.phone_number,
    };
    let created = caller
        .run(&state, move |ctx, caller| {
            Ok(services::consents::create(ctx, &caller, consent)?)
        })
        .await?;
    services::consents::deliver(state.into_inner(), &created).await?;
    Ok(HttpResponse::Created().json(ConsentJson {
        consent_id: created.row.consent_id,
        jwt: created.jwt,
        status: created.row.status,
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct ConsentAnswerJson {
    pub answer: String,
}

/// Answer Consent Challenge: only the consent's user may; right -> ACCEPTED; wrong -> stays
/// INITIATED with attempts left; the fifth wrong answer -> REJECTED.
#[utoipa::path(
    post, path = "/obp/v5.1.0/banks/{bank_id}/consents/{consent_id}/challenge", tag = "OBP: consents",
    params(("bank_id" = String, Path), ("consent_id" = String, Path)),
    request_body = ConsentAnswerJson, security(("directLogin" = []), ("dAuth" = [])),
    responses(
        (status = 201, description = "`{consent_id, jwt, status: ACCEPTED}`", body = ConsentJson),
        (status = 400, description = "OBP-40016 not the digits of a code, OBP-35025 not INITIATED", body = ErrorJson),
        (status = 403, description = "OBP-40016 wrong (attempts left), OBP-40014 attempts used up (REJECTED), OBP-20211 expired", body = ErrorJson),
        (status = 404, description = "OBP-35001 no such consent of the caller at this bank", body = ErrorJson),
    )
)]
pub async fn answer_consent_challenge(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
    body: web::Json<ConsentAnswerJson>,
) -> Result<HttpResponse, ObpError> {
    let (bank_id, consent_id) = path.into_inner();
    let answer = ConsentAnswer {
        bank_id,
        consent_id,
        code: body.into_inner().answer,
    };
    let accepted = caller
        .run(&state, move |ctx, caller| {
            Ok(services::consents::answer(ctx, &caller, answer)?)
        })
        .await?;
    Ok(HttpResponse::Created().json(ConsentJson::from(accepted)))
}

#[derive(Serialize, ToSchema)]
pub struct ConsentsJson {
    pub consents: Vec<ConsentJson>,
}

/// Get Consents: the caller's consents at the bank, newest first.
#[utoipa::path(
    get, path = "/obp/v5.1.0/banks/{bank_id}/my/consents", tag = "OBP: consents",
    params(("bank_id" = String, Path)), security(("directLogin" = []), ("dAuth" = [])),
    responses(
        (status = 200, description = "Newest first", body = ConsentsJson),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
    )
)]
pub async fn my_consents(
    state: web::Data<AppState>,
    caller: Authenticated,
    bank_id: web::Path<String>,
) -> Result<HttpResponse, ObpError> {
    let bank_id = bank_id.into_inner();
    let listed = caller
        .run(&state, move |ctx, caller| {
            Ok(services::consents::list(ctx, &caller, &bank_id)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ConsentsJson {
        consents: listed.into_iter().map(ConsentJson::from).collect(),
    }))
}

async fn revoke_for_caller(
    state: web::Data<AppState>,
    caller: Authenticated,
    bank_id: String,
    consent_id: String,
) -> Result<HttpResponse, ObpError> {
    let revoked = caller
        .run(&state, move |ctx, caller| {
            Ok(services::consents::revoke(
                ctx,
                &caller,
                &bank_id,
                &consent_id,
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ConsentJson::from(revoked)))
}

/// Revoke Consent (v3.1.0 style, GET): from now on its JWT works nowhere.
#[utoipa::path(
    get, path = "/obp/v5.1.0/banks/{bank_id}/my/consents/{consent_id}/revoke", tag = "OBP: consents",
    params(("bank_id" = String, Path), ("consent_id" = String, Path)), security(("directLogin" = []), ("dAuth" = [])),
    responses(
        (status = 200, description = "`{consent_id, jwt, status: REVOKED}`", body = ConsentJson),
        (status = 400, description = "OBP-35012 already revoked, OBP-35025 not revocable in its status", body = ErrorJson),
        (status = 404, description = "OBP-35001", body = ErrorJson),
    )
)]
pub async fn revoke_consent_get(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ObpError> {
    let (bank_id, consent_id) = path.into_inner();
    revoke_for_caller(state, caller, bank_id, consent_id).await
}

/// Revoke Consent (v5.1.0 style, DELETE).
#[utoipa::path(
    delete, path = "/obp/v5.1.0/banks/{bank_id}/consents/{consent_id}", tag = "OBP: consents",
    params(("bank_id" = String, Path), ("consent_id" = String, Path)), security(("directLogin" = []), ("dAuth" = [])),
    responses(
        (status = 200, description = "`{consent_id, jwt, status: REVOKED}`", body = ConsentJson),
        (status = 400, description = "OBP-35012 already revoked", body = ErrorJson),
        (status = 404, description = "OBP-35001", body = ErrorJson),
    )
)]
pub async fn revoke_consent(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ObpError> {
    let (bank_id, consent_id) = path.into_inner();
    revoke_for_caller(state, caller, bank_id, consent_id).await
}

/// Get Consent: its details, scope and status (the caller's own only).
#[utoipa::path(
    get, path = "/obp/v5.1.0/user/current/consents/{consent_id}", tag = "OBP: consents",
    params(("consent_id" = String, Path)), security(("directLogin" = []), ("dAuth" = [])),
    responses(
        (status = 200, description = "The consent", body = Object),
        (status = 404, description = "OBP-35001", body = ErrorJson),
    )
)]
pub async fn consent_details(
    state: web::Data<AppState>,
    caller: Authenticated,
    consent_id: web::Path<String>,
) -> Result<HttpResponse, ObpError> {
    let consent_id = consent_id.into_inner();
    let found = caller
        .run(&state, move |ctx, caller| {
            Ok(services::consents::details(ctx, &caller, &consent_id)?)
        })
        .await?;
    let (row, access) = (found.row, found.access);
    let stamp = |micros: i64| super::timestamp(micros);
    Ok(HttpResponse::Ok().json(json!({
        "consent_id": row.consent_id,
        "jwt": found.jwt,
        "status": row.status,
        "consumer_id": row.consumer_id,
        "bank_id": row.bank_id,
        "everything": row.everything,
        "views": access.views,
        "entitlements": access.entitlements,
        "valid_from": stamp(row.valid_from),
        "expires": stamp(row.expires_at),
        "created": stamp(row.created_at),
        "sca_method": row.sca_method,
        "last_status_change": from_micros(row.status_changed_at).format(&Rfc3339).unwrap_or_default(),
    })))
}
