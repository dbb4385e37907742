//! Who may grant or revoke which view, and what holding views lets a user do. Every decision
//! is a pure function that says why when it refuses.

use crate::permission::{Permission, PermissionSet};
use crate::view::{View, ViewRef};

/// The one view an account must never lose the last grant of.
pub const OWNER_VIEW: &str = "owner";

/// Someone acting on an account's access: whether they hold the account, and the views they
/// have on it.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    /// Holders may grant and revoke every view of their account.
    pub is_holder: bool,
    /// The views the actor holds on the account.
    pub views: &'a [View],
}

/// Why a grant or revoke was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessRefusal {
    /// None of the actor's views allows granting this view.
    #[error("no view of yours allows granting {0}")]
    MayNotGrant(String),
    /// None of the actor's views allows revoking this view.
    #[error("no view of yours allows revoking {0}")]
    MayNotRevoke(String),
    /// The account would lose its last owner.
    #[error("the account's last owner cannot be revoked")]
    LastOwner,
}

/// Whether `actor` may grant `target` on the account.
pub fn may_grant(actor: &Actor<'_>, target: ViewRef<'_>) -> Result<(), AccessRefusal> {
    if actor.is_holder || actor.views.iter().any(|v| v.can_grant.covers(&target)) {
        Ok(())
    } else {
        Err(AccessRefusal::MayNotGrant(target.view_id.to_owned()))
    }
}

/// Whether `actor` may revoke `target` on the account.
pub fn may_revoke(actor: &Actor<'_>, target: ViewRef<'_>) -> Result<(), AccessRefusal> {
    if actor.is_holder || actor.views.iter().any(|v| v.can_revoke.covers(&target)) {
        Ok(())
    } else {
        Err(AccessRefusal::MayNotRevoke(target.view_id.to_owned()))
    }
}

/// Whether revoking `target` keeps an owner: with `owners` owner grants on the account now,
/// revoking one of them must leave at least one.
pub fn keeps_an_owner(target: ViewRef<'_>, owners: usize) -> Result<(), AccessRefusal> {
    if target.is_system && target.view_id == OWNER_VIEW && owners <= 1 {
        Err(AccessRefusal::LastOwner)
    } else {
        Ok(())
    }
}

/// A set of grants and revokes for one user, decided as a whole: either every change is
/// allowed or the first refusal is returned with its position (grants first, then revokes),
/// and nothing is to be done. `owners` is the account's owner grants now, `target_is_owner`
/// whether the user being changed holds `owner`.
pub fn decide_bulk(
    actor: &Actor<'_>,
    grants: &[ViewRef<'_>],
    revokes: &[ViewRef<'_>],
    owners: usize,
    target_is_owner: bool,
) -> Result<(), (usize, AccessRefusal)> {
    for (i, view) in grants.iter().enumerate() {
        may_grant(actor, *view).map_err(|e| (i, e))?;
    }
    let regains_owner = grants
        .iter()
        .any(|v| v.is_system && v.view_id == OWNER_VIEW);
    for (i, view) in revokes.iter().enumerate() {
        may_revoke(actor, *view).map_err(|e| (grants.len() + i, e))?;
        let losing_owner = view.is_system && view.view_id == OWNER_VIEW && target_is_owner;
        if losing_owner && !regains_owner {
            keeps_an_owner(*view, owners).map_err(|e| (grants.len() + i, e))?;
        }
    }
    Ok(())
}

/// The permissions a user has on an account through all the views they hold there.
pub fn permissions_of(views: &[View]) -> PermissionSet {
    views
        .iter()
        .fold(PermissionSet::empty(), |all, v| all.union(v.permissions))
}

/// Whether holding `views` lets a user do `permission`.
#[inline]
pub fn can(views: &[View], permission: Permission) -> bool {
    views.iter().any(|v| v.can(permission))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::system_view;
    use crate::view::{CustomViewInput, View};
    use proptest::prelude::*;

    fn system(id: &str) -> View {
        system_view(id).unwrap()
    }

    fn custom(name: &str, delegates: bool) -> View {
        CustomViewInput {
            name: name.into(),
            description: String::new(),
            metadata_view: String::new(),
            is_public: false,
            alias: String::new(),
            hide_metadata_if_alias_used: false,
            permissions: PermissionSet::empty(),
            can_grant_custom_views: delegates,
            can_revoke_custom_views: delegates,
        }
        .into_view()
        .unwrap()
    }

    fn actor(views: &[View]) -> Actor<'_> {
        Actor {
            is_holder: false,
            views,
        }
    }

    #[test]
    fn the_grant_matrix() {
        let owner = [system("owner")];
        let auditor = [system("auditor")];
        let manager = [system("ManageCustomViews")];
        let delegating = [custom("_delegate", true)];
        let plain = [custom("_plain", false)];
        let auditor_view = system("auditor");
        let mine = custom("_mine", false);
        let (sys, cus) = (auditor_view.reference(), mine.reference());
        assert_eq!(may_grant(&actor(&owner), sys), Ok(()));
        assert_eq!(may_grant(&actor(&owner), cus), Ok(()));
        assert_eq!(may_revoke(&actor(&owner), sys), Ok(()));
        assert_eq!(
            may_grant(&actor(&auditor), cus),
            Err(AccessRefusal::MayNotGrant("_mine".into()))
        );
        assert!(may_grant(&actor(&auditor), sys).is_err());
        assert_eq!(may_grant(&actor(&manager), cus), Ok(()));
        assert!(
            may_grant(&actor(&manager), sys).is_err(),
            "custom views only"
        );
        assert_eq!(may_grant(&actor(&delegating), cus), Ok(()));
        assert!(may_grant(&actor(&plain), cus).is_err());
        assert!(may_revoke(&actor(&plain), cus).is_err());
        let holder = Actor {
            is_holder: true,
            views: &[],
        };
        assert_eq!(may_grant(&holder, sys), Ok(()));
        assert_eq!(may_revoke(&holder, system("owner").reference()), Ok(()));
    }

    #[test]
    fn the_last_owner_stays() {
        let owner = system("owner");
        assert_eq!(
            keeps_an_owner(owner.reference(), 1),
            Err(AccessRefusal::LastOwner)
        );
        assert_eq!(keeps_an_owner(owner.reference(), 2), Ok(()));
        assert_eq!(keeps_an_owner(system("auditor").reference(), 1), Ok(()));
        let views = [system("owner")];
        let me = actor(&views);
        assert_eq!(
            decide_bulk(&me, &[], &[owner.reference()], 1, true),
            Err((0, AccessRefusal::LastOwner))
        );
        // Regranted in the same change: the user keeps owner.
        assert_eq!(
            decide_bulk(&me, &[owner.reference()], &[owner.reference()], 1, true),
            Ok(())
        );
        // A refusal anywhere refuses the whole change, naming where.
        let auditor_views = [system("auditor")];
        let limited = actor(&auditor_views);
        let mine = custom("_mine", false);
        assert_eq!(
            decide_bulk(&limited, &[], &[mine.reference()], 2, false),
            Err((0, AccessRefusal::MayNotRevoke("_mine".into())))
        );
    }

    #[test]
    fn permissions_come_from_every_view_held() {
        let views = [system("ReadBalances"), system("ReadAccountsBasic")];
        assert!(can(&views, Permission::CanSeeBankAccountBalance));
        assert!(can(&views, Permission::CanSeeBankAccountLabel));
        assert!(!can(&views, Permission::CanSeeTransactionAmount));
        assert!(!can(&[], Permission::CanSeeBankAccountBalance));
        assert_eq!(
            permissions_of(&views),
            system("ReadBalances")
                .permissions
                .union(system("ReadAccountsBasic").permissions)
        );
    }

    proptest! {
        /// Whatever the change, a decision that allows it never leaves the account without
        /// an owner, and a refused change names a position inside it.
        #[test]
        fn bulk_decisions_keep_an_owner(
            owners in 1usize..4,
            target_is_owner in any::<bool>(),
            grant_owner in any::<bool>(),
            revoke_owner in any::<bool>(),
        ) {
            let views = [system("owner")];
            let me = actor(&views);
            let owner = system("owner");
            let grants: Vec<_> = if grant_owner { vec![owner.reference()] } else { vec![] };
            let revokes: Vec<_> = if revoke_owner { vec![owner.reference()] } else { vec![] };
            match decide_bulk(&me, &grants, &revokes, owners, target_is_owner) {
                Ok(()) => {
                    let after = owners
                        - usize::from(revoke_owner && target_is_owner && !grant_owner);
                    prop_assert!(after >= 1);
                }
                Err((at, _)) => prop_assert!(at < grants.len() + revokes.len()),
            }
        }
    }
}
