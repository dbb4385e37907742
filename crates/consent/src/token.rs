//! The consent JWT's claims. The token is signed by the server's key set (ES256, `kid`); its
//! `typ` differs from session tokens', so neither can pass for the other.

use crate::consent::{RoleAccess, ViewAccess};
use serde::{Deserialize, Serialize};

/// The `typ` header of consent JWTs.
pub const CONSENT_TOKEN_TYP: &str = "assent-consent+jwt";

/// Claims of a consent JWT, as OBP's consent JWT has them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentClaims {
    /// The consent's id.
    pub jti: String,
    /// The user who gave it.
    pub sub: String,
    /// The consumer (app) it was given to.
    pub aud: String,
    /// The issuer (the server's provider URL).
    pub iss: String,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Not before: `valid_from` (Unix seconds).
    pub nbf: i64,
    /// Expiry (Unix seconds).
    pub exp: i64,
    /// The views it covers (empty with `everything`).
    pub views: Vec<ViewAccess>,
    /// The roles it covers (empty with `everything`).
    pub entitlements: Vec<RoleAccess>,
    /// Who created it (the same user).
    #[serde(rename = "createdByUserId")]
    pub created_by_user_id: String,
}
