//! Work that one replica at a time should do (housekeeping sweeps): on PostgreSQL a
//! session-level advisory lock decides who; the others skip their round instead of waiting,
//! and a replica that dies mid-sweep releases the lock with its connection.

use crate::{DbConnection, RepoError};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool};

/// Advisory lock keys (any 64-bit number nobody else uses in the database).
pub mod locks {
    /// Housekeeping: sweeping ended sessions, old challenges and windows, expiring consents,
    /// retiring signing keys.
    pub const HOUSEKEEPING: i64 = 0x4153_5345_4e54_0001;
}

#[derive(QueryableByName)]
struct Taken {
    #[diesel(sql_type = Bool)]
    taken: bool,
}

/// Runs `work` if no other connection holds the lock `key`, answering `None` when one does.
/// On SQLite, where every writer of a database takes its turn anyway, `work` always runs.
pub fn if_not_running_elsewhere<T>(
    conn: &mut DbConnection,
    key: i64,
    work: impl FnOnce(&mut DbConnection) -> Result<T, RepoError>,
) -> Result<Option<T>, RepoError> {
    let DbConnection::Postgres(pg) = conn else {
        return work(conn).map(Some);
    };
    let taken = diesel::sql_query("SELECT pg_try_advisory_lock($1) AS taken")
        .bind::<BigInt, _>(key)
        .get_result::<Taken>(pg)?
        .taken;
    if !taken {
        return Ok(None);
    }
    let outcome = work(conn);
    let released = match conn {
        DbConnection::Postgres(pg) => diesel::sql_query("SELECT pg_advisory_unlock($1) AS taken")
            .bind::<BigInt, _>(key)
            .get_result::<Taken>(pg)
            .map(drop),
        DbConnection::Sqlite(_) => Ok(()),
    };
    let value = outcome?;
    released?;
    Ok(Some(value))
}
