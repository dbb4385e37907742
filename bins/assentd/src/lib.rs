//! `assentd`: the Assent server and its command line. Thin by design: parse and authenticate
//! the request, load state through `assent-repository`, apply the domain crates' rules, persist
//! the outcome in one transaction, answer in the API family's dialect.
#![forbid(unsafe_code)]

pub mod admin;
pub mod api;
pub mod cli;
pub mod client_address;
pub mod clock;
pub mod config;
pub mod dauth;
pub mod delivery;
pub mod failure;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
pub mod hashing;
pub mod keys;
#[cfg(test)]
mod layering;
pub mod metrics;
pub mod rate_limiter;
pub mod runtime;
pub mod scheduling;
pub mod sealing;
pub mod server;
pub mod services;
pub mod state;
pub mod telemetry;
