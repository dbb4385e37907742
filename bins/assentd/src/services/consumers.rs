//! Consumers (the apps that start sessions): registered by holders of `CanCreateConsumer` or
//! at the command line, enabled or disabled, given a redirect URL and call limits. A key is
//! handed out once, at creation, and stored hashed.

use super::auth::SignedIn;
use super::caller::{ConsentCannot, Operator, customer_only};
use super::roles::{MissingRoles, Need, require};
use super::{Context, Failure, Internal, record, refuse, rollback_if_refused};
use assent_identity::SecretString;
use assent_identity::consumer::{
    CONSUMER_KEY_LABEL, Consumer, InvalidConsumerName, generate_consumer_key,
    validate_consumer_name,
};
use assent_identity::rate_limit::CallLimits;
use assent_identity::registration::is_valid_email;
use assent_identity::roles;
use assent_repository::{consumers, sessions};
use time::OffsetDateTime;
use uuid::Uuid;

/// Longest description accepted.
const MAX_DESCRIPTION_CHARS: usize = 2000;

/// Why a consumer use case was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsumerRefusal {
    MissingRoles(MissingRoles),
    /// The name is empty, too long or holds control characters.
    InvalidName(InvalidConsumerName),
    /// The email, redirect URL or description is not acceptable.
    InvalidFields,
    /// A call limit is not a whole number of at least -1.
    InvalidCallLimits,
    NotFound,
}

impl From<MissingRoles> for ConsumerRefusal {
    fn from(missing: MissingRoles) -> Self {
        ConsumerRefusal::MissingRoles(missing)
    }
}

/// A consumer to register.
#[derive(Debug, Clone)]
pub struct NewConsumer {
    pub name: String,
    pub description: String,
    /// Empty, or an email address.
    pub developer_email: String,
    /// Empty, or an http(s) URL.
    pub redirect_url: String,
    pub enabled: bool,
}

impl NewConsumer {
    /// An enabled consumer with only a name.
    pub fn named(name: String) -> Self {
        Self {
            name,
            description: String::new(),
            developer_email: String::new(),
            redirect_url: String::new(),
            enabled: true,
        }
    }
}

/// A consumer as stored, with its creation time.
pub type StoredConsumer = (Consumer, OffsetDateTime);

/// A newly registered consumer and its key, which is never shown again.
#[derive(Debug)]
pub struct CreatedConsumer {
    pub consumer: Consumer,
    pub created: OffsetDateTime,
    pub key: SecretString,
}

fn valid_redirect_url(url: &str) -> bool {
    url.is_empty()
        || (url.len() <= 2048
            && (url.starts_with("https://") || url.starts_with("http://"))
            && !url.chars().any(|c| c.is_control() || c.is_whitespace()))
}

fn valid_description(text: &str) -> bool {
    text.chars().count() <= MAX_DESCRIPTION_CHARS
        && !text.chars().any(|c| c.is_control() && c != '\n')
}

/// Registers a consumer, audited as `consumer.created`. A user needs `CanCreateConsumer`
/// and is recorded as its creator.
pub fn create(
    ctx: &mut Context<'_>,
    by: Operator<'_>,
    input: NewConsumer,
) -> Result<CreatedConsumer, Failure<ConsumerRefusal>> {
    by.require(ctx, &[Need::System(roles::CAN_CREATE_CONSUMER)])?;
    let name = validate_consumer_name(&input.name)
        .map_err(|e| Failure::Refused(ConsumerRefusal::InvalidName(e)))?;
    let email_ok = input.developer_email.is_empty() || is_valid_email(&input.developer_email);
    if !email_ok
        || !valid_redirect_url(&input.redirect_url)
        || !valid_description(&input.description)
    {
        return refuse(ConsumerRefusal::InvalidFields);
    }
    let creator = by
        .user_id()
        .map(Uuid::parse_str)
        .transpose()
        .map_err(Internal::from)?;
    let consumer = Consumer {
        enabled: input.enabled,
        description: input.description,
        developer_email: input.developer_email,
        redirect_url: input.redirect_url,
        created_by_user_id: creator,
        ..Consumer::new(Uuid::new_v4(), name)
    };
    let key = generate_consumer_key(&mut rand::rng());
    let key_hash = ctx.state.secret_hasher.hash(CONSUMER_KEY_LABEL, &key);
    let now = ctx.now;
    rollback_if_refused(ctx.conn(), |conn| {
        consumers::insert(conn, &consumer, &key_hash, now)?;
        record(
            conn,
            now,
            "consumer.created",
            by.user_id(),
            serde_json::json!({
                "consumer_id": consumer.consumer_id, "name": consumer.name,
            }),
        )?;
        Ok(())
    })?;
    Ok(CreatedConsumer {
        consumer,
        created: now,
        key,
    })
}

/// Every consumer (never their keys); needs `CanGetConsumers`.
pub fn list(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
) -> Result<Vec<StoredConsumer>, Failure<ConsumerRefusal>> {
    require(ctx, caller, &[Need::System(roles::CAN_GET_CONSUMERS)])?;
    Ok(consumers::list(ctx.conn(), None)?)
}

/// The consumers the caller registered.
pub fn list_mine(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
) -> Result<Vec<StoredConsumer>, Failure<ConsentCannot>> {
    customer_only(caller)?;
    Ok(consumers::list(ctx.conn(), Some(&caller.user.user_id))?)
}

fn load(
    ctx: &mut Context<'_>,
    consumer_id: &str,
) -> Result<StoredConsumer, Failure<ConsumerRefusal>> {
    let Ok(id) = Uuid::parse_str(consumer_id) else {
        return refuse(ConsumerRefusal::NotFound);
    };
    consumers::find(ctx.conn(), &id)?.ok_or(Failure::Refused(ConsumerRefusal::NotFound))
}

/// One consumer; needs `CanGetConsumers`.
pub fn find(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    consumer_id: &str,
) -> Result<StoredConsumer, Failure<ConsumerRefusal>> {
    require(ctx, caller, &[Need::System(roles::CAN_GET_CONSUMERS)])?;
    load(ctx, consumer_id)
}

/// Enables (needs `CanEnableConsumers`) or disables (needs `CanDisableConsumers`) a consumer.
/// Disabling ends every session made through it, in the same transaction.
pub fn set_enabled(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    consumer_id: &str,
    enabled: bool,
) -> Result<StoredConsumer, Failure<ConsumerRefusal>> {
    let role = if enabled {
        roles::CAN_ENABLE_CONSUMERS
    } else {
        roles::CAN_DISABLE_CONSUMERS
    };
    require(ctx, caller, &[Need::System(role)])?;
    let (consumer, created) = load(ctx, consumer_id)?;
    let now = ctx.now;
    rollback_if_refused(ctx.conn(), |conn| {
        consumers::set_enabled(conn, &consumer.consumer_id, enabled)?;
        let ended = if enabled {
            0
        } else {
            sessions::terminate_all_for_consumer(conn, &consumer.consumer_id, now)?
        };
        record(
            conn,
            now,
            if enabled {
                "consumer.enabled"
            } else {
                "consumer.disabled"
            },
            Some(&caller.user.user_id),
            serde_json::json!({
                "consumer_id": consumer.consumer_id, "sessions_terminated": ended,
            }),
        )?;
        Ok(())
    })?;
    Ok((
        Consumer {
            enabled,
            ..consumer
        },
        created,
    ))
}

/// Sets a consumer's redirect URL (empty, or http(s)); needs `CanUpdateConsumerRedirectUrl`.
pub fn set_redirect_url(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    consumer_id: &str,
    redirect_url: String,
) -> Result<StoredConsumer, Failure<ConsumerRefusal>> {
    require(
        ctx,
        caller,
        &[Need::System(roles::CAN_UPDATE_CONSUMER_REDIRECT_URL)],
    )?;
    if !valid_redirect_url(&redirect_url) {
        return refuse(ConsumerRefusal::InvalidFields);
    }
    let (consumer, created) = load(ctx, consumer_id)?;
    let now = ctx.now;
    rollback_if_refused(ctx.conn(), |conn| {
        consumers::set_redirect_url(conn, &consumer.consumer_id, &redirect_url)?;
        record(
            conn,
            now,
            "consumer.redirect_url_changed",
            Some(&caller.user.user_id),
            serde_json::json!({
                "consumer_id": consumer.consumer_id, "redirect_url": redirect_url,
            }),
        )?;
        Ok(())
    })?;
    Ok((
        Consumer {
            redirect_url,
            ..consumer
        },
        created,
    ))
}

/// A consumer's call limits; needs `CanReadCallLimits`.
pub fn call_limits(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    consumer_id: &str,
) -> Result<CallLimits, Failure<ConsumerRefusal>> {
    require(ctx, caller, &[Need::System(roles::CAN_READ_CALL_LIMITS)])?;
    Ok(load(ctx, consumer_id)?.0.call_limits)
}

/// Sets a consumer's limits per second, minute, hour, day, week and month (`None`: not a
/// number as sent); each is a count, or -1 for unlimited. Needs `CanSetCallLimits`.
pub fn set_call_limits(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    consumer_id: &str,
    limits: [Option<i64>; 6],
) -> Result<CallLimits, Failure<ConsumerRefusal>> {
    require(ctx, caller, &[Need::System(roles::CAN_SET_CALL_LIMITS)])?;
    let limits = match limits {
        [Some(a), Some(b), Some(c), Some(d), Some(e), Some(f)] => {
            CallLimits::new([a, b, c, d, e, f])
                .map_err(|_| Failure::Refused(ConsumerRefusal::InvalidCallLimits))?
        }
        _ => return refuse(ConsumerRefusal::InvalidCallLimits),
    };
    let (consumer, _) = load(ctx, consumer_id)?;
    let now = ctx.now;
    rollback_if_refused(ctx.conn(), |conn| {
        consumers::set_call_limits(conn, &consumer.consumer_id, &limits)?;
        record(
            conn,
            now,
            "consumer.call_limits_changed",
            Some(&caller.user.user_id),
            serde_json::json!({
                "consumer_id": consumer.consumer_id, "limits": limits.limits(),
            }),
        )?;
        Ok(())
    })?;
    Ok(limits)
}
