//! Granting roles: one transaction that stores the entitlement and audits it.

use super::record;
use assent_identity::roles::Role;
use assent_repository::entitlements::{self, InsertEntitlement};
use assent_repository::{DbConnection, RepoError, transaction};
use time::OffsetDateTime;

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
        let outcome =
            entitlements::insert(conn, uuid::Uuid::new_v4(), user_id, role.name, bank_id, now)?;
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
