//! Banks: created by holders of CanCreateBank, readable by anyone signed in.

use super::auth::Authenticated;
use super::errors::*;
use super::users::ErrorJson;
use crate::services;
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use assent_identity::bank::NewBank;
use assent_repository::banks::BankRow;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A bank as OBP shows one (and as `POST /banks` takes it).
#[derive(Serialize, Deserialize, ToSchema)]
pub struct BankJson {
    #[schema(example = "gh.29.uk", pattern = "^[A-Za-z0-9._-]{1,255}$")]
    pub id: String,
    #[schema(
        example = "uk",
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$",
        max_length = 255
    )]
    pub short_name: String,
    #[schema(
        example = "uk",
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$",
        max_length = 255
    )]
    pub full_name: String,
    #[serde(default)]
    #[schema(
        example = "https://static.openbankproject.com/images/sandbox/bank_x.png",
        pattern = r"^(|https?://[^\s\u0000-\u001f\u007f-\u009f]*)$",
        max_length = 2048
    )]
    pub logo: String,
    #[serde(default)]
    #[schema(
        example = "https://www.example.com",
        pattern = r"^(|https?://[^\s\u0000-\u001f\u007f-\u009f]*)$",
        max_length = 2048
    )]
    pub website: String,
}

#[derive(Serialize, ToSchema)]
pub struct BanksJson {
    pub banks: Vec<BankJson>,
}

fn bank_json(row: BankRow) -> BankJson {
    BankJson {
        id: row.bank_id,
        short_name: row.short_name,
        full_name: row.full_name,
        logo: row.logo,
        website: row.website,
    }
}

/// Create Bank.
#[utoipa::path(
    post, path = "/obp/v5.1.0/banks", tag = "OBP: banks", request_body = BankJson, security(("directLogin" = []), ("dAuth" = [])),
    responses(
        (status = 201, description = "Created", body = BankJson),
        (status = 400, description = "OBP-10001 bad JSON, OBP-30275 bad id, OBP-30276 bad fields", body = ErrorJson),
        (status = 409, description = "OBP-30277 id taken", body = ErrorJson),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
        (status = 403, description = "OBP-20006: needs CanCreateBank", body = ErrorJson),
    )
)]
pub async fn create_bank(
    state: web::Data<AppState>,
    caller: Authenticated,
    body: web::Json<BankJson>,
) -> Result<HttpResponse, ObpError> {
    let body = body.into_inner();
    let bank = NewBank {
        id: body.id,
        short_name: body.short_name,
        full_name: body.full_name,
        logo: body.logo,
        website: body.website,
    };
    let row = caller
        .run(&state, move |ctx, caller| {
            Ok(services::banks::create(ctx, &caller, bank)?)
        })
        .await?;
    Ok(HttpResponse::Created().json(bank_json(row)))
}

/// Get Banks.
#[utoipa::path(
    get, path = "/obp/v5.1.0/banks", tag = "OBP: banks", security(("directLogin" = []), ("dAuth" = []), ("consentJwt" = [], "consumerKey" = [])),
    responses(
        (status = 200, description = "Every bank", body = BanksJson),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
    )
)]
pub async fn get_banks(
    state: web::Data<AppState>,
    caller: Authenticated,
) -> Result<HttpResponse, ObpError> {
    let rows = caller
        .run(&state, |ctx, _| Ok(services::banks::list(ctx)?))
        .await?;
    Ok(HttpResponse::Ok().json(BanksJson {
        banks: rows.into_iter().map(bank_json).collect(),
    }))
}

/// Get Bank.
#[utoipa::path(
    get, path = "/obp/v5.1.0/banks/{bank_id}", tag = "OBP: banks",
    params(("bank_id" = String, Path)), security(("directLogin" = []), ("dAuth" = []), ("consentJwt" = [], "consumerKey" = [])),
    responses(
        (status = 200, description = "The bank", body = BankJson),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
        (status = 404, description = "OBP-30001 unknown bank", body = ErrorJson),
    )
)]
pub async fn get_bank(
    state: web::Data<AppState>,
    caller: Authenticated,
    bank_id: web::Path<String>,
) -> Result<HttpResponse, ObpError> {
    let bank_id = bank_id.into_inner();
    let row = caller
        .run(&state, move |ctx, _| {
            Ok(services::banks::find(ctx, &bank_id)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(bank_json(row)))
}
