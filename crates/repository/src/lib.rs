//! Storage for Assent: Diesel rows and queries over SQLite (embedded, the default) and
//! PostgreSQL (for scale), chosen at runtime by the database URL.
//!
//! - One connection type, [`DbConnection`], a Diesel `MultiConnection` over both backends.
//! - One [`schema`] both satisfy; per-backend migrations embedded in the binary.
//! - Plain synchronous functions over `&mut DbConnection`, so one function works alone or
//!   inside a larger [`transaction`]; callers under an async runtime run them on a blocking
//!   thread.
//! - Every function that writes runs its statements through `connection::write` (directly,
//!   through [`insert_unless_conflict`], or inside a [`transaction`]), so that on SQLite the process's writers take turns on a fair lock
//!   instead of racing for SQLite's polled write lock. One that forgot would still be correct
//!   (SQLite's lock decides), only unfair under contention.
//! - Rows are separate from domain types and converted with `TryFrom`.
//! - Single-row lookups are by a primary or unique key with `get_result`, never `first()`: a
//!   bound `LIMIT` keeps a statement out of Diesel's prepared-statement cache, which costs
//!   several times the query itself (see `benches/queries.rs`).
//!
//! ```no_run
//! let pool = assent_repository::Pool::connect(
//!     "sqlite://./data/assent.db",
//!     &assent_repository::PoolOptions::default(),
//! )
//! .unwrap();
//! let mut conn = pool.get().unwrap();
//! assent_repository::run_migrations(&mut conn).unwrap();
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

pub mod accounts;
pub mod audit;
pub mod auth_context_updates;
pub mod auth_contexts;
pub mod banks;
pub mod challenges;
mod connection;
pub mod consents;
pub mod consumers;
pub mod coordination;
pub mod dauth;
pub mod entitlements;
mod error;
pub mod installation;
pub mod lockout;
pub mod quotas;
mod redacted;
pub mod schema;
pub mod security_answers;
pub mod sessions;
pub mod signing_keys;
pub mod system_keys;
pub mod testing;
mod time_repr;
pub mod totp;
pub mod users;
mod write_queue;

pub use connection::{
    Backend, DbConnection, Manager, Pool, PoolOptions, PooledConnection, RetryableError,
    SqliteSynchronous, insert_unless_conflict, ping, read_snapshot, revert_all_migrations,
    run_migrations, transaction,
};
pub use diesel::result::{DatabaseErrorKind, Error as DieselError};
pub use error::RepoError;
pub use time_repr::{from_micros, to_micros};
