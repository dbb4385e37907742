//! Login lockout (PSD2 RTS Art. 4(3)(b): at most five consecutive failed attempts).
//!
//! Every failed login counts, for unknown usernames too, so the answer never tells whether an
//! account exists. Once the count reaches the maximum, every later login is refused as locked,
//! even with the right password, and still counts. A success resets the count. An
//! administrator can also lock an account outright; only an unlock lifts either lock.

use time::OffsetDateTime;

/// The lockout rule's one parameter: consecutive failures that lock the account (default 5,
/// at least 1, so no policy locks every account before its first attempt).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    max_bad_attempts: u32,
}

/// A lockout policy allowing no attempt at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a lockout policy must allow at least one attempt")]
pub struct InvalidLockoutPolicy;

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            max_bad_attempts: 5,
        }
    }
}

/// What is known about a username's recent logins.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LoginHistory {
    /// Failures since the last success or unlock.
    pub bad_attempts: u32,
    /// When the last failure happened.
    pub last_failure_at: Option<OffsetDateTime>,
    /// Whether an administrator locked the account.
    pub locked_by_administrator: bool,
}

/// Whether a username may log in now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockState {
    /// Logins are checked normally.
    Open,
    /// Too many consecutive failures.
    LockedByFailures,
    /// Locked by an administrator.
    LockedByAdministrator,
}

impl LockState {
    /// Whether logins are refused.
    pub fn is_locked(self) -> bool {
        self != LockState::Open
    }
}

/// What to answer a login attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginDecision {
    /// Right password, account open: start a session and reset the count.
    Allow,
    /// Wrong password (or unknown user): refuse as bad credentials and count the failure.
    RefuseCredentials,
    /// Locked: refuse as locked, whatever the password, and count the failure.
    RefuseLocked,
}

impl LoginDecision {
    /// Whether this attempt adds to the failure count.
    pub fn counts_as_failure(self) -> bool {
        self != LoginDecision::Allow
    }
}

impl LockoutPolicy {
    /// A policy locking after `max_bad_attempts` consecutive failures (at least 1).
    pub fn new(max_bad_attempts: u32) -> Result<Self, InvalidLockoutPolicy> {
        if max_bad_attempts == 0 {
            return Err(InvalidLockoutPolicy);
        }
        Ok(Self { max_bad_attempts })
    }

    /// Consecutive failures that lock the account.
    pub fn max_bad_attempts(&self) -> u32 {
        self.max_bad_attempts
    }

    /// The lock state that `history` puts a username in.
    pub fn state(&self, history: &LoginHistory) -> LockState {
        if history.locked_by_administrator {
            LockState::LockedByAdministrator
        } else if history.bad_attempts >= self.max_bad_attempts {
            LockState::LockedByFailures
        } else {
            LockState::Open
        }
    }

    /// The answer to a login, given the history before it and whether the password matched
    /// (false for an unknown username).
    pub fn decide(&self, history: &LoginHistory, password_matches: bool) -> LoginDecision {
        if self.state(history).is_locked() {
            LoginDecision::RefuseLocked
        } else if password_matches {
            LoginDecision::Allow
        } else {
            LoginDecision::RefuseCredentials
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn history(bad_attempts: u32) -> LoginHistory {
        LoginHistory {
            bad_attempts,
            ..LoginHistory::default()
        }
    }

    #[test]
    fn five_failures_lock_even_the_right_password() {
        let policy = LockoutPolicy::default();
        for count in 0..5 {
            assert_eq!(policy.decide(&history(count), true), LoginDecision::Allow);
            assert_eq!(
                policy.decide(&history(count), false),
                LoginDecision::RefuseCredentials
            );
        }
        assert_eq!(
            policy.decide(&history(5), true),
            LoginDecision::RefuseLocked
        );
        assert_eq!(
            policy.decide(&history(6), false),
            LoginDecision::RefuseLocked
        );
        assert_eq!(policy.state(&history(5)), LockState::LockedByFailures);
    }

    #[test]
    fn an_administrator_lock_holds_regardless_of_the_count() {
        let policy = LockoutPolicy::default();
        let locked = LoginHistory {
            locked_by_administrator: true,
            ..LoginHistory::default()
        };
        assert_eq!(policy.state(&locked), LockState::LockedByAdministrator);
        assert_eq!(policy.decide(&locked, true), LoginDecision::RefuseLocked);
    }

    #[test]
    fn a_policy_allows_at_least_one_attempt() {
        assert_eq!(LockoutPolicy::new(0), Err(InvalidLockoutPolicy));
        assert_eq!(LockoutPolicy::new(5), Ok(LockoutPolicy::default()));
    }

    proptest! {
        /// Replaying any sequence of attempts: no login is ever allowed once the count has
        /// reached the maximum, and only allowed logins reset the count.
        #[test]
        fn no_login_after_the_maximum_until_reset(
            max in 1u32..10,
            attempts in proptest::collection::vec(any::<bool>(), 0..40),
        ) {
            let policy = LockoutPolicy::new(max).unwrap();
            let mut count = 0u32;
            for password_matches in attempts {
                let decision = policy.decide(&history(count), password_matches);
                if count >= max {
                    prop_assert_eq!(decision, LoginDecision::RefuseLocked);
                }
                if decision.counts_as_failure() {
                    count += 1;
                } else {
                    count = 0;
                }
            }
        }
    }
}
