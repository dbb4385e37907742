//! Users and their password hashes.

use crate::connection::on_backend;
use crate::schema::users;
use crate::{DbConnection, RepoError, from_micros, to_micros};
use assent_identity::user::verified;
use assent_identity::{User, UserId};
use diesel::prelude::*;
use uuid::Uuid;

/// A `users` row.
#[derive(Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct UserRow {
    /// UUID text.
    pub user_id: String,
    /// Provider URL or name.
    pub provider: String,
    /// Provider's id for the user.
    pub provider_id: String,
    /// Username as given.
    pub username: String,
    /// Lower-cased username: the uniqueness key.
    pub username_key: String,
    /// Email.
    pub email: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Microseconds since the epoch.
    pub created_at: i64,
    /// E.164 mobile number.
    pub phone_number: Option<String>,
    /// Numeric customer id (unique).
    pub customer_number: Option<String>,
    /// When the email address was proved, microseconds since the epoch.
    pub email_verified_at: Option<i64>,
    /// When the phone number was proved, microseconds since the epoch.
    pub phone_verified_at: Option<i64>,
}

crate::redacted::debug_redacting!(UserRow {
    user_id, provider, provider_id, username, username_key, email, first_name, last_name,
    created_at, phone_number, customer_number, email_verified_at, phone_verified_at,
} secret { password_hash });

impl UserRow {
    /// The row for a new user.
    pub fn new(user: &User, username_key: String, password_hash: String) -> Self {
        Self {
            user_id: user.user_id.to_string(),
            provider: user.provider.clone(),
            provider_id: user.provider_id.clone(),
            username: user.username.clone(),
            username_key,
            email: user.email.clone(),
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            password_hash,
            created_at: to_micros(user.created_at),
            phone_number: user.phone_number.clone(),
            customer_number: user.customer_number.clone(),
            email_verified_at: user.email_verified_at.map(to_micros),
            phone_verified_at: user.phone_verified_at.map(to_micros),
        }
    }
}

/// A user's details: the `users` row without its credential (the password hash) and its
/// uniqueness key. What a signed-in request carries, so the per-request checks never read a
/// password hash.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserDetailsRow {
    /// UUID text.
    pub user_id: String,
    /// Provider URL or name.
    pub provider: String,
    /// Provider's id for the user.
    pub provider_id: String,
    /// Username as given.
    pub username: String,
    /// Email.
    pub email: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Microseconds since the epoch.
    pub created_at: i64,
    /// E.164 mobile number.
    pub phone_number: Option<String>,
    /// Numeric customer id (unique).
    pub customer_number: Option<String>,
    /// When the email address was proved, microseconds since the epoch.
    pub email_verified_at: Option<i64>,
    /// When the phone number was proved, microseconds since the epoch.
    pub phone_verified_at: Option<i64>,
}

impl UserDetailsRow {
    /// The email address, if the user proved they receive codes there.
    pub fn verified_email(&self) -> Option<&str> {
        verified(Some(&self.email), self.email_verified_at.is_some())
    }

    /// The phone number, if the user proved they receive codes there.
    pub fn verified_phone(&self) -> Option<&str> {
        verified(
            self.phone_number.as_deref(),
            self.phone_verified_at.is_some(),
        )
    }
}

impl From<UserRow> for UserDetailsRow {
    fn from(row: UserRow) -> Self {
        let UserRow {
            user_id,
            provider,
            provider_id,
            username,
            username_key: _,
            email,
            first_name,
            last_name,
            password_hash: _,
            created_at,
            phone_number,
            customer_number,
            email_verified_at,
            phone_verified_at,
        } = row;
        Self {
            user_id,
            provider,
            provider_id,
            username,
            email,
            first_name,
            last_name,
            created_at,
            phone_number,
            customer_number,
            email_verified_at,
            phone_verified_at,
        }
    }
}

impl TryFrom<UserRow> for User {
    type Error = RepoError;

    fn try_from(row: UserRow) -> Result<Self, RepoError> {
        User::try_from(UserDetailsRow::from(row))
    }
}

impl TryFrom<UserDetailsRow> for User {
    type Error = RepoError;

    fn try_from(row: UserDetailsRow) -> Result<Self, RepoError> {
        let user_id = Uuid::parse_str(&row.user_id).map_err(|e| RepoError::CorruptRow {
            table: "users",
            reason: e.to_string(),
        })?;
        Ok(User {
            user_id: UserId(user_id),
            provider: row.provider,
            provider_id: row.provider_id,
            username: row.username,
            email: row.email,
            first_name: row.first_name,
            last_name: row.last_name,
            phone_number: row.phone_number,
            customer_number: row.customer_number,
            created_at: from_micros(row.created_at),
            email_verified_at: row.email_verified_at.map(from_micros),
            phone_verified_at: row.phone_verified_at.map(from_micros),
        })
    }
}

/// Which of a user's contacts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactKind {
    /// The email address.
    Email,
    /// The phone number.
    Phone,
}

/// Records that the user proved they receive codes at `address`, if it is still their
/// contact of that kind (a contact changed meanwhile stays unproved); `false` otherwise.
pub fn mark_contact_verified(
    conn: &mut DbConnection,
    user_id: &str,
    kind: ContactKind,
    address: &str,
    now: time::OffsetDateTime,
) -> Result<bool, RepoError> {
    crate::connection::write(conn, |conn| {
        let user = users::table.find(user_id);
        let at = Some(to_micros(now));
        let updated = match kind {
            ContactKind::Email => diesel::update(user.filter(users::email.eq(address)))
                .set(users::email_verified_at.eq(at))
                .execute(conn)?,
            ContactKind::Phone => diesel::update(user.filter(users::phone_number.eq(address)))
                .set(users::phone_verified_at.eq(at))
                .execute(conn)?,
        };
        Ok(updated == 1)
    })
}

/// Outcome of [`insert`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertUser {
    /// Stored.
    Created,
    /// Another user of the provider already has this username (ignoring case).
    UsernameTaken,
    /// The customer number is taken (draw another).
    CustomerNumberTaken,
}

/// Stores a new user. The unique constraint on `(provider, username_key)` decides races:
/// of many concurrent sign-ups for one username exactly one is stored.
pub fn insert(conn: &mut DbConnection, row: &UserRow) -> Result<InsertUser, RepoError> {
    let created = crate::insert_unless_conflict(conn, |conn| {
        diesel::insert_into(users::table).values(row).execute(conn)
    })?;
    Ok(if created {
        InsertUser::Created
    } else if count_by_username(conn, &row.provider, &row.username_key)? > 0 {
        InsertUser::UsernameTaken
    } else {
        InsertUser::CustomerNumberTaken
    })
}

/// The user with this customer number.
pub fn find_by_customer_number(
    conn: &mut DbConnection,
    customer_number: &str,
) -> Result<Option<UserRow>, RepoError> {
    Ok(users::table
        .filter(users::customer_number.eq(customer_number))
        .select(UserRow::as_select())
        .get_result(conn)
        .optional()?)
}

/// The user with this provider and username (compared ignoring case).
pub fn find_by_username(
    conn: &mut DbConnection,
    provider: &str,
    username_key: &str,
) -> Result<Option<UserRow>, RepoError> {
    Ok(users::table
        .filter(users::provider.eq(provider))
        .filter(users::username_key.eq(username_key))
        .select(UserRow::as_select())
        .get_result(conn)
        .optional()?)
}

/// Up to `limit` users with this username key, at whichever provider.
pub fn find_by_username_at_any_provider(
    conn: &mut DbConnection,
    username_key: &str,
    limit: i64,
) -> Result<Vec<UserRow>, RepoError> {
    Ok(users::table
        .filter(users::username_key.eq(username_key))
        .order(users::provider.asc())
        .limit(limit)
        .select(UserRow::as_select())
        .load(conn)?)
}

/// The user a provider knows by `provider_id`.
pub fn find_by_provider_id(
    conn: &mut DbConnection,
    provider: &str,
    provider_id: &str,
) -> Result<Option<UserRow>, RepoError> {
    Ok(users::table
        .filter(users::provider.eq(provider))
        .filter(users::provider_id.eq(provider_id))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

/// The details of the users with these ids (those that exist), in one query.
pub fn details_of(
    conn: &mut DbConnection,
    user_ids: &[&str],
) -> Result<Vec<UserDetailsRow>, RepoError> {
    Ok(users::table
        .filter(users::user_id.eq_any(user_ids))
        .select(UserDetailsRow::as_select())
        .load(conn)?)
}

/// The user with this id.
pub fn find_by_id(conn: &mut DbConnection, user_id: &UserId) -> Result<Option<UserRow>, RepoError> {
    // On the backend's own connection (see `on_backend!`): it renders no SQL text per call.
    Ok(on_backend!(conn, |conn| users::table
        .find(user_id.to_string())
        .select(UserRow::as_select())
        .get_result(conn)
        .optional())?)
}

/// How many users have this provider and username key (for tests and checks).
pub fn count_by_username(
    conn: &mut DbConnection,
    provider: &str,
    username_key: &str,
) -> Result<i64, RepoError> {
    Ok(users::table
        .filter(users::provider.eq(provider))
        .filter(users::username_key.eq(username_key))
        .count()
        .get_result(conn)?)
}

/// Replaces a user's password hash only if it is still `expected` (used to store a rehash
/// after a login without overwriting a password changed meanwhile).
pub fn replace_password_hash(
    conn: &mut DbConnection,
    user_id: &UserId,
    expected: &str,
    new_hash: &str,
) -> Result<bool, RepoError> {
    crate::connection::write(conn, |conn| {
        let updated = diesel::update(
            users::table
                .filter(users::user_id.eq(user_id.to_string()))
                .filter(users::password_hash.eq(expected)),
        )
        .set(users::password_hash.eq(new_hash))
        .execute(conn)?;
        Ok(updated == 1)
    })
}

diesel::define_sql_function! {
    /// SQL `lower()`, on both backends.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// Users whose email is `email`, ignoring case, oldest first.
pub fn find_by_email(conn: &mut DbConnection, email: &str) -> Result<Vec<UserRow>, RepoError> {
    Ok(users::table
        .filter(lower(users::email).eq(email.to_lowercase()))
        .order((users::created_at.asc(), users::user_id.asc()))
        .select(UserRow::as_select())
        .load(conn)?)
}

/// Which users a listing wants, by lock state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockFilter {
    /// Every user.
    Any,
    /// Only locked users (by an administrator, or at `max_bad_attempts` failures).
    Locked,
    /// Only users who are not locked.
    Active,
}

/// A page of users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserQuery {
    /// Most rows.
    pub limit: i64,
    /// Rows to skip.
    pub offset: i64,
    /// Oldest first when true.
    pub ascending: bool,
    /// Lock-state filter.
    pub lock: LockFilter,
    /// The lockout maximum that makes failures a lock.
    pub max_bad_attempts: i32,
}

/// A page of users by registration time.
pub fn list(conn: &mut DbConnection, query: &UserQuery) -> Result<Vec<UserRow>, RepoError> {
    use crate::schema::{login_attempts, user_locks};
    use diesel::dsl::{exists, not};

    let locked_by_admin = exists(user_locks::table.filter(user_locks::user_id.eq(users::user_id)));
    let locked_by_failures = exists(
        login_attempts::table
            .filter(login_attempts::provider.eq(users::provider))
            .filter(login_attempts::username_key.eq(users::username_key))
            .filter(login_attempts::bad_attempts.ge(query.max_bad_attempts)),
    );
    let mut select = users::table.select(UserRow::as_select()).into_boxed();
    select = match query.lock {
        LockFilter::Any => select,
        LockFilter::Locked => select.filter(locked_by_admin.or(locked_by_failures)),
        LockFilter::Active => select.filter(not(locked_by_admin.or(locked_by_failures))),
    };
    select = if query.ascending {
        select.order((users::created_at.asc(), users::user_id.asc()))
    } else {
        select.order((users::created_at.desc(), users::user_id.desc()))
    };
    Ok(select.limit(query.limit).offset(query.offset).load(conn)?)
}

/// The user with this provider and username, created from `row` if there is none yet. Of any
/// number of concurrent first calls, one inserts and the others read what it inserted.
pub fn get_or_create(conn: &mut DbConnection, row: &UserRow) -> Result<UserRow, RepoError> {
    if let Some(existing) = find_by_username(conn, &row.provider, &row.username_key)? {
        return Ok(existing);
    }
    match insert(conn, row)? {
        InsertUser::Created => Ok(row.clone()),
        // A customer-number clash (a chance in 10^15 per user) surfaces as this error; the
        // caller's retry draws a new number.
        InsertUser::UsernameTaken | InsertUser::CustomerNumberTaken => {
            find_by_username(conn, &row.provider, &row.username_key)?.ok_or_else(|| {
                RepoError::CorruptRow {
                    table: "users",
                    reason: "user vanished after a unique violation".into(),
                }
            })
        }
    }
}
