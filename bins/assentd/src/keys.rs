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

/// The server pepper: 32 random bytes, hex-encoded in a file, created on first start.
pub fn load_pepper(explicit: Option<&Path>, data_dir: &Path) -> Result<Vec<u8>, KeyError> {
    let default = data_dir.join("pepper.hex");
    let path = explicit.unwrap_or(&default).to_owned();
    let text = load_or_create(explicit, &default, || {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Ok(hex(&bytes).into_bytes())
    })?;
    parse_pepper(text, &path)
}

/// The pepper the server created, never a new one: the command line must hash and seal as the
/// server does, so a missing file is an error that says where it was looked for.
pub fn read_pepper(explicit: Option<&Path>, data_dir: &Path) -> Result<Vec<u8>, KeyError> {
    let default = data_dir.join("pepper.hex");
    let path = explicit.unwrap_or(&default).to_owned();
    let text = std::fs::read(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            file_error(
                &path,
                "no pepper here: admin commands use the server's, so give them the server's \
                 data directory (ASSENT_DATA_DIR) or ASSENT_PEPPER_FILE; `assentd serve` or \
                 `assentd migrate` creates it on first start",
            )
        } else {
            file_error(&path, e)
        }
    })?;
    parse_pepper(text, &path)
}

fn parse_pepper(text: Vec<u8>, path: &Path) -> Result<Vec<u8>, KeyError> {
    let path = path.to_owned();
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

/// A P-256 key pair, with its RFC 7638 thumbprint as key id.
pub struct KeyPair {
    kid: String,
    pem: String,
    x: String,
    y: String,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl KeyPair {
    /// A fresh random key.
    pub fn generate() -> Result<Self, KeyError> {
        let secret = generate_p256();
        let pem = secret
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| file_error(Path::new("new signing key"), e))?;
        Self::from_pem(&pem, Path::new("new signing key"))
    }

    /// The PKCS#8 PEM key at `explicit`, or at `<data_dir>/signing-key.pem`, generating the
    /// latter on first start.
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
        Self::from_pem(&pem, &path)
    }

    /// The key in `pem` (`source` names it in errors).
    pub fn from_pem(pem: &str, source: &Path) -> Result<Self, KeyError> {
        let secret = p256::SecretKey::from_pkcs8_pem(pem)
            .map_err(|e| file_error(source, format!("not a P-256 PKCS#8 PEM key: {e}")))?;
        let point = secret.public_key().to_encoded_point(false);
        let (Some(x), Some(y)) = (point.x(), point.y()) else {
            return Err(file_error(source, "public key has no affine coordinates"));
        };
        let x = URL_SAFE_NO_PAD.encode(x);
        let y = URL_SAFE_NO_PAD.encode(y);
        // RFC 7638 thumbprint: members in lexicographic order, no whitespace.
        let thumbprint_input = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(thumbprint_input.as_bytes()));
        Ok(Self {
            kid,
            pem: pem.to_owned(),
            x,
            y,
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The private key, PKCS#8 PEM.
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// The public point, base64url `(x, y)`.
    pub fn public_point(&self) -> (&str, &str) {
        (&self.x, &self.y)
    }
}

/// One key of the ring, as every replica reads it: the public point always, the private key
/// while the key may sign.
#[derive(Debug)]
pub struct RingKey {
    pub kid: String,
    pub x: String,
    pub y: String,
    pub private_pem: Option<String>,
    /// From when it signs new tokens (until the next key's time).
    pub signs_from: OffsetDateTime,
}

/// The keys in use at one moment: the one that signs, and every one that may have signed a
/// token still live. Rebuilt from the ring whenever the ring is read again.
pub struct SigningKeys {
    kid: String,
    encoding: EncodingKey,
    verifiers: Vec<(String, DecodingKey)>,
    jwks: serde_json::Value,
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeys")
            .field("kid", &self.kid)
            .field("verifiers", &self.verifiers.len())
            .finish_non_exhaustive()
    }
}

/// The ring holds no key that may sign at this moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no signing key is active")]
pub struct NoActiveKey;

/// What a ring means at a moment: which key signs (the latest whose time has come and whose
/// private half is there), which are published (every key that may still have signed a live
/// token: a key retires when the next one starts signing and is published for
/// `longest_token_lifetime` more; keys whose time has not come yet are published ahead).
pub fn ring_at(
    ring: &[RingKey],
    now: OffsetDateTime,
    longest_token_lifetime: time::Duration,
) -> Result<(usize, Vec<usize>), NoActiveKey> {
    let mut order: Vec<usize> = (0..ring.len()).collect();
    order.sort_by(|&a, &b| {
        (ring[a].signs_from, &ring[a].kid).cmp(&(ring[b].signs_from, &ring[b].kid))
    });
    let signer = order
        .iter()
        .rev()
        .copied()
        .find(|&i| ring[i].signs_from <= now && ring[i].private_pem.is_some())
        .ok_or(NoActiveKey)?;
    let published = order
        .iter()
        .enumerate()
        .filter(|&(position, _)| {
            let retired_at = order.get(position + 1).map(|&next| ring[next].signs_from);
            retired_at.is_none_or(|retired| retired + longest_token_lifetime > now)
        })
        .map(|(_, &i)| i)
        .collect();
    Ok((signer, published))
}

impl SigningKeys {
    /// The keys of the PEM file at `explicit` or `<data_dir>/signing-key.pem` alone.
    pub fn load(explicit: Option<&Path>, data_dir: &Path) -> Result<Self, KeyError> {
        Self::single(&KeyPair::load(explicit, data_dir)?)
    }

    /// `pair` signing and verifying alone.
    pub fn single(pair: &KeyPair) -> Result<Self, KeyError> {
        let ring = [RingKey {
            kid: pair.kid.clone(),
            x: pair.x.clone(),
            y: pair.y.clone(),
            private_pem: Some(pair.pem.clone()),
            signs_from: OffsetDateTime::UNIX_EPOCH,
        }];
        Self::from_ring(&ring, OffsetDateTime::UNIX_EPOCH, time::Duration::ZERO)
    }

    /// The keys of `ring` at `now` (see [`ring_at`]).
    pub fn from_ring(
        ring: &[RingKey],
        now: OffsetDateTime,
        longest_token_lifetime: time::Duration,
    ) -> Result<Self, KeyError> {
        let (signer, published) = ring_at(ring, now, longest_token_lifetime)
            .map_err(|e| file_error(Path::new("signing key ring"), e))?;
        let signing = &ring[signer];
        let pem = signing.private_pem.as_deref().unwrap_or_default();
        let encoding = EncodingKey::from_ec_pem(pem.as_bytes())?;
        let mut verifiers = Vec::with_capacity(published.len());
        let mut jwks = Vec::with_capacity(published.len());
        for i in published {
            let key = &ring[i];
            verifiers.push((
                key.kid.clone(),
                DecodingKey::from_ec_components(&key.x, &key.y)?,
            ));
            jwks.push(serde_json::json!({
                "kty": "EC", "crv": "P-256", "x": key.x, "y": key.y,
                "kid": key.kid, "alg": "ES256", "use": "sig",
            }));
        }
        Ok(Self {
            kid: signing.kid.clone(),
            encoding,
            verifiers,
            jwks: serde_json::json!({ "keys": jwks }),
        })
    }

    /// A fresh in-memory key (tests and fuzzing).
    #[cfg(any(test, feature = "fuzzing"))]
    pub fn generate() -> Self {
        Self::single(&KeyPair::generate().expect("key")).expect("key")
    }

    /// The id of the key that signs.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The published public keys as a JWKS document.
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

    /// Verifies a JWT of type `typ` signed by one of our published keys: the algorithm is
    /// pinned to ES256 (so `none` and HMAC-with-the-public-key confusion fail), `typ` must
    /// match and `kid` name a published key, and `exp` (and `nbf`, if the claims have one) are
    /// checked against `now` (the server's clock) without leeway.
    pub fn verify<T: DeserializeOwned + TimeBound>(
        &self,
        typ: &str,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<T, InvalidToken> {
        self.decode(typ, token, &["exp", "iat", "sub"], 0, now)
    }

    /// Checks the form, the signature and the required claims, then the validity window with
    /// `leeway` seconds either side. The library would read the system clock, so the times are
    /// checked here; the audience is the caller's to check (it knows whom it expects).
    fn decode<T: DeserializeOwned + TimeBound>(
        &self,
        typ: &str,
        token: &str,
        required: &[&str],
        leeway: i64,
        now: OffsetDateTime,
    ) -> Result<T, InvalidToken> {
        let decoding = self.check_form(typ, token)?;
        let mut validation = Validation::new(Algorithm::ES256);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.set_required_spec_claims(required);
        let claims = jsonwebtoken::decode::<T>(token, decoding, &validation)
            .map(|data| data.claims)
            .map_err(|_| InvalidToken)?;
        within_time(&claims, now, leeway)?;
        Ok(claims)
    }
}

/// The signing keys as this process last read them from the ring, replaced whole when the ring
/// is read again (a rotation, or the periodic refresh that lets every replica see one).
pub struct KeyStore {
    current: std::sync::RwLock<std::sync::Arc<SigningKeys>>,
}

impl std::fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyStore")
            .field("current", &self.current())
            .finish()
    }
}

impl KeyStore {
    pub fn new(keys: SigningKeys) -> Self {
        Self {
            current: std::sync::RwLock::new(std::sync::Arc::new(keys)),
        }
    }

    /// The keys now in use.
    pub fn current(&self) -> std::sync::Arc<SigningKeys> {
        match self.current.read() {
            Ok(keys) => std::sync::Arc::clone(&keys),
            Err(poisoned) => std::sync::Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Puts `keys` in use from now on.
    pub fn replace(&self, keys: SigningKeys) {
        let keys = std::sync::Arc::new(keys);
        match self.current.write() {
            Ok(mut current) => *current = keys,
            Err(poisoned) => *poisoned.into_inner() = keys,
        }
    }

    /// See [`SigningKeys::sign`].
    pub fn sign(&self, typ: &str, claims: &impl Serialize) -> Result<String, KeyError> {
        self.current().sign(typ, claims)
    }

    /// See [`SigningKeys::verify`].
    pub fn verify<T: DeserializeOwned + TimeBound>(
        &self,
        typ: &str,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<T, InvalidToken> {
        self.current().verify(typ, token, now)
    }

    /// See [`SigningKeys::verify_with_leeway`].
    pub fn verify_with_leeway<T: DeserializeOwned + TimeBound>(
        &self,
        typ: &str,
        token: &str,
        leeway_secs: u64,
        now: OffsetDateTime,
    ) -> Result<T, InvalidToken> {
        self.current()
            .verify_with_leeway(typ, token, leeway_secs, now)
    }

    /// See [`SigningKeys::jwks`].
    pub fn jwks(&self) -> serde_json::Value {
        self.current().jwks().clone()
    }

    /// See [`SigningKeys::kid`].
    pub fn kid(&self) -> String {
        self.current().kid().to_owned()
    }
}

/// Why a token was refused. Deliberately coarse: callers answer every case the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid token")]
pub struct InvalidToken;

impl SigningKeys {
    /// What can be checked before the signature: the header pins ES256 and the expected `typ`
    /// and names a published key (whose verifier it answers), and the signature's `s` lies in
    /// the lower half of the group order. ECDSA accepts both `s` and `n - s`, so without that
    /// rule every token would have a second valid spelling, and a revocation or replay list
    /// keyed on the string could be sidestepped.
    fn check_form(&self, typ: &str, token: &str) -> Result<&DecodingKey, InvalidToken> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| InvalidToken)?;
        if header.alg != Algorithm::ES256 || header.typ.as_deref() != Some(typ) {
            return Err(InvalidToken);
        }
        let kid = header.kid.ok_or(InvalidToken)?;
        let (_, decoding) = self
            .verifiers
            .iter()
            .find(|(known, _)| *known == kid)
            .ok_or(InvalidToken)?;
        match signature_of(token) {
            Some(signature) if signature.normalize_s().is_none() => Ok(decoding),
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
        self.decode(
            typ,
            token,
            &["exp", "nbf", "iat", "sub", "aud"],
            i64::try_from(leeway_secs).unwrap_or(i64::MAX),
            now,
        )
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
        Some(self.nbf)
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
            iss: "https://bank.example".into(),
            aud: "https://bank.example".into(),
            jti: "a".repeat(32),
            iat: now,
            nbf: now,
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
    fn a_ring_signs_with_the_latest_key_whose_time_has_come_and_publishes_what_may_be_live() {
        let key = |kid: &str, signs_from: i64, private: bool| RingKey {
            kid: kid.into(),
            x: String::new(),
            y: String::new(),
            private_pem: private.then(String::new),
            signs_from: NOW + time::Duration::seconds(signs_from),
        };
        let lifetime = time::Duration::seconds(100);
        let ring = [
            key("c", 50, true),
            key("a", -1000, false),
            key("b", 0, true),
        ];
        let at = |secs| ring_at(&ring, NOW + time::Duration::seconds(secs), lifetime);
        let kids = |(signer, published): (usize, Vec<usize>)| {
            let mut published: Vec<&str> =
                published.iter().map(|&i| ring[i].kid.as_str()).collect();
            published.sort_unstable();
            (ring[signer].kid.clone(), published)
        };
        // "a" retired at 0 and is dropped at 100; "b" signs until "c" starts, published ahead.
        assert_eq!(kids(at(0).unwrap()), ("b".into(), vec!["a", "b", "c"]));
        assert_eq!(kids(at(50).unwrap()), ("c".into(), vec!["a", "b", "c"]));
        assert_eq!(kids(at(100).unwrap()), ("c".into(), vec!["b", "c"]));
        assert_eq!(kids(at(150).unwrap()), ("c".into(), vec!["c"]));
        assert_eq!(
            at(-1).unwrap_err(),
            NoActiveKey,
            "no key with a private half has started"
        );
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
