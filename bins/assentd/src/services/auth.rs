//! DirectLogin, session checks and logout.

use super::{Context, Failure, Internal, record};
use crate::state::AppState;
use assent_identity::SecretString;
use assent_identity::consumer::CONSUMER_KEY_LABEL;
use assent_identity::dauth::DAuthRequest;
use assent_identity::lockout::LoginDecision;
use assent_identity::password::PasswordCheck;
use assent_identity::rate_limit::Exceeded;
use assent_identity::registration::username_key;
use assent_repository::sessions::{ConsumerGate, Holdings};
use assent_repository::users::{self, UserDetailsRow, UserRow};
use assent_repository::{
    DbConnection, RepoError, consumers, dauth, lockout, sessions, transaction,
};
use assent_session::{Session, SessionClaims, SessionClock, SessionId, SessionState};
use time::OffsetDateTime;

/// DirectLogin's credentials.
#[derive(Debug)]
pub struct Credentials {
    pub username: String,
    pub password: SecretString,
    pub consumer_key: SecretString,
}

/// Why a login was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginRefusal {
    /// The consumer key is unknown, or its consumer disabled.
    InvalidConsumer,
    InvalidCredentials,
    Locked,
}

/// Where a login came from, recorded with the session (shown to the customer).
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    /// The peer address of the connection.
    pub ip: Option<String>,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
}

/// Checks the consumer, the lockout state and the password (slow: run on the hashing pool),
/// starts a session and returns its signed token. Whatever the outcome, exactly one Argon2
/// verification is paid, so neither an unknown username nor a lock shows in the timing, and
/// every refusal counts towards the lockout.
pub fn direct_login(
    state: &AppState,
    credentials: &Credentials,
    client: &ClientInfo,
    now: OffsetDateTime,
) -> Result<String, Failure<LoginRefusal>> {
    let provider = state.config.provider.as_str();
    let key = username_key(&credentials.username);
    let consumer_hash = state
        .secret_hasher
        .hash(CONSUMER_KEY_LABEL, &credentials.consumer_key);
    let mut conn = state.pool.get()?;
    let Some(consumer) =
        consumers::find_by_key_hash(&mut conn, &consumer_hash)?.filter(|c| c.enabled)
    else {
        state
            .metrics
            .login_refused_early(crate::metrics::LoginOutcome::UnknownConsumer);
        return Err(Failure::Refused(LoginRefusal::InvalidConsumer));
    };
    let user = users::find_by_username(&mut conn, provider, &key)?;
    // No connection is held while hashing.
    drop(conn);
    let check = match &user {
        Some(row) => state
            .password_hasher
            .verify(&credentials.password, &row.password_hash),
        None => {
            state.password_hasher.verify_dummy(&credentials.password);
            PasswordCheck::Mismatch
        }
    };
    let mut conn = state.pool.get()?;
    let user_id = user.as_ref().map(|u| u.user_id.clone());
    // Decide on the counts as they are after the slow hash, not before it: parallel guesses
    // that all read a low count would otherwise answer "wrong password" while the right one,
    // refused below as locked, would stand out.
    let history = lockout::history(&mut conn, provider, &key, user_id.as_deref())?;
    let decision = state
        .lockout
        .decide(&history, matches!(check, PasswordCheck::Match { .. }));
    let max = state.lockout.max_bad_attempts();
    let refuse = |conn: &mut DbConnection, reason: &str| -> Result<(), RepoError> {
        let failures = lockout::record_failure(conn, provider, &key, now)?;
        record(
            conn,
            now,
            "login.failure",
            user_id.as_deref(),
            // The username is recorded only when it names a user: an unknown one may be a
            // password typed into the wrong field.
            serde_json::json!({
                "consumer_id": consumer.consumer_id,
                "username": user_id.as_ref().map(|_| credentials.username.as_str()),
                "reason": reason,
                // The failure that reached the limit: from now on the username is locked.
                "locked_now": failures == max,
            }),
        )
    };
    let row = match (decision, user) {
        (LoginDecision::Allow, Some(row)) => row,
        (LoginDecision::RefuseLocked, _) => {
            transaction(&mut conn, |conn| refuse(conn, "locked"))?;
            return Err(Failure::Refused(LoginRefusal::Locked));
        }
        _ => {
            transaction(&mut conn, |conn| refuse(conn, "credentials"))?;
            return Err(Failure::Refused(LoginRefusal::InvalidCredentials));
        }
    };
    if matches!(check, PasswordCheck::Match { needs_rehash: true }) {
        rehash(state, &mut conn, &row, &credentials.password)?;
    }
    let session_user = uuid::Uuid::parse_str(&row.user_id)
        .map_err(|e| Internal::Invariant(format!("stored user id: {e}")))?;
    let session = Session::start(session_user, now, &state.session_policy, &mut rand::rng())
        .through_consumer(consumer.consumer_id)
        .at_institution(&state.config.institution_id)
        .from_client(client.ip.clone(), client.user_agent.as_deref());
    let started = transaction(&mut conn, |conn| {
        // A failure or an administrator may have locked the account since it was read.
        let open = lockout::reset_after_success(conn, provider, &key, max)?
            && lockout::admin_lock(conn, &row.user_id)?.is_none();
        if !open {
            // Answered exactly as a wrong password decided at this moment is, so that losing
            // this race does not single out the right password.
            refuse(conn, "credentials")?;
            return Ok(false);
        }
        sessions::insert(conn, &session)?;
        record(
            conn,
            now,
            "login.success",
            Some(&row.user_id),
            serde_json::json!({
                "consumer_id": consumer.consumer_id,
                "session_id": session.session_id().as_str(),
            }),
        )?;
        Ok::<_, RepoError>(true)
    })?;
    if !started {
        return Err(Failure::Refused(LoginRefusal::InvalidCredentials));
    }
    state
        .keys
        .sign(
            assent_session::SESSION_TOKEN_TYP,
            &SessionClaims::for_session(&session, &state.config.provider, now),
        )
        .map_err(Failure::from)
}

/// Stores a stronger hash after a successful login with one made under weaker parameters.
fn rehash(
    state: &AppState,
    conn: &mut assent_repository::DbConnection,
    row: &UserRow,
    password: &SecretString,
) -> Result<(), Internal> {
    let new_hash = state
        .password_hasher
        .hash(password, &mut rand::rng())
        .map_err(Internal::from)?;
    let user = assent_identity::UserId(
        uuid::Uuid::parse_str(&row.user_id)
            .map_err(|e| Internal::Invariant(format!("stored user id: {e}")))?,
    );
    users::replace_password_hash(conn, &user, &row.password_hash, &new_hash)?;
    Ok(())
}

/// What a request presented, checked as far as it can be without the database (a token's
/// signature, type and expiry; a DAuth JWT's caller, signature and timestamp).
#[derive(Debug)]
pub enum Credential {
    /// A DirectLogin session token's claims.
    Session(SessionClaims),
    /// A verified DAuth call.
    DAuth(DAuthRequest),
    /// A third party acting on a consent (`Consent-JWT` with its app's `Consumer-Key`).
    Consent(Box<(assent_consent::token::ConsentClaims, SecretString)>),
}

/// Why a credential does not sign anyone in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInRefusal {
    /// The session is unknown, ended, idle, expired, locked or its consumer disabled.
    InvalidSession,
    /// The DAuth consumer is unknown or disabled.
    InvalidConsumer,
    /// The DAuth request id was used before.
    Replayed,
    /// The DAuth call's user is locked by an administrator.
    UserLocked,
    /// The consent cannot be used.
    Consent(super::consents::ConsentRefusal),
    /// The consumer is over a call limit.
    RateLimited(Exceeded),
}

/// Who `credential` signs in, by the database, with a session's due activity written.
pub fn sign_in(
    ctx: &mut Context<'_>,
    credential: &Credential,
) -> Result<SignedIn, Failure<SignInRefusal>> {
    let (signed_in, activity) = check_credential(ctx, credential)?;
    record_due(ctx, activity)?;
    Ok(signed_in)
}

/// Runs `work`, which only reads, with who `credential` signs in: the checks and the work read
/// one snapshot (see [`assent_repository::read_snapshot`]), and the writes the checks need (a
/// session's due activity, a DAuth request's replay mark) happen outside it.
pub fn read_signed_in<T, E>(
    ctx: &mut Context<'_>,
    credential: &Credential,
    work: impl FnOnce(&mut Context<'_>, SignedIn) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<Failure<SignInRefusal>> + From<RepoError>,
{
    let signed_in_before = match credential {
        Credential::DAuth(_) => Some(sign_in(ctx, credential)?),
        Credential::Session(_) | Credential::Consent(_) => None,
    };
    let state = ctx.state;
    let now = ctx.now;
    let (answer, activity) = assent_repository::read_snapshot(ctx.conn(), |conn| {
        let mut ctx = Context::at(state, conn, now);
        let (signed_in, activity) = match signed_in_before {
            Some(signed_in) => (signed_in, None),
            None => check_credential(&mut ctx, credential)?,
        };
        Ok::<_, E>((work(&mut ctx, signed_in)?, activity))
    })?;
    record_due(ctx, activity)?;
    Ok(answer)
}

/// As [`read_signed_in`], for work that needs what the caller holds: for a session token the
/// holdings come with the session check (one round trip on PostgreSQL); for other
/// credentials `work` gets `None` and reads them itself.
pub fn read_signed_in_with_holdings<T, E>(
    ctx: &mut Context<'_>,
    credential: &Credential,
    work: impl FnOnce(&mut Context<'_>, SignedIn, Option<Holdings>) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<Failure<SignInRefusal>> + From<RepoError>,
{
    let Credential::Session(claims) = credential else {
        return read_signed_in(ctx, credential, |ctx, signed_in| work(ctx, signed_in, None));
    };
    let state = ctx.state;
    let now = ctx.now;
    let (answer, activity) = assent_repository::read_snapshot(ctx.conn(), |conn| {
        let (signed_in, holdings, activity) =
            verify_session_with_holdings(state, conn, claims, now)
                .map_err(|e| E::from(session_refusal(e)))?;
        let mut ctx = Context::at(state, conn, now);
        Ok::<_, E>((work(&mut ctx, signed_in, Some(holdings))?, activity))
    })?;
    record_due(ctx, activity)?;
    Ok(answer)
}

fn session_refusal(error: SessionError) -> Failure<SignInRefusal> {
    match error {
        SessionError::Invalid => Failure::Refused(SignInRefusal::InvalidSession),
        SessionError::RateLimited(exceeded) => {
            Failure::Refused(SignInRefusal::RateLimited(exceeded))
        }
        SessionError::Internal(e) => Failure::Internal(e),
    }
}

fn check_credential(
    ctx: &mut Context<'_>,
    credential: &Credential,
) -> Result<(SignedIn, Option<DueActivity>), Failure<SignInRefusal>> {
    let state = ctx.state;
    let now = ctx.now;
    match credential {
        Credential::Session(claims) => {
            verify_session(state, ctx.conn(), claims, now).map_err(session_refusal)
        }
        Credential::DAuth(request) => {
            let window = state
                .dauth
                .as_ref()
                .map_or(time::Duration::minutes(5), |d| d.window);
            let signed_in = dauth_call(state, ctx.conn(), request, window, now)?;
            Ok((signed_in, None))
        }
        Credential::Consent(consent) => {
            let (claims, key) = consent.as_ref();
            let used = super::consents::check_use(ctx, claims, key)
                .map_err(|failure| failure.map_refusal(SignInRefusal::Consent))?;
            state
                .rate_limiter
                .admit(used.consumer.consumer_id, &used.consumer.call_limits, now)?
                .map_err(|exceeded| Failure::Refused(SignInRefusal::RateLimited(exceeded)))?;
            Ok((
                SignedIn {
                    user: used.user,
                    session_id: None,
                    consumer: Some(used.consumer),
                    consent: Some(used.scope),
                },
                None,
            ))
        }
    }
}

fn record_due(ctx: &mut Context<'_>, activity: Option<DueActivity>) -> Result<(), RepoError> {
    match activity {
        Some(activity) => {
            let (state, now) = (ctx.state, ctx.now);
            activity.record(state, ctx.conn(), now)
        }
        None => Ok(()),
    }
}

/// A signed-in caller.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// Who is calling (without their password hash: the checks never read it).
    pub user: UserDetailsRow,
    /// The session's id, for DirectLogin callers; DAuth and consent calls have none.
    pub session_id: Option<SessionId>,
    pub consumer: Option<ConsumerGate>,
    /// For a third party acting on a consent: what the consent covers, at its bank. Roles
    /// and views outside it are refused as for any user who lacks them.
    pub consent: Option<assent_consent::consent::BankScope>,
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("session invalid or ended")]
    Invalid,
    #[error("call limit reached")]
    RateLimited(Exceeded),
    #[error(transparent)]
    Internal(#[from] Internal),
}

impl From<RepoError> for SessionError {
    fn from(error: RepoError) -> Self {
        SessionError::Internal(error.into())
    }
}

/// Checks the session a verified token names: it must exist, belong to the token's subject,
/// be active now, and its consumer (if any) must be enabled and within its call limits.
/// Records activity when due (rarely, with one conditional update).
pub fn check_session(
    state: &AppState,
    conn: &mut DbConnection,
    claims: &SessionClaims,
    now: OffsetDateTime,
) -> Result<SignedIn, SessionError> {
    let (signed_in, activity) = verify_session(state, conn, claims, now)?;
    if let Some(activity) = activity {
        activity.record(state, conn, now)?;
    }
    Ok(signed_in)
}

/// A session's activity that is due to be written (at most every few seconds per session).
#[derive(Debug)]
#[must_use = "a due activity write is lost unless recorded"]
pub struct DueActivity {
    session_id: String,
}

impl DueActivity {
    /// Writes it (a conditional update: of parallel requests only one writes).
    pub fn record(
        &self,
        state: &AppState,
        conn: &mut DbConnection,
        now: OffsetDateTime,
    ) -> Result<(), RepoError> {
        let not_before = now - state.session_policy.activity_write_interval();
        sessions::record_activity(conn, &self.session_id, now, not_before).map(drop)
    }
}

/// The reads and rules of [`check_session`], without its write: the caller records the
/// returned activity, if any, once it may write.
pub fn verify_session(
    state: &AppState,
    conn: &mut DbConnection,
    claims: &SessionClaims,
    now: OffsetDateTime,
) -> Result<(SignedIn, Option<DueActivity>), SessionError> {
    let live = live_session(conn, claims, now)?;
    admit_session(state, live, claims, now)
}

/// As [`verify_session`], with what the user holds read in the same round trip.
pub fn verify_session_with_holdings(
    state: &AppState,
    conn: &mut DbConnection,
    claims: &SessionClaims,
    now: OffsetDateTime,
) -> Result<(SignedIn, Holdings, Option<DueActivity>), SessionError> {
    let Some(session_id) = SessionId::parse(&claims.sid) else {
        return Err(SessionError::Invalid);
    };
    let Some((check, holdings)) = sessions::find_for_check_with_holdings(conn, &session_id)? else {
        return Err(SessionError::Invalid);
    };
    let live = judge_session(session_id, check, claims, now);
    let (signed_in, activity) = admit_session(state, live, claims, now)?;
    Ok((signed_in, holdings, activity))
}

/// Counts the call of a live session against its consumer's limits and says whether its
/// activity is due.
fn admit_session(
    state: &AppState,
    live: Option<(SignedIn, SessionClock)>,
    claims: &SessionClaims,
    now: OffsetDateTime,
) -> Result<(SignedIn, Option<DueActivity>), SessionError> {
    let (signed_in, clock) = live.ok_or(SessionError::Invalid)?;
    if let Some(consumer) = &signed_in.consumer {
        state
            .rate_limiter
            .admit(consumer.consumer_id, &consumer.call_limits, now)?
            .map_err(SessionError::RateLimited)?;
    }
    let activity = clock
        .activity_due(now, &state.session_policy)
        .then(|| DueActivity {
            session_id: claims.sid.clone(),
        });
    Ok((signed_in, activity))
}

/// The session a verified token names, if it is live now: it exists, belongs to the token's
/// subject, is active, its user is not locked and the consumer it was made through (if any)
/// is enabled. Reads only: no call is counted and no activity written.
pub fn live_session(
    conn: &mut DbConnection,
    claims: &SessionClaims,
    now: OffsetDateTime,
) -> Result<Option<(SignedIn, SessionClock)>, RepoError> {
    let Some(session_id) = SessionId::parse(&claims.sid) else {
        return Ok(None);
    };
    let Some(check) = sessions::find_for_check(conn, &session_id)? else {
        return Ok(None);
    };
    Ok(judge_session(session_id, check, claims, now))
}

/// The rules of a live session over what was read of it.
fn judge_session(
    session_id: SessionId,
    check: sessions::SessionCheck,
    claims: &SessionClaims,
    now: OffsetDateTime,
) -> Option<(SignedIn, SessionClock)> {
    let sessions::SessionCheck {
        clock,
        through_consumer,
        user,
        consumer,
        user_locked,
    } = check;
    // An administrative lock ends the user's sessions when it is set; checking it here as
    // well closes the race with a login that commits its session at the same moment.
    if user_locked || user.user_id != claims.sub || clock.state(now) != SessionState::Active {
        return None;
    }
    if through_consumer && !consumer.as_ref().is_some_and(|c| c.enabled) {
        return None;
    }
    Some((
        SignedIn {
            user,
            session_id: Some(session_id),
            consumer,
            consent: None,
        },
        clock,
    ))
}

/// The call has no session to end: DAuth and consent calls have none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoSessionToEnd;

/// Ends the caller's session (with its family) at once: every token naming it stops working
/// on the next request.
pub fn logout(ctx: &mut Context<'_>, caller: &SignedIn) -> Result<(), Failure<NoSessionToEnd>> {
    let Some(session_id) = &caller.session_id else {
        return Err(Failure::Refused(NoSessionToEnd));
    };
    let sid = session_id.as_str().to_owned();
    let now = ctx.now;
    super::rollback_if_refused(ctx.conn(), |conn| {
        if sessions::terminate_family(conn, &sid, now, "logout")? > 0 {
            record(
                conn,
                now,
                "session.terminated",
                Some(&caller.user.user_id),
                serde_json::json!({ "session_id": sid, "reason": "logout" }),
            )?;
        }
        Ok(())
    })
}

/// A verified DAuth call: the consumer must be enabled and within its limits, the request id
/// new; the contract's user is fetched, or created on its first call, and must not be locked.
fn dauth_call(
    state: &AppState,
    conn: &mut DbConnection,
    request: &DAuthRequest,
    window: time::Duration,
    now: OffsetDateTime,
) -> Result<SignedIn, Failure<SignInRefusal>> {
    let key_hash = state
        .secret_hasher
        .hash(CONSUMER_KEY_LABEL, &request.consumer_key);
    let consumer = consumers::find_by_key_hash(conn, &key_hash)?
        .filter(|c| c.enabled)
        .ok_or(Failure::Refused(SignInRefusal::InvalidConsumer))?;
    // A token is fresh for a window either side of its timestamp, so its id must be kept for
    // two windows: otherwise a token stamped in the future could be replayed once purged.
    if !dauth::remember_request(conn, &request.request_id, now, now - window * 2)? {
        return Err(Failure::Refused(SignInRefusal::Replayed));
    }
    state
        .rate_limiter
        .admit(consumer.consumer_id, &consumer.call_limits, now)?
        .map_err(|exceeded| Failure::Refused(SignInRefusal::RateLimited(exceeded)))?;
    let user = assent_identity::User {
        user_id: assent_identity::UserId::generate(&mut rand::rng()),
        provider: request.provider.clone(),
        provider_id: request.username.clone(),
        username: request.username.clone(),
        email: String::new(),
        first_name: String::new(),
        last_name: String::new(),
        phone_number: None,
        customer_number: Some(assent_identity::user::generate_customer_number(
            &mut rand::rng(),
        )),
        created_at: now,
        email_verified_at: None,
        phone_verified_at: None,
    };
    // "!" is no PHC string: nobody can log in to a DAuth user with a password.
    let row = users::UserRow::new(&user, username_key(&request.username), "!".into());
    let user = users::get_or_create(conn, &row)?;
    if lockout::admin_lock(conn, &user.user_id)?.is_some() {
        return Err(Failure::Refused(SignInRefusal::UserLocked));
    }
    Ok(SignedIn {
        user: user.into(),
        session_id: None,
        consumer: Some(ConsumerGate {
            consumer_id: consumer.consumer_id,
            enabled: consumer.enabled,
            call_limits: consumer.call_limits,
        }),
        consent: None,
    })
}

/// Why a password re-confirmation failed.
#[derive(Debug, thiserror::Error)]
pub enum ReconfirmError {
    #[error("wrong password")]
    WrongPassword,
    #[error("account locked")]
    Locked,
    #[error(transparent)]
    Internal(#[from] Internal),
}

impl From<RepoError> for ReconfirmError {
    fn from(error: RepoError) -> Self {
        ReconfirmError::Internal(error.into())
    }
}

/// Asks a signed-in user for their password again before a change that a stolen session
/// token alone must not make (adding or removing a second factor). Slow (Argon2id): run on the
/// hashing pool. A wrong password counts towards the login lockout like a failed login, and a
/// locked account is refused whatever the password.
pub fn reconfirm_password(
    state: &AppState,
    conn: &mut DbConnection,
    signed_in: &UserDetailsRow,
    password: &SecretString,
    now: OffsetDateTime,
) -> Result<(), ReconfirmError> {
    // The signed-in caller carries no password hash: read it here, the one place it is needed.
    let user_id = uuid::Uuid::parse_str(&signed_in.user_id)
        .map_err(|e| Internal::Invariant(format!("stored user id: {e}")))?;
    let Some(user) = users::find_by_id(conn, &assent_identity::UserId(user_id))? else {
        // Deleted since the session was checked: nothing left to confirm.
        return Err(ReconfirmError::WrongPassword);
    };
    let matched = matches!(
        state.password_hasher.verify(password, &user.password_hash),
        PasswordCheck::Match { .. }
    );
    let provider = user.provider.as_str();
    let history = lockout::history(conn, provider, &user.username_key, Some(&user.user_id))?;
    let decision = state.lockout.decide(&history, matched);
    let max = state.lockout.max_bad_attempts();
    // As at login: the success counts only if no failure locked the account since it was
    // read (parallel guesses all read the count before any of them records a failure).
    if decision == LoginDecision::Allow
        && lockout::reset_after_success(conn, provider, &user.username_key, max)?
    {
        return Ok(());
    }
    let decision = if decision == LoginDecision::Allow {
        LoginDecision::RefuseLocked
    } else {
        decision
    };
    transaction(conn, |conn| {
        let failures = lockout::record_failure(conn, provider, &user.username_key, now)?;
        record(
            conn,
            now,
            "reconfirmation.failure",
            Some(&user.user_id),
            serde_json::json!({
                "locked": decision == LoginDecision::RefuseLocked,
                "locked_now": failures == max,
            }),
        )
    })?;
    Err(if decision == LoginDecision::RefuseLocked {
        ReconfirmError::Locked
    } else {
        ReconfirmError::WrongPassword
    })
}
