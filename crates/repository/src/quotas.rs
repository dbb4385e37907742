//! Fixed-window use counters for abuse limits. A use is one conditional increment, so
//! parallel requests can never pass the limit together; windows before the current one are
//! dropped as the subject is next counted.

use crate::schema::quota_counters;
use crate::{DbConnection, RepoError, insert_unless_conflict, to_micros};
use diesel::prelude::*;
use time::OffsetDateTime;

/// Counts one use of `subject` in `scope` for the window starting at `window_start`, unless
/// `limit` uses are counted already. Returns whether the use was allowed (and counted).
pub fn consume(
    conn: &mut DbConnection,
    scope: &str,
    subject: &str,
    window_start: OffsetDateTime,
    limit: u32,
) -> Result<bool, RepoError> {
    crate::connection::write(conn, |conn| {
        let window = to_micros(window_start);
        let limit = i32::try_from(limit).unwrap_or(i32::MAX);
        let this = |conn: &mut DbConnection| {
            diesel::update(
                quota_counters::table
                    .filter(quota_counters::scope.eq(scope))
                    .filter(quota_counters::subject.eq(subject))
                    .filter(quota_counters::window_start.eq(window))
                    .filter(quota_counters::used.lt(limit)),
            )
            .set(quota_counters::used.eq(quota_counters::used + 1))
            .execute(conn)
        };
        if this(conn)? == 1 {
            return Ok(true);
        }
        let created = insert_unless_conflict(conn, |conn| {
            diesel::insert_into(quota_counters::table)
                .values((
                    quota_counters::scope.eq(scope),
                    quota_counters::subject.eq(subject),
                    quota_counters::window_start.eq(window),
                    quota_counters::used.eq(0),
                ))
                .execute(conn)
        })?;
        if created {
            diesel::delete(
                quota_counters::table
                    .filter(quota_counters::scope.eq(scope))
                    .filter(quota_counters::subject.eq(subject))
                    .filter(quota_counters::window_start.lt(window)),
            )
            .execute(conn)?;
        }
        Ok(this(conn)? == 1)
    })
}

/// Uses counted for `subject` in the window starting at `window_start`.
pub fn used(
    conn: &mut DbConnection,
    scope: &str,
    subject: &str,
    window_start: OffsetDateTime,
) -> Result<u32, RepoError> {
    let used: Option<i32> = quota_counters::table
        .filter(quota_counters::scope.eq(scope))
        .filter(quota_counters::subject.eq(subject))
        .filter(quota_counters::window_start.eq(to_micros(window_start)))
        .select(quota_counters::used)
        .get_result(conn)
        .optional()?;
    Ok(used.map_or(0, |n| u32::try_from(n).unwrap_or(0)))
}

/// Deletes every window that started before `cutoff` (subjects not seen since); returns how
/// many.
pub fn delete_windows_before(
    conn: &mut DbConnection,
    cutoff: OffsetDateTime,
) -> Result<usize, RepoError> {
    crate::connection::write(conn, |conn| {
        Ok(diesel::delete(
            quota_counters::table.filter(quota_counters::window_start.lt(to_micros(cutoff))),
        )
        .execute(conn)?)
    })
}
