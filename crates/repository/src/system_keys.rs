//! API keys of trusted system callers, stored only as keyed hashes.

use crate::schema::system_keys;
use crate::{DbConnection, RepoError, to_micros};
use diesel::prelude::*;
use time::OffsetDateTime;

/// Stores a key's hash under `name`.
pub fn insert(
    conn: &mut DbConnection,
    key_id: &str,
    name: &str,
    key_hash: &str,
    now: OffsetDateTime,
) -> Result<(), RepoError> {
    crate::connection::write(conn, |conn| {
        diesel::insert_into(system_keys::table)
            .values((
                system_keys::key_id.eq(key_id),
                system_keys::name.eq(name),
                system_keys::key_hash.eq(key_hash),
                system_keys::created_at.eq(to_micros(now)),
            ))
            .execute(conn)?;
        Ok(())
    })
}

/// The `(key_id, name)` of the key with this hash.
pub fn find_by_hash(
    conn: &mut DbConnection,
    key_hash: &str,
) -> Result<Option<(String, String)>, RepoError> {
    Ok(system_keys::table
        .filter(system_keys::key_hash.eq(key_hash))
        .select((system_keys::key_id, system_keys::name))
        .get_result(conn)
        .optional()?)
}

/// Every key's `(key_id, name, created_at)`, oldest first (never the hashes).
pub fn list(conn: &mut DbConnection) -> Result<Vec<(String, String, i64)>, RepoError> {
    Ok(system_keys::table
        .select((
            system_keys::key_id,
            system_keys::name,
            system_keys::created_at,
        ))
        .order((system_keys::created_at.asc(), system_keys::key_id.asc()))
        .load(conn)?)
}

/// Deletes a key: the next request that presents it is refused. `false` if there is none.
pub fn delete(conn: &mut DbConnection, key_id: &str) -> Result<bool, RepoError> {
    crate::connection::write(conn, |conn| {
        Ok(diesel::delete(system_keys::table.find(key_id)).execute(conn)? == 1)
    })
}
