//! DAuth verification: RS256 only, with the configured public key; callers only from the
//! allowed hosts. Off unless `dauth_enabled`.

use crate::config::Config;
use crate::state::StartError;
use assent_identity::dauth::{DAuthClaims, DAuthError, DAuthRequest, check};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use std::net::IpAddr;
use time::{Duration, OffsetDateTime};

/// Why a DAuth header was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DAuthRefusal {
    /// The caller's address is not in `dauth_allowed_hosts`.
    HostNotAllowed,
    /// Not an RS256 JWT signed by the configured key, or its claims are malformed.
    InvalidToken,
    /// The timestamp is outside the window.
    Stale,
}

pub struct DAuthVerifier {
    key: DecodingKey,
    allowed_hosts: Vec<IpAddr>,
    pub window: Duration,
}

impl std::fmt::Debug for DAuthVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DAuthVerifier")
            .field("allowed_hosts", &self.allowed_hosts)
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}

impl DAuthVerifier {
    /// The verifier, if DAuth is enabled.
    pub fn from_config(config: &Config) -> Result<Option<Self>, StartError> {
        if !config.dauth_enabled {
            return Ok(None);
        }
        let path = config
            .dauth_public_key_file
            .as_ref()
            .ok_or_else(|| StartError::Other("dauth_public_key_file is required".into()))?;
        let pem = std::fs::read(path)
            .map_err(|e| StartError::Other(format!("{}: {e}", path.display())))?;
        let key = DecodingKey::from_rsa_pem(&pem)
            .map_err(|e| StartError::Other(format!("{}: {e}", path.display())))?;
        let allowed_hosts = config
            .dauth_allowed_hosts
            .iter()
            .map(|h| {
                h.parse()
                    .map_err(|_| StartError::Other(format!("dauth_allowed_hosts: {h}")))
            })
            .collect::<Result<_, _>>()?;
        Ok(Some(Self {
            key,
            allowed_hosts,
            window: Duration::seconds(
                i64::try_from(config.dauth_timestamp_window_secs).unwrap_or(300),
            ),
        }))
    }

    /// Checks the caller's address, then the token: RS256 and nothing else (so `none`, HS256
    /// signed with the public key as its secret, and every other algorithm fail), then the
    /// claims at `now`.
    pub fn verify(
        &self,
        peer: Option<IpAddr>,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<DAuthRequest, DAuthRefusal> {
        if !peer.is_some_and(|ip| self.allowed_hosts.contains(&ip)) {
            return Err(DAuthRefusal::HostNotAllowed);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| DAuthRefusal::InvalidToken)?;
        if header.alg != Algorithm::RS256 {
            return Err(DAuthRefusal::InvalidToken);
        }
        let mut validation = Validation::new(Algorithm::RS256);
        // Freshness is the timestamp claim's job (checked against the window below).
        validation.validate_exp = false;
        validation.set_required_spec_claims::<&str>(&[]);
        let claims = jsonwebtoken::decode::<DAuthClaims>(token, &self.key, &validation)
            .map_err(|_| DAuthRefusal::InvalidToken)?
            .claims;
        check(claims, now, self.window).map_err(|e| match e {
            DAuthError::Malformed => DAuthRefusal::InvalidToken,
            DAuthError::Stale => DAuthRefusal::Stale,
        })
    }
}

/// The size in bits of the modulus of an RSA public key in PEM (`PUBLIC KEY`, as X.509
/// SubjectPublicKeyInfo, or `RSA PUBLIC KEY`, as PKCS#1); `None` for anything else.
pub fn rsa_modulus_bits(pem_text: &[u8]) -> Option<u64> {
    use simple_asn1::{ASN1Block, from_der};
    let block = pem::parse(pem_text).ok()?;
    let pkcs1 = match block.tag() {
        "RSA PUBLIC KEY" => block.contents().to_vec(),
        "PUBLIC KEY" => match from_der(block.contents()).ok()?.first()? {
            ASN1Block::Sequence(_, fields) => match fields.get(1)? {
                ASN1Block::BitString(_, _, key) => key.clone(),
                _ => return None,
            },
            _ => return None,
        },
        _ => return None,
    };
    match from_der(&pkcs1).ok()?.first()? {
        ASN1Block::Sequence(_, fields) => match fields.first()? {
            ASN1Block::Integer(_, modulus) => Some(modulus.bits()),
            _ => None,
        },
        _ => None,
    }
}
