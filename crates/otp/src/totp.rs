//! Time-based one-time passwords (RFC 6238) for authenticator apps.
//!
//! Enrolment makes a 160-bit secret and its `otpauth://` URI. Verification accepts the code of
//! the current 30-second step or of the one before (a little clock drift, never the future),
//! and returns the matched step so the caller can store it and refuse any step at or below it:
//! a code accepted once is never accepted again.

use data_encoding::BASE32_NOPAD;
use hmac::{Hmac, Mac};
use rand_core::CryptoRng;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

/// Seconds per step.
pub const STEP_SECONDS: i64 = 30;

/// The HMAC behind the codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotpAlgorithm {
    /// HMAC-SHA1, what most authenticator apps use.
    Sha1,
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA512.
    Sha512,
}

impl TotpAlgorithm {
    /// The name used in `otpauth://` URIs and in storage.
    pub fn name(self) -> &'static str {
        match self {
            TotpAlgorithm::Sha1 => "SHA1",
            TotpAlgorithm::Sha256 => "SHA256",
            TotpAlgorithm::Sha512 => "SHA512",
        }
    }

    /// The algorithm named by [`TotpAlgorithm::name`].
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "SHA1" => Some(TotpAlgorithm::Sha1),
            "SHA256" => Some(TotpAlgorithm::Sha256),
            "SHA512" => Some(TotpAlgorithm::Sha512),
            _ => None,
        }
    }
}

/// Fewest digits per code.
pub const MIN_DIGITS: u32 = 6;
/// Most digits per code (RFC 4226 allows up to 8; more would exceed the 31 bits truncated
/// from the HMAC).
pub const MAX_DIGITS: u32 = 8;

/// An enrolled authenticator: its secret and parameters. `Debug` hides the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret {
    secret: Vec<u8>,
    algorithm: TotpAlgorithm,
    digits: u32,
}

/// Parameters no authenticator can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidTotpSecret {
    /// Codes must have 6 to 8 digits.
    #[error("a TOTP code has 6 to 8 digits, not {0}")]
    Digits(u32),
    /// An empty key.
    #[error("a TOTP secret cannot be empty")]
    EmptySecret,
}

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpSecret")
            .field("algorithm", &self.algorithm)
            .field("digits", &self.digits)
            .finish_non_exhaustive()
    }
}

/// Why a TOTP code was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TotpError {
    /// Not digits of the right length.
    #[error("malformed code")]
    Malformed,
    /// Not the code of the current or previous step.
    #[error("wrong code")]
    Wrong,
    /// The code of a step already used.
    #[error("code already used")]
    Replayed,
}

fn hmac_digest(algorithm: TotpAlgorithm, key: &[u8], message: &[u8]) -> Vec<u8> {
    fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], message: &[u8]) -> Vec<u8> {
        match <M as hmac::digest::KeyInit>::new_from_slice(key) {
            Ok(mut mac) => {
                mac.update(message);
                mac.finalize().into_bytes().to_vec()
            }
            Err(_) => Vec::new(),
        }
    }
    match algorithm {
        TotpAlgorithm::Sha1 => run::<Hmac<sha1::Sha1>>(key, message),
        TotpAlgorithm::Sha256 => run::<Hmac<sha2::Sha256>>(key, message),
        TotpAlgorithm::Sha512 => run::<Hmac<sha2::Sha512>>(key, message),
    }
}

impl TotpSecret {
    /// A new 160-bit secret with the usual parameters (SHA-1, 6 digits).
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        let mut secret = vec![0u8; 20];
        rng.fill_bytes(&mut secret);
        Self {
            secret,
            algorithm: TotpAlgorithm::Sha1,
            digits: 6,
        }
    }

    /// A secret from its raw bytes (as stored), with its parameters: codes of
    /// [`MIN_DIGITS`] to [`MAX_DIGITS`] digits, from a non-empty key.
    pub fn from_bytes(
        secret: Vec<u8>,
        algorithm: TotpAlgorithm,
        digits: u32,
    ) -> Result<Self, InvalidTotpSecret> {
        if !(MIN_DIGITS..=MAX_DIGITS).contains(&digits) {
            return Err(InvalidTotpSecret::Digits(digits));
        }
        if secret.is_empty() {
            return Err(InvalidTotpSecret::EmptySecret);
        }
        Ok(Self {
            secret,
            algorithm,
            digits,
        })
    }

    /// The HMAC.
    pub fn algorithm(&self) -> TotpAlgorithm {
        self.algorithm
    }

    /// Digits per code (6 to 8).
    pub fn digits(&self) -> u32 {
        self.digits
    }

    /// The raw secret, to store (encrypted or with database access restricted: it is a key).
    pub fn expose_bytes(&self) -> &[u8] {
        &self.secret
    }

    /// The `otpauth://` URI an authenticator app scans, shown once at enrolment.
    pub fn uri(&self, issuer: &str, account: &str) -> String {
        format!(
            "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm={}&digits={}&period={}",
            percent_encode(issuer),
            percent_encode(account),
            BASE32_NOPAD.encode(&self.secret),
            percent_encode(issuer),
            self.algorithm.name(),
            self.digits,
            STEP_SECONDS
        )
    }

    /// The step that `at` falls in.
    pub fn step(at: OffsetDateTime) -> u64 {
        u64::try_from(at.unix_timestamp().div_euclid(STEP_SECONDS)).unwrap_or(0)
    }

    /// The code of a step (RFC 4226 dynamic truncation).
    pub fn code_at_step(&self, step: u64) -> String {
        let digest = hmac_digest(self.algorithm, &self.secret, &step.to_be_bytes());
        let offset = digest.last().map_or(0, |b| usize::from(b & 0x0f));
        let value = digest
            .get(offset..offset + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map_or(0, |b| u32::from_be_bytes(b) & 0x7fff_ffff);
        let modulus = 10u32.pow(self.digits);
        format!("{:0width$}", value % modulus, width = self.digits as usize)
    }

    /// Checks `code` at `now`: the current step, or the previous one. Any step at or below
    /// `last_used_step` is refused. Returns the matched step, to be stored as the new last one.
    pub fn verify(
        &self,
        code: &str,
        now: OffsetDateTime,
        last_used_step: Option<u64>,
    ) -> Result<u64, TotpError> {
        if code.len() != self.digits as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TotpError::Malformed);
        }
        let current = Self::step(now);
        let mut replayed = false;
        for step in [current, current.saturating_sub(1)] {
            let expected = self.code_at_step(step);
            if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) {
                if last_used_step.is_some_and(|last| step <= last) {
                    replayed = true;
                    continue;
                }
                return Ok(step);
            }
        }
        Err(if replayed {
            TotpError::Replayed
        } else {
            TotpError::Wrong
        })
    }
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(unix: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(unix).unwrap()
    }

    /// RFC 6238 Appendix B, every vector.
    #[test]
    fn rfc_6238_test_vectors() {
        let sha1 = TotpSecret::from_bytes(b"12345678901234567890".to_vec(), TotpAlgorithm::Sha1, 8)
            .unwrap();
        let sha256 = TotpSecret::from_bytes(
            b"12345678901234567890123456789012".to_vec(),
            TotpAlgorithm::Sha256,
            8,
        )
        .unwrap();
        let sha512 = TotpSecret::from_bytes(
            b"1234567890123456789012345678901234567890123456789012345678901234".to_vec(),
            TotpAlgorithm::Sha512,
            8,
        )
        .unwrap();
        let vectors = [
            (59, "94287082", "46119246", "90693936"),
            (1_111_111_109, "07081804", "68084774", "25091201"),
            (1_111_111_111, "14050471", "67062674", "99943326"),
            (1_234_567_890, "89005924", "91819424", "93441116"),
            (2_000_000_000, "69279037", "90698825", "38618901"),
            (20_000_000_000, "65353130", "77737706", "47863826"),
        ];
        for (time, one, two_five_six, five_twelve) in vectors {
            let step = TotpSecret::step(at(time));
            assert_eq!(sha1.code_at_step(step), one, "SHA1 at {time}");
            assert_eq!(sha256.code_at_step(step), two_five_six, "SHA256 at {time}");
            assert_eq!(sha512.code_at_step(step), five_twelve, "SHA512 at {time}");
        }
    }

    #[test]
    fn current_and_previous_steps_only_and_never_twice() {
        let secret = TotpSecret::generate(&mut rand::rng());
        let now = at(1_800_000_015);
        let step = TotpSecret::step(now);
        let current = secret.code_at_step(step);
        let previous = secret.code_at_step(step - 1);
        let next = secret.code_at_step(step + 1);
        let old = secret.code_at_step(step - 2);
        assert_eq!(secret.verify(&previous, now, None), Ok(step - 1));
        assert_eq!(secret.verify(&current, now, Some(step - 1)), Ok(step));
        assert_eq!(
            secret.verify(&current, now, Some(step)),
            Err(TotpError::Replayed)
        );
        assert_eq!(
            secret.verify(&previous, now, Some(step)),
            Err(TotpError::Replayed)
        );
        if next != current && next != previous {
            assert_eq!(secret.verify(&next, now, None), Err(TotpError::Wrong));
        }
        if old != current && old != previous {
            assert_eq!(secret.verify(&old, now, None), Err(TotpError::Wrong));
        }
        assert_eq!(secret.verify("12345", now, None), Err(TotpError::Malformed));
    }

    #[test]
    fn parameters_are_bounded() {
        let key = || b"12345678901234567890".to_vec();
        for digits in [0, 5, 9, 10, u32::MAX] {
            assert_eq!(
                TotpSecret::from_bytes(key(), TotpAlgorithm::Sha1, digits),
                Err(InvalidTotpSecret::Digits(digits))
            );
        }
        assert_eq!(
            TotpSecret::from_bytes(Vec::new(), TotpAlgorithm::Sha1, 6),
            Err(InvalidTotpSecret::EmptySecret)
        );
        for digits in MIN_DIGITS..=MAX_DIGITS {
            let secret = TotpSecret::from_bytes(key(), TotpAlgorithm::Sha512, digits).unwrap();
            assert_eq!(secret.code_at_step(u64::MAX).len(), digits as usize);
        }
    }

    proptest::proptest! {
        /// Whatever parameters are asked for, a secret that can be made takes only a code of
        /// its own length: an empty, shorter or longer answer is malformed, and another code
        /// of the right length is never the current one.
        #[test]
        fn no_secret_lets_a_short_or_wrong_code_verify(
            digits in 0u32..20,
            key in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
            unix in 0i64..4_000_000_000,
            answer in "[0-9]{0,12}",
        ) {
            let Ok(secret) = TotpSecret::from_bytes(key, TotpAlgorithm::Sha1, digits) else {
                return Ok(());
            };
            let now = at(unix);
            let step = TotpSecret::step(now);
            let current = secret.code_at_step(step);
            proptest::prop_assert_eq!(current.len(), digits as usize);
            for n in 0..current.len() {
                proptest::prop_assert_eq!(
                    secret.verify(&current[..n], now, None),
                    Err(TotpError::Malformed)
                );
            }
            proptest::prop_assert_eq!(
                secret.verify(&format!("{current}0"), now, None),
                Err(TotpError::Malformed)
            );
            let previous = secret.code_at_step(step.saturating_sub(1));
            if answer != current && answer != previous {
                proptest::prop_assert!(secret.verify(&answer, now, None).is_err());
            }
        }
    }

    #[test]
    fn enrolment_uri_and_secret_size() {
        let secret = TotpSecret::generate(&mut rand::rng());
        assert_eq!(secret.expose_bytes().len(), 20);
        let uri = secret.uri("Assent Bank", "felix@example.com");
        assert!(
            uri.starts_with("otpauth://totp/Assent%20Bank:felix%40example.com?secret="),
            "{uri}"
        );
        assert!(
            uri.ends_with("&issuer=Assent%20Bank&algorithm=SHA1&digits=6&period=30"),
            "{uri}"
        );
        let encoded = uri
            .split("secret=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap();
        assert_eq!(encoded.len(), 32, "160 bits in base32");
        assert_eq!(
            BASE32_NOPAD.decode(encoded.as_bytes()).unwrap(),
            secret.expose_bytes()
        );
        assert!(!format!("{secret:?}").contains(encoded));
    }
}
