//! API consumers. Keys are stored only as keyed hashes.

use crate::connection::on_backend;
use crate::schema::consumers;
use crate::{DbConnection, RepoError, to_micros};
use assent_identity::consumer::Consumer;
use assent_identity::rate_limit::CallLimits;
use diesel::prelude::*;
use time::OffsetDateTime;
use uuid::Uuid;

/// A `consumers` row.
#[derive(Clone, Queryable, Selectable, Insertable)]
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
    /// Description.
    pub description: String,
    /// Developer contact.
    pub developer_email: String,
    /// Redirect URL, or empty.
    pub redirect_url: String,
    /// Creator's UUID text, or empty.
    pub created_by_user_id: String,
    /// Calls per second, -1 unlimited.
    pub per_second_call_limit: i64,
    /// Calls per minute, -1 unlimited.
    pub per_minute_call_limit: i64,
    /// Calls per hour, -1 unlimited.
    pub per_hour_call_limit: i64,
    /// Calls per day, -1 unlimited.
    pub per_day_call_limit: i64,
    /// Calls per week, -1 unlimited.
    pub per_week_call_limit: i64,
    /// Calls per month, -1 unlimited.
    pub per_month_call_limit: i64,
}

crate::redacted::debug_redacting!(ConsumerRow {
    consumer_id, name, enabled, created_at, description, developer_email, redirect_url,
    created_by_user_id, per_second_call_limit, per_minute_call_limit, per_hour_call_limit,
    per_day_call_limit, per_week_call_limit, per_month_call_limit,
} secret { key_hash });

impl ConsumerRow {
    /// The row of `consumer`, with its key's hash, created at `now`.
    pub fn new(consumer: &Consumer, key_hash: &str, now: OffsetDateTime) -> Self {
        let [second, minute, hour, day, week, month] = consumer.call_limits.limits();
        Self {
            consumer_id: consumer.consumer_id.to_string(),
            name: consumer.name.clone(),
            key_hash: key_hash.to_owned(),
            enabled: consumer.enabled,
            created_at: to_micros(now),
            description: consumer.description.clone(),
            developer_email: consumer.developer_email.clone(),
            redirect_url: consumer.redirect_url.clone(),
            created_by_user_id: consumer
                .created_by_user_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            per_second_call_limit: second,
            per_minute_call_limit: minute,
            per_hour_call_limit: hour,
            per_day_call_limit: day,
            per_week_call_limit: week,
            per_month_call_limit: month,
        }
    }
}

impl TryFrom<ConsumerRow> for Consumer {
    type Error = RepoError;

    fn try_from(row: ConsumerRow) -> Result<Self, RepoError> {
        let corrupt = |e: uuid::Error| RepoError::CorruptRow {
            table: "consumers",
            reason: e.to_string(),
        };
        Ok(Consumer {
            consumer_id: Uuid::parse_str(&row.consumer_id).map_err(corrupt)?,
            name: row.name,
            enabled: row.enabled,
            description: row.description,
            developer_email: row.developer_email,
            redirect_url: row.redirect_url,
            created_by_user_id: if row.created_by_user_id.is_empty() {
                None
            } else {
                Some(Uuid::parse_str(&row.created_by_user_id).map_err(corrupt)?)
            },
            call_limits: CallLimits::new([
                row.per_second_call_limit,
                row.per_minute_call_limit,
                row.per_hour_call_limit,
                row.per_day_call_limit,
                row.per_week_call_limit,
                row.per_month_call_limit,
            ])
            .map_err(|e| RepoError::CorruptRow {
                table: "consumers",
                reason: e.to_string(),
            })?,
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
    crate::connection::write(conn, |conn| {
        diesel::insert_into(consumers::table)
            .values(ConsumerRow::new(consumer, key_hash, now))
            .execute(conn)?;
        Ok(())
    })
}

/// The consumer whose key hashes to `key_hash`.
pub fn find_by_key_hash(
    conn: &mut DbConnection,
    key_hash: &str,
) -> Result<Option<Consumer>, RepoError> {
    // Read on every request made with a consent: on the backend's own connection.
    on_backend!(conn, |conn| consumers::table
        .filter(consumers::key_hash.eq(key_hash))
        .select(ConsumerRow::as_select())
        .get_result(conn)
        .optional())?
    .map(Consumer::try_from)
    .transpose()
}

/// Enables or disables a consumer; false if there is no such consumer.
pub fn set_enabled(
    conn: &mut DbConnection,
    consumer_id: &Uuid,
    enabled: bool,
) -> Result<bool, RepoError> {
    crate::connection::write(conn, |conn| {
        let updated = diesel::update(consumers::table.find(consumer_id.to_string()))
            .set(consumers::enabled.eq(enabled))
            .execute(conn)?;
        Ok(updated == 1)
    })
}

/// The consumer with this id, and when it was created.
pub fn find(
    conn: &mut DbConnection,
    consumer_id: &Uuid,
) -> Result<Option<(Consumer, OffsetDateTime)>, RepoError> {
    consumers::table
        .find(consumer_id.to_string())
        .select(ConsumerRow::as_select())
        .get_result(conn)
        .optional()?
        .map(|row| {
            let created = crate::from_micros(row.created_at);
            Ok((Consumer::try_from(row)?, created))
        })
        .transpose()
}

/// Consumers, oldest first; only those created by `created_by` when given.
pub fn list(
    conn: &mut DbConnection,
    created_by: Option<&str>,
) -> Result<Vec<(Consumer, OffsetDateTime)>, RepoError> {
    let mut query = consumers::table
        .select(ConsumerRow::as_select())
        .order((consumers::created_at.asc(), consumers::consumer_id.asc()))
        .into_boxed();
    if let Some(user_id) = created_by {
        query = query.filter(consumers::created_by_user_id.eq(user_id.to_owned()));
    }
    query
        .load(conn)?
        .into_iter()
        .map(|row| {
            let created = crate::from_micros(row.created_at);
            Ok((Consumer::try_from(row)?, created))
        })
        .collect()
}

/// Sets a consumer's redirect URL; false if there is no such consumer.
pub fn set_redirect_url(
    conn: &mut DbConnection,
    consumer_id: &Uuid,
    redirect_url: &str,
) -> Result<bool, RepoError> {
    crate::connection::write(conn, |conn| {
        Ok(
            diesel::update(consumers::table.find(consumer_id.to_string()))
                .set(consumers::redirect_url.eq(redirect_url))
                .execute(conn)?
                == 1,
        )
    })
}

/// Sets a consumer's call limits; false if there is no such consumer.
pub fn set_call_limits(
    conn: &mut DbConnection,
    consumer_id: &Uuid,
    limits: &CallLimits,
) -> Result<bool, RepoError> {
    crate::connection::write(conn, |conn| {
        let [second, minute, hour, day, week, month] = limits.limits();
        Ok(
            diesel::update(consumers::table.find(consumer_id.to_string()))
                .set((
                    consumers::per_second_call_limit.eq(second),
                    consumers::per_minute_call_limit.eq(minute),
                    consumers::per_hour_call_limit.eq(hour),
                    consumers::per_day_call_limit.eq(day),
                    consumers::per_week_call_limit.eq(week),
                    consumers::per_month_call_limit.eq(month),
                ))
                .execute(conn)?
                == 1,
        )
    })
}
