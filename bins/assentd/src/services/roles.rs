//! Granting roles: one transaction that stores the entitlement and audits it.

use super::auth::SignedIn;
use super::{Context, Failure, record};
use assent_identity::roles::Role;
use assent_repository::entitlements::{self, InsertEntitlement};
use assent_repository::{DbConnection, RepoError, transaction};
use time::OffsetDateTime;

/// One way to be allowed: a system-wide role, or a bank-level role at one bank.
#[derive(Debug, Clone, Copy)]
pub enum Need<'a> {
    /// A system-wide role.
    System(&'a str),
    /// A bank-level role at this bank.
    AtBank(&'a str, &'a str),
}

/// The caller holds none of the roles that would allow the request; each acceptable role is
/// named (`CanGetAnyUser`, `CanCreateAccount at bank B`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingRoles(pub Vec<String>);

/// Refuses unless the caller holds one of `needs`. Through a consent, only the roles the
/// consent names count (unless it covers everything).
pub fn require<R: From<MissingRoles>>(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    needs: &[Need<'_>],
) -> Result<(), Failure<R>> {
    for need in needs {
        if let Some(scope) = caller.consent.as_ref().filter(|s| !s.everything) {
            let (role, bank) = match need {
                Need::System(role) => (*role, ""),
                Need::AtBank(role, bank) => (*role, *bank),
            };
            let covered = scope
                .access
                .entitlements
                .iter()
                .any(|e| e.role_name == role && e.bank_id == bank);
            if !covered {
                continue;
            }
        }
        let (role, bank) = match need {
            Need::System(role) => (*role, None),
            // No bank has an id of that shape, so nobody holds a role there.
            Need::AtBank(_, bank) if !assent_identity::bank::is_valid_bank_id(bank) => continue,
            Need::AtBank(role, bank) => (*role, Some(*bank)),
        };
        if entitlements::holds_any(ctx.conn(), &caller.user.user_id, &[role], bank)? {
            return Ok(());
        }
    }
    let names = needs
        .iter()
        .map(|need| match need {
            Need::System(role) => (*role).to_owned(),
            Need::AtBank(role, bank) => format!("{role} at bank {bank}"),
        })
        .collect();
    Err(Failure::Refused(MissingRoles(names).into()))
}

/// Grants `role` (at `bank_id` for bank roles) to `user_id`, recording who did it (`by`: a
/// user id, or `cli`). A duplicate grant stores and audits nothing.
pub fn grant(
    conn: &mut DbConnection,
    user_id: &str,
    role: Role,
    bank_id: Option<&str>,
    by: &str,
    now: OffsetDateTime,
) -> Result<InsertEntitlement, RepoError> {
    transaction(conn, |conn| {
        let outcome = entitlements::insert(
            conn,
            uuid::Uuid::new_v4(),
            user_id,
            role.name(),
            bank_id,
            now,
        )?;
        if let InsertEntitlement::Created(row) = &outcome {
            record(
                conn,
                now,
                "entitlement.granted",
                Some(user_id),
                serde_json::json!({
                    "entitlement_id": row.entitlement_id, "role_name": row.role_name,
                    "bank_id": row.bank_id, "by": by,
                }),
            )?;
        }
        Ok(outcome)
    })
}
