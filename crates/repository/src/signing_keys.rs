//! The ring of token-signing keys every replica reads (see the `signing_keys` migration).

use crate::schema::signing_keys;
use crate::{DbConnection, RepoError};
use diesel::prelude::*;

/// A `signing_keys` row.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = signing_keys)]
pub struct SigningKeyRow {
    /// RFC 7638 thumbprint of the public key.
    pub kid: String,
    /// The public point's x coordinate, base64url.
    pub public_x: String,
    /// The public point's y coordinate, base64url.
    pub public_y: String,
    /// The sealed PKCS#8 PEM, while the key may still sign.
    pub sealed_private_key: Option<String>,
    /// Microseconds since the epoch.
    pub signs_from: i64,
    /// Microseconds since the epoch.
    pub created_at: i64,
}

/// Every key, in the order they sign (by `signs_from`, then `kid`).
pub fn all(conn: &mut DbConnection) -> Result<Vec<SigningKeyRow>, RepoError> {
    Ok(signing_keys::table
        .select(SigningKeyRow::as_select())
        .order((signing_keys::signs_from.asc(), signing_keys::kid.asc()))
        .load(conn)?)
}

/// Adds a key; `false` if one with its `kid` is there already.
pub fn insert(conn: &mut DbConnection, row: &SigningKeyRow) -> Result<bool, RepoError> {
    crate::insert_unless_conflict(conn, |conn| {
        diesel::insert_into(signing_keys::table)
            .values(row)
            .execute(conn)
    })
}

/// Wipes the private half of the key `kid`; whether there was one.
pub fn wipe_private_key(conn: &mut DbConnection, kid: &str) -> Result<bool, RepoError> {
    crate::connection::write(conn, |conn| {
        let wiped = diesel::update(
            signing_keys::table
                .find(kid)
                .filter(signing_keys::sealed_private_key.is_not_null()),
        )
        .set(signing_keys::sealed_private_key.eq(None::<String>))
        .execute(conn)?;
        Ok(wiped > 0)
    })
}

/// Deletes the key `kid`; whether it was there.
pub fn delete(conn: &mut DbConnection, kid: &str) -> Result<bool, RepoError> {
    crate::connection::write(conn, |conn| {
        Ok(diesel::delete(signing_keys::table.find(kid)).execute(conn)? > 0)
    })
}
