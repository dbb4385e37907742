//! What every request handler shares.

use crate::clock::Clock;
use crate::config::{Config, SqliteSync};
use crate::hashing::HashingPool;
use crate::keys::{InvalidToken, KeyError, KeyPair, KeyStore};
use crate::metrics::Metrics;
use assent_consent::token::{CONSENT_TOKEN_TYP, ConsentClaims};
use assent_identity::consumer::SecretHasher;
use assent_identity::lockout::LockoutPolicy;
use assent_identity::password::PasswordHasher;
use assent_identity::secret::SecretString;
use assent_otp::challenge::{ChallengePolicy, CodeHasher};
use assent_repository::audit::{AuditChainKey, AuditObserver};
use assent_repository::{Pool, PoolOptions, RepoError, SqliteSynchronous};
use assent_session::{SESSION_TOKEN_TYP, SessionClaims, SessionPolicy};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration as StdDuration;
use time::{Duration, OffsetDateTime};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("database: {0}")]
    Database(#[from] RepoError),
    #[error("keys: {0}")]
    Keys(#[from] KeyError),
    #[error("{0}")]
    Other(String),
}

/// Shared state: configuration, database pool, keys, hashers, caches, metrics.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    /// The one source of the current time (see [`crate::clock`]).
    pub clock: Clock,
    pub pool: Pool,
    /// The token-signing keys, as last read from the ring.
    pub keys: Arc<KeyStore>,
    pub secret_hasher: SecretHasher,
    pub password_hasher: Arc<PasswordHasher>,
    /// Where sign-up and login run (Argon2id), apart from everything else.
    pub hashing: HashingPool,
    pub session_policy: SessionPolicy,
    pub lockout: LockoutPolicy,
    pub rate_limiter: Arc<crate::rate_limiter::RateLimiter>,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Arc<crate::client_address::TrustedProxies>,
    /// DAuth, when enabled.
    pub dauth: Option<Arc<crate::dauth::DAuthVerifier>>,
    pub token_cache: Arc<TokenCache>,
    /// Verified consent JWTs (the consent row is still read on every request).
    pub consent_cache: Arc<TokenCache<assent_consent::token::ConsentClaims>>,
    pub metrics: Arc<Metrics>,
    /// Where one-time codes go.
    pub delivery: Arc<crate::delivery::Delivery>,
    /// Keys the hashes of one-time codes.
    pub code_hasher: CodeHasher,
    pub otp_policy: ChallengePolicy,
    /// Seals authenticator-app secrets at rest.
    pub totp_sealer: Arc<crate::sealing::Sealer>,
    /// Per-client allowances this process has seen spent (sign-ups), refused without a write.
    pub spent_allowances: Arc<crate::services::allowances::SpentAllowances>,
    /// `GET /openapi.json`'s body, made from the configuration on first use: a public route
    /// should not build a document of some 250 operations on every call.
    pub openapi_json: Arc<std::sync::OnceLock<actix_web::web::Bytes>>,
}

impl AppState {
    /// Builds the server's state from configuration: opens (and migrates) the database, loads
    /// or creates the pepper and the first signing key, and records what the command line must
    /// take from the server (its provider).
    pub fn build(config: Config) -> Result<Self, StartError> {
        Self::build_for(config, Startup::Server)
    }

    /// Builds the command line's state: as the server's, but it creates nothing: the pepper
    /// and the signing keys must be the server's, and users get the server's provider.
    pub fn for_admin(config: Config) -> Result<Self, StartError> {
        Self::build_for(config, Startup::Admin)
    }

    fn build_for(mut config: Config, startup: Startup) -> Result<Self, StartError> {
        let secret_hasher = match startup {
            Startup::Server => load_secret_hasher(&config)?,
            Startup::Admin => {
                let pepper =
                    crate::keys::read_pepper(config.pepper_file.as_deref(), &config.data_dir)?;
                SecretHasher::new(&pepper).map_err(|e| StartError::Other(e.to_string()))?
            }
        };
        let metrics = Arc::new(Metrics::new().map_err(|e| StartError::Other(e.to_string()))?);
        let counted = Arc::clone(&metrics);
        let observer = AuditObserver::new(move |event| counted.count_event(event));
        let pool = open_database(&config, &secret_hasher, Some(observer))?;
        let clock = Clock::from_environment();
        let keys = {
            let mut conn = pool.get()?;
            let now = clock.now();
            match startup {
                Startup::Server => {
                    let first_key =
                        KeyPair::load(config.signing_key_file.as_deref(), &config.data_dir)?;
                    crate::services::signing_keys::begin_ring(
                        &mut conn,
                        &secret_hasher,
                        &first_key,
                        now,
                    )
                    .map_err(|e| StartError::Other(e.chain().to_string()))?;
                    assent_repository::installation::set(&mut conn, PROVIDER, &config.provider)?;
                }
                Startup::Admin => {
                    let Some(provider) = assent_repository::installation::get(&mut conn, PROVIDER)?
                    else {
                        return Err(StartError::Other(
                            "this database has never been served: run `assentd migrate` or start \
                             the server on it first, so that admin commands write what the \
                             server recognises"
                                .into(),
                        ));
                    };
                    if provider != config.provider {
                        tracing::warn!(
                            configured = %config.provider,
                            server = %provider,
                            "ASSENT_PROVIDER differs from the server's: using the server's"
                        );
                    }
                    config.provider = provider;
                }
            }
            crate::services::signing_keys::read_ring(
                &mut conn,
                &secret_hasher,
                now,
                longest_token_lifetime(&config),
            )
            .map_err(|e| StartError::Other(e.chain().to_string()))?
        };
        let password_hasher = PasswordHasher::new(config.argon2_params())
            .map_err(|e| StartError::Other(e.to_string()))?;
        let session_policy = SessionPolicy::new(
            seconds(config.session_idle_timeout_secs),
            seconds(config.session_absolute_lifetime_secs),
            seconds(config.session_reauthentication_interval_secs),
        )
        .map_err(|e| StartError::Other(e.to_string()))?;
        let dauth = crate::dauth::DAuthVerifier::from_config(&config)?.map(Arc::new);
        let trusted_proxies = Arc::new(
            crate::client_address::TrustedProxies::parse(&config.trusted_proxies)
                .map_err(|e| StartError::Other(format!("trusted_proxies: {e}")))?,
        );
        let delivery = Arc::new(crate::delivery::Delivery::from_config(&config)?);
        let otp_policy = config.otp_policy()?;
        // A key of its own for code hashes, derived from the pepper.
        let code_key = secret_hasher.hash("otp-code-key", &SecretString::new(String::new()));
        let code_hasher =
            CodeHasher::new(code_key.as_bytes()).map_err(|e| StartError::Other(e.to_string()))?;
        let totp_sealer = Arc::new(crate::sealing::Sealer::derived(
            &secret_hasher,
            "totp-secret-key",
        ));
        let rate_limiter = Arc::new(
            crate::rate_limiter::RateLimiter::from_url(config.rate_limit_url.as_deref())
                .map_err(|e| StartError::Other(format!("rate_limit_url: {e}")))?,
        );
        let lockout = LockoutPolicy::new(config.max_bad_login_attempts)
            .map_err(|e| StartError::Other(e.to_string()))?;
        Ok(Self {
            hashing: HashingPool::new(config.hashing_slots(), 1024)
                .map_err(|e| StartError::Other(e.to_string()))?,
            config: Arc::new(config),
            clock,
            pool,
            keys: Arc::new(KeyStore::new(keys)),
            secret_hasher,
            password_hasher: Arc::new(password_hasher),
            session_policy,
            lockout,
            rate_limiter,
            dauth,
            trusted_proxies,
            token_cache: Arc::new(TokenCache::new(100_000)),
            // Verification allows the consent leeway past `exp`; the cache does the same.
            consent_cache: Arc::new(TokenCache::with_leeway(
                100_000,
                assent_consent::consent::USE_LEEWAY.whole_seconds(),
            )),
            metrics,
            delivery,
            code_hasher,
            otp_policy,
            totp_sealer,
            spent_allowances: Arc::new(crate::services::allowances::SpentAllowances::new(100_000)),
            openapi_json: Arc::default(),
        })
    }

    /// The address of the client that sent `req` (see [`crate::client_address`]).
    pub fn client_ip(&self, req: &actix_web::HttpRequest) -> Option<std::net::IpAddr> {
        let forwarded = req
            .headers()
            .get_all("X-Forwarded-For")
            .map(actix_web::http::header::HeaderValue::as_bytes);
        self.trusted_proxies
            .client(req.peer_addr().map(|a| a.ip()), forwarded)
    }

    /// Runs password work (sign-up, login: Argon2id plus their database work) in `lane` of
    /// the hashing pool, apart from the threads that serve everything else.
    pub async fn on_hashing_pool<T: Send + 'static>(
        self: Arc<Self>,
        lane: crate::hashing::Lane,
        work: impl FnOnce(&AppState) -> T + Send + 'static,
    ) -> Result<T, crate::failure::Internal> {
        let hashing = self.hashing.clone();
        hashing.run(lane, move || work(&self)).await
    }

    /// The longest any token may live: a key that stopped signing stays published this long.
    pub fn longest_token_lifetime(&self) -> Duration {
        longest_token_lifetime(&self.config)
    }

    /// How long after a rotation the new key starts signing: every replica has read the ring
    /// again by then, and every JWKS cached before the rotation has expired.
    pub fn signing_key_activation_delay(&self) -> Duration {
        seconds(self.config.signing_key_refresh_secs) + seconds(self.config.jwks_max_age_secs)
    }

    /// Verifies a session token's signature, type and expiry, using the cache for tokens
    /// already verified. The session row is still checked by the caller on every request.
    pub fn verify_session_token(
        &self,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<SessionClaims, InvalidToken> {
        self.token_cache.get_or_verify(token, now, |token| {
            self.keys
                .verify::<SessionClaims>(SESSION_TOKEN_TYP, token, now)
                .and_then(|claims| {
                    if claims.is_for(&self.config.provider) {
                        Ok(claims)
                    } else {
                        Err(InvalidToken)
                    }
                })
        })
    }

    /// Verifies a consent JWT's signature, type and validity window (with the consent leeway),
    /// using the cache for tokens already verified. The consent itself is still checked by the
    /// caller on every request.
    pub fn verify_consent_token(
        &self,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<ConsentClaims, InvalidToken> {
        self.consent_cache.get_or_verify(token, now, |token| {
            self.keys.verify_with_leeway::<ConsentClaims>(
                CONSENT_TOKEN_TYP,
                token,
                assent_consent::consent::USE_LEEWAY
                    .whole_seconds()
                    .unsigned_abs(),
                now,
            )
        })
    }
}

fn seconds(secs: u64) -> Duration {
    Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX))
}

/// A session token lives at most the session's absolute lifetime; a consent JWT at most until
/// its consent ends, which may start up to the longest time to live after it is asked for and
/// then last that long, and is accepted for the consent leeway beyond.
fn longest_token_lifetime(config: &Config) -> Duration {
    let session = seconds(config.session_absolute_lifetime_secs);
    let consent = seconds(config.consents_max_time_to_live_secs).saturating_mul(2)
        + assent_consent::consent::USE_LEEWAY;
    session.max(consent)
}

/// Who builds the state: the server may create what it needs on first start; the command line
/// creates nothing and takes the server's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Startup {
    Server,
    Admin,
}

/// The `installation` entry holding the server's provider.
const PROVIDER: &str = "provider";

/// The keyed hasher of API keys and other secrets, from the pepper (created on first start).
pub fn load_secret_hasher(config: &Config) -> Result<SecretHasher, StartError> {
    let pepper = crate::keys::load_pepper(config.pepper_file.as_deref(), &config.data_dir)?;
    SecretHasher::new(&pepper).map_err(|e| StartError::Other(e.to_string()))
}

/// The key of the audit trail's hash chain, derived from the pepper so that it never sits in
/// the database it protects.
fn audit_chain_key(secret_hasher: &SecretHasher) -> AuditChainKey {
    let derived = secret_hasher.hash("audit-chain-key", &SecretString::new(String::new()));
    let mut key = [0u8; 32];
    if let Ok(bytes) = data_encoding::HEXLOWER.decode(derived.as_bytes()) {
        for (slot, byte) in key.iter_mut().zip(bytes) {
            *slot = byte;
        }
    }
    AuditChainKey::new(key)
}

/// Opens the pool, runs pending migrations, and links into the audit chain any events written
/// before it existed.
pub fn open_database(
    config: &Config,
    secret_hasher: &SecretHasher,
    audit_observer: Option<AuditObserver>,
) -> Result<Pool, StartError> {
    let options = PoolOptions {
        max_size: config.db_pool_size,
        connection_timeout: StdDuration::from_secs(5),
        sqlite_busy_timeout: StdDuration::from_secs(5),
        sqlite_synchronous: match config.sqlite_synchronous {
            SqliteSync::Full => SqliteSynchronous::Full,
            SqliteSync::Normal => SqliteSynchronous::Normal,
        },
        audit_chain_key: Some(Arc::new(audit_chain_key(secret_hasher))),
        audit_observer,
    };
    let pool = Pool::connect(&config.database_url, &options)?;
    let mut conn = pool.get()?;
    let ran = assent_repository::run_migrations(&mut conn)?;
    if ran > 0 {
        tracing::info!(
            migrations = ran,
            backend = pool.backend_name(),
            "database migrated"
        );
    }
    let linked = assent_repository::audit::link_unlinked(&mut conn)?;
    if linked > 0 {
        tracing::info!(
            events = linked,
            "earlier audit events linked into the chain"
        );
    }
    Ok(pool)
}

/// Verified token claims, keyed by a SHA-256 of the whole token so the ES256 check (tens of
/// microseconds) runs once per token rather than once per request. Entries carry the token's
/// own expiry and are refused after it; the cache is bounded.
pub struct TokenCache<C = SessionClaims> {
    cache: quick_cache::sync::Cache<[u8; 32], C>,
    /// Seconds past `exp` a token is still accepted (as its verification allows).
    leeway_secs: i64,
}

impl<C: Clone + crate::keys::TimeBound> TokenCache<C> {
    pub fn new(capacity: usize) -> Self {
        Self::with_leeway(capacity, 0)
    }

    /// A cache for tokens whose verification accepts them `leeway_secs` past `exp`.
    pub fn with_leeway(capacity: usize, leeway_secs: i64) -> Self {
        Self {
            cache: quick_cache::sync::Cache::new(capacity),
            leeway_secs,
        }
    }

    /// The cached claims of `token`, or those `verify` returns (then cached).
    pub fn get_or_verify(
        &self,
        token: &str,
        now: OffsetDateTime,
        verify: impl FnOnce(&str) -> Result<C, InvalidToken>,
    ) -> Result<C, InvalidToken> {
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(claims) = self.cache.get(&key) {
            return if claims.expires().saturating_add(self.leeway_secs) > now.unix_timestamp() {
                Ok(claims)
            } else {
                self.cache.remove(&key);
                Err(InvalidToken)
            };
        }
        let claims = verify(token)?;
        self.cache.insert(key, claims.clone());
        Ok(claims)
    }
}
