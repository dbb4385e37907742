//! Consents. A status changes only by a conditional update from the status that was read, so
//! parallel answers or revocations make one transition.

use crate::connection::on_backend;
use crate::schema::{consents, consumers, user_locks, users};
use crate::sessions::{CONSUMER_GATE, ConsumerGate, ConsumerGateRow};
use crate::users::UserDetailsRow;
use crate::{DbConnection, RepoError, to_micros};
use diesel::prelude::*;
use time::OffsetDateTime;

/// A `consents` row.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = consents)]
pub struct ConsentRow {
    /// UUID text.
    pub consent_id: String,
    /// Who gave it.
    pub user_id: String,
    /// To which consumer.
    pub consumer_id: String,
    /// At which bank it was requested.
    pub bank_id: String,
    /// Everything the user holds.
    pub everything: bool,
    /// `{"views": [...], "entitlements": [...]}`.
    pub scope: String,
    /// Microseconds since the epoch.
    pub valid_from: i64,
    /// Microseconds since the epoch.
    pub expires_at: i64,
    /// `EMAIL`, `SMS` or `IMPLICIT`.
    pub sca_method: String,
    /// The status, as the reference spells it.
    pub status: String,
    /// The SCA challenge.
    pub challenge_id: String,
    /// Microseconds since the epoch.
    pub created_at: i64,
    /// Microseconds since the epoch.
    pub status_changed_at: i64,
}

/// Stores a new consent.
pub fn insert(conn: &mut DbConnection, row: &ConsentRow) -> Result<(), RepoError> {
    crate::connection::write(conn, |conn| {
        diesel::insert_into(consents::table)
            .values(row)
            .execute(conn)?;
        Ok(())
    })
}

/// A consent by id.
pub fn find(conn: &mut DbConnection, consent_id: &str) -> Result<Option<ConsentRow>, RepoError> {
    // Read on every request made with a consent: on the backend's own connection.
    Ok(on_backend!(conn, |conn| consents::table
        .find(consent_id)
        .select(ConsentRow::as_select())
        .get_result(conn)
        .optional())?)
}

/// The columns of a consent that decide whether it may be used now, and for what.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = consents)]
pub struct ConsentUseRow {
    /// Who gave it.
    pub user_id: String,
    /// The bank it was given at: its views and bank roles are there.
    pub bank_id: String,
    /// Everything the user holds.
    pub everything: bool,
    /// `{"views": [...], "entitlements": [...]}`.
    pub scope: String,
    /// Microseconds since the epoch.
    pub valid_from: i64,
    /// Microseconds since the epoch.
    pub expires_at: i64,
    /// The status, as the reference spells it.
    pub status: String,
}

/// What checking a consent JWT needs, read in one primary-key query on every request made
/// with it (so narrower than [`ConsentRow`]: no SCA method, challenge or timestamps).
#[derive(Debug, Clone)]
pub struct ConsentView {
    /// The consent.
    pub consent: ConsentUseRow,
    /// The user who gave it.
    pub user: UserDetailsRow,
    /// Whether an administrator has locked that user.
    pub user_locked: bool,
    /// The consent's consumer (its gate and the keyed hash of its key), if it still exists.
    pub consumer: Option<(ConsumerGate, String)>,
}

/// The consent, its user, the user's administrative lock and the consent's consumer.
pub fn find_for_use(
    conn: &mut DbConnection,
    consent_id: &str,
) -> Result<Option<ConsentView>, RepoError> {
    // Read on every request made with a consent: on the backend's own connection.
    let found = on_backend!(conn, |conn| consents::table
        .inner_join(users::table.on(users::user_id.eq(consents::user_id)))
        .left_join(user_locks::table.on(user_locks::user_id.eq(consents::user_id)))
        .left_join(consumers::table.on(consumers::consumer_id.eq(consents::consumer_id)))
        .filter(consents::consent_id.eq(consent_id))
        .select((
            ConsentUseRow::as_select(),
            UserDetailsRow::as_select(),
            user_locks::user_id.nullable().is_not_null(),
            (CONSUMER_GATE, consumers::key_hash).nullable(),
        ))
        .get_result::<(
            ConsentUseRow,
            UserDetailsRow,
            bool,
            Option<(ConsumerGateRow, String)>,
        )>(conn)
        .optional())?;
    found
        .map(|(consent, user, user_locked, consumer)| {
            Ok(ConsentView {
                consent,
                user,
                user_locked,
                consumer: consumer
                    .map(|(gate, key_hash)| {
                        Ok::<_, RepoError>((ConsumerGate::try_from(gate)?, key_hash))
                    })
                    .transpose()?,
            })
        })
        .transpose()
}

/// A user's consents at a bank, newest first.
pub fn list_for_user(
    conn: &mut DbConnection,
    user_id: &str,
    bank_id: &str,
) -> Result<Vec<ConsentRow>, RepoError> {
    Ok(consents::table
        .filter(consents::user_id.eq(user_id))
        .filter(consents::bank_id.eq(bank_id))
        .order((consents::created_at.desc(), consents::consent_id.asc()))
        .select(ConsentRow::as_select())
        .load(conn)?)
}

/// Moves a consent from `from` to `to`; `false` if it was no longer in `from`.
pub fn transition(
    conn: &mut DbConnection,
    consent_id: &str,
    from: &str,
    to: &str,
    now: OffsetDateTime,
) -> Result<bool, RepoError> {
    crate::connection::write(conn, |conn| {
        let changed = diesel::update(
            consents::table
                .find(consent_id)
                .filter(consents::status.eq(from)),
        )
        .set((
            consents::status.eq(to),
            consents::status_changed_at.eq(to_micros(now)),
        ))
        .execute(conn)?;
        Ok(changed == 1)
    })
}

/// Marks consents past their expiry (in `statuses`) as `EXPIRED`; returns how many. Safe to
/// run from several replicas: each row changes once.
pub fn expire_before(
    conn: &mut DbConnection,
    now: OffsetDateTime,
    statuses: &[&str],
) -> Result<usize, RepoError> {
    crate::connection::write(conn, |conn| {
        Ok(diesel::update(
            consents::table
                .filter(consents::expires_at.le(to_micros(now)))
                .filter(consents::status.eq_any(statuses)),
        )
        .set((
            consents::status.eq("EXPIRED"),
            consents::status_changed_at.eq(to_micros(now)),
        ))
        .execute(conn)?)
    })
}
