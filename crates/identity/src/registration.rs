//! Validating a sign-up before anything is stored.

use crate::password::{self, PasswordPolicyError};
use crate::secret::SecretString;

/// Longest username accepted.
pub const MAX_USERNAME_CHARS: usize = 100;
/// Longest email address accepted (RFC 5321 path limit).
pub const MAX_EMAIL_CHARS: usize = 254;
/// Longest first or last name accepted.
pub const MAX_NAME_CHARS: usize = 100;

/// A sign-up as the caller sent it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct RegistrationInput {
    /// Requested username.
    pub username: String,
    /// Chosen password.
    pub password: SecretString,
    /// Contact email. Optional, as in OBP's Create User: without one, a username that is an
    /// email address is the contact email, and any other username leaves the user without one.
    #[serde(default)]
    pub email: Option<String>,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Mobile number for one-time codes, E.164 (`+` and 8 to 15 digits).
    #[serde(default)]
    pub phone_number: Option<String>,
}

/// A sign-up that passed every rule; only this can be stored. Its fields are private, so the
/// only way to one is [`Registration::validate`].
#[derive(Debug, Clone)]
pub struct Registration {
    username: String,
    username_key: String,
    password: SecretString,
    email: Option<String>,
    first_name: String,
    last_name: String,
    phone_number: Option<String>,
}

/// Why a sign-up was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistrationError {
    /// The username is empty, too long or has characters outside the allowed set.
    #[error(
        "invalid username: 1 to 100 characters from letters, digits, '.', '_', '-', '@', or an email address"
    )]
    InvalidUsername,
    /// The email address is not one.
    #[error("invalid email address")]
    InvalidEmail,
    /// A name field is empty, too long or holds control characters.
    #[error("invalid {field}: 1 to 100 characters, no control characters")]
    InvalidName {
        /// `first_name` or `last_name`.
        field: &'static str,
    },
    /// The phone number is not an E.164 number.
    #[error("invalid phone_number: use the international form, + and 8 to 15 digits")]
    InvalidPhoneNumber,
    /// The password breaks a rule.
    #[error(transparent)]
    Password(#[from] PasswordPolicyError),
}

/// The uniqueness key of a username: usernames differ only if they differ ignoring case.
pub fn username_key(username: &str) -> String {
    username.to_lowercase()
}

/// Whether `username` is acceptable: 1 to 100 characters from ASCII letters, digits and
/// `.` `_` `-` `@`, or an email address of at most 100 characters.
pub fn is_valid_username(username: &str) -> bool {
    let len = username.chars().count();
    if len == 0 || len > MAX_USERNAME_CHARS {
        return false;
    }
    username
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
        || is_valid_email(username)
}

/// A practical subset of RFC 5322 addresses: a dot-atom local part of at most 64 characters,
/// `@`, and a domain of at least two LDH labels; at most 254 characters in all.
pub fn is_valid_email(email: &str) -> bool {
    if email.len() > MAX_EMAIL_CHARS {
        return false;
    }
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c);
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local
            .split('.')
            .all(|part| !part.is_empty() && part.chars().all(atext));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    local_ok && domain_ok
}

/// Whether `phone` is an E.164 number as stored: `+`, then 8 to 15 digits, the first not 0.
pub fn is_valid_phone_number(phone: &str) -> bool {
    phone.strip_prefix('+').is_some_and(|digits| {
        (8..=15).contains(&digits.len())
            && !digits.starts_with('0')
            && digits.bytes().all(|b| b.is_ascii_digit())
    })
}

fn check_name(value: &str, field: &'static str) -> Result<String, RegistrationError> {
    let trimmed = value.trim();
    let len = trimmed.chars().count();
    if len == 0 || len > MAX_NAME_CHARS || trimmed.chars().any(char::is_control) {
        return Err(RegistrationError::InvalidName { field });
    }
    Ok(trimmed.to_owned())
}

impl Registration {
    /// Username as given (case preserved).
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The key that makes usernames unique per provider: the username lower-cased.
    pub fn username_key(&self) -> &str {
        &self.username_key
    }

    /// The password, still in clear: hash it before storing.
    pub fn password(&self) -> &SecretString {
        &self.password
    }

    /// Contact email, trimmed: the one given, else the username if it is an email address.
    /// `None`: the user has no email address (codes can only go to a phone).
    pub fn email(&self) -> Option<&str> {
        self.email.as_deref()
    }

    /// Given name, trimmed.
    pub fn first_name(&self) -> &str {
        &self.first_name
    }

    /// Family name, trimmed.
    pub fn last_name(&self) -> &str {
        &self.last_name
    }

    /// Mobile number, E.164 without separators.
    pub fn phone_number(&self) -> Option<&str> {
        self.phone_number.as_deref()
    }

    /// Applies every sign-up rule. Cheap checks come first; the password is checked last so a
    /// caller learns about a bad username before they pick a new password.
    pub fn validate(input: RegistrationInput) -> Result<Self, RegistrationError> {
        if !is_valid_username(&input.username) {
            return Err(RegistrationError::InvalidUsername);
        }
        let email = match input.email.as_deref().map(str::trim) {
            None | Some("") => is_valid_email(&input.username).then(|| input.username.clone()),
            Some(email) if is_valid_email(email) => Some(email.to_owned()),
            Some(_) => return Err(RegistrationError::InvalidEmail),
        };
        let first_name = check_name(&input.first_name, "first_name")?;
        let last_name = check_name(&input.last_name, "last_name")?;
        let phone_number = match input.phone_number.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(phone) if is_valid_phone_number(phone) => Some(phone.to_owned()),
            Some(_) => return Err(RegistrationError::InvalidPhoneNumber),
        };
        password::check_format(input.password.expose())?;
        password::check_not_common(input.password.expose(), &input.username)?;
        Ok(Self {
            username_key: username_key(&input.username),
            username: input.username,
            password: input.password,
            email,
            first_name,
            last_name,
            phone_number,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn input(username: &str, password: &str) -> RegistrationInput {
        RegistrationInput {
            username: username.into(),
            password: password.into(),
            email: Some("felix@example.com".into()),
            first_name: "Felix".into(),
            last_name: "Smith".into(),
            phone_number: None,
        }
    }

    #[test]
    fn phone_numbers_are_e164() {
        assert!(is_valid_phone_number("+447700900123"));
        assert!(!is_valid_phone_number("447700900123"));
        assert!(!is_valid_phone_number("+44 7700 900123"));
        assert!(!is_valid_phone_number("+0447700900"));
        assert!(!is_valid_phone_number("+1234567"));
        assert!(!is_valid_phone_number("+1234567890123456"));
        let mut with_phone = input("felix", "Tr0ub4dour&3x");
        with_phone.phone_number = Some(" +447700900123 ".into());
        assert_eq!(
            Registration::validate(with_phone.clone())
                .unwrap()
                .phone_number
                .as_deref(),
            Some("+447700900123")
        );
        with_phone.phone_number = Some("07700 900123".into());
        assert_eq!(
            Registration::validate(with_phone).unwrap_err(),
            RegistrationError::InvalidPhoneNumber
        );
    }

    #[test]
    fn accepts_a_good_sign_up() {
        let reg = Registration::validate(input("Felix.Smith", "Tr0ub4dour&3x")).unwrap();
        assert_eq!(reg.username, "Felix.Smith");
        assert_eq!(reg.username_key, "felix.smith");
    }

    #[test]
    fn usernames() {
        assert!(is_valid_username("felix_smith-1.a@b"));
        assert!(is_valid_username("felix+bank@example.com"));
        assert!(is_valid_username(&"a".repeat(100)));
        assert!(!is_valid_username(&"a".repeat(101)));
        assert!(!is_valid_username(""));
        assert!(!is_valid_username("felix smith"));
        assert!(!is_valid_username("felix+bank"));
        assert!(!is_valid_username("félix"));
        assert!(!is_valid_username("<script>"));
    }

    #[test]
    fn emails() {
        assert!(is_valid_email("a@b.co"));
        assert!(is_valid_email("first.last+tag@mail.example.com"));
        assert!(!is_valid_email("a@b"));
        assert!(!is_valid_email("@b.co"));
        assert!(!is_valid_email("a..b@b.co"));
        assert!(!is_valid_email("a@-b.co"));
        assert!(!is_valid_email("a b@b.co"));
        assert!(!is_valid_email(&format!("{}@b.co", "a".repeat(65))));
    }

    #[test]
    fn email_is_optional() {
        let mut without = input("felix", "Tr0ub4dour&3x");
        without.email = None;
        assert_eq!(
            Registration::validate(without.clone()).unwrap().email(),
            None
        );
        without.email = Some("  ".into());
        assert_eq!(Registration::validate(without).unwrap().email(), None);
        let mut email_username = input("Felix@Example.com", "Tr0ub4dour&3x");
        email_username.email = None;
        assert_eq!(
            Registration::validate(email_username).unwrap().email(),
            Some("Felix@Example.com")
        );
        let mut given = input("felix@example.com", "Tr0ub4dour&3x");
        given.email = Some(" other@example.com ".into());
        assert_eq!(
            Registration::validate(given.clone()).unwrap().email(),
            Some("other@example.com")
        );
        given.email = Some("not-an-address".into());
        assert_eq!(
            Registration::validate(given).unwrap_err(),
            RegistrationError::InvalidEmail
        );
    }

    #[test]
    fn names_must_be_present_and_printable() {
        let mut bad = input("felix", "Tr0ub4dour&3x");
        bad.first_name = "  ".into();
        assert_eq!(
            Registration::validate(bad).unwrap_err(),
            RegistrationError::InvalidName {
                field: "first_name"
            }
        );
        let mut bad = input("felix", "Tr0ub4dour&3x");
        bad.last_name = "a\u{0}b".into();
        assert_eq!(
            Registration::validate(bad).unwrap_err(),
            RegistrationError::InvalidName { field: "last_name" }
        );
    }

    #[test]
    fn password_rules_apply() {
        assert_eq!(
            Registration::validate(input("felix", "short")).unwrap_err(),
            RegistrationError::Password(PasswordPolicyError::Format)
        );
        assert_eq!(
            Registration::validate(input("felix", "Password123!")).unwrap_err(),
            RegistrationError::Password(PasswordPolicyError::TooCommon)
        );
    }

    proptest! {
        #[test]
        fn username_key_is_case_insensitive(name in "[A-Za-z0-9._@-]{1,100}") {
            prop_assert!(is_valid_username(&name));
            prop_assert_eq!(username_key(&name), username_key(&name.to_uppercase()));
        }

        #[test]
        fn validation_never_panics(username in ".{0,120}", password in ".{0,40}", email in ".{0,40}") {
            let _ = Registration::validate(RegistrationInput {
                username,
                password: password.into(),
                email: Some(email),
                first_name: "A".into(),
                last_name: "B".into(),
                phone_number: None,
            });
        }
    }
}
