//! The role catalogue: every role an entitlement may name, and whether it applies at one bank
//! or system-wide.

/// A role in the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Role {
    /// The role's name, e.g. `CanGetAnyUser`.
    pub name: &'static str,
    /// Whether an entitlement to this role names a bank (true) or is system-wide (false).
    pub requires_bank_id: bool,
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

/// Every known role, sorted by name.
pub const ROLES: &[Role] = &[
    bank("CanCreateAccount"),
    system("CanCreateBank"),
    system("CanCreateConsumer"),
    system("CanCreateEntitlementAtAnyBank"),
    bank("CanCreateEntitlementAtOneBank"),
    system("CanCreateUserAuthContext"),
    system("CanCreateUserAuthContextUpdate"),
    system("CanDeleteEntitlementAtAnyBank"),
    bank("CanDeleteEntitlementAtOneBank"),
    system("CanDeleteEntitlementRequestsAtAnyBank"),
    system("CanDeleteUserAuthContext"),
    system("CanDisableConsumers"),
    system("CanEnableConsumers"),
    system("CanGetAnyUser"),
    system("CanGetConsumers"),
    bank("CanGetCustomer"),
    system("CanGetEntitlementRequestsAtAnyBank"),
    system("CanGetEntitlementsForAnyUserAtAnyBank"),
    bank("CanGetEntitlementsForAnyUserAtOneBank"),
    system("CanGetUserAuthContext"),
    system("CanLockUser"),
    system("CanQueryOtherUser"),
    system("CanReadCallLimits"),
    system("CanReadUserLockedStatus"),
    system("CanRefreshUser"),
    bank("CanRevokeConsentAtBank"),
    system("CanSeeAccountAccessForAnyUser"),
    system("CanSetCallLimits"),
    system("CanTerminateUserSessions"),
    system("CanUnlockUser"),
    system("CanUpdateConsumerRedirectUrl"),
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
    match (role.requires_bank_id, has_bank) {
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
        let names: Vec<&str> = ROLES.iter().map(|r| r.name).collect();
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
                doc.contains(&format!("`{}`", role.name)),
                "docs/roles.md lacks {}",
                role.name
            );
        }
    }
}
