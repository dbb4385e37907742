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
    /// The same view is both granted and revoked in one change.
    #[error("view {0} is both granted and revoked")]
    Contradictory(String),
}

/// Whether a custom view stays within what `actor` has: no permission, delegation or
/// publicity the actor's own views do not give. Holders have everything.
pub fn within_own(actor: &Actor<'_>, view: &View) -> bool {
    if actor.is_holder {
        return true;
    }
    let own = permissions_of(actor.views);
    let grants_custom = actor.views.iter().any(|v| v.can_grant.custom_views);
    let revokes_custom = actor.views.iter().any(|v| v.can_revoke.custom_views);
    view.permissions.is_subset(own)
        && (!view.can_grant.custom_views || grants_custom)
        && (!view.can_revoke.custom_views || revokes_custom)
        && !view.is_public
}

/// Whether `actor` may grant `target` on the account (to themselves with `to_self`):
/// holders always; others need a view whose delegation covers it, and may give themselves a
/// custom view only if it stays within what they have already (so managing custom views
/// never escalates to owner's powers).
pub fn may_grant(actor: &Actor<'_>, target: &View, to_self: bool) -> Result<(), AccessRefusal> {
    let reference = target.reference();
    let delegated = actor.views.iter().any(|v| v.can_grant.covers(&reference));
    let within = target.is_system || !to_self || within_own(actor, target);
    if actor.is_holder || (delegated && within) {
        Ok(())
    } else {
        Err(AccessRefusal::MayNotGrant(target.view_id.clone()))
    }
}

/// Whether `actor` may create, change or delete a custom view of the account: holders; or
/// holders of views that delegate custom views both ways, keeping the view within what they
/// have themselves.
pub fn may_define(actor: &Actor<'_>, view: &View) -> Result<(), AccessRefusal> {
    let manages = actor.views.iter().any(|v| v.can_grant.custom_views)
        && actor.views.iter().any(|v| v.can_revoke.custom_views);
    if actor.is_holder || (manages && within_own(actor, view)) {
        Ok(())
    } else {
        Err(AccessRefusal::MayNotGrant(view.view_id.clone()))
    }
}

/// Whether `actor` may hand on or take back anything at all on the account.
pub fn delegates_anything(actor: &Actor<'_>) -> bool {
    actor.is_holder
        || actor.views.iter().any(|v| {
            v.can_grant.custom_views
                || v.can_revoke.custom_views
                || !v.can_grant.system_views.is_empty()
                || !v.can_revoke.system_views.is_empty()
        })
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
/// whether the user being changed holds `owner`, `to_self` whether the actor changes their
/// own access.
pub fn decide_bulk(
    actor: &Actor<'_>,
    grants: &[&View],
    revokes: &[&View],
    owners: usize,
    target_is_owner: bool,
    to_self: bool,
) -> Result<(), (usize, AccessRefusal)> {
    for (i, view) in grants.iter().enumerate() {
        may_grant(actor, view, to_self).map_err(|e| (i, e))?;
    }
    for (i, view) in revokes.iter().enumerate() {
        let at = grants.len() + i;
        // Granting and revoking one view in one change says nothing clear: refused, so the
        // owner rule below can never be talked round.
        if grants
            .iter()
            .any(|g| g.view_id == view.view_id && g.is_system == view.is_system)
        {
            return Err((at, AccessRefusal::Contradictory(view.view_id.clone())));
        }
        may_revoke(actor, view.reference()).map_err(|e| (at, e))?;
        if view.is_system && view.view_id == OWNER_VIEW && target_is_owner {
            keeps_an_owner(view.reference(), owners).map_err(|e| (at, e))?;
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
        let (sys, cus) = (&auditor_view, &mine);
        assert_eq!(may_grant(&actor(&owner), sys, false), Ok(()));
        assert_eq!(may_grant(&actor(&owner), cus, false), Ok(()));
        assert_eq!(may_revoke(&actor(&owner), sys.reference()), Ok(()));
        assert_eq!(
            may_grant(&actor(&auditor), cus, false),
            Err(AccessRefusal::MayNotGrant("_mine".into()))
        );
        assert!(may_grant(&actor(&auditor), sys, false).is_err());
        assert_eq!(may_grant(&actor(&manager), cus, false), Ok(()));
        assert!(
            may_grant(&actor(&manager), sys, false).is_err(),
            "custom views only"
        );
        assert_eq!(may_grant(&actor(&delegating), cus, false), Ok(()));
        assert!(may_grant(&actor(&plain), cus, false).is_err());
        assert!(may_revoke(&actor(&plain), cus.reference()).is_err());
        let holder = Actor {
            is_holder: true,
            views: &[],
        };
        assert_eq!(may_grant(&holder, sys, true), Ok(()));
        assert_eq!(may_revoke(&holder, system("owner").reference()), Ok(()));
    }

    #[test]
    fn managing_custom_views_never_escalates() {
        let manager = [system("ManageCustomViews")];
        let me = actor(&manager);
        let mut powerful = custom("_cfo", false);
        powerful.permissions = PermissionSet::all();
        assert!(
            may_grant(&me, &powerful, true).is_err(),
            "more than the manager has"
        );
        assert_eq!(
            may_grant(&me, &powerful, false),
            Ok(()),
            "handing on the holder's view"
        );
        assert!(may_define(&me, &powerful).is_err());
        let empty = custom("_empty", false);
        assert_eq!(may_grant(&me, &empty, true), Ok(()));
        assert_eq!(may_define(&me, &empty), Ok(()));
        let mut public = custom("_public", false);
        public.is_public = true;
        assert!(
            may_define(&me, &public).is_err(),
            "publishing is for holders"
        );
        // A delegating custom view cannot widen itself either.
        let mut delegate = custom("_delegate", true);
        delegate.permissions = [Permission::CanSeeBankAccountBalance].into_iter().collect();
        let held = [delegate.clone()];
        let holder_of_delegate = actor(&held);
        let mut widened = delegate.clone();
        widened.permissions = PermissionSet::all();
        assert!(may_define(&holder_of_delegate, &widened).is_err());
        assert_eq!(may_define(&holder_of_delegate, &delegate), Ok(()));
        assert!(delegates_anything(&holder_of_delegate));
        assert!(!delegates_anything(&actor(&[system("auditor")])));
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
            decide_bulk(&me, &[], &[&owner], 1, true, true),
            Err((0, AccessRefusal::LastOwner))
        );
        // Granted and revoked in one change: refused, whatever the order of writes would do.
        assert_eq!(
            decide_bulk(&me, &[&owner], &[&owner], 1, true, true),
            Err((1, AccessRefusal::Contradictory("owner".into())))
        );
        // A refusal anywhere refuses the whole change, naming where.
        let auditor_views = [system("auditor")];
        let limited = actor(&auditor_views);
        let mine = custom("_mine", false);
        assert_eq!(
            decide_bulk(&limited, &[], &[&mine], 2, false, false),
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
            let grants: Vec<&View> = if grant_owner { vec![&owner] } else { vec![] };
            let revokes: Vec<&View> = if revoke_owner { vec![&owner] } else { vec![] };
            match decide_bulk(&me, &grants, &revokes, owners, target_is_owner, false) {
                Ok(()) => {
                    // Grants are written first, then revokes.
                    let after = owners + usize::from(grant_owner && !target_is_owner)
                        - usize::from(revoke_owner && (target_is_owner || grant_owner));
                    prop_assert!(after >= 1);
                }
                Err((at, _)) => prop_assert!(at < grants.len() + revokes.len()),
            }
        }
    }
}
