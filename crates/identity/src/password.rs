//! Passwords: OBP's format rule, a common-password blocklist (NIST SP 800-63B 3.1.1.2) and
//! Argon2id hashing with parameters that can only rise.

use crate::secret::SecretString;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand_core::CryptoRng;

/// Special characters OBP accepts in a short (10 to 16 character) password.
pub const SPECIALS: &str = "!\"#$%&'()*+,-./:;<=>?@\\^_`{|}~";

/// Why a password was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordPolicyError {
    /// The password breaks OBP's format rule (OBP-30207).
    #[error("invalid password format")]
    Format,
    /// The password is on the common-password blocklist or is built from the username.
    #[error("password is too common or too easy to guess")]
    TooCommon,
}

/// Checks OBP's rule, exactly as OBP enforces it:
/// 10 to 16 characters need a digit, a lower-case and an upper-case ASCII letter and one of
/// [`SPECIALS`], and may hold nothing else; 17 to 512 characters may use letters, digits,
/// [`SPECIALS`], `[`, `]` and space, with no composition rule; anything else is refused.
pub fn check_format(password: &str) -> Result<(), PasswordPolicyError> {
    let len = password.chars().count();
    let is_special = |c: char| SPECIALS.contains(c);
    match len {
        10..=16 => {
            let allowed = password
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || is_special(c));
            let has_digit = password.chars().any(|c| c.is_ascii_digit());
            let has_lower = password.chars().any(|c| c.is_ascii_lowercase());
            let has_upper = password.chars().any(|c| c.is_ascii_uppercase());
            let has_special = password.chars().any(is_special);
            if allowed && has_digit && has_lower && has_upper && has_special {
                Ok(())
            } else {
                Err(PasswordPolicyError::Format)
            }
        }
        17..=512 => {
            let allowed = password.chars().all(|c| {
                c.is_ascii_alphanumeric() || is_special(c) || c == '[' || c == ']' || c == ' '
            });
            if allowed {
                Ok(())
            } else {
                Err(PasswordPolicyError::Format)
            }
        }
        _ => Err(PasswordPolicyError::Format),
    }
}

/// Passwords seen again and again in breach corpora, lower-cased. Only entries that can pass
/// [`check_format`] once their case is varied matter; the list is compared case-insensitively
/// and after stripping trailing digits and specials, so `Password123!` and `PASSWORD2024!!`
/// are both caught by `password`.
const COMMON_PASSWORD_STEMS: &[&str] = &[
    "password",
    "passw0rd",
    "p@ssword",
    "p@ssw0rd",
    "pa$$word",
    "pa$$w0rd",
    "qwerty",
    "qwertyuiop",
    "qwerty123",
    "azerty",
    "asdfgh",
    "asdfghjkl",
    "zxcvbnm",
    "letmein",
    "welcome",
    "welc0me",
    "admin",
    "administrator",
    "adm1n",
    "iloveyou",
    "princess",
    "sunshine",
    "football",
    "baseball",
    "dragon",
    "monkey",
    "master",
    "shadow",
    "superman",
    "batman",
    "trustno1",
    "changeme",
    "changeit",
    "secret",
    "login",
    "starwars",
    "whatever",
    "freedom",
    "michael",
    "jennifer",
    "hello",
    "hellohello",
    "abc",
    "abcd",
    "abcdef",
    "abcdefg",
    "abcdefgh",
    "abc123",
    "a1b2c3",
    "123abc",
    "qazwsx",
    "1qaz2wsx",
    "1q2w3e4r",
    "1q2w3e",
    "zaq12wsx",
    "summer",
    "winter",
    "spring",
    "autumn",
    "january",
    "february",
    "march",
    "april",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "monday",
    "friday",
    "bank",
    "banking",
    "mybank",
    "money",
    "account",
    "default",
    "guest",
    "test",
    "testing",
    "temp",
    "temporary",
    "user",
    "username",
    "root",
    "toor",
    "access",
    "computer",
    "internet",
    "mustang",
    "liverpool",
    "chelsea",
    "arsenal",
    "pokemon",
    "charlie",
    "jordan",
    "killer",
    "hunter",
    "ranger",
    "soccer",
    "hockey",
    "cookie",
    "flower",
    "lovely",
    "loveme",
    "blink",
    "ninja",
    "samsung",
    "apple",
    "google",
    "facebook",
    "linkedin",
    "microsoft",
    "example",
    "openbank",
    "obp",
    "assent",
];

/// Whole passwords (lower-cased) that are common even though they are long.
const COMMON_LONG_PASSWORDS: &[&str] = &[
    "correct horse battery staple",
    "correcthorsebatterystaple",
    "the quick brown fox jumps over the lazy dog",
    "thequickbrownfoxjumpsoverthelazydog",
    "1234567890abcdefg",
    "abcdefghijklmnopqrstuvwxyz",
    "qwertyuiopasdfghjkl",
    "qwertyuiopasdfghjklzxcvbnm",
    "12345678901234567",
    "123456789012345678",
    "1234567890123456789",
    "12345678901234567890",
];

/// Refuses passwords that are common, trivially patterned or built from the username
/// (NIST SP 800-63B 3.1.1.2: dictionary words, repetitive or sequential characters,
/// context-specific words).
pub fn check_not_common(password: &str, username: &str) -> Result<(), PasswordPolicyError> {
    let lower = password.to_lowercase();
    if COMMON_LONG_PASSWORDS.contains(&lower.as_str()) {
        return Err(PasswordPolicyError::TooCommon);
    }
    let stem: String = lower
        .trim_end_matches(|c: char| c.is_ascii_digit() || SPECIALS.contains(c) || c == ' ')
        .trim_start_matches(|c: char| c.is_ascii_digit() || SPECIALS.contains(c) || c == ' ')
        .to_owned();
    if stem.is_empty() || COMMON_PASSWORD_STEMS.contains(&stem.as_str()) {
        return Err(PasswordPolicyError::TooCommon);
    }
    let username = username.to_lowercase();
    if username.chars().count() >= 4 && lower.contains(&username) {
        return Err(PasswordPolicyError::TooCommon);
    }
    let distinct: std::collections::BTreeSet<char> = lower.chars().collect();
    if distinct.len() <= 3 {
        return Err(PasswordPolicyError::TooCommon);
    }
    Ok(())
}

/// Argon2id cost parameters. Defaults are OWASP's minimum for Argon2id
/// (m = 19456 KiB, t = 2, p = 1); lower values are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct Argon2Params {
    /// Memory in KiB. Default 19456; at least 19456.
    pub memory_kib: u32,
    /// Passes over memory. Default 2; at least 2.
    pub iterations: u32,
}

impl Default for Argon2Params {
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
        }
    }
}

/// Failure to hash (only with parameters the library refuses).
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Parameters below the floor.
    #[error("argon2 parameters below the minimum (m >= 19456 KiB, t >= 2)")]
    ParamsTooWeak,
    /// Argon2 refused the input or parameters.
    #[error("argon2: {0}")]
    Argon2(String),
}

/// Outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordCheck {
    /// The password is right. `needs_rehash` says the stored hash used weaker parameters than
    /// the current ones, so the caller should store a fresh hash.
    Match {
        /// The stored hash is weaker than the current parameters.
        needs_rehash: bool,
    },
    /// Wrong password, or a stored value that is not a valid hash.
    Mismatch,
}

/// Hashes and verifies passwords with Argon2id (PHC string format).
#[derive(Debug, Clone)]
pub struct PasswordHasher {
    params: Argon2Params,
    dummy_hash: String,
}

impl PasswordHasher {
    /// A hasher with these parameters. Also prepares a dummy hash so that a login for an
    /// unknown user costs the same as one for a real user.
    pub fn new(params: Argon2Params) -> Result<Self, HashError> {
        if params.memory_kib < 19_456 || params.iterations < 2 {
            return Err(HashError::ParamsTooWeak);
        }
        let mut hasher = Self {
            params,
            dummy_hash: String::new(),
        };
        // A fixed salt is fine here: nobody's password is behind this hash.
        let salt = SaltString::encode_b64(b"assent-dummy-salt")
            .map_err(|e| HashError::Argon2(e.to_string()))?;
        hasher.dummy_hash = hasher.hash_with_salt(&SecretString::from("dummy"), &salt)?;
        Ok(hasher)
    }

    /// The parameters in force.
    pub fn params(&self) -> Argon2Params {
        self.params
    }

    fn argon2(&self) -> Result<Argon2<'static>, HashError> {
        let params = Params::new(self.params.memory_kib, self.params.iterations, 1, None)
            .map_err(|e| HashError::Argon2(e.to_string()))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    fn hash_with_salt(
        &self,
        password: &SecretString,
        salt: &SaltString,
    ) -> Result<String, HashError> {
        self.argon2()?
            .hash_password(password.expose().as_bytes(), salt)
            .map(|hash| hash.to_string())
            .map_err(|e| HashError::Argon2(e.to_string()))
    }

    /// Hashes a password with a fresh 128-bit salt, returning a PHC string.
    pub fn hash(
        &self,
        password: &SecretString,
        rng: &mut impl CryptoRng,
    ) -> Result<String, HashError> {
        let mut salt = [0u8; 16];
        rng.fill_bytes(&mut salt);
        let salt = SaltString::encode_b64(&salt).map_err(|e| HashError::Argon2(e.to_string()))?;
        self.hash_with_salt(password, &salt)
    }

    /// Checks a password against a stored PHC string (constant-time inside Argon2).
    pub fn verify(&self, password: &SecretString, stored: &str) -> PasswordCheck {
        let Ok(parsed) = PasswordHash::new(stored) else {
            return PasswordCheck::Mismatch;
        };
        let Ok(argon2) = self.argon2() else {
            return PasswordCheck::Mismatch;
        };
        if argon2
            .verify_password(password.expose().as_bytes(), &parsed)
            .is_err()
        {
            return PasswordCheck::Mismatch;
        }
        let needs_rehash = match Params::try_from(&parsed) {
            Ok(stored_params) => {
                parsed.algorithm.as_str() != "argon2id"
                    || stored_params.m_cost() < self.params.memory_kib
                    || stored_params.t_cost() < self.params.iterations
            }
            Err(_) => true,
        };
        PasswordCheck::Match { needs_rehash }
    }

    /// Spends the same effort as [`verify`](Self::verify) on a hash nobody owns, so that an
    /// unknown username cannot be told apart from a wrong password by timing.
    pub fn verify_dummy(&self, password: &SecretString) {
        let _ = self.verify(password, &self.dummy_hash);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_passwords_need_full_composition() {
        assert_eq!(check_format("Abcdefgh1!"), Ok(()));
        assert_eq!(check_format("Abcdefghijklmn1!"), Ok(()));
        assert_eq!(check_format("abcdefgh1!"), Err(PasswordPolicyError::Format));
        assert_eq!(check_format("ABCDEFGH1!"), Err(PasswordPolicyError::Format));
        assert_eq!(check_format("Abcdefghi!"), Err(PasswordPolicyError::Format));
        assert_eq!(check_format("Abcdefghi1"), Err(PasswordPolicyError::Format));
    }

    #[test]
    fn short_passwords_refuse_brackets_and_space() {
        assert_eq!(
            check_format("Abcdefg1![x"),
            Err(PasswordPolicyError::Format)
        );
        assert_eq!(
            check_format("Abcdefg1!]x"),
            Err(PasswordPolicyError::Format)
        );
        assert_eq!(
            check_format("Abcdef g1!x"),
            Err(PasswordPolicyError::Format)
        );
    }

    #[test]
    fn every_listed_special_counts() {
        for special in SPECIALS.chars() {
            let password = format!("Abcdefgh1{special}");
            assert_eq!(check_format(&password), Ok(()), "{password}");
        }
    }

    #[test]
    fn length_bounds() {
        assert_eq!(check_format("Abcdefg1!"), Err(PasswordPolicyError::Format));
        assert_eq!(check_format(""), Err(PasswordPolicyError::Format));
        // 17 characters need no composition, and may use brackets and spaces.
        assert_eq!(check_format("aaaaaaaaaaaaaaaaa"), Ok(()));
        assert_eq!(check_format("a [bracketed] pass"), Ok(()));
        assert_eq!(check_format(&"a".repeat(512)), Ok(()));
        assert_eq!(
            check_format(&"a".repeat(513)),
            Err(PasswordPolicyError::Format)
        );
    }

    #[test]
    fn non_ascii_and_control_characters_are_refused() {
        assert_eq!(
            check_format("Abcdefgh1!é"),
            Err(PasswordPolicyError::Format)
        );
        assert_eq!(
            check_format("long password with ümlaut"),
            Err(PasswordPolicyError::Format)
        );
        assert_eq!(
            check_format("long password with\ttab"),
            Err(PasswordPolicyError::Format)
        );
    }

    #[test]
    fn common_passwords_are_refused_whatever_their_decoration() {
        for password in [
            "Password123!",
            "P@ssw0rd2024!",
            "Qwerty123456!",
            "!!Welcome2024",
        ] {
            assert_eq!(check_format(password), Ok(()), "{password}");
            assert_eq!(
                check_not_common(password, "someone"),
                Err(PasswordPolicyError::TooCommon),
                "{password}"
            );
        }
        assert_eq!(
            check_not_common("correct horse battery staple", "x"),
            Err(PasswordPolicyError::TooCommon)
        );
        assert_eq!(
            check_not_common("aaaaaaaaaaaaaaaaaaaa", "x"),
            Err(PasswordPolicyError::TooCommon)
        );
        assert_eq!(check_not_common("Tr0ub4dour&3x", "felix"), Ok(()));
    }

    #[test]
    fn passwords_containing_the_username_are_refused() {
        assert_eq!(
            check_not_common("Felixsmith#2025", "felixsmith"),
            Err(PasswordPolicyError::TooCommon)
        );
    }

    #[test]
    fn weak_params_are_refused() {
        let weak = Argon2Params {
            memory_kib: 4096,
            iterations: 2,
        };
        assert!(matches!(
            PasswordHasher::new(weak),
            Err(HashError::ParamsTooWeak)
        ));
    }

    #[test]
    fn hash_verifies_and_flags_rehash_when_params_rise() {
        let hasher = PasswordHasher::new(Argon2Params::default()).unwrap();
        let password = SecretString::from("Correct-Horse-42");
        let stored = hasher.hash(&password, &mut rand::rng()).unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_eq!(
            hasher.verify(&password, &stored),
            PasswordCheck::Match {
                needs_rehash: false
            }
        );
        assert_eq!(
            hasher.verify(&SecretString::from("Correct-Horse-43"), &stored),
            PasswordCheck::Mismatch
        );
        assert_eq!(
            hasher.verify(&password, "not a hash"),
            PasswordCheck::Mismatch
        );

        let stronger = PasswordHasher::new(Argon2Params {
            memory_kib: 19_456,
            iterations: 3,
        })
        .unwrap();
        assert_eq!(
            stronger.verify(&password, &stored),
            PasswordCheck::Match { needs_rehash: true }
        );
    }

    #[test]
    fn salts_differ_between_hashes() {
        let hasher = PasswordHasher::new(Argon2Params::default()).unwrap();
        let password = SecretString::from("Correct-Horse-42");
        let a = hasher.hash(&password, &mut rand::rng()).unwrap();
        let b = hasher.hash(&password, &mut rand::rng()).unwrap();
        assert_ne!(a, b);
    }
}
