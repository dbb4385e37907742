//! PSD2-style consents for Assent: a customer lets a third-party app act on their behalf
//! within a scope and a time they choose, confirmed by strong customer authentication, and
//! revocable at any moment.
//!
//! This crate holds the rules; it is pure (no I/O, no clock, no global RNG):
//!
//! - [`status`]: every status of the Berlin Group / OBP vocabulary and an explicit transition
//!   table, so a status can never be overwritten by one that does not follow from it.
//! - [`consent`]: the scope (everything, or views and roles), the rules for a request
//!   (lifetime, start, scope held now), what a consent reaches at the moment of use (never
//!   more than the user holds then), and validity with leeway.
//! - [`token`]: the consent JWT's claims and `typ`.
//!
//! ```
//! use assent_consent::status::{ConsentEvent, ConsentStatus};
//!
//! let status = ConsentStatus::Initiated;
//! let status = status.apply(ConsentEvent::ChallengeAnswered).unwrap();
//! assert_eq!(status, ConsentStatus::Accepted);
//! assert!(status.apply(ConsentEvent::ChallengeAnswered).is_err());
//! assert_eq!(status.apply(ConsentEvent::RevokedByUser).unwrap().as_str(), "REVOKED");
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

pub mod consent;
pub mod status;
pub mod token;
