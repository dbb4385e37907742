//! Trusted system callers (the bank's own servers), known by a key stored as a keyed hash.

use super::{Context, Failure, refuse};
use assent_identity::consumer::SYSTEM_KEY_LABEL;
use assent_identity::secret::SecretString;
use assent_repository::system_keys;

/// A system caller whose key checked out.
#[derive(Debug, Clone)]
pub struct SystemCaller {
    /// The key's name, as its creator gave it.
    pub name: String,
}

/// No system key has this value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownSystemKey;

/// The system caller `key` belongs to.
pub fn sign_in(
    ctx: &mut Context<'_>,
    key: &SecretString,
) -> Result<SystemCaller, Failure<UnknownSystemKey>> {
    let hash = ctx.state.secret_hasher.hash(SYSTEM_KEY_LABEL, key);
    match system_keys::find_by_hash(ctx.conn(), &hash)? {
        Some((_, name)) => Ok(SystemCaller { name }),
        None => refuse(UnknownSystemKey),
    }
}
