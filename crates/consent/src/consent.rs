//! A consent's scope, the rules a request for one must meet, and what a consent lets its
//! holder do at the moment of use.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// The lifetime of a consent when the request names none (or the configured maximum, if it is
/// shorter).
pub const DEFAULT_TIME_TO_LIVE: Duration = Duration::hours(1);
/// How far in the past a `valid_from` may lie (clock skew between the app and the server).
pub const VALID_FROM_LEEWAY: Duration = Duration::seconds(60);
/// Tolerance on `nbf` when a consent is used (a third party's clock may run ahead).
pub const USE_LEEWAY: Duration = Duration::seconds(60);

/// A view of an account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ViewAccess {
    /// Bank.
    pub bank_id: String,
    /// Account.
    pub account_id: String,
    /// View.
    pub view_id: String,
}

/// A role, at a bank or system-wide (empty bank).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RoleAccess {
    /// Bank, or empty for a system role.
    pub bank_id: String,
    /// Role.
    pub role_name: String,
}

/// What a user holds, or what a consent covers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Access {
    /// Views.
    pub views: Vec<ViewAccess>,
    /// Roles.
    pub entitlements: Vec<RoleAccess>,
}

/// What a consent lets its holder use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    /// Everything the user holds, whatever it is at the moment of use.
    pub everything: bool,
    /// Otherwise these (each must still be held when used).
    #[serde(flatten)]
    pub access: Access,
}

/// A consent's scope bound to the bank it was given at: what it reaches at the moment of use.
/// Views and bank roles count only at that bank; system-wide roles count as the scope says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankScope {
    bank_id: String,
    scope: Scope,
}

impl BankScope {
    /// The scope of a consent given at `bank_id`.
    pub fn new(bank_id: impl Into<String>, scope: Scope) -> Self {
        Self {
            bank_id: bank_id.into(),
            scope,
        }
    }

    /// The bank the consent was given at.
    pub fn bank_id(&self) -> &str {
        &self.bank_id
    }

    /// Whether the consent covers everything the user holds at its bank.
    pub fn is_everything(&self) -> bool {
        self.scope.everything
    }

    /// Whether the consent reaches this view of this account (if the user still holds it).
    pub fn covers_view(&self, bank_id: &str, account_id: &str, view_id: &str) -> bool {
        bank_id == self.bank_id
            && (self.scope.everything
                || self.scope.access.views.iter().any(|v| {
                    v.bank_id == bank_id && v.account_id == account_id && v.view_id == view_id
                }))
    }

    /// Whether the consent reaches this role, system-wide (empty `bank_id`) or at a bank (if
    /// the user still holds it).
    pub fn covers_role(&self, role_name: &str, bank_id: &str) -> bool {
        (bank_id.is_empty() || bank_id == self.bank_id)
            && (self.scope.everything
                || self
                    .scope
                    .access
                    .entitlements
                    .iter()
                    .any(|r| r.role_name == role_name && r.bank_id == bank_id))
    }

    /// What the consent reaches given what the user holds now: never more than either, and
    /// nothing at another bank.
    pub fn effective(&self, held: &Access) -> Access {
        Access {
            views: held
                .views
                .iter()
                .filter(|v| self.covers_view(&v.bank_id, &v.account_id, &v.view_id))
                .cloned()
                .collect(),
            entitlements: held
                .entitlements
                .iter()
                .filter(|r| self.covers_role(&r.role_name, &r.bank_id))
                .cloned()
                .collect(),
        }
    }
}

/// A request for a consent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRequest {
    /// The bank it is given at: its views and bank roles must be there.
    pub bank_id: String,
    /// What it covers.
    pub scope: Scope,
    /// From when; now if omitted.
    pub valid_from: Option<OffsetDateTime>,
    /// Seconds it lasts; the lesser of the maximum and an hour if omitted.
    pub time_to_live: Option<i64>,
}

/// Why a consent request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsentError {
    /// `time_to_live` above the configured maximum (OBP-35020), or not positive.
    #[error("time_to_live must be between 1 and the maximum")]
    TimeToLive,
    /// `valid_from` too far in the past.
    #[error("valid_from lies in the past")]
    ValidFrom,
    /// Neither everything nor any view or role.
    #[error("a consent needs everything, or at least one view or role")]
    EmptyScope,
    /// A role the user does not hold (OBP-35013).
    #[error("the user does not hold role {0:?}")]
    RoleNotHeld(RoleAccess),
    /// A view the user does not hold (OBP-35014).
    #[error("the user does not hold view {0:?}")]
    ViewNotHeld(ViewAccess),
    /// A view of an account at another bank than the consent's.
    #[error("view {0:?} is at another bank than the consent")]
    ViewAtOtherBank(ViewAccess),
    /// A bank role at another bank than the consent's.
    #[error("role {0:?} is at another bank than the consent")]
    RoleAtOtherBank(RoleAccess),
}

/// The validity a request was granted: a start strictly before an end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    valid_from: OffsetDateTime,
    expires_at: OffsetDateTime,
}

impl Validity {
    /// The validity of a stored consent; `None` unless it starts before it ends.
    pub fn restore(valid_from: OffsetDateTime, expires_at: OffsetDateTime) -> Option<Self> {
        (valid_from < expires_at).then_some(Self {
            valid_from,
            expires_at,
        })
    }

    /// Not usable before.
    pub fn valid_from(&self) -> OffsetDateTime {
        self.valid_from
    }

    /// Not usable from.
    pub fn expires_at(&self) -> OffsetDateTime {
        self.expires_at
    }
}

impl ConsentRequest {
    /// Checks the request against the rules and what the user holds now.
    pub fn validate(
        &self,
        now: OffsetDateTime,
        max_time_to_live: Duration,
        held: &Access,
    ) -> Result<Validity, ConsentError> {
        let ttl = match self.time_to_live {
            Some(secs) if secs <= 0 => return Err(ConsentError::TimeToLive),
            Some(secs) if Duration::seconds(secs) > max_time_to_live => {
                return Err(ConsentError::TimeToLive);
            }
            Some(secs) => Duration::seconds(secs),
            None => std::cmp::min(max_time_to_live, DEFAULT_TIME_TO_LIVE),
        };
        // A validity starts before it ends, whatever the configured maximum.
        if ttl <= Duration::ZERO {
            return Err(ConsentError::TimeToLive);
        }
        let valid_from = self.valid_from.unwrap_or(now);
        // Not in the past beyond the leeway, nor further ahead than a consent may last.
        let too_late = now
            .checked_add(max_time_to_live)
            .is_some_and(|latest| valid_from > latest);
        if valid_from < now - VALID_FROM_LEEWAY || too_late {
            return Err(ConsentError::ValidFrom);
        }
        let scope = &self.scope;
        if !scope.everything
            && scope.access.views.is_empty()
            && scope.access.entitlements.is_empty()
        {
            return Err(ConsentError::EmptyScope);
        }
        if let Some(view) = scope
            .access
            .views
            .iter()
            .find(|v| v.bank_id != self.bank_id)
        {
            return Err(ConsentError::ViewAtOtherBank(view.clone()));
        }
        if let Some(role) = scope
            .access
            .entitlements
            .iter()
            .find(|r| !r.bank_id.is_empty() && r.bank_id != self.bank_id)
        {
            return Err(ConsentError::RoleAtOtherBank(role.clone()));
        }
        if let Some(role) = scope
            .access
            .entitlements
            .iter()
            .find(|r| !held.entitlements.contains(r))
        {
            return Err(ConsentError::RoleNotHeld(role.clone()));
        }
        if let Some(view) = scope.access.views.iter().find(|v| !held.views.contains(v)) {
            return Err(ConsentError::ViewNotHeld(view.clone()));
        }
        let expires_at = valid_from.checked_add(ttl).ok_or(ConsentError::ValidFrom)?;
        Ok(Validity {
            valid_from,
            expires_at,
        })
    }
}

/// Why a consent cannot be used now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unusable {
    /// Before `valid_from`.
    #[error("the consent is not valid yet")]
    NotYetValid,
    /// At or past its expiry.
    #[error("the consent has expired")]
    Expired,
}

impl Validity {
    /// Whether a consent of this validity may be used at `now`. The start allows
    /// [`USE_LEEWAY`] for a third party whose clock runs ahead; the end is exact, because it is
    /// our clock that ends a consent (its status reads EXPIRED from `expires_at`).
    pub fn check(&self, now: OffsetDateTime) -> Result<(), Unusable> {
        if now + USE_LEEWAY < self.valid_from {
            Err(Unusable::NotYetValid)
        } else if now >= self.expires_at {
            Err(Unusable::Expired)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-01 12:00 UTC);

    fn view(id: &str) -> ViewAccess {
        ViewAccess {
            bank_id: "b".into(),
            account_id: "a".into(),
            view_id: id.into(),
        }
    }

    fn role(name: &str) -> RoleAccess {
        RoleAccess {
            bank_id: String::new(),
            role_name: name.into(),
        }
    }

    fn held() -> Access {
        Access {
            views: vec![view("owner"), view("auditor")],
            entitlements: vec![role("CanGetAnyUser")],
        }
    }

    fn request(views: Vec<ViewAccess>, roles: Vec<RoleAccess>, ttl: Option<i64>) -> ConsentRequest {
        ConsentRequest {
            bank_id: "b".into(),
            scope: Scope {
                everything: false,
                access: Access {
                    views,
                    entitlements: roles,
                },
            },
            valid_from: None,
            time_to_live: ttl,
        }
    }

    #[test]
    fn lifetimes_are_bounded_by_the_maximum() {
        let max = Duration::hours(1);
        let ok = request(vec![view("owner")], vec![], None)
            .validate(NOW, max, &held())
            .unwrap();
        assert_eq!(
            (ok.valid_from, ok.expires_at),
            (NOW, NOW + Duration::hours(1))
        );
        let short = request(vec![view("owner")], vec![], None)
            .validate(NOW, Duration::minutes(10), &held())
            .unwrap();
        assert_eq!(
            short.expires_at,
            NOW + Duration::minutes(10),
            "omitted: the lesser"
        );
        for bad in [Some(3601), Some(0), Some(-5)] {
            assert_eq!(
                request(vec![view("owner")], vec![], bad).validate(NOW, max, &held()),
                Err(ConsentError::TimeToLive)
            );
        }
        let mut late = request(vec![view("owner")], vec![], Some(60));
        late.valid_from = Some(NOW - Duration::minutes(5));
        assert_eq!(
            late.validate(NOW, max, &held()),
            Err(ConsentError::ValidFrom)
        );
        late.valid_from = Some(NOW - Duration::seconds(30));
        assert!(late.validate(NOW, max, &held()).is_ok());
        late.valid_from = Some(NOW + Duration::minutes(61));
        assert_eq!(
            late.validate(NOW, max, &held()),
            Err(ConsentError::ValidFrom)
        );
        late.valid_from = Some(time::macros::datetime!(9999-12-31 23:30 UTC));
        late.time_to_live = Some(Duration::days(1000).whole_seconds());
        assert_eq!(
            late.validate(NOW, Duration::days(365_000_000), &held()),
            Err(ConsentError::ValidFrom),
            "no overflow, whatever the maximum"
        );
    }

    #[test]
    fn the_scope_must_be_held_now() {
        let max = Duration::hours(1);
        assert_eq!(
            request(vec![], vec![], None).validate(NOW, max, &held()),
            Err(ConsentError::EmptyScope)
        );
        assert_eq!(
            request(vec![view("accountant")], vec![], None).validate(NOW, max, &held()),
            Err(ConsentError::ViewNotHeld(view("accountant")))
        );
        let at_bank = RoleAccess {
            bank_id: "b".into(),
            role_name: "CanGetAnyUser".into(),
        };
        assert_eq!(
            request(vec![], vec![at_bank.clone()], None).validate(NOW, max, &held()),
            Err(ConsentError::RoleNotHeld(at_bank)),
            "roles match exactly, bank included"
        );
        let mut everything = request(vec![], vec![], None);
        everything.scope.everything = true;
        assert!(everything.validate(NOW, max, &held()).is_ok());
    }

    #[test]
    fn a_consent_never_reaches_more_than_is_held_now() {
        let scope = request(
            vec![view("owner"), view("auditor")],
            vec![role("CanGetAnyUser")],
            None,
        )
        .scope;
        let now_held = Access {
            views: vec![view("auditor"), view("accountant")],
            entitlements: vec![],
        };
        assert_eq!(
            BankScope::new("b", scope).effective(&now_held),
            Access {
                views: vec![view("auditor")],
                entitlements: vec![],
            }
        );
        let everything = Scope {
            everything: true,
            access: Access::default(),
        };
        assert_eq!(
            BankScope::new("b", everything).effective(&now_held),
            now_held
        );
    }

    fn at(bank: &str, id: &str) -> ViewAccess {
        ViewAccess {
            bank_id: bank.into(),
            ..view(id)
        }
    }

    fn role_at(bank: &str, name: &str) -> RoleAccess {
        RoleAccess {
            bank_id: bank.into(),
            role_name: name.into(),
        }
    }

    #[test]
    fn a_request_names_views_and_bank_roles_only_at_its_own_bank() {
        let max = Duration::hours(1);
        let held = Access {
            views: vec![view("owner"), at("other", "owner")],
            entitlements: vec![role("CanGetAnyUser"), role_at("other", "CanCreateAccount")],
        };
        assert_eq!(
            request(vec![at("other", "owner")], vec![], None).validate(NOW, max, &held),
            Err(ConsentError::ViewAtOtherBank(at("other", "owner"))),
            "held, but at another bank"
        );
        assert_eq!(
            request(vec![], vec![role_at("other", "CanCreateAccount")], None)
                .validate(NOW, max, &held),
            Err(ConsentError::RoleAtOtherBank(role_at(
                "other",
                "CanCreateAccount"
            )))
        );
        assert!(
            request(vec![view("owner")], vec![role("CanGetAnyUser")], None)
                .validate(NOW, max, &held)
                .is_ok(),
            "its own bank's views and system roles"
        );
    }

    #[test]
    fn at_the_moment_of_use_a_consent_reaches_nothing_at_another_bank() {
        let held = Access {
            views: vec![view("owner"), at("other", "owner")],
            entitlements: vec![
                role("CanGetAnyUser"),
                role_at("b", "CanCreateAccount"),
                role_at("other", "CanCreateAccount"),
            ],
        };
        let everything = BankScope::new(
            "b",
            Scope {
                everything: true,
                access: Access::default(),
            },
        );
        assert_eq!(
            everything.effective(&held),
            Access {
                views: vec![view("owner")],
                entitlements: vec![role("CanGetAnyUser"), role_at("b", "CanCreateAccount")],
            }
        );
        assert!(!everything.covers_view("other", "a", "owner"));
        assert!(!everything.covers_role("CanCreateAccount", "other"));
        // A scope stored with another bank's view (as none can be now) still reaches nothing there.
        let named = BankScope::new("b", request(vec![at("other", "owner")], vec![], None).scope);
        assert!(!named.covers_view("other", "a", "owner"));
        assert_eq!(named.effective(&held), Access::default());
    }

    #[test]
    fn a_stored_validity_starts_before_it_ends() {
        assert!(Validity::restore(NOW, NOW + Duration::seconds(1)).is_some());
        assert_eq!(Validity::restore(NOW, NOW), None);
        assert_eq!(Validity::restore(NOW, NOW - Duration::seconds(1)), None);
        let zero = request(vec![view("owner")], vec![], None);
        assert_eq!(
            zero.validate(NOW, Duration::ZERO, &held()),
            Err(ConsentError::TimeToLive),
            "a maximum of zero grants no validity"
        );
    }

    #[test]
    fn use_starts_with_leeway_and_ends_exactly() {
        let v = Validity {
            valid_from: NOW,
            expires_at: NOW + Duration::hours(1),
        };
        assert_eq!(
            v.check(NOW - Duration::seconds(61)),
            Err(Unusable::NotYetValid)
        );
        assert_eq!(v.check(NOW - Duration::seconds(59)), Ok(()));
        assert_eq!(
            v.check(NOW + Duration::minutes(60) - Duration::seconds(1)),
            Ok(())
        );
        assert_eq!(v.check(NOW + Duration::minutes(60)), Err(Unusable::Expired));
    }
}
