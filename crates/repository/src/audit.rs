//! The audit trail: security-relevant events, appended in the same transaction as the change
//! they describe.

use crate::schema::audit_events;
use crate::{DbConnection, RepoError, to_micros};
use diesel::prelude::*;
use time::OffsetDateTime;
use uuid::Uuid;

/// An `audit_events` row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events)]
pub struct AuditRow {
    /// UUID text.
    pub event_id: String,
    /// Microseconds since the epoch.
    pub occurred_at: i64,
    /// What happened, e.g. `login.success`.
    pub kind: String,
    /// The user concerned, if any.
    pub user_id: Option<String>,
    /// JSON object with details. Never holds secrets.
    pub detail: String,
}

/// Appends an event.
pub fn append(
    conn: &mut DbConnection,
    event_id: Uuid,
    now: OffsetDateTime,
    kind: &str,
    user_id: Option<&str>,
    detail: &serde_json::Value,
) -> Result<(), RepoError> {
    crate::connection::write(conn, |conn| {
        diesel::insert_into(audit_events::table)
            .values(AuditRow {
                event_id: event_id.to_string(),
                occurred_at: to_micros(now),
                kind: kind.to_owned(),
                user_id: user_id.map(str::to_owned),
                detail: detail.to_string(),
            })
            .execute(conn)?;
        Ok(())
    })
}

/// Events of one kind, oldest first (for tests and operators).
pub fn list_by_kind(conn: &mut DbConnection, kind: &str) -> Result<Vec<AuditRow>, RepoError> {
    Ok(audit_events::table
        .filter(audit_events::kind.eq(kind))
        .order(audit_events::occurred_at.asc())
        .select(AuditRow::as_select())
        .load(conn)?)
}
