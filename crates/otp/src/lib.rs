//! One-time passcodes and strong customer authentication for Assent.
//!
//! Pure: no I/O, no clock, no global RNG. Today it has [`masking`], which renders a customer's
//! phone number or email address so they can recognise where a code went without the
//! response revealing it: the reference systems echo contact details unmasked; Assent never
//! does.
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

pub mod masking;
