//! One-time passcodes and strong customer authentication for Assent.
//!
//! Pure: no I/O, no clock, no global RNG.
//!
//! - [`challenge`]: the challenge engine. Codes from a CSPRNG, kept only as keyed hashes,
//!   compared in constant time; expiry, a wrong-answer limit that locks for good, resends
//!   that never reset the count, single use.
//! - [`totp`]: authenticator apps (RFC 6238; SHA-1/256/512, the RFC's test vectors as tests),
//!   accepting the current and previous step only, and never the same step twice.
//! - [`security_questions`]: the catalogue, answer normalisation (trim, case-fold, collapse
//!   spaces) and the rule that every question asked is answered right; wrong answers count
//!   against the challenge's attempt limit through [`challenge::Challenge::verify_with`].
//! - [`masking`]: a customer's phone number or email address rendered so they can recognise
//!   where a code went without the response revealing it (the reference systems echo contact
//!   details unmasked; Assent never does).
//!
//! ```
//! use assent_otp::challenge::{Challenge, ChallengePolicy, CodeHasher, VerifyError};
//! use time::macros::datetime;
//!
//! let hasher = CodeHasher::new(&[42u8; 32]).unwrap();
//! let now = datetime!(2026-01-01 09:00 UTC);
//! let (mut challenge, code) =
//!     Challenge::issue("consent:123", ChallengePolicy::default(), now, &mut rand::rng(), &hasher);
//! // `code` is delivered by SMS or email; only its hash stays in `challenge`.
//! assert!(matches!(challenge.verify("000000x", now, &hasher), Err(VerifyError::Malformed)));
//! assert_eq!(challenge.verify(code.expose(), now, &hasher), Ok(()));
//! ```
//!
//! ```
//! use assent_otp::masking::{mask_email, mask_phone};
//!
//! assert_eq!(mask_phone("+99 1234 5607").unwrap(), "+99XXXXXX07");
//! assert_eq!(mask_email("sowmya@example.com").unwrap(), "sowXXX@example.com");
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

pub mod challenge;
pub mod masking;
pub mod security_questions;
pub mod totp;
