//! Per-account views and their fine-grained permissions for Assent: what each person may see
//! and do on an account, and who may grant or revoke that access.
//!
//! Pure: no I/O, no clock, no global RNG.
//!
//! - [`permission`]: every `can_*` permission of OBP's view JSON and a bit set of them
//!   (a check is one mask), with serde to and from the view JSON's fields.
//! - [`view`]: views, what their holders may delegate, and custom views' rules.
//! - [`system`]: the system views (`owner`, `auditor`, `accountant`, ...).
//! - [`names`]: view ids: system names never start with `_`, custom ones always do.
//! - [`access`]: who may grant or revoke which view, the last-owner rule, all-or-nothing
//!   bulk decisions, and what a user's views let them do.
//!
//! ```
//! use assent_view_permissions::access::{Actor, can, may_grant};
//! use assent_view_permissions::names::custom_view_id;
//! use assent_view_permissions::permission::Permission;
//! use assent_view_permissions::system::system_view;
//!
//! assert_eq!(custom_view_id("_My Accountant").unwrap(), "_myaccountant");
//! let auditor = system_view("auditor").unwrap();
//! assert!(can(&[auditor.clone()], Permission::CanSeeBankAccountBalance));
//! assert!(!can(&[auditor.clone()], Permission::CanCreateStandingOrder));
//! let views = [auditor];
//! let actor = Actor { is_holder: false, views: &views };
//! assert!(may_grant(&actor, &system_view("owner").unwrap()).is_err());
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

pub mod access;
pub mod names;
pub mod permission;
pub mod system;
pub mod view;
