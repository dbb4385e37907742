//! The challenge engine: one-time codes that confirm a sensitive step.
//!
//! A challenge is issued with a code from a CSPRNG (uniform over all digits, leading zeros
//! kept), stored only as a keyed hash bound to the challenge's id, and compared in constant
//! time. It can be answered until it expires; each wrong answer counts, and at the limit the
//! challenge is locked for good. A resend issues a new code but never resets the count. A
//! right answer verifies it once: it cannot be used again. An operation that follows a
//! verification (updating security questions, retrying a step-up request) redeems it, once and
//! only while the verification is fresh.

use hmac::{Hmac, Mac};
use rand_core::CryptoRng;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// Longest validity a policy may set.
pub const MAX_VALIDITY: Duration = Duration::minutes(10);

/// How challenges are issued. Each challenge keeps the limits it was issued with.
///
/// Only [`ChallengePolicy::new`] (which checks the bounds) and [`Default`] make one, so every
/// policy issues codes of at least six digits, expires them, and locks after a finite number
/// of wrong answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChallengePolicy {
    code_length: usize,
    validity: Duration,
    max_failures: u32,
    max_resends: u32,
    resend_cooldown: Duration,
}

/// The limits asked for, before [`ChallengePolicy::new`] checks them. Named fields, so two
/// limits of the same type cannot be swapped by position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicySettings {
    /// Digits per code. Default 6; 6 to 10.
    pub code_length: usize,
    /// How long a code can be answered. Default 5 minutes; more than zero, at most
    /// [`MAX_VALIDITY`].
    pub validity: Duration,
    /// Wrong answers before the challenge locks. Default 5; at least 1.
    pub max_failures: u32,
    /// Resends allowed. Default 3.
    pub max_resends: u32,
    /// Least time between two sends. Default 30 seconds; not negative.
    pub resend_cooldown: Duration,
}

impl Default for PolicySettings {
    fn default() -> Self {
        let policy = ChallengePolicy::default();
        Self {
            code_length: policy.code_length,
            validity: policy.validity,
            max_failures: policy.max_failures,
            max_resends: policy.max_resends,
            resend_cooldown: policy.resend_cooldown,
        }
    }
}

impl Default for ChallengePolicy {
    fn default() -> Self {
        Self {
            code_length: 6,
            validity: Duration::minutes(5),
            max_failures: 5,
            max_resends: 3,
            resend_cooldown: Duration::seconds(30),
        }
    }
}

/// A policy outside the allowed bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "challenge policy out of bounds: codes of 6 to 10 digits, validity up to 10 minutes, at least one attempt"
)]
pub struct InvalidPolicy;

impl ChallengePolicy {
    /// The policy of `settings`, if they are within the bounds documented on
    /// [`PolicySettings`].
    pub fn new(settings: PolicySettings) -> Result<Self, InvalidPolicy> {
        let PolicySettings {
            code_length,
            validity,
            max_failures,
            max_resends,
            resend_cooldown,
        } = settings;
        let ok = (6..=10).contains(&code_length)
            && validity > Duration::ZERO
            && validity <= MAX_VALIDITY
            && max_failures >= 1
            && resend_cooldown >= Duration::ZERO;
        if !ok {
            return Err(InvalidPolicy);
        }
        Ok(Self {
            code_length,
            validity,
            max_failures,
            max_resends,
            resend_cooldown,
        })
    }

    /// Digits per code.
    pub fn code_length(&self) -> usize {
        self.code_length
    }

    /// How long a code can be answered after it is sent.
    pub fn validity(&self) -> Duration {
        self.validity
    }

    /// Wrong answers before the challenge locks.
    pub fn max_failures(&self) -> u32 {
        self.max_failures
    }

    /// Resends allowed after the first code.
    pub fn max_resends(&self) -> u32 {
        self.max_resends
    }

    /// Least time between two sends.
    pub fn resend_cooldown(&self) -> Duration {
        self.resend_cooldown
    }
}

/// Where a challenge stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChallengeState {
    /// Waiting for the answer.
    Pending,
    /// Answered correctly (and so used up).
    Verified,
    /// Ended without an answer because its code could not be delivered.
    Failed,
    /// Its code's validity ended.
    Expired,
    /// Too many wrong answers.
    Locked,
    /// Verified, then used up by the operation it confirmed.
    Redeemed,
}

impl ChallengeState {
    /// The lower-case name used in storage and APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            ChallengeState::Pending => "pending",
            ChallengeState::Verified => "verified",
            ChallengeState::Failed => "failed",
            ChallengeState::Expired => "expired",
            ChallengeState::Locked => "locked",
            ChallengeState::Redeemed => "redeemed",
        }
    }

    /// The state named by [`ChallengeState::as_str`].
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "pending" => ChallengeState::Pending,
            "verified" => ChallengeState::Verified,
            "failed" => ChallengeState::Failed,
            "expired" => ChallengeState::Expired,
            "locked" => ChallengeState::Locked,
            "redeemed" => ChallengeState::Redeemed,
            _ => return None,
        })
    }
}

/// The hash of a challenge that has no code yet. No answer hashes to it (HMAC-SHA256 output
/// is never all zeros in practice: a 2^-256 chance).
const NO_CODE: [u8; 32] = [0u8; 32];

/// A code in clear, to deliver once. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct OneTimeCode(String);

impl OneTimeCode {
    /// The digits, for delivery.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for OneTimeCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OneTimeCode([redacted])")
    }
}

/// Keyed hashing of codes with a server-side secret, bound to the challenge's id so a code
/// hash cannot be moved to another challenge.
#[derive(Clone)]
pub struct CodeHasher {
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for CodeHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeHasher([redacted])")
    }
}

/// The key is shorter than 32 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the code-hashing key must be at least 32 bytes")]
pub struct KeyTooShort;

impl CodeHasher {
    /// A hasher keyed by at least 32 secret bytes.
    pub fn new(key: &[u8]) -> Result<Self, KeyTooShort> {
        if key.len() < 32 {
            return Err(KeyTooShort);
        }
        Ok(Self {
            mac: Hmac::<Sha256>::new_from_slice(key).map_err(|_| KeyTooShort)?,
        })
    }

    /// HMAC-SHA256 over the challenge id and the code.
    pub fn hash(&self, challenge_id: Uuid, code: &str) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(b"otp-code\0");
        mac.update(challenge_id.as_bytes());
        mac.update(code.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// A challenge and everything needed to decide on an answer.
///
/// Its state, counters and code change only through its operations (issue, send, verify,
/// resend, redeem, fail), so a wrong-answer count cannot be reset nor a lock lifted by hand.
/// [`Challenge::restore`] rebuilds one from storage and refuses inconsistent records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    id: Uuid,
    purpose: String,
    state: ChallengeState,
    code_hash: [u8; 32],
    created_at: OffsetDateTime,
    last_sent_at: OffsetDateTime,
    expires_at: OffsetDateTime,
    failures: u32,
    resends: u32,
    verified_at: Option<OffsetDateTime>,
    policy: ChallengePolicy,
}

/// Everything a challenge is stored as: what [`Challenge::to_stored`] gives and
/// [`Challenge::restore`] takes back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredChallenge {
    /// Id.
    pub id: Uuid,
    /// What it confirms (an operation id, e.g. `consent:…`).
    pub purpose: String,
    /// Recorded state (expiry not applied).
    pub state: ChallengeState,
    /// Hash of the current code (all zeros while no code has been sent).
    pub code_hash: [u8; 32],
    /// When it was issued.
    pub created_at: OffsetDateTime,
    /// When the current code was sent.
    pub last_sent_at: OffsetDateTime,
    /// When the current code stops being accepted.
    pub expires_at: OffsetDateTime,
    /// Wrong answers so far.
    pub failures: u32,
    /// Resends so far.
    pub resends: u32,
    /// When it was answered correctly.
    pub verified_at: Option<OffsetDateTime>,
    /// The limits it was issued with.
    pub policy: ChallengePolicy,
}

/// A stored challenge that no sequence of operations could have produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InconsistentChallenge {
    /// More wrong answers or resends than its policy allows.
    #[error("counts beyond the policy's limits")]
    CountsBeyondLimits,
    /// Locked without reaching the wrong-answer limit, or at the limit without being locked.
    #[error("locked state and wrong-answer count disagree")]
    LockMismatch,
    /// A verification time on a challenge never verified, or none on one that was.
    #[error("verification time and state disagree")]
    VerificationMismatch,
}

/// Why an answer was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Not digits of the code's length: refused without counting (it cannot be right).
    #[error("the answer is not a code of the expected length")]
    Malformed,
    /// Wrong; this many attempts are left (0: now locked).
    #[error("wrong code")]
    WrongCode {
        /// Attempts left.
        attempts_left: u32,
    },
    /// The challenge cannot be answered any more.
    #[error("the challenge is {0:?}")]
    NotPending(ChallengeState),
    /// No code has been sent yet (a challenge opened without one): nothing to compare, and
    /// nothing counted.
    #[error("no code has been sent")]
    NoCodeSent,
}

/// Why a verified challenge could not be redeemed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RedeemError {
    /// It was never verified, or is already redeemed, locked, expired or failed.
    #[error("the challenge is {0:?}, not verified")]
    NotVerified(ChallengeState),
    /// It was verified too long ago.
    #[error("the verification is too old")]
    Stale,
}

/// Why a resend was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ResendError {
    /// Too soon after the last send.
    #[error("resend too soon")]
    TooSoon {
        /// Wait this long.
        retry_in: Duration,
    },
    /// No resends left.
    #[error("no resends left")]
    LimitReached,
    /// The challenge cannot be answered any more.
    #[error("the challenge is {0:?}")]
    NotPending(ChallengeState),
}

fn new_code(length: usize, rng: &mut impl CryptoRng) -> OneTimeCode {
    let mut code = String::with_capacity(length);
    while code.len() < length {
        let mut byte = [0u8; 1];
        rng.fill_bytes(&mut byte);
        // 250 is the largest multiple of 10 below 256: redraw above it, so every digit is
        // equally likely.
        if let Some(digit) = byte.first().filter(|b| **b < 250).map(|b| b % 10) {
            code.push(char::from(b'0' + digit));
        }
    }
    OneTimeCode(code)
}

impl Challenge {
    /// Rebuilds a challenge from storage, checking that its state and counts agree with its
    /// policy.
    pub fn restore(stored: StoredChallenge) -> Result<Self, InconsistentChallenge> {
        let StoredChallenge {
            id,
            purpose,
            state,
            code_hash,
            created_at,
            last_sent_at,
            expires_at,
            failures,
            resends,
            verified_at,
            policy,
        } = stored;
        if failures > policy.max_failures || resends > policy.max_resends {
            return Err(InconsistentChallenge::CountsBeyondLimits);
        }
        if (state == ChallengeState::Locked) != (failures == policy.max_failures) {
            return Err(InconsistentChallenge::LockMismatch);
        }
        let verified = matches!(state, ChallengeState::Verified | ChallengeState::Redeemed);
        if verified != verified_at.is_some() {
            return Err(InconsistentChallenge::VerificationMismatch);
        }
        Ok(Self {
            id,
            purpose,
            state,
            code_hash,
            created_at,
            last_sent_at,
            expires_at,
            failures,
            resends,
            verified_at,
            policy,
        })
    }

    /// Everything to store, for [`Challenge::restore`].
    pub fn to_stored(&self) -> StoredChallenge {
        StoredChallenge {
            id: self.id,
            purpose: self.purpose.clone(),
            state: self.state,
            code_hash: self.code_hash,
            created_at: self.created_at,
            last_sent_at: self.last_sent_at,
            expires_at: self.expires_at,
            failures: self.failures,
            resends: self.resends,
            verified_at: self.verified_at,
            policy: self.policy,
        }
    }

    /// Id.
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// What it confirms (an operation id, e.g. `consent:…`).
    pub fn purpose(&self) -> &str {
        &self.purpose
    }

    /// The recorded state, expiry not applied (for storage; decisions use
    /// [`Challenge::state`]).
    pub fn recorded_state(&self) -> ChallengeState {
        self.state
    }

    /// Hash of the current code (all zeros while no code has been sent).
    pub fn code_hash(&self) -> &[u8; 32] {
        &self.code_hash
    }

    /// Digits per code.
    pub fn code_length(&self) -> usize {
        self.policy.code_length
    }

    /// When it was issued.
    pub fn created_at(&self) -> OffsetDateTime {
        self.created_at
    }

    /// When the current code was sent.
    pub fn last_sent_at(&self) -> OffsetDateTime {
        self.last_sent_at
    }

    /// When the current code stops being accepted.
    pub fn expires_at(&self) -> OffsetDateTime {
        self.expires_at
    }

    /// Wrong answers so far (never reset).
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Resends so far.
    pub fn resends(&self) -> u32 {
        self.resends
    }

    /// When it was answered correctly.
    pub fn verified_at(&self) -> Option<OffsetDateTime> {
        self.verified_at
    }

    /// The limits it was issued with.
    pub fn policy(&self) -> ChallengePolicy {
        self.policy
    }

    /// Issues a challenge for `purpose` and its first code.
    pub fn issue(
        purpose: &str,
        policy: ChallengePolicy,
        now: OffsetDateTime,
        rng: &mut impl CryptoRng,
        hasher: &CodeHasher,
    ) -> (Self, OneTimeCode) {
        let mut id = [0u8; 16];
        rng.fill_bytes(&mut id);
        let id = uuid::Builder::from_random_bytes(id).into_uuid();
        let code = new_code(policy.code_length, rng);
        let challenge = Self {
            id,
            purpose: purpose.to_owned(),
            state: ChallengeState::Pending,
            code_hash: hasher.hash(id, code.expose()),
            created_at: now,
            last_sent_at: now,
            expires_at: now + policy.validity,
            failures: 0,
            resends: 0,
            verified_at: None,
            policy,
        };
        (challenge, code)
    }

    /// Opens a challenge without a code: a step-up challenge that offers several factors, where
    /// a code is sent only when the customer picks a factor ([`Challenge::send_code`]). It can
    /// be answered by other factors ([`Challenge::verify_with`]) until `now + validity`.
    pub fn open(
        purpose: &str,
        policy: ChallengePolicy,
        now: OffsetDateTime,
        rng: &mut impl CryptoRng,
    ) -> Self {
        let mut id = [0u8; 16];
        rng.fill_bytes(&mut id);
        Self {
            id: uuid::Builder::from_random_bytes(id).into_uuid(),
            purpose: purpose.to_owned(),
            state: ChallengeState::Pending,
            code_hash: NO_CODE,
            created_at: now,
            last_sent_at: now,
            expires_at: now + policy.validity,
            failures: 0,
            resends: 0,
            verified_at: None,
            policy,
        }
    }

    /// Whether a code has been issued.
    pub fn has_code(&self) -> bool {
        self.code_hash != NO_CODE
    }

    /// Sends a code: the first code of a challenge opened without one (no cooldown, not a
    /// resend), else a resend under the usual limits.
    pub fn send_code(
        &mut self,
        now: OffsetDateTime,
        rng: &mut impl CryptoRng,
        hasher: &CodeHasher,
    ) -> Result<OneTimeCode, ResendError> {
        if self.has_code() {
            return self.resend(now, rng, hasher);
        }
        let state = self.state(now);
        if state != ChallengeState::Pending {
            self.state = state;
            return Err(ResendError::NotPending(state));
        }
        let code = new_code(self.policy.code_length, rng);
        self.code_hash = hasher.hash(self.id, code.expose());
        self.last_sent_at = now;
        self.expires_at = now + self.policy.validity;
        Ok(code)
    }

    /// The state at `now`: a pending challenge past its expiry is expired.
    pub fn state(&self, now: OffsetDateTime) -> ChallengeState {
        if self.state == ChallengeState::Pending && now >= self.expires_at {
            ChallengeState::Expired
        } else {
            self.state
        }
    }

    /// Answers the challenge with a code. Right: verified (once). Wrong: counted, and locked
    /// at the limit.
    pub fn verify(
        &mut self,
        answer: &str,
        now: OffsetDateTime,
        hasher: &CodeHasher,
    ) -> Result<(), VerifyError> {
        if self.state(now) == ChallengeState::Pending {
            if !self.has_code() {
                return Err(VerifyError::NoCodeSent);
            }
            if answer.len() != self.policy.code_length
                || !answer.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(VerifyError::Malformed);
            }
        }
        let (id, expected) = (self.id, self.code_hash);
        self.verify_with(now, || bool::from(hasher.hash(id, answer).ct_eq(&expected)))
    }

    /// Answers the challenge by another factor (security questions, an authenticator app):
    /// `check` runs only while the challenge is pending, and its outcome counts exactly as a
    /// code's would.
    pub fn verify_with(
        &mut self,
        now: OffsetDateTime,
        check: impl FnOnce() -> bool,
    ) -> Result<(), VerifyError> {
        let state = self.state(now);
        if state != ChallengeState::Pending {
            self.state = state;
            return Err(VerifyError::NotPending(state));
        }
        if check() {
            self.state = ChallengeState::Verified;
            self.verified_at = Some(now);
            return Ok(());
        }
        self.failures = self.failures.saturating_add(1);
        if self.failures >= self.policy.max_failures {
            self.state = ChallengeState::Locked;
        }
        Err(VerifyError::WrongCode {
            attempts_left: self.policy.max_failures.saturating_sub(self.failures),
        })
    }

    /// Issues a new code, valid for the policy's validity from now. The failure count stays.
    pub fn resend(
        &mut self,
        now: OffsetDateTime,
        rng: &mut impl CryptoRng,
        hasher: &CodeHasher,
    ) -> Result<OneTimeCode, ResendError> {
        let state = self.state(now);
        if state != ChallengeState::Pending {
            self.state = state;
            return Err(ResendError::NotPending(state));
        }
        if self.resends >= self.policy.max_resends {
            return Err(ResendError::LimitReached);
        }
        let ready_at = self.last_sent_at + self.policy.resend_cooldown;
        if now < ready_at {
            return Err(ResendError::TooSoon {
                retry_in: ready_at - now,
            });
        }
        let code = new_code(self.policy.code_length, rng);
        self.code_hash = hasher.hash(self.id, code.expose());
        self.resends += 1;
        self.last_sent_at = now;
        self.expires_at = now + self.policy.validity;
        Ok(code)
    }

    /// Uses up a verification for the operation it confirmed: only a challenge verified no
    /// more than `max_age` ago, and only once.
    pub fn redeem(&mut self, now: OffsetDateTime, max_age: Duration) -> Result<(), RedeemError> {
        let state = self.state(now);
        if state != ChallengeState::Verified {
            return Err(RedeemError::NotVerified(state));
        }
        match self.verified_at {
            Some(at) if now >= at && now - at <= max_age => {
                self.state = ChallengeState::Redeemed;
                Ok(())
            }
            _ => Err(RedeemError::Stale),
        }
    }

    /// Ends a pending challenge whose code could not be delivered.
    pub fn fail(&mut self, now: OffsetDateTime) -> Result<(), ChallengeState> {
        match self.state(now) {
            ChallengeState::Pending => {
                self.state = ChallengeState::Failed;
                Ok(())
            }
            other => Err(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::{SeedableRng, rngs::StdRng};
    use time::macros::datetime;

    const T: OffsetDateTime = datetime!(2026-11-22 10:00 UTC);

    fn hasher() -> CodeHasher {
        CodeHasher::new(&[7u8; 32]).unwrap()
    }

    fn issue(policy: ChallengePolicy) -> (Challenge, OneTimeCode) {
        Challenge::issue("test", policy, T, &mut rand::rng(), &hasher())
    }

    fn wrong(code: &OneTimeCode) -> String {
        code.expose()
            .chars()
            .map(|c| {
                if c == '9' {
                    '0'
                } else {
                    char::from(c as u8 + 1)
                }
            })
            .collect()
    }

    #[test]
    fn the_right_code_verifies_once() {
        let (mut c, code) = issue(ChallengePolicy::default());
        assert_eq!(code.expose().len(), 6);
        assert_eq!(c.verify(code.expose(), T, &hasher()), Ok(()));
        assert_eq!(
            c.verify(code.expose(), T, &hasher()),
            Err(VerifyError::NotPending(ChallengeState::Verified))
        );
    }

    #[test]
    fn a_fresh_verification_is_redeemed_once() {
        let (mut c, code) = issue(ChallengePolicy::default());
        assert_eq!(
            c.redeem(T, Duration::minutes(5)),
            Err(RedeemError::NotVerified(ChallengeState::Pending))
        );
        c.verify(code.expose(), T, &hasher()).unwrap();
        assert_eq!(c.verified_at, Some(T));
        let mut stale = c.clone();
        assert_eq!(
            stale.redeem(T + Duration::minutes(6), Duration::minutes(5)),
            Err(RedeemError::Stale)
        );
        assert_eq!(
            c.redeem(T + Duration::minutes(5), Duration::minutes(5)),
            Ok(())
        );
        assert_eq!(c.state(T), ChallengeState::Redeemed);
        assert_eq!(
            c.redeem(T, Duration::minutes(5)),
            Err(RedeemError::NotVerified(ChallengeState::Redeemed))
        );
        for state in [
            ChallengeState::Pending,
            ChallengeState::Verified,
            ChallengeState::Failed,
            ChallengeState::Expired,
            ChallengeState::Locked,
            ChallengeState::Redeemed,
        ] {
            assert_eq!(ChallengeState::parse(state.as_str()), Some(state));
        }
        assert_eq!(ChallengeState::parse("VERIFIED"), None);
    }

    #[test]
    fn an_opened_challenge_sends_its_first_code_on_demand() {
        let policy = ChallengePolicy::default();
        let mut c = Challenge::open("step-up", policy, T, &mut rand::rng());
        assert!(!c.has_code());
        assert_eq!(
            c.verify("123456", T, &hasher()),
            Err(VerifyError::NoCodeSent),
            "nothing to compare, nothing counted"
        );
        assert_eq!(c.failures, 0);
        let later = T + Duration::seconds(1);
        let first = c.send_code(later, &mut rand::rng(), &hasher()).unwrap();
        assert!(c.has_code());
        assert_eq!((c.resends, c.expires_at), (0, later + policy.validity));
        assert!(matches!(
            c.send_code(later, &mut rand::rng(), &hasher()),
            Err(ResendError::TooSoon { .. })
        ));
        let second = c
            .send_code(later + Duration::seconds(30), &mut rand::rng(), &hasher())
            .unwrap();
        assert_eq!(c.resends, 1);
        if first != second {
            assert!(c.verify(first.expose(), later, &hasher()).is_err());
        }
        assert_eq!(c.verify(second.expose(), later, &hasher()), Ok(()));

        let mut other = Challenge::open("step-up", policy, T, &mut rand::rng());
        assert_eq!(
            other.verify_with(T, || true),
            Ok(()),
            "another factor needs no code"
        );
        let mut late = Challenge::open("step-up", policy, T, &mut rand::rng());
        assert_eq!(
            late.send_code(T + policy.validity, &mut rand::rng(), &hasher()),
            Err(ResendError::NotPending(ChallengeState::Expired))
        );
    }

    #[test]
    fn five_wrong_answers_lock_it_for_good() {
        let (mut c, code) = issue(ChallengePolicy::default());
        for left in (0..5).rev() {
            assert_eq!(
                c.verify(&wrong(&code), T, &hasher()),
                Err(VerifyError::WrongCode {
                    attempts_left: left
                })
            );
        }
        assert_eq!(c.state(T), ChallengeState::Locked);
        assert_eq!(
            c.verify(code.expose(), T, &hasher()),
            Err(VerifyError::NotPending(ChallengeState::Locked))
        );
    }

    #[test]
    fn malformed_answers_do_not_count() {
        let (mut c, _) = issue(ChallengePolicy::default());
        for answer in ["", "12345", "1234567", "12a456", "１２３４５６"] {
            assert_eq!(c.verify(answer, T, &hasher()), Err(VerifyError::Malformed));
        }
        assert_eq!(c.failures, 0);
    }

    #[test]
    fn codes_expire() {
        let (mut c, code) = issue(ChallengePolicy::default());
        let later = T + Duration::minutes(5);
        assert_eq!(
            c.state(later - Duration::seconds(1)),
            ChallengeState::Pending
        );
        assert_eq!(
            c.verify(code.expose(), later, &hasher()),
            Err(VerifyError::NotPending(ChallengeState::Expired))
        );
    }

    #[test]
    fn resends_keep_the_failure_count_and_respect_cooldown_and_limit() {
        let (mut c, first) = issue(ChallengePolicy::default());
        c.verify(&wrong(&first), T, &hasher()).unwrap_err();
        assert_eq!(
            c.resend(T + Duration::seconds(10), &mut rand::rng(), &hasher()),
            Err(ResendError::TooSoon {
                retry_in: Duration::seconds(20)
            })
        );
        let mut at = T;
        let mut last = first.clone();
        for _ in 0..3 {
            at += Duration::seconds(30);
            last = c.resend(at, &mut rand::rng(), &hasher()).unwrap();
        }
        assert_eq!(c.failures, 1, "a resend never resets the count");
        assert_eq!(
            c.resend(at + Duration::minutes(1), &mut rand::rng(), &hasher()),
            Err(ResendError::LimitReached)
        );
        if last != first {
            assert!(matches!(
                c.verify(first.expose(), at, &hasher()),
                Err(VerifyError::WrongCode { .. })
            ));
        }
        assert_eq!(c.verify(last.expose(), at, &hasher()), Ok(()));
    }

    #[test]
    fn other_factors_count_against_the_same_limit() {
        let (mut c, code) = issue(
            ChallengePolicy::new(PolicySettings {
                max_failures: 2,
                ..PolicySettings::default()
            })
            .unwrap(),
        );
        assert_eq!(
            c.verify_with(T, || false),
            Err(VerifyError::WrongCode { attempts_left: 1 })
        );
        c.verify(&wrong(&code), T, &hasher()).unwrap_err();
        assert_eq!(c.state(T), ChallengeState::Locked);
        let mut ran = false;
        assert_eq!(
            c.verify_with(T, || {
                ran = true;
                true
            }),
            Err(VerifyError::NotPending(ChallengeState::Locked))
        );
        assert!(!ran, "a locked challenge checks nothing");
    }

    #[test]
    fn a_hash_is_bound_to_its_challenge() {
        let h = hasher();
        assert_ne!(h.hash(Uuid::nil(), "123456"), h.hash(Uuid::max(), "123456"));
        assert!(CodeHasher::new(&[0u8; 8]).is_err());
        assert_eq!(
            format!("{:?}", OneTimeCode("123456".into())),
            "OneTimeCode([redacted])"
        );
    }

    #[test]
    fn digits_are_uniform_and_leading_zeros_kept() {
        let mut rng = StdRng::seed_from_u64(11);
        let mut counts = [0usize; 10];
        let mut leading_zero = false;
        for _ in 0..20_000 {
            let code = new_code(6, &mut rng);
            leading_zero |= code.expose().starts_with('0');
            for b in code.expose().bytes() {
                counts[usize::from(b - b'0')] += 1;
            }
        }
        assert!(leading_zero);
        for count in counts {
            assert!((11_400..12_600).contains(&count), "{counts:?}");
        }
    }

    #[test]
    fn policies_are_bounded() {
        assert_eq!(
            ChallengePolicy::new(PolicySettings::default()),
            Ok(ChallengePolicy::default())
        );
        for bad in [
            PolicySettings {
                code_length: 0,
                ..PolicySettings::default()
            },
            PolicySettings {
                code_length: 5,
                ..PolicySettings::default()
            },
            PolicySettings {
                code_length: 11,
                ..PolicySettings::default()
            },
            PolicySettings {
                validity: Duration::ZERO,
                ..PolicySettings::default()
            },
            PolicySettings {
                validity: Duration::minutes(11),
                ..PolicySettings::default()
            },
            PolicySettings {
                max_failures: 0,
                ..PolicySettings::default()
            },
            PolicySettings {
                resend_cooldown: Duration::seconds(-1),
                ..PolicySettings::default()
            },
        ] {
            assert_eq!(ChallengePolicy::new(bad), Err(InvalidPolicy));
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Right,
        Wrong,
        Malformed,
        Resend,
        Redeem,
        Wait(i64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            Just(Op::Right),
            Just(Op::Wrong),
            Just(Op::Malformed),
            Just(Op::Resend),
            Just(Op::Redeem),
            (1i64..400).prop_map(Op::Wait),
        ]
    }

    /// Settings of every kind, most of them out of bounds.
    fn any_settings() -> impl Strategy<Value = PolicySettings> {
        (0usize..16, -5i64..900, 0u32..8, 0u32..5, -5i64..100).prop_map(
            |(code_length, validity, max_failures, max_resends, cooldown)| PolicySettings {
                code_length,
                validity: Duration::seconds(validity),
                max_failures,
                max_resends,
                resend_cooldown: Duration::seconds(cooldown),
            },
        )
    }

    fn any_policy() -> impl Strategy<Value = ChallengePolicy> {
        any_settings().prop_filter_map("out of bounds", |s| ChallengePolicy::new(s).ok())
    }

    #[test]
    fn a_restored_challenge_must_be_consistent() {
        let (c, code) = issue(ChallengePolicy::default());
        assert_eq!(Challenge::restore(c.to_stored()), Ok(c.clone()));
        let reset = StoredChallenge {
            failures: 6,
            ..c.to_stored()
        };
        assert_eq!(
            Challenge::restore(reset),
            Err(InconsistentChallenge::CountsBeyondLimits)
        );
        let unlocked = StoredChallenge {
            failures: 5,
            ..c.to_stored()
        };
        assert_eq!(
            Challenge::restore(unlocked),
            Err(InconsistentChallenge::LockMismatch)
        );
        let locked = StoredChallenge {
            state: ChallengeState::Locked,
            ..c.to_stored()
        };
        assert_eq!(
            Challenge::restore(locked),
            Err(InconsistentChallenge::LockMismatch)
        );
        let verified = StoredChallenge {
            state: ChallengeState::Verified,
            ..c.to_stored()
        };
        assert_eq!(
            Challenge::restore(verified),
            Err(InconsistentChallenge::VerificationMismatch)
        );
        let mut done = c;
        done.verify(code.expose(), T, &hasher()).unwrap();
        let pending_again = StoredChallenge {
            state: ChallengeState::Pending,
            ..done.to_stored()
        };
        assert_eq!(
            Challenge::restore(pending_again),
            Err(InconsistentChallenge::VerificationMismatch)
        );
    }

    proptest! {
        /// Whatever settings are asked for, a policy that can be made issues codes of at least
        /// six digits, and neither an empty answer, a part of the code, the code with more
        /// digits, nor any other string verifies; answers of the wrong shape are not counted.
        #[test]
        fn no_policy_lets_a_short_or_wrong_answer_verify(
            settings in any_settings(),
            other in "[0-9]{0,12}|.{0,12}",
        ) {
            let Ok(policy) = ChallengePolicy::new(settings) else {
                return Ok(());
            };
            let h = hasher();
            let (mut c, code) = issue(policy);
            let code = code.expose();
            prop_assert!(code.len() >= 6);
            prop_assert_eq!(code.len(), policy.code_length());
            let mut shorter: Vec<&str> = (0..code.len()).filter_map(|n| code.get(..n)).collect();
            let longer = format!("{code}0");
            shorter.push(&longer);
            for answer in shorter {
                prop_assert_eq!(c.verify(answer, T, &h), Err(VerifyError::Malformed));
            }
            prop_assert_eq!(c.failures(), 0);
            if other != code {
                prop_assert!(c.verify(&other, T, &h).is_err());
            }
            prop_assert_eq!(c.state(T), if c.failures() == policy.max_failures() {
                ChallengeState::Locked
            } else {
                ChallengeState::Pending
            });

            let mut opened = Challenge::open("test", policy, T, &mut rand::rng());
            prop_assert_eq!(opened.verify("", T, &h), Err(VerifyError::NoCodeSent));
            prop_assert_eq!(opened.verify(&other, T, &h), Err(VerifyError::NoCodeSent));
        }

        /// Whatever happens: failures never decrease and never pass the limit; a locked,
        /// expired or verified challenge never verifies again; only the current code verifies;
        /// and what is stored restores to the same challenge.
        #[test]
        fn the_state_machine_holds(
            policy in any_policy(),
            ops in proptest::collection::vec(op(), 0..40),
        ) {
            let h = hasher();
            let (mut c, mut code) = issue(policy);
            let mut now = T;
            let mut verified = 0;
            let mut redeemed = 0;
            for op in ops {
                let before = (c.state(now), c.failures);
                match op {
                    Op::Right => {
                        if c.verify(code.expose(), now, &h).is_ok() {
                            prop_assert_eq!(before.0, ChallengeState::Pending);
                            verified += 1;
                        }
                    }
                    Op::Wrong => {
                        let _ = c.verify(&wrong(&code), now, &h);
                    }
                    Op::Malformed => {
                        prop_assert_eq!(c.verify("x", now, &h).is_ok(), false);
                        prop_assert_eq!(c.failures, before.1);
                    }
                    Op::Resend => {
                        if let Ok(new) = c.resend(now, &mut rand::rng(), &h) {
                            code = new;
                        }
                    }
                    Op::Redeem => {
                        if c.redeem(now, Duration::minutes(5)).is_ok() {
                            prop_assert_eq!(before.0, ChallengeState::Verified);
                            redeemed += 1;
                        }
                    }
                    Op::Wait(secs) => now += Duration::seconds(secs),
                }
                prop_assert_eq!(Challenge::restore(c.to_stored()), Ok(c.clone()));
                prop_assert!(c.failures >= before.1);
                prop_assert!(c.failures <= c.policy.max_failures);
                prop_assert!(c.resends <= c.policy.max_resends);
                if before.0 != ChallengeState::Pending
                    && !(before.0 == ChallengeState::Verified && c.state(now) == ChallengeState::Redeemed)
                {
                    prop_assert_eq!(c.state(now), before.0);
                }
            }
            prop_assert!(verified <= 1);
            prop_assert!(redeemed <= verified);
        }
    }
}
