//! Settings the server records for the command line (see the `installation` migration).

use crate::schema::installation;
use crate::{DbConnection, RepoError};
use diesel::prelude::*;

/// The value recorded under `name`.
pub fn get(conn: &mut DbConnection, name: &str) -> Result<Option<String>, RepoError> {
    Ok(installation::table
        .find(name)
        .select(installation::value)
        .get_result(conn)
        .optional()?)
}

/// Records `value` under `name`, replacing what was there.
pub fn set(conn: &mut DbConnection, name: &str, value: &str) -> Result<(), RepoError> {
    crate::connection::write(conn, |conn| {
        let inserted = crate::insert_unless_conflict(conn, |conn| {
            diesel::insert_into(installation::table)
                .values((installation::name.eq(name), installation::value.eq(value)))
                .execute(conn)
        })?;
        if !inserted {
            diesel::update(installation::table.find(name))
                .set(installation::value.eq(value))
                .execute(conn)?;
        }
        Ok(())
    })
}
