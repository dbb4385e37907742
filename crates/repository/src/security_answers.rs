//! A user's security-question answers, stored as Argon2id hashes of the normalised answer.

use crate::schema::{security_answers, users};
use crate::{DbConnection, RepoError, to_micros};
use diesel::prelude::*;
use time::OffsetDateTime;

/// Replaces all of the user's answers with `answers` (`(question_id, answer_hash)`). Call
/// inside a transaction so the old set never mixes with the new.
pub fn replace(
    conn: &mut DbConnection,
    user_id: &str,
    answers: &[(String, String)],
    now: OffsetDateTime,
) -> Result<(), RepoError> {
    crate::connection::write(conn, |conn| {
        // Two replacements for one user must not interleave (on PostgreSQL the second would
        // delete nothing it can see, then clash with the first's new rows): the user's row is
        // locked first, by an update that changes nothing. SQLite's write lock already does this.
        diesel::update(users::table.find(user_id))
            .set(users::created_at.eq(users::created_at))
            .execute(conn)?;
        diesel::delete(security_answers::table.filter(security_answers::user_id.eq(user_id)))
            .execute(conn)?;
        // One statement per row: batch inserts are not available across both backends.
        for (question_id, hash) in answers {
            diesel::insert_into(security_answers::table)
                .values((
                    security_answers::user_id.eq(user_id),
                    security_answers::question_id.eq(question_id),
                    security_answers::answer_hash.eq(hash),
                    security_answers::updated_at.eq(to_micros(now)),
                ))
                .execute(conn)?;
        }
        Ok(())
    })
}

/// The user's `(question_id, answer_hash)` pairs, by question id.
pub fn list(conn: &mut DbConnection, user_id: &str) -> Result<Vec<(String, String)>, RepoError> {
    Ok(security_answers::table
        .filter(security_answers::user_id.eq(user_id))
        .select((security_answers::question_id, security_answers::answer_hash))
        .order(security_answers::question_id.asc())
        .load(conn)?)
}
