//! The ring of token-signing keys, kept in the database so every replica reads the same one.
//!
//! The key file (or the key generated on first start) begins the ring. `rotate` adds a key that
//! is published at once and signs from a moment later, by when every replica has read it again
//! and every cached JWKS has expired; the key before it then stops signing but stays published
//! until the longest token it could have signed has expired, so no live token is cut off.
//! Private halves are sealed at rest under a key derived from the pepper and wiped once the
//! key no longer signs.

use super::{Context, Internal, record, rollback_if_refused};
use crate::keys::{KeyPair, RingKey, SigningKeys};
use crate::sealing::Sealer;
use crate::state::AppState;
use assent_identity::consumer::SecretHasher;
use assent_repository::signing_keys::{self, SigningKeyRow};
use assent_repository::{DbConnection, from_micros, to_micros};
use time::{Duration, OffsetDateTime};

fn sealer(secret_hasher: &SecretHasher) -> Sealer {
    Sealer::derived(secret_hasher, "signing-key-seal")
}

/// Puts `pair` in an empty ring, signing from the start; a ring that has keys is left alone
/// (two replicas starting at once on the same file agree, as its key id is the same).
pub fn begin_ring(
    conn: &mut DbConnection,
    secret_hasher: &SecretHasher,
    pair: &KeyPair,
    now: OffsetDateTime,
) -> Result<(), Internal> {
    if !signing_keys::all(conn)?.is_empty() {
        return Ok(());
    }
    signing_keys::insert(
        conn,
        &row(secret_hasher, pair, OffsetDateTime::UNIX_EPOCH, now),
    )?;
    Ok(())
}

fn row(
    secret_hasher: &SecretHasher,
    pair: &KeyPair,
    signs_from: OffsetDateTime,
    now: OffsetDateTime,
) -> SigningKeyRow {
    let (x, y) = pair.public_point();
    SigningKeyRow {
        kid: pair.kid().to_owned(),
        public_x: x.to_owned(),
        public_y: y.to_owned(),
        sealed_private_key: Some(sealer(secret_hasher).seal(pair.pem().as_bytes(), pair.kid())),
        signs_from: to_micros(signs_from),
        created_at: to_micros(now),
    }
}

/// The keys of the ring at `now`.
pub fn read_ring(
    conn: &mut DbConnection,
    secret_hasher: &SecretHasher,
    now: OffsetDateTime,
    longest_token_lifetime: Duration,
) -> Result<SigningKeys, Internal> {
    let sealer = sealer(secret_hasher);
    let mut ring = Vec::new();
    for row in signing_keys::all(conn)? {
        let private_pem = match &row.sealed_private_key {
            Some(sealed) => {
                let opened = sealer.open(sealed, &row.kid).map_err(|_| {
                    Internal::Invariant(format!(
                        "the private half of signing key {} does not open: another pepper?",
                        row.kid
                    ))
                })?;
                Some(String::from_utf8(opened).map_err(|_| {
                    Internal::Invariant(format!("signing key {} is not PEM text", row.kid))
                })?)
            }
            None => None,
        };
        ring.push(RingKey {
            kid: row.kid,
            x: row.public_x,
            y: row.public_y,
            private_pem,
            signs_from: from_micros(row.signs_from),
        });
    }
    Ok(SigningKeys::from_ring(&ring, now, longest_token_lifetime)?)
}

/// Reads the ring again and puts its keys in use in this process.
pub fn refresh(state: &AppState) -> Result<(), Internal> {
    let mut conn = state.pool.get()?;
    let keys = read_ring(
        &mut conn,
        &state.secret_hasher,
        state.clock.now(),
        state.longest_token_lifetime(),
    )?;
    state.keys.replace(keys);
    Ok(())
}

/// A key added to the ring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotatedKey {
    pub kid: String,
    /// From when it signs.
    pub signs_from: OffsetDateTime,
}

/// Adds a new key to the ring, audited as `signing_key.rotated`: published at once, signing
/// from [`AppState::signing_key_activation_delay`] on, or at once when `immediately` (when the
/// current key must stop signing now: replicas that have not read the ring again refuse the
/// new key's tokens until they do).
pub fn rotate(ctx: &mut Context<'_>, immediately: bool) -> Result<RotatedKey, Internal> {
    let (state, now) = (ctx.state, ctx.now);
    let pair = KeyPair::generate()?;
    let signs_from = if immediately {
        now
    } else {
        now + state.signing_key_activation_delay()
    };
    let new_row = row(&state.secret_hasher, &pair, signs_from, now);
    rollback_if_refused::<_, std::convert::Infallible>(ctx.conn(), |conn| {
        signing_keys::insert(conn, &new_row)?;
        record(
            conn,
            now,
            "signing_key.rotated",
            None,
            serde_json::json!({
                "kid": new_row.kid,
                "signs_from": signs_from.unix_timestamp(),
                "immediately": immediately,
            }),
        )?;
        Ok(())
    })
    .map_err(|failure| match failure {
        super::Failure::Internal(internal) => internal,
        super::Failure::Refused(never) => match never {},
    })?;
    state.keys.replace(read_ring(
        ctx.conn(),
        &state.secret_hasher,
        now,
        state.longest_token_lifetime(),
    )?);
    Ok(RotatedKey {
        kid: pair.kid().to_owned(),
        signs_from,
    })
}

/// What a sweep of the ring did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RingSweep {
    /// Private halves wiped: their keys no longer sign.
    pub wiped: usize,
    /// Keys deleted: every token they could have signed has expired.
    pub deleted: usize,
}

/// Wipes the private halves of keys that no longer sign and deletes keys no longer published
/// (housekeeping; idempotent, so replicas sweeping at once are harmless).
pub fn sweep(
    state: &AppState,
    conn: &mut DbConnection,
    now: OffsetDateTime,
) -> Result<RingSweep, Internal> {
    let rows = signing_keys::all(conn)?;
    let mut swept = RingSweep::default();
    for (position, row) in rows.iter().enumerate() {
        let Some(next) = rows.get(position + 1) else {
            break;
        };
        let retired_at = from_micros(next.signs_from);
        if retired_at > now {
            continue;
        }
        if retired_at + state.longest_token_lifetime() <= now {
            swept.deleted += usize::from(signing_keys::delete(conn, &row.kid)?);
        } else if signing_keys::wipe_private_key(conn, &row.kid)? {
            swept.wiped += 1;
        }
    }
    Ok(swept)
}
