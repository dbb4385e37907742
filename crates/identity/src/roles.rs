//! The role catalogue: every role an entitlement may name, and whether it applies at one bank
//! or system-wide.

/// A role in the catalogue. Only the constants below exist, so a misspelt role is a compile
/// error, and [`ROLES`] is built from them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Role {
    name: &'static str,
    requires_bank_id: bool,
}

impl Role {
    /// The role's name, e.g. `CanGetAnyUser`.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// Whether an entitlement to this role names a bank (true) or is system-wide (false).
    pub const fn requires_bank_id(&self) -> bool {
        self.requires_bank_id
    }
}

const fn system(name: &'static str) -> Role {
    Role {
        name,
        requires_bank_id: false,
    }
}

const fn bank(name: &'static str) -> Role {
    Role {
        name,
        requires_bank_id: true,
    }
}

/// `CanCreateAccount`, at one bank.
pub const CAN_CREATE_ACCOUNT: Role = bank("CanCreateAccount");
/// `CanCreateBank`, system-wide.
pub const CAN_CREATE_BANK: Role = system("CanCreateBank");
/// `CanCreateConsumer`, system-wide.
pub const CAN_CREATE_CONSUMER: Role = system("CanCreateConsumer");
/// `CanCreateEntitlementAtAnyBank`, system-wide.
pub const CAN_CREATE_ENTITLEMENT_AT_ANY_BANK: Role = system("CanCreateEntitlementAtAnyBank");
/// `CanCreateEntitlementAtOneBank`, at one bank.
pub const CAN_CREATE_ENTITLEMENT_AT_ONE_BANK: Role = bank("CanCreateEntitlementAtOneBank");
/// `CanCreateUserAuthContext`, system-wide.
pub const CAN_CREATE_USER_AUTH_CONTEXT: Role = system("CanCreateUserAuthContext");
/// `CanCreateUserAuthContextUpdate`, system-wide.
pub const CAN_CREATE_USER_AUTH_CONTEXT_UPDATE: Role = system("CanCreateUserAuthContextUpdate");
/// `CanDeleteEntitlementAtAnyBank`, system-wide.
pub const CAN_DELETE_ENTITLEMENT_AT_ANY_BANK: Role = system("CanDeleteEntitlementAtAnyBank");
/// `CanDeleteEntitlementAtOneBank`, at one bank.
pub const CAN_DELETE_ENTITLEMENT_AT_ONE_BANK: Role = bank("CanDeleteEntitlementAtOneBank");
/// `CanDeleteEntitlementRequestsAtAnyBank`, system-wide.
pub const CAN_DELETE_ENTITLEMENT_REQUESTS_AT_ANY_BANK: Role =
    system("CanDeleteEntitlementRequestsAtAnyBank");
/// `CanDeleteUserAuthContext`, system-wide.
pub const CAN_DELETE_USER_AUTH_CONTEXT: Role = system("CanDeleteUserAuthContext");
/// `CanDisableConsumers`, system-wide.
pub const CAN_DISABLE_CONSUMERS: Role = system("CanDisableConsumers");
/// `CanEnableConsumers`, system-wide.
pub const CAN_ENABLE_CONSUMERS: Role = system("CanEnableConsumers");
/// `CanGetAnyUser`, system-wide.
pub const CAN_GET_ANY_USER: Role = system("CanGetAnyUser");
/// `CanGetConsumers`, system-wide.
pub const CAN_GET_CONSUMERS: Role = system("CanGetConsumers");
/// `CanGetCustomer`, at one bank.
pub const CAN_GET_CUSTOMER: Role = bank("CanGetCustomer");
/// `CanGetEntitlementRequestsAtAnyBank`, system-wide.
pub const CAN_GET_ENTITLEMENT_REQUESTS_AT_ANY_BANK: Role =
    system("CanGetEntitlementRequestsAtAnyBank");
/// `CanGetEntitlementsForAnyUserAtAnyBank`, system-wide.
pub const CAN_GET_ENTITLEMENTS_FOR_ANY_USER_AT_ANY_BANK: Role =
    system("CanGetEntitlementsForAnyUserAtAnyBank");
/// `CanGetEntitlementsForAnyUserAtOneBank`, at one bank.
pub const CAN_GET_ENTITLEMENTS_FOR_ANY_USER_AT_ONE_BANK: Role =
    bank("CanGetEntitlementsForAnyUserAtOneBank");
/// `CanGetUserAuthContext`, system-wide.
pub const CAN_GET_USER_AUTH_CONTEXT: Role = system("CanGetUserAuthContext");
/// `CanLockUser`, system-wide.
pub const CAN_LOCK_USER: Role = system("CanLockUser");
/// `CanQueryOtherUser`, system-wide.
pub const CAN_QUERY_OTHER_USER: Role = system("CanQueryOtherUser");
/// `CanReadCallLimits`, system-wide.
pub const CAN_READ_CALL_LIMITS: Role = system("CanReadCallLimits");
/// `CanReadAuditEvents`, system-wide: read the audit trail.
pub const CAN_READ_AUDIT_EVENTS: Role = system("CanReadAuditEvents");
/// `CanReadUserLockedStatus`, system-wide.
pub const CAN_READ_USER_LOCKED_STATUS: Role = system("CanReadUserLockedStatus");
/// `CanRefreshUser`, system-wide.
pub const CAN_REFRESH_USER: Role = system("CanRefreshUser");
/// `CanRevokeConsentAtBank`, at one bank.
pub const CAN_REVOKE_CONSENT_AT_BANK: Role = bank("CanRevokeConsentAtBank");
/// `CanSeeAccountAccessForAnyUser`, system-wide.
pub const CAN_SEE_ACCOUNT_ACCESS_FOR_ANY_USER: Role = system("CanSeeAccountAccessForAnyUser");
/// `CanSetCallLimits`, system-wide.
pub const CAN_SET_CALL_LIMITS: Role = system("CanSetCallLimits");
/// `CanTerminateUserSessions`, system-wide.
pub const CAN_TERMINATE_USER_SESSIONS: Role = system("CanTerminateUserSessions");
/// `CanUnlockUser`, system-wide.
pub const CAN_UNLOCK_USER: Role = system("CanUnlockUser");
/// `CanUpdateConsumerRedirectUrl`, system-wide.
pub const CAN_UPDATE_CONSUMER_REDIRECT_URL: Role = system("CanUpdateConsumerRedirectUrl");

/// Every known role, sorted by name.
pub const ROLES: &[Role] = &[
    CAN_CREATE_ACCOUNT,
    CAN_CREATE_BANK,
    CAN_CREATE_CONSUMER,
    CAN_CREATE_ENTITLEMENT_AT_ANY_BANK,
    CAN_CREATE_ENTITLEMENT_AT_ONE_BANK,
    CAN_CREATE_USER_AUTH_CONTEXT,
    CAN_CREATE_USER_AUTH_CONTEXT_UPDATE,
    CAN_DELETE_ENTITLEMENT_AT_ANY_BANK,
    CAN_DELETE_ENTITLEMENT_AT_ONE_BANK,
    CAN_DELETE_ENTITLEMENT_REQUESTS_AT_ANY_BANK,
    CAN_DELETE_USER_AUTH_CONTEXT,
    CAN_DISABLE_CONSUMERS,
    CAN_ENABLE_CONSUMERS,
    CAN_GET_ANY_USER,
    CAN_GET_CONSUMERS,
    CAN_GET_CUSTOMER,
    CAN_GET_ENTITLEMENT_REQUESTS_AT_ANY_BANK,
    CAN_GET_ENTITLEMENTS_FOR_ANY_USER_AT_ANY_BANK,
    CAN_GET_ENTITLEMENTS_FOR_ANY_USER_AT_ONE_BANK,
    CAN_GET_USER_AUTH_CONTEXT,
    CAN_LOCK_USER,
    CAN_QUERY_OTHER_USER,
    CAN_READ_AUDIT_EVENTS,
    CAN_READ_CALL_LIMITS,
    CAN_READ_USER_LOCKED_STATUS,
    CAN_REFRESH_USER,
    CAN_REVOKE_CONSENT_AT_BANK,
    CAN_SEE_ACCOUNT_ACCESS_FOR_ANY_USER,
    CAN_SET_CALL_LIMITS,
    CAN_TERMINATE_USER_SESSIONS,
    CAN_UNLOCK_USER,
    CAN_UPDATE_CONSUMER_REDIRECT_URL,
];

/// The role with this exact name.
pub fn find(name: &str) -> Option<Role> {
    ROLES.iter().copied().find(|role| role.name == name)
}

/// Why an entitlement could not be granted as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntitlementError {
    /// No such role.
    #[error("unknown role")]
    UnknownRole,
    /// A bank-level role without a bank.
    #[error("this role needs a bank id")]
    BankIdRequired,
    /// A system role with a bank.
    #[error("this role is system-wide and takes no bank id")]
    BankIdNotAllowed,
}

/// Checks a requested entitlement against the catalogue. An empty bank id counts as none.
pub fn check_entitlement(role_name: &str, bank_id: Option<&str>) -> Result<Role, EntitlementError> {
    let role = find(role_name).ok_or(EntitlementError::UnknownRole)?;
    let has_bank = bank_id.is_some_and(|b| !b.is_empty());
    match (role.requires_bank_id(), has_bank) {
        (true, false) => Err(EntitlementError::BankIdRequired),
        (false, true) => Err(EntitlementError::BankIdNotAllowed),
        _ => Ok(role),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_is_sorted_and_unique() {
        let names: Vec<&str> = ROLES.iter().map(|r| r.name()).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted);
    }

    #[test]
    fn bank_and_system_roles() {
        assert!(check_entitlement("CanGetAnyUser", None).is_ok());
        assert!(check_entitlement("CanGetAnyUser", Some("")).is_ok());
        assert_eq!(
            check_entitlement("CanGetAnyUser", Some("gh.29.uk")),
            Err(EntitlementError::BankIdNotAllowed)
        );
        assert_eq!(
            check_entitlement("CanCreateAccount", None),
            Err(EntitlementError::BankIdRequired)
        );
        assert!(check_entitlement("CanCreateAccount", Some("gh.29.uk")).is_ok());
        assert_eq!(
            check_entitlement("CanFly", None),
            Err(EntitlementError::UnknownRole)
        );
    }
}

#[cfg(test)]
mod documentation {
    use super::ROLES;

    #[test]
    fn docs_list_every_role() {
        let doc = include_str!("../../../docs/roles.md");
        for role in ROLES {
            assert!(
                doc.contains(&format!("`{}`", role.name())),
                "docs/roles.md lacks {}",
                role.name()
            );
        }
    }
}
