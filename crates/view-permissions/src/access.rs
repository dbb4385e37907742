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

impl Actor<'_> {
    /// Whether the actor holds the account: one of its holders, or given its `owner` view.
    pub fn holds_account(&self) -> bool {
        self.is_holder
            || self
                .views
                .iter()
                .any(|v| v.is_system && v.view_id == OWNER_VIEW)
    }
}

/// Whether holding `view` gives any power over the account's access: granting or revoking
/// views, which also lets its holder define custom views.
pub fn carries_delegation(view: &View) -> bool {
    view.can_grant.custom_views
        || view.can_revoke.custom_views
        || !view.can_grant.system_views.is_empty()
        || !view.can_revoke.system_views.is_empty()
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
    /// Only the account's holders give or define views that hand on access.
    #[error("only the account's holders may give or define {0}, which hands on access")]
    OnlyHoldersDelegate(String),
}

/// Whether a view stays within what `actor` has: no permission the actor's own views do not
/// give, no power over the account's access, and not public. Holders have everything.
pub fn within_own(actor: &Actor<'_>, view: &View) -> bool {
    if actor.holds_account() {
        return true;
    }
    view.permissions.is_subset(permissions_of(actor.views))
        && !carries_delegation(view)
        && !view.is_public
}

/// Whether `actor` may grant `target` on the account, to anyone: holders always; others need
/// a view whose delegation covers it, and may hand on only what stays within their own views
/// (so a delegate never hands on more than they have, to a second account of their own or to
/// anyone else), and never a view that hands on access: delegation powers come from holders
/// only, so none outlives its revocation by a holder.
pub fn may_grant(actor: &Actor<'_>, target: &View) -> Result<(), AccessRefusal> {
    if actor.holds_account() {
        return Ok(());
    }
    if carries_delegation(target) {
        return Err(AccessRefusal::OnlyHoldersDelegate(target.view_id.clone()));
    }
    let reference = target.reference();
    let delegated = actor.views.iter().any(|v| v.can_grant.covers(&reference));
    if delegated && within_own(actor, target) {
        Ok(())
    } else {
        Err(AccessRefusal::MayNotGrant(target.view_id.clone()))
    }
}

/// Whether `actor` may create, change or delete a custom view of the account (`view` as it
/// would be): holders; or holders of views that delegate custom views both ways, keeping the
/// view within what they have themselves and without powers over the account's access.
pub fn may_define(actor: &Actor<'_>, view: &View) -> Result<(), AccessRefusal> {
    if actor.holds_account() {
        return Ok(());
    }
    if carries_delegation(view) {
        return Err(AccessRefusal::OnlyHoldersDelegate(view.view_id.clone()));
    }
    let manages = actor.views.iter().any(|v| v.can_grant.custom_views)
        && actor.views.iter().any(|v| v.can_revoke.custom_views);
    if manages && within_own(actor, view) {
        Ok(())
    } else {
        Err(AccessRefusal::MayNotGrant(view.view_id.clone()))
    }
}

/// Of the views a user gave themselves on an account (`self_granted`), those that what others
/// gave them (`given`, and holding the account) no longer lets them grant: a delegate's power
/// taken away takes what they gave themselves with it.
pub fn ungrounded_self_grants<'a>(
    is_holder: bool,
    given: &[View],
    self_granted: &'a [View],
) -> Vec<&'a View> {
    let actor = Actor {
        is_holder,
        views: given,
    };
    self_granted
        .iter()
        .filter(|view| may_grant(&actor, view).is_err())
        .collect()
}

/// Whether `actor` may hand on or take back anything at all on the account.
pub fn delegates_anything(actor: &Actor<'_>) -> bool {
    actor.holds_account() || actor.views.iter().any(carries_delegation)
}

/// Whether `actor` may revoke `target` on the account.
pub fn may_revoke(actor: &Actor<'_>, target: ViewRef<'_>) -> Result<(), AccessRefusal> {
    if actor.holds_account() || actor.views.iter().any(|v| v.can_revoke.covers(&target)) {
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
    grants: &[&View],
    revokes: &[&View],
    owners: usize,
    target_is_owner: bool,
) -> Result<(), (usize, AccessRefusal)> {
    for (i, view) in grants.iter().enumerate() {
        may_grant(actor, view).map_err(|e| (i, e))?;
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
        assert_eq!(may_grant(&actor(&owner), sys), Ok(()));
        assert_eq!(may_grant(&actor(&owner), cus), Ok(()));
        assert_eq!(may_revoke(&actor(&owner), sys.reference()), Ok(()));
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
        assert!(may_revoke(&actor(&plain), cus.reference()).is_err());
        let holder = Actor {
            is_holder: true,
            views: &[],
        };
        assert_eq!(may_grant(&holder, sys), Ok(()));
        assert_eq!(may_revoke(&holder, system("owner").reference()), Ok(()));
    }

    #[test]
    fn managing_custom_views_never_escalates() {
        let manager = [system("ManageCustomViews")];
        let me = actor(&manager);
        let mut powerful = custom("_cfo", false);
        powerful.permissions = PermissionSet::all();
        assert!(
            may_grant(&me, &powerful).is_err(),
            "more than the manager has"
        );
        assert!(may_define(&me, &powerful).is_err());
        let empty = custom("_empty", false);
        assert_eq!(may_grant(&me, &empty), Ok(()));
        assert_eq!(may_define(&me, &empty), Ok(()));
        let mut public = custom("_public", false);
        public.is_public = true;
        assert!(
            may_define(&me, &public).is_err(),
            "publishing is for holders"
        );
        assert!(delegates_anything(&me));
        assert!(!delegates_anything(&actor(&[system("auditor")])));
    }

    #[test]
    fn only_holders_give_or_define_views_that_hand_on_access() {
        let manager = [system("ManageCustomViews")];
        let me = actor(&manager);
        let delegate = custom("_deleg", true);
        assert_eq!(
            may_define(&me, &delegate),
            Err(AccessRefusal::OnlyHoldersDelegate("_deleg".into()))
        );
        assert_eq!(
            may_grant(&me, &delegate),
            Err(AccessRefusal::OnlyHoldersDelegate("_deleg".into()))
        );
        assert!(may_grant(&me, &system("ManageCustomViews")).is_err());
        // Holding a delegating view does not make one a holder either.
        let held = [delegate.clone()];
        assert!(may_define(&actor(&held), &delegate).is_err());
        // Holders, by the account or by its owner view, may.
        let owner = [system("owner")];
        assert_eq!(may_define(&actor(&owner), &delegate), Ok(()));
        assert_eq!(may_grant(&actor(&owner), &delegate), Ok(()));
        let holder = Actor {
            is_holder: true,
            views: &[],
        };
        assert_eq!(may_grant(&holder, &system("ManageCustomViews")), Ok(()));
    }

    #[test]
    fn what_a_delegate_gave_themselves_goes_with_their_power() {
        let mut reader = custom("_reader", false);
        reader.permissions = [Permission::CanSeeBankAccountBalance].into_iter().collect();
        let self_granted = [reader.clone()];
        let balances = system("ReadBalances");
        // Still a manager with the balance permission: grounded.
        let given = [system("ManageCustomViews"), balances.clone()];
        assert!(ungrounded_self_grants(false, &given, &self_granted).is_empty());
        // The manager view revoked: nothing lets them grant it any more.
        let given = [balances];
        assert_eq!(
            ungrounded_self_grants(false, &given, &self_granted),
            vec![&reader]
        );
        // The permission's source revoked: the view no longer lies within what they have.
        let given = [system("ManageCustomViews")];
        assert_eq!(
            ungrounded_self_grants(false, &given, &self_granted),
            vec![&reader]
        );
        // A holder's own grants are always grounded.
        assert!(ungrounded_self_grants(true, &[], &self_granted).is_empty());
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
            decide_bulk(&me, &[], &[&owner], 1, true),
            Err((0, AccessRefusal::LastOwner))
        );
        // Granted and revoked in one change: refused, whatever the order of writes would do.
        assert_eq!(
            decide_bulk(&me, &[&owner], &[&owner], 1, true),
            Err((1, AccessRefusal::Contradictory("owner".into())))
        );
        // A refusal anywhere refuses the whole change, naming where.
        let auditor_views = [system("auditor")];
        let limited = actor(&auditor_views);
        let mine = custom("_mine", false);
        assert_eq!(
            decide_bulk(&limited, &[], &[&mine], 2, false),
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
            match decide_bulk(&me, &grants, &revokes, owners, target_is_owner) {
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
