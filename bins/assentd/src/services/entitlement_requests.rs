//! Entitlement requests: a user asks for a role; an administrator grants it (as an
//! entitlement) and deletes the request, or just deletes it.

use super::auth::SignedIn;
use super::banks::BankNotFound;
use super::caller::{ConsentCannot, customer_only};
use super::roles::{InvalidRole, MissingRoles, Need, checked_role, require};
use super::users::existing_user;
use super::{Context, Failure, record, refuse, rollback_if_refused};
use assent_identity::roles;
use assent_repository::entitlements::{self, EntitlementRequestRow};
use assent_repository::users::UserDetailsRow;

/// Why an entitlement request use case was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestRefusal {
    MissingRoles(MissingRoles),
    ConsentCannot(ConsentCannot),
    InvalidRole(InvalidRole),
    BankNotFound,
    UserNotFound,
    /// The user has already asked for this role (at this bank).
    AlreadyExists,
    /// No request has this id.
    NotFound,
}

impl From<MissingRoles> for RequestRefusal {
    fn from(missing: MissingRoles) -> Self {
        RequestRefusal::MissingRoles(missing)
    }
}

impl From<ConsentCannot> for RequestRefusal {
    fn from(cannot: ConsentCannot) -> Self {
        RequestRefusal::ConsentCannot(cannot)
    }
}

impl From<InvalidRole> for RequestRefusal {
    fn from(invalid: InvalidRole) -> Self {
        RequestRefusal::InvalidRole(invalid)
    }
}

impl From<BankNotFound> for RequestRefusal {
    fn from(BankNotFound: BankNotFound) -> Self {
        RequestRefusal::BankNotFound
    }
}

/// A request with the user who made it.
pub type RequestOf = (EntitlementRequestRow, UserDetailsRow);

/// The caller asks for a role (at a bank, for a bank-level role; `bank_id` empty otherwise),
/// audited as `entitlement_request.created`.
pub fn create(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    role_name: &str,
    bank_id: &str,
) -> Result<RequestOf, Failure<RequestRefusal>> {
    let bank_id = Some(bank_id).filter(|b| !b.is_empty());
    let role = checked_role(ctx, role_name, bank_id)?;
    let now = ctx.now;
    let row = EntitlementRequestRow {
        entitlement_request_id: uuid::Uuid::new_v4().to_string(),
        user_id: caller.user.user_id.clone(),
        role_name: role.name().to_owned(),
        bank_id: bank_id.unwrap_or("").to_owned(),
        created_at: assent_repository::to_micros(now),
    };
    let stored = rollback_if_refused(ctx.conn(), |conn| {
        let Some(stored) = entitlements::insert_request(conn, &row)? else {
            return refuse(RequestRefusal::AlreadyExists);
        };
        record(
            conn,
            now,
            "entitlement_request.created",
            Some(&row.user_id),
            serde_json::json!({
                "entitlement_request_id": row.entitlement_request_id,
                "role_name": row.role_name, "bank_id": row.bank_id,
            }),
        )?;
        Ok(stored)
    })?;
    Ok((stored, caller.user.clone()))
}

/// The caller's own requests.
pub fn mine(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
) -> Result<Vec<RequestOf>, Failure<RequestRefusal>> {
    customer_only(caller)?;
    Ok(entitlements::list_requests(
        ctx.conn(),
        Some(&caller.user.user_id),
    )?)
}

/// A user's requests; needs `CanGetEntitlementRequestsAtAnyBank`.
pub fn of_user(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    user_id: &str,
) -> Result<Vec<RequestOf>, Failure<RequestRefusal>> {
    require(
        ctx,
        caller,
        &[Need::System(
            roles::CAN_GET_ENTITLEMENT_REQUESTS_AT_ANY_BANK,
        )],
    )?;
    let user_id = existing_user(ctx.conn(), user_id)?
        .ok_or(Failure::Refused(RequestRefusal::UserNotFound))?;
    Ok(entitlements::list_requests(ctx.conn(), Some(&user_id))?)
}

/// Every request; needs `CanGetEntitlementRequestsAtAnyBank`.
pub fn all(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
) -> Result<Vec<RequestOf>, Failure<RequestRefusal>> {
    require(
        ctx,
        caller,
        &[Need::System(
            roles::CAN_GET_ENTITLEMENT_REQUESTS_AT_ANY_BANK,
        )],
    )?;
    Ok(entitlements::list_requests(ctx.conn(), None)?)
}

/// Deletes a request, audited as `entitlement_request.deleted`; needs
/// `CanDeleteEntitlementRequestsAtAnyBank`.
pub fn delete(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    entitlement_request_id: &str,
) -> Result<(), Failure<RequestRefusal>> {
    require(
        ctx,
        caller,
        &[Need::System(
            roles::CAN_DELETE_ENTITLEMENT_REQUESTS_AT_ANY_BANK,
        )],
    )?;
    let now = ctx.now;
    rollback_if_refused(ctx.conn(), |conn| {
        if !entitlements::delete_request(conn, entitlement_request_id)? {
            return refuse(RequestRefusal::NotFound);
        }
        record(
            conn,
            now,
            "entitlement_request.deleted",
            None,
            serde_json::json!({
                "entitlement_request_id": entitlement_request_id, "by": caller.user.user_id,
            }),
        )?;
        Ok(())
    })
}
