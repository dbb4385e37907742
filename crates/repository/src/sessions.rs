//! Sessions: the one sign-in state. Reads are one indexed query; writes are conditional.

use crate::connection::on_backend;
use crate::schema::{consumers, sessions, user_locks, users};
use crate::users::UserDetailsRow;
use crate::{DbConnection, RepoError, from_micros, to_micros};
use assent_identity::rate_limit::CallLimits;
use assent_session::{Session, SessionClock, SessionId, StoredSession};
use diesel::prelude::*;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// A `sessions` row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    /// Hex id.
    pub session_id: String,
    /// Owner's UUID text.
    pub user_id: String,
    /// Microseconds since the epoch.
    pub created_at: i64,
    /// Microseconds since the epoch.
    pub last_activity_at: i64,
    /// Idle timeout in seconds, fixed at start.
    pub idle_timeout_secs: i64,
    /// Absolute expiry, microseconds since the epoch.
    pub expires_at: i64,
    /// Termination time, if terminated.
    pub terminated_at: Option<i64>,
    /// The consumer's UUID text, or `""`.
    pub consumer_id: String,
    /// Institution code.
    pub institution_id: String,
    /// Microseconds since the epoch.
    pub last_strong_auth_at: i64,
    /// Why it ended.
    pub termination_reason: Option<String>,
    /// Where it started.
    pub client_ip: Option<String>,
    /// The client's user agent at the start.
    pub user_agent: Option<String>,
    /// The session that replaced this one, if it expired and was replaced.
    pub replaced_by: Option<String>,
    /// The id of the family's first session.
    pub family_id: String,
}

impl From<&Session> for SessionRow {
    fn from(session: &Session) -> Self {
        Self {
            session_id: session.session_id().as_str().to_owned(),
            user_id: session.user_id().to_string(),
            created_at: to_micros(session.created_at()),
            last_activity_at: to_micros(session.last_activity_at()),
            idle_timeout_secs: session.idle_timeout().whole_seconds(),
            expires_at: to_micros(session.expires_at()),
            terminated_at: session.terminated_at().map(to_micros),
            consumer_id: session
                .consumer_id()
                .map(|id| id.to_string())
                .unwrap_or_default(),
            institution_id: session.institution_id().to_owned(),
            last_strong_auth_at: to_micros(session.last_strong_auth_at()),
            termination_reason: session.termination_reason().map(str::to_owned),
            client_ip: session.client_ip().map(str::to_owned),
            user_agent: session.user_agent().map(str::to_owned),
            replaced_by: None,
            family_id: session.family_id().as_str().to_owned(),
        }
    }
}

impl TryFrom<SessionRow> for Session {
    type Error = RepoError;

    fn try_from(row: SessionRow) -> Result<Self, RepoError> {
        let corrupt = |reason: String| RepoError::CorruptRow {
            table: "sessions",
            reason,
        };
        let session_id =
            SessionId::parse(&row.session_id).ok_or_else(|| corrupt("bad session id".into()))?;
        let family_id = SessionId::parse(&row.family_id)
            .ok_or_else(|| corrupt("bad session family id".into()))?;
        Ok(Session::restore(StoredSession {
            session_id,
            family_id,
            user_id: Uuid::parse_str(&row.user_id).map_err(|e| corrupt(e.to_string()))?,
            created_at: from_micros(row.created_at),
            last_activity_at: from_micros(row.last_activity_at),
            idle_timeout: Duration::seconds(row.idle_timeout_secs),
            expires_at: from_micros(row.expires_at),
            terminated_at: row.terminated_at.map(from_micros),
            termination_reason: row.termination_reason,
            institution_id: row.institution_id,
            last_strong_auth_at: from_micros(row.last_strong_auth_at),
            client_ip: row.client_ip,
            user_agent: row.user_agent,
            consumer_id: if row.consumer_id.is_empty() {
                None
            } else {
                Some(Uuid::parse_str(&row.consumer_id).map_err(|e| corrupt(e.to_string()))?)
            },
        }))
    }
}

/// Stores a new session.
pub fn insert(conn: &mut DbConnection, session: &Session) -> Result<(), RepoError> {
    crate::connection::write(conn, |conn| {
        diesel::insert_into(sessions::table)
            .values(SessionRow::from(session))
            .execute(conn)?;
        Ok(())
    })
}

/// What the session check needs of a session's consumer: whether it may call, and its limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsumerGate {
    /// The consumer.
    pub consumer_id: Uuid,
    /// Whether it is enabled.
    pub enabled: bool,
    /// Its call limits.
    pub call_limits: CallLimits,
}

pub(crate) type ConsumerGateRow = (String, bool, i64, i64, i64, i64, i64, i64);

/// The columns a [`ConsumerGateRow`] is read from (a column's type is its only value).
macro_rules! consumer_gate_columns {
    ($($column:ident),*) => {
        pub(crate) const CONSUMER_GATE: ($(consumers::$column,)*) = ($(consumers::$column,)*);
    };
}
consumer_gate_columns!(
    consumer_id,
    enabled,
    per_second_call_limit,
    per_minute_call_limit,
    per_hour_call_limit,
    per_day_call_limit,
    per_week_call_limit,
    per_month_call_limit
);

impl TryFrom<ConsumerGateRow> for ConsumerGate {
    type Error = RepoError;

    fn try_from(row: ConsumerGateRow) -> Result<Self, RepoError> {
        let (id, enabled, second, minute, hour, day, week, month) = row;
        Ok(Self {
            consumer_id: Uuid::parse_str(&id).map_err(|e| RepoError::CorruptRow {
                table: "consumers",
                reason: e.to_string(),
            })?,
            enabled,
            call_limits: CallLimits::new([second, minute, hour, day, week, month]).map_err(
                |e| RepoError::CorruptRow {
                    table: "consumers",
                    reason: e.to_string(),
                },
            )?,
        })
    }
}

/// What the per-request session check reads, in one primary-key query.
#[derive(Debug, Clone)]
pub struct SessionView {
    /// The session.
    pub session: Session,
    /// Its user.
    pub user: UserDetailsRow,
    /// Its consumer's gate, if it was made through one.
    pub consumer: Option<ConsumerGate>,
    /// Whether an administrator has locked the user.
    pub user_locked: bool,
}

/// A session with its user, its consumer and the user's administrative lock, if any.
#[diesel::dsl::auto_type]
fn sessions_with_users_and_gates() -> _ {
    sessions::table
        .inner_join(users::table)
        .left_join(consumers::table)
        .left_join(user_locks::table.on(user_locks::user_id.eq(sessions::user_id)))
}

/// The session, its user, its consumer's gate and the user's administrative lock.
pub fn find_with_user(
    conn: &mut DbConnection,
    session_id: &str,
) -> Result<Option<SessionView>, RepoError> {
    let found = on_backend!(conn, |conn| sessions_with_users_and_gates()
        .filter(sessions::session_id.eq(session_id))
        .select((
            SessionRow::as_select(),
            UserDetailsRow::as_select(),
            CONSUMER_GATE.nullable(),
            user_locks::user_id.nullable().is_not_null(),
        ))
        // The key is the primary key, so no LIMIT is needed; without one the statement stays
        // in Diesel's prepared-statement cache (a bound LIMIT keeps it out, at ~3x the cost).
        .get_result::<(SessionRow, UserDetailsRow, Option<ConsumerGateRow>, bool)>(conn)
        .optional())?;
    found
        .map(|(session, user, consumer, user_locked)| {
            Ok(SessionView {
                session: Session::try_from(session)?,
                user,
                consumer: consumer.map(ConsumerGate::try_from).transpose()?,
                user_locked,
            })
        })
        .transpose()
}

/// The columns of a session that decide whether it is still live.
#[derive(Debug, Clone, Copy, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct SessionClockRow {
    /// Microseconds since the epoch.
    pub last_activity_at: i64,
    /// Idle timeout in seconds, fixed at start.
    pub idle_timeout_secs: i64,
    /// Absolute expiry, microseconds since the epoch.
    pub expires_at: i64,
    /// Termination time, if terminated.
    pub terminated_at: Option<i64>,
}

impl From<SessionClockRow> for SessionClock {
    fn from(row: SessionClockRow) -> Self {
        SessionClock::restore(
            from_micros(row.last_activity_at),
            Duration::seconds(row.idle_timeout_secs),
            from_micros(row.expires_at),
            row.terminated_at.map(from_micros),
        )
    }
}

/// What every authenticated request reads of its session: less than [`SessionView`] (no
/// client address, user agent or institution), because it is read on every request.
#[derive(Debug, Clone)]
pub struct SessionCheck {
    /// Whether the session is still live.
    pub clock: SessionClock,
    /// Whether it was made through a consumer (which must then still exist and be enabled).
    pub through_consumer: bool,
    /// Its user.
    pub user: UserDetailsRow,
    /// Its consumer's gate, if it was made through one that still exists.
    pub consumer: Option<ConsumerGate>,
    /// Whether an administrator has locked the user.
    pub user_locked: bool,
}

/// The per-request check of a session: [`find_with_user`]'s join, with only the columns the
/// check needs.
pub fn find_for_check(
    conn: &mut DbConnection,
    session_id: &SessionId,
) -> Result<Option<SessionCheck>, RepoError> {
    let found = on_backend!(conn, |conn| sessions_with_users_and_gates()
        .filter(sessions::session_id.eq(session_id.as_str()))
        .select((
            SessionClockRow::as_select(),
            sessions::consumer_id.ne(""),
            UserDetailsRow::as_select(),
            CONSUMER_GATE.nullable(),
            user_locks::user_id.nullable().is_not_null(),
        ))
        // No LIMIT, as in `find_with_user`: the statement stays in Diesel's cache.
        .get_result::<CheckRow>(conn)
        .optional())?;
    found.map(SessionCheck::try_from).transpose()
}

/// The columns of [`find_for_check`]: clock, made through a consumer, user, consumer gate,
/// locked.
type CheckRow = (
    SessionClockRow,
    bool,
    UserDetailsRow,
    Option<ConsumerGateRow>,
    bool,
);

impl TryFrom<CheckRow> for SessionCheck {
    type Error = RepoError;

    fn try_from(
        (clock, through_consumer, user, consumer, user_locked): CheckRow,
    ) -> Result<Self, RepoError> {
        Ok(SessionCheck {
            clock: clock.into(),
            through_consumer,
            user,
            consumer: consumer.map(ConsumerGate::try_from).transpose()?,
            user_locked,
        })
    }
}

/// What a signed-in user holds: their entitlements (oldest first) and views (by bank, account
/// and view), as [`crate::entitlements::list_for_user`] and [`crate::accounts::grants_of_user`]
/// read them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Holdings {
    /// Entitlements, oldest first.
    pub entitlements: Vec<crate::entitlements::EntitlementRow>,
    /// Views held.
    pub views: Vec<crate::accounts::Grant>,
}

/// A fixed PostgreSQL text expression as a type of its own: a query holding `sql(...)` is
/// prepared again on every call (Diesel cannot cache what it cannot name), which measured at
/// half the speed of three cached statements; as a type, the whole query keeps its prepared
/// statement.
macro_rules! fixed_text_expression {
    ($name:ident, $sql:expr) => {
        #[derive(Debug, Clone, Copy, diesel::query_builder::QueryId)]
        struct $name;
        impl diesel::expression::Expression for $name {
            type SqlType = diesel::sql_types::Text;
        }
        impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for $name {
            fn walk_ast<'b>(
                &'b self,
                mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
            ) -> QueryResult<()> {
                out.push_sql($sql);
                Ok(())
            }
        }
        impl<QS> diesel::expression::SelectableExpression<QS> for $name {}
        impl<QS> diesel::expression::AppearsOnTable<QS> for $name {}
        impl diesel::expression::ValidGrouping<()> for $name {
            type IsAggregate = diesel::expression::is_aggregate::Never;
        }
    };
}

/// The user's entitlements as JSON, one `[id, user, role, bank, created]` array each.
const ENTITLEMENTS_JSON: &str = "(SELECT coalesce(json_agg(json_build_array(e.entitlement_id, \
     e.user_id, e.role_name, e.bank_id, e.created_at) ORDER BY e.created_at, e.entitlement_id), \
     '[]')::text FROM entitlements e WHERE e.user_id = users.user_id)";

/// The user's views as JSON, one `[bank, account, view, is_system]` array each.
const VIEWS_JSON: &str = "(SELECT coalesce(json_agg(json_build_array(a.bank_id, a.account_id, \
     a.view_id, a.is_system) ORDER BY a.bank_id, a.account_id, a.view_id), '[]')::text \
     FROM account_access a WHERE a.user_id = users.user_id)";

fixed_text_expression!(EntitlementsJson, ENTITLEMENTS_JSON);
fixed_text_expression!(ViewsJson, VIEWS_JSON);

/// [`find_for_check`] and what the session's user holds. On PostgreSQL one statement, so one
/// round trip (the holdings as JSON arrays beside the row); on SQLite, in-process, the three
/// reads as they are.
pub fn find_for_check_with_holdings(
    conn: &mut DbConnection,
    session_id: &SessionId,
) -> Result<Option<(SessionCheck, Holdings)>, RepoError> {
    let pg = match conn {
        DbConnection::Postgres(pg) => pg,
        DbConnection::Sqlite(_) => {
            let Some(check) = find_for_check(conn, session_id)? else {
                return Ok(None);
            };
            let holdings = Holdings {
                entitlements: crate::entitlements::list_for_user(conn, &check.user.user_id)?,
                views: crate::accounts::grants_of_user(conn, &check.user.user_id)?,
            };
            return Ok(Some((check, holdings)));
        }
    };
    let found = sessions_with_users_and_gates()
        .filter(sessions::session_id.eq(session_id.as_str()))
        .select((
            SessionClockRow::as_select(),
            sessions::consumer_id.ne(""),
            UserDetailsRow::as_select(),
            CONSUMER_GATE.nullable(),
            user_locks::user_id.nullable().is_not_null(),
            EntitlementsJson,
            ViewsJson,
        ))
        .get_result::<(
            SessionClockRow,
            bool,
            UserDetailsRow,
            Option<ConsumerGateRow>,
            bool,
            String,
            String,
        )>(pg)
        .optional()?;
    let Some((clock, through_consumer, user, consumer, user_locked, entitlements, views)) = found
    else {
        return Ok(None);
    };
    let check = SessionCheck::try_from((clock, through_consumer, user, consumer, user_locked))?;
    let corrupt = |reason: serde_json::Error| RepoError::CorruptRow {
        table: "sessions",
        reason: format!("holdings: {reason}"),
    };
    let entitlements: Vec<(String, String, String, String, i64)> =
        serde_json::from_str(&entitlements).map_err(corrupt)?;
    let views: Vec<(String, String, String, bool)> =
        serde_json::from_str(&views).map_err(corrupt)?;
    let holdings = Holdings {
        entitlements: entitlements
            .into_iter()
            .map(
                |(entitlement_id, user_id, role_name, bank_id, created_at)| {
                    crate::entitlements::EntitlementRow {
                        entitlement_id,
                        user_id,
                        role_name,
                        bank_id,
                        created_at,
                    }
                },
            )
            .collect(),
        views: views
            .into_iter()
            .map(
                |(bank_id, account_id, view_id, is_system)| crate::accounts::Grant {
                    bank_id,
                    account_id,
                    view_id,
                    is_system,
                },
            )
            .collect(),
    };
    Ok(Some((check, holdings)))
}

/// Terminates every live session created through a consumer; returns how many.
pub fn terminate_all_for_consumer(
    conn: &mut DbConnection,
    consumer_id: &Uuid,
    now: OffsetDateTime,
) -> Result<usize, RepoError> {
    crate::connection::write(conn, |conn| {
        Ok(diesel::update(
            sessions::table
                .filter(sessions::consumer_id.eq(consumer_id.to_string()))
                .filter(sessions::terminated_at.is_null()),
        )
        .set((
            sessions::terminated_at.eq(Some(to_micros(now))),
            sessions::termination_reason.eq(Some("consumer_disabled")),
        ))
        .execute(conn)?)
    })
}

/// Records activity at `now`, unless the recorded activity is already at or after
/// `not_before` (another request got there first) or the session has ended. One conditional
/// statement, so concurrent requests cannot move activity backwards.
pub fn record_activity(
    conn: &mut DbConnection,
    session_id: &str,
    now: OffsetDateTime,
    not_before: OffsetDateTime,
) -> Result<bool, RepoError> {
    crate::connection::write(conn, |conn| {
        let updated = diesel::update(
            sessions::table
                .filter(sessions::session_id.eq(session_id))
                .filter(sessions::terminated_at.is_null())
                .filter(sessions::last_activity_at.lt(to_micros(not_before))),
        )
        .set(sessions::last_activity_at.eq(to_micros(now)))
        .execute(conn)?;
        Ok(updated == 1)
    })
}

/// Terminates every session of the family `session_id` belongs to that is not terminated
/// yet, for `reason`, however long the family (one statement per pass, not per member);
/// returns how many (0 if the id is unknown).
pub fn terminate_family(
    conn: &mut DbConnection,
    session_id: &str,
    now: OffsetDateTime,
    reason: &str,
) -> Result<usize, RepoError> {
    crate::connection::write(conn, |conn| {
        let end_live_members = |conn: &mut DbConnection| {
            let member = diesel::alias!(sessions as member);
            let family = member
                .filter(member.field(sessions::session_id).eq(session_id))
                .select(member.field(sessions::family_id));
            diesel::update(
                sessions::table
                    .filter(sessions::family_id.eq_any(family))
                    .filter(sessions::terminated_at.is_null()),
            )
            .set((
                sessions::terminated_at.eq(Some(to_micros(now))),
                sessions::termination_reason.eq(Some(reason)),
            ))
            .execute(conn)
        };
        // On PostgreSQL a statement sees the rows committed when it started. A replacement
        // committed while this statement waited for the old session's row lock is not among
        // them (the old row, re-checked, is terminated by then), so statements are repeated
        // until one after the first ends nothing: that one started after the replacement.
        let mut ended = end_live_members(conn)?;
        loop {
            let more = end_live_members(conn)?;
            if more == 0 {
                return Ok(ended);
            }
            ended += more;
        }
    })
}

/// Terminates every live session of a user, except `keep` if given, for `reason`; returns
/// how many.
pub fn terminate_all_for_user(
    conn: &mut DbConnection,
    user_id: &str,
    now: OffsetDateTime,
    reason: &str,
    keep: Option<&str>,
) -> Result<usize, RepoError> {
    crate::connection::write(conn, |conn| {
        Ok(diesel::update(
            sessions::table
                .filter(sessions::user_id.eq(user_id))
                .filter(sessions::terminated_at.is_null())
                .filter(sessions::session_id.ne(keep.unwrap_or(""))),
        )
        .set((
            sessions::terminated_at.eq(Some(to_micros(now))),
            sessions::termination_reason.eq(Some(reason)),
        ))
        .execute(conn)?)
    })
}

/// A session by id.
pub fn find(conn: &mut DbConnection, session_id: &str) -> Result<Option<Session>, RepoError> {
    sessions::table
        .find(session_id)
        .select(SessionRow::as_select())
        .get_result(conn)
        .optional()?
        .map(Session::try_from)
        .transpose()
}

/// A user's sessions that have not ended (neither terminated nor past their absolute
/// expiry), newest first. Idle-expired ones are included; the caller decides with the
/// session's own state.
pub fn list_live_for_user(
    conn: &mut DbConnection,
    user_id: &str,
    now: OffsetDateTime,
) -> Result<Vec<Session>, RepoError> {
    sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::terminated_at.is_null())
        .filter(sessions::expires_at.gt(to_micros(now)))
        .order(sessions::created_at.desc())
        .select(SessionRow::as_select())
        .load(conn)?
        .into_iter()
        .map(Session::try_from)
        .collect()
}

/// Keeps an active session alive at `now` in one conditional statement: only if it is not
/// terminated, not past its absolute expiry, not idle past its timeout, and its recorded
/// activity is not later already. With `strong_auth`, also records a strong authentication.
/// `false` when nothing was written (the caller reads the session again to say why).
pub fn keep_alive(
    conn: &mut DbConnection,
    session_id: &str,
    now: OffsetDateTime,
    strong_auth: bool,
) -> Result<bool, RepoError> {
    crate::connection::write(conn, |conn| {
        let at = to_micros(now);
        let live = sessions::table
            .find(session_id)
            .filter(sessions::terminated_at.is_null())
            .filter(sessions::expires_at.gt(at))
            .filter(sessions::last_activity_at.le(at))
            .filter(
                (sessions::last_activity_at + sessions::idle_timeout_secs * 1_000_000i64).gt(at),
            );
        let updated = if strong_auth {
            diesel::update(live)
                .set((
                    sessions::last_activity_at.eq(at),
                    sessions::last_strong_auth_at.eq(at),
                ))
                .execute(conn)?
        } else {
            diesel::update(live)
                .set(sessions::last_activity_at.eq(at))
                .execute(conn)?
        };
        Ok(updated == 1)
    })
}

/// Ends `old` as replaced by `new` and stores `new`, if `old` is still not terminated. Call in
/// a transaction; `false` when `old` was terminated meanwhile (nothing stored).
pub fn replace(
    conn: &mut DbConnection,
    old: &Session,
    new: &Session,
    now: OffsetDateTime,
) -> Result<bool, RepoError> {
    crate::connection::write(conn, |conn| {
        let ended = diesel::update(
            sessions::table
                .find(old.session_id().as_str())
                .filter(sessions::terminated_at.is_null()),
        )
        .set((
            sessions::terminated_at.eq(Some(to_micros(now))),
            sessions::termination_reason.eq(Some("replaced")),
            sessions::replaced_by.eq(Some(new.session_id().as_str())),
        ))
        .execute(conn)?;
        if ended != 1 {
            return Ok(false);
        }
        insert(conn, new)?;
        Ok(true)
    })
}

/// The owner of a session.
pub fn owner_of(conn: &mut DbConnection, session_id: &str) -> Result<Option<String>, RepoError> {
    Ok(sessions::table
        .find(session_id)
        .select(sessions::user_id)
        .get_result(conn)
        .optional()?)
}

/// Writes a session back if its row still holds what `before` held (activity, strong
/// authentication, not terminated): the loser of a race writes nothing and decides again.
pub fn update_if_unchanged(
    conn: &mut DbConnection,
    before: &Session,
    after: &Session,
) -> Result<bool, RepoError> {
    crate::connection::write(conn, |conn| {
        let updated = diesel::update(
            sessions::table
                .find(before.session_id().as_str())
                .filter(sessions::terminated_at.is_null())
                .filter(sessions::last_activity_at.eq(to_micros(before.last_activity_at())))
                .filter(sessions::last_strong_auth_at.eq(to_micros(before.last_strong_auth_at()))),
        )
        .set((
            sessions::last_activity_at.eq(to_micros(after.last_activity_at())),
            sessions::last_strong_auth_at.eq(to_micros(after.last_strong_auth_at())),
            sessions::terminated_at.eq(after.terminated_at().map(to_micros)),
            sessions::termination_reason.eq(after.termination_reason()),
        ))
        .execute(conn)?;
        Ok(updated == 1)
    })
}

/// Deletes sessions that ended (terminated, or past their absolute expiry) before `cutoff`,
/// at most `batch` of them; returns how many. Safe to run from several replicas at once.
pub fn delete_ended_before(
    conn: &mut DbConnection,
    cutoff: OffsetDateTime,
    batch: i64,
) -> Result<usize, RepoError> {
    crate::connection::write(conn, |conn| {
        let cutoff = to_micros(cutoff);
        let ended: Vec<String> = sessions::table
            .filter(
                sessions::expires_at
                    .lt(cutoff)
                    .or(sessions::terminated_at.lt(cutoff)),
            )
            .select(sessions::session_id)
            .limit(batch)
            .load(conn)?;
        if ended.is_empty() {
            return Ok(0);
        }
        Ok(
            diesel::delete(sessions::table.filter(sessions::session_id.eq_any(&ended)))
                .execute(conn)?,
        )
    })
}
