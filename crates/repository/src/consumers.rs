//! API consumers. Keys are stored only as keyed hashes.

use crate::schema::consumers;
use crate::{DbConnection, RepoError, to_micros};
use assent_identity::consumer::Consumer;
use diesel::prelude::*;
use time::OffsetDateTime;
use uuid::Uuid;

/// A `consumers` row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = consumers)]
pub struct ConsumerRow {
    /// UUID text.
    pub consumer_id: String,
    /// Display name.
    pub name: String,
    /// HMAC of the key (hex).
    pub key_hash: String,
    /// Whether it may call the API.
    pub enabled: bool,
    /// Microseconds since the epoch.
    pub created_at: i64,
}

impl TryFrom<ConsumerRow> for Consumer {
    type Error = RepoError;

    fn try_from(row: ConsumerRow) -> Result<Self, RepoError> {
        Ok(Consumer {
            consumer_id: Uuid::parse_str(&row.consumer_id).map_err(|e| RepoError::CorruptRow {
                table: "consumers",
                reason: e.to_string(),
            })?,
            name: row.name,
            enabled: row.enabled,
        })
    }
}

/// Stores a consumer with the hash of its key.
pub fn insert(
    conn: &mut DbConnection,
    consumer: &Consumer,
    key_hash: &str,
    now: OffsetDateTime,
) -> Result<(), RepoError> {
    diesel::insert_into(consumers::table)
        .values(ConsumerRow {
            consumer_id: consumer.consumer_id.to_string(),
            name: consumer.name.clone(),
            key_hash: key_hash.to_owned(),
            enabled: consumer.enabled,
            created_at: to_micros(now),
        })
        .execute(conn)?;
    Ok(())
}

/// The consumer whose key hashes to `key_hash`.
pub fn find_by_key_hash(
    conn: &mut DbConnection,
    key_hash: &str,
) -> Result<Option<Consumer>, RepoError> {
    consumers::table
        .filter(consumers::key_hash.eq(key_hash))
        .select(ConsumerRow::as_select())
        .get_result(conn)
        .optional()?
        .map(Consumer::try_from)
        .transpose()
}

/// Enables or disables a consumer; false if there is no such consumer.
pub fn set_enabled(
    conn: &mut DbConnection,
    consumer_id: &Uuid,
    enabled: bool,
) -> Result<bool, RepoError> {
    let updated = diesel::update(consumers::table.find(consumer_id.to_string()))
        .set(consumers::enabled.eq(enabled))
        .execute(conn)?;
    Ok(updated == 1)
}
