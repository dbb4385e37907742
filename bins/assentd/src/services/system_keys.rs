//! System keys: the keys a trusted front end (Apiture's dialect) presents, made and revoked
//! by the operator at the command line. A key is handed out once and stored hashed.

use super::{Context, Failure, Internal, record, refuse, rollback_if_refused};
use assent_identity::SecretString;
use assent_identity::consumer::{
    InvalidConsumerName, SYSTEM_KEY_LABEL, generate_consumer_key, validate_consumer_name,
};
use assent_repository::system_keys;

/// A new system key, never shown again.
#[derive(Debug)]
pub struct CreatedSystemKey {
    pub key_id: String,
    pub key: SecretString,
}

/// A system key as listed (never the key itself).
#[derive(Debug, Clone)]
pub struct SystemKey {
    pub key_id: String,
    pub name: String,
    /// Microseconds since the epoch.
    pub created_at: i64,
}

/// No system key has the id asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SystemKeyNotFound;

/// Makes a system key, audited as `system_key.created`. Named like consumers, by the same
/// rule.
pub fn create(
    ctx: &mut Context<'_>,
    name: &str,
) -> Result<CreatedSystemKey, Failure<InvalidConsumerName>> {
    let name = validate_consumer_name(name).map_err(Failure::Refused)?;
    let key = generate_consumer_key(&mut rand::rng());
    let key_id = uuid::Uuid::new_v4().to_string();
    let key_hash = ctx.state.secret_hasher.hash(SYSTEM_KEY_LABEL, &key);
    let now = ctx.now;
    rollback_if_refused(ctx.conn(), |conn| {
        system_keys::insert(conn, &key_id, &name, &key_hash, now)?;
        record(
            conn,
            now,
            "system_key.created",
            None,
            serde_json::json!({ "key_id": key_id, "name": name }),
        )?;
        Ok(())
    })?;
    Ok(CreatedSystemKey { key_id, key })
}

/// Every system key.
pub fn list(ctx: &mut Context<'_>) -> Result<Vec<SystemKey>, Internal> {
    Ok(system_keys::list(ctx.conn())?
        .into_iter()
        .map(|(key_id, name, created_at)| SystemKey {
            key_id,
            name,
            created_at,
        })
        .collect())
}

/// Revokes a system key at once, audited as `system_key.revoked`.
pub fn revoke(ctx: &mut Context<'_>, key_id: &str) -> Result<(), Failure<SystemKeyNotFound>> {
    let now = ctx.now;
    rollback_if_refused(ctx.conn(), |conn| {
        if !system_keys::delete(conn, key_id)? {
            return refuse(SystemKeyNotFound);
        }
        record(
            conn,
            now,
            "system_key.revoked",
            None,
            serde_json::json!({ "key_id": key_id }),
        )?;
        Ok(())
    })
}
