//! Signing keys (ES256) for session tokens, their JWKS, and the server pepper that keys the
//! hashes of API keys. In development both are generated on first start and kept in the data
//! directory; in production operators give file paths.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rand::RngCore;
use serde::{Serialize, de::DeserializeOwned};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// Problems loading or creating key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("signing: {0}")]
    Jwt(#[from] jsonwebtoken::errors::Error),
}

fn file_error(path: &Path, reason: impl ToString) -> KeyError {
    KeyError::File {
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}

/// Publishes a new secret file readable by its owner only, whole or not at all: the contents
/// go to a temporary file that is then hard-linked into place, which fails if the file exists.
/// Two processes starting at once on a fresh data directory thus agree on one key, and
/// neither reads a half-written file.
fn write_secret_file(path: &Path, contents: &[u8]) -> Result<(), KeyError> {
    use std::io::Write;
    let parent = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| file_error(parent, e))?;
    let temporary = parent.join(format!(".tmp-{}", uuid::Uuid::new_v4()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options
        .open(&temporary)
        .and_then(|mut file| file.write_all(contents).and_then(|()| file.sync_all()))
        .and_then(|()| std::fs::hard_link(&temporary, path));
    let _ = std::fs::remove_file(&temporary);
    written.map_err(|e| file_error(path, e))
}

/// Reads the file at `explicit` (which must exist), or at `default` (created with `generate`
/// if missing; a concurrent creator's file wins).
fn load_or_create(
    explicit: Option<&Path>,
    default: &Path,
    generate: impl FnOnce() -> Result<Vec<u8>, KeyError>,
) -> Result<Vec<u8>, KeyError> {
    if let Some(path) = explicit {
        return std::fs::read(path).map_err(|e| file_error(path, e));
    }
    match std::fs::read(default) {
        Ok(bytes) => Ok(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let contents = generate()?;
            match write_secret_file(default, &contents) {
                Ok(()) => Ok(contents),
                Err(_) => std::fs::read(default).map_err(|e| file_error(default, e)),
            }
        }
        Err(e) => Err(file_error(default, e)),
    }
}

/// The server pepper: 32 random bytes, hex-encoded in a file.
pub fn load_pepper(explicit: Option<&Path>, data_dir: &Path) -> Result<Vec<u8>, KeyError> {
    let default = data_dir.join("pepper.hex");
    let path = explicit.unwrap_or(&default).to_owned();
    let text = load_or_create(explicit, &default, || {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Ok(hex(&bytes).into_bytes())
    })?;
    let text = String::from_utf8(text).map_err(|e| file_error(&path, e))?;
    let bytes = unhex(text.trim()).ok_or_else(|| file_error(&path, "not hex"))?;
    if bytes.len() < 32 {
        return Err(file_error(&path, "the pepper must be at least 32 bytes"));
    }
    Ok(bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The ES256 key that signs our tokens, with what verifiers need.
pub struct SigningKeys {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    jwks: serde_json::Value,
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeys")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// Why a token was refused. Deliberately coarse: callers answer every case the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid token")]
pub struct InvalidToken;

impl SigningKeys {
    /// Loads the PKCS#8 PEM key at `explicit`, or at `<data_dir>/signing-key.pem`, generating
    /// the latter on first start.
    pub fn load(explicit: Option<&Path>, data_dir: &Path) -> Result<Self, KeyError> {
        let default = data_dir.join("signing-key.pem");
        let path = explicit.unwrap_or(&default).to_owned();
        let pem = load_or_create(explicit, &default, || {
            let secret = generate_p256();
            let pem = secret
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(|e| file_error(&default, e))?;
            Ok(pem.as_bytes().to_vec())
        })?;
        let pem = String::from_utf8(pem).map_err(|e| file_error(&path, e))?;
        let secret = p256::SecretKey::from_pkcs8_pem(&pem)
            .map_err(|e| file_error(&path, format!("not a P-256 PKCS#8 PEM key: {e}")))?;
        Self::from_secret(&secret, &pem)
    }

    fn from_secret(secret: &p256::SecretKey, pem: &str) -> Result<Self, KeyError> {
        let point = secret.public_key().to_encoded_point(false);
        let (Some(x), Some(y)) = (point.x(), point.y()) else {
            return Err(KeyError::File {
                path: PathBuf::from("signing key"),
                reason: "public key has no affine coordinates".into(),
            });
        };
        let x = URL_SAFE_NO_PAD.encode(x);
        let y = URL_SAFE_NO_PAD.encode(y);
        // RFC 7638 thumbprint: members in lexicographic order, no whitespace.
        let thumbprint_input = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(thumbprint_input.as_bytes()));
        let encoding = EncodingKey::from_ec_pem(pem.as_bytes())?;
        let decoding = DecodingKey::from_ec_components(&x, &y)?;
        let jwks = serde_json::json!({
            "keys": [{
                "kty": "EC", "crv": "P-256", "x": x, "y": y,
                "kid": kid, "alg": "ES256", "use": "sig",
            }]
        });
        Ok(Self {
            kid,
            encoding,
            decoding,
            jwks,
        })
    }

    /// A fresh in-memory key (tests and fuzzing).
    #[cfg(any(test, feature = "fuzzing"))]
    pub fn generate() -> Self {
        let secret = generate_p256();
        let pem = secret.to_pkcs8_pem(LineEnding::LF).expect("encode");
        Self::from_secret(&secret, &pem).expect("key")
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public keys as a JWKS document.
    pub fn jwks(&self) -> &serde_json::Value {
        &self.jwks
    }

    /// Signs `claims` as an ES256 JWT with header `typ`.
    pub fn sign(&self, typ: &str, claims: &impl Serialize) -> Result<String, KeyError> {
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some(typ.to_owned());
        header.kid = Some(self.kid.clone());
        let token = jsonwebtoken::encode(&header, claims, &self.encoding)?;
        Ok(with_low_s_signature(token))
    }

    /// Verifies a JWT of type `typ` signed by our key: the algorithm is pinned to ES256 (so
    /// `none` and HMAC-with-the-public-key confusion fail), `typ` and `kid` must match, and
    /// `exp` is checked against `now` (the server's clock) without leeway.
    pub fn verify<T: DeserializeOwned + TimeBound>(
        &self,
        typ: &str,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<T, InvalidToken> {
        self.check_form(typ, token)?;
        let mut validation = Validation::new(Algorithm::ES256);
        // The library would read the system clock; the times are checked below instead.
        validation.validate_exp = false;
        validation.set_required_spec_claims(&["exp", "iat", "sub"]);
        let claims = jsonwebtoken::decode::<T>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|_| InvalidToken)?;
        within_time(&claims, now, 0)?;
        Ok(claims)
    }
}

impl SigningKeys {
    /// What can be checked before the signature: the header pins ES256, the expected `typ` and
    /// our `kid`, and the signature's `s` lies in the lower half of the group order. ECDSA
    /// accepts both `s` and `n - s`, so without that rule every token would have a second valid
    /// spelling, and a revocation or replay list keyed on the string could be sidestepped.
    fn check_form(&self, typ: &str, token: &str) -> Result<(), InvalidToken> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| InvalidToken)?;
        if header.alg != Algorithm::ES256
            || header.typ.as_deref() != Some(typ)
            || header.kid.as_deref() != Some(self.kid.as_str())
        {
            return Err(InvalidToken);
        }
        match signature_of(token) {
            Some(signature) if signature.normalize_s().is_none() => Ok(()),
            _ => Err(InvalidToken),
        }
    }

    /// Verifies a consent-style JWT of type `typ`: as [`SigningKeys::verify`], plus `nbf`, with
    /// `leeway_secs` on both; the audience is the caller's to check against the consumer.
    pub fn verify_with_leeway<T: DeserializeOwned + TimeBound>(
        &self,
        typ: &str,
        token: &str,
        leeway_secs: u64,
        now: OffsetDateTime,
    ) -> Result<T, InvalidToken> {
        self.check_form(typ, token)?;
        let mut validation = Validation::new(Algorithm::ES256);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "sub", "aud"]);
        let claims = jsonwebtoken::decode::<T>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|_| InvalidToken)?;
        within_time(&claims, now, i64::try_from(leeway_secs).unwrap_or(i64::MAX))?;
        Ok(claims)
    }
}

/// The ES256 signature of a compact JWT: its third segment, 64 bytes of `r || s`.
fn signature_of(token: &str) -> Option<p256::ecdsa::Signature> {
    let (_, encoded) = token.rsplit_once('.')?;
    decode_signature(encoded)
}

fn decode_signature(encoded: &str) -> Option<p256::ecdsa::Signature> {
    let bytes = URL_SAFE_NO_PAD.decode(encoded).ok()?;
    p256::ecdsa::Signature::from_slice(&bytes).ok()
}

/// The same token with its signature in low-S form. The signing library may produce either
/// form; verification accepts only the low one.
fn with_low_s_signature(token: String) -> String {
    let Some((signed_part, encoded)) = token.rsplit_once('.') else {
        return token;
    };
    match decode_signature(encoded).and_then(|signature| signature.normalize_s()) {
        Some(low) => format!("{signed_part}.{}", URL_SAFE_NO_PAD.encode(low.to_bytes())),
        None => token,
    }
}

/// Claims that carry their validity window (Unix seconds), checked against the server's
/// clock rather than by the JWT library, which would read the system clock.
pub trait TimeBound {
    /// `exp`: the token is refused after it.
    fn expires(&self) -> i64;
    /// `nbf`, if the claims have one: the token is refused before it.
    fn not_before(&self) -> Option<i64>;
}

impl TimeBound for assent_session::SessionClaims {
    fn expires(&self) -> i64 {
        self.exp
    }
    fn not_before(&self) -> Option<i64> {
        None
    }
}

impl TimeBound for assent_consent::token::ConsentClaims {
    fn expires(&self) -> i64 {
        self.exp
    }
    fn not_before(&self) -> Option<i64> {
        Some(self.nbf)
    }
}

/// Whether `now` lies in the claims' window, widened by `leeway` seconds on each side (the
/// window RFC 7519 sections 4.1.4 and 4.1.5 describe, as the JWT library checked it).
fn within_time(
    claims: &impl TimeBound,
    now: OffsetDateTime,
    leeway: i64,
) -> Result<(), InvalidToken> {
    let now = now.unix_timestamp();
    let expired = claims.expires().saturating_add(leeway) < now;
    let early = claims
        .not_before()
        .is_some_and(|nbf| nbf.saturating_sub(leeway) > now);
    if expired || early {
        Err(InvalidToken)
    } else {
        Ok(())
    }
}

fn generate_p256() -> p256::SecretKey {
    loop {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        // A random 32-byte string is a valid scalar except with negligible probability.
        if let Ok(secret) = p256::SecretKey::from_slice(&bytes) {
            return secret;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use assent_session::{SESSION_TOKEN_TYP, SessionClaims};

    const NOW: OffsetDateTime = time::macros::datetime!(2026-06-01 12:00 UTC);

    fn claims(exp_from_now: i64) -> SessionClaims {
        let now = NOW.unix_timestamp();
        SessionClaims {
            sid: "a".repeat(32),
            sub: uuid::Uuid::new_v4().to_string(),
            iat: now,
            exp: now + exp_from_now,
        }
    }

    #[test]
    fn round_trip() {
        let keys = SigningKeys::generate();
        let token = keys.sign(SESSION_TOKEN_TYP, &claims(60)).unwrap();
        let back: SessionClaims = keys.verify(SESSION_TOKEN_TYP, &token, NOW).unwrap();
        assert_eq!(back.sid, "a".repeat(32));
    }

    #[test]
    fn refuses_expired_tampered_foreign_and_mistyped_tokens() {
        let keys = SigningKeys::generate();
        let token = keys.sign(SESSION_TOKEN_TYP, &claims(60)).unwrap();
        let expired = keys.sign(SESSION_TOKEN_TYP, &claims(-1)).unwrap();
        assert!(
            keys.verify::<SessionClaims>(SESSION_TOKEN_TYP, &expired, NOW)
                .is_err()
        );
        let other = SigningKeys::generate()
            .sign(SESSION_TOKEN_TYP, &claims(60))
            .unwrap();
        assert!(
            keys.verify::<SessionClaims>(SESSION_TOKEN_TYP, &other, NOW)
                .is_err()
        );
        let typed = keys.sign("consent+jwt", &claims(60)).unwrap();
        assert!(
            keys.verify::<SessionClaims>(SESSION_TOKEN_TYP, &typed, NOW)
                .is_err()
        );
        for i in 0..token.len() {
            let mut bytes = token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let Ok(tampered) = String::from_utf8(bytes) else {
                continue;
            };
            if tampered == token {
                continue;
            }
            assert!(
                keys.verify::<SessionClaims>(SESSION_TOKEN_TYP, &tampered, NOW)
                    .is_err(),
                "byte {i} changed and still accepted"
            );
        }
    }

    /// The token with its signature's `s` replaced by `n - s`: the same signature to ECDSA.
    fn with_high_s(token: &str) -> String {
        let (signed_part, encoded) = token.rsplit_once('.').unwrap();
        let signature = decode_signature(encoded).unwrap();
        let (r, s) = (signature.r(), signature.s());
        let high = p256::ecdsa::Signature::from_scalars(r.to_bytes(), (-*s).to_bytes()).unwrap();
        format!("{signed_part}.{}", URL_SAFE_NO_PAD.encode(high.to_bytes()))
    }

    #[test]
    fn every_token_is_signed_in_low_s_form_and_its_high_s_twin_is_refused() {
        let keys = SigningKeys::generate();
        // ECDSA's nonce is random, so about half of the raw signatures come out high-S.
        for _ in 0..32 {
            let token = keys.sign(SESSION_TOKEN_TYP, &claims(60)).unwrap();
            assert!(signature_of(&token).unwrap().normalize_s().is_none());
            assert!(
                keys.verify::<SessionClaims>(SESSION_TOKEN_TYP, &token, NOW)
                    .is_ok()
            );
            let twin = with_high_s(&token);
            assert_ne!(twin, token);
            assert!(
                keys.verify::<SessionClaims>(SESSION_TOKEN_TYP, &twin, NOW)
                    .is_err()
            );
        }
    }

    #[test]
    fn expiry_is_judged_by_the_clock_it_is_given() {
        let keys = SigningKeys::generate();
        let token = keys.sign(SESSION_TOKEN_TYP, &claims(60)).unwrap();
        let at = |secs| NOW + time::Duration::seconds(secs);
        assert!(
            keys.verify::<SessionClaims>(SESSION_TOKEN_TYP, &token, at(60))
                .is_ok()
        );
        assert!(
            keys.verify::<SessionClaims>(SESSION_TOKEN_TYP, &token, at(61))
                .is_err()
        );
    }

    #[test]
    fn a_consent_token_is_refused_before_nbf_and_after_exp_beyond_the_leeway() {
        let keys = SigningKeys::generate();
        let now = NOW.unix_timestamp();
        let claims = assent_consent::token::ConsentClaims {
            jti: uuid::Uuid::new_v4().to_string(),
            sub: uuid::Uuid::new_v4().to_string(),
            aud: uuid::Uuid::new_v4().to_string(),
            iss: "assent".into(),
            iat: now,
            nbf: now + 100,
            exp: now + 200,
            views: Vec::new(),
            entitlements: Vec::new(),
            created_by_user_id: String::new(),
        };
        let token = keys.sign("consent+jwt", &claims).unwrap();
        let verify = |secs| {
            keys.verify_with_leeway::<assent_consent::token::ConsentClaims>(
                "consent+jwt",
                &token,
                5,
                NOW + time::Duration::seconds(secs),
            )
        };
        assert!(verify(94).is_err());
        assert!(verify(95).is_ok());
        assert!(verify(205).is_ok());
        assert!(verify(206).is_err());
    }

    #[test]
    fn pepper_is_created_once_and_reused() {
        let dir = std::env::temp_dir().join(format!("assent-keys-{}", uuid::Uuid::new_v4()));
        let a = load_pepper(None, &dir).unwrap();
        let b = load_pepper(None, &dir).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 32);
        let k1 = SigningKeys::load(None, &dir).unwrap();
        let k2 = SigningKeys::load(None, &dir).unwrap();
        assert_eq!(k1.kid(), k2.kid());
        assert!(load_pepper(Some(&dir.join("nope")), &dir).is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
