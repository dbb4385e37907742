//! DAuth replay protection.

use crate::schema::dauth_requests;
use crate::{DbConnection, RepoError, to_micros};
use diesel::prelude::*;
use time::OffsetDateTime;

/// Records a request id; false if it was seen before (a replay). Ids seen before
/// `forget_before` are purged first: their tokens are outside the window anyway.
pub fn remember_request(
    conn: &mut DbConnection,
    request_id: &str,
    now: OffsetDateTime,
    forget_before: OffsetDateTime,
) -> Result<bool, RepoError> {
    crate::connection::write(conn, |conn| {
        diesel::delete(
            dauth_requests::table.filter(dauth_requests::seen_at.lt(to_micros(forget_before))),
        )
        .execute(conn)?;
        crate::insert_unless_conflict(conn, |conn| {
            diesel::insert_into(dauth_requests::table)
                .values((
                    dauth_requests::request_id.eq(request_id),
                    dauth_requests::seen_at.eq(to_micros(now)),
                ))
                .execute(conn)
        })
    })
}
