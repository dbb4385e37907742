//! Who is calling: the DirectLogin token, its session, its user.

use super::direct_login::{HeaderError, credentials_text, param, parse_params};
use super::errors::{INVALID_DIRECT_LOGIN_TOKEN, ObpError, USER_NOT_LOGGED_IN};
use crate::api::blocking;
use crate::services::auth::{SessionError, SignedIn, check_session};
use crate::services::now;
use crate::state::AppState;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use std::future::Future;
use std::pin::Pin;

/// A request from a signed-in user whose session is active. Extracting it checks the token's
/// signature (cached per token), then the session row (every request).
#[derive(Debug)]
pub struct Authenticated(pub SignedIn);

fn token(req: &HttpRequest) -> Result<String, ObpError> {
    let text = match credentials_text(req.headers()) {
        Ok(text) => text,
        Err(HeaderError::Missing | HeaderError::WrongScheme) => {
            return Err(ObpError::unauthorized(USER_NOT_LOGGED_IN));
        }
        Err(HeaderError::InvalidCharacters) => {
            return Err(ObpError::unauthorized(INVALID_DIRECT_LOGIN_TOKEN));
        }
    };
    let params =
        parse_params(&text).map_err(|_| ObpError::unauthorized(INVALID_DIRECT_LOGIN_TOKEN))?;
    param(&params, "token")
        .map(str::to_owned)
        .ok_or_else(|| ObpError::unauthorized(USER_NOT_LOGGED_IN))
}

impl FromRequest for Authenticated {
    type Error = ObpError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ObpError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = token(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| ObpError::internal(&"application state missing"))?;
            let token = token?;
            let now = now();
            let claims = state
                .verify_session_token(&token, now)
                .map_err(|_| ObpError::unauthorized(INVALID_DIRECT_LOGIN_TOKEN))?;
            let signed_in = blocking(move || check_session(&state, &claims, now)).await?;
            match signed_in {
                Ok(signed_in) => Ok(Authenticated(signed_in)),
                Err(SessionError::Invalid) => {
                    Err(ObpError::unauthorized(INVALID_DIRECT_LOGIN_TOKEN))
                }
                Err(SessionError::Internal(e)) => Err(ObpError::internal(&e)),
            }
        })
    }
}
