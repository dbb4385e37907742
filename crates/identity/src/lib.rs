//! Identity rules for Assent: who a customer is and how they prove it.
//!
//! Everything here is pure: no I/O, no clock, no global random number generator. Time arrives
//! as a parameter and randomness as `&mut impl CryptoRng`, so every rule is a unit
//! test away from being checked.
//!
//! - [`registration`]: validating a sign-up (username, email, names, password policy).
//! - [`password`]: the OBP password format, the common-password blocklist, Argon2id hashing.
//! - [`consumer`]: API consumers (third-party apps) and their keys, stored only as keyed hashes.
//! - [`secret`]: a string type for secrets that redacts `Debug` and compares in constant time.
//!
//! ```
//! use assent_identity::password::{PasswordHasher, PasswordCheck, Argon2Params};
//! use assent_identity::secret::SecretString;
//!
//! let hasher = PasswordHasher::new(Argon2Params::default()).unwrap();
//! let password = SecretString::from("Correct-Horse-42");
//! let stored = hasher.hash(&password, &mut rand::rng()).unwrap();
//! assert!(matches!(hasher.verify(&password, &stored), PasswordCheck::Match { .. }));
//! assert_eq!(hasher.verify(&SecretString::from("wrong"), &stored), PasswordCheck::Mismatch);
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod account;
pub mod auth_context;
pub mod bank;
pub mod consumer;
pub mod dauth;
pub mod lockout;
pub mod password;
pub mod rate_limit;
pub mod registration;
pub mod roles;
pub mod secret;
pub mod user;

pub use registration::{Registration, RegistrationError, RegistrationInput};
pub use secret::SecretString;
pub use user::{User, UserId};
