//! What this API is and how it is set up, for anyone to read: Get API Info (root), Get JSON
//! Web Key (JWK) URIs and Get Rate Limiting Info.

use super::errors::ObpError;
use super::users::ErrorJson;
use crate::api::OBP_VERSIONS;
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

/// The commit this server was built from, when it was built from a git checkout.
pub const GIT_COMMIT: Option<&str> = option_env!("ASSENTD_GIT_COMMIT");

/// Where the JWKS lives below the `provider` base URL.
pub const JWKS_PATH: &str = "/obp/v5.1.0/certs";

#[derive(Serialize, ToSchema)]
pub struct HostedByJson {
    /// `hosted_by_organisation`
    pub organisation: String,
    /// `hosted_by_email`
    pub email: String,
    /// `hosted_by_phone`
    pub phone: String,
    /// `hosted_by_website`
    pub organisation_website: String,
}

#[derive(Serialize, ToSchema)]
pub struct ApiInfoJson {
    /// The version the request named, e.g. `v3.1.0`.
    pub version: String,
    /// Every version this server answers under is `STABLE`: each serves every endpoint.
    pub version_status: String,
    /// The commit the server was built from; absent when unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
    /// Where the data lives: `sqlite` or `postgres`.
    pub connector: String,
    pub hosted_by: HostedByJson,
}

#[derive(Serialize, ToSchema)]
pub struct JwksUriJson {
    pub jwks_uri: String,
}

#[derive(Serialize, ToSchema)]
pub struct JwksUrisJson {
    pub jwks_uris: Vec<JwksUriJson>,
}

#[derive(Serialize, ToSchema)]
pub struct RateLimitingInfoJson {
    /// Consumers' call limits are enforced (always, in Assent).
    pub enabled: bool,
    /// Where calls are counted: `IN_PROCESS` (each process alone) or `REDIS` (shared by every
    /// replica, when `rate_limit_url` is set).
    pub technology: String,
    /// Whether the store of counts answers (a shared store is asked at most once a second).
    pub service_available: bool,
    /// Limits are enforced and their store answers.
    pub is_active: bool,
}

/// The OBP version a request was made under (`/obp/vX.Y.Z/...`).
fn version_of(req: &HttpRequest) -> &'static str {
    let version = req.path().split('/').nth(2).unwrap_or_default();
    OBP_VERSIONS
        .into_iter()
        .find(|v| *v == version)
        .unwrap_or("v5.1.0")
}

/// Get API Info (root): the version, the build, where the data lives and who hosts it.
#[utoipa::path(
    get, path = "/obp/v5.1.0/root", tag = "OBP: API",
    responses((status = 200, description = "API info; `git_commit` is absent when the build did not know it", body = ApiInfoJson))
)]
pub async fn root(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let config = &state.config;
    HttpResponse::Ok().json(ApiInfoJson {
        version: version_of(&req).to_owned(),
        version_status: "STABLE".to_owned(),
        git_commit: GIT_COMMIT.map(str::to_owned),
        connector: state.pool.backend_name().to_owned(),
        hosted_by: HostedByJson {
            organisation: config.hosted_by_organisation.clone(),
            email: config.hosted_by_email.clone(),
            phone: config.hosted_by_phone.clone(),
            organisation_website: config.hosted_by_website.clone(),
        },
    })
}

/// Get API Info (root) at the version's own root (`/obp/vX.Y.Z/`).
#[utoipa::path(
    get, path = "/obp/v5.1.0/", tag = "OBP: API",
    responses((status = 200, description = "API info, as `GET /obp/vX/root`", body = ApiInfoJson))
)]
pub async fn api_root(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    root(req, state).await
}

/// Get JSON Web Key (JWK) URIs: where the keys that verify our tokens are published.
#[utoipa::path(
    get, path = "/obp/v5.1.0/jwks-uris", tag = "OBP: API",
    responses((status = 200, description = "The JWKS URI: the `provider` base URL + `/obp/v5.1.0/certs`", body = JwksUrisJson))
)]
pub async fn jwks_uris(state: web::Data<AppState>) -> HttpResponse {
    let base = state.config.provider.trim_end_matches('/');
    HttpResponse::Ok().json(JwksUrisJson {
        jwks_uris: vec![JwksUriJson {
            jwks_uri: format!("{base}{JWKS_PATH}"),
        }],
    })
}

/// Get Rate Limiting Info: whether call limits are enforced and where calls are counted
/// (never the store's address).
#[utoipa::path(
    get, path = "/obp/v5.1.0/rate-limiting", tag = "OBP: API",
    responses(
        (status = 200, description = "Rate limiting info", body = RateLimitingInfoJson),
        (status = 500, description = "OBP-50000 unexpected", body = ErrorJson),
    )
)]
pub async fn rate_limiting(state: web::Data<AppState>) -> Result<HttpResponse, ObpError> {
    let limiter = state.rate_limiter.clone();
    let technology = limiter.technology();
    let now = state.clock.now();
    let service_available = web::block(move || limiter.store_answers(now))
        .await
        .map_err(|_| ObpError::internal("the store check did not finish"))?;
    Ok(HttpResponse::Ok().json(RateLimitingInfoJson {
        enabled: true,
        technology: technology.to_owned(),
        service_available,
        is_active: service_available,
    }))
}
