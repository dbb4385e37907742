//! One-time-code challenges. A change is made by loading the challenge, applying a pure
//! operation from `assent-otp`, and writing the result back only if the row still holds what
//! was loaded (state, failures, resends, code); a writer that lost the race loads again and decides
//! on the fresh state. So N parallel wrong answers against a limit of M evaluate exactly M.

use crate::schema::{challenge_destinations, challenges};
use crate::{DbConnection, RepoError, from_micros, to_micros};
use assent_otp::challenge::{
    Challenge, ChallengePolicy, ChallengeState, PolicySettings, StoredChallenge,
};
use diesel::prelude::*;
use time::Duration;
use uuid::Uuid;

/// A `challenges` row.
#[derive(Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = challenges)]
pub struct ChallengeRow {
    /// UUID text.
    pub challenge_id: String,
    /// What it confirms.
    pub purpose: String,
    /// The user it was issued to, if any (pre-login flows have none).
    pub user_id: Option<String>,
    /// `pending`, `verified`, `failed`, `expired` or `locked`.
    pub state: String,
    /// Keyed hash of the current code, hex.
    pub code_hash: String,
    /// Digits per code.
    pub code_length: i32,
    /// Microseconds since the epoch.
    pub created_at: i64,
    /// Microseconds since the epoch.
    pub last_sent_at: i64,
    /// Microseconds since the epoch.
    pub expires_at: i64,
    /// Wrong answers so far.
    pub failures: i32,
    /// Resends so far.
    pub resends: i32,
    /// Limit it was issued with.
    pub max_failures: i32,
    /// Limit it was issued with.
    pub max_resends: i32,
    /// Code validity, seconds.
    pub validity_secs: i64,
    /// Resend cooldown, seconds.
    pub resend_cooldown_secs: i64,
    /// Microseconds since the epoch.
    pub verified_at: Option<i64>,
}

crate::redacted::debug_redacting!(ChallengeRow {
    challenge_id, purpose, user_id, state, code_length, created_at, last_sent_at, expires_at,
    failures, resends, max_failures, max_resends, validity_secs, resend_cooldown_secs,
    verified_at,
} secret { code_hash });

fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

fn corrupt(reason: &str) -> RepoError {
    RepoError::CorruptRow {
        table: "challenges",
        reason: reason.to_owned(),
    }
}

fn int(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

impl ChallengeRow {
    /// The row of `challenge`, issued to `user_id`.
    pub fn new(challenge: &Challenge, user_id: Option<&str>) -> Self {
        let policy = challenge.policy();
        Self {
            challenge_id: challenge.id().to_string(),
            purpose: challenge.purpose().to_owned(),
            user_id: user_id.map(str::to_owned),
            state: challenge.recorded_state().as_str().to_owned(),
            code_hash: hex(challenge.code_hash()),
            code_length: i32::try_from(challenge.code_length()).unwrap_or(6),
            created_at: to_micros(challenge.created_at()),
            last_sent_at: to_micros(challenge.last_sent_at()),
            expires_at: to_micros(challenge.expires_at()),
            failures: int(challenge.failures()),
            resends: int(challenge.resends()),
            max_failures: int(policy.max_failures()),
            max_resends: int(policy.max_resends()),
            validity_secs: policy.validity().whole_seconds(),
            resend_cooldown_secs: policy.resend_cooldown().whole_seconds(),
            verified_at: challenge.verified_at().map(to_micros),
        }
    }
}

impl TryFrom<ChallengeRow> for Challenge {
    type Error = RepoError;

    fn try_from(row: ChallengeRow) -> Result<Self, RepoError> {
        let state = ChallengeState::parse(&row.state).ok_or_else(|| corrupt("unknown state"))?;
        let mut code_hash = [0u8; 32];
        if row.code_hash.len() != 64 {
            return Err(corrupt("bad code hash"));
        }
        for (i, byte) in code_hash.iter_mut().enumerate() {
            let pair = row
                .code_hash
                .get(i * 2..i * 2 + 2)
                .ok_or_else(|| corrupt("bad code hash"))?;
            *byte = u8::from_str_radix(pair, 16).map_err(|_| corrupt("bad code hash"))?;
        }
        let count = |v: i32| u32::try_from(v).map_err(|_| corrupt("negative count"));
        let policy = ChallengePolicy::new(PolicySettings {
            code_length: usize::try_from(row.code_length).map_err(|_| corrupt("bad length"))?,
            validity: Duration::seconds(row.validity_secs),
            max_failures: count(row.max_failures)?,
            max_resends: count(row.max_resends)?,
            resend_cooldown: Duration::seconds(row.resend_cooldown_secs),
        })
        .map_err(|e| corrupt(&e.to_string()))?;
        Challenge::restore(StoredChallenge {
            id: Uuid::parse_str(&row.challenge_id).map_err(|_| corrupt("bad id"))?,
            purpose: row.purpose,
            state,
            code_hash,
            created_at: from_micros(row.created_at),
            last_sent_at: from_micros(row.last_sent_at),
            expires_at: from_micros(row.expires_at),
            failures: count(row.failures)?,
            resends: count(row.resends)?,
            verified_at: row.verified_at.map(from_micros),
            policy,
        })
        .map_err(|e| corrupt(&e.to_string()))
    }
}

/// Stores a new challenge.
pub fn insert(
    conn: &mut DbConnection,
    challenge: &Challenge,
    user_id: Option<&str>,
) -> Result<(), RepoError> {
    crate::connection::write(conn, |conn| {
        diesel::insert_into(challenges::table)
            .values(ChallengeRow::new(challenge, user_id))
            .execute(conn)?;
        Ok(())
    })
}

/// Stores where a challenge's codes go: `(channel, destination)` pairs.
pub fn insert_destinations(
    conn: &mut DbConnection,
    id: &Uuid,
    destinations: &[(String, String)],
) -> Result<(), RepoError> {
    crate::connection::write(conn, |conn| {
        // One statement per row: batch inserts are not available across both backends.
        for (channel, destination) in destinations {
            diesel::insert_into(challenge_destinations::table)
                .values((
                    challenge_destinations::challenge_id.eq(id.to_string()),
                    challenge_destinations::channel.eq(channel),
                    challenge_destinations::destination.eq(destination),
                ))
                .execute(conn)?;
        }
        Ok(())
    })
}

/// Where a challenge's codes go, `(channel, destination)`, by channel name.
pub fn destinations(
    conn: &mut DbConnection,
    id: &Uuid,
) -> Result<Vec<(String, String)>, RepoError> {
    Ok(challenge_destinations::table
        .filter(challenge_destinations::challenge_id.eq(id.to_string()))
        .select((
            challenge_destinations::channel,
            challenge_destinations::destination,
        ))
        .order(challenge_destinations::channel.asc())
        .load(conn)?)
}

/// A challenge and the user it was issued to.
pub fn find(
    conn: &mut DbConnection,
    id: &Uuid,
) -> Result<Option<(Challenge, Option<String>)>, RepoError> {
    challenges::table
        .find(id.to_string())
        .select(ChallengeRow::as_select())
        .get_result(conn)
        .optional()?
        .map(|row| {
            let user = row.user_id.clone();
            Ok((Challenge::try_from(row)?, user))
        })
        .transpose()
}

/// How many challenges are recorded in `state` (expiry is not applied: a pending challenge
/// past its expiry still counts as pending).
pub fn count_in_state(conn: &mut DbConnection, state: ChallengeState) -> Result<i64, RepoError> {
    Ok(challenges::table
        .filter(challenges::state.eq(state.as_str()))
        .count()
        .get_result(conn)?)
}

/// Most reloads when writers keep colliding on one challenge.
const MAX_ATTEMPTS: usize = 100;

/// Applies `operation` to the stored challenge and writes the result back only if nobody
/// changed it meanwhile; otherwise reloads and applies it again to the fresh state. Returns
/// `None` for an unknown challenge, else the operation's outcome on the state that was saved.
pub fn update<R>(
    conn: &mut DbConnection,
    id: &Uuid,
    mut operation: impl FnMut(&mut Challenge) -> R,
) -> Result<Option<R>, RepoError> {
    crate::connection::write(conn, |conn| {
        for _ in 0..MAX_ATTEMPTS {
            let Some((before, user_id)) = find(conn, id)? else {
                return Ok(None);
            };
            let mut after = before.clone();
            let outcome = operation(&mut after);
            if after == before {
                return Ok(Some(outcome));
            }
            let row = ChallengeRow::new(&after, user_id.as_deref());
            let written = diesel::update(
                challenges::table
                    .find(id.to_string())
                    .filter(challenges::state.eq(before.recorded_state().as_str()))
                    .filter(challenges::failures.eq(int(before.failures())))
                    .filter(challenges::resends.eq(int(before.resends())))
                    // The first code of a challenge opened without one changes only these.
                    .filter(challenges::code_hash.eq(hex(before.code_hash())))
                    .filter(challenges::last_sent_at.eq(to_micros(before.last_sent_at()))),
            )
            .set((
                challenges::state.eq(&row.state),
                challenges::code_hash.eq(&row.code_hash),
                challenges::failures.eq(row.failures),
                challenges::resends.eq(row.resends),
                challenges::last_sent_at.eq(row.last_sent_at),
                challenges::expires_at.eq(row.expires_at),
                challenges::verified_at.eq(row.verified_at),
            ))
            .execute(conn)?;
            if written == 1 {
                return Ok(Some(outcome));
            }
        }
        Err(RepoError::Connection(
            "challenge update kept colliding".into(),
        ))
    })
}

/// Deletes challenges (with their destinations and what they confirmed) whose code expired
/// before `cutoff`, at most `batch` of them (so no statement holds the database long);
/// returns how many.
pub fn delete_expired_before(
    conn: &mut DbConnection,
    cutoff: time::OffsetDateTime,
    batch: i64,
) -> Result<usize, RepoError> {
    crate::connection::write(conn, |conn| {
        let ids: Vec<String> = challenges::table
            .filter(challenges::expires_at.lt(to_micros(cutoff)))
            .select(challenges::challenge_id)
            .limit(batch)
            .load(conn)?;
        if ids.is_empty() {
            return Ok(0);
        }
        Ok(
            diesel::delete(challenges::table.filter(challenges::challenge_id.eq_any(&ids)))
                .execute(conn)?,
        )
    })
}
