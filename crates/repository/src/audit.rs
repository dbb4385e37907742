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

/// Which events to read, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only events of this kind.
    pub kind: Option<String>,
    /// Only events concerning this user.
    pub user_id: Option<String>,
    /// Only events at or after this time.
    pub from: Option<OffsetDateTime>,
    /// Only events at or before this time.
    pub to: Option<OffsetDateTime>,
    /// At most this many.
    pub limit: i64,
    /// After skipping this many.
    pub offset: i64,
}

/// Events matching `query`, newest first (ties by id, so pages never overlap).
pub fn query(conn: &mut DbConnection, query: &AuditQuery) -> Result<Vec<AuditRow>, RepoError> {
    let mut select = audit_events::table
        .select(AuditRow::as_select())
        .order((
            audit_events::occurred_at.desc(),
            audit_events::event_id.desc(),
        ))
        .limit(query.limit)
        .offset(query.offset)
        .into_boxed();
    if let Some(kind) = &query.kind {
        select = select.filter(audit_events::kind.eq(kind));
    }
    if let Some(user_id) = &query.user_id {
        select = select.filter(audit_events::user_id.eq(user_id));
    }
    if let Some(from) = query.from {
        select = select.filter(audit_events::occurred_at.ge(to_micros(from)));
    }
    if let Some(to) = query.to {
        select = select.filter(audit_events::occurred_at.le(to_micros(to)));
    }
    Ok(select.load(conn)?)
}

/// Every event, oldest first, in pages of `page` after the event `after` (none: from the
/// start), for exports that must not hold the whole trail in memory.
pub fn page_after(
    conn: &mut DbConnection,
    after: Option<(i64, &str)>,
    page: i64,
) -> Result<Vec<AuditRow>, RepoError> {
    let mut select = audit_events::table
        .select(AuditRow::as_select())
        .order((
            audit_events::occurred_at.asc(),
            audit_events::event_id.asc(),
        ))
        .limit(page)
        .into_boxed();
    if let Some((occurred_at, event_id)) = after {
        select = select.filter(
            audit_events::occurred_at
                .gt(occurred_at)
                .or(audit_events::occurred_at
                    .eq(occurred_at)
                    .and(audit_events::event_id.gt(event_id.to_owned()))),
        );
    }
    Ok(select.load(conn)?)
}
