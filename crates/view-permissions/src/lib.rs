//! Per-account views and their fine-grained permissions for Assent: what each person may see
//! and do on an account, and who may grant or revoke that access.
//!
//! Pure: no I/O, no clock, no global RNG. Today it has [`names`]: the system views and the
//! naming rules that keep custom views apart from them.
//!
//! ```
//! use assent_view_permissions::names::{custom_view_id, is_system_view};
//!
//! assert_eq!(custom_view_id("_My Accountant").unwrap(), "_myaccountant");
//! assert!(custom_view_id("auditor").is_err());
//! assert!(is_system_view("owner"));
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

pub mod names;
