//! Token introspection (RFC 7662): an API gateway in front of the bank's services asks whether
//! a session token or consent JWT is live now, and whose it is. The same checks as a request
//! carrying the token, read only: no call is counted against the consumer's limits and no
//! session activity is written, so asking never keeps a session alive.

use super::system_callers::SystemCaller;
use super::{Context, Failure, Internal};
use assent_consent::consent::{RoleAccess, ViewAccess};

/// What kind of token was live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenType {
    /// A session token from DirectLogin.
    Session,
    /// A consent JWT.
    Consent,
}

/// A live token, as the introspection answer describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveToken {
    pub token_type: TokenType,
    /// The user's id.
    pub subject: String,
    /// The consumer the token was issued to (sessions made without one have none).
    pub client_id: Option<String>,
    /// Unix seconds.
    pub expires_at: i64,
    /// Unix seconds.
    pub issued_at: i64,
    pub issuer: String,
    /// The session's or consent's id.
    pub token_id: String,
    /// For a consent: what it covers.
    pub consent: Option<ConsentCoverage>,
}

/// What a live consent lets its consumer do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentCoverage {
    pub bank_id: String,
    /// Everything the user holds at the bank.
    pub everything: bool,
    pub views: Vec<ViewAccess>,
    pub roles: Vec<RoleAccess>,
}

/// The token, if it is live now; `None` for every other case alike (malformed, forged,
/// expired, logged out, terminated, revoked, its consumer disabled, its user locked), so the
/// answer tells an asker nothing about why.
pub fn introspect(
    ctx: &mut Context<'_>,
    _asker: &SystemCaller,
    token: &str,
) -> Result<Option<ActiveToken>, Internal> {
    let (state, now) = (ctx.state, ctx.now);
    if let Ok(claims) = state.verify_session_token(token, now) {
        let Some((signed_in, _)) = super::auth::live_session(ctx.conn(), &claims, now)? else {
            return Ok(None);
        };
        return Ok(Some(ActiveToken {
            token_type: TokenType::Session,
            subject: claims.sub,
            client_id: signed_in.consumer.map(|c| c.consumer_id.to_string()),
            expires_at: claims.exp,
            issued_at: claims.iat,
            issuer: claims.iss,
            token_id: claims.jti,
            consent: None,
        }));
    }
    if let Ok(claims) = state.verify_consent_token(token, now) {
        let used = match super::consents::check_live(ctx, &claims) {
            Ok(used) => used,
            Err(Failure::Refused(_)) => return Ok(None),
            Err(Failure::Internal(internal)) => return Err(internal),
        };
        return Ok(Some(ActiveToken {
            token_type: TokenType::Consent,
            subject: claims.sub,
            client_id: Some(used.consumer.consumer_id.to_string()),
            expires_at: claims.exp,
            issued_at: claims.iat,
            issuer: claims.iss,
            token_id: claims.jti,
            consent: Some(ConsentCoverage {
                bank_id: used.scope.bank_id().to_owned(),
                everything: used.scope.is_everything(),
                views: claims.views,
                roles: claims.entitlements,
            }),
        }));
    }
    Ok(None)
}
