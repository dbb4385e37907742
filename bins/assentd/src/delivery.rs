//! Delivery of one-time codes: a port ([`CodeSender`]) and its adapters.
//!
//! - `log`: says that a code was sent (destination masked); the code itself only when
//!   `dev_mode` is on. The development default.
//! - `file:PATH`: appends one JSON line per message (`channel`, `destination`, `purpose`,
//!   `challenge_id`, `code`, `created_at`). Codes in clear text: for development and tests.
//! - `smtp://...` / `smtps://...`: email through an SMTP relay (lettre), for the email channel.
//! - `webhook:https://...`: a JSON POST to an SMS/voice gateway; any channel.
//!
//! `otp_delivery` serves every channel; `otp_phone_delivery`, when set, serves SMS and voice
//! instead (say, email through SMTP and text messages through a gateway).

use crate::config::{Config, ConfigError};
use assent_otp::challenge::OneTimeCode;
use assent_otp::masking::{mask_email, mask_phone};
use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde::Serialize;
use std::future::Future;
use std::io::Write;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration as StdDuration;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

/// How long an SMTP relay or a gateway may take before the delivery counts as failed.
const SEND_TIMEOUT: StdDuration = StdDuration::from_secs(10);

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
    /// Delivers one code; `Ok` once the transport accepted it.
    fn send<'a>(&'a self, message: &'a OutgoingCode<'a>) -> SendFuture<'a>;
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

    fn send<'a>(&'a self, message: &'a OutgoingCode<'a>) -> SendFuture<'a> {
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

    fn send<'a>(&'a self, message: &'a OutgoingCode<'a>) -> SendFuture<'a> {
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

    fn send<'a>(&'a self, message: &'a OutgoingCode<'a>) -> SendFuture<'a> {
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
            let email = lettre::Message::builder()
                .from(self.from.clone())
                .to(to)
                .subject("Your security code")
                .header(ContentType::TEXT_PLAIN)
                .body(message.text())
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

/// A JSON POST (the `file` adapter's line, plus `text`) to an SMS or voice gateway.
pub struct WebhookSender {
    client: reqwest::Client,
    url: String,
}

impl WebhookSender {
    pub fn new(url: &str) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(SEND_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("otp delivery webhook client: {e}"))?;
        Ok(Self {
            client,
            url: url.to_owned(),
        })
    }
}

impl CodeSender for WebhookSender {
    fn name(&self) -> &'static str {
        "webhook"
    }

    fn send<'a>(&'a self, message: &'a OutgoingCode<'a>) -> SendFuture<'a> {
        Box::pin(async move {
            #[derive(Serialize)]
            struct Body<'b> {
                #[serde(flatten)]
                record: Record<'b>,
                text: String,
            }
            let body = Body {
                record: message.record(),
                text: message.text(),
            };
            let response = self
                .client
                .post(&self.url)
                .json(&body)
                .send()
                .await
                .map_err(|e| DeliveryError::Failed(format!("webhook: {}", e.without_url())))?;
            if response.status().is_success() {
                Ok(())
            } else {
                Err(DeliveryError::Failed(format!(
                    "webhook answered {}",
                    response.status()
                )))
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
        return WebhookSender::new(url)
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

    /// Sends through the adapter that serves the message's channel.
    pub async fn send(&self, message: &OutgoingCode<'_>) -> Result<(), DeliveryError> {
        self.sender(message.channel).send(message).await
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
                .send(&message(&code)),
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
                LogSender { reveal_codes: true }.send(&message(&code)),
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
            let sent = futures_util::FutureExt::now_or_never(sender.send(&message(&code)));
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
        let failed = futures_util::FutureExt::now_or_never(unwritable.send(&message(&code)));
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
                WebhookSender::new("http://127.0.0.1:9/sms").unwrap(),
            )),
        );
        assert!(both.serves(Channel::Sms) && both.serves(Channel::Email));
    }
}
