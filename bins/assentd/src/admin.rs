//! Administrative commands. Each prints machine-readable JSON on stdout; failures go to stderr
//! with a non-zero exit.

use crate::api::obp::errors::ObpError;
use crate::api::obp::locks::status_json;
use crate::api::obp::users::UserJson;
use crate::cli::AdminCommand;
use crate::config::Config;
use crate::services::caller::Operator;
use crate::services::consumers::{self, ConsumerRefusal, NewConsumer};
use crate::services::locks::{self, LockTarget};
use crate::services::roles::{self, EntitlementRefusal, Grantee, InvalidRole, NewEntitlement};
use crate::services::users::{ProvedContacts, register, validate};
use crate::services::{Context, Failure, system_keys};
use crate::state::{AppState, StartError};
use assent_identity::{RegistrationInput, SecretString};
use std::io::Write;

fn print_json(value: &serde_json::Value) -> Result<(), StartError> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value).map_err(|e| StartError::Other(e.to_string()))?;
    writeln!(out).map_err(|e| StartError::Other(e.to_string()))
}

/// Migrates the database and, as the server does on its first start, creates the pepper and
/// the first signing key if missing and records the provider.
pub fn migrate(config: Config) -> Result<(), StartError> {
    let state = AppState::build(config)?;
    print_json(&serde_json::json!({ "migrated": true, "database": state.pool.backend_name() }))
}

pub fn print_openapi(config: &Config) -> Result<(), StartError> {
    let doc = crate::api::openapi::served(config);
    let value = serde_json::to_value(doc).map_err(|e| StartError::Other(e.to_string()))?;
    print_json(&value)
}

pub fn run(config: Config, command: AdminCommand) -> Result<(), StartError> {
    let state = AppState::for_admin(config)?;
    match command {
        AdminCommand::CreateUser {
            username,
            password,
            password_stdin,
            email,
            first_name,
            last_name,
            phone_number,
            email_verified,
            phone_verified,
        } => {
            let password = match password {
                Some(password) if !password_stdin => password,
                _ => password_from_stdin()?,
            };
            let input = RegistrationInput {
                username,
                password: SecretString::new(password),
                email: Some(email),
                first_name,
                last_name,
                phone_number,
            };
            // The command line explains a refusal as the API does.
            let profile = validate(input)
                .and_then(|registration| {
                    let proved = ProvedContacts {
                        email: email_verified,
                        phone: phone_verified,
                    };
                    register(&state, registration, proved, state.clock.now())
                })
                .map_err(|e| failed(e, |refusal| ObpError::from(refusal).message))?;
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
        AdminCommand::UnlockUser { username, provider } => unlock_user(&state, username, provider),
        AdminCommand::CreateConsumer { name } => create_consumer(&state, &name),
        AdminCommand::CreateSystemKey { name } => create_system_key(&state, &name),
        AdminCommand::ListSystemKeys => list_system_keys(&state),
        AdminCommand::RevokeSystemKey { key_id } => revoke_system_key(&state, &key_id),
        AdminCommand::ExportAudit => export_audit(&state),
        AdminCommand::VerifyAudit => verify_audit(&state),
        AdminCommand::Housekeeping => housekeeping(&state),
        AdminCommand::RotateSigningKey { immediately } => {
            let rotated = with_context(&state, |ctx| {
                crate::services::signing_keys::rotate(ctx, immediately)
            })?
            .map_err(|internal| StartError::Other(internal.chain().to_string()))?;
            print_json(&serde_json::json!({
                "kid": rotated.kid,
                "signs_from": crate::api::obp::timestamp_micros(
                    assent_repository::to_micros(rotated.signs_from)
                ),
            }))
        }
    }
}

/// A use case run at the command line, with a pooled connection at the current time.
fn with_context<T>(
    state: &AppState,
    work: impl FnOnce(&mut Context<'_>) -> T,
) -> Result<T, StartError> {
    let mut conn = state.pool.get()?;
    Ok(work(&mut Context::new(state, &mut conn)))
}

/// The message of a failed use case: its refusal explained, or the unexpected error's chain.
fn failed<R>(failure: Failure<R>, explain: impl FnOnce(R) -> String) -> StartError {
    match failure {
        Failure::Refused(refusal) => StartError::Other(explain(refusal)),
        Failure::Internal(internal) => StartError::Other(internal.chain().to_string()),
    }
}

fn export_audit(state: &AppState) -> Result<(), StartError> {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    with_context(state, |ctx| {
        crate::services::audit_events::export(ctx, |row| {
            let line = crate::api::obp::audit_events::event_json(row);
            writeln!(out, "{line}")
                .map_err(|e| crate::failure::Internal::Invariant(format!("writing: {e}")))
        })
    })?
    .map_err(|internal| StartError::Other(internal.chain().to_string()))?;
    out.flush()
        .map_err(|e| StartError::Other(format!("writing: {e}")))
}

fn housekeeping(state: &AppState) -> Result<(), StartError> {
    let round = crate::services::housekeeping::round(state);
    let rows = round
        .rows
        .map_err(|e| StartError::Other(format!("housekeeping: {e}")))?;
    let keys = round
        .signing_keys
        .map_err(|e| StartError::Other(format!("signing key sweep: {e}")))?;
    print_json(&serde_json::json!({
        "rows": rows.map(|swept| serde_json::json!({
            "sessions": swept.sessions,
            "challenges": swept.challenges,
            "quota_windows": swept.quota_windows,
            "consents_expired": swept.consents_expired,
        })),
        "signing_keys": { "wiped": keys.wiped, "deleted": keys.deleted },
    }))
}

/// The first line of standard input, without its line ending.
fn password_from_stdin() -> Result<String, StartError> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| StartError::Other(format!("reading the password from standard input: {e}")))?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    if password.is_empty() {
        return Err(StartError::Other(
            "--password-stdin: standard input held no password".into(),
        ));
    }
    Ok(password)
}

fn verify_audit(state: &AppState) -> Result<(), StartError> {
    use assent_repository::audit::ChainBreak;
    let verdict = with_context(state, crate::services::audit_events::verify)?
        .map_err(|internal| StartError::Other(internal.chain().to_string()))?;
    match verdict {
        Ok(intact) => print_json(&serde_json::json!({
            "intact": true,
            "events": intact.events,
            "head_hash": intact.head_hash,
        })),
        Err(broken) => {
            let first_bad_event = match &broken {
                ChainBreak::Unlinked { event_id }
                | ChainBreak::Missing { event_id, .. }
                | ChainBreak::Altered { event_id, .. } => Some(event_id.clone()),
                ChainBreak::Truncated { .. } | ChainBreak::HeadAltered => None,
            };
            print_json(&serde_json::json!({
                "intact": false,
                "first_bad_event": first_bad_event,
                "problem": broken.to_string(),
            }))?;
            Err(StartError::Other(format!(
                "the audit trail was altered: {broken}"
            )))
        }
    }
}

fn grant_role(
    state: &AppState,
    username: &str,
    role: &str,
    bank_id: Option<&str>,
) -> Result<(), StartError> {
    let grant = NewEntitlement {
        grantee: Grantee::Username(username.to_owned()),
        role_name: role.to_owned(),
        bank_id: bank_id.map(str::to_owned),
    };
    let row = with_context(state, |ctx| roles::grant(ctx, Operator::Cli, grant))?.map_err(|e| {
        failed(e, |refusal| match refusal {
            EntitlementRefusal::InvalidRole(InvalidRole::Unknown(_)) => {
                format!("unknown role {role:?}")
            }
            EntitlementRefusal::InvalidRole(InvalidRole::BankIdRequired) => {
                format!("{role} is granted at one bank: give --bank-id")
            }
            EntitlementRefusal::InvalidRole(InvalidRole::BankIdNotAllowed) => {
                format!("{role} is system-wide: omit --bank-id")
            }
            EntitlementRefusal::BankNotFound => format!("no bank {:?}", bank_id.unwrap_or("")),
            EntitlementRefusal::UserNotFound => format!("no user named {username:?}"),
            EntitlementRefusal::AlreadyExists => format!(
                "{username} already has {role} {}",
                bank_id
                    .filter(|b| !b.is_empty())
                    .map(|b| format!("at {b}"))
                    .unwrap_or_default()
            ),
            EntitlementRefusal::MissingRoles(_) | EntitlementRefusal::NotFound => {
                format!("{refusal:?}")
            }
        })
    })?;
    print_json(&serde_json::json!({
        "entitlement_id": row.entitlement_id,
        "role_name": row.role_name,
        "bank_id": row.bank_id,
        "user_id": row.user_id,
    }))
}

fn unlock_user(
    state: &AppState,
    username: String,
    provider: Option<String>,
) -> Result<(), StartError> {
    let target = LockTarget { username, provider };
    let status = with_context(state, |ctx| locks::unlock(ctx, Operator::Cli, &target))?
        .map_err(|e| failed(e, |refusal| ObpError::from(refusal).message))?;
    print_json(
        &serde_json::to_value(status_json(status)).map_err(|e| StartError::Other(e.to_string()))?,
    )
}

fn create_system_key(state: &AppState, name: &str) -> Result<(), StartError> {
    let created = with_context(state, |ctx| system_keys::create(ctx, name))?.map_err(|e| {
        failed(e, |_| {
            "system key name must be 1 to 100 characters with no control characters".into()
        })
    })?;
    print_json(&serde_json::json!({ "key_id": created.key_id, "key": created.key.expose() }))
}

fn list_system_keys(state: &AppState) -> Result<(), StartError> {
    let keys: Vec<serde_json::Value> = with_context(state, system_keys::list)?
        .map_err(|e| StartError::Other(e.chain().to_string()))?
        .into_iter()
        .map(|key| {
            serde_json::json!({
                "key_id": key.key_id,
                "name": key.name,
                "created_at": crate::api::obp::timestamp(key.created_at),
            })
        })
        .collect();
    print_json(&serde_json::Value::Array(keys))
}

fn revoke_system_key(state: &AppState, key_id: &str) -> Result<(), StartError> {
    with_context(state, |ctx| system_keys::revoke(ctx, key_id))?
        .map_err(|e| failed(e, |_| format!("no system key {key_id:?}")))?;
    print_json(&serde_json::json!({ "key_id": key_id, "revoked": true }))
}

fn create_consumer(state: &AppState, name: &str) -> Result<(), StartError> {
    let input = NewConsumer::named(name.to_owned());
    let created = with_context(state, |ctx| consumers::create(ctx, Operator::Cli, input))?
        .map_err(|e| {
            failed(e, |refusal| match refusal {
                ConsumerRefusal::InvalidName(invalid) => invalid.to_string(),
                other => format!("{other:?}"),
            })
        })?;
    print_json(&serde_json::json!({
        "consumer_id": created.consumer.consumer_id, "key": created.key.expose(),
    }))
}
