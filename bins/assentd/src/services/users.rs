//! Registering users and reading them back.

use super::allowances::{client_key, hour_start, seconds_to_next_hour, subject};
use super::auth::SignedIn;
use super::{Context, Failure, Internal, on_connection, record, refuse};
use crate::hashing::Lane;
use crate::state::AppState;
use assent_identity::user::generate_customer_number;
use assent_identity::{Registration, RegistrationError, RegistrationInput, User, UserId};
use assent_repository::entitlements::{self, EntitlementRow};
use assent_repository::sessions::Holdings;
use assent_repository::users::{self, InsertUser, UserRow};
use assent_repository::{RepoError, quotas, transaction};
use std::net::IpAddr;
use std::sync::Arc;
use time::OffsetDateTime;

/// A user with their entitlements, as the API shows them.
#[derive(Debug, Clone)]
pub struct UserProfile {
    pub user: User,
    pub entitlements: Vec<EntitlementRow>,
    /// The views the user holds, on every account.
    pub views: Vec<assent_repository::accounts::Grant>,
}

/// Why a user was not registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterRefusal {
    Invalid(RegistrationError),
    UsernameTaken,
    /// The client's sign-ups for this hour are spent; the allowance comes back after this
    /// many seconds.
    TooManyFromClient {
        retry_after_secs: u64,
    },
}

/// How sign-ups are counted per client.
const SIGN_UP_SCOPE: &str = "signup-client";

/// Checks a registration's fields and password against the rules (pure, cheap).
pub fn validate(input: RegistrationInput) -> Result<Registration, Failure<RegisterRefusal>> {
    Registration::validate(input).map_err(|e| Failure::Refused(RegisterRefusal::Invalid(e)))
}

/// Sign-up through the public API, which needs no authentication: a valid request is counted
/// against its client's hourly allowance before it costs a password hash, and the hash runs in
/// the hashing pool's sign-up lane, so that a flood of sign-ups cannot take the capacity that
/// logins need.
pub async fn sign_up(
    state: Arc<AppState>,
    input: RegistrationInput,
    client: Option<IpAddr>,
) -> Result<UserProfile, Failure<RegisterRefusal>> {
    let registration = validate(input)?;
    let client = client.map(|ip| ip.to_string());
    let subject = subject(&state, SIGN_UP_SCOPE, &client_key(client.as_deref()));
    let now = state.clock.now();
    let spent = || {
        refuse(RegisterRefusal::TooManyFromClient {
            retry_after_secs: seconds_to_next_hour(now),
        })
    };
    if state
        .spent_allowances
        .is_spent(SIGN_UP_SCOPE, &subject, hour_start(now))
    {
        return spent();
    }
    let allowed = on_connection(Arc::clone(&state), move |ctx| {
        let window = hour_start(now);
        let limit = ctx.state.config.signups_per_client_per_hour;
        let allowed = quotas::consume(ctx.conn(), SIGN_UP_SCOPE, &subject, window, limit)?;
        if !allowed {
            ctx.state
                .spent_allowances
                .mark_spent(SIGN_UP_SCOPE, &subject, window);
        }
        Ok::<_, RepoError>(allowed)
    })
    .await??;
    if !allowed {
        return spent();
    }
    state
        .on_hashing_pool(Lane::SignUp, move |state| {
            register(
                state,
                registration,
                ProvedContacts::default(),
                state.clock.now(),
            )
        })
        .await?
}

/// Which contacts of a new user count as proved from the start: those that come from the
/// bank's own records (an operator's `admin create-user`); a sign-up proves none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProvedContacts {
    pub email: bool,
    pub phone: bool,
}

/// Hashes the password (slow: call on a thread of the hashing pool) and stores the user with
/// an audit event, in one transaction.
pub fn register(
    state: &AppState,
    registration: Registration,
    proved: ProvedContacts,
    now: OffsetDateTime,
) -> Result<UserProfile, Failure<RegisterRefusal>> {
    let mut conn = state.pool.get()?;
    // Answer a taken username before paying for a hash; the unique constraint still decides
    // races below.
    if users::find_by_username(
        &mut conn,
        &state.config.provider,
        registration.username_key(),
    )?
    .is_some()
    {
        return refuse(RegisterRefusal::UsernameTaken);
    }
    let password_hash = state
        .password_hasher
        .hash(registration.password(), &mut rand::rng())
        .map_err(Internal::from)?;
    let mut user = User {
        user_id: UserId::generate(&mut rand::rng()),
        provider: state.config.provider.clone(),
        provider_id: registration.username().to_owned(),
        username: registration.username().to_owned(),
        // No email address is stored as an empty one, as for DAuth users.
        email: registration.email().unwrap_or_default().to_owned(),
        first_name: registration.first_name().to_owned(),
        last_name: registration.last_name().to_owned(),
        phone_number: registration.phone_number().map(str::to_owned),
        customer_number: None,
        created_at: now,
        email_verified_at: proved.email.then_some(now),
        phone_verified_at: proved.phone.then_some(now),
    };
    // A customer number is drawn at random; on the rare clash, another is drawn.
    for _ in 0..5 {
        user.customer_number = Some(generate_customer_number(&mut rand::rng()));
        let row = UserRow::new(
            &user,
            registration.username_key().to_owned(),
            password_hash.clone(),
        );
        let outcome = transaction(&mut conn, |conn| {
            let outcome = users::insert(conn, &row)?;
            if outcome == InsertUser::Created {
                record(
                    conn,
                    now,
                    "user.created",
                    Some(&row.user_id),
                    serde_json::json!({ "username": row.username, "provider": row.provider }),
                )?;
            }
            Ok::<_, RepoError>(outcome)
        })?;
        match outcome {
            InsertUser::Created => {
                return Ok(UserProfile {
                    user,
                    entitlements: Vec::new(),
                    views: Vec::new(),
                });
            }
            InsertUser::UsernameTaken => return refuse(RegisterRefusal::UsernameTaken),
            InsertUser::CustomerNumberTaken => {}
        }
    }
    Err(Failure::Internal(Internal::Invariant(
        "no free customer number after 5 draws".into(),
    )))
}

/// The caller's profile. Through a consent, the third party sees only the roles and views the
/// consent reaches.
pub fn current_profile(
    ctx: &mut Context<'_>,
    caller: SignedIn,
    holdings: Option<Holdings>,
) -> Result<UserProfile, Internal> {
    let Holdings {
        entitlements,
        views,
    } = match holdings {
        Some(holdings) => holdings,
        None => {
            let conn = ctx.conn();
            Holdings {
                entitlements: entitlements::list_for_user(conn, &caller.user.user_id)?,
                views: assent_repository::accounts::grants_of_user(conn, &caller.user.user_id)?,
            }
        }
    };
    let mut profile = UserProfile {
        entitlements,
        views,
        user: User::try_from(caller.user)?,
    };
    if let Some(reach) = caller.consent {
        profile
            .entitlements
            .retain(|e| reach.covers_role(&e.role_name, &e.bank_id));
        profile
            .views
            .retain(|g| reach.covers_view(&g.bank_id, &g.account_id, &g.view_id));
    }
    Ok(profile)
}

/// The stored id of the user `user_id` names, if any; a text that is not an id names nobody.
pub fn existing_user(
    conn: &mut assent_repository::DbConnection,
    user_id: &str,
) -> Result<Option<String>, RepoError> {
    let Ok(id) = uuid::Uuid::parse_str(user_id) else {
        return Ok(None);
    };
    Ok(users::find_by_id(conn, &UserId(id))?.map(|row| row.user_id))
}
