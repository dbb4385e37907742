//! Banks: the institutions that bank-level roles, accounts and consents belong to.

use crate::schema::banks;
use crate::{DbConnection, RepoError, to_micros};
use diesel::prelude::*;
use time::OffsetDateTime;

/// A `banks` row.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = banks)]
pub struct BankRow {
    /// Id, e.g. `gh.29.uk`.
    pub bank_id: String,
    /// Short name.
    pub short_name: String,
    /// Full name.
    pub full_name: String,
    /// Logo URL.
    pub logo: String,
    /// Website URL.
    pub website: String,
    /// Microseconds since the epoch.
    pub created_at: i64,
}

/// Stores a bank; false if the id is taken.
pub fn insert(conn: &mut DbConnection, row: &BankRow) -> Result<bool, RepoError> {
    crate::insert_unless_conflict(conn, |conn| {
        diesel::insert_into(banks::table).values(row).execute(conn)
    })
}

/// The bank with this id.
pub fn find(conn: &mut DbConnection, bank_id: &str) -> Result<Option<BankRow>, RepoError> {
    Ok(banks::table
        .find(bank_id)
        .select(BankRow::as_select())
        .get_result(conn)
        .optional()?)
}

/// Every bank, by id.
pub fn list(conn: &mut DbConnection) -> Result<Vec<BankRow>, RepoError> {
    Ok(banks::table
        .order(banks::bank_id.asc())
        .select(BankRow::as_select())
        .load(conn)?)
}

/// A new bank row created now.
pub fn row(
    bank_id: &str,
    short_name: &str,
    full_name: &str,
    logo: &str,
    website: &str,
    now: OffsetDateTime,
) -> BankRow {
    BankRow {
        bank_id: bank_id.to_owned(),
        short_name: short_name.to_owned(),
        full_name: full_name.to_owned(),
        logo: logo.to_owned(),
        website: website.to_owned(),
        created_at: to_micros(now),
    }
}
