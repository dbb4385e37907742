//! Customer sessions for Assent: the one sign-in state.
//!
//! A session starts at login and ends when it is terminated, when it has been idle longer than
//! its idle timeout (PSD2 RTS Art. 4(3)(d): at most 5 minutes by default) or when it reaches its
//! absolute lifetime (NIST SP 800-63B AAL2: 12 hours by default). Tokens handed to clients name
//! the session (`sid`), so killing the session kills every token at once.
//!
//! Pure: the clock and the random number generator are parameters.
//!
//! ```
//! use assent_session::{Session, SessionPolicy, SessionState};
//! use time::{Duration, macros::datetime};
//! use uuid::Uuid;
//!
//! let policy = SessionPolicy::default();
//! let start = datetime!(2026-01-01 09:00 UTC);
//! let session = Session::start(Uuid::nil(), start, &policy, &mut rand::rng());
//! assert_eq!(session.state(start + Duration::minutes(4)), SessionState::Active);
//! assert_eq!(session.state(start + Duration::minutes(6)), SessionState::IdleExpired);
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// The `typ` header of session tokens; no other token of Assent's uses it, so a consent JWT or
/// any other token can never be replayed as a session token.
pub const SESSION_TOKEN_TYP: &str = "assent-session+jwt";

/// A session's id: 128 random bits, rendered as 32 lower-case hex characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SessionId(String);

impl SessionId {
    /// A fresh random id.
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        let mut bytes = [0u8; 16];
        rng.fill_bytes(&mut bytes);
        Self(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// Parses an id, accepting only the shape [`generate`](Self::generate) produces.
    pub fn parse(value: &str) -> Option<Self> {
        (value.len() == 32
            && value
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .then(|| Self(value.to_owned()))
    }

    /// The id's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Timeouts applied to new sessions: an idle timeout of at least a second, an absolute
/// lifetime no shorter than it, and a re-authentication interval of at least a second
/// ([`SessionPolicy::new`] refuses anything else).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    idle_timeout: Duration,
    absolute_lifetime: Duration,
    activity_write_interval: Duration,
    reauthentication_interval: Duration,
}

/// Timeouts no session could live by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the idle timeout and the re-authentication interval are at least a second, and the absolute lifetime no shorter than the idle timeout"
)]
pub struct InvalidSessionPolicy;

impl SessionPolicy {
    /// A policy. Activity is then written back at most every 5 seconds, or every fifth of
    /// the idle timeout if that is shorter, so the idle timeout stays meaningful.
    pub fn new(
        idle_timeout: Duration,
        absolute_lifetime: Duration,
        reauthentication_interval: Duration,
    ) -> Result<Self, InvalidSessionPolicy> {
        if idle_timeout < Duration::SECOND
            || absolute_lifetime < idle_timeout
            || reauthentication_interval < Duration::SECOND
        {
            return Err(InvalidSessionPolicy);
        }
        Ok(Self {
            idle_timeout,
            absolute_lifetime,
            activity_write_interval: std::cmp::min(Duration::seconds(5), idle_timeout / 5),
            reauthentication_interval,
        })
    }

    /// A session unused for this long ends. Default 5 minutes.
    pub fn idle_timeout(&self) -> Duration {
        self.idle_timeout
    }

    /// A session ends this long after it started (or after the strong authentication that
    /// replaced it past its absolute expiry), however active. Default 12 hours.
    pub fn absolute_lifetime(&self) -> Duration {
        self.absolute_lifetime
    }

    /// Activity is written back at most this often per session, so reads stay reads.
    /// Default 5 seconds. The idle timeout is thus enforced to within this much.
    pub fn activity_write_interval(&self) -> Duration {
        self.activity_write_interval
    }

    /// The customer must authenticate strongly again once their last strong authentication
    /// is this old. Default 12 hours.
    pub fn reauthentication_interval(&self) -> Duration {
        self.reauthentication_interval
    }
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::minutes(5),
            absolute_lifetime: Duration::hours(12),
            activity_write_interval: Duration::seconds(5),
            reauthentication_interval: Duration::hours(12),
        }
    }
}

/// A customer's session. Its fields are private: a session changes only through the rules
/// below (its absolute expiry never moves, termination is final), and one read back from
/// storage comes through [`Session::restore`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    session_id: SessionId,
    family_id: SessionId,
    user_id: Uuid,
    created_at: OffsetDateTime,
    last_activity_at: OffsetDateTime,
    idle_timeout: Duration,
    expires_at: OffsetDateTime,
    terminated_at: Option<OffsetDateTime>,
    termination_reason: Option<String>,
    institution_id: String,
    last_strong_auth_at: OffsetDateTime,
    client_ip: Option<String>,
    user_agent: Option<String>,
    consumer_id: Option<Uuid>,
}

/// A session as stored: every field, for [`Session::restore`] (storage holds only sessions
/// that the rules made).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    /// Opaque id.
    pub session_id: SessionId,
    /// The id of the family's first session.
    pub family_id: SessionId,
    /// Whose session it is.
    pub user_id: Uuid,
    /// When it started.
    pub created_at: OffsetDateTime,
    /// The last recorded activity.
    pub last_activity_at: OffsetDateTime,
    /// The idle timeout fixed when the session started.
    pub idle_timeout: Duration,
    /// The end of its absolute lifetime.
    pub expires_at: OffsetDateTime,
    /// When it was terminated, if it was.
    pub terminated_at: Option<OffsetDateTime>,
    /// Why it was terminated.
    pub termination_reason: Option<String>,
    /// The financial institution the session belongs to.
    pub institution_id: String,
    /// When the customer last proved who they are.
    pub last_strong_auth_at: OffsetDateTime,
    /// The client address the session was started from.
    pub client_ip: Option<String>,
    /// The client's `User-Agent` when the session started.
    pub user_agent: Option<String>,
    /// The consumer (app) the customer signed in through, if any.
    pub consumer_id: Option<Uuid>,
}

/// Why a session could not be resumed or replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ResumeError {
    /// Still active: it is resumed, not replaced.
    #[error("the session is still active")]
    StillActive,
    /// Idle or past its absolute lifetime: it can only be replaced by a new session.
    #[error("the session has expired")]
    Expired,
    /// Ended on purpose: it is never revived, nor replaced.
    #[error("the session was terminated")]
    Terminated,
    /// Past its absolute lifetime: only a strong authentication at the moment of replacing
    /// lets it be replaced.
    #[error("the session is past its absolute lifetime: authenticate strongly to go on")]
    StrongAuthenticationRequired,
}

/// Where a session stands at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// Usable.
    Active,
    /// Unused longer than its idle timeout.
    IdleExpired,
    /// Past its absolute lifetime.
    Expired,
    /// Ended on purpose.
    Terminated,
}

impl Session {
    /// A session read back from storage.
    pub fn restore(stored: StoredSession) -> Self {
        let StoredSession {
            session_id,
            family_id,
            user_id,
            created_at,
            last_activity_at,
            idle_timeout,
            expires_at,
            terminated_at,
            termination_reason,
            institution_id,
            last_strong_auth_at,
            client_ip,
            user_agent,
            consumer_id,
        } = stored;
        Self {
            session_id,
            family_id,
            user_id,
            created_at,
            last_activity_at,
            idle_timeout,
            expires_at,
            terminated_at,
            termination_reason,
            institution_id,
            last_strong_auth_at,
            client_ip,
            user_agent,
            consumer_id,
        }
    }

    /// Opaque id.
    pub fn session_id(&self) -> &SessionId {
        &self.session_id
    }

    /// The family: the id of the session this one replaced (and that one's, ...) back to the
    /// first, which a login started. Terminating any member ends them all.
    pub fn family_id(&self) -> &SessionId {
        &self.family_id
    }

    /// Whose session it is.
    pub fn user_id(&self) -> Uuid {
        self.user_id
    }

    /// When it started.
    pub fn created_at(&self) -> OffsetDateTime {
        self.created_at
    }

    /// The last recorded activity (recorded at most every `activity_write_interval`).
    pub fn last_activity_at(&self) -> OffsetDateTime {
        self.last_activity_at
    }

    /// The idle timeout fixed when the session started.
    pub fn idle_timeout(&self) -> Duration {
        self.idle_timeout
    }

    /// The end of its absolute lifetime.
    pub fn expires_at(&self) -> OffsetDateTime {
        self.expires_at
    }

    /// When it was terminated (logout, administrator, lock), if it was.
    pub fn terminated_at(&self) -> Option<OffsetDateTime> {
        self.terminated_at
    }

    /// Why it was terminated (`logout`, `system`, `customer`, `administrator`, ...).
    pub fn termination_reason(&self) -> Option<&str> {
        self.termination_reason.as_deref()
    }

    /// The financial institution the session belongs to.
    pub fn institution_id(&self) -> &str {
        &self.institution_id
    }

    /// When the customer last proved who they are with a password or a second factor.
    pub fn last_strong_auth_at(&self) -> OffsetDateTime {
        self.last_strong_auth_at
    }

    /// The client address the session was started from, as seen by the server.
    pub fn client_ip(&self) -> Option<&str> {
        self.client_ip.as_deref()
    }

    /// The client's `User-Agent` when the session started (at most 256 characters).
    pub fn user_agent(&self) -> Option<&str> {
        self.user_agent.as_deref()
    }

    /// The consumer (app) the customer signed in through, if any: its call limits apply to
    /// the session, and disabling it ends the session.
    pub fn consumer_id(&self) -> Option<Uuid> {
        self.consumer_id
    }

    /// Starts a session for `user_id` at `now`, after a strong authentication (a login).
    pub fn start(
        user_id: Uuid,
        now: OffsetDateTime,
        policy: &SessionPolicy,
        rng: &mut impl CryptoRng,
    ) -> Self {
        let session_id = SessionId::generate(rng);
        Self {
            family_id: session_id.clone(),
            session_id,
            user_id,
            created_at: now,
            last_activity_at: now,
            idle_timeout: policy.idle_timeout,
            expires_at: now + policy.absolute_lifetime,
            terminated_at: None,
            termination_reason: None,
            institution_id: String::new(),
            last_strong_auth_at: now,
            client_ip: None,
            user_agent: None,
            consumer_id: None,
        }
    }

    /// The same session, recording where it was started.
    pub fn from_client(self, client_ip: Option<String>, user_agent: Option<&str>) -> Self {
        Self {
            client_ip,
            user_agent: user_agent.map(|ua| ua.chars().take(256).collect()),
            ..self
        }
    }

    /// The same session, at `institution_id`.
    pub fn at_institution(self, institution_id: &str) -> Self {
        Self {
            institution_id: institution_id.to_owned(),
            ..self
        }
    }

    /// Keeps an active session alive: the idle timer restarts at `now`. The absolute expiry
    /// never moves, so no number of resumes keeps a session past it.
    pub fn resume(&mut self, now: OffsetDateTime) -> Result<(), ResumeError> {
        match self.state(now) {
            SessionState::Active => {
                self.last_activity_at = now;
                Ok(())
            }
            SessionState::IdleExpired | SessionState::Expired => Err(ResumeError::Expired),
            SessionState::Terminated => Err(ResumeError::Terminated),
        }
    }

    /// A new session of the same family (customer, institution, consumer), replacing an
    /// expired one. A terminated session is never replaced.
    ///
    /// The absolute lifetime bounds the time between strong authentications, not the age of
    /// one session: a replacement of an idle session keeps the family's absolute expiry and
    /// its last strong authentication (replacing is not authenticating), while a session past
    /// its absolute expiry is replaced only with a strong authentication at `now`
    /// (`authenticated_now`), from which a new absolute lifetime runs.
    pub fn replacement(
        &self,
        now: OffsetDateTime,
        policy: &SessionPolicy,
        authenticated_now: bool,
        rng: &mut impl CryptoRng,
    ) -> Result<Self, ResumeError> {
        let (expires_at, last_strong_auth_at) = match self.state(now) {
            SessionState::Terminated => return Err(ResumeError::Terminated),
            SessionState::Active => return Err(ResumeError::StillActive),
            SessionState::Expired if !authenticated_now => {
                return Err(ResumeError::StrongAuthenticationRequired);
            }
            SessionState::Expired => (now + policy.absolute_lifetime, now),
            SessionState::IdleExpired if authenticated_now => (self.expires_at, now),
            SessionState::IdleExpired => (self.expires_at, self.last_strong_auth_at),
        };
        Ok(Self {
            session_id: SessionId::generate(rng),
            created_at: now,
            last_activity_at: now,
            idle_timeout: policy.idle_timeout,
            expires_at,
            last_strong_auth_at,
            terminated_at: None,
            termination_reason: None,
            ..self.clone()
        })
    }

    /// Whether the customer must authenticate strongly before the session goes on at `now`
    /// (kept alive or replaced): their last strong authentication is older than the policy
    /// allows, or the session is past its absolute lifetime.
    pub fn strong_authentication_due(&self, now: OffsetDateTime, policy: &SessionPolicy) -> bool {
        self.reauthentication_due(now, policy) || self.state(now) == SessionState::Expired
    }

    /// Whether the customer's last strong authentication is older than the policy allows.
    pub fn reauthentication_due(&self, now: OffsetDateTime, policy: &SessionPolicy) -> bool {
        now - self.last_strong_auth_at >= policy.reauthentication_interval
    }

    /// Records a strong authentication (a verified identity challenge) at `now`.
    pub fn authenticated_strongly(&mut self, now: OffsetDateTime) {
        self.last_strong_auth_at = now;
    }

    /// Ends the session for `reason`; ending it again changes nothing.
    pub fn terminate(&mut self, now: OffsetDateTime, reason: &str) {
        if self.terminated_at.is_none() {
            self.terminated_at = Some(now);
            self.termination_reason = Some(reason.to_owned());
        }
    }

    /// The same session, signed in through `consumer_id`.
    pub fn through_consumer(self, consumer_id: Uuid) -> Self {
        Self {
            consumer_id: Some(consumer_id),
            ..self
        }
    }

    /// What decides whether the session is still live.
    pub fn clock(&self) -> SessionClock {
        SessionClock {
            last_activity_at: self.last_activity_at,
            idle_timeout: self.idle_timeout,
            expires_at: self.expires_at,
            terminated_at: self.terminated_at,
        }
    }

    /// The session's state at `now` (see [`SessionClock::state`]).
    pub fn state(&self, now: OffsetDateTime) -> SessionState {
        self.clock().state(now)
    }

    /// Whether activity at `now` should be written back (see [`SessionClock::activity_due`]).
    pub fn activity_due(&self, now: OffsetDateTime, policy: &SessionPolicy) -> bool {
        self.clock().activity_due(now, policy)
    }
}

/// The part of a session that decides whether it is still live: all a per-request check
/// needs to read, without who started it, where or through what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionClock {
    last_activity_at: OffsetDateTime,
    idle_timeout: Duration,
    expires_at: OffsetDateTime,
    terminated_at: Option<OffsetDateTime>,
}

impl SessionClock {
    /// The clock of a stored session: its last recorded activity, the idle timeout fixed when
    /// it started, the end of its absolute lifetime, and when it was terminated, if it was.
    pub fn restore(
        last_activity_at: OffsetDateTime,
        idle_timeout: Duration,
        expires_at: OffsetDateTime,
        terminated_at: Option<OffsetDateTime>,
    ) -> Self {
        Self {
            last_activity_at,
            idle_timeout,
            expires_at,
            terminated_at,
        }
    }

    /// The state at `now`. Termination wins over expiry; the boundaries are exclusive (a
    /// session is over at exactly its deadline).
    pub fn state(&self, now: OffsetDateTime) -> SessionState {
        if self.terminated_at.is_some() {
            SessionState::Terminated
        } else if now >= self.expires_at {
            SessionState::Expired
        } else if now >= self.last_activity_at + self.idle_timeout {
            SessionState::IdleExpired
        } else {
            SessionState::Active
        }
    }

    /// Whether activity at `now` should be written back: only when the last write is older
    /// than the policy's interval, to keep authenticated reads free of writes.
    pub fn activity_due(&self, now: OffsetDateTime, policy: &SessionPolicy) -> bool {
        now - self.last_activity_at >= policy.activity_write_interval
    }
}

/// Claims of a session token (an ES256 JWT whose header carries [`SESSION_TOKEN_TYP`] and the
/// signing key's `kid`). `iss` and `aud` are the issuing server's public base URL: a token is
/// for the server that issued it (RFC 8725 sections 3.8 and 3.9), which checks both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionClaims {
    /// The session's id.
    pub sid: String,
    /// The user's id.
    pub sub: String,
    /// The issuer.
    pub iss: String,
    /// The audience: the same server.
    pub aud: String,
    /// The token's id (the session's: one token per session).
    pub jti: String,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Not before (Unix seconds): when it was issued.
    pub nbf: i64,
    /// Expires at (Unix seconds): the session's absolute expiry.
    pub exp: i64,
}

impl SessionClaims {
    /// Claims for a token naming `session`, issued by `issuer` (a public base URL) at `now`.
    pub fn for_session(session: &Session, issuer: &str, now: OffsetDateTime) -> Self {
        Self {
            sid: session.session_id.as_str().to_owned(),
            sub: session.user_id.to_string(),
            iss: issuer.to_owned(),
            aud: issuer.to_owned(),
            jti: session.session_id.as_str().to_owned(),
            iat: now.unix_timestamp(),
            nbf: now.unix_timestamp(),
            exp: session.expires_at.unix_timestamp(),
        }
    }

    /// Whether the token was issued by `issuer` for `issuer`.
    pub fn is_for(&self, issuer: &str) -> bool {
        self.iss == issuer && self.aud == issuer
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    const START: OffsetDateTime = datetime!(2026-01-01 09:00 UTC);

    fn session() -> Session {
        Session::start(
            Uuid::nil(),
            START,
            &SessionPolicy::default(),
            &mut rand::rng(),
        )
    }

    #[test]
    fn a_policy_has_timeouts_a_session_can_live_by() {
        let policy = SessionPolicy::new(
            Duration::minutes(5),
            Duration::hours(12),
            Duration::hours(12),
        )
        .unwrap();
        assert_eq!(policy, SessionPolicy::default());
        let short =
            SessionPolicy::new(Duration::seconds(4), Duration::seconds(8), Duration::SECOND)
                .unwrap();
        assert_eq!(short.activity_write_interval(), Duration::milliseconds(800));
        for (idle, absolute, reauth) in [
            (Duration::ZERO, Duration::hours(1), Duration::hours(1)),
            (
                Duration::minutes(5),
                Duration::minutes(4),
                Duration::hours(1),
            ),
            (Duration::minutes(5), Duration::hours(1), Duration::ZERO),
        ] {
            assert_eq!(
                SessionPolicy::new(idle, absolute, reauth),
                Err(InvalidSessionPolicy)
            );
        }
    }

    #[test]
    fn ids_are_128_random_bits() {
        let a = SessionId::generate(&mut rand::rng());
        assert_eq!(a.as_str().len(), 32);
        assert_ne!(a, SessionId::generate(&mut rand::rng()));
        assert_eq!(SessionId::parse(a.as_str()), Some(a));
        assert_eq!(SessionId::parse("ABCDEF"), None);
        assert_eq!(SessionId::parse(&"G".repeat(32)), None);
    }

    #[test]
    fn idle_timeout_ends_an_unused_session() {
        let s = session();
        assert_eq!(s.state(START), SessionState::Active);
        assert_eq!(
            s.state(START + Duration::minutes(5) - Duration::seconds(1)),
            SessionState::Active
        );
        assert_eq!(
            s.state(START + Duration::minutes(5)),
            SessionState::IdleExpired
        );
    }

    #[test]
    fn activity_extends_until_the_absolute_lifetime() {
        let mut s = session();
        s.last_activity_at = START + Duration::hours(12) - Duration::seconds(10);
        assert_eq!(
            s.state(START + Duration::hours(12) - Duration::seconds(1)),
            SessionState::Active
        );
        assert_eq!(s.state(START + Duration::hours(12)), SessionState::Expired);
    }

    #[test]
    fn termination_wins() {
        let mut s = session();
        s.terminated_at = Some(START);
        assert_eq!(s.state(START), SessionState::Terminated);
    }

    #[test]
    fn activity_is_written_rarely() {
        let s = session();
        let policy = SessionPolicy::default();
        assert!(!s.activity_due(START + Duration::seconds(4), &policy));
        assert!(s.activity_due(START + Duration::seconds(5), &policy));
    }

    #[test]
    fn claims_carry_the_absolute_expiry() {
        let s = session();
        let claims = SessionClaims::for_session(&s, "https://bank.example", START);
        assert_eq!(claims.exp - claims.iat, 12 * 3600);
        assert_eq!(claims.sid, s.session_id.as_str());
        assert_eq!(
            (claims.nbf, claims.jti.as_str()),
            (claims.iat, claims.sid.as_str())
        );
        assert!(claims.is_for("https://bank.example"));
        assert!(!claims.is_for("https://other.example"));
    }

    #[test]
    fn resume_restarts_the_idle_timer_but_never_passes_the_absolute_expiry() {
        let policy = SessionPolicy::default();
        let mut s = session();
        let mut now = START;
        while now < s.expires_at - Duration::minutes(4) {
            now += Duration::minutes(4);
            assert_eq!(s.resume(now), Ok(()));
            assert_eq!(s.last_activity_at, now);
        }
        assert_eq!(s.expires_at, START + policy.absolute_lifetime);
        assert_eq!(s.resume(s.expires_at), Err(ResumeError::Expired));
        let idle = session();
        let mut idle_later = idle.clone();
        assert_eq!(
            idle_later.resume(START + Duration::minutes(5)),
            Err(ResumeError::Expired)
        );
        assert_eq!(idle_later, idle, "a failed resume changes nothing");
    }

    #[test]
    fn only_an_expired_session_is_replaced_and_stays_in_its_family() {
        let policy = SessionPolicy::default();
        let s = session().at_institution("BOOIL");
        assert_eq!(s.family_id, s.session_id, "a login starts a family");
        assert_eq!(
            s.replacement(START, &policy, false, &mut rand::rng()),
            Err(ResumeError::StillActive)
        );
        let later = START + Duration::minutes(10);
        let new = s
            .replacement(later, &policy, false, &mut rand::rng())
            .unwrap();
        assert_ne!(new.session_id, s.session_id);
        assert_eq!(new.family_id, s.session_id);
        assert_eq!(
            (new.user_id, new.institution_id.as_str()),
            (s.user_id, "BOOIL")
        );
        assert_eq!(new.state(later), SessionState::Active);
        assert_eq!(
            new.expires_at, s.expires_at,
            "an idle replacement keeps the deadline"
        );
        assert_eq!(new.last_strong_auth_at, s.last_strong_auth_at);
        let mut ended = s.clone();
        ended.terminate(START, "customer");
        assert_eq!(
            ended.replacement(later, &policy, true, &mut rand::rng()),
            Err(ResumeError::Terminated)
        );
    }

    #[test]
    fn past_its_absolute_expiry_a_session_is_replaced_only_with_a_strong_authentication() {
        let policy = SessionPolicy::default();
        let s = session();
        let after = s.expires_at + Duration::minutes(1);
        assert!(s.strong_authentication_due(after, &policy));
        assert!(!s.strong_authentication_due(START + Duration::minutes(10), &policy));
        assert_eq!(
            s.replacement(after, &policy, false, &mut rand::rng()),
            Err(ResumeError::StrongAuthenticationRequired)
        );
        let new = s
            .replacement(after, &policy, true, &mut rand::rng())
            .unwrap();
        assert_eq!(new.family_id, s.family_id);
        assert_eq!(new.last_strong_auth_at, after);
        assert_eq!(new.expires_at, after + policy.absolute_lifetime);
    }

    #[test]
    fn termination_is_final_and_keeps_its_first_reason() {
        let mut s = session();
        s.terminate(START, "system");
        s.terminate(START + Duration::minutes(1), "customer");
        assert_eq!(s.terminated_at, Some(START));
        assert_eq!(s.termination_reason.as_deref(), Some("system"));
        assert_eq!(s.resume(START), Err(ResumeError::Terminated));
    }

    #[test]
    fn reauthentication_falls_due_after_the_interval() {
        let policy = SessionPolicy::default();
        let mut s = session();
        assert!(
            !s.reauthentication_due(START + Duration::hours(12) - Duration::seconds(1), &policy)
        );
        assert!(s.reauthentication_due(START + Duration::hours(12), &policy));
        s.authenticated_strongly(START + Duration::hours(12));
        assert!(!s.reauthentication_due(START + Duration::hours(12), &policy));
    }

    #[derive(Debug, Clone)]
    enum Op {
        Wait(i64),
        Resume,
        Terminate,
        Replace,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (1i64..2_000).prop_map(Op::Wait),
            Just(Op::Resume),
            Just(Op::Terminate),
            Just(Op::Replace),
        ]
    }

    proptest! {
        /// Whatever happens: a session is never active past its absolute expiry, which never
        /// moves; a terminated session is never active again; a replacement is a new session.
        #[test]
        fn resume_and_terminate_hold(ops in proptest::collection::vec(op(), 0..60)) {
            let policy = SessionPolicy {
                idle_timeout: Duration::seconds(300),
                absolute_lifetime: Duration::seconds(3_000),
                ..SessionPolicy::default()
            };
            let mut s = Session::start(Uuid::nil(), START, &policy, &mut rand::rng());
            let expiry = s.expires_at;
            let mut now = START;
            let mut terminated = false;
            for op in ops {
                match op {
                    Op::Wait(secs) => now += Duration::seconds(secs),
                    Op::Resume => {
                        let _ = s.resume(now);
                    }
                    Op::Terminate => {
                        s.terminate(now, "test");
                        terminated = true;
                    }
                    Op::Replace => {
                        if let Ok(new) = s.replacement(now, &policy, false, &mut rand::rng()) {
                            prop_assert!(!terminated);
                            prop_assert_ne!(&new.session_id, &s.session_id);
                            prop_assert_eq!(&new.family_id, &s.family_id);
                            prop_assert_eq!(new.state(now), SessionState::Active);
                            prop_assert_eq!(new.expires_at, expiry);
                        }
                    }
                }
                prop_assert_eq!(s.expires_at, expiry);
                if s.state(now) == SessionState::Active {
                    prop_assert!(now < expiry);
                    prop_assert!(!terminated);
                }
                if terminated {
                    prop_assert_eq!(s.state(now), SessionState::Terminated);
                }
            }
        }

        /// However a family is kept going (waits, resumes, replacements with and without a
        /// strong authentication), no member is active more than the absolute lifetime after
        /// the family's last strong authentication.
        #[test]
        fn a_family_never_outlives_its_last_strong_authentication_by_more_than_the_lifetime(
            steps in proptest::collection::vec((1i64..2_000, any::<bool>()), 0..80),
        ) {
            let policy = SessionPolicy {
                idle_timeout: Duration::seconds(300),
                absolute_lifetime: Duration::seconds(3_000),
                reauthentication_interval: Duration::days(365),
                ..SessionPolicy::default()
            };
            let mut s = Session::start(Uuid::nil(), START, &policy, &mut rand::rng());
            let family = s.family_id.clone();
            let mut last_strong = START;
            let mut now = START;
            for (wait, authenticate) in steps {
                now += Duration::seconds(wait);
                if s.resume(now).is_err()
                    && let Ok(new) = s.replacement(now, &policy, authenticate, &mut rand::rng())
                {
                    if authenticate {
                        last_strong = now;
                    }
                    s = new;
                }
                prop_assert_eq!(&s.family_id, &family);
                if s.state(now) == SessionState::Active {
                    prop_assert!(now < last_strong + policy.absolute_lifetime);
                }
            }
        }

        #[test]
        fn a_session_is_never_active_past_either_deadline(
            idle_secs in 1i64..100_000,
            life_secs in 1i64..100_000,
            activity_offset in 0i64..100_000,
            probe in 0i64..300_000,
        ) {
            let policy = SessionPolicy {
                idle_timeout: Duration::seconds(idle_secs),
                absolute_lifetime: Duration::seconds(life_secs),
                activity_write_interval: Duration::seconds(5),
                ..SessionPolicy::default()
            };
            let mut s = Session::start(Uuid::nil(), START, &policy, &mut rand::rng());
            s.last_activity_at = START + Duration::seconds(activity_offset.min(life_secs));
            let now = START + Duration::seconds(probe);
            if s.state(now) == SessionState::Active {
                prop_assert!(now < s.expires_at);
                prop_assert!(now < s.last_activity_at + s.idle_timeout);
            }
        }
    }
}
