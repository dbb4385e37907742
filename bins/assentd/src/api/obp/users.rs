//! Creating users and reading the current one.

use super::auth::Authenticated;
use super::errors::*;

use crate::services::users::{self, UserProfile};
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, web};
use assent_identity::{RegistrationInput, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Body of `POST /users`.
#[derive(Deserialize, ToSchema)]
pub struct CreateUserJson {
    /// 1 to 100 of letters, digits, `.`, `_`, `-`, `@`, or an email address.
    #[schema(
        example = "felixsmith",
        pattern = r"^([A-Za-z0-9._@-]{1,100}|[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,30}(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,16}){0,2}@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+)$",
        max_length = 100
    )]
    pub username: String,
    /// 10 to 16 characters with a digit, a lower-case and an upper-case letter and a special
    /// character (`assent_identity::password::SPECIALS`), or 17 to 512 of those characters,
    /// `[`, `]` and spaces (`check_format`); common passwords are refused too.
    #[schema(example = "Tr0ub4dour&3x", schema_with = password_schema)]
    pub password: String,
    /// Optional: where codes can go once verified. Without it, a username that is an email
    /// address is the email; otherwise the user has none (`"email": ""`).
    #[serde(default)]
    #[schema(
        example = "felixsmith@example.com",
        pattern = r"^(|[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,30}(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,16}){0,2}@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+)$",
        max_length = 254
    )]
    pub email: Option<String>,
    #[schema(
        example = "Felix",
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$",
        max_length = 100
    )]
    pub first_name: String,
    #[schema(
        example = "Smith",
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$",
        max_length = 100
    )]
    pub last_name: String,
    /// Optional mobile number (E.164) where one-time codes can be sent; empty is none.
    #[serde(default)]
    #[schema(example = "+447700900123", pattern = "^(|\\+[1-9][0-9]{7,14})$")]
    pub phone_number: Option<String>,
}

fn password_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
    let text = |pattern: &str| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(pattern))
    };
    OneOfBuilder::new()
        .item(text(r##"^(?=[^0-9]*[0-9])(?=[^a-z]*[a-z])(?=[^A-Z]*[A-Z])(?=[A-Za-z0-9]*[!"#$%&'()*+,\-./:;<=>?@\\\^_`{|}~])[A-Za-z0-9!"#$%&'()*+,\-./:;<=>?@\\\^_`{|}~]{10,16}$"##))
        .item(text(r##"^[A-Za-z0-9!"#$%&'()*+,\-./:;<=>?@\\\^_`{|}~\[\] ]{17,512}$"##))
        .examples(["Tr0ub4dour&3x"])
        .build()
        .into()
}

/// A user as OBP shows one.
#[derive(Serialize, ToSchema)]
pub struct UserJson {
    pub user_id: String,
    /// Empty when the user has no email address.
    pub email: String,
    pub provider_id: String,
    pub provider: String,
    pub username: String,
    /// Whether the user proved they receive codes at `email`: only then do codes go there.
    pub email_verified: bool,
    /// Whether the user has a phone number and proved they receive codes there.
    pub phone_number_verified: bool,
    /// The customer's numeric id at the institution (the Apiture `customerId`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_number: Option<String>,
    pub entitlements: EntitlementsJson,
    /// The views the user holds (their own profile).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub views: Option<UserViewsJson>,
    /// Present in administrative queries: whether the account is locked now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_locked: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct UserViewsJson {
    pub list: Vec<UserViewJson>,
}

#[derive(Serialize, ToSchema)]
pub struct UserViewJson {
    pub bank_id: String,
    pub account_id: String,
    pub view_id: String,
    pub is_system: bool,
}

#[derive(Serialize, ToSchema)]
pub struct EntitlementsJson {
    pub list: Vec<EntitlementJson>,
}

#[derive(Serialize, ToSchema)]
pub struct EntitlementJson {
    pub entitlement_id: String,
    pub role_name: String,
    /// Empty for a system-wide role.
    pub bank_id: String,
}

impl From<assent_repository::entitlements::EntitlementRow> for EntitlementJson {
    fn from(row: assent_repository::entitlements::EntitlementRow) -> Self {
        Self {
            entitlement_id: row.entitlement_id,
            role_name: row.role_name,
            bank_id: row.bank_id,
        }
    }
}

impl From<UserProfile> for UserJson {
    fn from(profile: UserProfile) -> Self {
        let user = profile.user;
        Self {
            user_id: user.user_id.to_string(),
            email_verified: user.verified_email().is_some(),
            phone_number_verified: user.verified_phone().is_some(),
            email: user.email,
            provider_id: user.provider_id,
            provider: user.provider,
            username: user.username,
            customer_number: user.customer_number,
            views: Some(UserViewsJson {
                list: profile
                    .views
                    .into_iter()
                    .map(|g| UserViewJson {
                        bank_id: g.bank_id,
                        account_id: g.account_id,
                        view_id: g.view_id,
                        is_system: g.is_system,
                    })
                    .collect(),
            }),
            is_locked: None,
            entitlements: EntitlementsJson {
                list: profile
                    .entitlements
                    .into_iter()
                    .map(EntitlementJson::from)
                    .collect(),
            },
        }
    }
}

/// OBP error body.
#[derive(Serialize, ToSchema)]
pub struct ErrorJson {
    #[schema(example = 400)]
    pub code: u16,
    #[schema(example = "OBP-10001: Incorrect json format.")]
    pub message: String,
}

/// Create User: registers a user with a password (Argon2id-hashed).
#[utoipa::path(
    post, path = "/obp/v5.1.0/users", tag = "OBP: users",
    request_body = CreateUserJson,
    responses(
        (status = 201, description = "User created", body = UserJson),
        (status = 400, description = "OBP-10001 bad JSON, OBP-30207 password format, OBP-30271..30273, OBP-30282 bad fields", body = ErrorJson),
        (status = 422, description = "OBP-30270 a common password, one holding the username, or one of 3 distinct characters or fewer", body = ErrorJson),
        (status = 409, description = "OBP-30274 username taken", body = ErrorJson),
        (status = 413, description = "OBP-10413 body too large", body = ErrorJson),
        (status = 429, description = "OBP-30299 this client's sign-ups for the hour are spent (with Retry-After)", body = ErrorJson),
    )
)]
pub async fn create_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<CreateUserJson>,
) -> Result<HttpResponse, ObpError> {
    let body = body.into_inner();
    let input = RegistrationInput {
        username: body.username,
        password: SecretString::new(body.password),
        email: body.email,
        first_name: body.first_name,
        last_name: body.last_name,
        phone_number: body.phone_number,
    };
    let client = state.client_ip(&req);
    let profile = users::sign_up(state.into_inner(), input, client).await?;
    Ok(HttpResponse::Created().json(UserJson::from(profile)))
}

/// Get User (Current): the signed-in user with their entitlements.
#[utoipa::path(
    get, path = "/obp/v5.1.0/users/current", tag = "OBP: users",
    security(("directLogin" = []), ("dAuth" = []), ("consentJwt" = [], "consumerKey" = [])),
    responses(
        (status = 200, description = "The current user", body = UserJson),
        (status = 401, description = "OBP-20001 not logged in, OBP-20003 invalid or expired token", body = ErrorJson),
    )
)]
pub async fn current_user(
    state: web::Data<AppState>,
    caller: Authenticated,
) -> Result<HttpResponse, ObpError> {
    let profile = caller
        .read_with_holdings(&state, |ctx, signed_in, holdings| {
            Ok(users::current_profile(ctx, signed_in, holdings)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(UserJson::from(profile)))
}
