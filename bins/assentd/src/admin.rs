//! Administrative commands. Each prints machine-readable JSON on stdout; failures go to stderr
//! with a non-zero exit.

use crate::api::obp::users::{UserJson, registration_error};
use crate::cli::AdminCommand;
use crate::config::Config;
use crate::services::record;
use crate::services::users::register;
use crate::state::{AppState, StartError, open_database};
use assent_identity::consumer::{
    CONSUMER_KEY_LABEL, Consumer, SYSTEM_KEY_LABEL, generate_consumer_key, validate_consumer_name,
};
use assent_identity::registration::username_key;
use assent_identity::roles::{EntitlementError, check_entitlement};
use assent_identity::{RegistrationInput, SecretString};
use assent_repository::entitlements::InsertEntitlement;
use assent_repository::{consumers, system_keys, transaction, users};
use std::io::Write;

fn print_json(value: &serde_json::Value) -> Result<(), StartError> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value).map_err(|e| StartError::Other(e.to_string()))?;
    writeln!(out).map_err(|e| StartError::Other(e.to_string()))
}

pub fn migrate(config: &Config) -> Result<(), StartError> {
    let pool = open_database(config)?;
    print_json(&serde_json::json!({ "migrated": true, "database": pool.backend_name() }))
}

pub fn print_openapi() -> Result<(), StartError> {
    let doc = crate::api::openapi::document();
    let value = serde_json::to_value(doc).map_err(|e| StartError::Other(e.to_string()))?;
    print_json(&value)
}

pub fn run(config: Config, command: AdminCommand) -> Result<(), StartError> {
    let state = AppState::build(config)?;
    match command {
        AdminCommand::CreateUser {
            username,
            password,
            email,
            first_name,
            last_name,
            phone_number,
        } => {
            let input = RegistrationInput {
                username,
                password: SecretString::new(password),
                email,
                first_name,
                last_name,
                phone_number,
            };
            let profile = register(&state, input, state.clock.now())
                .map_err(|e| StartError::Other(registration_error(e).message))?;
            print_json(
                &serde_json::to_value(UserJson::from(profile))
                    .map_err(|e| StartError::Other(e.to_string()))?,
            )
        }
        AdminCommand::GrantRole {
            username,
            role,
            bank_id,
        } => grant_role(&state, &username, &role, bank_id.as_deref()),
        AdminCommand::CreateConsumer { name } => create_consumer(&state, &name),
        AdminCommand::CreateSystemKey { name } => create_system_key(&state, &name),
        AdminCommand::ListSystemKeys => list_system_keys(&state),
        AdminCommand::RevokeSystemKey { key_id } => revoke_system_key(&state, &key_id),
    }
}

fn grant_role(
    state: &AppState,
    username: &str,
    role: &str,
    bank_id: Option<&str>,
) -> Result<(), StartError> {
    let role = check_entitlement(role, bank_id).map_err(|e| {
        StartError::Other(match e {
            EntitlementError::UnknownRole => format!("unknown role {role:?}"),
            EntitlementError::BankIdRequired => {
                format!("{role} is granted at one bank: give --bank-id")
            }
            EntitlementError::BankIdNotAllowed => format!("{role} is system-wide: omit --bank-id"),
        })
    })?;
    let bank_id = bank_id.filter(|b| !b.is_empty());
    let mut conn = state.pool.get()?;
    let user = users::find_by_username(&mut conn, &state.config.provider, &username_key(username))?
        .ok_or_else(|| StartError::Other(format!("no user named {username:?}")))?;
    let at = state.clock.now();
    let outcome =
        crate::services::roles::grant(&mut conn, &user.user_id, role, bank_id, "cli", at)?;
    match outcome {
        InsertEntitlement::Created(row) => print_json(&serde_json::json!({
            "entitlement_id": row.entitlement_id,
            "role_name": row.role_name,
            "bank_id": row.bank_id,
            "user_id": row.user_id,
        })),
        InsertEntitlement::AlreadyExists => Err(StartError::Other(format!(
            "{username} already has {} {}",
            role.name(),
            bank_id.map(|b| format!("at {b}")).unwrap_or_default()
        ))),
    }
}

fn create_system_key(state: &AppState, name: &str) -> Result<(), StartError> {
    // Named like consumers, by the same rule.
    let name = validate_consumer_name(name).map_err(|_| {
        StartError::Other(
            "system key name must be 1 to 100 characters with no control characters".into(),
        )
    })?;
    let key = generate_consumer_key(&mut rand::rng());
    let key_id = uuid::Uuid::new_v4().to_string();
    let key_hash = state.secret_hasher.hash(SYSTEM_KEY_LABEL, &key);
    let at = state.clock.now();
    let mut conn = state.pool.get()?;
    transaction(&mut conn, |conn| {
        system_keys::insert(conn, &key_id, &name, &key_hash, at)?;
        record(
            conn,
            at,
            "system_key.created",
            None,
            serde_json::json!({ "key_id": key_id, "name": name }),
        )
    })?;
    print_json(&serde_json::json!({ "key_id": key_id, "key": key.expose() }))
}

fn list_system_keys(state: &AppState) -> Result<(), StartError> {
    let mut conn = state.pool.get()?;
    let keys: Vec<serde_json::Value> = system_keys::list(&mut conn)?
        .into_iter()
        .map(|(key_id, name, created_at)| {
            serde_json::json!({
                "key_id": key_id,
                "name": name,
                "created_at": crate::api::obp::timestamp(created_at),
            })
        })
        .collect();
    print_json(&serde_json::Value::Array(keys))
}

fn revoke_system_key(state: &AppState, key_id: &str) -> Result<(), StartError> {
    let at = state.clock.now();
    let mut conn = state.pool.get()?;
    let revoked = transaction(&mut conn, |conn| {
        let revoked = system_keys::delete(conn, key_id)?;
        if revoked {
            record(
                conn,
                at,
                "system_key.revoked",
                None,
                serde_json::json!({ "key_id": key_id }),
            )?;
        }
        Ok::<_, assent_repository::RepoError>(revoked)
    })?;
    if !revoked {
        return Err(StartError::Other(format!("no system key {key_id:?}")));
    }
    print_json(&serde_json::json!({ "key_id": key_id, "revoked": true }))
}

fn create_consumer(state: &AppState, name: &str) -> Result<(), StartError> {
    let name = validate_consumer_name(name).map_err(|e| StartError::Other(e.to_string()))?;
    let key = generate_consumer_key(&mut rand::rng());
    let consumer = Consumer::new(uuid::Uuid::new_v4(), name);
    let key_hash = state.secret_hasher.hash(CONSUMER_KEY_LABEL, &key);
    let at = state.clock.now();
    let mut conn = state.pool.get()?;
    transaction(&mut conn, |conn| {
        consumers::insert(conn, &consumer, &key_hash, at)?;
        record(
            conn,
            at,
            "consumer.created",
            None,
            serde_json::json!({
                "consumer_id": consumer.consumer_id, "name": consumer.name,
            }),
        )
    })?;
    print_json(&serde_json::json!({ "consumer_id": consumer.consumer_id, "key": key.expose() }))
}
