//! Who is calling: the DirectLogin token, its session, its user.

use super::direct_login::{HeaderError, credentials_text, param, parse_params};
use super::errors::{
    CONSENT_JWT_INVALID, CONSENT_READ_ONLY, CONSUMER_KEY_HEADER_MISSING, DAUTH_HOST_NOT_ALLOWED,
    DAUTH_INVALID_TOKEN, DAUTH_STALE, INVALID_DIRECT_LOGIN_TOKEN, ObpError, USER_NOT_LOGGED_IN,
};
use crate::dauth::DAuthRefusal;
use crate::services::auth::{Credential, SignedIn};
use crate::services::{self, Context, on_connection};
use crate::state::AppState;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use assent_identity::SecretString;

/// A request whose credentials checked out as far as they can without the database: a
/// session token (signature, type and expiry, cached per token) or, when DAuth is enabled, a
/// DAuth JWT (caller address, RS256 signature, claims, timestamp). The rest is checked by
/// [`Authenticated::run`], in the same blocking call and on the same connection as the
/// handler's own work: one pool checkout and one thread hop per request.
#[derive(Debug)]
pub struct Authenticated {
    credential: Credential,
}

impl Authenticated {
    /// Checks what needs the database (the session, or the DAuth consumer, replay and user),
    /// then runs `work` with the signed-in caller, on the blocking pool.
    pub async fn run<T: Send + 'static>(
        self,
        state: &web::Data<AppState>,
        work: impl FnOnce(&mut Context<'_>, SignedIn) -> Result<T, ObpError> + Send + 'static,
    ) -> Result<T, ObpError> {
        on_connection(state.clone().into_inner(), move |ctx| {
            let signed_in = services::auth::sign_in(ctx, &self.credential)?;
            work(ctx, signed_in)
        })
        .await?
    }

    /// As [`Authenticated::run`] for `work` that only reads: the caller's checks and the work
    /// read one snapshot (on SQLite, one read transaction, where any write fails), and the
    /// writes the checks need (a session's activity, a DAuth token's replay mark) happen
    /// outside it.
    pub async fn read<T: Send + 'static>(
        self,
        state: &web::Data<AppState>,
        work: impl FnOnce(&mut Context<'_>, SignedIn) -> Result<T, ObpError> + Send + 'static,
    ) -> Result<T, ObpError> {
        on_connection(state.clone().into_inner(), move |ctx| {
            services::auth::read_signed_in(ctx, &self.credential, work)
        })
        .await?
    }
}

impl Authenticated {
    /// As [`Authenticated::read`], for work that needs what the caller holds (see
    /// [`services::auth::read_signed_in_with_holdings`]).
    pub async fn read_with_holdings<T: Send + 'static>(
        self,
        state: &web::Data<AppState>,
        work: impl FnOnce(
            &mut Context<'_>,
            SignedIn,
            Option<assent_repository::sessions::Holdings>,
        ) -> Result<T, ObpError>
        + Send
        + 'static,
    ) -> Result<T, ObpError> {
        on_connection(state.clone().into_inner(), move |ctx| {
            services::auth::read_signed_in_with_holdings(ctx, &self.credential, work)
        })
        .await?
    }
}

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
        parse_params(text).map_err(|_| ObpError::unauthorized(INVALID_DIRECT_LOGIN_TOKEN))?;
    param(&params, "token")
        .map(str::to_owned)
        .ok_or_else(|| ObpError::unauthorized(USER_NOT_LOGGED_IN))
}

impl FromRequest for Authenticated {
    type Error = ObpError;
    type Future = std::future::Ready<Result<Self, ObpError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(authenticate(req))
    }
}

fn authenticate(req: &HttpRequest) -> Result<Authenticated, ObpError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ObpError::internal("application state missing"))?;
    let now = state.clock.now();
    if let Some(header) = req.headers().get("Consent-JWT") {
        // A consent lets a third party read on the customer's behalf; it changes nothing.
        if req.method() != actix_web::http::Method::GET {
            return Err(ObpError::new(
                actix_web::http::StatusCode::FORBIDDEN,
                CONSENT_READ_ONLY,
            ));
        }
        let token = header
            .to_str()
            .map_err(|_| ObpError::unauthorized(CONSENT_JWT_INVALID))?
            .trim();
        let key = req
            .headers()
            .get("Consumer-Key")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|k| !k.is_empty() && k.len() <= 512)
            .ok_or_else(|| ObpError::unauthorized(CONSUMER_KEY_HEADER_MISSING))?;
        // Verified once per token (ES256 is the costly part); the consent itself is checked
        // against the database on every request.
        let claims = state
            .verify_consent_token(token, now)
            .map_err(|_| ObpError::unauthorized(CONSENT_JWT_INVALID))?;
        return Ok(Authenticated {
            credential: Credential::Consent(Box::new((claims, SecretString::new(key.to_owned())))),
        });
    }
    if let (Some(verifier), Some(header)) = (&state.dauth, req.headers().get("DAuth")) {
        let token = header
            .to_str()
            .map_err(|_| ObpError::unauthorized(DAUTH_INVALID_TOKEN))?;
        let peer = state.client_ip(req);
        let request = verifier
            .verify(peer, token.trim(), now)
            .map_err(|e| match e {
                DAuthRefusal::HostNotAllowed => ObpError::unauthorized(DAUTH_HOST_NOT_ALLOWED),
                DAuthRefusal::InvalidToken => ObpError::unauthorized(DAUTH_INVALID_TOKEN),
                DAuthRefusal::Stale => ObpError::unauthorized(DAUTH_STALE),
            })?;
        return Ok(Authenticated {
            credential: Credential::DAuth(request),
        });
    }
    let token = token(req)?;
    let claims = state
        .verify_session_token(&token, now)
        .map_err(|_| ObpError::unauthorized(INVALID_DIRECT_LOGIN_TOKEN))?;
    Ok(Authenticated {
        credential: Credential::Session(claims),
    })
}
