//! Delivery of one-time codes: a port ([`CodeSender`]) and its adapters.
//!
//! - `log`: says that a code was sent (destination masked); the code itself only when
//!   `dev_mode` is on. The development default.
//! - `file:PATH`: appends one JSON line per message (`channel`, `destination`, `purpose`,
//!   `challenge_id`, `code`, `created_at`). Codes in clear text: for development and tests.
//! - `smtp://...` / `smtps://...`: email through an SMTP relay (lettre), for the email channel.
//! - `webhook:https://...`: a JSON POST to an SMS/voice gateway, any channel, signed as the
//!   Standard Webhooks specification says and retried a few times on transient failures.
//!
//! `otp_delivery` serves every channel; `otp_phone_delivery`, when set, serves SMS and voice
//! instead (say, email through SMTP and text messages through a gateway).

use crate::clock::Clock;
use crate::config::{Config, ConfigError};
use assent_identity::secret::SecretString;
use assent_otp::challenge::OneTimeCode;
use assent_otp::masking::{mask_email, mask_phone};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use lettre::message::{Mailbox, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde::Serialize;
use sha2::Sha256;
use std::future::Future;
use std::io::Write;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration as StdDuration;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

/// How long an SMTP relay may take before the delivery counts as failed.
const SEND_TIMEOUT: StdDuration = StdDuration::from_secs(10);

/// How long one webhook attempt may take. Shorter than the relay's: a customer waits for the
/// whole of [`WEBHOOK_RETRIES`], and a gateway that has not answered in five seconds is not
/// going to deliver a five-minute code in time.
const WEBHOOK_ATTEMPT_TIMEOUT: StdDuration = StdDuration::from_secs(5);

/// The webhook's retries: three attempts, waiting about half a second, then a second.
pub const WEBHOOK_RETRIES: Retries = Retries {
    attempts: 3,
    first_wait: StdDuration::from_millis(500),
};

/// The `User-Agent` of webhook requests.
const USER_AGENT: &str = concat!("assentd/", env!("CARGO_PKG_VERSION"));

/// Where a code goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Sms,
    Email,
    Voice,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Email => "email",
            Channel::Voice => "voice",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "sms" => Some(Channel::Sms),
            "email" => Some(Channel::Email),
            "voice" => Some(Channel::Voice),
            _ => None,
        }
    }

    /// The destination as a customer may be shown it.
    pub fn mask(self, destination: &str) -> String {
        let masked = match self {
            Channel::Email => mask_email(destination),
            Channel::Sms | Channel::Voice => mask_phone(destination),
        };
        masked.unwrap_or_else(|_| "XXXX".to_owned())
    }
}

/// One code to deliver.
#[derive(Debug)]
pub struct OutgoingCode<'a> {
    pub channel: Channel,
    pub destination: &'a str,
    /// What the code confirms (the challenge's purpose).
    pub purpose: &'a str,
    pub challenge_id: Uuid,
    pub code: &'a OneTimeCode,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

impl OutgoingCode<'_> {
    /// The message a person reads.
    fn text(&self) -> String {
        let minutes = (self.expires_at - self.created_at).whole_minutes().max(1);
        format!(
            "Your security code is {}. It expires in {minutes} minutes. Never share it: we will never ask you for it.",
            self.code.expose()
        )
    }

    fn record(&self) -> Record<'_> {
        Record {
            channel: self.channel,
            destination: self.destination,
            purpose: self.purpose,
            challenge_id: self.challenge_id.to_string(),
            code: self.code.expose(),
            created_at: self
                .created_at
                .format(&Rfc3339)
                .unwrap_or_else(|_| self.created_at.unix_timestamp().to_string()),
        }
    }
}

/// The JSON of the `file` adapter's lines and of the webhook's requests.
#[derive(Serialize)]
struct Record<'a> {
    channel: Channel,
    destination: &'a str,
    purpose: &'a str,
    challenge_id: String,
    code: &'a str,
    created_at: String,
}

/// Why a code was not delivered. The text goes to the log; callers get a generic error.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("the {adapter} delivery does not serve the {channel} channel")]
    Unsupported {
        adapter: &'static str,
        channel: &'static str,
    },
    #[error("{0}")]
    Failed(String),
}

/// A future that stays on the worker that made it (actix workers are single-threaded).
pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<(), DeliveryError>> + 'a>>;

/// The port: something that gets a code to a person.
pub trait CodeSender: Send + Sync {
    /// The adapter's name, for logs and errors.
    fn name(&self) -> &'static str;
    /// Delivers one code; `Ok` once the transport accepted it. `clock` is the server's, for
    /// what an adapter stamps at the time it sends (a webhook attempt's timestamp).
    fn send<'a>(&'a self, message: &'a OutgoingCode<'a>, clock: &'a Clock) -> SendFuture<'a>;
    /// Whether it can deliver on `channel` at all.
    fn serves(&self, _channel: Channel) -> bool {
        true
    }
}

/// Logs that a code was sent; the code too only in development mode.
pub struct LogSender {
    pub reveal_codes: bool,
}

impl CodeSender for LogSender {
    fn name(&self) -> &'static str {
        "log"
    }

    fn send<'a>(&'a self, message: &'a OutgoingCode<'a>, _clock: &'a Clock) -> SendFuture<'a> {
        let destination = message.channel.mask(message.destination);
        if self.reveal_codes {
            tracing::warn!(
                channel = message.channel.as_str(),
                %destination,
                purpose = message.purpose,
                challenge_id = %message.challenge_id,
                code = message.code.expose(),
                "one-time code (development mode: shown in clear)"
            );
        } else {
            tracing::info!(
                channel = message.channel.as_str(),
                %destination,
                purpose = message.purpose,
                challenge_id = %message.challenge_id,
                "one-time code sent"
            );
        }
        Box::pin(std::future::ready(Ok(())))
    }
}

/// Appends one JSON line per message to a file (created with owner-only permissions).
pub struct FileSender {
    path: PathBuf,
    // One writer at a time, so lines never interleave.
    lock: std::sync::Mutex<()>,
}

impl FileSender {
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            lock: std::sync::Mutex::new(()),
        }
    }

    fn append(&self, line: &[u8]) -> std::io::Result<()> {
        let _guard = self
            .lock
            .lock()
            .map_err(|_| std::io::Error::other("file delivery lock poisoned"))?;
        let mut options = std::fs::OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&self.path)?;
        file.write_all(line)?;
        file.flush()
    }
}

impl CodeSender for FileSender {
    fn name(&self) -> &'static str {
        "file"
    }

    fn send<'a>(&'a self, message: &'a OutgoingCode<'a>, _clock: &'a Clock) -> SendFuture<'a> {
        let result = serde_json::to_vec(&message.record())
            .map_err(|e| DeliveryError::Failed(e.to_string()))
            .and_then(|mut line| {
                line.push(b'\n');
                self.append(&line)
                    .map_err(|e| DeliveryError::Failed(format!("{}: {e}", self.path.display())))
            });
        Box::pin(std::future::ready(result))
    }
}

/// Email through an SMTP relay.
pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

/// How codes reach an SMTP relay, read from its URL the way lettre reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// TLS from the start (`smtps://`) or STARTTLS required (`?tls=required`).
    Tls,
    /// STARTTLS when the relay offers it, else in plain text (`?tls=opportunistic`).
    TlsIfOffered,
    /// Plain text (`smtp://` alone).
    Plain,
}

impl SmtpSecurity {
    /// The security of an `smtp://` or `smtps://` URL, and the relay's host (never the
    /// credentials); `None` for any other spec.
    pub fn of(spec: &str) -> Option<(Self, String)> {
        let url = reqwest::Url::parse(spec).ok()?;
        let tls = url
            .query_pairs()
            .find(|(key, _)| key == "tls")
            .map(|(_, value)| value.into_owned());
        let security = match (url.scheme(), tls.as_deref()) {
            ("smtps", _) | ("smtp", Some("required")) => SmtpSecurity::Tls,
            ("smtp", Some("opportunistic")) => SmtpSecurity::TlsIfOffered,
            ("smtp", _) => SmtpSecurity::Plain,
            _ => return None,
        };
        Some((security, url.host_str().unwrap_or_default().to_owned()))
    }
}

/// Whether `host` (a URL's host: a name, an IPv4 address or a bracketed IPv6 one) is this
/// machine: traffic to it never crosses a network.
pub fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

/// Why a delivery spec would carry codes across a network unencrypted, for the warning at
/// start: an SMTP relay without required TLS, or a webhook over plain HTTP, to a host other
/// than this machine. `None` when codes go encrypted or stay on this machine. The text names
/// the host only, never credentials the spec may hold.
pub fn unencrypted_transport(spec: &str) -> Option<String> {
    if let Some((security, host)) = SmtpSecurity::of(spec) {
        if is_loopback_host(&host) {
            return None;
        }
        return match security {
            SmtpSecurity::Tls => None,
            SmtpSecurity::TlsIfOffered => Some(format!(
                "one-time codes go to the SMTP relay {host} in plain text unless it offers STARTTLS (tls=opportunistic): use smtps:// or ?tls=required"
            )),
            SmtpSecurity::Plain => Some(format!(
                "one-time codes go to the SMTP relay {host} in plain text (no TLS): use smtps:// or ?tls=required"
            )),
        };
    }
    let url = reqwest::Url::parse(spec.strip_prefix("webhook:")?).ok()?;
    let host = url.host_str().unwrap_or_default();
    (url.scheme() == "http" && !is_loopback_host(host)).then(|| {
        format!("one-time codes go to the webhook at {host} over plain HTTP: use https://")
    })
}

impl SmtpSender {
    /// `url` as lettre reads it: `smtp://host:port` (plain; add `?tls=required` for STARTTLS)
    /// or `smtps://user:password@host:port` (TLS from the start).
    pub fn new(url: &str, from: &str) -> Result<Self, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("otp delivery SMTP URL: {e}"))?
            .timeout(Some(SEND_TIMEOUT))
            .build();
        let from = from
            .parse()
            .map_err(|e| format!("otp_email_from {from:?}: {e}"))?;
        Ok(Self { transport, from })
    }
}

impl CodeSender for SmtpSender {
    fn name(&self) -> &'static str {
        "smtp"
    }

    fn serves(&self, channel: Channel) -> bool {
        channel == Channel::Email
    }

    fn send<'a>(&'a self, message: &'a OutgoingCode<'a>, _clock: &'a Clock) -> SendFuture<'a> {
        Box::pin(async move {
            if message.channel != Channel::Email {
                return Err(DeliveryError::Unsupported {
                    adapter: "smtp",
                    channel: message.channel.as_str(),
                });
            }
            let to: Mailbox = message
                .destination
                .parse()
                .map_err(|e| DeliveryError::Failed(format!("recipient: {e}")))?;
            // Message-ID, Date and MIME-Version, which relays and spam filters expect of
            // every message (RFC 5322 section 3.6, RFC 2045): the id is unique per message
            // (a resend is another message) under the sender's domain, and the date is the
            // time the code was issued by the server's clock.
            let message_id = format!("<{}@{}>", Uuid::new_v4().simple(), self.from.email.domain());
            let email = lettre::Message::builder()
                .from(self.from.clone())
                .to(to)
                .subject("Your security code")
                .message_id(Some(message_id))
                .date(std::time::SystemTime::from(message.created_at))
                .singlepart(SinglePart::plain(message.text()))
                .map_err(|e| DeliveryError::Failed(e.to_string()))?;
            self.transport.send(email).await.map(|_| ()).map_err(|e| {
                // A relay's refusal often quotes the recipient; the log gets it masked.
                let reason = without_address(&e.to_string(), message.destination);
                DeliveryError::Failed(format!("SMTP: {reason}"))
            })
        })
    }
}

/// `text` with every occurrence of `address` (in any letter case) replaced by its masked form.
fn without_address(text: &str, address: &str) -> String {
    if address.is_empty() {
        return text.to_owned();
    }
    let masked = assent_otp::masking::mask_email(address).unwrap_or_else(|_| "<recipient>".into());
    let (haystack, needle) = (text.to_ascii_lowercase(), address.to_ascii_lowercase());
    let mut out = String::with_capacity(text.len());
    let mut rest = 0;
    for (at, _) in haystack.match_indices(&needle) {
        out.push_str(&text[rest..at]);
        out.push_str(&masked);
        rest = at + needle.len();
    }
    out.push_str(&text[rest..]);
    out
}

/// The key that signs webhook requests, as the Standard Webhooks specification serialises
/// it: `whsec_` and the base64 of 24 to 64 random bytes. `Debug` never shows it.
#[derive(Clone)]
pub struct WebhookSecret(Vec<u8>);

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

impl WebhookSecret {
    /// Reads a `whsec_…` secret. The message says what is wrong, never what was given.
    pub fn parse(text: &str) -> Result<Self, String> {
        const FORM: &str = "whsec_ followed by the base64 of 24 to 64 random bytes, e.g. whsec_$(openssl rand -base64 32)";
        let encoded = text
            .trim()
            .strip_prefix("whsec_")
            .ok_or_else(|| format!("otp_webhook_secret must be {FORM}"))?;
        let key = BASE64.decode(encoded).map_err(|_| {
            format!("otp_webhook_secret: not valid base64 after whsec_; use {FORM}")
        })?;
        if !(24..=64).contains(&key.len()) {
            return Err(format!(
                "otp_webhook_secret holds {} bytes; use {FORM}",
                key.len()
            ));
        }
        Ok(Self(key))
    }

    /// The `webhook-signature` value of a request: `v1,` and the base64 of HMAC-SHA256 over
    /// `id.timestamp.body`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        // HMAC takes a key of any length; the secret's length is checked when it is read.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()))
    }
}

/// How often a delivery is tried: `attempts` in all, waiting `first_wait` (plus up to a fifth
/// more, so that the retries of many requests do not arrive together) before the second and
/// twice as long before each next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retries {
    pub attempts: u32,
    pub first_wait: StdDuration,
}

impl Retries {
    /// The wait before attempt `attempt + 1` (attempts count from 1).
    fn wait_after(self, attempt: u32) -> StdDuration {
        let wait = self
            .first_wait
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
        let jitter_ms = u64::try_from(wait.as_millis() / 5).unwrap_or(0);
        wait + StdDuration::from_millis(rand::random_range(0..=jitter_ms))
    }
}

/// One failed webhook attempt: whether another may succeed, and what happened (for the log).
struct FailedAttempt {
    transient: bool,
    reason: String,
}

/// A JSON POST (the `file` adapter's line, plus `text`) to an SMS or voice gateway, as the
/// Standard Webhooks specification describes: `webhook-id` (one per message, the same on every
/// attempt, so the gateway can drop a repeat), `webhook-timestamp` (the attempt's time by the
/// server's clock) and `webhook-signature`. A 5xx answer, a refused or broken connection and
/// a timeout are tried again as [`Retries`] says; any other answer than 2xx fails at once
/// (redirects are not followed). Credentials in the URL (`https://user:password@host/...`)
/// go as an `Authorization: Basic` header, never in the request line.
pub struct WebhookSender {
    client: reqwest::Client,
    /// The URL without its credentials.
    url: reqwest::Url,
    credentials: Option<(String, SecretString)>,
    secret: WebhookSecret,
    retries: Retries,
}

impl WebhookSender {
    pub fn new(url: &str, secret: WebhookSecret, retries: Retries) -> Result<Self, String> {
        let mut url = reqwest::Url::parse(url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
            .ok_or_else(|| "otp delivery webhook: not an http(s) URL with a host".to_owned())?;
        let decode = |text: &str| {
            percent_encoding::percent_decode_str(text)
                .decode_utf8()
                .map(|t| t.into_owned())
                .map_err(|_| "otp delivery webhook: credentials are not UTF-8".to_owned())
        };
        let credentials = if url.username().is_empty() && url.password().is_none() {
            None
        } else {
            let user = decode(url.username())?;
            let password = decode(url.password().unwrap_or_default())?;
            // Neither can fail on an http(s) URL with a host (checked above).
            let _ = url.set_username("");
            let _ = url.set_password(None);
            Some((user, SecretString::new(password)))
        };
        let client = reqwest::Client::builder()
            .timeout(WEBHOOK_ATTEMPT_TIMEOUT)
            .user_agent(USER_AGENT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("otp delivery webhook client: {e}"))?;
        Ok(Self {
            client,
            url,
            credentials,
            secret,
            retries,
        })
    }

    /// One POST of `body`, signed at the clock's current time.
    async fn attempt(&self, id: &str, body: &[u8], clock: &Clock) -> Result<(), FailedAttempt> {
        let timestamp = clock.now().unix_timestamp();
        let mut request = self
            .client
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp)
            .header("webhook-signature", self.secret.sign(id, timestamp, body))
            .body(body.to_vec());
        if let Some((user, password)) = &self.credentials {
            request = request.basic_auth(user, Some(password.expose()));
        }
        match request.send().await {
            Ok(response) if response.status().is_success() => Ok(()),
            Ok(response) => Err(FailedAttempt {
                transient: response.status().is_server_error(),
                reason: format!("answered {}", response.status()),
            }),
            // Refused, reset or timed out: the gateway may take it next time. Idempotency
            // rests on `webhook-id`, so a request that did arrive is not acted on twice.
            Err(error) => Err(FailedAttempt {
                transient: !error.is_builder(),
                reason: error.without_url().to_string(),
            }),
        }
    }
}

impl CodeSender for WebhookSender {
    fn name(&self) -> &'static str {
        "webhook"
    }

    fn send<'a>(&'a self, message: &'a OutgoingCode<'a>, clock: &'a Clock) -> SendFuture<'a> {
        Box::pin(async move {
            #[derive(Serialize)]
            struct Body<'b> {
                #[serde(flatten)]
                record: Record<'b>,
                text: String,
            }
            // The bytes signed are the bytes sent.
            let body = serde_json::to_vec(&Body {
                record: message.record(),
                text: message.text(),
            })
            .map_err(|e| DeliveryError::Failed(format!("webhook body: {e}")))?;
            let id = format!("msg_{}", Uuid::new_v4().simple());
            let attempts = self.retries.attempts.max(1);
            let mut attempt = 1;
            loop {
                let failed = match self.attempt(&id, &body, clock).await {
                    Ok(()) => return Ok(()),
                    Err(failed) => failed,
                };
                if !failed.transient || attempt == attempts {
                    return Err(DeliveryError::Failed(format!(
                        "webhook: attempt {attempt} of {attempts} {}",
                        failed.reason
                    )));
                }
                let wait = self.retries.wait_after(attempt);
                tracing::warn!(
                    attempt,
                    attempts,
                    reason = %failed.reason,
                    wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    challenge_id = %message.challenge_id,
                    "webhook delivery failed; trying again"
                );
                actix_web::rt::time::sleep(wait).await;
                attempt += 1;
            }
        })
    }
}

/// The configured adapters, chosen per channel.
pub struct Delivery {
    default: Box<dyn CodeSender>,
    phone: Option<Box<dyn CodeSender>>,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("default", &self.default.name())
            .field("phone", &self.phone.as_ref().map(|s| s.name()))
            .finish()
    }
}

/// Whether `spec` names an adapter (checked at start, before anything is built).
pub fn is_valid_spec(spec: &str) -> bool {
    spec == "log"
        || spec.strip_prefix("file:").is_some_and(|p| !p.is_empty())
        || spec.starts_with("smtp://")
        || spec.starts_with("smtps://")
        || spec
            .strip_prefix("webhook:")
            .is_some_and(|u| u.starts_with("https://") || u.starts_with("http://"))
}

/// Whether `spec` writes codes in clear text somewhere other than the customer's device.
pub fn is_cleartext_spec(spec: &str, dev_mode: bool) -> bool {
    (spec == "log" && dev_mode) || spec.starts_with("file:")
}

fn build_sender(spec: &str, config: &Config) -> Result<Box<dyn CodeSender>, ConfigError> {
    if spec == "log" {
        return Ok(Box::new(LogSender {
            reveal_codes: config.dev_mode,
        }));
    }
    if let Some(path) = spec.strip_prefix("file:") {
        return Ok(Box::new(FileSender::new(PathBuf::from(path))));
    }
    if spec.starts_with("smtp://") || spec.starts_with("smtps://") {
        return SmtpSender::new(spec, &config.otp_email_from)
            .map(|s| Box::new(s) as Box<dyn CodeSender>)
            .map_err(ConfigError);
    }
    if let Some(url) = spec.strip_prefix("webhook:") {
        let secret = config.otp_webhook_secret()?.ok_or_else(|| {
            ConfigError(
                "a webhook delivery needs otp_webhook_secret, the key its requests are signed with"
                    .into(),
            )
        })?;
        return WebhookSender::new(url, secret, WEBHOOK_RETRIES)
            .map(|s| Box::new(s) as Box<dyn CodeSender>)
            .map_err(ConfigError);
    }
    Err(ConfigError(format!(
        "otp delivery {spec:?}: unknown adapter"
    )))
}

impl Delivery {
    pub fn from_config(config: &Config) -> Result<Self, ConfigError> {
        Ok(Self {
            default: build_sender(&config.otp_delivery, config)?,
            phone: config
                .otp_phone_delivery
                .as_deref()
                .map(|spec| build_sender(spec, config))
                .transpose()?,
        })
    }

    /// A delivery through the given adapters (embedders and tests).
    pub fn new(default: Box<dyn CodeSender>, phone: Option<Box<dyn CodeSender>>) -> Self {
        Self { default, phone }
    }

    fn sender(&self, channel: Channel) -> &dyn CodeSender {
        match (channel, &self.phone) {
            (Channel::Sms | Channel::Voice, Some(phone)) => phone.as_ref(),
            _ => self.default.as_ref(),
        }
    }

    /// Sends through the adapter that serves the message's channel; `clock` is the server's.
    pub async fn send(
        &self,
        message: &OutgoingCode<'_>,
        clock: &Clock,
    ) -> Result<(), DeliveryError> {
        self.sender(message.channel).send(message, clock).await
    }

    /// Whether codes can go out on `channel` (an SMTP relay carries no text messages).
    pub fn serves(&self, channel: Channel) -> bool {
        self.sender(channel).serves(channel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn smtp_refusals_reach_the_log_without_the_recipient() {
        let reason = "permanent error (550): 5.1.1 <Sowmya.R@Example.com>: Recipient \
                      address rejected; sowmya.r@example.com unknown";
        let cleaned = without_address(reason, "sowmya.r@example.com");
        assert!(
            !cleaned.to_ascii_lowercase().contains("sowmya.r@"),
            "{cleaned}"
        );
        assert_eq!(
            cleaned.matches("sowXXXXX@example.com").count(),
            2,
            "{cleaned}"
        );
        assert!(cleaned.starts_with("permanent error (550): 5.1.1 <"));
        assert_eq!(without_address("timed out", "a@example.com"), "timed out");
    }

    /// Log lines written while `f` runs.
    fn logs_of(f: impl FnOnce()) -> String {
        #[derive(Clone, Default)]
        struct Buffer(Arc<Mutex<Vec<u8>>>);
        impl Write for Buffer {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer::default();
        let sink = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || sink.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, f);
        String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap()
    }

    fn message(code: &OneTimeCode) -> OutgoingCode<'_> {
        let at = time::macros::datetime!(2026-12-01 10:00 UTC);
        OutgoingCode {
            channel: Channel::Sms,
            destination: "+447700900123",
            purpose: "test",
            challenge_id: Uuid::nil(),
            code,
            created_at: at,
            expires_at: at + time::Duration::minutes(5),
        }
    }

    fn code() -> OneTimeCode {
        let hasher = assent_otp::challenge::CodeHasher::new(&[1u8; 32]).unwrap();
        let (_, code) = assent_otp::challenge::Challenge::issue(
            "test",
            Default::default(),
            time::macros::datetime!(2026-12-01 10:00 UTC),
            &mut rand::rng(),
            &hasher,
        );
        code
    }

    #[test]
    fn the_log_delivery_shows_the_code_only_in_development_mode() {
        let code = code();
        let quiet = logs_of(|| {
            let sent = futures_util::FutureExt::now_or_never(
                LogSender {
                    reveal_codes: false,
                }
                .send(&message(&code), &Clock::system()),
            );
            assert!(matches!(sent, Some(Ok(()))));
        });
        assert!(quiet.contains("one-time code sent"), "{quiet}");
        assert!(quiet.contains("+44XXXXXXXX23"), "{quiet}");
        assert!(
            !quiet.contains(code.expose()) && !quiet.contains("7700900123"),
            "{quiet}"
        );
        let loud = logs_of(|| {
            let _ = futures_util::FutureExt::now_or_never(
                LogSender { reveal_codes: true }.send(&message(&code), &Clock::system()),
            );
        });
        assert!(loud.contains(code.expose()), "{loud}");
    }

    #[test]
    fn the_file_delivery_writes_one_private_json_line_per_message() {
        let dir = std::env::temp_dir().join(format!("assent-delivery-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("codes.jsonl");
        let sender = FileSender::new(path.clone());
        let code = code();
        for _ in 0..2 {
            let sent = futures_util::FutureExt::now_or_never(
                sender.send(&message(&code), &Clock::system()),
            );
            assert!(matches!(sent, Some(Ok(()))));
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            lines[0],
            serde_json::json!({
                "channel": "sms",
                "destination": "+447700900123",
                "purpose": "test",
                "challenge_id": Uuid::nil().to_string(),
                "code": code.expose(),
                "created_at": "2026-12-01T10:00:00Z",
            })
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let unwritable = FileSender::new(dir.join("missing").join("codes.jsonl"));
        let failed = futures_util::FutureExt::now_or_never(
            unwritable.send(&message(&code), &Clock::system()),
        );
        assert!(matches!(failed, Some(Err(DeliveryError::Failed(_)))));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn adapters_are_chosen_by_spec_and_channel() {
        assert!(is_valid_spec("log"));
        assert!(is_valid_spec("file:/tmp/x"));
        assert!(is_valid_spec("smtp://relay:25"));
        assert!(is_valid_spec("webhook:https://sms.example/send"));
        for bad in ["", "file:", "webhook:ftp://x", "sms", "smtp:relay"] {
            assert!(!is_valid_spec(bad), "{bad}");
        }
        assert!(is_cleartext_spec("file:/x", false));
        assert!(!is_cleartext_spec("log", false));
        assert!(is_cleartext_spec("log", true));
        assert_eq!(
            Channel::Email.mask("sowmya@example.com"),
            "sowXXX@example.com"
        );
        assert_eq!(Channel::Sms.mask("not a phone"), "XXXX");
        let smtp = SmtpSender::new("smtp://127.0.0.1:2525", "Assent <a@b.example>").unwrap();
        let email_only = Delivery::new(Box::new(smtp), None);
        assert!(email_only.serves(Channel::Email));
        assert!(!email_only.serves(Channel::Sms) && !email_only.serves(Channel::Voice));
        let smtp = SmtpSender::new("smtp://127.0.0.1:2525", "Assent <a@b.example>").unwrap();
        let both = Delivery::new(
            Box::new(smtp),
            Some(Box::new(
                WebhookSender::new("http://127.0.0.1:9/sms", secret(), WEBHOOK_RETRIES).unwrap(),
            )),
        );
        assert!(both.serves(Channel::Sms) && both.serves(Channel::Email));
        for bad in [
            "ftp://gateway/sms",
            "https://",
            "not a url",
            "file:///tmp/x",
        ] {
            assert!(
                WebhookSender::new(bad, secret(), WEBHOOK_RETRIES).is_err(),
                "{bad}"
            );
        }
    }

    fn secret() -> WebhookSecret {
        WebhookSecret::parse(&format!("whsec_{}", BASE64.encode([9u8; 32]))).unwrap()
    }

    #[test]
    fn webhook_credentials_leave_the_url_for_a_basic_header() {
        let sender = WebhookSender::new(
            "https://sms%2Bgw:p%40ss:w0rd@gateway.example:8443/send?route=eu",
            secret(),
            WEBHOOK_RETRIES,
        )
        .unwrap();
        assert_eq!(
            sender.url.as_str(),
            "https://gateway.example:8443/send?route=eu"
        );
        let (user, password) = sender.credentials.as_ref().unwrap();
        assert_eq!((user.as_str(), password.expose()), ("sms+gw", "p@ss:w0rd"));
        let plain =
            WebhookSender::new("https://gateway.example/send", secret(), WEBHOOK_RETRIES).unwrap();
        assert!(plain.credentials.is_none());
    }

    #[test]
    fn the_signature_covers_id_timestamp_and_body() {
        let secret = secret();
        let signature = secret.sign("msg_1", 1_700_000_000, b"{}");
        assert!(signature.starts_with("v1,"), "{signature}");
        assert_eq!(BASE64.decode(&signature[3..]).unwrap().len(), 32);
        assert_eq!(signature, secret.sign("msg_1", 1_700_000_000, b"{}"));
        for other in [
            secret.sign("msg_2", 1_700_000_000, b"{}"),
            secret.sign("msg_1", 1_700_000_001, b"{}"),
            secret.sign("msg_1", 1_700_000_000, b"{ }"),
        ] {
            assert_ne!(signature, other);
        }
        assert_eq!(format!("{secret:?}"), "WebhookSecret(<redacted>)");
    }

    #[test]
    fn retries_wait_longer_each_time_within_a_fifth_of_jitter() {
        for _ in 0..20 {
            let first = WEBHOOK_RETRIES.wait_after(1).as_millis();
            let second = WEBHOOK_RETRIES.wait_after(2).as_millis();
            assert!((500..=600).contains(&first), "{first}");
            assert!((1000..=1200).contains(&second), "{second}");
        }
    }

    #[test]
    fn codes_crossing_a_network_unencrypted_are_named_by_host_only() {
        let warned = |spec: &str| unencrypted_transport(spec);
        let plain = warned("smtp://mailer:s3cret@relay.example:25").unwrap();
        assert!(
            plain.contains("relay.example") && plain.contains("plain text"),
            "{plain}"
        );
        assert!(
            !plain.contains("s3cret") && !plain.contains("mailer"),
            "{plain}"
        );
        assert!(
            warned("smtp://relay.example:587?tls=opportunistic")
                .unwrap()
                .contains("unless it offers STARTTLS")
        );
        assert!(
            warned("http://sms.example/send").is_none(),
            "not a delivery spec"
        );
        assert!(
            warned("webhook:http://sms.example/send")
                .unwrap()
                .contains("plain HTTP")
        );
        for quiet in [
            "smtps://user:pass@relay.example",
            "smtp://relay.example:587?tls=required",
            "smtp://127.0.0.1:2525",
            "smtp://localhost:25",
            "smtp://[::1]:25",
            "webhook:https://sms.example/send",
            "webhook:http://127.0.0.1:9000/sms",
            "log",
            "file:/tmp/codes.jsonl",
        ] {
            assert_eq!(warned(quiet), None, "{quiet}");
        }
    }
}
