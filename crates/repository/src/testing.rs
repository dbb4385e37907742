//! Test databases: a fresh SQLite file per test, and, when `ASSENT_TEST_POSTGRES_URL` is set,
//! a fresh PostgreSQL schema per test. Each is removed when dropped; no test shares state.

use crate::{Pool, PoolOptions, RepoError, run_migrations};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use std::path::PathBuf;

/// The variable that turns on PostgreSQL tests.
pub const POSTGRES_URL_VAR: &str = "ASSENT_TEST_POSTGRES_URL";

/// A throwaway, migrated database.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    SqliteFile(PathBuf),
    PostgresSchema { base_url: String, schema: String },
}

impl TestDatabase {
    /// A fresh SQLite file in the system's temporary folder.
    pub fn sqlite() -> Self {
        let path = std::env::temp_dir().join(format!("assent-test-{}.db", uuid::Uuid::new_v4()));
        Self {
            url: format!("sqlite://{}", path.display()),
            cleanup: Cleanup::SqliteFile(path),
        }
    }

    /// A fresh schema in the PostgreSQL database named by `ASSENT_TEST_POSTGRES_URL`, or `None`
    /// when the variable is unset. Panics if the variable is set but the database is out of
    /// reach: a configured backend that silently runs no tests would hide failures.
    #[expect(
        clippy::panic,
        reason = "test harness: an unreachable configured database must fail the test"
    )]
    pub fn postgres() -> Option<Self> {
        let base_url = std::env::var(POSTGRES_URL_VAR).ok()?;
        let schema = format!("assent_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = diesel::PgConnection::establish(&base_url)
            .unwrap_or_else(|e| panic!("{POSTGRES_URL_VAR} is set but unreachable: {e}"));
        conn.batch_execute(&format!("CREATE SCHEMA {schema}"))
            .unwrap_or_else(|e| panic!("cannot create test schema: {e}"));
        let separator = if base_url.contains('?') { '&' } else { '?' };
        Some(Self {
            url: format!("{base_url}{separator}options=-csearch_path%3D{schema}"),
            cleanup: Cleanup::PostgresSchema { base_url, schema },
        })
    }

    /// A fresh PostgreSQL schema, for a test that runs only where PostgreSQL is configured
    /// (see [`backend_test!`](crate::backend_test)).
    #[expect(
        clippy::panic,
        reason = "test harness: a PostgreSQL test run without its database must fail"
    )]
    pub fn postgres_configured() -> Self {
        Self::postgres().unwrap_or_else(|| {
            panic!("{POSTGRES_URL_VAR} must name a PostgreSQL database for this test")
        })
    }

    /// SQLite always, and PostgreSQL when configured.
    pub fn all() -> Vec<Self> {
        let mut all = vec![Self::sqlite()];
        all.extend(Self::postgres());
        all
    }

    /// The database URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend_name(&self) -> &'static str {
        match self.cleanup {
            Cleanup::SqliteFile(_) => "sqlite",
            Cleanup::PostgresSchema { .. } => "postgres",
        }
    }

    /// A migrated pool on this database.
    pub fn pool(&self) -> Result<Pool, RepoError> {
        let pool = Pool::connect(&self.url, &PoolOptions::default())?;
        let mut conn = pool.get()?;
        run_migrations(&mut conn)?;
        Ok(pool)
    }

    /// A single migrated connection.
    pub fn connection(&self) -> Result<crate::PooledConnection, RepoError> {
        let pool = self.pool()?;
        pool.get()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::SqliteFile(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut file = path.clone().into_os_string();
                    file.push(suffix);
                    let _ = std::fs::remove_file(file);
                }
            }
            Cleanup::PostgresSchema { base_url, schema } => {
                if let Ok(mut conn) = diesel::PgConnection::establish(base_url) {
                    let _ = conn.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
                }
            }
        }
    }
}

/// Declares one test that runs on each backend, as two tests named after the backend:
/// `NAME::sqlite` always runs; `NAME::postgres` runs when the crate was built with
/// `ASSENT_TEST_POSTGRES_URL` set (its `build.rs` then sets the `assent_postgres_tests` cfg)
/// and is listed as ignored otherwise, so a plain `cargo test` says what it did not run.
/// The body gets a fresh [`TestDatabase`] of that backend as `$db`; the attributes (the test
/// attribute, doc comments) go on both.
///
/// ```ignore
/// assent_repository::backend_test! {
///     #[test]
///     fn users_round_trip(db) {
///         let mut conn = db.connection().unwrap();
///         // ...
///     }
/// }
/// ```
///
/// `async fn` works the same with an async test attribute such as `#[actix_web::test]`.
#[macro_export]
macro_rules! backend_test {
    ($(#[$attr:meta])* fn $name:ident($db:ident) $body:block) => {
        mod $name {
            #[allow(unused_imports, reason = "the test body may use anything of its module")]
            use super::*;

            $(#[$attr])*
            fn sqlite() {
                let $db = $crate::testing::TestDatabase::sqlite();
                $body
            }

            $(#[$attr])*
            #[cfg_attr(not(assent_postgres_tests), ignore = "set ASSENT_TEST_POSTGRES_URL to run")]
            fn postgres() {
                let $db = $crate::testing::TestDatabase::postgres_configured();
                $body
            }
        }
    };
    ($(#[$attr:meta])* async fn $name:ident($db:ident) $body:block) => {
        mod $name {
            #[allow(unused_imports, reason = "the test body may use anything of its module")]
            use super::*;

            $(#[$attr])*
            async fn sqlite() {
                let $db = $crate::testing::TestDatabase::sqlite();
                $body
            }

            $(#[$attr])*
            #[cfg_attr(not(assent_postgres_tests), ignore = "set ASSENT_TEST_POSTGRES_URL to run")]
            async fn postgres() {
                let $db = $crate::testing::TestDatabase::postgres_configured();
                $body
            }
        }
    };
}
