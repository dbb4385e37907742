//! Roles: who may do what, and the entitlements that grant roles to users.

use super::auth::SignedIn;
use super::banks::BankNotFound;
use super::caller::{ConsentCannot, Operator, customer_only};
use super::users::existing_user;
use super::{Context, Failure, record, refuse, rollback_if_refused};
use assent_identity::registration::username_key;
use assent_identity::roles::{self, EntitlementError, Role, check_entitlement};
use assent_repository::entitlements::{self, EntitlementRow, InsertEntitlement};
use assent_repository::{banks, users};

/// One way to be allowed: a system-wide role, or a bank-level role at one bank.
#[derive(Debug, Clone, Copy)]
pub enum Need<'a> {
    /// A system-wide role.
    System(Role),
    /// A bank-level role at this bank.
    AtBank(Role, &'a str),
}

/// The caller holds none of the roles that would allow the request; each acceptable role is
/// named (`CanGetAnyUser`, `CanCreateAccount at bank B`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingRoles(pub Vec<String>);

/// Refuses unless the caller holds one of `needs`. Through a consent, only the roles the
/// consent reaches count: those it names (or all, if it covers everything), system-wide or at
/// its own bank.
pub fn require<R: From<MissingRoles>>(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    needs: &[Need<'_>],
) -> Result<(), Failure<R>> {
    for need in needs {
        if let Some(reach) = caller.consent.as_ref() {
            let (role, bank) = match need {
                Need::System(role) => (role.name(), ""),
                Need::AtBank(role, bank) => (role.name(), *bank),
            };
            if !reach.covers_role(role, bank) {
                continue;
            }
        }
        let (role, bank) = match need {
            Need::System(role) => (role.name(), None),
            // No bank has an id of that shape, so nobody holds a role there.
            Need::AtBank(_, bank) if !assent_identity::bank::is_valid_bank_id(bank) => continue,
            Need::AtBank(role, bank) => (role.name(), Some(*bank)),
        };
        if entitlements::holds_any(ctx.conn(), &caller.user.user_id, &[role], bank)? {
            return Ok(());
        }
    }
    let names = needs
        .iter()
        .map(|need| match need {
            Need::System(role) => role.name().to_owned(),
            Need::AtBank(role, bank) => format!("{} at bank {bank}", role.name()),
        })
        .collect();
    Err(Failure::Refused(MissingRoles(names).into()))
}

/// A role an entitlement (or a request for one) cannot name as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvalidRole {
    /// No role has this name.
    Unknown(String),
    /// A bank-level role was named without a bank.
    BankIdRequired,
    /// A system-wide role was named with a bank.
    BankIdNotAllowed,
}

/// The catalogue's role for `role_name`, if the bank rules hold and the bank exists.
pub fn checked_role<R: From<InvalidRole> + From<BankNotFound>>(
    ctx: &mut Context<'_>,
    role_name: &str,
    bank_id: Option<&str>,
) -> Result<Role, Failure<R>> {
    let role = check_entitlement(role_name, bank_id).map_err(|e| {
        Failure::Refused(R::from(match e {
            EntitlementError::UnknownRole => InvalidRole::Unknown(role_name.to_owned()),
            EntitlementError::BankIdRequired => InvalidRole::BankIdRequired,
            EntitlementError::BankIdNotAllowed => InvalidRole::BankIdNotAllowed,
        }))
    })?;
    if let Some(bank) = bank_id
        && (!assent_identity::bank::is_valid_bank_id(bank)
            || banks::find(ctx.conn(), bank)?.is_none())
    {
        return Err(Failure::Refused(BankNotFound.into()));
    }
    Ok(role)
}

/// Why an entitlement use case was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntitlementRefusal {
    MissingRoles(MissingRoles),
    InvalidRole(InvalidRole),
    BankNotFound,
    UserNotFound,
    /// The user already holds this role (at this bank).
    AlreadyExists,
    /// The user holds no entitlement with this id.
    NotFound,
}

impl From<MissingRoles> for EntitlementRefusal {
    fn from(missing: MissingRoles) -> Self {
        EntitlementRefusal::MissingRoles(missing)
    }
}

impl From<InvalidRole> for EntitlementRefusal {
    fn from(invalid: InvalidRole) -> Self {
        EntitlementRefusal::InvalidRole(invalid)
    }
}

impl From<BankNotFound> for EntitlementRefusal {
    fn from(BankNotFound: BankNotFound) -> Self {
        EntitlementRefusal::BankNotFound
    }
}

/// Who receives a role: a user named by id (over HTTP) or by username (at the command line).
#[derive(Debug, Clone)]
pub enum Grantee {
    Id(String),
    Username(String),
}

/// A role to grant.
#[derive(Debug, Clone)]
pub struct NewEntitlement {
    pub grantee: Grantee,
    pub role_name: String,
    /// The bank of a bank-level role; empty or `None` for a system-wide one.
    pub bank_id: Option<String>,
}

/// Grants a role, audited as `entitlement.granted` with who did it. A user needs
/// `CanCreateEntitlementAtAnyBank`, or `CanCreateEntitlementAtOneBank` at the role's bank.
pub fn grant(
    ctx: &mut Context<'_>,
    by: Operator<'_>,
    grant: NewEntitlement,
) -> Result<EntitlementRow, Failure<EntitlementRefusal>> {
    let bank_id = grant.bank_id.as_deref().filter(|b| !b.is_empty());
    let mut needs = vec![Need::System(roles::CAN_CREATE_ENTITLEMENT_AT_ANY_BANK)];
    if let Some(bank) = bank_id {
        needs.push(Need::AtBank(
            roles::CAN_CREATE_ENTITLEMENT_AT_ONE_BANK,
            bank,
        ));
    }
    by.require(ctx, &needs)?;
    let role = checked_role(ctx, &grant.role_name, bank_id)?;
    let user_id = match &grant.grantee {
        Grantee::Id(id) => existing_user(ctx.conn(), id)?,
        Grantee::Username(name) => {
            let state = ctx.state;
            users::find_by_username(ctx.conn(), &state.config.provider, &username_key(name))?
                .map(|u| u.user_id)
        }
    }
    .ok_or(Failure::Refused(EntitlementRefusal::UserNotFound))?;
    let now = ctx.now;
    rollback_if_refused(ctx.conn(), |conn| {
        let InsertEntitlement::Created(row) = entitlements::insert(
            conn,
            uuid::Uuid::new_v4(),
            &user_id,
            role.name(),
            bank_id,
            now,
        )?
        else {
            return refuse(EntitlementRefusal::AlreadyExists);
        };
        record(
            conn,
            now,
            "entitlement.granted",
            Some(&user_id),
            serde_json::json!({
                "entitlement_id": row.entitlement_id, "role_name": row.role_name,
                "bank_id": row.bank_id, "by": by.audit_name(),
            }),
        )?;
        Ok(row)
    })
}

/// Revokes one of a user's entitlements, audited as `entitlement.revoked`; needs
/// `CanDeleteEntitlementAtAnyBank`.
pub fn revoke(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    user_id: &str,
    entitlement_id: &str,
) -> Result<(), Failure<EntitlementRefusal>> {
    require(
        ctx,
        caller,
        &[Need::System(roles::CAN_DELETE_ENTITLEMENT_AT_ANY_BANK)],
    )?;
    let user_id = existing_user(ctx.conn(), user_id)?
        .ok_or(Failure::Refused(EntitlementRefusal::UserNotFound))?;
    let now = ctx.now;
    rollback_if_refused(ctx.conn(), |conn| {
        let Some(row) = entitlements::find(conn, entitlement_id)?.filter(|e| e.user_id == user_id)
        else {
            return refuse(EntitlementRefusal::NotFound);
        };
        if !entitlements::delete(conn, &row.entitlement_id)? {
            return refuse(EntitlementRefusal::NotFound);
        }
        record(
            conn,
            now,
            "entitlement.revoked",
            Some(&user_id),
            serde_json::json!({
                "entitlement_id": row.entitlement_id, "role_name": row.role_name,
                "bank_id": row.bank_id, "by": caller.user.user_id,
            }),
        )?;
        Ok(())
    })
}

/// A user's entitlements; needs `CanGetEntitlementsForAnyUserAtAnyBank`.
pub fn of_user(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    user_id: &str,
) -> Result<Vec<EntitlementRow>, Failure<EntitlementRefusal>> {
    require(
        ctx,
        caller,
        &[Need::System(
            roles::CAN_GET_ENTITLEMENTS_FOR_ANY_USER_AT_ANY_BANK,
        )],
    )?;
    let user_id = existing_user(ctx.conn(), user_id)?
        .ok_or(Failure::Refused(EntitlementRefusal::UserNotFound))?;
    Ok(entitlements::list_for_user(ctx.conn(), &user_id)?)
}

/// The caller's own entitlements.
pub fn mine(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
) -> Result<Vec<EntitlementRow>, Failure<ConsentCannot>> {
    customer_only(caller)?;
    Ok(entitlements::list_for_user(
        ctx.conn(),
        &caller.user.user_id,
    )?)
}

/// Every entitlement; needs `CanGetEntitlementsForAnyUserAtAnyBank`.
pub fn all(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
) -> Result<Vec<EntitlementRow>, Failure<EntitlementRefusal>> {
    require(
        ctx,
        caller,
        &[Need::System(
            roles::CAN_GET_ENTITLEMENTS_FOR_ANY_USER_AT_ANY_BANK,
        )],
    )?;
    Ok(entitlements::list_all(ctx.conn())?)
}

/// A user's entitlements at one bank; needs `CanGetEntitlementsForAnyUserAtAnyBank`, or
/// `CanGetEntitlementsForAnyUserAtOneBank` at that bank.
pub fn of_user_at_bank(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    bank_id: &str,
    user_id: &str,
) -> Result<Vec<EntitlementRow>, Failure<EntitlementRefusal>> {
    require(
        ctx,
        caller,
        &[
            Need::System(roles::CAN_GET_ENTITLEMENTS_FOR_ANY_USER_AT_ANY_BANK),
            Need::AtBank(
                roles::CAN_GET_ENTITLEMENTS_FOR_ANY_USER_AT_ONE_BANK,
                bank_id,
            ),
        ],
    )?;
    if banks::find(ctx.conn(), bank_id)?.is_none() {
        return refuse(EntitlementRefusal::BankNotFound);
    }
    let user_id = existing_user(ctx.conn(), user_id)?
        .ok_or(Failure::Refused(EntitlementRefusal::UserNotFound))?;
    Ok(entitlements::list_at_bank(
        ctx.conn(),
        bank_id,
        Some(&user_id),
    )?)
}
