//! API consumers: the applications that call the API. Each has a key, shown once at creation
//! and stored only as a keyed hash.

use crate::rate_limit::CallLimits;
use crate::secret::SecretString;
use hmac::{Hmac, Mac};
use rand_core::CryptoRng;
use sha2::Sha256;
use uuid::Uuid;

/// Characters of a consumer key: lower-case letters and digits (URL- and header-safe).
const KEY_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
/// Length of a consumer key: 40 characters of a 36-letter alphabet, about 206 bits.
pub const CONSUMER_KEY_LEN: usize = 40;
/// Longest consumer name accepted.
pub const MAX_CONSUMER_NAME_CHARS: usize = 100;

/// Generates a random secret of `len` characters from `alphabet`, without modulo bias.
pub fn random_token(rng: &mut impl CryptoRng, alphabet: &[u8], len: usize) -> SecretString {
    let alphabet_len = alphabet.len();
    // Largest multiple of the alphabet's size below 256: bytes at or above it are redrawn.
    let limit = 256 - (256 % alphabet_len);
    let mut out = String::with_capacity(len);
    while out.len() < len {
        let mut byte = [0u8; 1];
        rng.fill_bytes(&mut byte);
        let value = usize::from(byte[0]);
        if value < limit
            && let Some(&c) = alphabet.get(value % alphabet_len)
        {
            out.push(char::from(c));
        }
    }
    SecretString::new(out)
}

/// Generates a new consumer key.
pub fn generate_consumer_key(rng: &mut impl CryptoRng) -> SecretString {
    random_token(rng, KEY_ALPHABET, CONSUMER_KEY_LEN)
}

/// Keyed hashing of high-entropy secrets (API keys, tokens) with a server-side pepper, so a
/// stolen database alone does not let anyone use the stored keys, or even test guesses.
#[derive(Clone)]
pub struct SecretHasher {
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for SecretHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretHasher([redacted])")
    }
}

impl SecretHasher {
    /// A hasher keyed by the server's pepper (at least 32 bytes).
    pub fn new(pepper: &[u8]) -> Result<Self, PepperTooShort> {
        if pepper.len() < 32 {
            return Err(PepperTooShort);
        }
        let mac = Hmac::<Sha256>::new_from_slice(pepper).map_err(|_| PepperTooShort)?;
        Ok(Self { mac })
    }

    /// HMAC-SHA256 of the secret under a domain label, hex-encoded. The label keeps hashes of
    /// different kinds of secret apart.
    pub fn hash(&self, label: &str, secret: &SecretString) -> String {
        let mut mac = self.mac.clone();
        mac.update(label.as_bytes());
        mac.update(&[0]);
        mac.update(secret.expose().as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

/// The pepper is shorter than 32 bytes.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the secret pepper must be at least 32 bytes")]
pub struct PepperTooShort;

/// The hashing label of consumer keys.
pub const CONSUMER_KEY_LABEL: &str = "consumer-key";

/// The hashing label of system callers' API keys (made like consumer keys, kept apart by the
/// label so one can never pass as the other).
pub const SYSTEM_KEY_LABEL: &str = "system-key";

/// A registered consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumer {
    /// Stable id.
    pub consumer_id: Uuid,
    /// Display name (OBP's `app_name`).
    pub name: String,
    /// Only enabled consumers may call the API.
    pub enabled: bool,
    /// What the app is for.
    pub description: String,
    /// Who to contact about it.
    pub developer_email: String,
    /// Where OAuth-style flows return to; empty if none.
    pub redirect_url: String,
    /// The user who registered it (none when made with the CLI).
    pub created_by_user_id: Option<Uuid>,
    /// Its call limits.
    pub call_limits: CallLimits,
}

impl Consumer {
    /// An enabled consumer with no limits and nothing but a name.
    pub fn new(consumer_id: Uuid, name: String) -> Self {
        Self {
            consumer_id,
            name,
            enabled: true,
            description: String::new(),
            developer_email: String::new(),
            redirect_url: String::new(),
            created_by_user_id: None,
            call_limits: CallLimits::UNLIMITED,
        }
    }
}

/// Why a consumer name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("consumer name must be 1 to 100 characters with no control characters")]
pub struct InvalidConsumerName;

/// Checks and trims a consumer's name.
pub fn validate_consumer_name(name: &str) -> Result<String, InvalidConsumerName> {
    let trimmed = name.trim();
    let len = trimmed.chars().count();
    if len == 0 || len > MAX_CONSUMER_NAME_CHARS || trimmed.chars().any(char::is_control) {
        return Err(InvalidConsumerName);
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{SeedableRng, rngs::StdRng};

    #[test]
    fn keys_are_long_and_from_the_alphabet() {
        let key = generate_consumer_key(&mut rand::rng());
        assert_eq!(key.expose().len(), CONSUMER_KEY_LEN);
        assert!(key.expose().bytes().all(|b| KEY_ALPHABET.contains(&b)));
        assert_ne!(key, generate_consumer_key(&mut rand::rng()));
    }

    #[test]
    fn tokens_are_uniform_over_the_alphabet() {
        let mut rng = StdRng::seed_from_u64(7);
        let sample = random_token(&mut rng, b"0123456789", 100_000);
        let mut counts = [0usize; 10];
        for b in sample.expose().bytes() {
            counts[usize::from(b - b'0')] += 1;
        }
        for count in counts {
            assert!((9_500..10_500).contains(&count), "{counts:?}");
        }
    }

    #[test]
    fn hashes_depend_on_pepper_label_and_secret() {
        let a = SecretHasher::new(&[1u8; 32]).unwrap();
        let b = SecretHasher::new(&[2u8; 32]).unwrap();
        let key = SecretString::from("abc");
        assert_eq!(a.hash("x", &key), a.hash("x", &key));
        assert_ne!(a.hash("x", &key), b.hash("x", &key));
        assert_ne!(a.hash("x", &key), a.hash("y", &key));
        assert_ne!(a.hash("x", &key), a.hash("x", &SecretString::from("abd")));
        assert_eq!(a.hash("x", &key).len(), 64);
        assert!(SecretHasher::new(&[0u8; 16]).is_err());
        assert_eq!(format!("{a:?}"), "SecretHasher([redacted])");
    }

    #[test]
    fn consumer_names() {
        assert_eq!(validate_consumer_name("  My App ").unwrap(), "My App");
        assert!(validate_consumer_name("").is_err());
        assert!(validate_consumer_name(&"x".repeat(101)).is_err());
    }
}
