//! The user as the rest of the system sees it.

use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

/// A user's stable identifier (a random UUID, never reused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(transparent)]
pub struct UserId(pub Uuid);

impl UserId {
    /// A fresh random id.
    pub fn generate(rng: &mut impl rand_core::CryptoRng) -> Self {
        let mut bytes = [0u8; 16];
        rng.fill_bytes(&mut bytes);
        Self(uuid::Builder::from_random_bytes(bytes).into_uuid())
    }
}

/// A new customer number: 16 random digits, the first not 0 (numbers given to users from
/// before customer numbers existed start with 0, so the two never meet).
pub fn generate_customer_number(rng: &mut impl rand_core::CryptoRng) -> String {
    let mut digits = String::with_capacity(16);
    while digits.len() < 16 {
        let mut byte = [0u8; 1];
        rng.fill_bytes(&mut byte);
        // Below 250 every digit is equally likely.
        if let Some(b) = byte.first().filter(|b| **b < 250) {
            let digit = b % 10;
            if !(digits.is_empty() && digit == 0) {
                digits.push(char::from(b'0' + digit));
            }
        }
    }
    digits
}

impl std::fmt::Display for UserId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A registered user. The password hash is kept apart (see the repository), so this type can be
/// passed around and logged freely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Stable id.
    pub user_id: UserId,
    /// Who vouches for the user: this server's own provider for locally registered users.
    pub provider: String,
    /// The provider's id for the user (for local users, the username).
    pub provider_id: String,
    /// The username as registered (case preserved).
    pub username: String,
    /// Contact email.
    pub email: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Mobile number for one-time codes (E.164), if given.
    pub phone_number: Option<String>,
    /// The customer's numeric id at the institution (Apiture `customerId`).
    pub customer_number: Option<String>,
    /// When the user registered.
    pub created_at: OffsetDateTime,
    /// When the user proved they receive codes at `email` (`None`: never).
    pub email_verified_at: Option<OffsetDateTime>,
    /// When the user proved they receive codes at `phone_number` (`None`: never).
    pub phone_verified_at: Option<OffsetDateTime>,
}

impl User {
    /// The email address, if the user proved they receive codes there.
    pub fn verified_email(&self) -> Option<&str> {
        verified(Some(&self.email), self.email_verified_at.is_some())
    }

    /// The phone number, if the user proved they receive codes there.
    pub fn verified_phone(&self) -> Option<&str> {
        verified(
            self.phone_number.as_deref(),
            self.phone_verified_at.is_some(),
        )
    }
}

/// A contact codes may go to: one that is there and was proved.
pub fn verified(contact: Option<&str>, proved: bool) -> Option<&str> {
    contact.filter(|c| !c.is_empty() && proved)
}
