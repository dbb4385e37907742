//! Configuration: defaults < optional TOML file (`--config`) < `ASSENT_*` environment.
//! Every setting is listed in `docs/configuration.md`.

use assent_identity::password::{Argon2Params, PasswordHasher};
use assent_identity::secret::SecretString;
use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// SQLite durability (see `assent_repository::SqliteSynchronous`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SqliteSync {
    /// Durable on power loss (default).
    Full,
    /// Durable on process crash only; faster.
    Normal,
}

/// Every setting, with its default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub database_url: String,
    pub listen: String,
    pub data_dir: PathBuf,
    pub otp_delivery: String,
    pub otp_phone_delivery: Option<String>,
    pub otp_email_from: String,
    /// The Standard Webhooks key (`whsec_…`) webhook deliveries are signed with. Never
    /// serialised; `Debug` redacts it.
    #[serde(skip_serializing)]
    pub otp_webhook_secret: Option<SecretString>,
    pub otp_code_length: usize,
    pub otp_validity_secs: u64,
    pub otp_max_failures: u32,
    pub otp_max_resends: u32,
    pub otp_resend_cooldown_secs: u64,
    pub otp_codes_per_destination_per_day: u32,
    pub otp_prelogin_requests_per_client_per_hour: u32,
    pub signups_per_client_per_hour: u32,
    pub contact_verification_codes_per_day: u32,
    pub otp_step_up_failures_per_user_per_day: u32,
    pub dev_mode: bool,
    pub totp_issuer: String,
    pub institution_id: String,
    pub session_reauthentication_interval_secs: u64,
    pub session_retention_days: u64,
    pub housekeeping_interval_secs: u64,
    pub session_idle_timeout_secs: u64,
    pub session_absolute_lifetime_secs: u64,
    pub max_bad_login_attempts: u32,
    pub consents_max_time_to_live_secs: u64,
    pub log_format: LogFormat,
    pub log_level: String,
    pub provider: String,
    /// Who runs this server, as Get API Info shows it (`hosted_by`); empty when not said.
    pub hosted_by_organisation: String,
    pub hosted_by_email: String,
    pub hosted_by_phone: String,
    pub hosted_by_website: String,
    pub signing_key_file: Option<PathBuf>,
    /// Where replicas count consumers' calls together (`redis://...`); none: in this process.
    pub rate_limit_url: Option<String>,
    /// How often each replica reads the signing-key ring again.
    pub signing_key_refresh_secs: u64,
    /// How long clients may cache the JWKS (`Cache-Control: max-age`).
    pub jwks_max_age_secs: u64,
    pub pepper_file: Option<PathBuf>,
    pub max_body_bytes: usize,
    pub workers: usize,
    pub db_pool_size: u32,
    pub blocking_threads: usize,
    pub cpu_scheduling: crate::scheduling::CpuScheduling,
    pub sqlite_synchronous: SqliteSync,
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub max_concurrent_password_hashes: usize,
    pub shutdown_timeout_secs: u64,
    pub dauth_enabled: bool,
    pub dauth_public_key_file: Option<PathBuf>,
    pub dauth_allowed_hosts: Vec<String>,
    /// Proxies whose `X-Forwarded-For` is believed (addresses or CIDR networks).
    pub trusted_proxies: Vec<String>,
    pub dauth_timestamp_window_secs: u64,
    /// Whether `/docs` serves the API explorer.
    pub api_explorer: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: "sqlite://./data/assent.db".into(),
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./data"),
            otp_delivery: "log".into(),
            otp_phone_delivery: None,
            otp_email_from: "Assent <no-reply@localhost>".into(),
            otp_webhook_secret: None,
            otp_code_length: 6,
            otp_validity_secs: 300,
            otp_max_failures: 5,
            otp_max_resends: 3,
            otp_resend_cooldown_secs: 30,
            otp_codes_per_destination_per_day: 10,
            otp_prelogin_requests_per_client_per_hour: 20,
            signups_per_client_per_hour: 10,
            contact_verification_codes_per_day: 5,
            otp_step_up_failures_per_user_per_day: 10,
            dev_mode: false,
            totp_issuer: "Assent".into(),
            institution_id: "ASSENT".into(),
            session_reauthentication_interval_secs: 43_200,
            session_retention_days: 30,
            housekeeping_interval_secs: 3_600,
            session_idle_timeout_secs: 300,
            session_absolute_lifetime_secs: 43_200,
            max_bad_login_attempts: 5,
            consents_max_time_to_live_secs: 3_600,
            log_format: LogFormat::Text,
            log_level: "info".into(),
            provider: "http://127.0.0.1:8080".into(),
            hosted_by_organisation: String::new(),
            hosted_by_email: String::new(),
            hosted_by_phone: String::new(),
            hosted_by_website: String::new(),
            signing_key_file: None,
            rate_limit_url: None,
            signing_key_refresh_secs: 30,
            jwks_max_age_secs: 300,
            pepper_file: None,
            max_body_bytes: 64 * 1024,
            workers: 0,
            db_pool_size: 16,
            blocking_threads: 0,
            cpu_scheduling: crate::scheduling::CpuScheduling::Batch,
            sqlite_synchronous: SqliteSync::Full,
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
            max_concurrent_password_hashes: 0,
            shutdown_timeout_secs: 30,
            dauth_enabled: false,
            dauth_public_key_file: None,
            dauth_allowed_hosts: Vec::new(),
            trusted_proxies: Vec::new(),
            dauth_timestamp_window_secs: 300,
            api_explorer: true,
        }
    }
}

/// The settings' names, which are also the environment variables' names after `ASSENT_`.
const KEYS: &[&str] = &[
    "database_url",
    "listen",
    "data_dir",
    "otp_delivery",
    "otp_phone_delivery",
    "otp_email_from",
    "otp_webhook_secret",
    "otp_code_length",
    "otp_validity_secs",
    "otp_max_failures",
    "otp_max_resends",
    "otp_resend_cooldown_secs",
    "otp_codes_per_destination_per_day",
    "otp_prelogin_requests_per_client_per_hour",
    "signups_per_client_per_hour",
    "contact_verification_codes_per_day",
    "otp_step_up_failures_per_user_per_day",
    "dev_mode",
    "totp_issuer",
    "institution_id",
    "session_reauthentication_interval_secs",
    "session_retention_days",
    "housekeeping_interval_secs",
    "session_idle_timeout_secs",
    "session_absolute_lifetime_secs",
    "max_bad_login_attempts",
    "consents_max_time_to_live_secs",
    "log_format",
    "log_level",
    "provider",
    "hosted_by_organisation",
    "hosted_by_email",
    "hosted_by_phone",
    "hosted_by_website",
    "signing_key_file",
    "signing_key_refresh_secs",
    "jwks_max_age_secs",
    "rate_limit_url",
    "pepper_file",
    "max_body_bytes",
    "workers",
    "db_pool_size",
    "blocking_threads",
    "cpu_scheduling",
    "sqlite_synchronous",
    "argon2_memory_kib",
    "argon2_iterations",
    "max_concurrent_password_hashes",
    "shutdown_timeout_secs",
    "dauth_enabled",
    "dauth_public_key_file",
    "dauth_allowed_hosts",
    "trusted_proxies",
    "dauth_timestamp_window_secs",
    "api_explorer",
];

/// Settings whose values are text, whatever they look like (`ASSENT_PROVIDER=12345`).
const STRING_KEYS: &[&str] = &[
    "database_url",
    "listen",
    "data_dir",
    "otp_delivery",
    "otp_phone_delivery",
    "otp_email_from",
    "otp_webhook_secret",
    "totp_issuer",
    "institution_id",
    "log_format",
    "log_level",
    "provider",
    "hosted_by_organisation",
    "hosted_by_email",
    "hosted_by_phone",
    "hosted_by_website",
    "rate_limit_url",
    "signing_key_file",
    "pepper_file",
    "sqlite_synchronous",
    "cpu_scheduling",
    "dauth_public_key_file",
];

/// Environment variables under this prefix belong to the test suite (such as
/// `ASSENT_TEST_POSTGRES_URL`) and are never read as settings; every other `ASSENT_*` variable
/// must name a setting.
pub const TEST_VARIABLE_PREFIX: &str = "ASSENT_TEST_";

/// Invalid configuration, with a message fit for an operator.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(pub String);

impl Config {
    /// Loads defaults, then the TOML file if given, then `ASSENT_*` variables from `env`.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            if !file.is_file() {
                return Err(ConfigError(format!(
                    "configuration file {} not found",
                    file.display()
                )));
            }
            figment = figment.merge(Toml::file_exact(file));
        }
        // A misspelt variable would silently leave its setting at the default: refused, with
        // the settings it may have meant. The test suite's own variables are exempt.
        let mut vars: Vec<(String, String)> = Vec::new();
        for (name, value) in env {
            if name.starts_with(TEST_VARIABLE_PREFIX) {
                continue;
            }
            let Some(key) = name.strip_prefix("ASSENT_") else {
                continue;
            };
            let key = key.to_ascii_lowercase();
            if !KEYS.contains(&key.as_str()) {
                return Err(ConfigError(unknown_setting(
                    &name,
                    &key,
                    "environment variable",
                )));
            }
            vars.push((key, value));
        }
        let from_environment: Vec<String> = vars.iter().map(|(key, _)| key.clone()).collect();
        let map: serde_json::Map<String, serde_json::Value> = vars
            .into_iter()
            .map(|(key, value)| {
                let value = if STRING_KEYS.contains(&key.as_str()) {
                    serde_json::Value::String(value)
                } else if key == "dauth_allowed_hosts" || key == "trusted_proxies" {
                    serde_json::Value::from(
                        value
                            .split(',')
                            .map(str::trim)
                            .filter(|h| !h.is_empty())
                            .collect::<Vec<_>>(),
                    )
                } else {
                    parse_env_value(&value)
                };
                (key, value)
            })
            .collect();
        figment = figment.merge(Serialized::defaults(map));
        let config: Config = figment
            .extract()
            .map_err(|e| explain(e, &from_environment))?;
        config.validate()?;
        Ok(config)
    }

    /// Loads from the process environment.
    pub fn from_process(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load(file, std::env::vars())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        assent_repository::Backend::from_url(&self.database_url).or_else(|_| {
            fail(format!(
                "database_url {:?}: use sqlite://PATH, a file path, or postgres://...",
                self.database_url
            ))
        })?;
        self.listen_addr()?;
        if self.session_idle_timeout_secs == 0 {
            return fail("session_idle_timeout_secs must be at least 1".into());
        }
        if self.session_absolute_lifetime_secs < self.session_idle_timeout_secs {
            return fail(
                "session_absolute_lifetime_secs must not be shorter than session_idle_timeout_secs"
                    .into(),
            );
        }
        let institution_ok = (2..=8).contains(&self.institution_id.len())
            && self
                .institution_id
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        if !institution_ok {
            return fail(format!(
                "institution_id {:?}: 2 to 8 characters from A-Z, 0-9 and _",
                self.institution_id
            ));
        }
        if self.session_reauthentication_interval_secs == 0 {
            return fail("session_reauthentication_interval_secs must be at least 1".into());
        }
        if !(1..=3650).contains(&self.session_retention_days) {
            return fail("session_retention_days must be between 1 and 3650".into());
        }
        if !(10..=86_400).contains(&self.housekeeping_interval_secs) {
            return fail("housekeeping_interval_secs must be between 10 and 86400".into());
        }
        if self.session_absolute_lifetime_secs > 30 * 24 * 3600 {
            return fail("session_absolute_lifetime_secs must be at most 30 days".into());
        }
        if !(1..=100).contains(&self.max_bad_login_attempts) {
            return fail("max_bad_login_attempts must be between 1 and 100".into());
        }
        if self.consents_max_time_to_live_secs == 0 {
            return fail("consents_max_time_to_live_secs must be at least 1".into());
        }
        if let Some(url) = &self.rate_limit_url
            && !(url.starts_with("redis://") || url.starts_with("rediss://"))
        {
            return fail("rate_limit_url: use redis://HOST:PORT/DB or rediss://... (Redis)".into());
        }
        if !(1..=3_600).contains(&self.signing_key_refresh_secs) {
            return fail("signing_key_refresh_secs must be between 1 and 3600".into());
        }
        if self.jwks_max_age_secs > 86_400 {
            return fail("jwks_max_age_secs must be at most 86400".into());
        }
        let specs = [
            ("otp_delivery", Some(&self.otp_delivery)),
            ("otp_phone_delivery", self.otp_phone_delivery.as_ref()),
        ];
        for (name, spec) in specs {
            if let Some(spec) = spec.filter(|s| !crate::delivery::is_valid_spec(s)) {
                return fail(format!(
                    "{name} {spec:?}: use log, file:/path, smtp://..., or webhook:https://..."
                ));
            }
        }
        let webhook = specs
            .iter()
            .filter_map(|(_, spec)| *spec)
            .any(|spec| spec.starts_with("webhook:"));
        if self.otp_webhook_secret()?.is_none() && webhook {
            return fail(
                "a webhook delivery needs otp_webhook_secret, the key its requests are signed with: whsec_ followed by the base64 of 24 to 64 random bytes, e.g. whsec_$(openssl rand -base64 32)"
                    .into(),
            );
        }
        self.otp_policy()?;
        if !(1..=5).contains(&self.otp_max_failures) {
            return fail("otp_max_failures must be between 1 and 5 (PSD2 RTS Art. 4(3)(b))".into());
        }
        if self.otp_max_resends > 10 {
            return fail("otp_max_resends must be at most 10".into());
        }
        if self.otp_resend_cooldown_secs > 3_600 {
            return fail("otp_resend_cooldown_secs must be at most 3600".into());
        }
        let issuer_len = self.totp_issuer.chars().count();
        if issuer_len == 0 || issuer_len > 64 || self.totp_issuer.contains(':') {
            return fail("totp_issuer must be 1 to 64 characters without ':'".into());
        }
        if self.otp_codes_per_destination_per_day == 0 {
            return fail("otp_codes_per_destination_per_day must be at least 1".into());
        }
        if self.otp_step_up_failures_per_user_per_day == 0 {
            return fail("otp_step_up_failures_per_user_per_day must be at least 1".into());
        }
        if self.otp_prelogin_requests_per_client_per_hour == 0 {
            return fail("otp_prelogin_requests_per_client_per_hour must be at least 1".into());
        }
        if self.signups_per_client_per_hour == 0 {
            return fail("signups_per_client_per_hour must be at least 1".into());
        }
        if self.contact_verification_codes_per_day == 0 {
            return fail("contact_verification_codes_per_day must be at least 1".into());
        }
        if self.max_body_bytes < 1024 || self.max_body_bytes > 16 * 1024 * 1024 {
            return fail("max_body_bytes must be between 1024 and 16777216".into());
        }
        if self.blocking_threads > 1024 {
            return fail("blocking_threads must be at most 1024".into());
        }
        if self.db_pool_size == 0 {
            return fail("db_pool_size must be at least 1".into());
        }
        for (name, value) in [
            ("hosted_by_organisation", &self.hosted_by_organisation),
            ("hosted_by_email", &self.hosted_by_email),
            ("hosted_by_phone", &self.hosted_by_phone),
            ("hosted_by_website", &self.hosted_by_website),
        ] {
            if value.chars().count() > 200 || value.chars().any(char::is_control) {
                return fail(format!(
                    "{name} must be at most 200 characters without control characters"
                ));
            }
        }
        if self.provider.trim().is_empty() {
            return fail("provider must not be empty".into());
        }
        tracing_subscriber::EnvFilter::try_new(&self.log_level)
            .or_else(|e| fail(format!("log_level {:?}: {e}", self.log_level)))?;
        PasswordHasher::new(self.argon2_params()).or_else(|e| fail(e.to_string()))?;
        if self.dauth_enabled {
            let Some(path) = &self.dauth_public_key_file else {
                return fail(
                    "dauth_enabled needs dauth_public_key_file (an RSA public key, PEM)".into(),
                );
            };
            let pem = std::fs::read(path)
                .or_else(|e| fail(format!("dauth_public_key_file {}: {e}", path.display())))?;
            jsonwebtoken::DecodingKey::from_rsa_pem(&pem).or_else(|e| {
                fail(format!(
                    "dauth_public_key_file {}: not an RSA public key: {e}",
                    path.display()
                ))
            })?;
            // RS256 is verified with 2048- to 8192-bit moduli only; refuse another size here
            // rather than every DAuth call later.
            match crate::dauth::rsa_modulus_bits(&pem) {
                Some(bits) if (2048..=8192).contains(&bits) => {}
                Some(bits) => {
                    return fail(format!(
                        "dauth_public_key_file {}: an RSA key of {bits} bits; 2048 to 8192 are accepted",
                        path.display()
                    ));
                }
                None => {
                    return fail(format!(
                        "dauth_public_key_file {}: not an RSA public key (PEM, PUBLIC KEY or RSA PUBLIC KEY)",
                        path.display()
                    ));
                }
            }
            if self.dauth_timestamp_window_secs == 0 || self.dauth_timestamp_window_secs > 3600 {
                return fail("dauth_timestamp_window_secs must be between 1 and 3600".into());
            }
        }
        let proxies = match crate::client_address::TrustedProxies::parse(&self.trusted_proxies) {
            Ok(proxies) => proxies,
            Err(e) => return fail(format!("trusted_proxies: {e}")),
        };
        for host in &self.dauth_allowed_hosts {
            let address = host.parse::<std::net::IpAddr>().or_else(|_| {
                fail(format!(
                    "dauth_allowed_hosts: {host:?} is not an IP address"
                ))
            })?;
            // Behind a proxy the caller is the address it forwards; allowing the proxy itself
            // would let anyone whose forwarded address cannot be read through.
            if proxies.trusts(address) {
                return fail(format!(
                    "dauth_allowed_hosts: {host} is a trusted proxy; list the DAuth callers' own addresses"
                ));
            }
        }
        Ok(())
    }

    /// The listen address.
    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.listen.parse().map_err(|_| {
            ConfigError(format!(
                "listen {:?}: expected an address such as 127.0.0.1:8080",
                self.listen
            ))
        })
    }

    /// Argon2id cost.
    pub fn argon2_params(&self) -> Argon2Params {
        Argon2Params {
            memory_kib: self.argon2_memory_kib,
            iterations: self.argon2_iterations,
        }
    }

    /// How many password hashes may run at once (0 means one per core).
    pub fn hashing_slots(&self) -> usize {
        if self.max_concurrent_password_hashes > 0 {
            self.max_concurrent_password_hashes
        } else {
            std::thread::available_parallelism().map_or(2, usize::from)
        }
    }

    /// Threads per HTTP worker for blocking database work (password hashing has its own
    /// pool). Every request's database work is short, so a few threads keep the core busy;
    /// more only add context switches (measured in docs/benchmarks.md).
    pub fn blocking_threads_per_worker(&self) -> usize {
        if self.blocking_threads > 0 {
            self.blocking_threads
        } else {
            4
        }
    }

    /// Whether OTP codes would be written in clear text (development delivery).
    pub fn otp_delivery_is_cleartext(&self) -> bool {
        std::iter::once(&self.otp_delivery)
            .chain(self.otp_phone_delivery.as_ref())
            .any(|spec| crate::delivery::is_cleartext_spec(spec, self.dev_mode))
    }

    /// The key webhook deliveries are signed with, when one is set.
    pub fn otp_webhook_secret(
        &self,
    ) -> Result<Option<crate::delivery::WebhookSecret>, ConfigError> {
        self.otp_webhook_secret
            .as_ref()
            .map(|secret| crate::delivery::WebhookSecret::parse(secret.expose()))
            .transpose()
            .map_err(ConfigError)
    }

    /// How challenges are issued.
    pub fn otp_policy(&self) -> Result<assent_otp::challenge::ChallengePolicy, ConfigError> {
        let seconds = |v: u64| time::Duration::seconds(i64::try_from(v).unwrap_or(i64::MAX));
        assent_otp::challenge::ChallengePolicy::new(assent_otp::challenge::PolicySettings {
            code_length: self.otp_code_length,
            validity: seconds(self.otp_validity_secs),
            max_failures: self.otp_max_failures,
            max_resends: self.otp_max_resends,
            resend_cooldown: seconds(self.otp_resend_cooldown_secs),
        })
        .map_err(|e| {
            ConfigError(format!(
                "otp_code_length, otp_validity_secs, otp_max_failures: {e}"
            ))
        })
    }
}

/// Environment values are strings; numbers and booleans are parsed so that typed settings
/// accept them, and anything else stays a string (and fails type checks with a clear message).
/// Settings whose values are booleans in the environment too.
fn parse_bool(value: &str) -> Option<bool> {
    match value {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

fn fail<T>(message: String) -> Result<T, ConfigError> {
    Err(ConfigError(message))
}

/// "unknown ...: did you mean ...?", naming up to three settings within a few typing mistakes.
fn unknown_setting(written: &str, key: &str, kind: &str) -> String {
    let environment = kind == "environment variable";
    let mut close: Vec<(usize, &str)> = KEYS
        .iter()
        .map(|known| (strsim::damerau_levenshtein(key, known), *known))
        .filter(|(distance, known)| *distance <= 3.max(known.len() / 4))
        .collect();
    close.sort();
    let names: Vec<String> = close
        .iter()
        .take(3)
        .map(|(_, known)| {
            if environment {
                format!("ASSENT_{}", known.to_ascii_uppercase())
            } else {
                (*known).to_owned()
            }
        })
        .collect();
    let hint = if names.is_empty() {
        "no setting has a similar name (docs/configuration.md lists them all)".to_owned()
    } else {
        format!("did you mean {}?", names.join(" or "))
    };
    let exemption = if environment {
        format!(
            " (variables starting with {TEST_VARIABLE_PREFIX} are the test suite's and are ignored)"
        )
    } else {
        String::new()
    };
    format!("unknown {kind} {written}: {hint}{exemption}")
}

/// Figment's errors in an operator's words: which setting, from which variable or the file,
/// and what it must be, never where in our source the defaults were declared.
fn explain(error: figment::Error, from_environment: &[String]) -> ConfigError {
    use figment::error::Kind;
    let messages: Vec<String> = error
        .into_iter()
        .map(|error| {
            let key = error
                .path
                .iter()
                .filter(|part| part.as_str() != "default")
                .cloned()
                .collect::<Vec<_>>()
                .join(".");
            let source = if from_environment.contains(&key) {
                format!("ASSENT_{}", key.to_ascii_uppercase())
            } else {
                "the configuration file".to_owned()
            };
            match &error.kind {
                Kind::InvalidType(actual, expected) | Kind::InvalidValue(actual, expected) => {
                    format!(
                        "{key} (from {source}) must be {}, not {actual}",
                        in_plain_words(expected)
                    )
                }
                Kind::UnknownVariant(found, expected) => format!(
                    "{key} (from {source}) must be one of {}, not {found:?}",
                    expected.join(", ")
                ),
                Kind::UnknownField(field, _) => {
                    unknown_setting(field, field, "setting in the configuration file")
                }
                other => format!("{key} (from {source}): {other}"),
            }
        })
        .collect();
    ConfigError(messages.join("; "))
}

/// What serde expected, as an operator would say it.
fn in_plain_words(expected: &str) -> String {
    match expected {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number, 0 or more".to_owned(),
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number".to_owned(),
        "a boolean" | "bool" => "true or false".to_owned(),
        "a string" => "text".to_owned(),
        "a sequence" => "a comma-separated list".to_owned(),
        other => other.to_owned(),
    }
}

fn parse_env_value(value: &str) -> serde_json::Value {
    if let Ok(n) = value.parse::<u64>() {
        return serde_json::Value::from(n);
    }
    if let Ok(n) = value.parse::<i64>() {
        return serde_json::Value::from(n);
    }
    if let Some(b) = parse_bool(value) {
        return serde_json::Value::from(b);
    }
    serde_json::Value::String(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_are_documented_values() {
        let config = Config::load(None, env(&[])).unwrap();
        assert_eq!(config, Config::default());
        assert_eq!(config.database_url, "sqlite://./data/assent.db");
        assert_eq!(config.session_idle_timeout_secs, 300);
        assert_eq!(config.session_absolute_lifetime_secs, 43_200);
    }

    #[test]
    fn environment_overrides_file_overrides_defaults() {
        let dir = std::env::temp_dir().join(format!("assent-config-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("assent.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9000\"\nmax_bad_login_attempts = 3\n",
        )
        .unwrap();
        let config = Config::load(
            Some(&file),
            env(&[
                ("ASSENT_MAX_BAD_LOGIN_ATTEMPTS", "4"),
                ("ASSENT_LOG_FORMAT", "json"),
                ("ASSENT_TEST_POSTGRES_URL", "postgres://ignored"),
                ("OTHER", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(config.listen, "127.0.0.1:9000");
        assert_eq!(config.max_bad_login_attempts, 4);
        assert_eq!(config.log_format, LogFormat::Json);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn hosted_by_settings_are_text_of_at_most_200_characters() {
        let config = Config::load(
            None,
            env(&[
                ("ASSENT_HOSTED_BY_ORGANISATION", "Example Bank plc"),
                ("ASSENT_HOSTED_BY_PHONE", "442079460000"),
            ]),
        )
        .unwrap();
        assert_eq!(config.hosted_by_organisation, "Example Bank plc");
        assert_eq!(config.hosted_by_phone, "442079460000", "digits stay text");
        for (variable, value) in [
            ("ASSENT_HOSTED_BY_EMAIL", "a".repeat(201)),
            (
                "ASSENT_HOSTED_BY_WEBSITE",
                "https://example.com/\n".to_owned(),
            ),
        ] {
            let error = Config::load(None, env(&[(variable, value.as_str())])).unwrap_err();
            let name = variable.trim_start_matches("ASSENT_").to_lowercase();
            assert!(error.to_string().contains(&name), "{variable}: {error}");
        }
    }

    #[test]
    fn invalid_settings_fail_with_a_clear_message() {
        let cases = [
            (
                "ASSENT_SESSION_IDLE_TIMEOUT_SECS",
                "soon",
                "session_idle_timeout_secs",
            ),
            (
                "ASSENT_SESSION_IDLE_TIMEOUT_SECS",
                "0",
                "session_idle_timeout_secs",
            ),
            ("ASSENT_LISTEN", "localhost", "listen"),
            ("ASSENT_DATABASE_URL", "mysql://x", "database_url"),
            ("ASSENT_LOG_FORMAT", "xml", "log_format"),
            ("ASSENT_OTP_DELIVERY", "pigeon", "otp_delivery"),
            ("ASSENT_ARGON2_MEMORY_KIB", "1024", "argon2"),
            (
                "ASSENT_MAX_BAD_LOGIN_ATTEMPTS",
                "0",
                "max_bad_login_attempts",
            ),
        ];
        for (var, value, mentions) in cases {
            let error = Config::load(None, env(&[(var, value)]))
                .unwrap_err()
                .to_string();
            assert!(error.contains(mentions), "{var}={value}: {error}");
        }
    }

    #[test]
    fn a_misspelt_variable_stops_start_and_names_the_settings_it_may_mean() {
        let error = Config::load(None, env(&[("ASSENT_LISTNE", "127.0.0.1:9000")]))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("unknown environment variable ASSENT_LISTNE"),
            "{error}"
        );
        assert!(error.contains("did you mean ASSENT_LISTEN?"), "{error}");
        let error = Config::load(None, env(&[("ASSENT_SESION_IDLE_TIMEOUT", "60")]))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("ASSENT_SESSION_IDLE_TIMEOUT_SECS"),
            "{error}"
        );
        let error = Config::load(None, env(&[("ASSENT_QWERTY", "1")]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("no setting has a similar name"), "{error}");
        // The test suite's own variables, and other programs' variables, are not settings.
        let config = Config::load(
            None,
            env(&[
                ("ASSENT_TEST_POSTGRES_URL", "postgres://x"),
                ("ASSENTIAL", "1"),
                ("PATH", "/bin"),
            ]),
        );
        assert!(config.is_ok(), "{config:?}");
    }

    #[test]
    fn a_value_of_the_wrong_type_is_explained_without_source_paths() {
        let error = Config::load(None, env(&[("ASSENT_SESSION_IDLE_TIMEOUT_SECS", "abc")]))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains(
                "session_idle_timeout_secs (from ASSENT_SESSION_IDLE_TIMEOUT_SECS) must be a whole number, 0 or more"
            ),
            "{error}"
        );
        assert!(error.contains("abc"), "{error}");
        assert!(!error.contains(".rs"), "no source path: {error}");
        let error = Config::load(None, env(&[("ASSENT_DAUTH_ENABLED", "maybe")]))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("dauth_enabled (from ASSENT_DAUTH_ENABLED) must be true or false"),
            "{error}"
        );
        let error = Config::load(None, env(&[("ASSENT_CPU_SCHEDULING", "fifo")]))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains(
                "cpu_scheduling (from ASSENT_CPU_SCHEDULING) must be one of batch, normal"
            ),
            "{error}"
        );

        let dir = std::env::temp_dir().join(format!("assent-config-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("assent.toml");
        std::fs::write(&file, "workers = \"four\"\n").unwrap();
        let error = Config::load(Some(&file), env(&[])).unwrap_err().to_string();
        assert!(
            error.contains("workers (from the configuration file) must be a whole number"),
            "{error}"
        );
        std::fs::write(&file, "listne = \"127.0.0.1:1\"\n").unwrap();
        let error = Config::load(Some(&file), env(&[])).unwrap_err().to_string();
        assert!(
            error
                .contains("unknown setting in the configuration file listne: did you mean listen?"),
            "{error}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_webhook_needs_a_well_formed_signing_secret() {
        use base64::Engine;
        let encode =
            |bytes: usize| base64::engine::general_purpose::STANDARD.encode(vec![7u8; bytes]);
        let webhook = (
            "ASSENT_OTP_PHONE_DELIVERY",
            "webhook:https://sms.example/send",
        );
        let error = Config::load(None, env(&[webhook])).unwrap_err().to_string();
        assert!(error.contains("needs otp_webhook_secret"), "{error}");
        let malformed = [
            encode(32),
            "whsec_".to_owned(),
            "whsec_not*base64".to_owned(),
            format!("whsec_{}", encode(23)),
            format!("whsec_{}", encode(65)),
        ];
        for secret in malformed {
            let error = Config::load(
                None,
                env(&[webhook, ("ASSENT_OTP_WEBHOOK_SECRET", &secret)]),
            )
            .unwrap_err()
            .to_string();
            assert!(error.contains("otp_webhook_secret"), "{secret}: {error}");
            assert!(
                error.contains("whsec_ followed by the base64 of 24 to 64"),
                "{error}"
            );
            if secret.len() > 6 {
                assert!(
                    !error.contains(&secret[6..]),
                    "the secret is never repeated: {error}"
                );
            }
        }
        for bytes in [24, 32, 64] {
            let secret = format!("whsec_{}", encode(bytes));
            let config = Config::load(
                None,
                env(&[webhook, ("ASSENT_OTP_WEBHOOK_SECRET", &secret)]),
            )
            .unwrap();
            assert!(config.otp_webhook_secret().unwrap().is_some());
            assert!(!format!("{config:?}").contains(&secret[6..]));
        }
    }

    #[test]
    fn proxies_are_networks_and_never_dauth_callers() {
        let config =
            Config::load(None, env(&[("ASSENT_TRUSTED_PROXIES", "10.0.0.0/8, ::1")])).unwrap();
        assert_eq!(config.trusted_proxies, ["10.0.0.0/8", "::1"]);
        let error = Config::load(None, env(&[("ASSENT_TRUSTED_PROXIES", "proxy.internal")]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("trusted_proxies"), "{error}");
        let error = Config::load(
            None,
            env(&[
                ("ASSENT_TRUSTED_PROXIES", "10.0.0.0/8"),
                ("ASSENT_DAUTH_ALLOWED_HOSTS", "192.0.2.4, 10.1.1.1"),
            ]),
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("10.1.1.1 is a trusted proxy"), "{error}");
    }

    #[test]
    fn text_settings_take_values_that_look_like_numbers() {
        let config = Config::load(
            None,
            env(&[("ASSENT_PROVIDER", "12345"), ("ASSENT_DATA_DIR", "2024")]),
        )
        .unwrap();
        assert_eq!(
            (config.provider.as_str(), config.data_dir.to_str()),
            ("12345", Some("2024"))
        );
    }

    #[test]
    fn the_api_explorer_is_served_unless_turned_off() {
        assert!(Config::load(None, env(&[])).unwrap().api_explorer);
        let config = Config::load(None, env(&[("ASSENT_API_EXPLORER", "false")])).unwrap();
        assert!(!config.api_explorer);
        let error = Config::load(None, env(&[("ASSENT_API_EXPLORER", "off")]))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("api_explorer (from ASSENT_API_EXPLORER) must be true or false"),
            "{error}"
        );
    }

    #[test]
    fn unknown_file_keys_and_missing_files_are_refused() {
        let dir = std::env::temp_dir().join(format!("assent-config-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("assent.toml");
        std::fs::write(&file, "lisen = \"127.0.0.1:9000\"\n").unwrap();
        let error = Config::load(Some(&file), env(&[])).unwrap_err().to_string();
        assert!(error.contains("lisen"), "{error}");
        let missing = dir.join("missing.toml");
        assert!(Config::load(Some(&missing), env(&[])).is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
