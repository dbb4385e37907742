//! Registering users and reading them back.

use super::{Internal, record};
use crate::state::AppState;
use assent_identity::user::generate_customer_number;
use assent_identity::{Registration, RegistrationError, RegistrationInput, User, UserId};
use assent_repository::entitlements::{self, EntitlementRow};
use assent_repository::users::{self, InsertUser, UserDetailsRow, UserRow};
use assent_repository::{RepoError, transaction};
use time::OffsetDateTime;

/// A user with their entitlements, as the API shows them.
#[derive(Debug, Clone)]
pub struct UserProfile {
    pub user: User,
    pub entitlements: Vec<EntitlementRow>,
    /// The views the user holds, on every account.
    pub views: Vec<assent_repository::accounts::Grant>,
}

#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error(transparent)]
    Invalid(#[from] RegistrationError),
    #[error("username taken")]
    UsernameTaken,
    #[error(transparent)]
    Internal(#[from] Internal),
}

impl From<RepoError> for RegisterError {
    fn from(error: RepoError) -> Self {
        RegisterError::Internal(error.into())
    }
}

/// Validates, hashes the password (slow: call on a blocking thread holding a hashing slot)
/// and stores the user with an audit event, in one transaction.
pub fn register(
    state: &AppState,
    input: RegistrationInput,
    now: OffsetDateTime,
) -> Result<UserProfile, RegisterError> {
    let registration = Registration::validate(input)?;
    let mut conn = state.pool.get()?;
    // Answer a taken username before paying for a hash; the unique constraint still decides
    // races below.
    if users::find_by_username(
        &mut conn,
        &state.config.provider,
        &registration.username_key,
    )?
    .is_some()
    {
        return Err(RegisterError::UsernameTaken);
    }
    let password_hash = state
        .password_hasher
        .hash(&registration.password, &mut rand::rng())
        .map_err(Internal::from)?;
    let mut user = User {
        user_id: UserId::generate(&mut rand::rng()),
        provider: state.config.provider.clone(),
        provider_id: registration.username.clone(),
        username: registration.username.clone(),
        email: registration.email,
        first_name: registration.first_name,
        last_name: registration.last_name,
        phone_number: registration.phone_number,
        customer_number: None,
        created_at: now,
    };
    // A customer number is drawn at random; on the rare clash, another is drawn.
    for _ in 0..5 {
        user.customer_number = Some(generate_customer_number(&mut rand::rng()));
        let row = UserRow::new(
            &user,
            registration.username_key.clone(),
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
            InsertUser::UsernameTaken => return Err(RegisterError::UsernameTaken),
            InsertUser::CustomerNumberTaken => {}
        }
    }
    Err(RegisterError::Internal(Internal::Invariant(
        "no free customer number after 5 draws".into(),
    )))
}

/// A user's profile from their stored row.
pub fn profile(
    conn: &mut assent_repository::DbConnection,
    row: UserDetailsRow,
) -> Result<UserProfile, RepoError> {
    let entitlements = entitlements::list_for_user(conn, &row.user_id)?;
    let views = assent_repository::accounts::grants_of_user(conn, &row.user_id)?;
    Ok(UserProfile {
        user: User::try_from(row)?,
        entitlements,
        views,
    })
}
